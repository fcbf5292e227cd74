"""Reading and writing images with Pillow, with one clear error for anything that is not a usable image.

Arrays are ``(H, W)`` for grayscale, ``(H, W, 3)`` for RGB and ``(H, W, 4)`` for RGBA, dtype uint8 or
uint16 as stored (16-bit colour PNGs go through :mod:`npsrcnn.image.png16`, as Pillow reduces them to 8 bits).
Every image's size is checked from its header before it is decoded (``max_pixels``, by default
:data:`npsrcnn.util.limits.MAX_PIXELS`, Pillow's decompression-bomb count); truncated files are
errors, not silently padded (``ImageFile.LOAD_TRUNCATED_IMAGES`` is left False).
"""
import contextlib
import logging
import struct
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from . import png16
from .color import y_channel
from ..util.errors import UserError, shown
from ..util.files import atomic_output
from ..util.limits import MAX_PIXELS, no_memory

# Pillow logs what it finds wrong in a corrupt file (logger.error in TiffImagePlugin) and, with no
# handler configured, Python prints that on stderr beside our one-line error; an application that
# configures logging still gets the records.
logging.getLogger("PIL").addHandler(logging.NullHandler())

# Pillow mode -> (mode to convert to, numpy dtype)
_MODES = {
    "1": ("L", np.uint8),
    "L": ("L", np.uint8),
    "P": (None, np.uint8),  # palette: RGB or RGBA depending on transparency
    "RGB": ("RGB", np.uint8),
    "RGBA": ("RGBA", np.uint8),
    "LA": ("RGBA", np.uint8),
    "CMYK": ("RGB", np.uint8),
    "YCbCr": ("RGB", np.uint8),
    "I;16": (None, np.uint16),
    "I;16B": (None, np.uint16),
    "I;16L": (None, np.uint16),
    "I": (None, np.uint16),
}


def read_image(path, max_pixels=MAX_PIXELS):
    """Read an image file into a uint8 or uint16 array.

    Parameters
    ----------
    path : str or Path
    max_pixels : int or None
        Refuse an image of more pixels than this, from its header, before decoding it (default
        :data:`npsrcnn.util.limits.MAX_PIXELS`, the count Pillow refuses as a decompression bomb).

    Returns
    -------
    img : ndarray, shape (H, W), (H, W, 3) or (H, W, 4), dtype uint8 or uint16

    Raises
    ------
    UserError
        Missing or unreadable file, not an image, truncated or corrupt data, more than `max_pixels`
        pixels, a 16-bit PNG whose data inflates beyond its header's size, not enough memory, or a
        pixel format we do not handle.
    """
    with _reading(path, max_pixels):
        with open(path, "rb") as fh:
            if png16.is_png16_colour(fh.read(33)):  # Pillow would reduce these to 8 bits
                fh.seek(0)
                return _from_png16(fh, max_pixels)
        with Image.open(path) as im:
            _check_size(im, max_pixels)
            im.load()  # decode now, inside the try, so truncation is reported here
            return _to_array(im, path)


def header(path, max_pixels=MAX_PIXELS):
    """(W, H, bits, channels) of the image :func:`read_image` would return, from the file's header only.

    bits is 8 or 16; channels 1, 3 or 4 (alpha). Raises UserError as read_image does (a 16-bit PNG's
    IHDR is checked whole: its length, CRC, depth, colour type).
    """
    with _reading(path, max_pixels):
        with open(path, "rb") as fh:
            if png16.is_png16_colour(fh.read(33)):
                fh.seek(0)
                W, H, ctype = png16.read_header(fh, max_pixels)
                return W, H, 16, 3 if ctype == 2 else 4  # RGB, or gray + alpha / RGBA (read as RGBA)
        with Image.open(path) as im:
            _check_size(im, max_pixels)
            target, dtype = _layout(im, path)
            W, H = im.size
    return W, H, (16 if dtype == np.uint16 else 8), {"RGB": 3, "RGBA": 4}.get(target, 1)


def probe(path):
    """(bits, channels) of the array :func:`read_image` would return, from the file's header only."""
    return header(path)[2:]


def _check_size(im, max_pixels):
    W, H = im.size
    if max_pixels is not None and W * H > max_pixels:
        raise png16.TooManyPixels(f"a {W}x{H} image is {W * H:,} pixels, over the limit of {max_pixels:,}")


