"""npsrcnn: SRCNN super-resolution (Dong et al., ECCV 2014 / TPAMI 2016) from scratch in NumPy and Numba.

The folders are the architecture (docs/architecture.md draws the imports):

- ``lesson/``    the readable path the walkthrough (docs/backprop/) reads: NCHW ops, the reference network
- ``engine/``    the fast path: channel-major convolution strategies, fused kernels, workspaces, threads
- ``interp/``    MATLAB's ``imresize``: bicubic and bilinear as coefficient solves, and their fast paths
- ``image/``     image files (8- and 16-bit), BT.601 colour conversion, comparison panels
- ``datasets/``  the pinned benchmark sets and fetching them, patches, the patch cache, augmentation
- ``model/``     the SRCNN network, its weight files, whole-image upscaling, the authors' test protocol
- ``training/``  optimizers and schedules, checkpoints, the loop over epochs
- ``metrics/``   PSNR and SSIM in float64
- ``util/``      errors meant for the user, safe file writes, Numba's options, thread counts

Every module at this level is a command, ``npsrcnn <command>`` or ``python -m npsrcnn.<command>``:
``train``, ``upscale``, ``evaluate``, ``prepare``, ``data``, ``convert``, ``cache``, ``export``. Commands
import the library; the library never imports a command.

The names a user writes live here: ``npsrcnn.upscale_image``, ``npsrcnn.SRCNN``, ``npsrcnn.imresize``,
``npsrcnn.rgb2ycbcr``, ``npsrcnn.ycbcr2rgb``, ``npsrcnn.psnr``, ``npsrcnn.ssim``.
"""

__version__ = "0.1.0"

# name -> module that defines it; imported on first use, so `import npsrcnn` compiles no Numba kernel.
_PUBLIC = {
    "SRCNN": "npsrcnn.model.srcnn",
    "upscale_image": "npsrcnn.model.upscaling",
    "imresize": "npsrcnn.interp.resize",
    "rgb2ycbcr": "npsrcnn.image.color",
    "ycbcr2rgb": "npsrcnn.image.color",
    "psnr": "npsrcnn.metrics.quality",
    "ssim": "npsrcnn.metrics.quality",
}


def __getattr__(name):
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'npsrcnn' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_PUBLIC))
