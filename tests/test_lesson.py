"""The lesson's readable path: its identities, float64 gradient checks, the reference network against the
engine's SRCNN.loss_and_grads (the engine's layers are held to the lesson's in test_layers.py)."""
import numpy as np
import pytest
from gradcheck import numerical_grad, numerical_vjp, rel_error

from npsrcnn import lesson
from npsrcnn.model.srcnn import NAMES, SRCNN
from npsrcnn.training.optim import SGD

PADDINGS = ["valid", "zero", "replicate"]
# (N, C, H, W, F, K): K = 1, K = H, F > C, F < C, N = 1, F = 1 (SRCNN's last layer); and a 4x2 kernel
CONV_SHAPES = [(2, 3, 6, 5, 4, 3), (1, 1, 5, 5, 2, 5), (2, 4, 5, 6, 2, 1), (1, 5, 7, 6, 1, 3)]


def rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def conv_case(shape, seed=0):
    N, Cin, H, W, F, K = shape
    return rand((N, Cin, H, W), seed), rand((F, Cin, K, K), seed + 1), rand(F, seed + 2)


# ------------------------------------------------------------------------------------------ convolution


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("shape", CONV_SHAPES)
def test_im2col_forward_equals_the_naive_loop(shape, padding):
    x, w, b = conv_case(shape)
    out, _ = lesson.conv2d_forward(x, w, b, padding)
    np.testing.assert_allclose(out, lesson.conv2d_forward_naive(x, w, b, padding), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("KH, KW", [(3, 3), (4, 2), (1, 1)])
def test_col2im_is_the_adjoint_of_im2col(KH, KW):
    xp = rand((2, 3, 6, 5), 1)
    cols = lesson.im2col(xp, KH, KW)
    c = rand(cols.shape, 2)
    assert cols.shape == (3 * KH * KW, 2 * (6 - KH + 1) * (5 - KW + 1))
    assert np.vdot(cols, c) == pytest.approx(np.vdot(xp, lesson.col2im(c, xp.shape, KH, KW)), rel=1e-12)


@pytest.mark.parametrize("shape", CONV_SHAPES)
def test_dx_three_ways_agree(shape):
    """W^T GEMM + col2im, the scatter-add loop and the full correlation with flipped kernels."""
    x, w, b = conv_case(shape)
    out, cache = lesson.conv2d_forward(x, w, b, "zero")
    dout = rand(out.shape, 5)
    xp_shape = cache[3]
    F = w.shape[0]
    via_col2im = lesson.col2im(w.reshape(F, -1).T @ dout.transpose(1, 0, 2, 3).reshape(F, -1), xp_shape,
                               *w.shape[2:])
    np.testing.assert_allclose(lesson.dx_scatter(dout, w, xp_shape), via_col2im, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(lesson.dx_full_correlation(dout, w), via_col2im, rtol=1e-12, atol=1e-12)
    dx, _, _ = lesson.conv2d_backward(dout, cache)
    np.testing.assert_allclose(dx, lesson.unpad_grad(via_col2im, *x.shape[2:], *w.shape[2:], "zero"), rtol=1e-12)


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("KH, KW", [(3, 3), (5, 4), (1, 1)])
def test_unpad_grad_is_the_adjoint_of_pad(padding, KH, KW):
    x = rand((2, 2, 4, 5), 1)
    xp = lesson.pad(x, KH, KW, padding)
    d = rand(xp.shape, 2)
    assert np.vdot(xp, d) == pytest.approx(np.vdot(x, lesson.unpad_grad(d, 4, 5, KH, KW, padding)), rel=1e-12)


def test_replicate_folds_the_pad_onto_the_edge():
    """3x3 kernel, 3x3 image: each corner pixel was copied 4 times, each edge pixel twice."""
    dx = lesson.unpad_grad(np.ones((1, 1, 5, 5)), 3, 3, 3, 3, "replicate")
    np.testing.assert_array_equal(dx[0, 0], [[4, 2, 4], [2, 1, 2], [4, 2, 4]])
    np.testing.assert_array_equal(lesson.unpad_grad(np.ones((1, 1, 5, 5)), 3, 3, 3, 3, "zero")[0, 0], np.ones((3, 3)))


@pytest.mark.parametrize("padding", PADDINGS)
def test_conv_gradcheck(padding):
    x, w, b = conv_case((2, 2, 5, 4, 3, 3), 1)
    out, cache = lesson.conv2d_forward(x, w, b, padding)
    dout = rand(out.shape, 4)
    fwd = lambda: lesson.conv2d_forward(x, w, b, padding)[0]  # noqa: E731
    for got, wrt in zip(lesson.conv2d_backward(dout, cache), (x, w, b)):
        assert rel_error(got, numerical_vjp(fwd, wrt, dout)) < 1e-7


# ---------------------------------------------------------------------------------------- ReLU and loss


def test_relu_mask_and_gradient_at_zero():
    x = np.array([-2.0, 0.0, 3.0])
    a, mask = lesson.relu_forward(x)
    np.testing.assert_array_equal(a, [0, 0, 3])
    np.testing.assert_array_equal(lesson.relu_backward(np.ones(3), mask), [0, 0, 1])


def test_relu_gradcheck_off_the_kink():
    x = rand((2, 3, 4), 1)
    x[np.abs(x) < 1e-3] = 0.5
    dout = rand(x.shape, 2)
    num = numerical_vjp(lambda: lesson.relu_forward(x)[0], x, dout)
    assert rel_error(lesson.relu_backward(dout, lesson.relu_forward(x)[1]), num) < 1e-8


@pytest.mark.parametrize("reduction", ["caffe", "mean", "sum"])
def test_mse_gradcheck(reduction):
    pred, y = rand((3, 1, 4, 4), 1), rand((3, 1, 4, 4), 2)
    _, d = lesson.mse_loss(pred, y, reduction)
    assert rel_error(d, numerical_grad(lambda: lesson.mse_loss(pred, y, reduction)[0], pred)) < 1e-8


def test_caffe_gradient_is_220_5_times_the_mean_on_21x21():
    pred, y = rand((4, 1, 21, 21), 1), rand((4, 1, 21, 21), 2)
    np.testing.assert_allclose(lesson.mse_loss(pred, y)[1] / lesson.mse_loss(pred, y, "mean")[1], 21 * 21 / 2)


# -------------------------------------------------------------------------------------------- network


def small_model(f, dtype=np.float64, seed=0):
    m = SRCNN(*f, n1=4, n2=3, seed=seed)
    rng = np.random.default_rng(seed)
    m.params = {k: (rng.standard_normal(v.shape) * 0.3).astype(dtype) for k, v in m.params.items()}
    return m


@pytest.mark.parametrize("reduction", ["caffe", "mean"])
@pytest.mark.parametrize("f", [(3, 1, 3), (5, 3, 3)])
def test_reference_network_equals_the_engine(f, reduction):
    m = small_model(f)
    rng = np.random.default_rng(1)
    x = rng.random((3, 1, 12, 11))
    y = rng.random((3, 1, 12 - 2 * m.border, 11 - 2 * m.border))
    loss, grads = lesson.srcnn_loss_and_grads(m.params, x, y, reduction)
    fast_loss, fast = m.loss_and_grads(x, y, reduction)
    assert fast_loss == pytest.approx(loss, rel=1e-12)
    for k in NAMES:
        np.testing.assert_allclose(fast[k], grads[k], rtol=1e-10, atol=1e-13 * np.abs(grads[k]).max(), err_msg=k)


def test_reference_network_gradcheck():
    m = small_model((3, 1, 3), seed=2)
    rng = np.random.default_rng(3)
    x, y = rng.random((2, 1, 8, 7)), rng.random((2, 1, 4, 3))
    _, grads = lesson.srcnn_loss_and_grads(m.params, x, y)
    for k in NAMES:
        num = numerical_grad(lambda: lesson.srcnn_loss_and_grads(m.params, x, y)[0], m.params[k])
        assert rel_error(grads[k], num) < 1e-6, k


@pytest.mark.parametrize("padding", ["replicate", "zero"])
def test_reference_forward_equals_predict(padding):
    m = small_model((5, 1, 3), dtype=np.float32)
    x = np.random.default_rng(4).random((1, 1, 13, 10), np.float32)
    out, _ = lesson.srcnn_forward({k: v.astype(np.float64) for k, v in m.params.items()}, x, padding)
    np.testing.assert_allclose(m.predict(x, padding), out, rtol=1e-4, atol=1e-5)


# -------------------------------------------------------------------------------------------------- SGD


def test_sgd_caffe_and_pytorch_forms_agree():
    """With a fixed rate, Caffe's velocity is -lr times PyTorch's buffer, so the weights match."""
    rng = np.random.default_rng(0)
    w_c = w_t = rng.standard_normal(5)
    v, buf = np.zeros(5), np.zeros(5)
    for _ in range(20):
        g = rng.standard_normal(5)
        w_c, v = lesson.sgd_momentum_caffe(w_c, v, g, 0.01, 0.9)
        w_t, buf = lesson.sgd_momentum_pytorch(w_t, buf, g, 0.01, 0.9)
    np.testing.assert_allclose(w_c, w_t, rtol=1e-12)
    np.testing.assert_allclose(v, -0.01 * buf, rtol=1e-12)


def test_sgd_optimizer_is_the_caffe_form_and_steps_lr_over_one_minus_m():
    p = {"w": np.zeros(3)}
    opt = SGD(p, {"w": 0.1}, momentum=0.9)
    w, v = np.zeros(3), np.zeros(3)
    for _ in range(200):
        opt.step({"w": np.ones(3)})
        w, v = lesson.sgd_momentum_caffe(w, v, np.ones(3), 0.1, 0.9)
    np.testing.assert_allclose(p["w"], w, rtol=1e-12)
    np.testing.assert_allclose(v, -0.1 / (1 - 0.9), rtol=1e-8)  # constant gradient: step -> lr / (1 - m)


@pytest.mark.parametrize("K, widths", [(1, (0, 0, 0, 0)), (3, (1, 1, 1, 1)), (4, (1, 2, 1, 2)), (5, (2, 2, 2, 2))])
def test_pad_widths_keep_the_size_with_the_extra_row_below(K, widths):
    assert lesson.pad_widths(K, K, "zero") == lesson.pad_widths(K, K, "replicate") == widths
    assert lesson.pad_widths(K, K, "valid") == (0, 0, 0, 0)
    x, w, b = conv_case((1, 2, 6, 7, 3, K))
    assert lesson.conv2d_forward(x, w, b, "zero")[0].shape == (1, 3, 6, 7)
    with pytest.raises(ValueError, match="padding must be one of"):
        lesson.pad_widths(K, K, "reflect")
