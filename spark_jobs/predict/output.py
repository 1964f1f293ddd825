"""Where predictions land: a hidden temporary directory beside the output, renamed into place.

Spark writes the scored rows (and this module the ``_scoring_summary.json``) into
``<parent>/.<name>.incoming-<id>``; only when everything succeeded is that directory renamed to
``<output>``. A failed or killed job leaves at most the hidden directory, never a half-written
output. An existing output is refused unless the mode is ``overwrite``, in which case it is
moved aside, the new one renamed in, and the old one deleted.

Paths go through Hadoop's ``FileSystem`` (from the JVM), so ``file:``, ``hdfs:`` and object
stores with a rename all work; a bare path is a local one.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from spark_jobs.errors import UsageError
from spark_jobs.predict.errors import OutputWriteError

log = logging.getLogger(__name__)
SUMMARY_FILE = "_scoring_summary.json"


class Target:
    """The output directory and its temporary sibling, through Hadoop's FileSystem API."""

    def __init__(self, spark: Any, output: str) -> None:
        jvm = spark._jvm
        self._jvm = jvm
        conf = spark._jsc.hadoopConfiguration()
        path = jvm.org.apache.hadoop.fs.Path(output)
        self.fs = path.getFileSystem(conf)
        self.path = self.fs.makeQualified(path)
        self.temp = self._sibling("incoming")

    def _sibling(self, what: str):
        name = f".{self.path.getName()}.{what}-{uuid.uuid4().hex[:12]}"
        return self._jvm.org.apache.hadoop.fs.Path(self.path.getParent(), name)

    @property
    def uri(self) -> str:
        return self.path.toString()

    @property
    def temp_uri(self) -> str:
        return self.temp.toString()

    def check(self, mode: str) -> None:
        """Refuse an existing output before any work, unless it is to be overwritten."""
        if self.fs.exists(self.path) and mode != "overwrite":
            raise UsageError(f"{self.uri} already exists; use --mode overwrite to replace it")

    def put(self, name: str, data: bytes) -> None:
        """A small file inside the temporary directory (the summary)."""
        stream = self.fs.create(self._jvm.org.apache.hadoop.fs.Path(self.temp, name), False)
        try:
            stream.write(bytearray(data))
        finally:
            stream.close()

    def commit(self, mode: str) -> None:
        """Rename the temporary directory into place (moving an old output aside first)."""
        old = None
        if self.fs.exists(self.path):
            if mode != "overwrite":
                raise UsageError(f"{self.uri} appeared while scoring; not replacing it")
            old = self._sibling("replaced")
            if not self.fs.rename(self.path, old):
                raise OutputWriteError(f"cannot move the existing {self.uri} aside")
        if not self.fs.rename(self.temp, self.path):
            if old is not None:
                self.fs.rename(old, self.path)
            raise OutputWriteError(f"cannot rename {self.temp_uri} to {self.uri}")
        if old is not None:
            self.fs.delete(old, True)

    def abort(self) -> None:
        """Remove the temporary directory; never raises (it runs while another error unwinds)."""
        try:
            if self.fs.exists(self.temp):
                self.fs.delete(self.temp, True)
        except Exception:  # cleanup must not hide the original failure
            log.warning("could not remove %s", self.temp_uri, exc_info=True)


def summary_bytes(summary: dict) -> bytes:
    return (json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n").encode()
