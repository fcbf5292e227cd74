"""The grader for exercises/backprop.py (or the file named by NPSRCNN_EXERCISES).

Each gradient is checked against float64 centred differences, and col2im / unpad_grad against their
adjoint identities, never against the lesson's own backward functions.
"""
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from npsrcnn import lesson
from npsrcnn.lesson import numerical_grad, numerical_vjp, rel_error

PATH = Path(os.environ.get("NPSRCNN_EXERCISES", Path(__file__).with_name("backprop.py")))


def load():
    spec = importlib.util.spec_from_file_location("student_backprop", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ex = load()


def rand(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


def test_1_mse_grad():
    pred, y = rand((3, 1, 4, 4), 0), rand((3, 1, 4, 4), 1)
    num = numerical_grad(lambda: float(((pred - y) ** 2).sum() / (2 * 3)), pred)
    assert rel_error(ex.mse_grad(pred, y), num) < 1e-7


def test_2_relu_backward():
    z = rand((2, 3, 4), 2)
    z[np.abs(z) < 1e-3] = 0.5  # keep the check off the corner at 0
    da = rand(z.shape, 3)
    num = numerical_vjp(lambda: np.maximum(z, 0), z, da)
    assert rel_error(ex.relu_backward(da, z > 0), num) < 1e-7
    assert np.array_equal(ex.relu_backward(np.ones(3), np.array([-1.0, 0.0, 1.0]) > 0), [0, 0, 1])


@pytest.mark.parametrize("KH, KW", [(3, 3), (2, 4), (1, 1)])
def test_3_col2im_is_the_adjoint_of_im2col(KH, KW):
    xp = rand((2, 3, 5, 6), 4)
    c = rand(lesson.im2col(xp, KH, KW).shape, 5)
    assert np.isclose(np.vdot(lesson.im2col(xp, KH, KW), c), np.vdot(xp, ex.col2im_by_hand(c, xp.shape, KH, KW)))


def conv_check(backward, padding):
    x, w, b = rand((2, 3, 6, 5), 6), rand((4, 3, 3, 3), 7), rand(4, 8)
    out, cache = lesson.conv2d_forward(x, w, b, padding)
    dout = rand(out.shape, 9)
    fwd = lambda: lesson.conv2d_forward(x, w, b, padding)[0]  # noqa: E731
    for name, got, wrt in zip(("dx", "dw", "db"), backward(dout, cache), (x, w, b)):
        assert got.shape == wrt.shape, name
        assert rel_error(got, numerical_vjp(fwd, wrt, dout)) < 1e-7, name


def test_4_conv2d_backward_valid():
    conv_check(ex.conv2d_backward, "valid")


@pytest.mark.parametrize("padding", ["valid", "zero", "replicate"])
def test_5_unpad_grad(padding):
    x = rand((2, 2, 4, 5), 10)
    d = rand(lesson.pad(x, 3, 4, padding).shape, 11)
    got = ex.unpad_grad(d, 4, 5, 3, 4, padding)
    assert got.shape == x.shape
    assert np.isclose(np.vdot(lesson.pad(x, 3, 4, padding), d), np.vdot(x, got))  # pad's adjoint


def test_6_dx_full_correlation():
    x, w, b = rand((2, 3, 6, 5), 12), rand((4, 3, 3, 2), 13), rand(4, 14)
    out, _ = lesson.conv2d_forward(x, w, b)
    dout = rand(out.shape, 15)
    num = numerical_vjp(lambda: lesson.conv2d_forward(x, w, b)[0], x, dout)
    assert rel_error(ex.dx_full_correlation(dout, w), num) < 1e-7


def test_7_srcnn_backward():
    rng = np.random.default_rng(16)
    shapes = dict(w1=(4, 1, 3, 3), b1=(4,), w2=(3, 4, 1, 1), b2=(3,), w3=(1, 3, 3, 3), b3=(1,))
    p = {k: rng.normal(0, 0.3, s) for k, s in shapes.items()}
    x, y = rng.random((2, 1, 8, 7)), rng.random((2, 1, 4, 3))

    def loss():
        out, _ = lesson.srcnn_forward(p, x)
        return float(((out - y) ** 2).sum() / 4)

    out, caches = lesson.srcnn_forward(p, x)
    grads = ex.srcnn_backward((out - y) / 2, caches)
    for k in shapes:
        assert rel_error(grads[k], numerical_grad(loss, p[k])) < 1e-6, k


def test_8_sgd_momentum_caffe():
    w, v = np.zeros(3), np.zeros(3)
    for _ in range(3):
        w, v = ex.sgd_momentum_caffe(w, v, np.ones(3), 0.1, 0.9)
    np.testing.assert_allclose(v, -0.1 * (1 + 0.9 + 0.81))
    np.testing.assert_allclose(w, -0.1 * (1 + 1.9 + 2.71))
