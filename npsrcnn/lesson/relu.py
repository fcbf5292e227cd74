"""ReLU and its mask, the readable way. Walked through in ``docs/backprop/03-relu.md``."""
import numpy as np


def relu_forward(x):
    """``a = max(0, x)`` elementwise.

    Returns
    -------
    a : ndarray, same shape as x
    mask : ndarray of bool, ``x > 0``: all that :func:`relu_backward` needs (the cache)
    """
    return np.maximum(x, 0), x > 0


def relu_backward(da, mask):
    """``dx = da * (x > 0)``: the gradient passes where the input was positive and stops elsewhere.

    Notes
    -----
    ``da/dx`` is 1 for x > 0 and 0 for x < 0; at x = 0 ReLU has no derivative and we take 0 (as
    PyTorch and Caffe do), which is what ``x > 0`` gives.
    """
    return da * mask
