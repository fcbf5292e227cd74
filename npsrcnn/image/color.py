"""MATLAB-compatible colour conversion: ``rgb2ycbcr`` / ``ycbcr2rgb`` (ITU-R BT.601, studio swing).

SRCNN is trained and evaluated on the luminance channel Y of MATLAB's ``rgb2ycbcr``, rounded to uint8.
PSNR is sensitive to that choice (Y of BT.601 studio swing is not Pillow's ``convert("L")`` nor the
full-range JPEG YCbCr), so this module reproduces MATLAB's arithmetic, including the order of the
double-precision operations of ``imlincomb``, which decides the rare exact halves before rounding.

Conventions, as in MATLAB:

- uint8 in -> uint8 out, values 0..255 (Y in 16..235, Cb and Cr in 16..240), rounded half away from
  zero and saturated;
- float in (RGB in [0, 1]) -> float out of the same dtype (Y in [16/255, 235/255]);
- a grayscale (H, W) image passes through unchanged (the authors' demo_SR.m only converts
  3-channel images).
"""
import numpy as np

# BT.601 studio swing, for RGB in [0, 1] and YCbCr in [0, 255]: ycbcr = _T @ rgb + _OFFSET
_T = np.array([
    [65.481, 128.553, 24.966],
    [-37.797, -74.203, 112.0],
    [112.0, -93.786, -18.214],
])
_OFFSET = np.array([16.0, 128.0, 128.0])


def round_half_away(x):
    """Round to the nearest integer, halves away from zero (MATLAB ``round``; NumPy rounds halves to even)."""
    return np.copysign(np.floor(np.abs(x) + 0.5), x)


def _saturate_uint8(x):
    """MATLAB's double -> uint8 conversion: round half away from zero, clip to 0..255."""
    return np.clip(round_half_away(x), 0, 255).astype(np.uint8)


def im2uint8(x):
    """MATLAB ``uint8(x * 255)`` for a float image in [0, 1]: product in x's precision, round, saturate.

    Parameters
    ----------
    x : ndarray, float32 or float64, any shape

    Returns
    -------
    ndarray, uint8, same shape

    Notes
    -----
    The product is taken in x's own dtype (MATLAB multiplies a single image in single precision),
    then rounded half away from zero and clipped to 0..255.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"im2uint8 expects a float image in [0, 1], got dtype {x.dtype}")
    return _saturate_uint8(x * x.dtype.type(255))


def _lincomb(img, T, offset, channels=(0, 1, 2)):
    """``imlincomb(T[p,0], c0, T[p,1], c1, T[p,2], c2, offset[p])`` for each output channel p, in float64.

    imlincomb accumulates the products left to right in double precision and adds the constant
    last; keeping that order keeps the rounding of exact halves identical to MATLAB's.
    """
    c = [img[..., k].astype(np.float64) for k in range(3)]
    out = np.empty(img.shape[:2] + (len(channels),), dtype=np.float64)
    for i, p in enumerate(channels):
        out[..., i] = T[p, 0] * c[0] + T[p, 1] * c[1] + T[p, 2] * c[2] + offset[p]
    return out


def _check_color(img, name):
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"{name} expects an (H, W, 3) image or an (H, W) grayscale image, got shape {img.shape}")
    if img.dtype != np.uint8 and not np.issubdtype(img.dtype, np.floating):
        raise TypeError(f"{name} expects uint8 or float (in [0, 1]) pixels, got dtype {img.dtype}")
    return img


def rgb2ycbcr(img):
    """RGB to YCbCr exactly as MATLAB's ``rgb2ycbcr`` (BT.601 studio swing).

    Parameters
    ----------
    img : ndarray, shape (H, W, 3) or (H, W), dtype uint8 or float (RGB in [0, 1])

    Returns
    -------
    ycbcr : ndarray, same shape and dtype
        uint8: Y in 16..235, Cb and Cr in 16..240. float: the same divided by 255. A grayscale
        (H, W) image is returned unchanged.

    Notes
    -----
    Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255, Cb = 128 + (-37.797 R - 74.203 G + 112 B) / 255,
    Cr = 128 + (112 R - 93.786 G - 18.214 B) / 255, for R, G, B in 0..255.
    """
    img = np.asarray(img)
    if img.ndim == 2:
        return img
    img = _check_color(img, "rgb2ycbcr")
    if img.dtype == np.uint8:
        # MATLAB: T = (1/255) * origT, offset = 1 * origOffset, then imlincomb with uint8 output
        return _saturate_uint8(_lincomb(img, (1 / 255) * _T, _OFFSET))
    # float: T = (1/255) * origT, offset = (1/255) * origOffset; computed in double, cast back
    return _lincomb(img, (1 / 255) * _T, (1 / 255) * _OFFSET).astype(img.dtype)


def ycbcr2rgb(img):
    """YCbCr to RGB exactly as MATLAB's ``ycbcr2rgb`` (inverse of :func:`rgb2ycbcr`).

    Parameters
    ----------
    img : ndarray, shape (H, W, 3) or (H, W), dtype uint8 or float (YCbCr / 255)

    Returns
    -------
    rgb : ndarray, same shape and dtype
        uint8 rounded half away from zero and saturated; float clipped to [0, 1]. A grayscale
        (H, W) image is returned unchanged.

    Notes
    -----
    rgb = 255 inv(T) (ycbcr - offset) on the 0..255 scale, with T and offset those of rgb2ycbcr.
    """
    img = np.asarray(img)
    if img.ndim == 2:
        return img
    img = _check_color(img, "ycbcr2rgb")
    Tinv = np.linalg.inv(_T)
    if img.dtype == np.uint8:
        # MATLAB: T = 255 * inv(origT), offset = 255 * inv(origT) * origOffset
        return _saturate_uint8(_lincomb(img, 255 * Tinv, -(255 * Tinv @ _OFFSET)))
    # float: T = 255 * inv(origT), offset = 1 * inv(origT) * origOffset, then clipped to [0, 1]
    out = _lincomb(img, 255 * Tinv, -(Tinv @ _OFFSET))
    return np.clip(out, 0.0, 1.0).astype(img.dtype)


def y_channel(img):
    """Luminance Y of MATLAB ``rgb2ycbcr`` (the channel SRCNN sees); grayscale passes through.

    Parameters
    ----------
    img : ndarray, shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), dtype uint8 or float in [0, 1]
        An alpha channel (H, W, 4) is dropped, as MATLAB's ``imread`` returns it separately.

    Returns
    -------
    y : ndarray, shape (H, W), same dtype as img
    """
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[2] == 1:
        return img[..., 0]
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[..., :3]
    if img.ndim == 2:
        return img
    img = _check_color(img, "y_channel")
    if img.dtype == np.uint8:  # the first row of rgb2ycbcr only, same arithmetic
        return _saturate_uint8(_lincomb(img, (1 / 255) * _T, _OFFSET, channels=(0,))[..., 0])
    return _lincomb(img, (1 / 255) * _T, (1 / 255) * _OFFSET, channels=(0,))[..., 0].astype(img.dtype)
