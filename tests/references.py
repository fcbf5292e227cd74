"""The lesson's readable ops (:mod:`npsrcnn.lesson`) in the call shapes the engine's tests compare against."""
import numpy as np

from npsrcnn import lesson

relu_reference = lesson.relu_forward  # x -> (max(0, x), mask x > 0)


def conv2d_forward_reference(x, w, b, padding="valid"):
    """The lesson's :func:`~npsrcnn.lesson.conv.conv2d_forward` (im2col and one ``@``), output only."""
    return lesson.conv2d_forward(x, w, b, padding)[0]


def conv2d_backward_reference(dout, x, w, padding="valid"):
    """The lesson's :func:`~npsrcnn.lesson.conv.conv2d_backward`: (dx, dw, db) at input x, weights w."""
    _, cache = lesson.conv2d_forward(x, w, np.zeros(w.shape[0], w.dtype), padding)
    return lesson.conv2d_backward(dout, cache)


def mse_reference(pred, target, reduction="caffe"):
    """The lesson's :func:`~npsrcnn.lesson.loss.mse_loss` in float64: (loss, dpred)."""
    return lesson.mse_loss(np.asarray(pred, np.float64), np.asarray(target, np.float64), reduction)
