"""Upscale your own images with SRCNN: ``npsrcnn upscale IN [IN ...] -o OUT --scale S``.

Colour images go through YCbCr (MATLAB's BT.601 ``rgb2ycbcr``): the network sharpens Y, Cb and Cr
are upscaled bicubically, then back to RGB. Grayscale stays grayscale; an alpha channel is upscaled
bicubically and kept. 8- and 16-bit images keep their bit depth. The network's input is the bicubic
upscale (MATLAB ``imresize``) of the image, as in the paper. Outputs are PNG unless ``-o`` names
another format (``.jpg``, ``.webp``, ``.bmp``, ``.tif``) or ``--format`` says which for a folder;
JPEG and WebP take ``--quality`` (default 95). An image the output format cannot hold whole (16 bits
in JPEG or WebP, alpha in JPEG or BMP) is refused, naming the format that can. ``--compare FILE``
also writes a side-by-side PNG, bicubic | SRCNN, with the original as a third panel when given with
``--reference`` (the image the input was made from, by downscaling).

Large images are processed in bands of output rows so memory stays bounded (a 4000x3000 x3 upscale
holds the 12000x9000 result plus a few bands); each band is computed with enough context rows that
the result is identical to processing the whole image at once. ``--ensemble`` averages the network
over the 8 flips and rotations of its input (geometric self-ensemble, as EDSR+): 8x the network's time.

Every input's header and every output path is checked before any work (an existing file needs
``--overwrite``), and so is the size of every input and output: at most ``--max-pixels`` pixels
(default 178,956,970, the count Pillow refuses as a decompression bomb; docs/reliability.md).
Inputs are then processed in order, each written atomically, and an input whose pixels turn out
unreadable (a truncated file) stops the run with exit code 2, keeping the outputs of
the inputs before it.

Examples::

    npsrcnn upscale photo.png -o photo_x3.png --scale 3                  # the shipped x3 weights
    npsrcnn upscale a.png b.jpg -o upscaled/ --scale 2 --weights runs/9-1-5-x2/model.h5
    npsrcnn upscale photos/*.jpg -o big/ --format jpg --quality 90 --scale 2 --weights x2
    npsrcnn upscale small.png -o big.png --scale 3 --compare cmp.png --reference original.png
    npsrcnn upscale photo.png -o photo_x3.png --scale 3 --ensemble      # 8 flips/rotations averaged, 8x slower
    npsrcnn upscale scan.tif -o out.png --scale 3 --weights "srcnn_matlab_weights/9-5-5(ImageNet)/x3.mat"
"""
import os
import re
import sys
from pathlib import Path

from . import __version__
from .image.io import FORMAT_NAMES, LOSSY, check_format, header, read_image, write_image
from .model.ensemble import SelfEnsemble
from .model.pretrained import load_weights
from .model.upscaling import BAND_ROWS, check_big_enough, upscale_array
from .util.cli import ArgumentParser, command
from .util.errors import UserError, shown
from .util.files import check_output_path, new_folder
from .util.limits import MAX_PIXELS, check_pixels, no_memory
from .util.threads import set_threads

PROG = "python -m npsrcnn.upscale"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
FORMATS = ("png", "jpg", "webp", "bmp", "tif")  # --format, for folder outputs
DEFAULT_QUALITY = 95
ENSEMBLE_WORDS = {False: "", True: ", self-ensemble of 8 flips and rotations (8x the time)"}


