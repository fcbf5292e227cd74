import numpy as np
import pytest

from npsrcnn.image.color import im2uint8, rgb2ycbcr, round_half_away, y_channel, ycbcr2rgb

# The BT.601 matrix in exact integers (thousandths): channel - offset = (M @ rgb) / 255000 for rgb in 0..255.
_M = np.array([[65481, 128553, 24966], [-37797, -74203, 112000], [112000, -93786, -18214]], dtype=np.int64)
_OFF = np.array([16, 128, 128], dtype=np.int64)


def _exact_ycbcr(rgb):
    """Exact rational BT.601, rounded half away from zero in integer arithmetic, and the exact-half mask."""
    r, g, b = (rgb[..., k, None].astype(np.int64) for k in range(3))
    num = r * _M[:, 0] + g * _M[:, 1] + b * _M[:, 2] + _OFF * 255000  # (..., 3), value = num / 255000
    q, r = np.divmod(2 * num + 255000, 2 * 255000)  # floor(value + 1/2); all values here are positive
    return np.clip(q, 0, 255).astype(np.uint8), (num % 255000) == 127500


@pytest.mark.parametrize(
    "rgb, ycbcr",
    [
        ((0, 0, 0), (16, 128, 128)),
        ((255, 255, 255), (235, 128, 128)),
        ((255, 0, 0), (81, 90, 240)),  # 81.481, 90.203, 240
        ((0, 255, 0), (145, 54, 34)),  # 144.553, 53.797, 34.214
        ((0, 0, 255), (41, 240, 110)),  # 40.966, 240, 109.786
        ((128, 128, 128), (126, 128, 128)),  # 16 + 219 * 128 / 255 = 125.93
    ],
)
def test_rgb2ycbcr_known_values(rgb, ycbcr):
    out = rgb2ycbcr(np.array(rgb, dtype=np.uint8).reshape(1, 1, 3))
    assert out.dtype == np.uint8
    assert tuple(out[0, 0]) == ycbcr


def test_y_matches_exact_arithmetic_on_every_colour():
    """All 2^24 colours: Y equals exact rational rounding, except at exact halves (float order decides)."""
    v = np.arange(256, dtype=np.int64)
    rg = v[:, None] * 65481 + v[None, :] * 128553 + 16 * 255000  # (R, G)
    rgb = np.zeros((256, 256, 3), np.uint8)
    rgb[..., 0], rgb[..., 1] = np.meshgrid(v, v, indexing="ij")
    n_half = 0
    for b in range(256):  # one (R, G) plane per B keeps the arrays in cache
        num = rg + b * 24966  # Y = num / 255000
        exact = (2 * num + 255000) // (2 * 255000)  # floor(Y + 1/2), Y > 0
        half = (num % 255000) == 127500
        rgb[..., 2] = b
        ours = y_channel(rgb)
        assert np.array_equal(ours[~half], exact[~half])
        assert np.all(np.abs(ours[half] - exact[half]) <= 1)  # a half goes one way or the other
        n_half += half.sum()
    assert n_half == 194  # the only colours where the double-precision order of imlincomb matters


def test_rgb2ycbcr_uint8_matches_exact_arithmetic_on_a_sample():
    rgb = np.random.default_rng(0).integers(0, 256, (256, 512, 3), dtype=np.uint8)
    exact, half = _exact_ycbcr(rgb)
    ours = rgb2ycbcr(rgb)
    assert np.array_equal(ours[~half], exact[~half])


def test_rgb2ycbcr_float_matches_scikit_image():
    skcolor = pytest.importorskip("skimage.color")
    rng = np.random.default_rng(0)
    rgb = rng.random((17, 23, 3))
    ours = rgb2ycbcr(rgb)
    assert ours.dtype == np.float64
    # scikit-image uses the same BT.601 matrix but returns 0..255 values for float input
    np.testing.assert_allclose(ours * 255, skcolor.rgb2ycbcr(rgb), rtol=0, atol=1e-10)


