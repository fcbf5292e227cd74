"""``imresize``: MATLAB's ``imresize(A, scale, method)``, bicubic, bilinear or nearest, in NumPy + Numba.

The readable part, :func:`contributions`, is MATLAB's own ``imresize>contributions`` line by line: for
each output sample, the source indices it reads and their weights. The arithmetic is the separable
pass of :mod:`npsrcnn.interp.bicubic` (:func:`~npsrcnn.interp.bicubic.resample_axis`, a Numba kernel), with the
same index mirroring. Each method is MATLAB's kernel and its width in source pixels (``METHODS``):
'bicubic' Keys a = -0.5 (width 4, the default), 'bilinear' the triangle (width 2), 'nearest' the box
``(-0.5 <= x) & (x < 0.5)`` (width 1). Conventions, all MATLAB's:

- output size ``ceil(scale * in)`` per dimension (or the ``output_shape`` asked for, the scale then
  being ``out / in`` per dimension);
- source coordinate ``u = x / s + 0.5 (1 - 1/s)`` of output pixel x (1-based): pixel centres map to
  pixel centres;
- on a downscale (s < 1) the kernel is stretched by 1/s and scaled by s, i.e. low-pass filtered
  (antialiasing, on by default except for 'nearest'); ``P = ceil(width / s) + 2`` taps,
  ``width + 2`` without it;
- weights normalised to sum 1 per output sample; taps with zero weight for every output dropped;
- source indices outside the image mirrored: ``[1:n, n:-1:1]`` repeated (half-sample symmetric);
- dimensions resized one at a time, the one with the smaller scale first (rows first on a tie),
  the intermediate stored in the input's class.

Precision: sums in float64, each pass rounded once to the input dtype (float32 stays float32 between
the passes, as MATLAB keeps ``single``). uint8 input is rounded half away from zero and saturated
after each pass, as MATLAB's ``imresize`` does for ``uint8``. This reproduces the authors' bicubic
baseline PSNR on Set5 and Set14 to 0.01 dB (tests/test_resize.py).
"""
import math

import numpy as np

from .bicubic import keys_kernel, mirror_index, resample_axis
from .bilinear import triangle_kernel

DTYPES = (np.float32, np.float64, np.uint8)


def box_kernel(x):
    """MATLAB's ``imresize>box``: 1 on [-0.5, 0.5), 0 elsewhere (a tie goes to the sample on the right)."""
    x = np.asarray(x, dtype=np.float64)
    return ((-0.5 <= x) & (x < 0.5)).astype(np.float64)


# method -> (kernel, its width in source pixels, antialiasing by default): MATLAB's imresize table.
# MATLAB does not antialias 'nearest' unless asked to.
METHODS = {"bicubic": (keys_kernel, 4.0, True), "bilinear": (triangle_kernel, 2.0, True),
           "nearest": (box_kernel, 1.0, False)}


def contributions(n_in, n_out, scale, antialiasing=True, method="bicubic"):
    """Source indices and weights of every output sample along one dimension, as MATLAB's imresize.

    Parameters
    ----------
    n_in, n_out : int, input and output lengths
    scale : float, the scale along this dimension (out / in, or the user's scale)
    antialiasing : bool, widen the kernel by 1/scale on a downscale
    method : "bicubic", "bilinear" or "nearest" (the kernel and its width, from ``METHODS``)

    Returns
    -------
    idx : ndarray, shape (n_out, P), int64, 0-based source indices (mirrored into 0..n_in-1)
    w : ndarray, shape (n_out, P), float64, rows sum to 1

    Notes: u = x/s + 0.5 (1 - 1/s) (x 1-based); w = h(u - j) / sum_j h(u - j) over
    j = floor(u - width/2) + (0..P-1), with h(d) = s K(s d) when antialiasing a downscale, else K(d).
    """
    kernel, width, _ = METHODS[method]
    if scale < 1 and antialiasing:
        width = width / scale

        def h(d):
            return scale * kernel(scale * d)

    else:
        h = kernel
    x = np.arange(1, n_out + 1, dtype=np.float64)  # 1-based, as MATLAB
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    P = int(math.ceil(width)) + 2
    j = left[:, None] + np.arange(P)  # n_out, P (1-based source indices)
    w = h(u[:, None] - j)
    w = w / w.sum(axis=1, keepdims=True)
    idx = mirror_index(j.astype(np.int64) - 1, n_in)
    keep = np.any(w != 0, axis=0)  # MATLAB drops columns that are zero for every output
    return np.ascontiguousarray(idx[:, keep]), np.ascontiguousarray(w[:, keep])


