"""Turn the authors' weights into our HDF5: ``npsrcnn convert IN -o OUT.h5``.

IN is one of the authors' MATLAB files as released (``x3.mat``, read with SciPy: ``pip install
"npsrcnn[mat]"``) or its .npz conversion. OUT loads with ``SRCNN.load`` and every ``--weights``; it
records the architecture, the scale (from IN's name, ``x3.mat``, or ``--scale``) and the file it came
from with its sha256. OUT is written atomically (a temporary file renamed into place) and an existing
OUT is kept unless ``--overwrite``.

Examples::

    npsrcnn convert "srcnn_matlab_weights/9-5-5(ImageNet)/x3.mat" -o srcnn_955_x3.h5
    npsrcnn convert my_weights.npz -o mine.h5 --scale 2       # a name without x<S> needs --scale
"""
import sys
from pathlib import Path

from . import __version__
from .util.cli import ArgumentParser, command
from .util.errors import UserError, shown
from .util.files import check_output_path

PROG = "python -m npsrcnn.convert"


def build_parser(prog=PROG):
    p = ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("input", metavar="IN", help="the authors' weights: x<S>.mat as released, or x<S>.npz")
    p.add_argument("-o", "--out", required=True, metavar="OUT.h5", help="our HDF5 weights file to write")
    p.add_argument("--scale", type=int, metavar="S", help="the factor the weights are for (default: from IN's name)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.add_argument("--version", action="version", version=f"npsrcnn {__version__}")
    return p


@command(PROG)
def main(argv, prog):
    from .datasets.sets import sha256_file
    from .model.pretrained import load_model

    args = build_parser(prog).parse_args(argv)
    src, out = Path(args.input), Path(args.out)
    if src.suffix.lower() not in (".mat", ".npz"):
        raise UserError(f"{shown(src)}: expected the authors' .mat or .npz weights"
                        + (" (this is already our HDF5 format)" if src.suffix.lower() in (".h5", ".hdf5") else ""))
    if out.suffix.lower() not in (".h5", ".hdf5"):
        raise UserError(f"-o {shown(out)}: write a .h5 file")
    if args.scale is not None and args.scale < 2:
        raise UserError(f"--scale must be >= 2, got {args.scale}")
    check_output_path(out, args.overwrite)
    model = load_model(src, args.scale)
    if model.scale is None:
        raise UserError(f"{shown(src)}: the file name does not give the scale (x3.mat does); pass --scale")
    config = dict(converted_from=src.name, sha256=sha256_file(src), converter=f"npsrcnn {__version__} convert")
    model.save(out, config=config)
    print(f"convert: {shown(src)} ({model.arch}, x{model.scale}) -> {shown(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
