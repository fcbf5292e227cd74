"""The fast path: every optimisation of the forward and backward passes, in one place.

The lesson (:mod:`npsrcnn.lesson`) computes the same sums readably on NCHW arrays; the tests hold the
two equal. What the engine adds, and where:

- ``conv``       the entry point, :func:`conv_forward_cm` / :func:`conv_backward_cm`, on channel-major
                 ``(C, N, H, W)`` arrays: geometry, strip padding (``vpad``), fused bias + ReLU, and the
                 strategies ("1x1", "im2col", "taps", "winograd2", "winograd4") that form the product,
                 chosen per layer by cost (docs/engine.md). A new formulation goes here. Also the NCHW
                 :func:`conv2d_forward` / :func:`conv2d_backward` on top of it.
- ``unfold``     im2col / col2im Numba kernels (clamped or zero reads instead of padded copies).
- ``taps``       tap_sum / tap_spread Numba kernels (the F = 1 last layer).
- ``winograd``   Winograd F(m x m, K x K): Cook-Toom matrices, row / input / output transforms and their
                 adjoints (9-5-5's layer 2).
- ``pointwise``  bias + ReLU, ReLU mask + bias gradient, ReLU, and the squared-error loss kernels.
- ``workspace``  :class:`Workspace` (reused buffers) and the chunking that bounds memory.
- ``parallel``   coarse-grained threads: whole sub-batches or strips per worker, results in task order.

Each Numba kernel has a NumPy ``*_reference`` twin beside it. The public NCHW face is
:func:`conv2d_forward` / :func:`conv2d_backward`, :func:`relu_forward` / :func:`relu_backward` and
:func:`mse_loss` (cs231n style: ``op_forward(...) -> (out, cache)``, ``op_backward(dout, cache)``);
:class:`npsrcnn.model.srcnn.SRCNN` calls the channel-major entry point directly.
"""
from . import parallel
from .conv import (METHODS, PADDINGS, STRATEGIES, choose_method, conv2d_backward, conv2d_forward,
                   conv_backward_cm, conv_forward_cm, to_cm)
from .pointwise import REDUCTIONS, mse_loss, relu_backward, relu_forward
from .workspace import CHUNK_BYTES, Workspace

__all__ = ["CHUNK_BYTES", "METHODS", "PADDINGS", "REDUCTIONS", "STRATEGIES", "Workspace", "choose_method",
           "conv2d_backward", "conv2d_forward", "conv_backward_cm", "conv_forward_cm", "mse_loss",
           "relu_backward", "relu_forward", "to_cm"]
