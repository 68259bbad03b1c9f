"""The documentation's links hold: every relative link and #anchor in
README.md, docs/**/*.md, configs/README.md and tests/README.md names a file
or directory of the repository and, where it has one, a heading of the target
page (anchors as GitHub makes them from headings); README.md stays short
enough to read in minutes (at most 600 lines)."""
import glob
import os
import re
import sys
import unicodedata
from urllib.parse import unquote

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
README_MAX_LINES = 600

FENCE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$", re.M | re.S)
CODE_SPAN = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.S)
# [text](target) and ![alt](target), with an optional "title"
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$", re.M)
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", re.I)


def documents():
    files = ["README.md", "configs/README.md", "tests/README.md"]
    files += sorted(os.path.relpath(p, ROOT)
                    for p in glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True))
    return files


def prose(text):
    """The text outside fenced code blocks, which hold no links."""
    return FENCE.sub("", text)


def slug(heading):
    """GitHub's anchor for a heading: its text without markup, lower case,
    every character but letters, marks, digits, connector punctuation (_),
    spaces and hyphens dropped, spaces made hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links: their text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
    kept = (c for c in text.lower()
            if c in " -" or unicodedata.category(c)[0] in "LMN" or unicodedata.category(c) == "Pc")
    return "".join(kept).replace(" ", "-")


def anchors(path):
    """Every anchor of a markdown page, duplicates numbered -1, -2, ... as GitHub does."""
    text = prose(open(path, encoding="utf-8").read())
    seen, out = {}, set()
    for m in HEADING.finditer(text):
        s = slug(m.group(2))
        n = seen.get(s, 0)
        seen[s] = n + 1
        out.add(s if n == 0 else f"{s}-{n}")
    out.update(HTML_ANCHOR.findall(text))
    return out


def links(path):
    """(line, target) of every link of a page outside code."""
    text = prose(open(path, encoding="utf-8").read())
    text = CODE_SPAN.sub(lambda m: " " * len(m.group(0)), text)
    for m in LINK.finditer(text):
        yield text.count("\n", 0, m.start()) + 1, m.group(1)


def broken(doc):
    """What is wrong with each relative link of doc (repository-relative path)."""
    out = []
    here = os.path.dirname(os.path.join(ROOT, doc))
    for line, target in links(os.path.join(ROOT, doc)):
        if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", target):  # https:, mailto:, ...
            continue
        path, _, anchor = target.partition("#")
        dest = os.path.normpath(os.path.join(here, unquote(path))) if path else os.path.join(ROOT, doc)
        where = f"{doc}:{line}: ({target})"
        if not os.path.exists(dest):
            out.append(f"{where}: no file {os.path.relpath(dest, ROOT)}")
        elif not dest.startswith(ROOT + os.sep):
            out.append(f"{where}: outside the repository")
        elif anchor and dest.endswith(".md") and unquote(anchor) not in anchors(dest):
            out.append(f"{where}: no heading with anchor #{unquote(anchor)} in {os.path.relpath(dest, ROOT)}")
    return out


@pytest.mark.parametrize("doc", documents())
def test_links_resolve(doc):
    problems = broken(doc)
    assert not problems, "\n".join(problems)


def test_readme_is_short():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        n = sum(1 for _ in f)
    assert n <= README_MAX_LINES, f"README.md has {n} lines; at most {README_MAX_LINES}: move detail to docs/"


def test_the_checker_finds_what_is_broken(tmp_path, monkeypatch):
    """The checker itself: GitHub's anchors, and each kind of broken link found."""
    assert slug("Could λ have been chosen without target labels?") == "could-λ-have-been-chosen-without-target-labels"
    assert slug("The kinds of shift (`data.shift_kind`)") == "the-kinds-of-shift-datashift_kind"
    assert slug("MMD² — the [kernel](x.md) *fused*") == "mmd²--the-kernel-fused"
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "page.md").write_text("# Title\n\n## Same\n\n## Same\n", encoding="utf-8")
    (tmp_path / "a.md").write_text(
        "# A\n\n"
        "[ok](sub/page.md#same-1) [ok](#a) [ok](https://example.org/x#y) `[code](nowhere.md)`\n"
        "```\n[fenced](nowhere.md)\n```\n"
        "[gone](sub/missing.md) [bad anchor](sub/page.md#same-2)\n"
        "![image](sub/missing.png) [self](#nope)\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", str(tmp_path))
    problems = broken("a.md")
    assert len(problems) == 4, problems
    assert any("no file sub/missing.md" in p for p in problems)
    assert any("#same-2" in p for p in problems)
    assert any("no file sub/missing.png" in p for p in problems)
    assert any("#nope" in p for p in problems)