@contextlib.contextmanager
def _reading(path, max_pixels=MAX_PIXELS):
    """Turn what opening and decoding `path` can raise into one-line UserErrors naming it.

    Pillow's own bomb check (Image.MAX_IMAGE_PIXELS, a global) is off meanwhile: ours, on `max_pixels`,
    runs on the same header, before decoding, with the limit the caller asked for (one thread at a time).
    Pillow's warnings about a corrupt file (a TIFF tag larger than the file, ...) are not shown: the
    error, if any, says it in one line.
    """
    name = shown(path)
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"PIL\.")
            yield
    except FileNotFoundError:
        raise UserError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{name}: is a directory, not an image") from None
    except PermissionError:
        raise UserError(f"{name}: permission denied") from None
    except (Image.DecompressionBombError, png16.TooManyPixels) as exc:
        raise UserError(f"{name}: refused, {shown(exc)}") from None
    except Image.UnidentifiedImageError:
        raise UserError(f"{name}: not an image file Pillow can read") from None
    except MemoryError:
        raise no_memory(path, "decoding this image") from None
    except (OSError, SyntaxError, ValueError, struct.error) as exc:
        raise UserError(f"{name}: truncated or corrupt image ({shown(exc)})") from None
    except (EOFError, IndexError, KeyError, TypeError, OverflowError, ZeroDivisionError) as exc:  # Pillow's, rarely
        raise UserError(f"{name}: truncated or corrupt image ({type(exc).__name__}: {shown(exc)})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _from_png16(fh, max_pixels):
    img = png16.read_png16(fh, max_pixels=max_pixels)
    if img.shape[2] == 2:  # gray + alpha: as RGBA, like 8-bit LA images
        img = np.ascontiguousarray(img[:, :, [0, 0, 0, 1]])
    return img


def _layout(im, path):
    """(Pillow mode the array is made from, or None to keep im.mode; numpy dtype) for an opened image."""
    if im.mode not in _MODES:
        raise UserError(f"{shown(path)}: unsupported pixel format {im.mode!r}")
    target, dtype = _MODES[im.mode]
    if im.mode == "P":
        target = "RGBA" if "transparency" in im.info else "RGB"
    return target, dtype


def _to_array(im, path):
    target, dtype = _layout(im, path)
    if target is not None and target != im.mode:
        im = im.convert(target)
    arr = np.asarray(im)
    if dtype == np.uint16:
        if arr.min() < 0 or arr.max() > 65535:
            raise UserError(f"{shown(path)}: 32-bit integer pixels outside 0..65535 are not supported")
        arr = arr.astype(np.uint16)
    return np.ascontiguousarray(arr)


# Formats by suffix, for messages and for what each can hold.
FORMAT_NAMES = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WebP", ".bmp": "BMP", ".tif": "TIFF",
                ".tiff": "TIFF"}
LOSSY = (".jpg", ".jpeg", ".webp")  # take a quality
_GRAY16 = (".png", ".tif", ".tiff")  # can hold 16-bit grayscale
_NO_ALPHA = (".jpg", ".jpeg", ".bmp")  # JPEG has none; Pillow's BMP writer drops it


def check_format(path, bits, channels, what="the image"):
    """UserError unless an image of `bits` (8, 16) and `channels` (1, 3, 4) fits `path`'s format whole.

    Writing would otherwise fail late or lose data silently: Pillow makes 16-bit images 8-bit in
    WebP and drops alpha in BMP. `what` names the image in the message (e.g. the input file).
    """
    suffix = Path(path).suffix.lower()
    name = FORMAT_NAMES.get(suffix, suffix)
    if bits == 16 and channels > 1 and suffix != ".png":
        raise UserError(f"{shown(path)}: 16-bit colour images can only be written as .png, and {shown(what)} is one")
    if bits == 16 and suffix not in _GRAY16:
        raise UserError(f"{shown(path)}: {name} holds 8-bit images and {shown(what)} is 16-bit; write .png or .tif "
                        "to keep 16 bits")
    if channels == 4 and suffix in _NO_ALPHA:
        raise UserError(f"{shown(path)}: {name} has no alpha channel and {shown(what)} has one; write .png or .webp "
                        "to keep it")


def write_image(path, img, overwrite=False, quality=95):
    """Write a uint8 or uint16 image atomically; refuse to replace a file unless `overwrite`.

    Parameters
    ----------
    path : str or Path
        Output file; the format follows the suffix (.png, .jpg, .webp, .bmp, .tif, ...).
    img : ndarray, shape (H, W), (H, W, 3) or (H, W, 4), dtype uint8 or uint16
        16-bit: .png (and .tif for grayscale) only; alpha: not .jpg or .bmp (:func:`check_format`).
    quality : int, 1-100, for JPEG and WebP (Pillow's scale)
    """
    img = np.asarray(img)
    channels = 1 if img.ndim == 2 else (img.shape[2] if img.ndim == 3 else 0)
    if img.dtype not in (np.uint8, np.uint16) or channels not in (1, 3, 4):
        raise UserError(f"cannot write an image of dtype {img.dtype} and shape {img.shape}")
    fmt = Image.registered_extensions().get(Path(path).suffix.lower())
    if fmt is None:
        raise UserError(f"{shown(path)}: unknown image format {shown(repr(Path(path).suffix))}; use .png, .jpg, .webp, "
                        ".bmp or .tif")
    check_format(path, 16 if img.dtype == np.uint16 else 8, channels)
    if img.dtype == np.uint16 and channels > 1:
        with atomic_output(path, overwrite=overwrite) as tmp, open(tmp, "wb") as fh:
            png16.write_png16(fh, img)
        return
    pil = Image.fromarray(img)  # uint16 (H, W) becomes mode I;16
    options = dict(quality=int(quality)) if Path(path).suffix.lower() in LOSSY else {}
    with atomic_output(path, overwrite=overwrite) as tmp:
        pil.save(tmp, format=fmt, **options)

def load_y(path):
    """Read an image and return its uint8 luminance (Y of MATLAB rgb2ycbcr; grayscale as is)."""
    img = read_image(path)
    if img.dtype != np.uint8:
        raise UserError(f"{shown(path)}: {img.dtype} pixels; only 8-bit images are supported")
    return y_channel(img)
