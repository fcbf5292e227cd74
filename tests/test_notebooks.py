"""Every page of the walkthrough runs as a Jupyter notebook: docs/make_notebooks.py writes them (into
tmp_path), and nbclient executes each one's cells in order in an IPython kernel.

One kernel serves all eight pages, its namespace reset (``%reset -f``) before each page, so the test
costs one kernel start rather than eight; each page still runs alone, from its first cell.
"""
import importlib.util
import re
from pathlib import Path

import pytest

for module in ("jupytext", "nbclient", "nbformat", "ipykernel"):
    pytest.importorskip(module, reason=f"{module} is not installed (pip install -e .[test] installs it)")

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402
from nbclient.exceptions import CellExecutionError  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PAGES = sorted((REPO / "docs" / "backprop").glob("0*.md"))
BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


def load_make_notebooks():
    spec = importlib.util.spec_from_file_location("make_notebooks", REPO / "docs" / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory):
    out = tmp_path_factory.mktemp("notebooks")
    assert load_make_notebooks().main(["--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("kernel_cwd")  # a page that writes files writes them here
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    with client.setup_kernel():
        yield client


def run(client, notebook):
    """Execute every code cell of `notebook` in a fresh namespace; a failure names the cell and the error."""
    client.nb = notebook  # nbclient files each cell's outputs under its index in client.nb
    notebook.cells.insert(0, nbformat.v4.new_code_cell("%reset -f"))
    client.execute_cell(notebook.cells[0], 0, store_history=False)
    notebook.cells.pop(0)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        try:
            client.execute_cell(cell, index)
        except CellExecutionError as e:
            lines = str(e).strip().splitlines()
            pytest.fail(f"cell {index} failed: {lines[-1] if lines else e}\n{cell.source[:400]}", pytrace=False)
    return notebook


def text_output(notebook):
    return "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)


def test_there_is_a_notebook_per_page(notebooks):
    assert sorted(p.stem for p in notebooks.glob("*.ipynb")) == [p.stem for p in PAGES]
    assert len(PAGES) == 8


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_page_runs_as_a_notebook(page, notebooks, kernel):
    notebook = nbformat.read(str(notebooks / f"{page.stem}.ipynb"), as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert [c.source.strip() for c in code] == [b.strip() for b in BLOCK.findall(page.read_text())]
    run(kernel, notebook)
    assert all(c.outputs is not None for c in code)
    assert not any(o.get("output_type") == "error" for c in code for o in c.outputs)


def test_the_convolution_notebook_prints_what_the_text_says(notebooks, kernel):
    notebook = run(kernel, nbformat.read(str(notebooks / "04-convolution.ipynb"), as_version=4))
    printed = text_output(notebook)
    for line in ("out [ 5. -1.  7.]", "dx [1. 1. 3. 1. 6.]", "dw [-1.  0.  7.] db 2.0", "[ 1. -2. 12.]"):
        assert line in printed, line


def test_solutions_are_folded_and_figures_attached(notebooks):
    notebook = nbformat.read(str(notebooks / "04-convolution.ipynb"), as_version=4)
    hidden = [c for c in notebook.cells if c.cell_type == "code" and "solution" in c.metadata.get("tags", [])]
    assert len(hidden) == 5 and all(c.metadata["jupyter"]["source_hidden"] for c in hidden)
    assert any("w_flip = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)" in c.source for c in hidden)
    markdown = "".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert "<details>" not in markdown and "</details>" not in markdown
    assert "**Solution to exercise 8**: the cell below is folded" in markdown
    attached = {name for c in notebook.cells for name in c.get("attachments", {})}
    assert {"conv1d_backward.png", "im2col_col2im.png", "full_correlation.gif", "replicate_fold.png"} <= attached
    assert "(05-the-chain.ipynb)" in markdown  # links between pages go to the notebooks
