"""Build an SRCNN training file: Y-channel 33x33 inputs and 21x21 labels from a folder of images.

The authors' generate_train.m, image by image (see :mod:`npsrcnn.datasets.patches`): Y of MATLAB rgb2ycbcr,
modcrop, bicubic down and up, patches at stride 14. The HDF5 file is written incrementally and
atomically: an error or Ctrl-C leaves no file (and the previous one, with --overwrite, untouched).

Examples::

    python -m npsrcnn.prepare --images data/T91 --scale 3 --out data/t91_x3.h5
    python -m npsrcnn.prepare --images data/T91 --scale 2 --out data/t91_x2.h5 --overwrite
    python -m npsrcnn.prepare --images data/T91 --scale 3 --out t91_x3_955.h5 --arch 9-5-5   # 17x17 labels
    python -m npsrcnn.prepare --images data/Set5 --scale 3 --out set5_x3.h5 --stride 21
"""
import sys
from pathlib import Path

from .datasets.patches import INPUT_SIZE, STRIDE, cut_patches, label_size_for, list_images, patch_attrs, write_patches
from .model.srcnn import parse_arch
from .util.cli import ArgumentParser, command
from .util.errors import UserError
from .util.files import check_output_path
from .util.limits import MAX_PATCH_SIDE

PROG = "python -m npsrcnn.prepare"


def build_parser(prog=PROG):
    p = ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("--images", required=True, metavar="DIR", help="folder of training images (.bmp, .png, .jpg, .tif)")
    p.add_argument("--scale", type=int, required=True, metavar="S", help="upscaling factor (2, 3 or 4 in the paper)")
    p.add_argument("--out", required=True, metavar="FILE.h5", help="HDF5 file to write")
    p.add_argument("--stride", type=int, default=STRIDE, metavar="N",
                   help="step between patches (default: %(default)s)")
    p.add_argument("--input-size", type=int, default=INPUT_SIZE, metavar="N",
                   help="input patch side (default: %(default)s)")
    p.add_argument("--label-size", type=int, default=None, metavar="N",
                   help="label patch side (default: input size minus the border of --arch, 21 for 9-1-5)")
    p.add_argument("--arch", default="9-1-5", metavar="F1-F2-F3",
                   help="filter sizes f1-f2-f3, for the default label size (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument("--no-progress", action="store_true", help="no progress bar over the images")
    return p


def resolve(args):
    """Check the arguments and return (image paths, label size); raises UserError."""
    if args.scale < 2:
        raise UserError(f"--scale must be >= 2, got {args.scale}")
    if args.stride < 1:
        raise UserError(f"--stride must be >= 1, got {args.stride}")
    if not 1 <= args.input_size <= MAX_PATCH_SIDE:
        raise UserError(f"--input-size must be between 1 and {MAX_PATCH_SIDE} (the patch files' limit), "
                        f"got {args.input_size}")
    border = sum((k - 1) // 2 for k in parse_arch(args.arch))
    label_size = args.label_size if args.label_size is not None else label_size_for(args.input_size, border)
    if label_size < 1 or label_size > args.input_size or (args.input_size - label_size) % 2:
        raise UserError(
            f"label size {label_size} does not fit input size {args.input_size}: it must be smaller and"
            " differ by an even number (twice the network's border)"
        )
    if Path(args.out).suffix.lower() not in (".h5", ".hdf5"):
        raise UserError(f"--out {args.out}: patch files are HDF5; name it .h5")
    check_output_path(args.out, args.overwrite)
    return list_images(args.images), label_size


@command(PROG)
def main(argv, prog):
    args = build_parser(prog).parse_args(argv)
    files, label_size = resolve(args)
    print(
        f"prepare: images={args.images} ({len(files)} files) scale={args.scale} input={args.input_size}"
        f" label={label_size} stride={args.stride} out={args.out}",
        flush=True,
    )

    attrs = dict(patch_attrs(files, args.scale, args.input_size, label_size, args.stride, "prepare"),
                 source=str(Path(args.images).resolve()))
    pairs = cut_patches(files, args.scale, args.input_size, label_size, args.stride, progress=not args.no_progress)
    count = write_patches(args.out, pairs, args.input_size, label_size, attrs=attrs, overwrite=args.overwrite)
    print(f"prepare: wrote {count} patches from {len(files)} images to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
