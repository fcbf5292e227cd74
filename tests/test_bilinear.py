"""Bilinear interpolation: the seed's 4-coefficient solve, the Numba kernel, the separable fast path.

What is shown here rather than claimed: the solve is the tensor product of 1-D linear interpolation
(the triangle kernel), the three implementations agree, it equals Pillow's BILINEAR, and it is an
interpolation of the four samples, not the least-squares plane the seed calls it.
"""
import numpy as np
import pytest
from PIL import Image

from npsrcnn.interp import bilinear
from npsrcnn.interp.bicubic import pixel_centre_coords

SHAPES = [(7, 9), (5, 4), (1, 6), (12, 3), (23, 31)]


def rand(*shape, seed=0):
    return np.random.default_rng(seed).random(shape)


def grid(H, W, factor):
    return pixel_centre_coords(factor * H, factor), pixel_centre_coords(factor * W, factor)


# --- the 4x4 system --------------------------------------------------------------------------------
def test_cell_system_has_an_exact_integer_inverse():
    np.testing.assert_array_equal(bilinear.CELL_INV @ bilinear.CELL_SYSTEM, np.eye(4))
    np.testing.assert_array_equal(bilinear.CELL_INV, [[1, 0, 0, 0], [-1, 0, 1, 0], [-1, 1, 0, 0], [1, -1, -1, 1]])


def test_seed_system_is_the_cell_system_moved_to_the_cell():
    # The same bilinear g written about another origin: A in image coordinates, C in cell coordinates,
    # g = C0 + C1 (n1 - iy) + C2 (n2 - ix) + C3 (n1 - iy)(n2 - ix); both solves give the same g.
    iy, ix, f = 13, 7, rand(4)
    A = np.linalg.solve(bilinear.seed_system([iy, iy, iy + 1, iy + 1], [ix, ix + 1, ix, ix + 1]), f)
    C = bilinear.CELL_INV @ f
    ty, tx = 0.3, 0.8
    v, u = iy + ty, ix + tx
    g_image = A[0] + A[1] * v + A[2] * u + A[3] * v * u
    g_cell = C[0] + C[1] * ty + C[2] * tx + C[3] * ty * tx
    assert g_image == pytest.approx(g_cell, abs=1e-13)


# --- what the solve is -----------------------------------------------------------------------------
def test_solve_is_the_tensor_product_of_1d_linear_interpolation():
    # np.interp along rows, then along columns: an oracle that knows nothing of 4x4 systems. On an
    # upscale grid the taps reach at most one sample past the edge, where both repeat the edge sample.
    img = rand(6, 8)
    ys, xs = grid(6, 8, 3)
    rows = np.stack([np.interp(ys, np.arange(6), img[:, c]) for c in range(8)], axis=1)  # Ho, W
    ref = np.stack([np.interp(xs, np.arange(8), rows[r]) for r in range(ys.size)])  # Ho, Wo
    np.testing.assert_allclose(bilinear.interp_naive(img, ys, xs), ref, rtol=0, atol=1e-13)


def test_impulse_response_is_the_triangle_kernel_squared():
    img = np.zeros((9, 9))
    img[4, 4] = 1
    s = np.linspace(-1.4, 1.4, 15)
    K = bilinear.triangle_kernel(s)
    np.testing.assert_allclose(bilinear.interp_naive(img, 4 + s, 4 + s), np.outer(K, K), atol=1e-13)
    np.testing.assert_allclose(K, np.maximum(0, 1 - np.abs(s)), atol=1e-15)


def test_interpolates_the_four_samples_unlike_the_least_squares_plane():
    # The seed calls g "the best (least squares) planar fit" to the four neighbours. A plane has three
    # coefficients: the fit drops the twist A3 (ty - 1/2)(tx - 1/2) and misses every corner by |A3| / 4.
    f = np.array([0.1, 0.9, 0.4, 0.2])  # f00, f01, f10, f11
    corners = [(0, 0), (0, 1), (1, 0), (1, 1)]  # (ty, tx)
    A = bilinear.CELL_INV @ f
    g = [bilinear.interp_naive(f.reshape(2, 2), [ty], [tx])[0, 0] for ty, tx in corners]
    np.testing.assert_allclose(g, f, atol=1e-15)
    plane, *_ = np.linalg.lstsq(np.array([[1, ty, tx] for ty, tx in corners], float), f, rcond=None)
    fitted = np.array([plane[0] + plane[1] * ty + plane[2] * tx for ty, tx in corners])
    np.testing.assert_allclose(np.abs(fitted - f), abs(A[3]) / 4, atol=1e-15)
    assert abs(A[3]) / 4 > 0.2