def test_rgb2ycbcr_float_range_is_matlab_convention():
    out = rgb2ycbcr(np.array([[[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]]))
    np.testing.assert_allclose(out[0, 0], [16 / 255, 128 / 255, 128 / 255], atol=1e-15)
    np.testing.assert_allclose(out[0, 1], [235 / 255, 128 / 255, 128 / 255], atol=1e-15)


def test_uint8_and_float_paths_agree():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    u8 = rgb2ycbcr(rgb).astype(np.float64)
    f = rgb2ycbcr(rgb / 255.0) * 255
    assert np.max(np.abs(u8 - f)) <= 0.5 + 1e-9
    assert np.array_equal(u8, round_half_away(f))  # no exact halves in this sample


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_dtype_is_kept(dtype):
    rgb = np.random.default_rng(2).random((5, 6, 3)).astype(dtype)
    assert rgb2ycbcr(rgb).dtype == dtype
    assert ycbcr2rgb(rgb2ycbcr(rgb)).dtype == dtype


def test_round_trip_float_is_exact_to_rounding():
    rgb = np.random.default_rng(3).random((30, 40, 3))
    np.testing.assert_allclose(ycbcr2rgb(rgb2ycbcr(rgb)), rgb, rtol=0, atol=1e-12)


def test_round_trip_uint8_error_bound():
    """Y has 220 levels for 256 RGB levels, so uint8 -> uint8 -> uint8 loses a little; bound it."""
    v = np.arange(0, 256, 3, dtype=np.uint8)
    R, G, B = np.meshgrid(v, v, v, indexing="ij")
    rgb = np.stack([R, G, B], axis=-1).reshape(-1, len(v), 3)
    back = ycbcr2rgb(rgb2ycbcr(rgb))
    err = np.abs(back.astype(int) - rgb)
    assert back.dtype == np.uint8
    assert err.max() <= 3
    assert err.mean() < 1.0


def test_ycbcr2rgb_known_values_and_saturation():
    ycc = np.array([[[16, 128, 128], [235, 128, 128], [81, 90, 240], [0, 0, 0]]], dtype=np.uint8)
    rgb = ycbcr2rgb(ycc)
    assert tuple(rgb[0, 0]) == (0, 0, 0)
    assert tuple(rgb[0, 1]) == (255, 255, 255)
    assert np.all(np.abs(rgb[0, 2].astype(int) - (255, 0, 0)) <= 1)
    assert tuple(rgb[0, 3]) == (0, 136, 0)  # (-222.9, 135.6, -276.8): saturated, not wrapped
    f = ycbcr2rgb(np.zeros((1, 1, 3)))
    assert f.min() >= 0.0 and f.max() <= 1.0


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_grayscale_passes_through(dtype):
    gray = (np.random.default_rng(4).random((7, 9)) * 255).astype(dtype)
    assert rgb2ycbcr(gray) is gray or np.array_equal(rgb2ycbcr(gray), gray)
    assert np.array_equal(ycbcr2rgb(gray), gray)
    assert np.array_equal(y_channel(gray), gray)


def test_y_channel():
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (8, 10, 3), dtype=np.uint8)
    assert np.array_equal(y_channel(rgb), rgb2ycbcr(rgb)[..., 0])
    rgba = np.concatenate([rgb, np.full((8, 10, 1), 7, np.uint8)], axis=2)
    assert np.array_equal(y_channel(rgba), y_channel(rgb))  # alpha is dropped
    assert np.array_equal(y_channel(rgb[..., :1]), rgb[..., 0])
    gray_rgb = np.repeat(rgb[..., :1], 3, axis=2)  # R = G = B is converted, not passed through
    expected = round_half_away(16 + 219 * rgb[..., 0].astype(np.float64) / 255)
    assert np.array_equal(y_channel(gray_rgb), expected)


def test_bad_input():
    with pytest.raises(ValueError):
        rgb2ycbcr(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(TypeError):
        rgb2ycbcr(np.zeros((4, 4, 3), np.uint16))


def test_round_half_away_and_im2uint8():
    assert np.array_equal(round_half_away(np.array([0.5, 1.5, 2.5, -0.5, -1.5, 0.49])), [1, 2, 3, -1, -2, 0])
    x = np.array([-0.1, 0.0, 0.5 / 255, 1.0, 1.2], dtype=np.float64)
    assert np.array_equal(im2uint8(x), [0, 0, 1, 255, 255])
    y = np.arange(256, dtype=np.float32) / np.float32(255)  # single(Y) / 255 comes back exactly
    assert np.array_equal(im2uint8(y), np.arange(256))
    with pytest.raises(TypeError):
        im2uint8(np.zeros(3, np.uint8))
