"""Bicubic interpolation: the two readings of the 16-coefficient solve, the Numba kernel, the fast path.

What is shown here rather than claimed: form 2 (Hermite, central differences) is Keys' kernel with
a = -0.5 and equals Pillow's BICUBIC away from the border; form 1 (fit through the 4x4 samples) is
the cubic Lagrange kernel, which reproduces cubics, and is a different interpolator.
"""
import numpy as np
import pytest
from PIL import Image

from npsrcnn.interp import bicubic

FORMS = [("hermite", "keys"), ("lagrange", "lagrange")]  # (16-coefficient form, equivalent 1-D kernel)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).random(shape)


def grid(H, W, factor):
    return bicubic.pixel_centre_coords(factor * H, factor), bicubic.pixel_centre_coords(factor * W, factor)


def interior(coords, n):
    """Outputs whose 4 taps all lie inside 0..n-1, i.e. untouched by the border rule."""
    f = np.floor(coords)
    return (f - 1 >= 0) & (f + 2 <= n - 1)


# --- the two 16x16 systems -----------------------------------------------------------------------
@pytest.mark.parametrize("form", bicubic.FORMS)
def test_var_inverse_is_the_inverse(form):
    system, _ = bicubic.SYSTEMS[form]
    np.testing.assert_allclose(bicubic.VAR_INV[form] @ system(), np.eye(16), atol=1e-12)


def test_hermite_system_rows_are_the_corner_conditions():
    # p = x^3 y^2 (a_32 = 1): at corner (1, 1): p = 1, px = 3, py = 2, pxy = 6
    a = np.zeros(16)
    a[4 * 3 + 2] = 1
    f, fx, fy, fxy = (bicubic.hermite_system() @ a).reshape(4, 4)  # rows: corners (0,0),(1,0),(0,1),(1,1)
    assert (f[3], fx[3], fy[3], fxy[3]) == (1, 3, 2, 6)
    assert f[:3].tolist() == [0, 0, 0]


# --- three implementations of each form agree -----------------------------------------------------
@pytest.mark.parametrize("form,kernel", FORMS)
@pytest.mark.parametrize("shape,factor", [((7, 9), 3), ((5, 4), 2), ((1, 6), 3), ((12, 3), 4), ((4, 4), 1)])
def test_numba_kernel_and_separable_match_naive_solve(form, kernel, shape, factor):
    img = rand(*shape)
    ys, xs = grid(*shape, factor)
    ref = bicubic.interp_naive(img, ys, xs, form)  # one np.linalg.solve per output pixel
    np.testing.assert_allclose(bicubic.interp16(img, ys, xs, form), ref, rtol=0, atol=1e-13)
    np.testing.assert_allclose(bicubic.interp16(img, ys, xs, form, share_cells=False), ref, rtol=0, atol=1e-13)
    np.testing.assert_allclose(bicubic.interp_separable(img, ys, xs, kernel), ref, rtol=0, atol=1e-13)


@pytest.mark.parametrize("form,kernel", FORMS)
@pytest.mark.parametrize("sort", [True, False])
def test_arbitrary_coordinates_including_outside_the_image(form, kernel, sort):
    rng = np.random.default_rng(1)
    img = rand(6, 8, seed=2)
    ys, xs = rng.uniform(-3, 9, 15), rng.uniform(-2.5, 11, 11)
    if sort:
        ys.sort()
    ref = bicubic.interp_naive(img, ys, xs, form)
    np.testing.assert_allclose(bicubic.interp16(img, ys, xs, form), ref, rtol=0, atol=1e-13)
    np.testing.assert_allclose(bicubic.interp_separable(img, ys, xs, kernel), ref, rtol=0, atol=1e-13)


# --- what each form is -----------------------------------------------------------------------------
@pytest.mark.parametrize("form,kernel", FORMS)
def test_impulse_response_is_the_tensor_product_kernel(form, kernel):
    # The response to a unit impulse at (4, 4) is K(x - 4) K(y - 4): the interpolation kernel itself.
    img = np.zeros((9, 9))
    img[4, 4] = 1
    s = np.linspace(-2.4, 2.4, 17)
    out = bicubic.interp_naive(img, 4 + s, 4 + s, form)
    K = bicubic.KERNELS[kernel](s)
    np.testing.assert_allclose(out, np.outer(K, K), atol=1e-13)


