"""NCHW forward/backward pairs, the public API: the engine's fast ops and the lesson's readable twins.

``conv2d_forward/backward``, ``relu_forward/backward`` and ``mse_loss`` run on the engine
(:mod:`npsrcnn.engine`), cs231n style: ``op_forward(...) -> (out, cache)`` and
``op_backward(dout, cache) -> gradients in argument order``. The ``*_reference`` functions are the
lesson's (:mod:`npsrcnn.lesson`), under the names the tests compare the engine against.
``conv_forward_cm``, ``conv_backward_cm`` and :class:`Workspace` are the engine's channel-major entry
point, fused with ReLU, which :class:`npsrcnn.model.SRCNN` chains.
"""
import numpy as np

from . import lesson
from .engine import (CHUNK_BYTES, PADDINGS, REDUCTIONS, Workspace, conv2d_backward, conv2d_forward,  # noqa: F401
                     conv_backward_cm, conv_forward_cm, mse_loss, relu_backward, relu_forward)
from .engine.conv import to_cm as _to_cm  # noqa: F401  (tests switch layouts with it)

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
