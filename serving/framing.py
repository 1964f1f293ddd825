"""Where an HTTP/1.1 request ends, decided from bytes alone: the worker's event loop uses it.

The buffering worker (:mod:`serving.worker`) reads every request in full, body included,
before a thread sees it. For that it must agree with Gunicorn's parser on where each request
ends, or a thread would read the rest from the socket (and a client trickling it would hold
that thread). So the rules here follow Gunicorn 27's ``set_body_reader`` and chunked reader:

- ``Content-Length`` is a run of ASCII digits of any length (leading zeros included);
  two of them, or one with anything else in it, is a request the parser refuses.
- ``Transfer-Encoding`` must end in exactly one ``chunked``, never beside a
  ``Content-Length`` and never on HTTP/1.0; anything else the parser refuses.
- A chunked body is chunk-size lines (hex, optional extensions), data and CRLF, a last chunk
  of size 0 and a trailer section ending in an empty line.

:func:`parse_head` reads the header block once; :class:`ChunkedBody` follows a chunked body
as it arrives, each byte looked at once, and stops at a size limit, so neither the loop's CPU
nor its memory grows faster than what the client sent. Nothing here touches a socket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

END_OF_HEADERS = b"\r\n\r\n"
#: The longest chunk-size line (hex digits and extensions) before the body is refused.
MAX_CHUNK_LINE = 4096
#: The largest trailer section after the last chunk.
MAX_TRAILERS = 8192
#: The most chunks one body may come in: a legitimate sender uses few, large ones; this bounds
#: what parsing tiny chunks costs the event loop (about a second of CPU per million).
MAX_CHUNKS = 100_000
# The path, then the query or fragment from the first ? or #: two runs that cannot overlap, so
# a long request line is matched in linear time ("([^ ?#]*)[^ ]*" took 1.5 s on 64 KiB).
_REQUEST_LINE = re.compile(r"([A-Z]+) ([^ ?#]*)(?:[?#][^ ]*)? HTTP/1\.([01])")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_SIZE_LINE, _TRAILERS = -1, -2  # ChunkedBody.remaining when not inside a chunk's data


class FramingError(Exception):
    """A request the event loop answers itself and closes: ``status`` and a detail."""

    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadFraming(FramingError):
    title, slug = "Malformed request framing", "bad-framing"


class TooLarge(FramingError):
    status, title, slug = 413, "Request body too large", "body-too-large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"the body is over the limit of {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class Head:
    """What the event loop knows of a request once its header block has arrived."""

    method: str  # "" when the request line does not parse
    path: str
    keep_alive: bool
    end: int  # offset of the first body byte
    length: int  # the Content-Length; 0 without one (and for chunked bodies)
    chunked: bool
    refused: bool  # framing Gunicorn's parser refuses before reading any body
    fields: dict[str, str] = field(default_factory=dict)  # other headers, NAME → last value

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name.upper(), default)

    @property
    def has_body(self) -> bool:
        return self.chunked or self.length > 0


def parse_head(data: bytes | bytearray) -> Head | None:
    """The request's head, or None while its header block has not ended."""
    stop = data.find(END_OF_HEADERS)
    if stop < 0:
        return None
    lines = bytes(data[:stop]).decode("latin-1").split("\n")
    line = _REQUEST_LINE.fullmatch(lines[0].rstrip("\r"))
    fields: dict[str, str] = {}
    lengths: list[str] = []
    codings: list[str] = []
    malformed = False
    for raw in lines[1:]:
        name, colon, value = raw.rstrip("\r").partition(":")
        if not colon:
            malformed = True  # the parser refuses a header line without a colon
            continue
        name, value = name.upper(), value.strip(" \t")
        if name == "CONTENT-LENGTH":
            lengths.append(value)
        elif name == "TRANSFER-ENCODING":
            codings += [c.strip(" \t").lower() for c in value.split(",")]
        else:
            fields[name] = value
    minor = line.group(3) if line else "1"
    chunked = bool(codings) and codings[-1] == "chunked"
    refused = malformed or line is None
    length = 0
    if codings:
        # only `chunked`, last and once, framed by chunks; HTTP/1.0 and a length beside it: 400
        refused |= not chunked or codings.count("chunked") > 1 or minor == "0" or bool(lengths)
    elif len(lengths) > 1:
        refused = True
    elif lengths:
        if lengths[0].isascii() and lengths[0].isdigit():
            length = int(lengths[0])
        else:
            refused = True
    keep_alive = minor == "1" and "close" not in fields.get("CONNECTION", "").lower()
    return Head(
        method=line.group(1) if line else "",
        path=line.group(2) if line else "",
        keep_alive=keep_alive,
        end=stop + len(END_OF_HEADERS),
        length=length,
        chunked=chunked and not refused,
        refused=refused,
        fields=fields,
    )


