"""Geometric self-ensemble (model/ensemble.py): the 8 transforms, equivariance, bands, the two commands' --ensemble."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from npsrcnn import evaluate as eval_cli
from npsrcnn import upscale as up_cli
from npsrcnn.image.io import read_image
from npsrcnn.model import upscaling
from npsrcnn.model.batch import Settings, run_jobs
from npsrcnn.model.ensemble import TRANSFORMS, SelfEnsemble, inverse, transform
from npsrcnn.model.pretrained import load_weights
from npsrcnn.model.srcnn import SRCNN

# The dihedral group written out by hand, independently of transform(): (forward, back) on (H, W) arrays.
BY_HAND = [
    (lambda a: a, lambda a: a),
    (lambda a: np.rot90(a, 1), lambda a: np.rot90(a, 3)),
    (lambda a: np.rot90(a, 2), lambda a: np.rot90(a, 2)),
    (lambda a: np.rot90(a, 3), lambda a: np.rot90(a, 1)),
    (lambda a: a[:, ::-1], lambda a: a[:, ::-1]),
    (lambda a: a[::-1, :], lambda a: a[::-1, :]),
    (lambda a: a.T, lambda a: a.T),
    (lambda a: a[::-1, ::-1].T, lambda a: a[::-1, ::-1].T),
]


@pytest.fixture(scope="module")
def x3():
    return load_weights("x3", 3)[0]


def _ramp(H, W, seed=0):
    """A smooth image with texture, in [0, 1] float32: nothing symmetric about it."""
    rng = np.random.default_rng(seed)
    i, j = np.mgrid[:H, :W]
    img = 0.5 + 0.3 * np.sin(i / 3.0 + j / 5.0) * np.cos(j / 4.0) + 0.1 * rng.random((H, W))
    return np.clip(img, 0, 1).astype(np.float32)


@pytest.mark.parametrize("t", TRANSFORMS)
def test_each_inverse_undoes_its_transform(t):
    x = np.arange(2 * 1 * 3 * 5).reshape(2, 1, 3, 5)
    assert np.array_equal(inverse(transform(x, t), t), x)
    assert np.array_equal(transform(inverse(x, t), t), x)
    assert transform(x, t).shape == ((2, 1, 3, 5) if t % 2 == 0 else (2, 1, 5, 3))


def test_the_8_transforms_are_the_dihedral_group():
    """Eight different images of a square with no symmetry; any two composed are one of the eight."""
    x = np.arange(16).reshape(4, 4)
    images = [transform(x, t).tobytes() for t in TRANSFORMS]
    assert len(set(images)) == 8
    assert {np.ascontiguousarray(f(x)).tobytes() for f, _ in BY_HAND} == set(images)
    for a in TRANSFORMS:
        for b in TRANSFORMS:
            assert np.ascontiguousarray(transform(transform(x, a), b)).tobytes() in images
    with pytest.raises(ValueError):
        transform(x, 8)


def test_an_equivariant_network_is_its_own_ensemble():
    """Kernels averaged over the 8 transforms make every layer (and replicate padding) commute with them."""
    model = SRCNN(9, 5, 5, n1=8, n2=4, seed=1)
    rng = np.random.default_rng(2)
    for k in ("w1", "w2", "w3"):
        w = rng.normal(0, 0.1, model.params[k].shape)
        model.params[k][...] = np.mean([transform(w, t) for t in TRANSFORMS], axis=0)
    model.params["b1"][...] = 0.05
    x = _ramp(23, 31)
    plain = model.predict(x)
    assert np.abs(plain - x).max() > 1e-2  # the network does something
    for t in TRANSFORMS:  # the construction is what the test claims
        assert np.allclose(inverse(model.predict(np.ascontiguousarray(transform(x, t))), t), plain, atol=1e-6)
    np.testing.assert_allclose(SelfEnsemble(model).predict(x), plain, atol=1e-6)


def test_shipped_network_ensemble_is_the_mean_of_the_8_predictions(x3, padding="replicate"):
    x = _ramp(26, 19)
    want = np.mean([back(x3.predict(np.ascontiguousarray(fwd(x)), padding=padding)).astype(np.float64)
                    for fwd, back in BY_HAND], axis=0)
    got = SelfEnsemble(x3).predict(x, padding=padding)
    assert got.dtype == np.float32 and got.shape == x.shape
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert np.abs(got - x3.predict(x, padding=padding)).max() > 1e-4  # not equivariant, so it differs
    batch = SelfEnsemble(x3).predict(np.stack([x, x[::-1]])[:, None], padding=padding)
    assert batch.shape == (2, 1, 26, 19)
    np.testing.assert_allclose(batch[0, 0], got, atol=1e-6)


def test_ensemble_passes_the_network_through(x3):
    e = SelfEnsemble(x3)
    assert (e.arch, e.border, e.scale) == (x3.arch, x3.border, x3.scale)
    with pytest.raises(ValueError):
        e.predict(np.zeros((2, 3, 8, 8), np.float32))


def test_bands_give_the_whole_image_ensemble(x3):
    """Context rows survive a flip or rotation of the band, so bands == whole image to float32 rounding."""
    y = _ramp(10, 11, seed=4)
    e = SelfEnsemble(x3)
    whole = e.predict(upscaling.Upscaler(e, 3).bicubic_rows(y, 0, 30))
    up = upscaling.Upscaler(e, 3, band_rows=12)  # 3 bands: 12, 12 and 6 rows, each with 8 rows of context
    bands = np.concatenate([up.sr_rows(y, a, b) for a, b in up.bands(30)])
    assert bands.shape == whole.shape == (30, 33)
    np.testing.assert_allclose(bands, whole, atol=1e-6)


def _photo(shape=(14, 17, 3), seed=5):
    return (_ramp(*shape[:2], seed=seed)[..., None] * np.array([255, 200, 150][:shape[2]])).astype(np.uint8)


def test_upscale_image_ensemble(x3):
    img = _photo()
    plain = upscaling.upscale_image(img, scale=3, weights=x3)
    ens = upscaling.upscale_image(img, scale=3, weights=x3, ensemble=True)
    assert ens.shape == plain.shape == (42, 51, 3) and ens.dtype == np.uint8
    assert (ens != plain).any()
    assert np.array_equal(ens, upscaling.upscale_array(img, SelfEnsemble(x3), 3))


def test_cli_upscale_ensemble_and_the_workers_path(tmp_path, capsys):
    src = tmp_path / "in.png"
    Image.fromarray(_photo()).save(src)
    argv = [str(src), "--scale", "3", "--no-progress"]
    assert up_cli.main(argv + ["-o", str(tmp_path / "plain.png")]) == 0
    assert up_cli.main(argv + ["-o", str(tmp_path / "ens.png"), "--ensemble"]) == 0
    assert "self-ensemble" in capsys.readouterr().err
    plain, ens = read_image(tmp_path / "plain.png"), read_image(tmp_path / "ens.png")
    assert ens.shape == plain.shape and (ens != plain).any()
    # --workers / --dask send Settings to each worker; run_jobs with one worker runs the same code here and
    # leaves this process's thread settings alone (Numba refuses to compile once NUMBA_NUM_THREADS
    # disagrees with its running pool: a later test then fails, as a fresh-clone run showed)
    before = {k: os.environ.get(k) for k in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    (r,) = run_jobs([(src, tmp_path / "job.png")], Settings(weights="x3", scale=3, ensemble=True))
    assert {k: os.environ.get(k) for k in before} == before
    assert r[-1] is None and np.array_equal(read_image(tmp_path / "job.png"), ens)


@pytest.fixture(scope="module")
def set5_crops(tmp_path_factory, datasets):
    """A 60x60 crop of each Set5 image: the evaluate test in a second."""
    folder = tmp_path_factory.mktemp("set5crops")
    for path in sorted((datasets / "Set5").glob("*.bmp")):
        img = np.asarray(Image.open(path))
        H, W = img.shape[:2]
        Image.fromarray(np.ascontiguousarray(img[H // 2 - 30:H // 2 + 30, W // 2 - 30:W // 2 + 30])).save(
            folder / f"{path.stem}.png")
    return folder


def test_cli_evaluate_ensemble(set5_crops, capsys):
    argv = ["--dataset", str(set5_crops), "--scale", "3", "--json"]
    assert eval_cli.main(argv) == 0
    plain = json.loads(capsys.readouterr().out)
    assert eval_cli.main(argv + ["--ensemble"]) == 0
    ens = json.loads(capsys.readouterr().out)
    assert plain["ensemble"] is False and ens["ensemble"] is True
    assert ens["bicubic_psnr"] == plain["bicubic_psnr"]
    assert ens["srcnn_psnr"] >= plain["srcnn_psnr"] and ens["srcnn_psnr"] != plain["srcnn_psnr"]
    assert eval_cli.main(argv[:-1] + ["--ensemble", "--no-progress"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "ensemble=8" in lines[0] and "SRCNN+ PSNR" in lines[1] and "SRCNN+ SSIM" in lines[1]
