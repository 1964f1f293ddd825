"""Job options declared once: a settings dataclass's field carries its flag, parser and help.

A field made by :func:`option` holds the job's default, the command-line flag(s) and what
``argparse`` needs to parse it (``type``, ``choices``, ``action``, ``required``), the short
``--help`` text and, where the help is terse, a longer ``doc``. :func:`build_parser` turns
the fields into the job's parser, in field order and in their groups; :func:`describe` gives
the rows of the generated options table in the job's README.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

_NO_DEFAULT = "—"


def option(
    default: Any = None,
    *,
    group: str | None = None,
    help: str | None = None,
    doc: str | None = None,
    flags: tuple[str, ...] = (),
    factory: Any = None,
    parser_default: bool = True,
    **parse: Any,
) -> Any:
    """A dataclass field that is also a command-line option.

    ``flags``: extra spellings besides ``--field-name`` (e.g. ``-k``). ``factory``: a default
    computed per instance (the option's parser default is then None). ``parser_default``:
    False when the parser must leave the value None so the job can derive it afterwards.
    ``parse``: the rest of ``add_argument``'s keywords.
    """
    meta = {"group": group, "help": help, "doc": doc, "flags": flags, "parse": parse}
    meta["parser_default"] = parser_default and factory is None
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    if parse.get("required"):
        return dataclasses.field(metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _options(cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if "parse" in f.metadata]


def flag(item: dataclasses.Field) -> str:
    """The option's long spelling: ``--`` and the field name with dashes."""
    return "--" + item.name.replace("_", "-")


def build_parser(cls: type, **parser: Any) -> argparse.ArgumentParser:
    """The parser of ``cls``'s options; ``parser``: ``ArgumentParser``'s own keywords."""
    p = argparse.ArgumentParser(formatter_class=argparse.ArgumentDefaultsHelpFormatter, **parser)
    groups: dict[str, Any] = {}
    for item in _options(cls):
        meta = item.metadata
        target = p
        if meta["group"] is not None:
            if meta["group"] not in groups:
                groups[meta["group"]] = p.add_argument_group(meta["group"])
            target = groups[meta["group"]]
        kwargs = dict(meta["parse"])
        if meta["parser_default"] and item.default is not dataclasses.MISSING:
            kwargs["default"] = item.default
        target.add_argument(*meta["flags"], flag(item), help=meta["help"], **kwargs)
    return p


def _default_text(item: dataclasses.Field) -> str:
    if item.metadata["parse"].get("required"):
        return "required"
    if item.default is dataclasses.MISSING:
        return _NO_DEFAULT
    value = item.default
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None or value == ():
        return _NO_DEFAULT
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def describe(cls: type) -> list[tuple[str, str, str]]:
    """(flags, default, meaning) per option of ``cls``, in parser order."""
    rows = []
    for item in _options(cls):
        meta = item.metadata
        spelled = ", ".join([*meta["flags"], flag(item)])
        rows.append((spelled, _default_text(item), meta["doc"] or meta["help"] or ""))
    return rows
