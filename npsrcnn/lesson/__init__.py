"""The lesson: backpropagation through SRCNN in plain NumPy, one readable function per step.

Read with the walkthrough in ``docs/backprop/`` (start at ``docs/README.md``), in this order:

- ``loss``       :func:`mse_loss`, Caffe's EuclideanLoss ``sum((out - y)**2) / (2 N)`` and its gradient
- ``relu``       :func:`relu_forward` / :func:`relu_backward` and the mask
- ``conv``       :func:`im2col`, :func:`conv2d_forward` / :func:`conv2d_backward` (im2col + one matrix
                 product), dX three ways, the padding's gradient folded back
- ``network``    :func:`srcnn_forward`, :func:`srcnn_backward`, :func:`srcnn_loss_and_grads`
- ``sgd``        momentum SGD in Caffe's form and in PyTorch's
- ``gradcheck``  centred differences and the relative error that check every gradient above

Everything here is the readable truth: NCHW arrays, ``op_forward(...) -> (out, cache)`` and
``op_backward(dout, cache) -> gradients in argument order``, any float dtype. The fast path that
computes the same sums is :mod:`npsrcnn.engine`; the tests hold the two equal.
"""
from .conv import (col2im, conv2d_backward, conv2d_forward, conv2d_forward_naive, dx_full_correlation,
                   dx_scatter, im2col, pad, pad_widths, unpad_grad)
from .gradcheck import numerical_grad, numerical_vjp, rel_error
from .loss import mse_loss
from .network import srcnn_backward, srcnn_forward, srcnn_loss_and_grads
from .relu import relu_backward, relu_forward
from .sgd import sgd_momentum_caffe, sgd_momentum_pytorch

__all__ = ["col2im", "conv2d_backward", "conv2d_forward", "conv2d_forward_naive", "dx_full_correlation",
           "dx_scatter", "im2col", "mse_loss", "numerical_grad", "numerical_vjp", "pad", "pad_widths", "rel_error",
           "relu_backward", "relu_forward", "sgd_momentum_caffe", "sgd_momentum_pytorch", "srcnn_backward",
           "srcnn_forward", "srcnn_loss_and_grads", "unpad_grad"]