def test_form2_weights_are_keys_minus_half_and_catmull_rom():
    # Catmull-Rom weights at offset t: ((-t^3 + 2t^2 - t), (3t^3 - 5t^2 + 2), (-3t^3 + 4t^2 + t), (t^3 - t^2)) / 2
    t = np.linspace(0, 1, 10, endpoint=False)  # offsets inside the cell [0, 1)
    cr = np.stack([-t**3 + 2 * t**2 - t, 3 * t**3 - 5 * t**2 + 2, -3 * t**3 + 4 * t**2 + t, t**3 - t**2], 1) / 2
    _, w = bicubic.cubic_taps(10 + t, 100, "keys")
    np.testing.assert_allclose(w, cr, atol=1e-15)


def test_form1_is_the_cubic_lagrange_kernel_not_a_keys_kernel():
    s = np.linspace(-2, 2, 4001)
    L = bicubic.lagrange_kernel(s)
    # at the nodes it interpolates: K(0) = 1, K(+-1) = K(+-2) = 0
    np.testing.assert_allclose(bicubic.lagrange_kernel([0, 1, -1, 2, -2]), [1, 0, 0, 0, 0], atol=1e-15)
    # at half-pixel offsets it agrees with Keys a = -0.5: weights (-1, 9, 9, -1) / 16
    np.testing.assert_allclose(bicubic.lagrange_kernel([1.5, 0.5]), [-1 / 16, 9 / 16], atol=1e-15)
    np.testing.assert_allclose(bicubic.keys_kernel([1.5, 0.5]), [-1 / 16, 9 / 16], atol=1e-15)
    # but no Keys a matches it: the closest (least squares over [-2, 2], a = -13/24) is still off by > 0.04
    a_grid = np.linspace(-1.5, 0.5, 2001)
    err = [np.abs(bicubic.keys_kernel(s, a) - L).max() for a in a_grid]
    assert min(err) > 0.04
    sq = [np.sum((bicubic.keys_kernel(s, a) - L) ** 2) for a in a_grid]
    assert a_grid[int(np.argmin(sq))] == pytest.approx(-13 / 24, abs=1e-3)
    # the reason: a kink at 0 (slope -1/2 from the right; every Keys kernel is C1 with slope 0)
    h = 1e-7
    assert (bicubic.lagrange_kernel(h) - 1) / h == pytest.approx(-0.5, abs=1e-6)
    assert abs((bicubic.keys_kernel(h) - 1) / h) < 1e-6


@pytest.mark.parametrize("form", bicubic.FORMS)
def test_both_forms_interpolate_the_samples(form):
    img = rand(6, 7)
    ys, xs = np.arange(6.0), np.arange(7.0)  # integer coordinates, borders included
    np.testing.assert_allclose(bicubic.interp16(img, ys, xs, form), img, atol=1e-14)
    np.testing.assert_allclose(bicubic.interp_naive(img, ys, xs, form), img, atol=1e-14)


def poly_image(H, W, deg, seed=0):
    """img[r, c] = P(x=c, y=r) for a random polynomial of degree <= deg in each variable."""
    c = np.random.default_rng(seed).normal(size=(deg + 1, deg + 1))

    def P(x, y):
        return sum(c[i, j] * x**i * y**j for i in range(deg + 1) for j in range(deg + 1))

    r, k = np.mgrid[0:H, 0:W].astype(np.float64)
    return P(k, r), P


def test_form1_reproduces_cubics_form2_only_quadratics():
    H, W = 9, 10
    ys, xs = np.linspace(1, H - 2, 23, endpoint=False), np.linspace(1, W - 2, 19, endpoint=False)  # interior
    exact = {}
    for deg in (2, 3):
        img, P = poly_image(H, W, deg)
        truth = P(xs[None, :], ys[:, None])
        scale = np.abs(truth).max()
        for form in bicubic.FORMS:
            exact[form, deg] = np.abs(bicubic.interp16(img, ys, xs, form) - truth).max() / scale
    assert exact["lagrange", 2] < 1e-12 and exact["lagrange", 3] < 1e-12
    assert exact["hermite", 2] < 1e-12
    # Keys a = -0.5 is not exact for x^3: its central-difference slopes are off by 1, which puts
    # an error t (1 - t) (1 - 2t) (up to 0.096 at t = 0.21) between the samples
    cube = np.tile(np.arange(W, dtype=np.float64) ** 3, (H, 1))
    err = bicubic.interp16(cube, ys, xs, "hermite") - xs**3
    assert 0.09 < np.abs(err).max() < 0.1
    assert np.abs(bicubic.interp16(cube, ys, xs, "lagrange") - xs**3).max() < 1e-10


