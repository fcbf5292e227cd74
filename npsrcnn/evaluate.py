"""Evaluate SRCNN weights on a benchmark set with the authors' test protocol (demo_SR.m), PSNR and SSIM.

For each image: Y of MATLAB rgb2ycbcr rounded to uint8 (grayscale as is); modcrop to the scale;
im_gnd = single(Y) / 255; im_l = imresize(im_gnd, 1/s); im_b = imresize(im_l, s) (bicubic, MATLAB-exact);
im_h = SRCNN(im_b) with replicate 'same' padding at every layer; im_gnd, im_b and im_h to uint8
(x * 255, round half away from zero, saturate); shave s pixels from every border; PSNR and SSIM of
im_b and im_h against im_gnd, in float64. The means over the set are what the papers report.

Examples::

    npsrcnn evaluate --dataset data/Set5 --scale 3                      # the shipped x3 weights
    npsrcnn evaluate --weights "../shared/reference/srcnn_matlab_weights/9-5-5(ImageNet)/x3.mat" \\
        --dataset ../shared/datasets/Set5 --scale 3
    npsrcnn evaluate --weights runs/9-1-5-x3/model.h5 --dataset data/Set14 --scale 3 --json
"""
import json
import sys
from pathlib import Path

import numpy as np

from ._cli import ArgumentParser, UserError, command
from .color import im2uint8
from .metrics import psnr, ssim
from .patches import degrade, list_images, modcrop
from .prepare import load_y
from .pretrained import load_model, load_weights  # noqa: F401  (load_model: importable from here, as before)

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


def format_table(result, title="image"):
    """Per-image rows and the mean row: PSNR in dB (4 decimals) and SSIM (4 decimals)."""
    keys = [k for k in KEYS if k in result]
    heads = {"bicubic_psnr": "bicubic PSNR", "srcnn_psnr": "SRCNN PSNR", "bicubic_ssim": "bicubic SSIM",
             "srcnn_ssim": "SRCNN SSIM"}
    width = max([len(title), 4] + [len(r["image"]) for r in result["per_image"]])
    lines = [f"{title:<{width}}" + "".join(f"  {heads[k]:>12}" for k in keys)]
    for row in result["per_image"] + [{"image": "mean", **{k: result[k] for k in keys}}]:
        lines.append(f"{row['image']:<{width}}" + "".join(f"  {row[k]:>12.4f}" for k in keys))
    return "\n".join(lines)


PROG = "python -m npsrcnn.evaluate"


def build_parser(prog=PROG):
    p = ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", metavar="NAME|FILE",
                   help="x2, x3, x4 (the shipped weights), our .h5, or the authors' .npz or .mat "
                        "(default: the shipped weights of --scale)")
    p.add_argument("--dataset", required=True, metavar="DIR", help="folder of HR test images (Set5, Set14, BSD100)")
    p.add_argument("--scale", type=int, required=True, metavar="S",
                   help="upscaling factor the weights were trained for")
    p.add_argument("--padding", default="replicate", choices=("replicate", "zero"),
                   help="padding at every layer (the authors' SRCNN.m: replicate; default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (there is none with --json)")
    return p


@command(PROG)
def main(argv, prog):
    args = build_parser(prog).parse_args(argv)
    if args.scale < 2:
        raise UserError(f"--scale must be >= 2, got {args.scale}")
    if Path(args.dataset).is_file():
        raise UserError(f"--dataset {args.dataset} is a file, not a folder; pass the folder of images "
                        f"({Path(args.dataset).parent})")
    if not Path(args.dataset).is_dir():
        raise UserError(f"dataset folder {args.dataset} not found")
    model, weights = load_weights(args.weights, args.scale)
    arch = getattr(model, "arch", "?")
    if not args.json:
        print(f"evaluate: weights={weights} arch={arch} scale={args.scale} dataset={args.dataset}"
              f" padding={args.padding}", flush=True)
    result = evaluate_dataset(model, args.dataset, args.scale, padding=args.padding,
                              progress=not (args.json or args.no_progress))
    if args.json:
        meta = dict(weights=str(weights), dataset=str(args.dataset), scale=args.scale, arch=arch,
                    padding=args.padding)
        print(json.dumps({**meta, **result}, indent=2))
    else:
        print(format_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
