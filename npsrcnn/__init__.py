"""npsrcnn: SRCNN super-resolution (Dong et al., ECCV 2014 / TPAMI 2016) from scratch in NumPy and Numba.

Where things are:

- ``npsrcnn.lesson``   the readable path the walkthrough (docs/) reads: NCHW conv (im2col + one ``@``),
                       ReLU, the loss, the reference network, momentum SGD, gradient checking
- ``npsrcnn.engine``   the fast path: channel-major conv strategies (im2col, taps, 1x1), fused bias + ReLU,
                       Workspace and chunking, the Numba kernels with their NumPy references
- ``npsrcnn.layers``   the public NCHW pairs (conv2d, ReLU, MSE) on the engine, beside the lesson's twins
- ``npsrcnn.im2col``   the engine's im2col / col2im / tap kernels under their old name
- ``npsrcnn.optim``    SGD with momentum and per-parameter learning rates
- ``npsrcnn.model``    the SRCNN network: init, predict, loss + gradients, HDF5 save/load
- ``npsrcnn.bicubic``  bicubic interpolation as the 16-coefficient solve, and the separable fast path
- ``npsrcnn.bilinear`` bilinear interpolation as the 4-coefficient solve, and the separable fast path
- ``npsrcnn.resize``   ``imresize``, equal to MATLAB's ``imresize(..., 'bicubic' | 'bilinear' | 'nearest')``
- ``npsrcnn.color``    MATLAB-compatible ``rgb2ycbcr`` / ``ycbcr2rgb`` (BT.601)
- ``npsrcnn.metrics``  PSNR and SSIM (Wang et al. 2004) in float64
- ``npsrcnn.patches``  training data: modcrop, degrade, 33x33 / 21x21 patches, HDF5
- ``npsrcnn.pretrained`` ``--weights`` by name (x2, x3, x4) or path (.h5, .npz, .mat)
- ``npsrcnn.patchcache`` training patches cut once, shared by runs, keyed by content
- commands: ``npsrcnn train``, ``upscale``, ``evaluate``, ``prepare``, ``data``, ``convert``
  (``npsrcnn/__main__.py``), each also ``python -m npsrcnn.<command>``
"""

__version__ = "0.1.0"


def __getattr__(name):
    # Lazy re-exports: `import npsrcnn` stays cheap (no Numba compilation until a kernel is used).
    if name == "imresize":
        from .resize import imresize

        return imresize
    if name in ("rgb2ycbcr", "ycbcr2rgb"):
        from . import color

        return getattr(color, name)
    if name in ("psnr", "ssim"):
        from . import metrics

        return getattr(metrics, name)
    if name == "SRCNN":
        from .model import SRCNN

        return SRCNN
    raise AttributeError(f"module 'npsrcnn' has no attribute {name!r}")
