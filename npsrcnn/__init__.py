"""npsrcnn: SRCNN super-resolution (Dong et al., ECCV 2014 / TPAMI 2016) from scratch in NumPy and Numba.

Where things are:

- ``npsrcnn.im2col``   im2col / col2im Numba kernels and their NumPy references
- ``npsrcnn.layers``   conv2d, ReLU and the MSE (Caffe EuclideanLoss) forward/backward pairs
- ``npsrcnn.optim``    SGD with momentum and per-parameter learning rates
- ``npsrcnn.model``    the SRCNN network: init, predict, loss + gradients, HDF5 save/load
- ``npsrcnn.bicubic``  bicubic interpolation as the 16-coefficient solve, and the separable fast path
- ``npsrcnn.resize``   ``imresize``, equal to MATLAB's ``imresize(..., 'bicubic')``
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
