"""The layout's promise (docs/architecture.md): packages in layers, imports only downwards, no shims."""
import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "npsrcnn"
COMMANDS = ("train", "upscale", "evaluate", "prepare", "data", "convert", "cache", "export")
# docs/architecture.md's layers: a module imports only from layers below its own.
LAYER = {"util": 0, "metrics": 0, "lesson": 0, "interp": 1, "engine": 1, "image": 2, "datasets": 3, "model": 4,
         "training": 5, **{c: 6 for c in COMMANDS}}


def unit_of(path):
    """The package (folder) or command a module belongs to; None for npsrcnn/__init__ and __main__."""
    rel = path.relative_to(PKG).parts
    return rel[0] if len(rel) > 1 else (rel[0][:-3] if rel[0][:-3] in COMMANDS else None)


def imported_units(path, root=PKG):
    """Every package or command of ours that the module at `path` (under `root`) imports, at any depth."""
    here = ["npsrcnn", *path.relative_to(root).parts[:-1]]
    units = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = here[:len(here) - node.level + 1] if node.level else []
            mod = base + (node.module.split(".") if node.module else [])
            if mod[:1] != ["npsrcnn"]:
                continue
            units.update([mod[1]] if len(mod) > 1 else [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            units.update(a.name.split(".")[1] for a in node.names if a.name.startswith("npsrcnn."))
    return units - {"__version__"}


MODULES = sorted(p for p in PKG.rglob("*.py") if unit_of(p) is not None)


def test_every_folder_and_module_has_a_layer():
    """A new package or command is placed in the layers (and docs/architecture.md) before it lands."""
    units = {unit_of(p) for p in MODULES}
    assert units == set(LAYER), f"not in LAYER: {units - set(LAYER)}; gone: {set(LAYER) - units}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_imports_point_down(path):
    unit = unit_of(path)
    up = {u for u in imported_units(path) if u != unit and LAYER.get(u, -1) >= LAYER[unit]}
    assert not up, f"{path.relative_to(PKG)} (layer {LAYER[unit]}) imports {sorted(up)} from its own layer or above"


def test_the_checker_sees_an_upward_import(tmp_path):
    """imported_units finds relative, absolute and function-level imports (else the test above proves nothing)."""
    fake = tmp_path / "npsrcnn" / "model" / "fake.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("from ..train import main\nfrom . import srcnn\ndef f():\n    from npsrcnn.training import loop\n"
                    "    import npsrcnn.upscale\n")
    assert imported_units(fake, root=tmp_path / "npsrcnn") == {"train", "model", "training", "upscale"}


def test_no_module_only_re_exports():
    """Every module defines something (a function, class or constant) or is a package's docstring-only __init__."""
    for path in PKG.rglob("*.py"):
        tree = ast.parse(path.read_text())
        body = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
        defines = [n for n in body if not isinstance(n, (ast.Import, ast.ImportFrom))]
        if body and not defines and path.name != "__init__.py":
            pytest.fail(f"{path.relative_to(PKG)} only imports (a re-export)")


def test_each_package_says_its_job_in_one_sentence():
    for init in PKG.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc, f"{init.parent.name}/ has no docstring"
        first = doc.split("\n\n")[0]
        assert "\n" not in first and first.endswith("."), f"{init.parent.name}/: {first!r}"
