"""Geometric self-ensemble at inference (EDSR+, Lim et al. 2017): the network on the 8 flips and rotations
of its input, each output turned back, the 8 averaged. It costs 8 forward passes for one image.
"""
import numpy as np

TRANSFORMS = tuple(range(8))  # the dihedral group of the square: rot90 k times (k = t % 4), after a flip if t >= 4


def transform(x, t):
    """Element `t` (0-7) of the dihedral group applied to the last two axes of `x`.

    Parameters
    ----------
    x : ndarray, shape (..., H, W)
    t : int, 0-3 rotate by 90 degrees t times, 4-7 flip left-right first, then rotate t - 4 times

    Returns
    -------
    A view of shape (..., H, W) for even t % 4, (..., W, H) for odd.
    """
    if t not in TRANSFORMS:
        raise ValueError(f"transform must be 0-7, got {t!r}")
    x = x[..., ::-1] if t >= 4 else x
    return np.rot90(x, t % 4, axes=(-2, -1))


def inverse(y, t):
    """Undo :func:`transform`: ``inverse(transform(x, t), t)`` is `x` (rotate back, then flip back)."""
    if t not in TRANSFORMS:
        raise ValueError(f"transform must be 0-7, got {t!r}")
    y = np.rot90(y, -(t % 4), axes=(-2, -1))
    return y[..., ::-1] if t >= 4 else y


class SelfEnsemble:
    """A network that predicts the mean of `model` over the 8 flips and rotations of its input.

    Parameters
    ----------
    model : SRCNN, or any object with ``predict(x, padding, strip_rows)``, ``arch``, ``border`` and ``scale``

    Notes
    -----
    predict(x) = mean over t of inverse(model.predict(transform(x, t)), t), summed in float64 in the
    order t = 0..7, returned as float32. Each pixel still depends only on the pixels within ``border``
    of it, so upscaling in bands with context rows (model.upscaling.Upscaler) gives the whole image's
    result: a flip or rotation keeps the context on the band's side, where it is cut off again.
    """

    def __init__(self, model):
        self.model = model

    @property
    def arch(self):
        return self.model.arch

    @property
    def border(self):
        return self.model.border

    @property
    def scale(self):
        return self.model.scale

    def __repr__(self):
        return f"SelfEnsemble({self.model!r})"

    def predict(self, x, padding="replicate", strip_rows=None):
        """As ``SRCNN.predict`` (x of shape (H, W) or (N, 1, H, W), float32 out), 8 times over.

        Notes
        -----
        out = (1/8) sum_t inverse_t(model(transform_t(x))), in float64, then float32.
        """
        x = np.asarray(x)
        if x.ndim not in (2, 4) or (x.ndim == 4 and x.shape[1] != 1):
            raise ValueError(f"x must have shape (H, W) or (N, 1, H, W), got {x.shape}")
        total = None
        for t in TRANSFORMS:
            y = inverse(self.model.predict(np.ascontiguousarray(transform(x, t)), padding=padding,
                                           strip_rows=strip_rows), t)
            total = y.astype(np.float64) if total is None else total + y
        return (total / len(TRANSFORMS)).astype(np.float32)
