"""SRCNN's loss and gradients composed from the engine's public NCHW ops, as a user of the API writes it.

:meth:`npsrcnn.model.srcnn.SRCNN.loss_and_grads` computes the same with reused buffers; this module is
the proof that the public ops (:mod:`npsrcnn.engine`, cs231n style ``op_forward(...) -> (out, cache)``
and ``op_backward(dout, cache)``) compose into the network at nearly the model's speed.
"""
from ..engine import conv2d_backward, conv2d_forward, mse_loss, relu_backward, relu_forward


def srcnn_loss_and_grads(params, x, y, reduction="caffe", fuse_relu=True):
    """SRCNN's loss and gradients composed from this module's public ops, as a user of the API writes it.

    The chain of :func:`npsrcnn.lesson.network.srcnn_loss_and_grads` on the engine, except that layer 1's
    backward skips the image's gradient (``need_dx=False``), which nothing uses, and that each ReLU is
    the conv's ``relu=True`` (its bias pass) unless `fuse_relu` is False, which chains
    :func:`relu_forward` / :func:`relu_backward` as separate ops: the same values, two more passes over
    each activation. :meth:`npsrcnn.model.srcnn.SRCNN.loss_and_grads` computes the same with reused buffers and
    each sub-batch through all layers on one thread; tests/test_layers.py holds the two equal, and
    ``benchmarks/bench_engine.py --composed`` times this beside it. Each layer's output is a
    channel-major view that the next op takes without a copy, and a batch of more than 32 runs as
    sub-batches on worker threads (:mod:`npsrcnn.engine.parallel`), each reading and writing its
    images of the whole batch's arrays.

    Parameters
    ----------
    params : dict of ndarray, keyed w1, b1, w2, b2, w3, b3 as ``SRCNN.params``
    x : ndarray, shape (N, 1, H, W); y : ndarray, shape (N, 1, Ho, Wo)

    Returns
    -------
    loss : float
    grads : dict of ndarray keyed like params
    """
    p = params
    if fuse_relu:  # each ReLU in its conv's bias pass, its mask in the conv's backward
        a1, conv1 = conv2d_forward(x, p["w1"], p["b1"], relu=True)  # N, n1, H1, W1
        a2, conv2 = conv2d_forward(a1, p["w2"], p["b2"], relu=True)  # N, n2, H2, W2
    else:
        z1, conv1 = conv2d_forward(x, p["w1"], p["b1"])
        a1, relu1 = relu_forward(z1)
        z2, conv2 = conv2d_forward(a1, p["w2"], p["b2"])
        a2, relu2 = relu_forward(z2)
    out, conv3 = conv2d_forward(a2, p["w3"], p["b3"])  # N, 1, Ho, Wo
    loss, dout = mse_loss(out, y, reduction)
    da2, dw3, db3 = conv2d_backward(dout, conv3)
    if not fuse_relu:
        da2 = relu_backward(da2, relu2)
    da1, dw2, db2 = conv2d_backward(da2, conv2)
    if not fuse_relu:
        da1 = relu_backward(da1, relu1)
    _, dw1, db1 = conv2d_backward(da1, conv1, need_dx=False)
    return loss, dict(w1=dw1, b1=db1, w2=dw2, b2=db2, w3=dw3, b3=db3)
