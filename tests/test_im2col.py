"""The im2col / col2im / tap kernels against their NumPy references, and their adjoint identities."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from npsrcnn.engine import taps, unfold

# (C, N, H, W, KH, KW): K=1, K=H (kernel as large as the image), odd sizes, N=1
SHAPES = [(2, 3, 7, 6, 3, 3), (1, 1, 5, 5, 5, 5), (3, 2, 6, 7, 1, 1), (2, 1, 5, 9, 5, 3), (1, 2, 4, 4, 4, 4)]
PADDINGS = ["valid", "zero", "replicate"]


def geometry(H, W, KH, KW, padding):
    """Output size and read offsets for a whole image ('same' size for the padded modes)."""
    if padding == "valid":
        return H - KH + 1, W - KW + 1, 0, 0
    return H, W, -((KH - 1) // 2), -((KW - 1) // 2)


def rand(shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("shape", SHAPES)
def test_im2col_matches_reference(shape, padding):
    C, N, H, W, KH, KW = shape
    Ho, Wo, ro, co = geometry(H, W, KH, KW, padding)
    x = rand((C, N, H, W))
    cols = unfold.im2col(x, KH, KW, Ho, Wo, ro, co, padding == "replicate")
    ref = unfold.im2col_reference(x, KH, KW, Ho, Wo, ro, co, padding == "replicate")
    np.testing.assert_array_equal(cols, ref)


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("shape", SHAPES)
def test_col2im_matches_reference_and_is_the_adjoint(shape, padding):
    C, N, H, W, KH, KW = shape
    Ho, Wo, ro, co = geometry(H, W, KH, KW, padding)
    rep = padding == "replicate"
    cols = rand((C * KH * KW, N, Ho, Wo), 1, np.float64)
    dx = unfold.col2im(cols, KH, KW, ro, co, rep, np.zeros((C, N, H, W)))
    np.testing.assert_allclose(dx, unfold.col2im_reference(cols, KH, KW, H, W, ro, co, rep), rtol=1e-12, atol=1e-12)
    x = rand((C, N, H, W), 2, np.float64)  # <im2col(x), cols> == <x, col2im(cols)>
    np.testing.assert_allclose(np.vdot(unfold.im2col(x, KH, KW, Ho, Wo, ro, co, rep), cols), np.vdot(x, dx), rtol=1e-12)


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("F", [1, 2])
@pytest.mark.parametrize("shape", SHAPES)
def test_tap_sum_and_spread_match_references(shape, F, padding):
    C, N, H, W, KH, KW = shape
    Ho, Wo, ro, co = geometry(H, W, KH, KW, padding)
    rep = padding == "replicate"
    T = rand((F * KH * KW, N, H, W), 3, np.float64)
    out = taps.tap_sum(T, KH, KW, ro, co, rep, np.empty((F, N, Ho, Wo)))
    np.testing.assert_allclose(out, taps.tap_sum_reference(T, KH, KW, Ho, Wo, ro, co, rep), rtol=1e-12, atol=1e-12)
    dout = rand((F, N, Ho, Wo), 4, np.float64)
    dT = taps.tap_spread(dout, KH, KW, ro, co, rep, np.zeros_like(T))
    np.testing.assert_allclose(dT, taps.tap_spread_reference(dout, KH, KW, H, W, ro, co, rep), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.vdot(out, dout), np.vdot(T, dT), rtol=1e-12)  # adjoint pair


@pytest.mark.parametrize("padding", ["zero", "replicate"])
def test_row_and_image_chunks_reassemble_the_whole(padding):
    """Kernels called on blocks of images / runs of rows give the same bytes as one whole call."""
    C, N, H, W, K = 2, 3, 9, 8, 3
    rep = padding == "replicate"
    x = rand((C, N, H, W), 5)
    whole = unfold.im2col(x, K, K, H, W, -1, -1, rep)
    top = unfold.im2col(x, K, K, 4, W, -1, -1, rep, n0=1, Nb=2)  # rows 0..3 of images 1, 2
    rest = unfold.im2col(x, K, K, H - 4, W, 4 - 1, -1, rep, n0=1, Nb=2)  # rows 4..8
    np.testing.assert_array_equal(np.concatenate([top, rest], axis=2), whole[:, 1:])
    T = rand((K * K, N, H, W), 6)
    full = taps.tap_sum(T, K, K, -1, -1, rep, np.empty((1, N, H, W), np.float32))
    part = np.full((1, N, H, W), np.nan, np.float32)
    taps.tap_sum(T[:, :, 2:8], K, K, 3 - 1 - 2, -1, rep, part, r0=3, nrows=4)  # rows 3..6 read T rows 2..7
    np.testing.assert_array_equal(part[:, :, 3:7], full[:, :, 3:7])
    assert np.isnan(part[:, :, :3]).all() and np.isnan(part[:, :, 7:]).all()


def test_wrong_buffer_is_refused():
    x = rand((1, 1, 5, 5))
    with pytest.raises(ValueError, match="C-contiguous float32 array of shape"):
        unfold.im2col(x, 3, 3, 3, 3, 0, 0, False, out=np.empty((9, 1, 3, 4), np.float32))


def test_kernels_as_plain_python_under_numba_disable_jit():
    """The kernels' Python semantics (what NUMBA_DISABLE_JIT=1 runs) agree with the references too."""
    script = textwrap.dedent(
        """
        import numpy as np
        from npsrcnn import engine as L, lesson
        from npsrcnn.engine import taps, unfold
        from npsrcnn.training import optim
        rng = np.random.default_rng(0)
        for rep, (ro, Ho) in [(False, (0, 3)), (False, (-1, 5)), (True, (-1, 5))]:
            x = rng.standard_normal((2, 2, 5, 4))
            Wo = 4 if ro else 2
            cols = unfold.im2col(x, 3, 3, Ho, Wo, ro, ro, rep)
            assert np.array_equal(cols, unfold.im2col_reference(x, 3, 3, Ho, Wo, ro, ro, rep))
            assert np.allclose(unfold.col2im(cols, 3, 3, ro, ro, rep, np.zeros_like(x)),
                               unfold.col2im_reference(cols, 3, 3, 5, 4, ro, ro, rep))
            T = rng.standard_normal((9, 2, 5, 4))
            out = taps.tap_sum(T, 3, 3, ro, ro, rep, np.empty((1, 2, Ho, Wo)))
            assert np.allclose(out, taps.tap_sum_reference(T, 3, 3, Ho, Wo, ro, ro, rep))
            assert np.allclose(taps.tap_spread(out, 3, 3, ro, ro, rep, np.zeros_like(T)),
                               taps.tap_spread_reference(out, 3, 3, 5, 4, ro, ro, rep))
        x = rng.standard_normal((2, 3, 6, 5)); w = rng.standard_normal((4, 3, 3, 3)); b = rng.standard_normal(4)
        for pad in ("valid", "zero", "replicate"):
            out, cache = L.conv2d_forward(x, w, b, pad)
            assert np.allclose(out, lesson.conv2d_forward(x, w, b, pad)[0])
            dout = rng.standard_normal(out.shape)
            for got, want in zip(L.conv2d_backward(dout, cache), lesson.conv2d_backward(dout, lesson.conv2d_forward(x, w, 0 * b, pad)[1])):
                assert np.allclose(got, want)
        r, cache = L.relu_forward(x)
        assert np.array_equal(r, np.maximum(x, 0))
        assert np.array_equal(L.relu_backward(x, cache), x * (x > 0))
        loss, d = L.mse_loss(x, 0 * x)
        assert np.isclose(loss, lesson.mse_loss(x, 0 * x)[0])
        p, v, g = rng.standard_normal(5), np.zeros(5), rng.standard_normal(5)
        want = optim.sgd_reference(p, v, g, 0.1, 0.9)
        optim._sgd_kernel(p, v, g, 0.1, 0.9)
        assert np.allclose(p, want[0]) and np.allclose(v, want[1])
        print("python-mode kernels ok")
        """
    )
    repo = Path(__file__).resolve().parents[1]
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", PYTHONPATH=str(repo))
    res = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "python-mode kernels ok" in res.stdout
