"""--weights by name (the shipped x2/x3/x4) or by path (.h5, .npz, .mat), in upscale and evaluate."""
import json
import sys

import numpy as np
import pytest
from conftest import assert_one_line_error, run_python
from PIL import Image

from npsrcnn import evaluate, upscale
from npsrcnn.model import evaluation, pretrained, upscaling
from npsrcnn.model.srcnn import NAMES, SRCNN
from npsrcnn.util.errors import UserError


def test_names_resolve_to_the_installed_package_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x3").write_bytes(b"a file that happens to be called x3")
    assert pretrained.shipped_names() == ["x2", "x3", "x4"]
    for s in (2, 3, 4):
        path = pretrained.resolve(f"x{s}")
        assert path == pretrained.shipped_weights(s) and path.is_absolute() and path.parent.name == "weights"
        assert pretrained.load_model(f"x{s}", s).scale == s
    assert pretrained.resolve("./x3").resolve() == tmp_path / "x3"  # a path, not the name
    assert pretrained.resolve("runs/x3.h5").name == "x3.h5"


@pytest.mark.parametrize("spec, scale, message", [
    ("x5", 5, "no weights named x5 ship with npsrcnn (shipped: x2, x3, x4)"),
    ("x3", 2, "--scale 2 but --weights x3 is for x3; pass --weights x2 or leave --weights out"),
    ("weights.pt", 3, "expected our .h5 or the authors' .npz or .mat"),
    (".", 3, "is a directory"),
])
def test_bad_weights_specs(spec, scale, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "weights.pt").write_bytes(b"")
    with pytest.raises(UserError) as exc:
        pretrained.load_model(spec, scale)
    assert message in str(exc.value)


def _photo(path, shape=(20, 24, 3)):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(path)
    return path


def test_upscale_weights_by_name_from_another_folder(tmp_path):
    src = _photo(tmp_path / "in.png")
    r = run_python("-m", "npsrcnn", "upscale", "in.png", "-o", "out.png", "--scale", "3", "--weights", "x3",
                   cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"{SRCNN.load(pretrained.shipped_weights(3)).arch} weights x3 (shipped)" in r.stderr
    want = upscaling.upscale_array(np.asarray(Image.open(src)), SRCNN.load(pretrained.shipped_weights(3)), 3)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out.png")), want)


def test_upscale_reads_mat_weights_like_npz(tmp_path, ref_weights, capsys):
    pytest.importorskip("scipy")
    src = _photo(tmp_path / "in.png")
    folder = ref_weights / "9-3-5(ImageNet)"
    for suffix in ("mat", "npz"):
        assert upscale.main([str(src), "-o", str(tmp_path / f"{suffix}.png"), "--scale", "3",
                             "--weights", str(folder / f"x3.{suffix}")]) == 0
    assert (tmp_path / "mat.png").read_bytes() == (tmp_path / "npz.png").read_bytes()
    assert "9-3-5 weights" in capsys.readouterr().err


def test_mat_weights_without_scipy_is_one_line_naming_the_extra(tmp_path, ref_weights, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "scipy.io", None)
    src = _photo(tmp_path / "in.png")
    rc = upscale.main([str(src), "-o", str(tmp_path / "o.png"), "--scale", "3",
                       "--weights", str(ref_weights / "9-1-5(91 images)" / "x3.mat")])
    assert_one_line_error(rc, capsys.readouterr().err, 'needs SciPy: pip install "npsrcnn[mat]"')
    assert not (tmp_path / "o.png").exists()


def test_unknown_name_is_one_line(tmp_path, capsys):
    src = _photo(tmp_path / "in.png")
    rc = upscale.main([str(src), "-o", str(tmp_path / "o.png"), "--scale", "3", "--weights", "x7"])
    assert_one_line_error(rc, capsys.readouterr().err, "no weights named x7 ship with npsrcnn")


@pytest.fixture(scope="module")
def two_images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("set")
    for i in range(2):
        _photo(folder / f"im{i}.png", (36, 42, 3))
    return folder


def test_evaluate_defaults_to_the_shipped_weights_of_its_scale(two_images, capsys):
    assert evaluate.main(["--dataset", str(two_images), "--scale", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["weights"] == "x2 (shipped)" and result["arch"] == SRCNN.load(pretrained.shipped_weights(2)).arch
    direct = evaluation.evaluate_dataset(SRCNN.load(pretrained.shipped_weights(2)), two_images, 2)
    assert result["srcnn_psnr"] == direct["srcnn_psnr"]
    assert evaluate.main(["--dataset", str(two_images), "--scale", "2", "--weights", "x2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["srcnn_psnr"] == direct["srcnn_psnr"]


def test_evaluate_mat_equals_npz(two_images, ref_weights, capsys):
    pytest.importorskip("scipy")
    values = []
    for suffix in ("mat", "npz"):
        weights = ref_weights / "9-1-5(91 images)" / f"x3.{suffix}"
        assert evaluate.main(["--dataset", str(two_images), "--scale", "3", "--weights", str(weights), "--json"]) == 0
        values.append(json.loads(capsys.readouterr().out)["per_image"])
    assert values[0] == values[1]


def test_load_model_checks_the_scale_in_a_mat_name(ref_weights):
    pytest.importorskip("scipy")
    with pytest.raises(UserError, match="are for x3"):
        pretrained.load_model(ref_weights / "9-5-5(ImageNet)" / "x3.mat", 2)
    model = pretrained.load_model(ref_weights / "9-5-5(ImageNet)" / "x3.mat")
    assert model.scale == 3 and set(model.params) == set(NAMES)