def test_reproduces_bilinear_functions_away_from_the_border():
    H, W = 8, 11
    r, c = np.mgrid[0:H, 0:W].astype(np.float64)
    img = 0.3 + 0.1 * r - 0.05 * c + 0.02 * r * c
    ys, xs = np.linspace(0, H - 1, 17), np.linspace(0, W - 1, 23)
    truth = 0.3 + 0.1 * ys[:, None] - 0.05 * xs + 0.02 * ys[:, None] * xs
    for out in (bilinear.interp_naive(img, ys, xs), bilinear.interp4(img, ys, xs),
                bilinear.interp_separable(img, ys, xs)):
        np.testing.assert_allclose(out, truth, rtol=0, atol=1e-13)


# --- three implementations agree --------------------------------------------------------------------
@pytest.mark.parametrize("factor", [2, 3, 4])
@pytest.mark.parametrize("shape", SHAPES)
def test_numba_kernel_and_separable_match_naive_solve(shape, factor):
    # The naive solve works in image coordinates, where M's condition number grows with them; at
    # these sizes (coordinates < 31) it still agrees to 1e-12.
    img = rand(*shape)
    ys, xs = grid(*shape, factor)
    ref = bilinear.interp_naive(img, ys, xs)  # one np.linalg.solve per output pixel
    np.testing.assert_allclose(bilinear.interp4(img, ys, xs), ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(bilinear.interp4(img, ys, xs, share_cells=False), ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(bilinear.interp_separable(img, ys, xs), ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("sort", [True, False])
def test_arbitrary_coordinates_including_outside_the_image(sort):
    rng = np.random.default_rng(1)
    img = rand(6, 8, seed=2)
    ys, xs = rng.uniform(-3, 9, 15), rng.uniform(-2.5, 11, 11)
    if sort:
        ys.sort()
    ref = bilinear.interp_naive(img, ys, xs)
    np.testing.assert_allclose(bilinear.interp4(img, ys, xs), ref, rtol=0, atol=1e-13)
    np.testing.assert_allclose(bilinear.interp_separable(img, ys, xs), ref, rtol=0, atol=1e-13)


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_float32_separable_is_the_float64_result_rounded(factor):
    # float64 sums, rounded to float32 after each pass: within 1 float32 ulp of values below 1
    img = rand(11, 13).astype(np.float32)
    out = bilinear.upscale(img, factor)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, bilinear.upscale(img, factor, "solve4"), rtol=0, atol=2**-24)


# --- properties ----------------------------------------------------------------------------------
@pytest.mark.parametrize("method", bilinear.UPSCALE_METHODS)
def test_constant_stays_constant(method):
    out = bilinear.upscale(np.full((5, 6), 0.3), 3, method)
    assert out.shape == (15, 18)
    np.testing.assert_allclose(out, 0.3, atol=1e-14)


@pytest.mark.parametrize("method", bilinear.UPSCALE_METHODS)
@pytest.mark.parametrize("factor", [1, 3, 5])
def test_odd_factor_upscale_passes_through_the_original_samples(method, factor):
    img = rand(4, 5)
    k = (factor - 1) // 2
    np.testing.assert_allclose(bilinear.upscale(img, factor, method)[k::factor, k::factor], img, atol=1e-14)


# --- Pillow oracle ---------------------------------------------------------------------------------
@pytest.mark.parametrize("factor", [2, 3, 4])
@pytest.mark.parametrize("shape", [(23, 31), (40, 17), (5, 4)])
def test_upscale_equals_pillow_bilinear_borders_included(factor, shape):
    # Same triangle kernel and pixel-centre map. At the border Pillow drops the tap outside the image
    # and renormalises, which for two taps gives the edge sample, as the mirror does: no border zone.
    # Pillow stores float32 after its horizontal pass, we after our vertical one. Measured: at most
    # 2^-24 = 6.0e-8 (one float32 ulp of values in [0.5, 1)); asserted with one ulp to spare.
    H, W = shape
    img = np.random.default_rng(3).random(shape).astype(np.float32)
    pil = np.asarray(Image.fromarray(img, "F").resize((factor * W, factor * H), Image.BILINEAR))
    np.testing.assert_allclose(bilinear.upscale(img, factor), pil, rtol=0, atol=2**-23)


# --- bad arguments -------------------------------------------------------------------------------
@pytest.mark.parametrize("call,match", [
    (lambda: bilinear.interp_naive(np.zeros((3, 3, 2)), [0.5], [0.5]), r"non-empty \(H, W\)"),
    (lambda: bilinear.interp4(np.zeros((0, 3)), [0.5], [0.5]), "non-empty"),
    (lambda: bilinear.interp4(np.zeros((3, 3)), [np.nan], [0.5]), "finite"),
    (lambda: bilinear.interp_separable(np.zeros(3), [0.5], [0.5]), r"\(H, W\) or \(H, W, C\)"),
    (lambda: bilinear.upscale(np.zeros((3, 3)), 2.5), "integer >= 1"),
    (lambda: bilinear.upscale(np.zeros((3, 3)), 2, method="bicubic"), "method must be one of"),
])
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
