"""One entry point for every command: ``npsrcnn <command> [args]`` (or ``python -m npsrcnn <command>``).

``npsrcnn`` alone (or ``--help``) prints the overview below; ``npsrcnn <command> --help`` the
command's own flags. Each command is also a module, ``python -m npsrcnn.<command>``, with the same
flags; this dispatcher only tells it the name it was called by, for its usage line and errors.

Examples::

    npsrcnn train --epochs 60 --out runs/x3
    npsrcnn upscale photo.png -o photo_x3.png --scale 3 --weights x3
    npsrcnn evaluate --dataset data/Set5 --scale 3
    npsrcnn data fetch
"""
import difflib
import importlib
import sys

from . import __version__

# command -> (module, one line for the overview); modules are imported only when their command runs
COMMANDS = {
    "train": ("train", "train SRCNN with the paper's recipe (checkpoints, --resume)"),
    "upscale": ("upscale", "upscale your images (PNG, JPEG, WebP, TIFF, BMP; 8 or 16 bits)"),
    "evaluate": ("evaluate", "PSNR / SSIM on a benchmark set by the authors' protocol"),
    "prepare": ("prepare", "cut a folder of images into an HDF5 patch file"),
    "data": ("data", "fetch, verify or list the benchmark sets and the authors' weights (srcnn-weights)"),
    "convert": ("convert", "turn the authors' .mat or .npz weights into our .h5"),
    "export": ("export", "write a network as an ONNX file for onnxruntime, OpenCV and other runtimes"),
    "cache": ("cache", "list or clear the patch cache that training runs share"),
}


def overview(prog):
    """What ``npsrcnn`` alone prints: the commands, one line each."""
    width = max(map(len, COMMANDS))
    return "\n".join([f"npsrcnn {__version__}: SRCNN super-resolution in NumPy and Numba", "",
                      f"usage: {prog} <command> [args]", "", "commands:"]
                     + [f"  {name:<{width}}  {words}" for name, (_, words) in COMMANDS.items()]
                     + ["", f"`{prog} <command> --help` lists a command's flags."])


def main(argv=None, prog="npsrcnn"):
    """Run ``<command> [args]`` from `argv` (default sys.argv[1:]); returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(overview(prog))
        return 0
    if argv[0] == "--version":
        print(f"npsrcnn {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name == "help":  # `npsrcnn help train` = `npsrcnn train --help`; `npsrcnn help` = `npsrcnn`
        if not rest:
            return main([], prog)
        name, rest = rest[0], ["--help"]
    if name not in COMMANDS:
        close = difflib.get_close_matches(name, COMMANDS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f" (choose from {', '.join(COMMANDS)})"
        print(f"{prog}: error: unknown command {name!r}{hint}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"npsrcnn.{COMMANDS[name][0]}")
    return module.main(rest, prog=f"{prog} {name}")


if __name__ == "__main__":
    sys.exit(main(prog="python -m npsrcnn"))