def test_forms_differ_on_an_image():
    img = rand(16, 16)
    ys, xs = grid(16, 16, 4)
    d = np.abs(bicubic.interp16(img, ys, xs, "hermite") - bicubic.interp16(img, ys, xs, "lagrange"))
    assert d.max() > 0.02


# --- properties ----------------------------------------------------------------------------------
@pytest.mark.parametrize("method", bicubic.UPSCALE_METHODS)
def test_constant_stays_constant(method):
    out = bicubic.upscale(np.full((5, 6), 0.3), 3, method)
    assert out.shape == (15, 18)
    np.testing.assert_allclose(out, 0.3, atol=1e-14)


@pytest.mark.parametrize("method", ["separable", "hermite16", "lagrange16"])
def test_linear_ramp_reproduced_away_from_the_border(method):
    H, W, f = 12, 14, 3
    r, c = np.mgrid[0:H, 0:W]
    img = 0.5 + 0.1 * r - 0.03 * c
    ys, xs = grid(H, W, f)
    out = bicubic.upscale(img, f, method)
    iy, ix = interior(ys, H), interior(xs, W)
    truth = 0.5 + 0.1 * ys[:, None] - 0.03 * xs[None, :]
    np.testing.assert_allclose(out[np.ix_(iy, ix)], truth[np.ix_(iy, ix)], atol=1e-13)


@pytest.mark.parametrize("method", bicubic.UPSCALE_METHODS)
@pytest.mark.parametrize("factor", [1, 3, 5])
def test_odd_factor_upscale_passes_through_the_original_samples(method, factor):
    # output pixel f*i + (f-1)/2 has its centre on input pixel i (u = i): it is that sample
    img = rand(4, 5)
    out = bicubic.upscale(img, factor, method)
    k = (factor - 1) // 2
    np.testing.assert_allclose(out[k::factor, k::factor], img, atol=1e-14)


def test_separable_keeps_float32_and_handles_channels():
    img = rand(6, 7, 3).astype(np.float32)
    out = bicubic.upscale(img, 2)
    assert out.dtype == np.float32 and out.shape == (12, 14, 3)
    for ch in range(3):
        np.testing.assert_array_equal(out[..., ch], bicubic.upscale(img[..., ch], 2))


# --- Pillow oracle ---------------------------------------------------------------------------------
@pytest.mark.parametrize("factor", [2, 3, 4])
@pytest.mark.parametrize("shape", [(23, 31), (40, 17)])
def test_upscale_equals_pillow_bicubic_away_from_the_border(factor, shape):
    # Pillow maps pixel centres the same way and uses Keys a = -0.5; it sums in double and stores
    # float32 after its first (horizontal) pass, we after each of ours: they differ by 1-2 float32 ulps.
    H, W = shape
    img = np.random.default_rng(3).random(shape).astype(np.float32)
    ours = bicubic.upscale(img, factor)
    pil = np.asarray(Image.fromarray(img, "F").resize((factor * W, factor * H), Image.BICUBIC))
    ys, xs = grid(H, W, factor)
    inner = np.ix_(interior(ys, H), interior(xs, W))
    np.testing.assert_allclose(ours[inner], pil[inner], rtol=0, atol=2.5e-7)
    # at the border the two rules differ (mirroring here, Pillow renormalises the clipped kernel)
    assert np.abs(ours - pil).max() > 1e-3


# --- bad arguments -------------------------------------------------------------------------------
@pytest.mark.parametrize("call,match", [
    (lambda: bicubic.interp16(np.zeros((3, 3)), [0.5], [0.5], form="cubic"), "form must be one of"),
    (lambda: bicubic.interp_naive(np.zeros((3, 3, 2)), [0.5], [0.5]), r"non-empty \(H, W\)"),
    (lambda: bicubic.interp16(np.zeros((0, 3)), [0.5], [0.5]), "non-empty"),
    (lambda: bicubic.interp16(np.zeros((3, 3)), [np.nan], [0.5]), "finite"),
    (lambda: bicubic.interp_separable(np.zeros((3, 3)), [0.5], [0.5], kernel="lanczos"), "kernel must be"),
    (lambda: bicubic.interp_separable(np.zeros(3), [0.5], [0.5]), r"\(H, W\) or \(H, W, C\)"),
    (lambda: bicubic.upscale(np.zeros((3, 3)), 2.5), "integer >= 1"),
    (lambda: bicubic.upscale(np.zeros((3, 3)), 0), "integer >= 1"),
    (lambda: bicubic.upscale(np.zeros((3, 3)), 2, method="fast"), "method must be one of"),
])
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