def build_parser(prog=PROG):
    p = ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("inputs", nargs="+", metavar="IN",
                   help="image files (PNG, BMP, TIFF, JPEG, ...), or folders: the images in them")
    p.add_argument("-o", "--out", metavar="OUT", required=True,
                   help="output file (one input, with an image suffix) or folder (written as <name>_x<S>.png)")
    p.add_argument("--format", choices=FORMATS, help="the format of the files written into an -o folder (default png)")
    p.add_argument("--quality", type=int, metavar="Q",
                   help=f"JPEG / WebP quality, 1-100 (default {DEFAULT_QUALITY}; not for lossless formats)")
    p.add_argument("--scale", type=int, metavar="S", required=True, help="upscaling factor the weights were trained for")
    p.add_argument("--weights", metavar="NAME|FILE",
                   help="x2, x3, x4 (the shipped weights), our .h5 (from train), or the authors' .npz or .mat "
                        "(default: the weights shipped for --scale)")
    p.add_argument("--padding", choices=("replicate", "zero"), default="replicate",
                   help="how each layer pads the borders (default %(default)s, as the authors' MATLAB code)")
    p.add_argument("--ensemble", action="store_true",
                   help="geometric self-ensemble (as EDSR+): average the network over the 8 flips and rotations "
                        "of its input; costs 8x the network's time")
    p.add_argument("--band-rows", type=int, metavar="N", default=BAND_ROWS, help="output rows per band (memory vs. speed)")
    p.add_argument("--compare", metavar="FILE.png",
                   help="also write a side-by-side PNG: bicubic | SRCNN (one input only)")
    p.add_argument("--reference", metavar="ORIG",
                   help="with --compare, the original (high-resolution) image, shown as a third panel")
    p.add_argument("--max-pixels", type=int, metavar="N", default=MAX_PIXELS,
                   help="refuse an input or output image of more pixels than this, before any work "
                        "(default %(default)s, the count Pillow refuses as a decompression bomb)")
    p.add_argument("--overwrite", action="store_true", help="replace output files that exist")
    p.add_argument("--skip-existing", action="store_true",
                   help="leave outputs that exist as they are and upscale only the others (a rerun of a big job)")
    p.add_argument("--workers", type=int, metavar="N", default=1,
                   help="upscale the images on N local processes, each loading the weights once (default 1)")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="upscale the images on the workers of a running Dask cluster (tcp://host:8786); "
                        "needs the dask extra")
    p.add_argument("--threads", type=int, metavar="N",
                   help="Numba and BLAS threads per process (default: all cores, or cores / --workers)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar over each image's bands")
    p.add_argument("--version", action="version", version=f"npsrcnn {__version__}")
    return p


def output_paths(inputs, out, scale, fmt=None):
    """One output path per input: `out` itself for a single input with an image suffix, else
    out/<stem>_x<S>.<fmt> (fmt from --format, default png)."""
    out = Path(out)
    if len(inputs) == 1 and out.suffix.lower() in IMAGE_SUFFIXES and not out.is_dir():
        if fmt is not None and FORMAT_NAMES[out.suffix.lower()] != FORMAT_NAMES[f".{fmt}"]:
            raise UserError(f"-o {shown(out)} is {FORMAT_NAMES[out.suffix.lower()]} but --format is {fmt}; "
                            "the suffix of a file decides, --format is for folders")
        return [out]
    if out.suffix and not out.is_dir():
        if out.suffix.lower() not in IMAGE_SUFFIXES:
            raise UserError(f"-o {shown(out)}: write .png, .jpg, .webp, .bmp or .tif files (or give a folder)")
        raise UserError(f"-o {shown(out)}: {len(inputs)} inputs need an output folder, not a file")
    paths = [out / f"{Path(p).stem}_x{scale}.{fmt or 'png'}" for p in inputs]
    if len(set(paths)) != len(paths):
        raise UserError("two inputs have the same name; upscale them into different folders")
    return paths


# ------------------------------------------------------------------------------------ the pipeline


# ------------------------------------------------------------------------------------ the command