class ChunkedBody:
    """Follows a chunked body through a growing buffer until its end, or refuses it.

    :meth:`feed` is called with the whole buffer each time more bytes arrive; it resumes where
    it stopped, so every byte is looked at once however the body is split into reads.
    """

    def __init__(self, start: int, limit: int) -> None:
        self.pos = start  # the next byte to look at
        self.limit = limit
        self.size = 0  # body bytes announced so far
        self.chunks = 0
        self.remaining = _SIZE_LINE  # data bytes of the current chunk still to skip

    def feed(self, data: bytes | bytearray) -> int | None:
        """The offset just past the body once it has all arrived, else None.

        Raises :class:`TooLarge` when the announced chunks pass ``limit`` and
        :class:`BadFraming` for anything Gunicorn's chunked reader would not accept.
        """
        while True:
            if self.remaining == _TRAILERS:
                return self._trailers(data)
            if self.remaining >= 0:  # a chunk's data, then its CRLF
                if len(data) < self.pos + self.remaining + 2:
                    return None
                self.pos += self.remaining
                if data[self.pos : self.pos + 2] != b"\r\n":
                    raise BadFraming("a chunk's data must be followed by CRLF")
                self.pos += 2
                self.remaining = _SIZE_LINE
                continue
            eol = data.find(b"\r\n", self.pos)
            if eol < 0:
                if len(data) - self.pos > MAX_CHUNK_LINE:
                    raise BadFraming(f"a chunk-size line is over {MAX_CHUNK_LINE} bytes")
                return None
            size = self._size(bytes(data[self.pos : eol]))
            self.pos = eol + 2
            if size == 0:
                self.remaining = _TRAILERS
                continue
            self.chunks += 1
            if self.chunks > MAX_CHUNKS:
                raise BadFraming(f"the body comes in over {MAX_CHUNKS} chunks; send larger ones")
            self.size += size
            if self.size > self.limit:
                raise TooLarge(self.limit)
            self.remaining = size

    def _trailers(self, data: bytes | bytearray) -> int | None:
        """After the last chunk: an empty line, or trailer fields and then one."""
        if len(data) - self.pos < 2:
            return None
        if data[self.pos : self.pos + 2] == b"\r\n":
            return self.pos + 2
        end = data.find(END_OF_HEADERS, self.pos)
        if end < 0:
            if len(data) - self.pos > MAX_TRAILERS:
                raise BadFraming(f"the trailer section is over {MAX_TRAILERS} bytes")
            return None
        return end + len(END_OF_HEADERS)

    @staticmethod
    def _size(line: bytes) -> int:
        size, semicolon, extension = line.partition(b";")
        if semicolon:
            if b"\r" in extension:
                raise BadFraming("a chunk extension holds a bare CR")
            size = size.rstrip(b" \t")
        if not size or len(size) > 16 or not _HEX.issuperset(size):
            raise BadFraming("a chunk size must be 1 to 16 hex digits")
        return int(size, 16)
