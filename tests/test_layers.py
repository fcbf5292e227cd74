"""conv2d, ReLU and MSE: the engine against the lesson's readable references, and float64 gradient checks."""
import numpy as np
import pytest
import references as refs
from gradcheck import numerical_grad, numerical_vjp, rel_error

from npsrcnn import engine as L
from npsrcnn import lesson
from npsrcnn.model import composed
from npsrcnn.model.srcnn import SRCNN

PADDINGS = ["valid", "zero", "replicate"]
# (N, C, H, W, F, K): K=1, K=H, odd sizes, N=1, F=1 (SRCNN's last layer), F > C and F < C, several rows
# of Winograd tiles with a partial last one
CONV_SHAPES = [(2, 3, 7, 6, 4, 3), (1, 1, 5, 5, 2, 5), (3, 4, 6, 7, 2, 1), (2, 2, 5, 4, 1, 3), (1, 6, 9, 8, 1, 5),
               (3, 2, 12, 13, 3, 5)]


def rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("method", ["auto", "im2col", "taps", "winograd2", "winograd4"])
@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("shape", CONV_SHAPES)
def test_conv_matches_reference(shape, padding, method):
    N, C, H, W, F, K = shape
    x, w, b = rand((N, C, H, W), 1), rand((F, C, K, K), 2), rand(F, 3)
    out, cache = L.conv2d_forward(x, w, b, padding, method)
    ref = refs.conv2d_forward_reference(x, w, b, padding)
    assert out.shape == ref.shape == ((N, F, H, W) if padding != "valid" else (N, F, H - K + 1, W - K + 1))
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    dout = rand(out.shape, 4)
    for got, want in zip(L.conv2d_backward(dout, cache), refs.conv2d_backward_reference(dout, x, w, padding)):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)


def test_references_are_the_lessons():
    """The engine is held to the readable path the walkthrough teaches, not to a third version."""
    x, w, b = rand((1, 2, 5, 5), 1), rand((2, 2, 3, 3), 2), rand(2, 3)
    np.testing.assert_array_equal(refs.conv2d_forward_reference(x, w, b, "zero"), lesson.conv2d_forward(x, w, b, "zero")[0])
    assert refs.relu_reference is lesson.relu_forward


@pytest.mark.parametrize("padding", PADDINGS)
def test_conv_float32(padding):
    x, w, b = rand((2, 3, 8, 7), 1), rand((4, 3, 3, 3), 2), rand(4, 3)
    out, cache = L.conv2d_forward(x.astype(np.float32), w, b, padding)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, refs.conv2d_forward_reference(x, w, b, padding), rtol=1e-4, atol=1e-4)
    dx, dw, db = L.conv2d_backward(np.ones(out.shape, np.float32), cache)
    assert dx.dtype == dw.dtype == db.dtype == np.float32


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("method, K", [("im2col", 3), ("taps", 3), ("winograd2", 3), ("winograd2", 5), ("winograd4", 5)])
def test_conv_gradcheck(padding, method, K):
    """dx, dw, db of conv2d against centred differences of sum(out * dout)."""
    x, w, b = rand((2, 2, 5, 6), 1), rand((3, 2, K, K), 2), rand(3, 3)
    fwd = lambda: L.conv2d_forward(x, w, b, padding, method)[0]  # noqa: E731
    out, cache = L.conv2d_forward(x, w, b, padding, method)
    dout = rand(out.shape, 4)
    dx, dw, db = L.conv2d_backward(dout, cache)
    assert rel_error(dx, numerical_vjp(fwd, x, dout)) < 1e-6
    assert rel_error(dw, numerical_vjp(fwd, w, dout)) < 1e-6
    assert rel_error(db, numerical_vjp(fwd, b, dout)) < 1e-6


def test_conv_backward_can_skip_dx():
    x, w, b = rand((2, 1, 6, 6), 1), rand((3, 1, 3, 3), 2), rand(3, 3)
    out, cache = L.conv2d_forward(x, w, b)
    dx, dw, db = L.conv2d_backward(np.ones_like(out), cache, need_dx=False)
    assert dx is None
    np.testing.assert_allclose(dw, refs.conv2d_backward_reference(np.ones_like(out), x, w)[1], rtol=1e-12)