@command(PROG)
def main(argv, prog):
    args = build_parser(prog).parse_args(argv)
    if args.scale < 2:
        raise UserError("--scale must be 2 or more")
    if args.band_rows < 1:
        raise UserError("--band-rows must be at least 1")
    if args.max_pixels < 1:
        raise UserError("--max-pixels must be at least 1")
    if args.workers < 1 or args.threads is not None and args.threads < 1:
        raise UserError("--workers and --threads must be at least 1")
    if args.skip_existing and args.overwrite:
        raise UserError("--skip-existing keeps outputs that exist and --overwrite replaces them: pass one")
    many = args.workers > 1 or args.dask is not None
    if many and args.compare is not None:
        raise UserError("--compare works with one input in this process, not with --workers or --dask")
    args.inputs = expand_folders(args.inputs)
    outs = output_paths(args.inputs, args.out, args.scale, args.format)
    check_not_inputs(args.inputs, outs)
    quality = check_quality(args.quality, outs)
    for src, dst in zip(args.inputs, outs):
        if not Path(src).is_file():
            raise UserError(f"{shown(src)}: no such file")
        W, H, bits, channels = header(src, args.max_pixels)
        check_output_size(src, W, H, args)
        check_format(dst, bits, channels, what=src)
    folder = Path(args.out) if outs[0] != Path(args.out) else None
    if folder is not None and folder.exists() and not folder.is_dir():
        raise UserError(f"-o {shown(folder)}: exists and is not a folder")
    if args.skip_existing:
        todo = [(src, dst) for src, dst in zip(args.inputs, outs) if not os.path.lexists(dst)]
        if len(todo) < len(outs):
            print(f"skipping {len(outs) - len(todo)} output{'s' if len(outs) - len(todo) != 1 else ''} that exist",
                  file=sys.stderr)
        args.inputs, outs = [src for src, _ in todo], [dst for _, dst in todo]
        if not outs:
            return 0
    for dst in outs:  # refuse before any work: nothing the user has is replaced without --overwrite
        if os.path.lexists(dst) and not args.overwrite:
            raise UserError(f"output {shown(dst)} exists; pass --overwrite to replace it or --skip-existing to keep it")
    if folder is None:
        check_output_path(outs[0], overwrite=args.overwrite)
    compare, reference = check_compare(args, outs)
    if many:
        return upscale_many(args, outs, prog)
    if args.threads is not None:
        set_threads(args.threads)
    model, words = load_weights(args.weights, args.scale)
    if args.ensemble:
        model = SelfEnsemble(model)
    print(f"npsrcnn {__version__} upscale: x{args.scale} with {model.arch} weights {shown(words)}"
          f"{ENSEMBLE_WORDS[args.ensemble]}", file=sys.stderr)

    with new_folder(folder or outs[0].parent):  # a folder made for outputs goes again if none is written
        for src, dst in zip(args.inputs, outs):
            img = read_input(src, model, args.scale, args.max_pixels)
            if reference is not None:
                reference = fit_reference(reference, img, args)
            try:
                result = upscale_array(img, model, args.scale, args.padding, args.band_rows,
                                       progress=None if args.no_progress else shown(Path(src).name),
                                       max_pixels=args.max_pixels)
            except MemoryError:  # the output fits the limit, but not this machine's memory
                raise no_memory(src, f"upscaling it x{args.scale}; try a smaller --band-rows") from None
            write_image(dst, result, overwrite=args.overwrite, quality=quality)
            H, W = img.shape[:2]
            print(f"{shown(src)} ({W}x{H}) -> {shown(dst)} ({W * args.scale}x{H * args.scale})", file=sys.stderr)
    if compare is not None:
        write_comparison(compare, img, result, reference, model, args)
    return 0


