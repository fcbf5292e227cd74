"""Side-by-side comparison images for ``upscale --compare``: bicubic | SRCNN [| original].

Each panel is shown as 8-bit RGB (grayscale repeated, 16 bits rounded to 8, alpha left out), under
a label, with a white gap between panels; the panels are pixel for pixel what was computed.
"""
import numpy as np

GAP = 8  # white columns between panels
HEADER = 20  # white rows above the panels, for the labels


def bicubic_image(img, scale):
    """MATLAB-style bicubic upscale of a whole uint8 / uint16 image (every channel), in its dtype.

    Parameters
    ----------
    img : ndarray, shape (H, W) or (H, W, C), uint8 or uint16
    scale : int

    Returns
    -------
    ndarray, shape (scale*H, scale*W[, C]), img's dtype
    """
    from ..interp.resize import imresize

    maxval = float(np.iinfo(img.dtype).max)
    x = np.asarray(imresize(img.astype(np.float32) / np.float32(maxval), scale))
    return np.clip(np.floor(x * maxval + 0.5), 0, maxval).astype(img.dtype)


def to_rgb8(img):
    """uint8 (H, W, 3) view of an image for display: gray repeated, 16 bits rounded to 8, alpha dropped."""
    if img.dtype == np.uint16:
        img = ((img.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if img.ndim == 2:
        img = img[:, :, None]
    return np.ascontiguousarray(np.repeat(img, 3, axis=2) if img.shape[2] == 1 else img[:, :, :3])


def side_by_side(panels):
    """One uint8 RGB image of labelled panels, left to right.

    Parameters
    ----------
    panels : list of (label, ndarray), the arrays all of the same height and width (any layout
        :func:`to_rgb8` takes)

    Returns
    -------
    ndarray, shape (HEADER + H, n*W + (n-1)*GAP, 3), uint8
    """
    from PIL import Image, ImageDraw

    H, W = panels[0][1].shape[:2]
    n = len(panels)
    canvas = np.full((HEADER + H, n * W + (n - 1) * GAP, 3), 255, np.uint8)
    for i, (_, img) in enumerate(panels):
        canvas[HEADER:, i * (W + GAP):i * (W + GAP) + W] = to_rgb8(img)
    pil = Image.fromarray(canvas)
    draw = ImageDraw.Draw(pil)
    for i, (label, _) in enumerate(panels):
        draw.text((i * (W + GAP) + 2, 4), label, fill=(0, 0, 0))
    out = np.asarray(pil).copy()
    out[HEADER:] = canvas[HEADER:]  # a label wider than its panel must not paint over the next one
    return out
