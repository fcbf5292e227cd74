"""Winograd F(2x2) and F(4x4): the transform matrices, each kernel against its NumPy twin and as the
adjoint of its pair, float32 error against float64, chunks and blocks, PyTorch, and the choice of
method. The strategies against the lesson's im2col path in float64, and finite differences, are
tests/test_layers.py's test_conv_matches_reference and test_conv_gradcheck, with every method.

Tolerances. In float64 the Winograd sums differ from im2col's by rounding only: 1e-10 relative to the
largest value. In float32 the error is stated relative to the largest output (or gradient) and
measured against a float64 reference; see test_float32_error_against_float64 for the numbers.
"""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from npsrcnn import engine as L
from npsrcnn import lesson
from npsrcnn.engine import conv
from npsrcnn.engine import winograd as wg

TILES = {"winograd2": 2, "winograd4": 4}
PADDINGS = ["valid", "zero", "replicate"]


def rand(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def max_rel(got, want):
    """Largest error relative to the largest value of the reference."""
    return float(np.abs(np.asarray(got, np.float64) - want).max() / np.abs(want).max())


def corr1d(d, g):
    return np.array([d[i : i + len(g)] @ g for i in range(len(d) - len(g) + 1)])


# --------------------------------------------------------------------------------- transform matrices


@pytest.mark.parametrize("m, r", [(2, 3), (4, 3), (2, 5), (4, 5), (2, 7), (6, 3)])
def test_transform_matrices_compute_the_correlation(m, r):
    AT, G, BT = wg.transform_matrices(m, r)
    A = m + r - 1
    assert AT.shape == (m, A) and G.shape == (A, r) and BT.shape == (A, A)
    np.testing.assert_array_equal(BT, np.round(BT))  # fractions live in G (wincnn's convention)
    for seed in range(3):
        d, g = rand(A, seed), rand(r, seed + 10)
        np.testing.assert_allclose(AT @ ((G @ g) * (BT @ d)), corr1d(d, g), rtol=1e-12, atol=1e-12)


def test_f2x2_5x5_matrices_are_the_published_ones():
    """F(2, 5) with points 0, 1, -1, 2, -2 has the BT of F(4, 3) in Lavin & Gray 2016, up to the sign of
    two rows (which G's rows carry instead)."""
    AT, G, BT = wg.transform_matrices(2, 5)
    lavin = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
             [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
    np.testing.assert_array_equal(BT, np.diag([1, -1, -1, 1, 1, 1]) @ lavin)
    np.testing.assert_array_equal(AT, [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 1]])


@pytest.mark.parametrize("name", ["bt", "btt_add", "at", "att"])
def test_hand_written_f45_kernels_spell_their_matrices(name):
    """Each of F(4x4, 5x5)'s spelled-out transforms is its matrix (BT, BT^T added on, AT, AT^T), in float64."""
    AT, _, BT = wg.transform_matrices(4, 5)
    matrix, add = {"bt": (BT, False), "btt_add": (BT.T, True), "at": (AT, False), "att": (AT.T, False)}[name]
    rows, cols = matrix.shape
    s = rand((cols, 37), 3)
    base = rand((rows, 37), 4)
    o = base.copy() if add else np.full((rows, 37), np.nan)
    getattr(wg, f"_{name}_f45")(*o, *s, np.array(wg.F45_CONSTANTS, np.float64))
    np.testing.assert_allclose(o, (base if add else 0) + matrix @ s, rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize("padding", PADDINGS)
def test_hand_written_f45_path_equals_the_matrix_rows_path(padding, monkeypatch):
    """The engine's F(4x4, 5x5) kernels (hand-written transforms) and the plain _sum8 path agree in float32."""
    conv_args = dict(padding=padding, method="winograd4")
    x, w, b = rand((3, 8, 19, 17), 1, np.float32), rand((6, 8, 5, 5), 2, np.float32) * 0.1, rand(6, 3, np.float32)
    results = {}
    for hand in (True, False):
        monkeypatch.setattr(wg, "HAND_F45", hand)
        out, cache = L.conv2d_forward(x, w, b, **conv_args)
        results[hand] = (out,) + L.conv2d_backward(rand(out.shape, 4, np.float32), cache)
    errors = [max_rel(got, want.astype(np.float64)) for got, want in zip(results[True], results[False])]
    assert 0 < errors[0] and max(errors) < 1e-5, errors  # each within FLOAT32_BOUND of float64; 0: one path ran twice


def test_too_large_a_tile_is_refused():
    with pytest.raises(ValueError, match="interpolation points"):
        wg.transform_matrices(4, 9)


# ------------------------------------------------------------------------------ kernels and references


def geometry(m, K, Ho, Wo):
    A = m + K - 1
    Th, Tw = -(-Ho // m), -(-Wo // m)
    return A, Th, Tw, (Th - 1) * m + A


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("m, K", [(2, 3), (2, 5), (4, 5), (6, 3)])
# one image of 23 columns: inference's lanes (_deal), tiles inside the row and at both edges
@pytest.mark.parametrize("N, C, H, W", [(2, 3, 9, 8), (1, 1, 6, 7), (1, 2, 7, 23)])
def test_tile_transform_matches_reference_and_its_adjoint(N, C, H, W, m, K, padding):
    _, _, BT = wg.transform_matrices(m, K)
    p = 0 if padding == "valid" else K // 2
    A, Th, Tw, _ = geometry(m, K, H + 2 * p - K + 1, W + 2 * p - K + 1)
    rep = padding == "replicate"
    x = rand((C, N, H, W), 1)
    V = wg.tile_transform(x, BT, m, Tw, -p, -p, rep, np.full((A * A, C, Th * Tw * N), np.nan))
    np.testing.assert_allclose(V, wg.tile_transform_reference(x, BT, m, Th, Tw, -p, -p, rep), rtol=1e-12, atol=1e-12)
    dV = rand(V.shape, 2)
    dx = wg.tile_transform_adjoint(dV, BT, m, Tw, -p, -p, rep, np.zeros_like(x))
    np.testing.assert_allclose(dx, wg.tile_transform_adjoint_reference(dV, BT, m, Th, Tw, H, W, -p, -p, rep),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.vdot(V, dV), np.vdot(x, dx), rtol=1e-12)  # <T x, y> = <x, T^T y>


def test_tile_transform_of_a_block_is_that_block_of_the_whole():
    """Tile rows ty0.. of images n0..n0+Nb-1 (what the engine's blocks ask for) are those of the whole
    V, and the adjoint of a block adds onto those images only."""
    m, K, N, C = 4, 5, 3, 2
    _, _, BT = wg.transform_matrices(m, K)
    x = rand((C, N, 17, 13), 1)
    A, Th, Tw, _ = geometry(m, K, 13, 9)
    whole = wg.tile_transform_reference(x[:, 1:3], BT, m, Th, Tw, 0, 0, False).reshape(A * A, C, Th, Tw * 2)
    V = wg.tile_transform(x, BT, m, Tw, 0, 0, False, np.empty((A * A, C, 2 * Tw * 2)), n0=1, Nb=2, ty0=1)
    np.testing.assert_allclose(V, whole[:, :, 1:3].reshape(A * A, C, -1), rtol=1e-12, atol=1e-12)
    dx = wg.tile_transform_adjoint(rand(V.shape, 2), BT, m, Tw, 0, 0, False, np.zeros_like(x), n0=1, Nb=2, ty0=1)
    assert not dx[:, 0].any() and dx[:, 1:].any()
    assert not dx[:, :, :4].any() and not dx[:, :, 4 + (2 - 1) * m + A :].any()  # rows of tile rows 1 and 2 only


@pytest.mark.parametrize("m, K, Nb", [(4, 5, 1), (4, 5, 2), (2, 5, 1), (4, 3, 2)])
@pytest.mark.parametrize("rows", [1, 2])
def test_tile_transform_in_blocks_passes_shared_rows_on(m, K, Nb, rows):
    """Blocks of `rows` tile rows, one after another with one ring: each reuses the rows the block
    before transformed (A - m of them; F(4x4, 3x3) shares fewer rows than it steps). The same V as
    the whole, and a ring left from other data is overwritten by a first block."""
    _, _, BT = wg.transform_matrices(m, K)
    C, H, W = 3, 23, 19
    A, Th, Tw, _ = geometry(m, K, H - K + 1, W - K + 1)
    x = rand((C, Nb, H, W), 1)
    whole = wg.tile_transform_reference(x, BT, m, Th, Tw, 0, 0, False).reshape(A * A, C, Th, Tw * Nb)
    ring = rand((C, A, A, Tw * Nb), 9)  # stale values from elsewhere
    for ty0 in range(0, Th, rows):
        nty = min(rows, Th - ty0)
        V = wg.tile_transform(x, BT, m, Tw, 0, 0, False, np.empty((A * A, C, nty * Tw * Nb)), Nb=Nb, ty0=ty0,
                              ring=ring, first=ty0 == 0)
        np.testing.assert_allclose(V, whole[:, :, ty0 : ty0 + nty].reshape(A * A, C, -1), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="needs the ring"):
        wg.tile_transform(x, BT, m, Tw, 0, 0, False, np.empty((A * A, C, Tw * Nb)), Nb=Nb, ty0=1, first=False)


@pytest.mark.parametrize("padding", ["valid", "replicate"])
def test_tile_adjoint_in_blocks_with_a_carry_equals_one_call(padding):
    """Blocks of tile rows hand the rows they share to the next block: the sum is the whole adjoint."""
    m, K = 4, 5
    _, _, BT = wg.transform_matrices(m, K)
    p, rep = (0, False) if padding == "valid" else (2, True)
    x = rand((2, 3, 21, 10), 1)
    A, Th, Tw, _ = geometry(m, K, 21 + 2 * p - K + 1, 10 + 2 * p - K + 1)
    dV = rand((A * A, 2, Th * Tw * 3), 2)
    whole = wg.tile_transform_adjoint(dV, BT, m, Tw, -p, -p, rep, np.zeros_like(x))
    carry, dx, L = np.empty((2, K - 1, A, Tw * 3)), np.zeros_like(x), Tw * 3
    for ty0, nty in ((0, 2), (2, 1), (3, Th - 3)):
        wg.tile_transform_adjoint(np.ascontiguousarray(dV[:, :, ty0 * L : (ty0 + nty) * L]), BT, m, Tw, -p, -p, rep,
                                  dx, ty0=ty0, carry=carry, first=ty0 == 0, last=ty0 + nty == Th)
    np.testing.assert_allclose(dx, whole, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="needs a carry buffer"):
        wg.tile_transform_adjoint(dV[:, :, :L].copy(), BT, m, Tw, 0, 0, False, dx, last=False)


@pytest.mark.parametrize("m, K", [(2, 3), (2, 5), (4, 5)])
@pytest.mark.parametrize("N, Ho, Wo", [(2, 5, 7), (1, 8, 4), (3, 1, 1), (1, 6, 23)])
def test_output_transform_matches_reference_and_its_adjoint(m, K, N, Ho, Wo):
    AT = wg.transform_matrices(m, K)[0]
    A, Th, Tw, _ = geometry(m, K, Ho, Wo)
    M = rand((A * A, 2, Th * Tw * N), 1)
    out = wg.output_transform(M, AT, m, Th, Tw, np.empty((2, N, Ho, Wo)))
    np.testing.assert_allclose(out, wg.output_transform_reference(M, AT, m, Th, Tw, Ho, Wo), rtol=1e-12, atol=1e-12)
    dout = rand(out.shape, 2)
    dM = wg.output_transform_adjoint(dout, AT, m, Th, Tw, np.empty_like(M))
    np.testing.assert_allclose(dM, wg.output_transform_adjoint_reference(dout, AT, m, Th, Tw), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.vdot(out, dout), np.vdot(M, dM), rtol=1e-12)


@pytest.mark.parametrize("Nb", [2, 1])  # 1: one image's lanes (inference strips) take a path of their own
def test_output_transform_writes_only_its_rows_and_images(Nb):
    """A block of tile rows of some images writes its rows of those images and nothing else."""
    AT = wg.transform_matrices(2, 3)[0]
    M = rand((16, 1, 2 * 3 * Nb), 1)  # 2 tile rows, 3 tiles per row, Nb images
    out = np.full((1, 4, 9, 5), np.nan)
    wg.output_transform(M, AT, 2, 2, 3, out, n0=1, r0=3, nrows=3)
    assert np.isfinite(out[:, 1 : 1 + Nb, 3:6]).all()
    assert np.isnan(out[:, [0, 3]]).all() and np.isnan(out[:, :, :3]).all() and np.isnan(out[:, :, 6:]).all()
    assert np.isnan(out[:, 1 + Nb :]).all()


def test_wrong_buffer_is_refused():
    BT = wg.transform_matrices(2, 3)[2]
    with pytest.raises(ValueError, match="C-contiguous float64 array of shape"):
        wg.tile_transform(rand((1, 1, 4, 4)), BT, 2, 1, 0, 0, False, np.empty((16, 2, 2)))
    with pytest.raises(ValueError, match="not whole rows of 2 x 1 tiles"):
        wg.tile_transform(rand((1, 1, 4, 4)), BT, 2, 2, 0, 0, False, np.empty((16, 1, 3)))


# ------------------------------------------------------------------------------ the conv strategies


# Measured (seeded, this shape: 64 -> 32 channels, 5x5, activations in [0, 1) as after a ReLU): largest
# error relative to the largest value, float32 against float64:
#   im2col 5.7e-7 / 6.9e-7 / 6.7e-7 (out / dx / dw), winograd2 2.1e-6 / 2.8e-6 / 3.9e-6,
#   winograd4 4.5e-6 / 3.4e-6 / 3.1e-6 (4.0e-6 / 4.2e-6 / 2.8e-6 through _sum8's matrix rows).
# Bounds: 1e-5 for both tiles (~2-4x over the measurement, 15-20x float32 im2col's), 2e-6 for im2col.
FLOAT32_BOUND = {"im2col": 2e-6, "winograd2": 1e-5, "winograd4": 1e-5}


@pytest.mark.parametrize("method", sorted(FLOAT32_BOUND))
def test_float32_error_against_float64(method):
    rng = np.random.default_rng(0)
    x64, w64 = rng.random((4, 64, 25, 25)), rng.standard_normal((32, 64, 5, 5)) * 0.05
    b64, d64 = np.zeros(32), rng.standard_normal((4, 32, 21, 21))
    ref, ref_cache = lesson.conv2d_forward(x64, w64, b64)
    ref_grads = lesson.conv2d_backward(d64, ref_cache)[:2]
    x, w, b, d = (a.astype(np.float32) for a in (x64, w64, b64, d64))
    out, cache = L.conv2d_forward(x, w, b, "valid", method)
    grads = L.conv2d_backward(d, cache)[:2]
    assert out.dtype == grads[0].dtype == grads[1].dtype == np.float32
    errors = [max_rel(out, ref)] + [max_rel(g, r) for g, r in zip(grads, ref_grads)]
    assert max(errors) < FLOAT32_BOUND[method], errors


def test_larger_tile_has_larger_forward_error():
    """F(4x4) reaches interpolation points 1/2 and -1/2 (and 2 in the fourth power): more rounding."""
    rng = np.random.default_rng(1)
    x64, w64 = rng.random((4, 64, 25, 25)), rng.standard_normal((32, 64, 5, 5)) * 0.05
    ref = lesson.conv2d_forward(x64, w64, np.zeros(32))[0]
    x, w = x64.astype(np.float32), w64.astype(np.float32)
    err = {m: max_rel(L.conv2d_forward(x, w, np.zeros(32, np.float32), "valid", m)[0], ref) for m in TILES}
    assert err["winograd2"] < err["winograd4"] < 1e-5


@pytest.mark.parametrize("method", sorted(TILES))
@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("chunk_bytes, block_bytes", [(1, 1), (3000, 1), (10 ** 9, 1)])
def test_chunks_and_blocks_equal_the_whole(padding, method, chunk_bytes, block_bytes, monkeypatch):
    """Rows of one image, blocks of images, and one tile row at a time give the whole result."""
    x, w, b = L.to_cm(rand((3, 4, 11, 9), 1)), rand((2, 4, 5, 5), 2), rand(2, 3)
    whole, c1 = L.conv_forward_cm(x, w, b, padding, method, relu=True)
    whole = whole.copy()
    monkeypatch.setattr(conv, "WINOGRAD_BLOCK_BYTES", block_bytes)
    part, c2 = L.conv_forward_cm(x, w, b, padding, method, relu=True, chunk_bytes=chunk_bytes)
    assert max_rel(part, whole) < 1e-12
    dout = rand(whole.shape, 4)
    for got, want in zip(L.conv_backward_cm(dout.copy(), c2), L.conv_backward_cm(dout.copy(), c1)):
        assert max_rel(got, want) < 1e-12


@pytest.mark.parametrize("method", sorted(TILES))
@pytest.mark.parametrize("padding", ["zero", "replicate"])
@pytest.mark.parametrize("vpad", [(0, 0), (2, 0), (0, 2), (1, 3)])
def test_strip_padding_matches_im2col(vpad, padding, method):
    """A strip of an image pads only the rows given by vpad (its own edge at the image's top or bottom)."""
    x, w, b = L.to_cm(rand((2, 3, 9, 11), 1)), rand((4, 3, 5, 5), 2), rand(4, 3)
    want, c1 = L.conv_forward_cm(x, w, b, padding, "im2col", vpad=vpad)
    want = want.copy()
    got, c2 = L.conv_forward_cm(x, w, b, padding, method, vpad=vpad)
    assert got.shape == want.shape == (4, 2, 9 + sum(vpad) - 4, 11)
    assert max_rel(got, want) < 1e-12
    dout = rand(want.shape, 4)
    for g, r in zip(L.conv_backward_cm(dout.copy(), c2), L.conv_backward_cm(dout.copy(), c1)):
        assert max_rel(g, r) < 1e-12


def test_matches_torch():
    torch = pytest.importorskip("torch")
    x, w, b = rand((2, 3, 10, 9), 1), rand((4, 3, 5, 5), 2), rand(4, 3)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    tout = torch.nn.functional.conv2d(torch.nn.functional.pad(tx, (2, 2, 2, 2), mode="replicate"), tw, tb)
    dout = rand(tuple(tout.shape), 4)
    tout.backward(torch.tensor(dout))
    for method in TILES:
        out, cache = L.conv2d_forward(x, w, b, "replicate", method)
        assert max_rel(out, tout.detach().numpy()) < 1e-12
        for got, t in zip(L.conv2d_backward(dout, cache), (tx, tw, tb)):
            assert max_rel(got, t.grad.numpy()) < 1e-12


# ------------------------------------------------------------------------------------ choose_method


def choose(method="auto", C=64, F=32, K=5, N=32, H=25, Ho=21, pads=0):
    return conv.choose_method(method, C, F, K, K, N, H, H, Ho, Ho, pads)


def test_auto_picks_winograd_for_wide_3x3_and_5x5_layers(monkeypatch):
    monkeypatch.delenv("NPSRCNN_CONV_METHOD", raising=False)
    assert choose() == "winograd4"  # 9-5-5 layer 2, 32 training patches
    assert choose(N=1, H=512, Ho=512, pads=4) == "winograd4"  # a 512x512 image
    assert choose(K=3, C=32, F=32, Ho=23) == "winograd4"
    assert choose(C=8, F=8) == "winograd4"
    assert choose(N=200, H=10, Ho=6) == "winograd2"  # a 4x4 tile would be a third past the edge
    assert choose(N=4, H=9, Ho=5) == "im2col"  # too little work for the transforms' fixed cost
    assert choose(K=9, C=1, F=64, H=33, Ho=25) == "im2col"  # 9-x-5 layer 1: one input channel, 9x9
    assert choose(C=4, F=4) == "im2col"  # narrow layers
    assert choose(C=32, F=1, H=21, Ho=17) == "taps"  # the last layer
    assert choose(K=1) == "1x1"


def test_method_override_and_environment(monkeypatch):
    monkeypatch.setenv("NPSRCNN_CONV_METHOD", "im2col")
    assert choose() == "im2col"
    assert choose(method="winograd2") == "winograd2"  # an explicit method wins over the environment
    monkeypatch.setenv("NPSRCNN_CONV_METHOD", "winograd2")
    assert choose() == "winograd2"
    assert choose(K=9, C=1, F=64, H=33, Ho=25) == "im2col"  # where it cannot run, 'auto' decides
    monkeypatch.setenv("NPSRCNN_CONV_METHOD", "fft")
    with pytest.raises(ValueError, match="NPSRCNN_CONV_METHOD must be one of"):
        choose()


def test_winograd_refuses_kernels_it_has_no_points_for():
    with pytest.raises(ValueError, match="square kernel"):
        choose(method="winograd4", K=9)
    with pytest.raises(ValueError, match="method must be one of"):
        choose(method="fft")


def test_kernels_as_plain_python_under_numba_disable_jit():
    """The kernels' Python semantics (what NUMBA_DISABLE_JIT=1 runs) give the lesson's result too."""
    script = textwrap.dedent(
        """
        import numpy as np
        from npsrcnn import engine as L
        from npsrcnn import lesson
        rng = np.random.default_rng(0)
        x, w, b = rng.standard_normal((2, 2, 7, 6)), rng.standard_normal((3, 2, 5, 5)), rng.standard_normal(3)
        for method in ("winograd2", "winograd4"):
            for pad in ("valid", "zero", "replicate"):
                out, cache = L.conv2d_forward(x, w, b, pad, method)
                ref, ref_cache = lesson.conv2d_forward(x, w, b, pad)
                assert np.allclose(out, ref)
                dout = rng.standard_normal(out.shape)
                for got, want in zip(L.conv2d_backward(dout, cache), lesson.conv2d_backward(dout, ref_cache)):
                    assert np.allclose(got, want)
        print("python-mode winograd ok")
        """
    )
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    res = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "python-mode winograd ok" in res.stdout
