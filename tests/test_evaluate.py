"""The authors' test protocol against their published numbers, and the evaluate command.

The reproduction tests need the benchmark sets (NPSRCNN_DATA) and the authors' released weights
(NPSRCNN_REF_WEIGHTS); they skip, saying so, without them.
"""
import json

import numpy as np
import pytest
from conftest import assert_one_line_error
from PIL import Image

from npsrcnn.evaluate import format_table, main
from npsrcnn.model.evaluation import KEYS, evaluate_dataset, evaluate_y
from npsrcnn.model.pretrained import load_model

# (folder, scale, published SRCNN Set5, Set14): the table in the weights' README (ECCV 2014, TPAMI 2016)
MODELS = [
    ("9-1-5(91 images)", 2, 36.34, 32.18),
    ("9-1-5(91 images)", 3, 32.39, 29.00),
    ("9-1-5(91 images)", 4, 30.09, 27.20),
    ("9-1-5(ImageNet)", 3, 32.52, None),
    ("9-3-5(ImageNet)", 3, 32.66, None),
    ("9-5-5(ImageNet)", 2, 36.66, 32.45),
    ("9-5-5(ImageNet)", 3, 32.75, 29.30),
    ("9-5-5(ImageNet)", 4, 30.49, 27.50),
]
def _id(folder, scale, dataset):  # "9-5-5(ImageNet)", 3, "Set5" -> 9-5-5-ImageNet-x3-Set5
    arch, data = folder[:-1].split("(")
    return f"{arch}-{data.replace(' ', '')}-x{scale}-{dataset}"


CASES = [
    pytest.param(folder, scale, dataset, value, id=_id(folder, scale, dataset))
    for folder, scale, set5, set14 in MODELS
    for dataset, value in (("Set5", set5), ("Set14", set14))
    if value is not None
]
# Bicubic under the same protocol (the README's baseline row), x2 / x3 / x4
BICUBIC = [("Set5", 2, 33.66), ("Set5", 3, 30.39), ("Set5", 4, 28.42),
           ("Set14", 2, 30.23), ("Set14", 3, 27.54), ("Set14", 4, 26.00)]


@pytest.mark.parametrize("folder, scale, dataset, published", CASES)
def test_authors_weights_reproduce_published_psnr(datasets, ref_weights, folder, scale, dataset, published):
    model = load_model(ref_weights / folder / f"x{scale}.npz", scale)
    result = evaluate_dataset(model, datasets / dataset, scale, with_ssim=False)
    assert abs(result["srcnn_psnr"] - published) <= 0.02, result["srcnn_psnr"]
    assert result["srcnn_psnr"] > result["bicubic_psnr"] + 1.0


@pytest.mark.parametrize("dataset, scale, published", BICUBIC, ids=[f"{d}-x{s}" for d, s, _ in BICUBIC])
def test_bicubic_baseline_reproduces_published_psnr(datasets, dataset, scale, published):
    result = evaluate_dataset(None, datasets / dataset, scale)
    assert abs(result["bicubic_psnr"] - published) <= 0.01, result["bicubic_psnr"]
    assert 0.5 < result["bicubic_ssim"] < 1
    assert set(result) == {"bicubic_psnr", "bicubic_ssim", "per_image"}
    n = {"Set5": 5, "Set14": 14}[dataset]
    assert len(result["per_image"]) == n
    assert result["bicubic_psnr"] == pytest.approx(np.mean([r["bicubic_psnr"] for r in result["per_image"]]))


class _Identity:
    """A stand-in network that returns its input: SRCNN's numbers must then equal bicubic's."""

    scale, arch = 3, "identity"

    def predict(self, x, padding="replicate"):
        assert x.dtype == np.float32 and padding == "replicate"
        return x.copy()


def test_evaluate_y_protocol_with_a_stand_in_model():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 256, (40, 50), dtype=np.uint8)
    r = evaluate_y(_Identity(), y, 3)
    assert set(r) == set(KEYS)
    assert r["srcnn_psnr"] == r["bicubic_psnr"] and r["srcnn_ssim"] == r["bicubic_ssim"]
    assert evaluate_y(None, y, 3).keys() == {"bicubic_psnr", "bicubic_ssim"}
    with pytest.raises(ValueError):
        evaluate_y(None, y[:16], 3)  # nothing left to measure after shave and the SSIM window


@pytest.fixture(scope="module")
def small_set(tmp_path_factory, datasets):
    """Two 60x72 crops of Set5 images (one RGB, one made grayscale): a fast dataset for the CLI tests."""
    folder = tmp_path_factory.mktemp("small")
    for name in ("bird_GT.bmp", "head_GT.bmp"):
        img = np.asarray(Image.open(datasets / "Set5" / name))[40:100, 40:112]
        if name.startswith("head"):
            img = img[..., 1]
        Image.fromarray(np.ascontiguousarray(img)).save(folder / name.replace(".bmp", ".png"))
    return folder


def _run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err



def test_cli_json(capsys, ref_weights, small_set):
    weights = ref_weights / "9-1-5(91 images)" / "x3.npz"
    rc, out, _ = _run(capsys, "--weights", weights, "--dataset", small_set, "--scale", 3, "--json")
    assert rc == 0
    result = json.loads(out)  # stdout is the JSON object and nothing else
    assert set(KEYS) | {"per_image"} <= set(result)
    assert [r["image"] for r in result["per_image"]] == ["bird_GT", "head_GT"]
    assert all(set(r) == set(KEYS) | {"image"} for r in result["per_image"])
    for k in KEYS:
        assert result[k] == pytest.approx(np.mean([r[k] for r in result["per_image"]]), abs=1e-12)
    direct = evaluate_dataset(load_model(weights, 3), small_set, 3)
    assert result["srcnn_psnr"] == pytest.approx(direct["srcnn_psnr"], abs=1e-12)