def expand_folders(inputs):
    """The inputs with each folder replaced by the images in it (sorted by name); UserError for an empty one."""
    files = []
    for src in inputs:
        if Path(src).is_dir():
            found = sorted(p for p in Path(src).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
            if not found:
                raise UserError(f"{shown(src)}: a folder with no images ({', '.join(IMAGE_SUFFIXES)})")
            files += [str(p) for p in found]
        else:
            files.append(src)
    return files


def check_not_inputs(inputs, outs):
    """UserError, before any work, if an output is also an input (now or later in the list): writing it
    first would replace a file the command has still to read."""
    sources = {}
    for src in inputs:
        try:
            sources[Path(src).resolve()] = src
        except OSError:
            continue
    for dst in outs:
        if dst.resolve() in sources:
            raise UserError(f"output {shown(dst)} is also an input ({shown(sources[dst.resolve()])}); "
                            "write the outputs to another folder or name")


def upscale_many(args, outs, prog):
    """The images on --workers local processes or a --dask cluster; a failed image is named and the
    others go on. Exit 2 if any failed, after all the others were written."""
    from .model.batch import Settings, run_jobs

    weights = args.weights
    if weights is not None and not re.fullmatch(r"x\d+", weights):
        weights = str(Path(weights).resolve())  # the workers may start elsewhere
    load_weights(args.weights, args.scale)  # a bad --weights is one line here, not one per image
    cores = os.cpu_count() or 1
    threads = args.threads or max(1, cores // (1 if args.dask else args.workers))
    settings = Settings(weights=weights or f"x{args.scale}", scale=args.scale, padding=args.padding,
                        band_rows=args.band_rows, quality=check_quality(args.quality, outs), overwrite=args.overwrite,
                        max_pixels=args.max_pixels, threads=threads, ensemble=args.ensemble)
    where = f"the Dask cluster at {args.dask}" if args.dask else f"{args.workers} worker processes"
    print(f"npsrcnn {__version__} upscale: {len(outs)} images x{args.scale} on {where}, {threads} thread"
          f"{'s' if threads != 1 else ''} each{ENSEMBLE_WORDS[args.ensemble]}", file=sys.stderr)
    folder = Path(args.out) if outs[0] != Path(args.out) else outs[0].parent
    from tqdm import tqdm

    failed = []
    with new_folder(folder), tqdm(total=len(outs), unit="img", file=sys.stderr, leave=False,
                                  disable=True if args.no_progress else None) as bar:
        def report(result):
            src, dst, W, H, error = result
            if error is None:
                bar.write(f"{shown(src)} ({W}x{H}) -> {shown(dst)} ({W * args.scale}x{H * args.scale})", file=sys.stderr)
            else:
                failed.append(Path(src).name)
                bar.write(f"{shown(src)}: failed: {error}", file=sys.stderr)

        run_jobs(list(zip(args.inputs, outs)), settings, workers=args.workers, dask_address=args.dask,
                 progress=bar.update, on_done=report)
        if failed and len(failed) == len(outs):
            raise UserError(f"all {len(outs)} images failed ({', '.join(map(shown, failed[:5]))}"
                            f"{', ...' if len(failed) > 5 else ''})")
    if failed:
        raise UserError(f"{len(failed)} of {len(outs)} images failed ({', '.join(map(shown, failed[:5]))}"
                        f"{', ...' if len(failed) > 5 else ''}); the other {len(outs) - len(failed)} were written")
    return 0


def check_output_size(src, W, H, args):
    """UserError, before any work, if the x``scale`` output of a W x H input (or the --compare panel
    beside it) would pass ``--max-pixels``: it could not be allocated, or only by exhausting memory."""
    from .image.panels import GAP, HEADER

    s, flag = args.scale, "pass --max-pixels to raise the limit"
    check_pixels(W * s, H * s, src, args.max_pixels, f"x{s} output of this image", flag)
    if args.compare is not None:
        n = 3 if args.reference is not None else 2
        check_pixels(n * W * s + (n - 1) * GAP, HEADER + H * s, src, args.max_pixels, "--compare image", flag)


def check_compare(args, outs):
    """(--compare path, the --reference image) or (None, None); UserError for a bad combination."""
    if args.reference is not None and args.compare is None:
        raise UserError("--reference is shown in the --compare image; pass --compare FILE.png too")
    if args.compare is None:
        return None, None
    path = Path(args.compare)
    if len(args.inputs) != 1:
        raise UserError(f"--compare works with one input, got {len(args.inputs)}")
    if path.suffix.lower() != ".png":
        raise UserError(f"--compare {shown(path)}: write a .png file")
    if path.resolve() == outs[0].resolve():
        raise UserError(f"--compare {shown(path)} is also the -o output; give it another name")
    check_output_path(path, overwrite=args.overwrite)
    return path, (None if args.reference is None else read_image(args.reference, args.max_pixels))


def fit_reference(ref, img, args):
    """The reference cropped to the upscaled size (it may be up to scale-1 pixels larger, as modcrop leaves)."""
    H, W = (n * args.scale for n in img.shape[:2])
    h, w = ref.shape[:2]
    if not (H <= h < H + args.scale and W <= w < W + args.scale):
        raise UserError(f"--reference {shown(args.reference)} is {w}x{h} but the upscaled {shown(args.inputs[0])} "
                        f"is {W}x{H}; "
                        "pass the image the input was downscaled from")
    return ref[:H, :W]


def write_comparison(path, img, result, reference, model, args):
    """bicubic | SRCNN [| original] side by side, as a PNG written atomically."""
    from .image.panels import bicubic_image, side_by_side

    name = "SRCNN+" if args.ensemble else "SRCNN"  # EDSR+'s mark for a self-ensembled network
    panels = [("bicubic", bicubic_image(img, args.scale)), (f"{name} {model.arch} x{args.scale}", result)]
    if reference is not None:
        panels.append(("original", reference))
    write_image(path, side_by_side(panels), overwrite=args.overwrite)
    print(f"comparison ({' | '.join(label for label, _ in panels)}) -> {shown(path)}", file=sys.stderr)


def check_quality(quality, outs):
    """The JPEG / WebP quality to write with; UserError if it is out of range or every output is lossless."""
    if quality is None:
        return DEFAULT_QUALITY
    if not 1 <= quality <= 100:
        raise UserError(f"--quality must be 1-100, got {quality}")
    if not any(p.suffix.lower() in LOSSY for p in outs):
        name = FORMAT_NAMES.get(outs[0].suffix.lower(), outs[0].suffix)
        raise UserError(f"--quality is for JPEG and WebP outputs, and {shown(outs[0])} is {name}")
    return quality


def read_input(src, model, scale, max_pixels=MAX_PIXELS):
    """The image `src`; UserError if, upscaled, it is still smaller than the network's receptive field."""
    img = read_image(src, max_pixels)
    check_big_enough(img.shape, model, scale, src)
    return img


if __name__ == "__main__":
    sys.exit(main())