def _round_uint8(a):
    """MATLAB's conversion of a double to uint8: round half away from zero, saturate to 0..255."""
    return np.clip(np.floor(a + 0.5), 0, 255).astype(np.uint8)  # a + 0.5 >= 0.5 for a >= 0


def _check(img, scale, output_shape, method):
    """Validate the arguments; return (scales, output shape) per dimension."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {tuple(METHODS)}, got {method!r}")
    if not isinstance(img, np.ndarray):
        raise ValueError(f"img must be a NumPy array, got {type(img).__name__}")
    if img.ndim not in (2, 3) or 0 in img.shape:
        raise ValueError(f"img must be a non-empty (H, W) or (H, W, C) array, got shape {img.shape}")
    if img.dtype not in DTYPES:
        raise ValueError(f"img must be float32, float64 or uint8, got {img.dtype}")
    if (scale is None) == (output_shape is None):
        raise ValueError("give exactly one of scale and output_shape")
    H, W = img.shape[:2]
    if scale is not None:
        if isinstance(scale, bool) or not isinstance(scale, (int, float, np.integer, np.floating)):
            raise ValueError(f"scale must be a positive number, got {scale!r}")
        scale = float(scale)
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be a positive finite number, got {scale!r}")
        shape = (math.ceil(scale * H), math.ceil(scale * W))
        return (scale, scale), shape
    try:
        Ho, Wo = output_shape
    except (TypeError, ValueError):
        raise ValueError(f"output_shape must be (rows, cols), got {output_shape!r}") from None
    for n in (Ho, Wo):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"output_shape must be two positive integers, got {output_shape!r}")
    return (Ho / H, Wo / W), (int(Ho), int(Wo))


def imresize(img, scale=None, output_shape=None, antialiasing=None, method="bicubic"):
    """Resize like MATLAB's ``imresize(img, scale, method)`` or ``imresize(img, [Ho Wo], method)``.

    Parameters
    ----------
    img : ndarray, shape (H, W) or (H, W, C), float32, float64 or uint8
    scale : float > 0, the same for both dimensions; or
    output_shape : (Ho, Wo), positive ints (exactly one of scale and output_shape)
    antialiasing : bool, MATLAB's 'Antialiasing' option; None (default) is MATLAB's default, True
        except for 'nearest'
    method : "bicubic" (default), "bilinear" or "nearest", MATLAB's methods of those names

    Returns
    -------
    out : ndarray, shape (Ho, Wo) or (Ho, Wo, C), dtype of img; Ho = ceil(scale * H) for a scale

    Raises
    ------
    ValueError
        img not a non-empty 2-D/3-D float32/float64/uint8 array, a bad scale / output_shape, or an
        unknown method.

    Notes: out = R_rows img R_cols^T, R from :func:`contributions`, the smaller scale applied first.
    """
    scales, shape = _check(img, scale, output_shape, method)
    if antialiasing is None:
        antialiasing = METHODS[method][2]
    if img.dtype == np.uint8:
        dtype, cast = np.float64, _round_uint8
    else:
        dtype, cast = img.dtype, None
    x = img if img.ndim == 3 else img[:, :, None]
    for dim in sorted((0, 1), key=lambda d: scales[d]):  # stable: rows first on a tie, as MATLAB
        idx, w = contributions(x.shape[dim], shape[dim], scales[dim], antialiasing, method)
        x = resample_axis(x, idx, w, axis=dim, dtype=dtype)
        if cast is not None:
            x = cast(x)
    return x if img.ndim == 3 else x[:, :, 0]