def test_cli_table(capsys, ref_weights, small_set):
    rc, out, _ = _run(capsys, "--weights", ref_weights / "9-1-5(91 images)" / "x3.npz", "--dataset", small_set,
                      "--scale", 3)
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].startswith("evaluate: ") and "arch=9-1-5" in lines[0] and "scale=3" in lines[0]
    assert "bicubic PSNR" in lines[1] and "SRCNN SSIM" in lines[1]
    assert [l.split()[0] for l in lines[2:]] == ["bird_GT", "head_GT", "mean"]


def test_format_table():
    result = {"bicubic_psnr": 30.0, "bicubic_ssim": 0.5,
              "per_image": [{"image": "a", "bicubic_psnr": 29.0, "bicubic_ssim": 0.4},
                            {"image": "b", "bicubic_psnr": 31.0, "bicubic_ssim": 0.6}]}
    table = format_table(result).splitlines()
    assert table[0].split() == ["image", "bicubic", "PSNR", "bicubic", "SSIM"]
    assert table[3].split() == ["mean", "30.0000", "0.5000"]


def test_cli_missing_weights(capsys, tmp_path, small_set):
    rc, _, err = _run(capsys, "--weights", tmp_path / "nope.npz", "--dataset", small_set, "--scale", 3)
    assert_one_line_error(rc, err, "not found")


def test_cli_wrong_scale(capsys, ref_weights, small_set):
    rc, _, err = _run(capsys, "--weights", ref_weights / "9-5-5(ImageNet)" / "x3.npz", "--dataset", small_set,
                      "--scale", 2)
    assert_one_line_error(rc, err, "are for x3")


def test_cli_missing_dataset(capsys, ref_weights, tmp_path):
    rc, _, err = _run(capsys, "--weights", ref_weights / "9-1-5(91 images)" / "x3.npz", "--dataset",
                      tmp_path / "nope", "--scale", 3)
    assert_one_line_error(rc, err, "not found")


def test_cli_bad_weights_files(capsys, tmp_path, small_set):
    bad = tmp_path / "x3.npz"
    bad.write_bytes(b"not an npz")
    rc, _, err = _run(capsys, "--weights", bad, "--dataset", small_set, "--scale", 3)
    assert rc == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    other = tmp_path / "w.pt"
    other.write_bytes(b"")
    rc, _, err = _run(capsys, "--weights", other, "--dataset", small_set, "--scale", 3)
    assert_one_line_error(rc, err, "expected our .h5 or the authors' .npz")


def test_cli_empty_dataset(capsys, ref_weights, tmp_path):
    rc, _, err = _run(capsys, "--weights", ref_weights / "9-1-5(91 images)" / "x3.npz", "--dataset", tmp_path,
                      "--scale", 3)
    assert_one_line_error(rc, err, "no images")


def test_cli_our_hdf5_weights(capsys, tmp_path, small_set):
    from npsrcnn.model.srcnn import SRCNN

    path = tmp_path / "srcnn.h5"
    SRCNN(scale=2, seed=1).save(path)
    rc, out, _ = _run(capsys, "--weights", path, "--dataset", small_set, "--scale", 2, "--json")
    assert rc == 0 and json.loads(out)["scale"] == 2
    rc, _, err = _run(capsys, "--weights", path, "--dataset", small_set, "--scale", 3)
    assert_one_line_error(rc, err, "trained for x2")
    path.write_bytes(b"not hdf5")
    rc, _, err = _run(capsys, "--weights", path, "--dataset", small_set, "--scale", 2)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def _two_images(folder):
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (30, 33), dtype=np.uint8)).save(folder / f"im{i}.png")
    return folder


def test_cli_dataset_that_is_a_file(capsys, tmp_path):
    img = _two_images(tmp_path) / "im0.png"
    rc, _, err = _run(capsys, "--dataset", img, "--scale", 3)
    assert_one_line_error(rc, err, f"--dataset {img} is a file, not a folder; pass the folder of images ({tmp_path})")


@pytest.mark.parametrize("flag", [[], ["--no-progress"]])
def test_cli_progress_bar_unless_no_progress(capsys, tmp_path, flag):
    rc, out, err = _run(capsys, "--dataset", _two_images(tmp_path), "--scale", 3, *flag)
    assert rc == 0 and out.splitlines()[-1].startswith("mean ")
    assert ("evaluate:   0%" in err and "| 0/2 [" in err) == (not flag), err


def test_out_of_memory_names_the_largest_image(tmp_path, monkeypatch, capsys):
    import npsrcnn.evaluate as command

    for name, size in (("a.png", (40, 30)), ("b.png", (50, 60)), ("c.png", (45, 45))):
        Image.new("L", size).save(tmp_path / name)

    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(command, "evaluate_dataset", no_memory)
    rc = command.main(["--dataset", str(tmp_path), "--scale", "3", "--json"])
    assert_one_line_error(rc, capsys.readouterr().err, "b.png: not enough memory for evaluating this 50x60 image")