@pytest.mark.parametrize("method", ["im2col", "taps"])
@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("chunk_bytes", [1, 700, 5000])  # one row, a few rows, whole images
def test_chunked_conv_equals_whole(padding, method, chunk_bytes):
    """Chunks of images or of rows (bounded buffers) give the same result as one big GEMM."""
    x, w, b = L.to_cm(rand((3, 4, 9, 7), 1)), rand((2, 4, 3, 3), 2), rand(2, 3)
    whole, c1 = L.conv_forward_cm(x, w, b, padding, method, relu=True)
    part, c2 = L.conv_forward_cm(x, w, b, padding, method, relu=True, chunk_bytes=chunk_bytes)
    np.testing.assert_allclose(part, whole, rtol=1e-12, atol=1e-12)
    dout = rand(whole.shape, 4)
    for got, want in zip(L.conv_backward_cm(dout.copy(), c2), L.conv_backward_cm(dout.copy(), c1)):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("method", ["auto", "im2col", "taps", "winograd2", "winograd4"])
@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("K", [1, 5])
def test_conv_on_some_images_of_a_batch_reads_and_writes_them_where_they_are(K, padding, method):
    """``images=(n0, nb)`` (the public functions' sub-batches): the same as on a copy of those images,
    and no other image of out, dx or the given gradient is touched."""
    N, n0, nb = 5, 1, 3
    x, w, b = L.to_cm(rand((N, 4, 9, 8), 1)), rand((3, 4, K, K), 2), rand(3, 3)
    sub = np.ascontiguousarray(x[:, n0 : n0 + nb])
    want, wc = L.conv_forward_cm(sub, w, b, padding, method, relu=True)
    out = np.full((3, N) + want.shape[2:], np.nan)
    got, gc = L.conv_forward_cm(x, w, b, padding, method, relu=True, images=(n0, nb), out=out)
    assert got is out and gc["method"] == wc["method"]
    np.testing.assert_allclose(out[:, n0 : n0 + nb], want, rtol=1e-12, atol=1e-12)
    others = [n for n in range(N) if not n0 <= n < n0 + nb]
    assert np.isnan(out[:, others]).all()
    dout = rand(out.shape, 4)
    before = dout.copy()
    masked, dx = np.full_like(dout, np.nan), np.full(x.shape, np.nan)
    gdx, gdw, gdb = L.conv_backward_cm(dout, gc, dx=dx, masked=masked)
    wdx, wdw, wdb = L.conv_backward_cm(np.ascontiguousarray(dout[:, n0 : n0 + nb]), wc)
    assert gdx is dx and np.array_equal(dout, before)
    np.testing.assert_allclose(dx[:, n0 : n0 + nb], wdx, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(gdw, wdw, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(gdb, wdb, rtol=1e-11, atol=1e-11)
    assert np.isnan(dx[:, others]).all() and np.isnan(masked[:, others]).all()
    with pytest.raises(ValueError, match="not a run of the 5 images"):
        L.conv_forward_cm(x, w, b, padding, method, images=(3, 3), out=out)


@pytest.mark.parametrize("padding", PADDINGS)
def test_conv2d_with_relu_is_conv_then_relu_and_leaves_dout_alone(padding):
    x, w, b = rand((3, 2, 7, 6), 1), rand((4, 2, 3, 3), 2), rand(4, 3)
    a, cache = L.conv2d_forward(x, w, b, padding, relu=True)
    z, zc = L.conv2d_forward(x, w, b, padding)
    r, rc = L.relu_forward(z)
    np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)
    assert (a == 0).any() and (a > 0).any()  # some units off, some on
    dout = rand(a.shape, 4)
    before = dout.copy()
    got = L.conv2d_backward(dout, cache)
    assert np.array_equal(dout, before)
    for g, want in zip(got, L.conv2d_backward(L.relu_backward(dout, rc), zc)):
        np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-12)
    fwd = lambda: L.conv2d_forward(x, w, b, padding, relu=True)[0]  # noqa: E731
    assert rel_error(got[1], numerical_vjp(fwd, w, dout)) < 1e-6
    assert rel_error(got[0], numerical_vjp(fwd, x, dout)) < 1e-6


def test_public_conv_reuses_the_scratch_of_dropped_caches_only():
    """A cache's workspace (im2col columns, kept for the backward) goes to the next call of the same
    shape once the caller drops the cache, never while it is alive; outputs are always new arrays."""
    from npsrcnn.engine import conv

    x, w, b = rand((2, 3, 9, 9), 1), rand((4, 3, 3, 3), 2), rand(4, 3)
    conv.release_workspaces()
    out1, c1 = L.conv2d_forward(x, w, b, method="im2col")
    out2, c2 = L.conv2d_forward(x, w, b, method="im2col")
    assert c1["ws"] is not c2["ws"] and c1["ws"].nbytes() > 0
    ws1, before = c1["ws"], out1.copy()
    del c1
    out3, c3 = L.conv2d_forward(2 * x, w, b, method="im2col")
    assert c3["ws"] is ws1 and not np.shares_memory(out3, out1)
    np.testing.assert_array_equal(out1, before)  # the caller's output is not the workspace's
    dout = rand(out2.shape, 4)
    for got, want in zip(L.conv2d_backward(dout, c2), refs.conv2d_backward_reference(dout, x, w)):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)
    del c2, c3
    assert conv.release_workspaces() >= 2 * ws1.nbytes()


