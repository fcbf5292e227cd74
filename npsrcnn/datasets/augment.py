"""Data augmentation: the 8 flips/rotations of patch pairs on the fly, and downscaled image copies.

The dihedral group of the square has 8 elements: 4 rotations by 90 degrees, each with or without a
mirror. SRCNN's task (undo a bicubic blur) is the same in every orientation, so each transformed
pair is as good a training example as the original. :func:`augment_batch` draws one of the 8 per
patch from a generator the trainer seeds by (seed, epoch, batch): a resumed run draws the same ones.

Scale augmentation (FSRCNN, Dong et al. 2016: T91 with copies downscaled by 0.9, 0.8, 0.7, 0.6) is
applied when patches are cut (:func:`scaled_copies`), so it costs nothing per step.
"""
import numpy as np

N_DIHEDRAL = 8


def dihedral(x, k):
    """Element `k` (0-7) of the dihedral group on the last two axes: rotate k % 4 times by 90 degrees
    (counter-clockwise, as ``np.rot90``), then mirror left-right if k >= 4. Returns a view."""
    x = np.rot90(x, k % 4, axes=(-2, -1))
    return x[..., ::-1] if k >= 4 else x


def augment_batch(x, y, rng):
    """Transform each pair (x[n], y[n]) by its own random element of the dihedral group.

    Parameters
    ----------
    x : ndarray, shape (N, 1, s, s)
    y : ndarray, shape (N, 1, t, t); the label is the centre of the input, so the same transform
        keeps it the centre of the transformed input
    rng : numpy.random.Generator

    Returns
    -------
    x, y : new C-contiguous arrays of the same shapes and dtypes
    """
    k = rng.integers(0, N_DIHEDRAL, len(x))
    xo, yo = np.empty_like(x), np.empty_like(y)
    for e in range(N_DIHEDRAL):
        idx = np.flatnonzero(k == e)
        if idx.size:
            xo[idx] = dihedral(x[idx], e)
            yo[idx] = dihedral(y[idx], e)
    return xo, yo


def scaled_copies(y, factors):
    """The image itself, then a copy downscaled by each factor (MATLAB bicubic ``imresize``, uint8).

    Parameters
    ----------
    y : ndarray, shape (H, W), uint8 (a training image's luminance)
    factors : sequence of float in (0, 1)

    Yields
    ------
    ndarray, shape (ceil(f H), ceil(f W)), uint8
    """
    from ..interp.resize import imresize

    yield y
    for f in factors:
        yield imresize(y, float(f))


def parse_factors(text):
    """'0.9,0.8,0.7,0.6' -> (0.9, 0.8, 0.7, 0.6); '' or 'none' -> (); ValueError unless each is in (0, 1)."""
    if text.strip().lower() in ("", "none"):
        return ()
    factors = tuple(float(t) for t in text.split(","))
    if not all(0 < f < 1 for f in factors):
        raise ValueError(f"scale factors must be between 0 and 1, got {text!r}")
    return factors
