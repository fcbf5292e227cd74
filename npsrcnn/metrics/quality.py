"""Image quality metrics in float64: PSNR and SSIM (Wang et al. 2004), as the SR literature computes them.

Conventions are arguments, stated where they are used: ``shave`` pixels are cropped from every border
before measuring (SRCNN's protocol shaves ``scale`` pixels), and ``data_range`` is the peak value
(255 for uint8 images). Both functions take (H, W) images of any real dtype and compute in float64.
This module imports no data code: it is usable on any pair of arrays.
"""
import numpy as np


def _prepare(a, b, shave):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if a.ndim != 2:
        raise ValueError(f"expected (H, W) images, got shape {a.shape}")
    if shave < 0:
        raise ValueError(f"shave must be >= 0, got {shave}")
    if shave:
        if min(a.shape) <= 2 * shave:
            raise ValueError(f"shaving {shave} pixels leaves nothing of a {a.shape} image")
        a = a[shave:-shave, shave:-shave]
        b = b[shave:-shave, shave:-shave]
    return a, b


def psnr(a, b, shave=0, data_range=255):
    """Peak signal-to-noise ratio in dB, after cropping `shave` pixels from every border.

    Parameters
    ----------
    a, b : ndarray, shape (H, W), any real dtype (compared in float64)
    shave : int
        Pixels removed from each of the four borders first (SRCNN's protocol uses the scale).
    data_range : float
        Peak value L: 255 for uint8 images, 1 for floats in [0, 1].

    Returns
    -------
    float
        ``inf`` when the (shaved) images are identical.

    Notes
    -----
    PSNR = 10 log10(L^2 / MSE), MSE = mean((a - b)^2); the authors' compute_psnr.m writes the same
    as 20 log10(255 / RMSE).
    """
    a, b = _prepare(a, b, shave)
    mse = np.mean((a - b) ** 2)
    if mse == 0:
        return float("inf")
    return float(10 * np.log10(float(data_range) ** 2 / mse))


def gaussian_window(size=11, sigma=1.5):
    """Normalised 1-D Gaussian taps, shape (size,); its outer product is MATLAB ``fspecial('gaussian')``."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-(x ** 2) / (2 * sigma ** 2))
    return g / g.sum()


def _filter_valid(img, g):
    """Separable 'valid' correlation of (H, W) img with the 2-D window outer(g, g): shape (H-k+1, W-k+1)."""
    k = len(g)
    Ho, Wo = img.shape[0] - k + 1, img.shape[1] - k + 1
    rows = np.zeros((Ho, img.shape[1]))
    for i in range(k):
        rows += g[i] * img[i:i + Ho]
    out = np.zeros((Ho, Wo))
    for j in range(k):
        out += g[j] * rows[:, j:j + Wo]
    return out


def ssim_map(a, b, data_range=255, window=11, sigma=1.5, K1=0.01, K2=0.03):
    """The SSIM map of Wang et al. (2004) over every fully-covered window, shape (H-10, W-10) for 11x11.

    Parameters
    ----------
    a, b : ndarray, shape (H, W), float64
    data_range : float
        L in C1 = (K1 L)^2, C2 = (K2 L)^2.

    Returns
    -------
    ndarray, shape (H - window + 1, W - window + 1), float64

    Notes
    -----
    SSIM = (2 mu_a mu_b + C1)(2 s_ab + C2) / ((mu_a^2 + mu_b^2 + C1)(s_a^2 + s_b^2 + C2)), with local
    Gaussian-weighted means, variances and covariance (weights sum to 1, no sample correction), as
    in the authors' ssim_index.m: ``filter2(fspecial('gaussian', 11, 1.5), img, 'valid')``.
    """
    if min(a.shape) < window:
        raise ValueError(f"SSIM needs images of at least {window}x{window}, got {a.shape}")
    g = gaussian_window(window, sigma)
    C1 = (K1 * data_range) ** 2
    C2 = (K2 * data_range) ** 2
    mu_a = _filter_valid(a, g)
    mu_b = _filter_valid(b, g)
    var_a = _filter_valid(a * a, g) - mu_a ** 2
    var_b = _filter_valid(b * b, g) - mu_b ** 2
    cov = _filter_valid(a * b, g) - mu_a * mu_b
    num = (2 * mu_a * mu_b + C1) * (2 * cov + C2)
    den = (mu_a ** 2 + mu_b ** 2 + C1) * (var_a + var_b + C2)
    return num / den


def ssim(a, b, shave=0, data_range=255):
    """Mean structural similarity (Wang et al. 2004), after cropping `shave` pixels from every border.

    Parameters
    ----------
    a, b : ndarray, shape (H, W), any real dtype (compared in float64)
    shave : int
        Pixels removed from each border before the SSIM map is computed.
    data_range : float
        Peak value L: 255 for uint8 images.

    Returns
    -------
    float
        Mean of the SSIM map; 1.0 for identical images.

    Notes
    -----
    11x11 Gaussian window with sigma 1.5, K1 = 0.01, K2 = 0.03, 'valid' filtering (no padding: only
    windows that lie inside the image), no downsampling: the 2004 ``ssim_index.m`` conventions.
    """
    a, b = _prepare(a, b, shave)
    return float(np.mean(ssim_map(a, b, data_range=data_range)))