def test_output_memory_comes_back_only_when_no_view_of_it_is_left():
    """conv2d_forward's out and conv2d_backward's dx live in memory lent_empty() reuses: never while
    any array made from it (the NCHW view, a slice) is alive."""
    from npsrcnn.engine import conv

    conv.release_workspaces()
    shape = (2, 3, 256, 256)  # 1.5 MB: arrays under LEND_MIN_BYTES are plain np.empty
    a = conv.lent_empty(shape, np.float32)  # also relu_forward/backward's and mse_loss's arrays
    assert a.shape == shape and a.dtype == np.float32 and a.flags.c_contiguous and a.flags.writeable
    addr = a.__array_interface__["data"][0]
    view = a.transpose(1, 0, 2, 3)[1:]
    del a
    b = conv.lent_empty((3, 2, 256, 256), np.float32)  # same size, while a view of the first is alive
    assert b.__array_interface__["data"][0] != addr
    del view
    c = conv.lent_empty((2 * 3 * 256 * 256,), np.float32)
    assert c.__array_interface__["data"][0] == addr
    assert conv.lent_empty((2, 3, 4, 5), np.float32).base is None  # small: not lent
    x, w, bias = rand((2, 3, 260, 260), 1), rand((4, 3, 3, 3), 2), rand(4, 3)  # a 4 MB output
    out, cache = L.conv2d_forward(x, w, bias)
    keep = out[0].copy()
    first = out[:1]  # a slice keeps the whole output's memory
    del out, cache
    L.conv2d_forward(2 * x, w, bias)
    np.testing.assert_array_equal(first[0], keep)


def test_spares_keep_a_bounded_number_per_key_and_of_keys():
    from npsrcnn.engine.workspace import Spares

    s = Spares(2, keys=3)
    for i in range(3):
        s.give("a", i)
    assert sorted([s.take("a"), s.take("a")]) == [0, 1] and s.take("a") is None  # the third was not kept
    for key in "bcde":
        s.give(key, key)
    s.give("c", "c2")  # c given again: f below pushes out d (b went with e), not c
    s.give("f", "f")
    assert s.take("b") is None and s.take("d") is None and s.take("c") == "c2" and s.take("f") == "f"
    assert s.clear(lambda item: 10) == 20  # c's first and e's are left


def test_fused_relu_matches_conv_then_relu():
    x, w, b = rand((2, 3, 6, 6), 1), rand((4, 3, 3, 3), 2), rand(4, 3)
    fused, cache = L.conv_forward_cm(L.to_cm(x), w, b, "zero", relu=True)
    z, zc = L.conv2d_forward(x, w, b, "zero")
    a, rc = L.relu_forward(z)
    np.testing.assert_allclose(L.to_cm(fused), a, rtol=1e-12)
    dout = rand(a.shape, 4)
    dx, dw, db = L.conv2d_backward(L.relu_backward(dout, rc), zc)
    dx2, dw2, db2 = L.conv_backward_cm(L.to_cm(dout), cache)
    np.testing.assert_allclose(L.to_cm(dx2), dx, rtol=1e-12)
    np.testing.assert_allclose(dw2, dw, rtol=1e-12)
    np.testing.assert_allclose(db2, db, rtol=1e-12)


@pytest.mark.parametrize("fuse_relu", [True, False])
@pytest.mark.parametrize("f", [(9, 1, 5), (9, 5, 5)])
def test_step_composed_from_public_ops_equals_model(f, fuse_relu):
    """conv2d_forward/backward, relu and mse_loss chained by hand give SRCNN.loss_and_grads' gradients
    (float32; the sums run in other orders, so equal up to rounding), ReLUs fused or separate ops."""
    model = SRCNN(*f, seed=1)
    model.params = {k: v + np.float32(0.01) * (k[0] == "b") for k, v in model.params.items()}  # some ReLUs off
    rng = np.random.default_rng(0)
    x = rng.random((40, 1, 33, 33), np.float32)  # the paper's patches: 9-5-5's layer 2 runs Winograd
    y = rng.random((40, 1, 33 - 2 * model.border, 33 - 2 * model.border), np.float32)
    loss, grads = composed.srcnn_loss_and_grads(model.params, x, y, fuse_relu=fuse_relu)
    want_loss, want = model.loss_and_grads(x, y)
    assert loss == pytest.approx(want_loss, rel=1e-5)
    for k in want:
        assert grads[k].dtype == np.float32
        np.testing.assert_allclose(grads[k], want[k], rtol=1e-4, atol=1e-4 * np.abs(want[k]).max(), err_msg=k)


