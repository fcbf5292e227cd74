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
    npsrcnn evaluate --dataset data/Set5 --scale 3 --ensemble           # SRCNN+: 8 flips/rotations, 8x slower

``--ensemble`` is the geometric self-ensemble of EDSR+ (model/ensemble.py): im_h is the mean of the
network over the 8 flips and rotations of im_b, each turned back. The table then says SRCNN+, and the
JSON says ``"ensemble": true`` (its ``srcnn_*`` values are then the ensemble's).
"""
import json
import sys
from pathlib import Path

from .model.ensemble import SelfEnsemble
from .model.evaluation import KEYS, evaluate_dataset
from .model.pretrained import load_weights
from .util.cli import ArgumentParser, command
from .util.errors import UserError, shown
from .util.limits import no_memory


def format_table(result, title="image", ensemble=False):
    """Per-image rows and the mean row: PSNR in dB (4 decimals) and SSIM (4 decimals); SRCNN+ for an ensemble."""
    keys = [k for k in KEYS if k in result]
    name = "SRCNN+" if ensemble else "SRCNN"  # EDSR+'s mark for a self-ensembled network
    heads = {"bicubic_psnr": "bicubic PSNR", "srcnn_psnr": f"{name} PSNR", "bicubic_ssim": "bicubic SSIM",
             "srcnn_ssim": f"{name} SSIM"}
    width = max([len(title), 4] + [len(r["image"]) for r in result["per_image"]])
    lines = [f"{title:<{width}}" + "".join(f"  {heads[k]:>12}" for k in keys)]
    for row in result["per_image"] + [{"image": "mean", **{k: result[k] for k in keys}}]:
        lines.append(f"{row['image']:<{width}}" + "".join(f"  {row[k]:>12.4f}" for k in keys))
    return "\n".join(lines)


def largest_image(folder):
    """(path, words) naming the image of `folder` with the most pixels, from headers only, for a message."""
    from .datasets.patches import list_images
    from .image.io import header

    sizes = [(W * H, W, H, path) for path in list_images(folder) for W, H, _, _ in [header(path, None)]]
    _, W, H, path = max(sizes)
    return path, f"evaluating this {W}x{H} image, the largest of {shown(folder)}"


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
    p.add_argument("--ensemble", action="store_true",
                   help="geometric self-ensemble (as EDSR+, 'SRCNN+'): average the network over the 8 flips and "
                        "rotations of its input; costs 8x the network's time")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (there is none with --json)")
    return p


@command(PROG)
def main(argv, prog):
    args = build_parser(prog).parse_args(argv)
    if args.scale < 2:
        raise UserError(f"--scale must be >= 2, got {args.scale}")
    if Path(args.dataset).is_file():
        raise UserError(f"--dataset {shown(args.dataset)} is a file, not a folder; pass the folder of images "
                        f"({shown(Path(args.dataset).parent)})")
    if not Path(args.dataset).is_dir():
        raise UserError(f"dataset folder {shown(args.dataset)} not found")
    model, weights = load_weights(args.weights, args.scale)
    arch = getattr(model, "arch", "?")
    if args.ensemble:
        model = SelfEnsemble(model)
    if not args.json:
        print(f"evaluate: weights={shown(weights)} arch={arch} scale={args.scale} dataset={shown(args.dataset)}"
              f" padding={args.padding}{' ensemble=8 (flips and rotations, 8x the time)' if args.ensemble else ''}",
              flush=True)
    try:
        result = evaluate_dataset(model, args.dataset, args.scale, padding=args.padding,
                                  progress=not (args.json or args.no_progress))
    except MemoryError:  # every image is within the pixel limit, but not this machine's memory
        raise no_memory(*largest_image(args.dataset)) from None
    if args.json:
        meta = dict(weights=str(weights), dataset=str(args.dataset), scale=args.scale, arch=arch,
                    padding=args.padding, ensemble=args.ensemble)
        print(json.dumps({**meta, **result}, indent=2))
    else:
        print(format_table(result, ensemble=args.ensemble))
    return 0


if __name__ == "__main__":
    sys.exit(main())
