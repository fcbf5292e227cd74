"""The sizes npsrcnn accepts from a file or a flag before it allocates anything (docs/reliability.md).

Every reader compares what a header or metadata declares with these limits first, so a crafted
file of a few kilobytes cannot ask for gigabytes: the pixels of an image (in or out), the parameters
of a weights file, the side of a training patch, the bytes of an HDF5 chunk, a stored scale.
"""
import math

import numpy as np

from .errors import UserError, shown

# Pillow refuses an image above twice Image.MAX_IMAGE_PIXELS (1024 * 1024 * 1024 // 4 // 3) as a
# decompression bomb; we refuse the same count in every image we read and every image we make
# (`upscale --max-pixels` raises it). 178,956,970 pixels: 16384x10922, or a 4000x3000 photo at x3.
MAX_PIXELS = 2 * 89_478_485
# Parameters in a weights file, all arrays together: the paper's 9-5-5 net has 57,281, a 9-5-5 net of
# 1024 and 512 channels 13 million.
MAX_WEIGHTS = 1 << 24
# The side of a training patch (the paper's is 33): a batch of 32 such patches through 96 channels of
# activations is already ~0.8 GB.
MAX_PATCH_SIDE = 256
# One HDF5 chunk is inflated whole to read any part of it; h5py's own chunks are at most 1 MiB, and
# prepare's are 128 patches (0.8 MB).
MAX_CHUNK_BYTES = 64 << 20
# deflate's largest compression ratio is 1032:1; a filtered HDF5 dataset that declares more than this
# many times the bytes it stores is mostly fill value (never written), not data.
MAX_RATIO = 1100
# A scale stored in a weights or patch file: SR is trained for x2 to x8; a stored factor above this
# is a corrupt or crafted file.
MAX_SCALE = 64


def check_pixels(width, height, source, limit=MAX_PIXELS, what="image", flag=""):
    """UserError unless a `width` x `height` image has at most `limit` pixels (`flag` says how to raise it)."""
    if width * height > limit:
        how = f"; {flag}" if flag else ""
        raise UserError(f"{shown(source)}: a {width}x{height} {what} is {width * height:,} pixels, over the limit of "
                        f"{limit:,}{how}")


def check_scale(value, source):
    """A stored ``scale`` attribute as an int; UserError unless it is one whole number from 1 to MAX_SCALE.

    MATLAB stores numbers as doubles, so 3.0 is 3; 2.5, "x3", [2, 3], NaN or 10**9 are refused.
    """
    try:
        v = np.asarray(value)
        ok = v.size == 1 and v.dtype.kind in "iuf"
        x = v.reshape(()).item() if ok else None
        ok = ok and math.isfinite(x) and x == int(x) and 1 <= int(x) <= MAX_SCALE
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        text = repr(value)
        text = text if len(text) <= 40 else text[:37] + "..."
        raise UserError(f"{shown(source)}: its scale attribute is {shown(text)}, not a whole number from 1 to "
                        f"{MAX_SCALE}")
    return int(x)


def no_memory(source, doing="reading it"):
    """The UserError for a MemoryError while `doing` something with `source`."""
    return UserError(f"{shown(source)}: not enough memory for {doing}; close other programs or use a machine with "
                     "more memory")
