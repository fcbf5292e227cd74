"""Upscaling whole images with a network: luminance through SRCNN, chroma and alpha bicubic, in bands.

Colour images go through YCbCr (MATLAB's BT.601 ``rgb2ycbcr``): the network sharpens Y, Cb and Cr
are upscaled bicubically, then back to RGB. The network's input is the bicubic upscale (MATLAB
``imresize``) of the image, as in the paper. Large images are processed in bands of output rows so
memory stays bounded; each band is computed with enough context rows that the result is identical
to processing the whole image at once.
"""
import functools
import sys

from ..util.errors import UserError, shown
from ..util.limits import MAX_PIXELS, check_pixels, no_memory

BAND_ROWS = 256  # output rows per band (the engine strips each band further to bound its buffers)


class Upscaler:
    """Bicubic + SRCNN upscaling of one channel, band by band, equal to whole-image processing up to
    float32 rounding (the bicubic rows exactly; the network's GEMMs have the band's width, and BLAS
    sums another width in another order: within 1e-6, at most one step after quantisation).

    Parameters
    ----------
    model : SRCNN, or a SelfEnsemble of one (the same bands give the whole image's ensemble)
    scale : int
    padding : str, the network's padding ("replicate" as the authors' MATLAB code)
    band_rows : int, output rows computed at a time
    """

    def __init__(self, model, scale, padding="replicate", band_rows=BAND_ROWS):
        self.model, self.scale, self.padding, self.band_rows = model, scale, padding, band_rows

    def bands(self, H_out):
        for a in range(0, H_out, self.band_rows):
            yield a, min(a + self.band_rows, H_out)

    def bicubic_rows(self, img, a, b):
        """Rows [a, b) of ``imresize(img, scale)`` (MATLAB bicubic) without computing the others.

        imresize resizes rows first when both scales are equal; each output row of that pass depends
        only on its own weights, so restricting the row weights to [a, b) gives exactly those rows.
        """
        import numpy as np

        from ..interp.bicubic import resample_axis
        from ..interp.resize import contributions

        H, W = img.shape[:2]
        s = self.scale
        idx_r, w_r = contributions(H, H * s, float(s))
        idx_c, w_c = contributions(W, W * s, float(s))
        x = img if img.ndim == 3 else img[:, :, None]
        x = resample_axis(x, idx_r[a:b], w_r[a:b], axis=0, dtype=x.dtype)
        x = resample_axis(x, idx_c, w_c, axis=1, dtype=x.dtype)
        return np.ascontiguousarray(x if img.ndim == 3 else x[:, :, 0])

    def sr_rows(self, y, a, b):
        """Rows [a, b) of SRCNN(imresize(y, scale)) for a low-resolution luminance y (float32, (H, W)).

        The network sees ``border`` context rows on each side that lies inside the image; its
        padding only touches rows within ``border`` of a band edge, which are cut off again, so only
        the image's true top and bottom are ever padded.
        """
        H_out = y.shape[0] * self.scale
        c = self.model.border
        lo, hi = max(a - c, 0), min(b + c, H_out)
        band = self.bicubic_rows(y, lo, hi)
        return self.model.predict(band, padding=self.padding)[a - lo:b - lo]


def upscale_image(image, scale=3, weights=None, padding="replicate", band_rows=BAND_ROWS, ensemble=False):
    """Upscale a photo with SRCNN: the Python face of ``npsrcnn upscale`` (``npsrcnn.upscale_image``).

    Parameters
    ----------
    image : ndarray, shape (H, W), (H, W, 3) or (H, W, 4), uint8, uint16 or float in [0, 1]; or a PIL image
        (modes L, RGB, RGBA, I;16)
    scale : int
    weights : str, Path or SRCNN, optional
        ``"x2"``, ``"x3"``, ``"x4"`` (the shipped networks), a weights file (ours, or the authors'
        ``.npz`` / ``.mat``), or a network; default: the one shipped for `scale`. Files are read once
        per process.
    padding : "replicate" (the authors') or "zero"
    ensemble : bool
        Geometric self-ensemble (model.ensemble.SelfEnsemble): the mean of the network over the 8
        flips and rotations of its input; 8 times the network's time.

    Returns
    -------
    The same kind as `image`: an array of its shape times `scale` and its dtype (floats clipped to
    [0, 1]), or a PIL image of its mode.

    Examples
    --------
    >>> import numpy as np, npsrcnn
    >>> npsrcnn.upscale_image(np.zeros((20, 30, 3), np.uint8), scale=3).shape
    (60, 90, 3)
    """
    import numpy as np

    pil = None
    if not isinstance(image, np.ndarray):
        try:
            from PIL import Image
        except ImportError:  # Pillow is a dependency; this only guards odd installs
            Image = None
        if Image is None or not isinstance(image, Image.Image):
            raise TypeError(f"image must be a NumPy array or a PIL image, not {type(image).__name__}")
        if image.mode not in ("L", "RGB", "RGBA", "I;16"):
            raise ValueError(f"PIL image of mode {image.mode}: convert it to L, RGB or RGBA first")
        pil, image = image.mode, np.asarray(image)
    if image.ndim not in (2, 3) or image.ndim == 3 and image.shape[2] not in (1, 3, 4):
        raise ValueError(f"image of shape {image.shape}: expected (H, W), (H, W, 3) or (H, W, 4)")
    if image.ndim == 3 and image.shape[2] == 1:
        return upscale_image(image[:, :, 0], scale, weights, padding, band_rows, ensemble)[:, :, None]
    if image.dtype.kind == "f":
        as16 = np.floor(np.clip(image, 0, 1) * 65535.0 + 0.5).astype(np.uint16)  # 16 bits: below float32's noise here
        out = upscale_image(as16, scale, weights, padding, band_rows, ensemble)
        return out.astype(image.dtype) / image.dtype.type(65535)
    if image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"image of dtype {image.dtype}: expected uint8, uint16 or float")
    model = weights if hasattr(weights, "predict") else _weights(None if weights is None else str(weights), scale)
    if ensemble:
        from .ensemble import SelfEnsemble

        model = SelfEnsemble(model)
    check_big_enough(image.shape, model, scale, "image")
    out = upscale_array(np.ascontiguousarray(image), model, scale, padding, band_rows)
    if pil is not None:
        from PIL import Image

        return Image.fromarray(out, pil)
    return out


