"""SRCNN: whole-network gradients, strip-wise predict, HDF5 round trip, the authors' released weights."""
import json
import sys
import threading

import h5py
import numba
import numpy as np
import pytest
import references as refs
from gradcheck import numerical_grad, rel_error

from npsrcnn import engine
from npsrcnn import engine as L
from npsrcnn.model import srcnn as model_module
from npsrcnn.model.srcnn import NAMES, SRCNN
from npsrcnn.util.errors import UserError

RELEASED = ["9-1-5(91 images)/x2", "9-1-5(91 images)/x3", "9-1-5(91 images)/x4", "9-1-5(ImageNet)/x3",
            "9-3-5(ImageNet)/x3", "9-5-5(ImageNet)/x2", "9-5-5(ImageNet)/x3", "9-5-5(ImageNet)/x4"]


def random_model(f=(3, 3, 3), n1=4, n2=3, seed=0, std=0.3, dtype=np.float32):
    m = SRCNN(*f, n1=n1, n2=n2, seed=seed)
    rng = np.random.default_rng(seed)
    m.params = {k: (rng.standard_normal(v.shape) * std).astype(dtype) for k, v in m.params.items()}
    return m


def reference_forward(m, x, padding):
    """conv -> ReLU -> conv -> ReLU -> conv with the readable NumPy reference layers, in float64."""
    h = x.astype(np.float64)
    for i in (1, 2, 3):
        w, b = m.params[f"w{i}"].astype(np.float64), m.params[f"b{i}"].astype(np.float64)
        h = refs.conv2d_forward_reference(h, w, b, padding)
        h = np.maximum(h, 0) if i < 3 else h
    return h


def test_defaults_and_architecture():
    m = SRCNN()
    assert m.arch == "9-1-5" and m.border == 6 and m.scale is None
    shapes = {k: v.shape for k, v in m.params.items()}
    assert shapes == dict(w1=(64, 1, 9, 9), b1=(64,), w2=(32, 64, 1, 1), b2=(32,), w3=(1, 32, 5, 5), b3=(1,))
    assert all(v.dtype == np.float32 for v in m.params.values())
    assert 0.9e-3 < m.params["w1"].std() < 1.1e-3 and not m.params["b1"].any()
    assert SRCNN(9, 5, 5).border == 8
    np.testing.assert_array_equal(SRCNN(seed=3).params["w1"], SRCNN(seed=3).params["w1"])


def test_even_kernel_is_refused():
    with pytest.raises(ValueError, match="odd"):
        SRCNN(f2=2)


@pytest.mark.parametrize("reduction", ["caffe", "mean"])
@pytest.mark.parametrize("f", [(3, 1, 3), (3, 3, 3)])
def test_network_gradcheck(f, reduction):
    """Gradient of the whole network's loss wrt every entry of every parameter, float64."""
    m = random_model(f, dtype=np.float64)
    rng = np.random.default_rng(1)
    x = rng.random((2, 1, 9, 8))
    y = rng.random((2, 1, 9 - 2 * m.border, 8 - 2 * m.border))
    loss, grads = m.loss_and_grads(x, y, reduction)
    assert set(grads) == set(NAMES)
    for k in NAMES:
        assert grads[k].shape == m.params[k].shape
        num = numerical_grad(lambda: m.loss_and_grads(x, y, reduction)[0], m.params[k])
        assert rel_error(grads[k], num) < 1e-6, k


@pytest.mark.parametrize("reduction", ["caffe", "mean", "sum"])
def test_micro_batches_sum_to_the_whole_batch(reduction):
    """loss_and_grads runs sub-batches and sums their gradients; the result is the whole batch's."""
    m = random_model((3, 3, 3), dtype=np.float64)
    rng = np.random.default_rng(7)
    x, y = rng.random((7, 1, 10, 9)), rng.random((7, 1, 4, 3))
    m.MICRO_BATCH = 1000
    whole_loss, whole = m.loss_and_grads(x, y, reduction)
    m.MICRO_BATCH = 3  # 3 + 3 + 1
    loss, grads = m.loss_and_grads(x, y, reduction)
    assert loss == pytest.approx(whole_loss, rel=1e-12)
    for k in NAMES:
        np.testing.assert_allclose(grads[k], whole[k], rtol=1e-10, atol=1e-14)


