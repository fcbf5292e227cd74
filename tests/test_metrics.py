import numpy as np
import pytest

from npsrcnn.metrics.quality import gaussian_window, psnr, ssim, ssim_map


def _pair(shape=(48, 64), seed=0, noise=12.0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, shape).astype(np.uint8)
    b = np.clip(a + rng.normal(0, noise, shape), 0, 255).round().astype(np.uint8)
    return a, b


def test_psnr_identical_is_inf():
    a, _ = _pair()
    assert psnr(a, a) == float("inf")
    assert psnr(a, a.copy(), shave=3) == float("inf")


@pytest.mark.parametrize("diff, expected", [(1, 20 * np.log10(255)), (10, 10 * np.log10(255 ** 2 / 100)), (255, 0.0)])
def test_psnr_known_mse(diff, expected):
    a = np.zeros((10, 12), np.uint8)
    b = np.full((10, 12), diff, np.uint8)  # uint8 inputs: no wrap-around, compared in float64
    assert psnr(a, b) == pytest.approx(expected, abs=1e-12)
    assert psnr(b, a) == pytest.approx(expected, abs=1e-12)


def test_psnr_mixed_errors_and_data_range():
    a = np.zeros((2, 2))
    b = np.array([[0.0, 1.0], [2.0, 3.0]])  # MSE = 14 / 4 = 3.5
    assert psnr(a, b) == pytest.approx(10 * np.log10(255 ** 2 / 3.5), abs=1e-12)
    assert psnr(a / 255, b / 255, data_range=1) == pytest.approx(psnr(a, b), abs=1e-9)


def test_psnr_shave_removes_border():
    a, _ = _pair()
    b = a.copy()
    b[:3, :] = 0
    b[:, -3:] = 255
    assert psnr(a, b) < 30
    assert psnr(a, b, shave=3) == float("inf")
    b[3, 3] ^= 1  # now one interior pixel differs by 1
    n = (48 - 6) * (64 - 6)
    assert psnr(a, b, shave=3) == pytest.approx(10 * np.log10(255 ** 2 * n), abs=1e-9)


def test_metrics_reject_bad_shapes():
    with pytest.raises(ValueError):
        psnr(np.zeros((4, 4)), np.zeros((4, 5)))
    with pytest.raises(ValueError):
        psnr(np.zeros((4, 4)), np.zeros((4, 4)), shave=2)
    with pytest.raises(ValueError):
        ssim(np.zeros((10, 20)), np.zeros((10, 20)))  # smaller than the 11x11 window


def test_gaussian_window_is_fspecial():
    g = gaussian_window(11, 1.5)
    y, x = np.mgrid[-5:6, -5:6]
    h = np.exp(-(x ** 2 + y ** 2) / (2 * 1.5 ** 2))
    np.testing.assert_allclose(np.outer(g, g), h / h.sum(), rtol=0, atol=1e-16)


def test_ssim_map_matches_plain_2d_filtering():
    """The separable 'valid' filter against a direct 2-D correlation (a readable reference)."""
    a, b = (x.astype(np.float64) for x in _pair((20, 25)))
    w = np.outer(gaussian_window(), gaussian_window())

    def filt(img):
        return np.array([[np.sum(w * img[i:i + 11, j:j + 11]) for j in range(15)] for i in range(10)])

    C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    ma, mb = filt(a), filt(b)
    va, vb, cab = filt(a * a) - ma ** 2, filt(b * b) - mb ** 2, filt(a * b) - ma * mb
    ref = (2 * ma * mb + C1) * (2 * cab + C2) / ((ma ** 2 + mb ** 2 + C1) * (va + vb + C2))
    np.testing.assert_allclose(ssim_map(a, b), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape, noise, shave", [((48, 64), 12.0, 0), ((61, 40), 40.0, 0), ((50, 50), 5.0, 4)])
def test_ssim_matches_scikit_image(shape, noise, shave):
    metrics = pytest.importorskip("skimage.metrics")
    a, b = _pair(shape, seed=int(noise), noise=noise)
    # scikit-image filters with reflect padding, then averages the map over [pad:-pad, pad:-pad] with
    # pad = (11 - 1) // 2 = 5: exactly the windows that lie inside the image, i.e. our 'valid' map.
    # So the comparison needs no adjustment beyond applying our shave to its inputs.
    s = slice(shave, a.shape[0] - shave), slice(shave, a.shape[1] - shave)
    ref = metrics.structural_similarity(
        a[s], b[s], gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
    )
    assert ssim(a, b, shave=shave) == pytest.approx(ref, abs=1e-12)


def test_ssim_identical_is_one_and_symmetric():
    a, b = _pair()
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-15)
    assert ssim(a, b) == pytest.approx(ssim(b, a), abs=1e-15)
    assert 0 < ssim(a, b) < 1
    flat = np.full((16, 16), 100, np.uint8)
    assert ssim(flat, flat) == pytest.approx(1.0, abs=1e-15)  # the C1, C2 terms keep 0/0 away


def test_ssim_decreases_with_noise():
    a, _ = _pair(noise=0)
    values = [ssim(a, _pair(seed=0, noise=n)[1]) for n in (2.0, 10.0, 40.0)]
    assert values[0] > values[1] > values[2]
