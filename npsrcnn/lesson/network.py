"""The SRCNN network from the lesson's layers: forward pairs, then the backward calls in reverse.

Walked through in ``docs/backprop/05-the-chain.md``. ``params`` is the dict of
:class:`npsrcnn.model.srcnn.SRCNN` (w1 (n1, 1, f1, f1), b1, w2 (n2, n1, f2, f2), b2, w3 (1, n2, f3, f3), b3);
the engine's :meth:`~npsrcnn.model.srcnn.SRCNN.loss_and_grads` computes the same, and the tests hold the
two equal.
"""
from .conv import conv2d_backward, conv2d_forward
from .loss import mse_loss
from .relu import relu_backward, relu_forward


def srcnn_forward(params, x, padding="valid"):
    """conv -> ReLU -> conv -> ReLU -> conv.

    Parameters
    ----------
    params : dict of ndarray
    x : ndarray, shape (N, 1, H, W)
    padding : {"valid", "zero", "replicate"}
        "valid" in training (the output shrinks by f1 + f2 + f3 - 3 pixels); "replicate" as the
        authors' MATLAB test code.

    Returns
    -------
    out : ndarray, shape (N, 1, Ho, Wo)
    caches : tuple, for :func:`srcnn_backward`
    """
    p = params
    z1, conv1 = conv2d_forward(x, p["w1"], p["b1"], padding)  # N, n1, H1, W1
    a1, relu1 = relu_forward(z1)  # N, n1, H1, W1
    z2, conv2 = conv2d_forward(a1, p["w2"], p["b2"], padding)  # N, n2, H2, W2
    a2, relu2 = relu_forward(z2)  # N, n2, H2, W2
    out, conv3 = conv2d_forward(a2, p["w3"], p["b3"], padding)  # N, 1, Ho, Wo
    return out, (conv1, relu1, conv2, relu2, conv3)


def srcnn_backward(dout, caches):
    """Gradients of every parameter from ``dout`` (N, 1, Ho, Wo): the forward's calls in reverse."""
    conv1, relu1, conv2, relu2, conv3 = caches
    da2, dw3, db3 = conv2d_backward(dout, conv3)  # N, n2, H2, W2
    dz2 = relu_backward(da2, relu2)  # N, n2, H2, W2
    da1, dw2, db2 = conv2d_backward(dz2, conv2)  # N, n1, H1, W1
    dz1 = relu_backward(da1, relu1)  # N, n1, H1, W1
    _dx, dw1, db1 = conv2d_backward(dz1, conv1)  # the image's gradient: computed, not needed
    return dict(w1=dw1, b1=db1, w2=dw2, b2=db2, w3=dw3, b3=db3)


def srcnn_loss_and_grads(params, x, y, reduction="caffe"):
    """Loss of one batch and its gradient wrt every parameter (valid convolutions, as in training).

    x (N, 1, H, W) and y (N, 1, Ho, Wo) as :meth:`npsrcnn.model.srcnn.SRCNN.loss_and_grads`; returns
    ``(loss, grads)`` with ``grads`` keyed like ``params``.
    """
    out, caches = srcnn_forward(params, x)  # N, 1, Ho, Wo
    loss, dout = mse_loss(out, y, reduction)  # scalar, N, 1, Ho, Wo
    return loss, srcnn_backward(dout, caches)
