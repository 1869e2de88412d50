"""Every relative link in the course text lands somewhere: the markdown cells of the notebooks
and labs, and the markdown files beside them (``notebooks/*.md``, ``labs/*.md``).

A link ``[text](path#anchor)`` fails when ``path`` (relative to the file that holds the link)
does not exist, or when ``anchor`` names no heading of the target notebook or markdown file.
Anchors are matched the way GitHub (``#mongodb-replica-sets``) and JupyterLab
(``#MongoDB-replica-sets``) make them from a heading's text; ``<a id="...">`` / ``name=``
targets count too. Links with a scheme (``https:``, ``mailto:``) are not checked here, and
neither is text inside code (fenced blocks and inline code spans).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.helpers import outside_code

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(
    [
        *ROOT.glob("notebooks/*.ipynb"),
        *ROOT.glob("labs/*.ipynb"),
        *ROOT.glob("notebooks/*.md"),
        *ROOT.glob("labs/*.md"),
    ]
)

# [text](target "title") and ![alt](target); the target may be <wrapped in angle brackets>
_INLINE = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)"
)
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)", re.MULTILINE)
_HTML_LINK = re.compile(r"""<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*["']([^"']*)["']""", re.I)
_HTML_ANCHOR = re.compile(r"""<[a-z][^>]*?\b(?:id|name)\s*=\s*["']([^"']+)["']""", re.I)
_ATX = re.compile(r"^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


@dataclass(frozen=True)
class Link:
    source: Path
    where: str  # "cell 12" or "line 40"
    target: str

    def __str__(self) -> str:
        return f"{_show(self.source)} ({self.where}): {self.target}"


def _show(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def markdown_parts(path: Path) -> list[tuple[str, str]]:
    """(where, markdown text) of a notebook's markdown cells, or of a whole markdown file."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return [
            (f"cell {i}", "".join(c["source"]) if isinstance(c["source"], list) else c["source"])
            for i, c in enumerate(cells)
            if c["cell_type"] == "markdown"
        ]
    return [("", path.read_text(encoding="utf-8"))]


def links_in(path: Path) -> list[Link]:
    found = []
    for where, text in markdown_parts(path):
        for number, line in outside_code(text):
            place = where or f"line {number}"
            targets = [m.group(1) for m in _INLINE.finditer(line)]
            targets += [m.group(1) for m in _REFERENCE.finditer(line)]
            targets += [m.group(1) for m in _HTML_LINK.finditer(line)]
            for target in targets:
                target = target.strip()
                if target.startswith("<") and target.endswith(">"):
                    target = target[1:-1]
                if target and not _SCHEME.match(target) and not target.startswith("//"):
                    found.append(Link(path, place, target))
    return found


def _plain(heading: str) -> str:
    """A heading's text as rendered: inline markup and HTML tags removed."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images: their text
    text = re.sub(r"<[^>]+>", "", text)  # HTML tags
    text = text.replace("`", "")
    return re.sub(r"(\*+|(?<!\w)_+|_+(?!\w))", "", text).strip()  # emphasis markers


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", _plain(heading).lower()).replace(" ", "-")


def jupyterlab_id(heading: str) -> str:
    """JupyterLab's anchor for a heading: the rendered text, spaces to hyphens."""
    return _plain(heading).replace(" ", "-")


def headings(path: Path) -> list[str]:
    found = []
    for _, text in markdown_parts(path):
        previous = ""
        for _, line in outside_code(text, blank_spans=False):
            atx = _ATX.match(line)
            if atx:
                found.append(atx.group(1) or "")
            elif (
                _SETEXT.match(line)
                and previous.strip()
                and not previous.lstrip().startswith(("|", "-", "*", "+", ">"))
            ):
                found.append(previous.strip())
            previous = line
    return found


