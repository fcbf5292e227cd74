"""Turn the walkthrough's pages (docs/backprop/*.md) into Jupyter notebooks, one per step.

    pip install jupytext jupyterlab
    python docs/make_notebooks.py                        # writes build/notebooks/01-....ipynb .. 08-....ipynb
    jupyter lab build/notebooks/01-network-and-loss.ipynb

jupytext reads each page as a notebook: every ```python block becomes a code cell, the text between
them markdown cells. Three things are adjusted so that the notebooks read like the pages:

- a block folded on the page under ``<details><summary>Solution ...</summary>`` becomes a code cell with
  its source hidden (``jupyter.source_hidden``, tag ``solution``): click its bar to open it after trying;
  it still runs, since later cells may use what it defines;
- the figures are embedded in the notebook as attachments, so it opens anywhere;
- links to other pages point at the other notebooks, and links to files of the repository are made
  relative to the output folder.

Run from anywhere; ``--out`` defaults to build/notebooks in the repository (ignored by git). The test
suite runs every notebook with nbclient (``tests/test_notebooks.py``).
"""
import argparse
import base64
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGES = REPO / "docs" / "backprop"
OPEN = re.compile(r"<details>\s*<summary>(.*?)</summary>\s*$", re.S)
LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s#]+)(#[^)]*)?\)")
MIME = {".png": "image/png", ".gif": "image/gif"}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=REPO / "build" / "notebooks",
                   help="folder for the notebooks (default %(default)s)")
    args = p.parse_args(argv)
    import nbformat

    args.out.mkdir(parents=True, exist_ok=True)
    for page in sorted(PAGES.glob("0*.md")):
        nb = page_notebook(page, args.out.resolve())
        path = args.out / (page.stem + ".ipynb")
        nbformat.write(nb, str(path))
        print(f"wrote {path} ({len(nb.cells)} cells)")
    return 0


def page_notebook(page, out):
    """The notebook of one page: jupytext's cells, solutions hidden, figures attached, links mended."""
    import jupytext
    import nbformat

    nb = jupytext.reads(page.read_text(), fmt="md")
    cells, in_solution = [], False
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            text = cell.source
            if in_solution and text.lstrip().startswith("</details>"):
                text, in_solution = text.lstrip()[len("</details>"):].lstrip("\n"), False
            fold = OPEN.search(text)
            if fold:
                summary = re.sub(r"<[^>]+>", "`", fold.group(1)).replace("(open it after you have tried)", "").strip()
                text = text[:fold.start()] + f"**{summary}**: the cell below is folded; click its bar to open it after you have tried."
                in_solution = True
            if text.strip():
                cells.append(markdown_cell(text, page, out))
        else:
            code = nbformat.v4.new_code_cell(cell.source)
            if in_solution:
                code.metadata["jupyter"] = {"source_hidden": True}
                code.metadata["tags"] = ["solution"]
            cells.append(code)
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


def markdown_cell(text, page, out):
    """A markdown cell whose figures are attachments and whose links point from `out`."""
    import nbformat

    attachments = {}

    def mend(m):
        bang, label, target, anchor = m.group(1), m.group(2), m.group(3), m.group(4) or ""
        if "://" in target:
            return m.group(0)
        path = (page.parent / target).resolve()
        if bang and path.suffix in MIME and path.is_file():
            attachments[path.name] = {MIME[path.suffix]: base64.b64encode(path.read_bytes()).decode("ascii")}
            return f"![{label}](attachment:{path.name})"
        if path.parent == PAGES and path.suffix == ".md":
            return f"[{label}]({path.stem}.ipynb{anchor})"
        return f"{bang}[{label}]({Path(os.path.relpath(path, out)).as_posix()}{anchor})"

    cell = nbformat.v4.new_markdown_cell(LINK.sub(mend, text))
    if attachments:
        cell["attachments"] = attachments
    return cell


if __name__ == "__main__":
    sys.exit(main())
