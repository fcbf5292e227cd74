"""Every ```python block of every docs/**/*.md runs, in order, one namespace per file: the text cannot
drift from the code. Also: every relative link and image in docs/ points at a file that exists."""
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def python_blocks(page):
    """(first line number, source) of each ```python block of `page`."""
    text = page.read_text()
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in BLOCK.finditer(text)]


def test_the_walkthrough_is_there():
    steps = sorted(p.name for p in (DOCS / "backprop").glob("0*.md"))
    assert len(steps) == 8 and steps[0].startswith("01-") and steps[-1].startswith("08-"), steps
    assert all(python_blocks(DOCS / "backprop" / s) for s in steps)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_python_blocks_run(page, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # a block that writes files writes them here
    namespace = {"__name__": f"docs.{page.stem}"}
    for line, source in python_blocks(page):
        exec(compile(source, f"{page}:{line}", "exec"), namespace)  # a failure names the page and line


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_relative_links_exist(page):
    targets = [t for t in LINK.findall(page.read_text()) if "://" not in t]
    missing = [t for t in targets if not (page.parent / t).exists()]
    assert not missing, f"{page.name} links to missing {missing}"