def test_loss_and_grads_shapes_and_validation():
    m = SRCNN()
    x = np.random.default_rng(0).random((3, 1, 33, 33), np.float32)
    loss, grads = m.loss_and_grads(x, x[:, :, 6:-6, 6:-6])
    assert np.isfinite(loss) and grads["w1"].dtype == np.float32
    with pytest.raises(ValueError, match=r"y must have shape \(3, 1, 21, 21\)"):
        m.loss_and_grads(x, x)


@pytest.mark.parametrize("padding", ["replicate", "zero", "valid"])
@pytest.mark.parametrize("f", [(9, 1, 5), (9, 5, 5), (3, 3, 3)])
def test_predict_matches_reference_layers(f, padding):
    m = random_model(f, n1=8, n2=4)
    x = np.random.default_rng(2).random((2, 1, 23, 19), np.float32)
    out = m.predict(x, padding)
    t = 0 if padding != "valid" else 2 * m.border
    assert out.shape == (2, 1, 23 - t, 19 - t) and out.dtype == np.float32
    np.testing.assert_allclose(out, reference_forward(m, x, padding), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("padding", ["replicate", "zero", "valid"])
@pytest.mark.parametrize("f", [(9, 1, 5), (9, 5, 5)])
@pytest.mark.parametrize("strip_rows", [1, 4, 11])
def test_strips_equal_whole_image(f, padding, strip_rows):
    """Strip-wise predict equals whole-image predict: each layer pads its own edge rows at the image's
    top and bottom and uses real halo rows between strips. Equal up to float32 rounding: BLAS may pick
    a different kernel (summation order) for a different matrix width."""
    m = random_model(f, n1=8, n2=4)
    x = np.random.default_rng(3).random((1, 1, 30, 17), np.float32)
    whole = m.predict(x, padding, strip_rows=10**6)
    strips = m.predict(x, padding, strip_rows=strip_rows)
    np.testing.assert_allclose(strips, whole, rtol=1e-5, atol=1e-5 * np.abs(whole).max())


@pytest.mark.parametrize("method", ["winograd2", "winograd4"])
@pytest.mark.parametrize("padding", ["replicate", "zero"])
def test_winograd_strips_equal_im2col_whole_image(method, padding, monkeypatch):
    """9-5-5's layer 2 through Winograd on strips (each pads only at the image's own edges) gives the
    im2col result on the whole image, up to float32 rounding."""
    m = random_model((9, 5, 5), n1=16, n2=8, std=0.1)
    x = np.random.default_rng(6).random((1, 1, 31, 26), np.float32)
    monkeypatch.setenv("NPSRCNN_CONV_METHOD", "im2col")
    whole = m.predict(x, padding, strip_rows=10**6)
    monkeypatch.setenv("NPSRCNN_CONV_METHOD", method)
    strips = m.predict(x, padding, strip_rows=7)
    np.testing.assert_allclose(strips, whole, rtol=1e-5, atol=1e-5 * np.abs(whole).max())


@pytest.mark.parametrize("layer3", ["auto", "im2col"])
@pytest.mark.parametrize("padding", ["replicate", "zero", "valid"])
def test_fused_layers_equal_one_layer_after_the_other(padding, layer3, monkeypatch):
    """9-1-5 inference runs layers 1 and 2 (and layer 3's taps GEMM, when layer 3 is a taps layer: "auto";
    "im2col" forces the other path) together on runs of FUSE_ROWS rows: runs of 1, 3 and more rows
    than a strip give what the layers one after the other give, to float32 rounding (GEMMs of other
    shapes), on strips that touch both image edges and on strips with halo rows."""
    m = random_model((9, 1, 5), n1=16, n2=8, std=0.1)
    x = np.random.default_rng(7).random((2, 1, 29, 23), np.float32)
    monkeypatch.setenv("NPSRCNN_CONV_METHOD", layer3)
    monkeypatch.setattr(model_module, "FUSE_ROWS", 0)
    apart = m.predict(x, padding, strip_rows=9)
    for rows in (1, 3, 100):
        monkeypatch.setattr(model_module, "FUSE_ROWS", rows)
        fused = m.predict(x, padding, strip_rows=9)
        np.testing.assert_allclose(fused, apart, rtol=1e-5, atol=1e-5 * np.abs(apart).max())
    assert np.abs(apart).max() > 0.1 and fused.shape == apart.shape


def test_predict_keeps_its_buffers_between_calls():
    """predict's scratch buffers stay in the model (a set per thread): a second image of the same size
    allocates nothing, and a smaller image after a larger one reads only what it wrote. One thread, so
    that every strip runs here (with two, which worker gets which strip varies)."""
    m = random_model((9, 1, 5), n1=16, n2=8, std=0.1)
    rng = np.random.default_rng(8)
    big, small = rng.random((90, 70), np.float32), rng.random((30, 41), np.float32)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        m.predict(big)
        ws = m._workspaces[("predict", threading.get_ident())]
        held = {name: id(buf) for name, buf in ws._bufs.items()}
        m.predict(big[::-1].copy())
        assert held and {name: id(buf) for name, buf in ws._bufs.items()} == held
        got = m.predict(small)
    finally:
        numba.set_num_threads(threads)
    fresh = random_model((9, 1, 5), n1=16, n2=8, std=0.1)
    np.testing.assert_allclose(got, fresh.predict(small), rtol=1e-6, atol=1e-6)


def test_predict_2d_keeps_rank():
    m = SRCNN()
    img = np.random.default_rng(4).random((40, 30))
    out = m.predict(img)
    assert out.shape == (40, 30) and out.dtype == np.float32
    np.testing.assert_array_equal(out, m.predict(img[None, None])[0, 0])


@pytest.mark.parametrize("f", [(9, 1, 5), (9, 5, 5)])
def test_predict_memory_is_bounded(monkeypatch, f):
    """Scaled down: with 1 MB strips and 1 MB unfold chunks, no buffer outgrows its budget."""
    m = random_model(f, n1=64, n2=32, std=0.05)
    big = np.random.default_rng(5).random((120, 97), np.float32)
    whole = m.predict(big, strip_rows=10**6)
    monkeypatch.setattr(model_module, "STRIP_BYTES", 2**20)
    monkeypatch.setattr(engine.workspace, "CHUNK_BYTES", 2**20)  # >= one row of the 1,600-row 9-5-5 unfold
    requested = []
    real_get = L.Workspace.get
    monkeypatch.setattr(L.Workspace, "get", lambda self, name, shape, dtype, zero=False: requested.append(
        (name, 4 * int(np.prod(shape)))) or real_get(self, name, shape, dtype, zero))
    out = m.predict(big)
    unfolds = [b for n, b in requested if n.endswith((".cols", ".T", ".R", ".V", ".M"))]  # im2col, taps, Winograd
    activations = [b for n, b in requested if n.endswith(".out")]
    assert unfolds and max(unfolds) <= 2**20
    assert sum(sorted(activations)[-2:]) <= 2 * 2**20  # a1 + a2 of one strip (halo rows included)
    np.testing.assert_allclose(out, whole, rtol=1e-5, atol=1e-5 * np.abs(whole).max())


def test_predict_rejects_bad_input():
    m = SRCNN()
    with pytest.raises(ValueError, match="shape"):
        m.predict(np.zeros((1, 3, 10, 10)))
    with pytest.raises(ValueError, match="too small"):
        m.predict(np.zeros((10, 10)), "valid")


# ------------------------------------------------------------------------------------------------ files


def test_save_load_round_trip(tmp_path):
    m = random_model((9, 5, 5), n1=8, n2=4)
    m.scale = 3
    cfg = {"lr": 1e-4, "batch": 128, "reduction": "caffe"}
    m.save(tmp_path / "m.h5", config=cfg)
    back = SRCNN.load(tmp_path / "m.h5")
    assert back.arch == "9-5-5" and back.scale == 3 and back.config == cfg and back.n1 == 8
    for k in NAMES:
        np.testing.assert_array_equal(back.params[k], m.params[k])
    with h5py.File(tmp_path / "m.h5", "r") as f:
        assert json.loads(f.attrs["config"]) == cfg and f.attrs["arch"] == "9-5-5"
    SRCNN(scale=None).save(tmp_path / "n.h5")
    assert SRCNN.load(tmp_path / "n.h5").scale is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.h5", "n.h5"]  # no temporary left behind


def corrupt(path, how):
    SRCNN(3, 1, 3, n1=4, n2=2).save(path)
    with h5py.File(path, "a") as f:
        if how == "missing":
            del f["b2"]
        elif how == "shape":
            del f["w2"]
            f["w2"] = np.zeros((2, 5, 1, 1), np.float32)
        elif how == "arch":
            f.attrs["arch"] = "9-1-5"
        elif how == "nan":
            f["w1"][0, 0, 0, 0] = np.nan
        elif how == "format":
            del f.attrs["format"]


@pytest.mark.parametrize("how, message", [("missing", "lacks the array"), ("shape", "w2 has shape"),
                                          ("arch", "the file says 9-1-5"), ("nan", "finite"),
                                          ("format", "not an npsrcnn SRCNN model")])
def test_malformed_model_file_raises_user_error(tmp_path, how, message):
    corrupt(tmp_path / "bad.h5", how)
    with pytest.raises(UserError, match=message):
        SRCNN.load(tmp_path / "bad.h5")


def test_not_a_model_file(tmp_path):
    (tmp_path / "junk.h5").write_bytes(b"this is not hdf5")
    with pytest.raises(UserError, match="not a readable HDF5 file"):
        SRCNN.load(tmp_path / "junk.h5")
    with pytest.raises(UserError, match="no such model file"):
        SRCNN.load(tmp_path / "missing.h5")


@pytest.mark.parametrize("name", RELEASED)
def test_from_npz_loads_released_models(ref_weights, name):
    m = SRCNN.from_npz(ref_weights / f"{name}.npz")
    arch = name.split("(")[0]
    assert m.arch == arch and m.scale == int(name[-1]) and (m.n1, m.n2) == (64, 32)
    assert all(v.dtype == np.float32 and v.flags.c_contiguous for v in m.params.values())
    yy, xx = np.mgrid[:24, :21]
    img = (0.5 + 0.3 * np.sin(xx / 5) * np.cos(yy / 7)).astype(np.float32)  # smooth, as an upscaled image
    out = m.predict(img)
    assert out.shape == img.shape and np.isfinite(out).all()
    assert np.abs(out - img).mean() < 0.02  # a trained net leaves a smooth image almost unchanged


def test_from_npz_scale_argument_and_name(ref_weights, tmp_path):
    src = ref_weights / "9-1-5(91 images)" / "x2.npz"
    assert SRCNN.from_npz(src, scale=4).scale == 4
    (tmp_path / "weights.npz").write_bytes(src.read_bytes())
    assert SRCNN.from_npz(tmp_path / "weights.npz").scale is None


@pytest.mark.parametrize("how, message", [("missing", "lacks the array"), ("shape", "w3 has shape"),
                                          ("pickle", "pickled"), ("npy", "expected an .npz"),
                                          ("junk", "not a readable .npz")])
def test_malformed_npz_raises_user_error(tmp_path, how, message):
    arrays = {k: v.astype(np.float64) for k, v in SRCNN(3, 1, 3, n1=4, n2=2).params.items()}
    path = tmp_path / "x3.npz"
    if how == "missing":
        del arrays["w1"]
    elif how == "shape":
        arrays["w3"] = np.zeros((1, 3, 3, 3))
    elif how == "pickle":
        arrays["w1"] = np.array([{"evil": 1}], dtype=object)
    if how == "npy":
        np.save(tmp_path / "x3.npy", arrays["w1"])
        path = tmp_path / "x3.npy"
    elif how == "junk":
        path.write_bytes(b"PK not a zip")
    else:
        np.savez(path, **arrays)
    with pytest.raises(UserError, match=message):
        SRCNN.from_npz(path)


# ------------------------------------------------------------------------------- the authors' .mat files


@pytest.mark.parametrize("name", RELEASED)
def test_mat_gives_the_same_network_as_npz(ref_weights, name):
    """The released .mat read directly equals the reference .npz made from it, bit for bit, before and after loading."""
    pytest.importorskip("scipy")
    from scipy.io import loadmat

    arrays = model_module.mat_to_arrays(loadmat(ref_weights / f"{name}.mat"), name)
    with np.load(ref_weights / f"{name}.npz") as npz:
        assert sorted(arrays) == sorted(npz.files)
        for k in NAMES:
            assert arrays[k].dtype == np.float64 and arrays[k].shape == npz[k].shape
            np.testing.assert_array_equal(arrays[k], npz[k], err_msg=k)
    a, b = SRCNN.from_mat(ref_weights / f"{name}.mat"), SRCNN.from_npz(ref_weights / f"{name}.npz")
    assert a.arch == b.arch == name.split("(")[0] and a.scale == b.scale == int(name[-1])
    for k in NAMES:
        np.testing.assert_array_equal(a.params[k], b.params[k], err_msg=k)


def matlab_layout(m):
    """The variables SRCNN.m reads, written out tap by tap from the weights' README: W1[dy + f1*dx, o] ..."""
    p = {k: v.astype(np.float64) for k, v in m.params.items()}
    (f1, f2, f3), n1, n2 = m.f, m.n1, m.n2
    W1, W2, W3 = np.zeros((f1 * f1, n1)), np.zeros((n1, f2 * f2, n2)), np.zeros((n2, f3 * f3))
    for dy in range(f1):
        for dx in range(f1):
            W1[dy + f1 * dx, :] = p["w1"][:, 0, dy, dx]
    for dy in range(f2):
        for dx in range(f2):
            W2[:, dy + f2 * dx, :] = p["w2"][:, :, dy, dx].T
    for dy in range(f3):
        for dx in range(f3):
            W3[:, dy + f3 * dx] = p["w3"][0, :, dy, dx]
    return dict(weights_conv1=W1, weights_conv2=W2, weights_conv3=W3,
                **{f"biases_conv{i}": p[f"b{i}"][:, None] for i in (1, 2, 3)})


@pytest.mark.parametrize("f", [(9, 1, 5), (9, 3, 5), (5, 3, 3)])
def test_from_mat_undoes_matlab_column_major_layout(tmp_path, f):
    scipy_io = pytest.importorskip("scipy.io")
    m = random_model(f, n1=6, n2=4)
    scipy_io.savemat(tmp_path / "x4.mat", matlab_layout(m))
    back = SRCNN.from_mat(tmp_path / "x4.mat")
    assert back.arch == m.arch and back.scale == 4 and SRCNN.from_mat(tmp_path / "x4.mat", scale=2).scale == 2
    for k in NAMES:
        np.testing.assert_array_equal(back.params[k], m.params[k], err_msg=k)


@pytest.mark.parametrize("how, message", [("missing", "no variable(s) biases_conv2"),
                                          ("square", "weights_conv1 holds 80 taps per filter, not a square"),
                                          ("rank", "weights_conv1/2/3 of shapes"),
                                          ("junk", "not a readable MATLAB .mat file"),
                                          ("absent", "no such weights file")])
def test_malformed_mat_raises_user_error(tmp_path, how, message):
    scipy_io = pytest.importorskip("scipy.io")
    mat = matlab_layout(random_model((3, 1, 3)))
    path = tmp_path / "x3.mat"
    if how == "missing":
        del mat["biases_conv2"]
    elif how == "square":
        mat["weights_conv1"] = np.zeros((80, 4))
    elif how == "rank":
        mat["weights_conv3"] = np.zeros((3, 9, 1, 2))
    if how == "junk":
        path.write_bytes(b"MATLAB 5.0 MAT-file, but not really")
    elif how != "absent":
        scipy_io.savemat(path, mat)
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SRCNN.from_mat(path)


def test_from_mat_without_scipy_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.io", None)  # `from scipy.io import ...` raises ImportError
    with pytest.raises(UserError, match=r'needs SciPy: pip install "npsrcnn\[mat\]"'):
        SRCNN.from_mat(tmp_path / "x3.mat")
