"""Job options are declared once, as settings fields: the parsers are built from them."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from spark_jobs import options
from spark_jobs.export.command import ExportSettings
from spark_jobs.export.command import build_parser as export_parser
from spark_jobs.settings import JobSettings
from spark_jobs.settings import build_parser as train_parser


@pytest.mark.parametrize(
    ("settings", "parser"), [(JobSettings, train_parser), (ExportSettings, export_parser)]
)
def test_each_field_is_one_option_and_each_option_one_field(settings, parser):
    dests = [a.dest for a in parser()._actions if a.dest != "help"]
    assert dests == [f.name for f in dataclasses.fields(settings)]


@pytest.mark.parametrize(
    ("settings", "parser"), [(JobSettings, train_parser), (ExportSettings, export_parser)]
)
def test_parser_defaults_are_the_declared_defaults(settings, parser):
    by_dest = {a.dest: a for a in parser()._actions}
    for item in dataclasses.fields(settings):
        action = by_dest[item.name]
        if item.default is dataclasses.MISSING:  # required, or computed afterwards (version)
            assert action.required or action.default is None, item.name
        else:
            assert action.default == item.default, item.name


def test_an_option_carries_its_parser_keywords_and_group():
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Toy:
        size: int = options.option(3, group="g", type=int, help="how big", doc="The size.")
        fast: bool = options.option(False, action="store_true", flags=("-f",))
        name: str = options.option(required=True, help="who")

    parser = options.build_parser(Toy, prog="toy")
    assert vars(parser.parse_args(["--name", "x", "-f", "--size", "5"])) == {
        "size": 5, "fast": True, "name": "x",
    }  # fmt: skip
    assert [g.title for g in parser._action_groups][-1] == "g"
    with pytest.raises(SystemExit):
        parser.parse_args([])  # --name is required
    assert options.describe(Toy) == [
        ("--size", "3", "The size."),
        ("-f, --fast", "off", ""),
        ("--name", "required", "who"),
    ]
    assert isinstance(parser, argparse.ArgumentParser)
