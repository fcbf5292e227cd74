"""Build an SRCNN training file: Y-channel 33x33 inputs and 21x21 labels from a folder of images.

The authors' generate_train.m, image by image (see :mod:`npsrcnn.patches`): Y of MATLAB rgb2ycbcr,
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

import numpy as np

from . import __version__
from ._cli import ArgumentParser, UserError, check_output_path, command
from .color import y_channel
from .imageio import read_image
from .patches import INPUT_SIZE, STRIDE, extract_patches, label_size_for, list_images, modcrop, write_patches


def parse_arch(arch):
    """'9-1-5' -> (9, 1, 5), each odd and positive; UserError otherwise."""
    try:
        sizes = tuple(int(k) for k in arch.split("-"))
    except ValueError:
        sizes = ()
    if len(sizes) != 3 or any(k < 1 or k % 2 == 0 for k in sizes):
        raise UserError(f"--arch {arch!r}: expected three odd filter sizes like 9-1-5")
    return sizes


def load_y(path):
    """Read an image and return its uint8 luminance (Y of MATLAB rgb2ycbcr; grayscale as is)."""
    img = read_image(path)
    if img.dtype != np.uint8:
        raise UserError(f"{path}: {img.dtype} pixels; only 8-bit images are supported")
    return y_channel(img)


PROG = "python -m npsrcnn.prepare"


def cut_patches(files, scale, input_size, label_size, stride, progress=False, factors=()):
    """Yield (data, label) patch arrays image by image, as :func:`npsrcnn.patches.extract_patches`.

    With `factors`, each image is followed by its copies downscaled by those factors
    (:func:`npsrcnn.augment.scaled_copies`); a copy smaller than one patch is skipped. UserError names
    the first image that is not 8-bit or is itself smaller than one patch after modcrop. `progress`
    shows a tqdm bar over the images on stderr.
    """
    from .augment import scaled_copies

    if progress:
        from tqdm import tqdm

        files = tqdm(files, desc="patches", unit="img", file=sys.stderr, leave=False)
    for path in files:
        y = load_y(path)
        H, W = modcrop(y, scale).shape
        if H < input_size or W < input_size:
            raise UserError(f"{path}: {H}x{W} after modcrop to scale {scale}, smaller than one"
                            f" {input_size}x{input_size} patch")
        for copy in scaled_copies(y, factors):
            if min(modcrop(copy, scale).shape) >= input_size:
                yield extract_patches(copy, scale, input_size, label_size, stride)


def patch_attrs(files, scale, input_size, label_size, stride, command):
    """The attributes every patch file records: how it was cut, from which images, by what."""
    return dict(
        scale=scale, input_size=input_size, label_size=label_size, stride=stride, images=len(files),
        files="\n".join(Path(p).name for p in files), generator=f"npsrcnn {__version__} {command}",
        layout="NCHW float32 in [0, 1]: Y of MATLAB rgb2ycbcr / 255; data = bicubic down+up, label = centre crop",
    )


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
    if args.input_size < 1:
        raise UserError(f"--input-size must be >= 1, got {args.input_size}")
    border = sum((k - 1) // 2 for k in parse_arch(args.arch))
    label_size = args.label_size if args.label_size is not None else label_size_for(args.input_size, border)
    if label_size < 1 or label_size > args.input_size or (args.input_size - label_size) % 2:
        raise UserError(
            f"label size {label_size} does not fit input size {args.input_size}: it must be smaller and"
            " differ by an even number (twice the network's border)"
        )
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
