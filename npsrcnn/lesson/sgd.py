"""SGD with momentum written two ways: Caffe's (the paper's, and :class:`npsrcnn.training.optim.SGD`'s) and PyTorch's.

Walked through in ``docs/backprop/06-sgd-momentum.md``. Both return new arrays ``(w, v)``.
"""


def sgd_momentum_caffe(w, v, g, lr, momentum):
    """``v = momentum * v - lr * g; w = w + v``: v is a decaying sum of past steps."""
    v = momentum * v - lr * g
    return w + v, v


def sgd_momentum_pytorch(w, buf, g, lr, momentum):
    """``buf = momentum * buf + g; w = w - lr * buf``: buf is a decaying sum of past gradients.

    With a constant ``lr`` this is the Caffe form with ``v = -lr * buf``.
    """
    buf = momentum * buf + g
    return w - lr * buf, buf
