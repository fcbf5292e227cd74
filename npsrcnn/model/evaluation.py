"""The authors' test protocol (demo_SR.m): bicubic's and a network's PSNR and SSIM on an image or a folder.

For each image: Y of MATLAB rgb2ycbcr rounded to uint8 (grayscale as is); modcrop to the scale;
im_gnd = single(Y) / 255; im_l = imresize(im_gnd, 1/s); im_b = imresize(im_l, s) (bicubic, MATLAB-exact);
im_h = SRCNN(im_b) with replicate 'same' padding at every layer; im_gnd, im_b and im_h to uint8
(x * 255, round half away from zero, saturate); shave s pixels from every border; PSNR and SSIM of
im_b and im_h against im_gnd, in float64. The means over the set are what the papers report.
"""
import sys

import numpy as np

from ..datasets.patches import degrade, list_images, modcrop
from ..image.color import im2uint8
from ..image.io import load_y
from ..metrics.quality import psnr, ssim
from ..util.errors import UserError

KEYS = ("bicubic_psnr", "srcnn_psnr", "bicubic_ssim", "srcnn_ssim")


def min_side(scale):
    """Smallest modcropped side we can measure: the shave on both sides plus one 11x11 SSIM window."""
    return 2 * scale + 11


def evaluate_y(model, y, scale, padding="replicate", with_ssim=True):
    """PSNR / SSIM of bicubic and SRCNN on one uint8 luminance image, by the authors' protocol.

    Parameters
    ----------
    model : object with ``predict(x, padding)`` mapping (H, W) float32 to (H, W), or None
        None skips SRCNN (the ``srcnn_*`` values are then absent).
    y : ndarray, shape (H, W), uint8
    scale : int

    Returns
    -------
    dict with float ``bicubic_psnr``, ``srcnn_psnr`` and, if with_ssim, ``bicubic_ssim``, ``srcnn_ssim``
    """
    im_gnd = modcrop(y, scale).astype(np.float32) / np.float32(255)  # single(Y) / 255
    if min(im_gnd.shape) < min_side(scale):
        raise ValueError(f"image of {im_gnd.shape} is too small to measure at scale {scale}")
    im_b = degrade(im_gnd, scale)
    gnd = im2uint8(im_gnd)
    out = {"b": im2uint8(im_b)}
    if model is not None:
        im_h = np.asarray(model.predict(im_b, padding=padding))
        if im_h.shape != im_b.shape:
            raise ValueError(f"model.predict returned {im_h.shape} for an input of {im_b.shape}")
        out["h"] = im2uint8(im_h.astype(np.float64))  # SRCNN.m's im_h is double: uint8(im_h * 255) in double
    res = {}
    for key, img in (("bicubic", out["b"]), ("srcnn", out.get("h"))):
        if img is None:
            continue
        res[f"{key}_psnr"] = psnr(gnd, img, shave=scale)
        if with_ssim:
            res[f"{key}_ssim"] = ssim(gnd, img, shave=scale)
    return {k: res[k] for k in KEYS if k in res}


def evaluate_dataset(model, dataset_dir, scale, padding="replicate", with_ssim=True, progress=False):
    """Evaluate `model` on every image of a folder; returns means and per-image values.

    Parameters
    ----------
    model : SRCNN or None (bicubic only)
    dataset_dir : str or Path
        Folder of HR images (Set5, Set14, BSD100, ...), read in sorted order.
    scale : int

    Returns
    -------
    dict
        ``bicubic_psnr``, ``srcnn_psnr``, ``bicubic_ssim``, ``srcnn_ssim``: means over the images
        (float64; only those computed), and ``per_image``: a list of dicts with ``image`` (file stem)
        and the same keys.
    """
    files = list_images(dataset_dir)
    if progress:
        from tqdm import tqdm

        files = tqdm(files, desc="evaluate", unit="img", file=sys.stderr, leave=False)
    per_image = []
    for path in files:
        y = load_y(path)
        H, W = modcrop(y, scale).shape
        if min(H, W) < min_side(scale):
            raise UserError(f"{path}: {H}x{W} after modcrop, too small to measure at scale {scale}")
        values = evaluate_y(model, y, scale, padding=padding, with_ssim=with_ssim)
        per_image.append({"image": path.stem, **values})
    means = {k: float(np.mean([r[k] for r in per_image])) for k in KEYS if k in per_image[0]}
    return {**means, "per_image": per_image}
