"""The reference tables in Markdown are generated from code and must not be stale."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def gen_docs():
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_docs"] = module  # dataclasses look their module up while it executes
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules["gen_docs"]


def test_every_generated_table_is_current(gen_docs, capsys):
    assert gen_docs.main(["--check"]) == 0, capsys.readouterr().err


def test_a_stale_table_is_named(gen_docs, tmp_path, monkeypatch, capsys):
    stale = tmp_path / "configuration.md"
    stale.write_text("x\n<!-- generated:settings:begin -->\nold\n<!-- generated:settings:end -->\n")
    table = gen_docs.Table(stale, "settings", gen_docs.settings_table)
    monkeypatch.setattr(gen_docs, "TABLES", (table,))
    monkeypatch.setattr(gen_docs, "ROOT", tmp_path)

    assert gen_docs.main(["--check"]) == 1
    assert "configuration.md (settings)" in capsys.readouterr().err


def test_every_setting_and_documented_value_is_listed(gen_docs):
    from serving.settings import Settings

    settings = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert all(f"`{variable}`" in settings for variable, _, _ in Settings.describe())
    chart = (ROOT / "helm" / "model-server" / "README.md").read_text(encoding="utf-8")
    values = (ROOT / "helm" / "model-server" / "values.yaml").read_text(encoding="utf-8")
    keys = [key for key, _ in gen_docs.documented_values(values)]
    assert len(keys) == values.count("# --")  # every `# --` comment documents one key
    assert all(f"| `{key}` |" in chart for key in keys)


def test_every_job_option_is_listed():
    from spark_jobs.export.command import ExportSettings
    from spark_jobs.options import describe
    from spark_jobs.settings import JobSettings

    readme = (ROOT / "spark_jobs" / "README.md").read_text(encoding="utf-8")
    for settings in (JobSettings, ExportSettings):
        rows = describe(settings)
        assert len(rows) == len(dataclasses.fields(settings))
        assert all(f"| `{flags}` |" in readme for flags, _, _ in rows)