@functools.lru_cache(maxsize=8)
def _weights(spec, scale):
    from .pretrained import load_weights

    return load_weights(spec, scale)[0]


def check_big_enough(shape, model, scale, what):
    """UserError if an image of `shape` is too small for the network to see one whole pixel's context."""
    H, W = shape[:2]
    field = 2 * model.border + 1  # the pixels each output pixel depends on: 13x13 for 9-1-5, 17x17 for 9-5-5
    smallest = -(-field // scale)  # ceil(field / scale)
    if min(H, W) < max(2, smallest):
        raise UserError(f"{shown(what)}: {W}x{H} is too small to upscale with the {model.arch} network x{scale}: "
                        f"each output pixel depends on {field}x{field} pixels of the x{scale} image, so the input "
                        f"needs at least {max(2, smallest)} pixels on each side")


def upscale_array(img, model, scale, padding="replicate", band_rows=BAND_ROWS, progress=None, max_pixels=MAX_PIXELS):
    """Upscale one image array with SRCNN on luminance and bicubic on chroma and alpha.

    Parameters
    ----------
    img : ndarray, shape (H, W), (H, W, 3) or (H, W, 4), uint8 or uint16
    model : SRCNN, or a SelfEnsemble of one
    scale : int
    progress : str, optional
        Show a tqdm bar over the bands on stderr, with this description.
    max_pixels : int
        UserError, before any work, if the output would have more pixels than this; a MemoryError
        allocating it becomes a UserError too.

    Returns
    -------
    out : ndarray, shape (scale*H, scale*W[, C]), same dtype as img
    """
    import numpy as np

    from ..image.color import rgb2ycbcr, ycbcr2rgb

    maxval = float(np.iinfo(img.dtype).max)
    H, W = img.shape[:2]
    C = 1 if img.ndim == 2 else img.shape[2]
    where = progress or "the image"
    check_pixels(W * scale, H * scale, where, max_pixels, f"x{scale} output of this image")
    up = Upscaler(model, scale, padding, band_rows)
    bands = list(up.bands(H * scale))
    if progress is not None:
        from tqdm import tqdm

        bands = tqdm(bands, desc=progress, unit="band", file=sys.stderr, leave=False)
    try:
        out = np.empty((H * scale, W * scale) + (() if img.ndim == 2 else (C,)), img.dtype)
    except MemoryError:
        raise no_memory(where, f"its {W * scale}x{H * scale} x{scale} output") from None

    def quantize(x):
        return np.clip(np.floor(x * maxval + 0.5), 0, maxval).astype(img.dtype)

    if C == 1:
        y = np.ascontiguousarray(img, np.float32) / np.float32(maxval)
        for a, b in bands:
            out[a:b] = quantize(up.sr_rows(y, a, b))
        return out
    rgb = img[:, :, :3].astype(np.float32) / np.float32(maxval)
    ycc = rgb2ycbcr(rgb)  # float, MATLAB's convention (Y in [16, 235] / 255)
    y = np.ascontiguousarray(ycc[:, :, 0])
    chroma = np.ascontiguousarray(ycc[:, :, 1:])
    alpha = np.ascontiguousarray(img[:, :, 3], np.float32) / np.float32(maxval) if C == 4 else None
    for a, b in bands:
        band = np.empty((b - a, W * scale, 3), np.float32)
        band[:, :, 0] = up.sr_rows(y, a, b)
        band[:, :, 1:] = up.bicubic_rows(chroma, a, b)
        out[a:b, :, :3] = quantize(ycbcr2rgb(band))
        if alpha is not None:
            out[a:b, :, 3] = quantize(up.bicubic_rows(alpha, a, b))
    return out
