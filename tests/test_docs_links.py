"""Every relative link in the project's Markdown points at something that exists.

README.md is a front door that sends readers to docs/, bench/, spark_jobs/ and the chart; a
moved or renamed page must not leave a dead link behind. Links to a heading (``file.md#part``
or ``#part``) must name a heading that exists, using GitHub's anchor rules. Links inside
fenced code blocks and absolute URLs are not checked.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_DIRS = {"node_modules", "build", "dist", "model-store", "test-artifacts"}
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def markdown_files(root: Path = ROOT) -> list[Path]:
    """The project's own Markdown: hidden directories, virtualenvs and build output skipped."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [
            d
            for d in dirs
            if not d.startswith(".") and d not in SKIPPED_DIRS and not d.endswith(".egg-info")
        ]
        found.extend(Path(folder, name) for name in files if name.endswith(".md"))
    return sorted(found)


def _prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to '-', -N on repeats."""
    seen: Counter[str] = Counter()
    result = set()
    for line in _prose_lines(text):
        match = HEADING.match(line)
        if not match:
            continue
        slug = re.sub(r"[^\w\- ]", "", match.group(1).lower()).replace(" ", "-")
        result.add(slug if not seen[slug] else f"{slug}-{seen[slug]}")
        seen[slug] += 1
    return result


def broken_links(document: Path) -> list[str]:
    """``target`` for every relative link in ``document`` whose file or heading is missing."""
    text = document.read_text(encoding="utf-8")
    broken = []
    for line in _prose_lines(text):
        for target in LINK.findall(line):
            if EXTERNAL.match(target):
                continue
            path_part, _, fragment = target.partition("#")
            resolved = (document.parent / path_part).resolve() if path_part else document
            if not resolved.exists() or (
                fragment
                and resolved.suffix == ".md"
                and fragment not in anchors(resolved.read_text(encoding="utf-8"))
            ):
                broken.append(target)
    return broken


@pytest.mark.parametrize("document", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(document: Path) -> None:
    assert broken_links(document) == []


def test_the_readme_links_every_moved_reference_page() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in (
        "bench/README.md",
        "docs/testing.md",
        "docs/security.md",
        "docs/configuration.md",
        "docs/serving.md",
        "docs/artifacts.md",
        "docs/export.md",
        "spark_jobs/README.md",
        "helm/model-server/README.md",
    ):
        assert f"]({page}" in text, page


def test_a_missing_file_or_heading_is_reported(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Real heading: `code` (yes)\n\n## Twice\n\n## Twice\n")
    doc = tmp_path / "doc.md"
    doc.write_text(
        "[ok](other.md) [ok](other.md#real-heading-code-yes) [ok](other.md#twice-1)\n"
        "[gone](missing.md) [gone](other.md#no-such-heading) [web](https://example.com/x.md)\n"
        "```\n[in code](not-checked.md)\n```\n"
        "[self](#local) [self-gone](#elsewhere)\n\n## Local\n",
        encoding="utf-8",
    )
    assert broken_links(doc) == ["missing.md", "other.md#no-such-heading", "#elsewhere"]
