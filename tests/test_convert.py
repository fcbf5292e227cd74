"""npsrcnn convert: the authors' .mat / .npz into our HDF5, atomically, never over a file without --overwrite."""
import hashlib
import sys

import numpy as np
import pytest
from conftest import assert_one_line_error

from npsrcnn import __main__ as entry
from npsrcnn.convert import main
from npsrcnn.model.srcnn import NAMES, SRCNN


def _run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_mat_converts_to_the_same_network_as_the_npz(tmp_path, ref_weights, capsys):
    pytest.importorskip("scipy")
    src = ref_weights / "9-5-5(ImageNet)" / "x3.mat"
    rc, out, _ = _run(capsys, src, "-o", tmp_path / "w.h5")
    assert rc == 0 and out.endswith(f"(9-5-5, x3) -> {tmp_path / 'w.h5'}\n")
    got, want = SRCNN.load(tmp_path / "w.h5"), SRCNN.from_npz(ref_weights / "9-5-5(ImageNet)" / "x3.npz")
    assert got.arch == "9-5-5" and got.scale == 3
    for k in NAMES:
        np.testing.assert_array_equal(got.params[k], want.params[k], err_msg=k)
    assert got.config["converted_from"] == "x3.mat"
    assert got.config["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.h5"]  # no temporary left


@pytest.fixture
def npz(tmp_path):
    m = SRCNN(9, 1, 5, n1=8, n2=4, seed=2)
    path = tmp_path / "mine.npz"
    np.savez(path, **{k: v.astype(np.float64) for k, v in m.params.items()})
    return path, m


def test_npz_with_scale_and_refusing_to_overwrite(tmp_path, npz, capsys):
    path, m = npz
    out = tmp_path / "mine.h5"
    rc, _, err = _run(capsys, path, "-o", out)
    assert_one_line_error(rc, err, "does not give the scale (x3.mat does); pass --scale")
    assert not out.exists()
    assert _run(capsys, path, "-o", out, "--scale", 2)[0] == 0
    back = SRCNN.load(out)
    assert back.scale == 2 and all(np.array_equal(back.params[k], m.params[k]) for k in NAMES)
    before = out.read_bytes()
    rc, _, err = _run(capsys, path, "-o", out, "--scale", 4)
    assert_one_line_error(rc, err, "exists; pass --overwrite to replace it")
    assert out.read_bytes() == before
    assert _run(capsys, path, "-o", out, "--scale", 4, "--overwrite")[0] == 0
    assert SRCNN.load(out).scale == 4


@pytest.mark.parametrize("argv, message", [
    (["{tmp}/missing.mat", "-o", "{tmp}/o.h5"], "missing.mat not found"),
    (["{tmp}/mine.npz", "-o", "{tmp}/o.png", "--scale", "2"], "write a .h5 file"),
    (["{tmp}/mine.h5", "-o", "{tmp}/o.h5"], "already our HDF5 format"),
    (["{tmp}/mine.npz", "-o", "{tmp}/nope/o.h5", "--scale", "2"], "does not exist"),
    (["{tmp}/mine.npz", "-o", "{tmp}/o.h5", "--scale", "1"], "--scale must be >= 2"),
    (["{tmp}/x3.npz", "-o", "{tmp}/o.h5", "--scale", "2"], "are for x3"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, npz, capsys, argv, message):
    (tmp_path / "x3.npz").write_bytes(npz[0].read_bytes())
    before = sorted(p.name for p in tmp_path.iterdir())
    rc, _, err = _run(capsys, *[a.format(tmp=tmp_path) for a in argv])
    assert_one_line_error(rc, err, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_mat_without_scipy_names_the_extra(tmp_path, ref_weights, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "scipy.io", None)
    rc = entry.main(["convert", str(ref_weights / "9-1-5(91 images)" / "x2.mat"), "-o", str(tmp_path / "w.h5")])
    err = capsys.readouterr().err
    assert_one_line_error(rc, err, 'needs SciPy: pip install "npsrcnn[mat]"')
    assert err.startswith("npsrcnn convert: error: ")
    assert not (tmp_path / "w.h5").exists()


def test_converted_file_is_usable_as_weights(tmp_path, npz, capsys):
    from npsrcnn.model.pretrained import load_model

    path, m = npz
    assert entry.main(["convert", str(path), "-o", str(tmp_path / "w.h5"), "--scale", "3"]) == 0
    assert load_model(tmp_path / "w.h5", 3).arch == "9-1-5"