def anchors(path: Path) -> set[str]:
    """Every anchor a link may use to point into ``path``."""
    names: set[str] = set()
    seen: dict[str, int] = {}
    for heading in headings(path):
        slug = github_slug(heading)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        names.add(slug if count == 0 else f"{slug}-{count}")  # GitHub numbers repeats
        names.add(jupyterlab_id(heading))
    for _, text in markdown_parts(path):
        names.update(m.group(1) for m in _HTML_ANCHOR.finditer(text))
    return names


def problem(link: Link) -> str:
    """Why ``link`` is broken, or ""."""
    path_part, _, anchor = link.target.partition("#")
    path_part, anchor = unquote(path_part), unquote(anchor)
    if path_part.startswith("/"):
        return "absolute path: write it relative to the file that holds the link"
    target = (link.source.parent / path_part).resolve() if path_part else link.source
    if not target.exists():
        return f"no such file: {_show(target)}"
    if anchor and target.is_dir():
        return "an anchor on a directory"
    if anchor and target.suffix in (".ipynb", ".md") and anchor not in anchors(target):
        return f"no heading #{anchor} in {_show(target)}"
    return ""


def test_there_are_links_to_check():
    assert SOURCES, "no notebook, lab or markdown file found"
    assert sum(len(links_in(p)) for p in SOURCES) > 20, "the link scanner finds (almost) nothing"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_has_a_target(source: Path):
    broken = [f"{link}: {why}" for link in links_in(source) if (why := problem(link))]
    assert not broken, "broken links:\n" + "\n".join(broken)


# The checker itself, on small made-up files: it must fail where a reader would land nowhere.


def _write_notebook(path: Path, *markdown: str) -> Path:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": m} for m in markdown]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4}))
    return path


def test_the_checker_reports_missing_files_and_headings(tmp_path: Path):
    (tmp_path / "labs").mkdir()
    _write_notebook(tmp_path / "labs" / "x1-lab.ipynb", "# X1 lab\n\n### MongoDB replica sets\n")
    source = _write_notebook(
        tmp_path / "lesson.ipynb",
        "## 5. Lua scripts (`EVAL`) and functions\n"
        "[ok](labs/x1-lab.ipynb#mongodb-replica-sets)\n"
        "[ok too](labs/x1-lab.ipynb#MongoDB-replica-sets)\n"
        "[here](#5-lua-scripts-eval-and-functions) [web](https://example.org/missing)\n"
        "`[in code](nowhere.ipynb)`\n```\n[in a block](nowhere.ipynb)\n```\n",
        "[gone](labs/m4-lab.ipynb) [bad anchor](labs/x1-lab.ipynb#replica-sets)\n"
        '[bad here](#nothing) <a href="labs/missing.md">html</a>\n',
    )
    broken = {link.target: why for link in links_in(source) if (why := problem(link))}
    assert set(broken) == {
        "labs/m4-lab.ipynb",
        "labs/x1-lab.ipynb#replica-sets",
        "#nothing",
        "labs/missing.md",
    }, broken
    assert "no such file" in broken["labs/m4-lab.ipynb"]
    assert "no heading #replica-sets" in broken["labs/x1-lab.ipynb#replica-sets"]


@pytest.mark.parametrize(
    ("heading", "github", "jupyterlab"),
    [
        ("P3 · Indexing and EXPLAIN", "p3--indexing-and-explain", "P3-·-Indexing-and-EXPLAIN"),
        (
            "4. `WATCH`: optimistic locking",
            "4-watch-optimistic-locking",
            "4.-WATCH:-optimistic-locking",
        ),
        (
            "Kinds: one complete example each",
            "kinds-one-complete-example-each",
            "Kinds:-one-complete-example-each",
        ),
        ("[The X1 lab](x1.ipynb) **today**", "the-x1-lab-today", "The-X1-lab-today"),
        ("snake_case names", "snake_case-names", "snake_case-names"),
    ],
)
def test_slugs(heading: str, github: str, jupyterlab: str):
    assert github_slug(heading) == github
    assert jupyterlab_id(heading) == jupyterlab