def test_dx_of_one_input_channel_is_the_scatter_not_the_full_correlation():
    """With C = 1 the 'full' correlation would unfold F*K*K rows of dout; the cost rule takes col2im."""
    x, w, b = rand((2, 1, 12, 12), 1), rand((8, 1, 5, 5), 2), rand(8, 3)
    out, cache = L.conv2d_forward(x, w, b, "valid", "im2col")
    dout = rand(out.shape, 4)
    names = []
    real = L.Workspace.get
    cache["ws"].get = lambda name, *a, **k: names.append(name) or real(cache["ws"], name, *a, **k)
    dx = L.conv2d_backward(dout, cache)[0]
    assert any(n.endswith(".dcols") for n in names) and not any(n.endswith(".dzcols") for n in names)
    np.testing.assert_allclose(dx, refs.conv2d_backward_reference(dout, x, w)[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bad", ["same", "reflect"])
def test_conv_rejects_unknown_padding(bad):
    with pytest.raises(ValueError, match="padding must be one of"):
        L.conv2d_forward(rand((1, 1, 5, 5)), rand((1, 1, 3, 3)), rand(1), bad)


def test_conv_rejects_mismatched_weights():
    with pytest.raises(ValueError, match="do not fit x"):
        L.conv2d_forward(rand((1, 2, 5, 5)), rand((1, 3, 3, 3)), rand(1))


# ------------------------------------------------------------------------------------------------ ReLU


@pytest.mark.parametrize("shape", [(7,), (2, 3, 4, 5), (1, 1, 1, 1)])
def test_relu_matches_reference(shape):
    x = rand(shape, 1)
    out, cache = L.relu_forward(x)
    ref, mask = refs.relu_reference(x)
    np.testing.assert_array_equal(out, ref)
    dout = rand(shape, 2)
    np.testing.assert_array_equal(L.relu_backward(dout, cache), dout * mask)


def test_relu_gradient_at_zero_is_zero():
    x = np.array([-1.0, 0.0, 0.0, 2.0])
    out, cache = L.relu_forward(x)
    np.testing.assert_array_equal(L.relu_backward(np.ones(4), cache), [0, 0, 0, 1])


def test_relu_gradcheck():
    x = rand((2, 3, 4, 4), 1)
    x[np.abs(x) < 1e-3] = 0.5  # keep centred differences off the kink
    dout = rand(x.shape, 2)
    _, cache = L.relu_forward(x)
    num = numerical_vjp(lambda: L.relu_forward(x)[0], x, dout)
    assert rel_error(L.relu_backward(dout, cache), num) < 1e-6


# ------------------------------------------------------------------------------------------------- MSE


@pytest.mark.parametrize("reduction", ["caffe", "mean", "sum"])
def test_mse_matches_reference_and_gradcheck(reduction):
    pred, target = rand((4, 1, 5, 5), 1), rand((4, 1, 5, 5), 2)
    loss, dpred = L.mse_loss(pred, target, reduction)
    ref_loss, ref_d = refs.mse_reference(pred, target, reduction)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(dpred, ref_d, rtol=1e-12)
    num = numerical_grad(lambda: L.mse_loss(pred, target, reduction)[0], pred)
    assert rel_error(dpred, num) < 1e-6


def test_mse_caffe_convention():
    """Caffe EuclideanLoss: SSE / (2 N); the per-pixel mean is 21*21/2 = 220.5 times smaller on 21x21."""
    pred, target = np.ones((128, 1, 21, 21), np.float32), np.zeros((128, 1, 21, 21), np.float32)
    caffe, dc = L.mse_loss(pred, target)
    mean, dm = L.mse_loss(pred, target, "mean")
    assert caffe == pytest.approx(21 * 21 / 2)
    assert mean == pytest.approx(1.0)
    assert dc.dtype == np.float32
    np.testing.assert_allclose(dc / dm, 220.5, rtol=1e-6)


def test_mse_rejects_bad_input():
    with pytest.raises(ValueError, match="reduction must be one of"):
        L.mse_loss(np.zeros((1, 2)), np.zeros((1, 2)), "avg")
    with pytest.raises(ValueError, match="same shape"):
        L.mse_loss(np.zeros((1, 2)), np.zeros((1, 3)))
