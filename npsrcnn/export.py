"""Export a network to ONNX for other runtimes: ``npsrcnn export MODEL -o model.onnx``.

MODEL is anything ``--weights`` takes: ``x2``, ``x3``, ``x4`` (shipped), our .h5, or the authors' .npz
or .mat. The file holds the network alone, with dynamic batch, height and width: input ``y`` and
output ``sr``, float32 (N, 1, H, W), the luminance in [0, 1] before and after; the padding is
predict's (``replicate``, or ``--padding zero``), so the output has the input's size. The scale, the
architecture and the padding are in the model's metadata (``metadata_props``); docs/export.md has the
pre- and post-processing (Y of BT.601, MATLAB's bicubic upscale, CbCr) and a runnable example.

Before writing, onnxruntime runs the graph on a random 2x1x37x53 input and its output is compared with
npsrcnn's own ``SRCNN.predict`` (``--no-check`` skips this). Needs the ``onnx`` extra:
``pip install "npsrcnn[onnx]"``. OUT is checked before any work and written atomically; an existing
OUT is kept unless ``--overwrite``.

Examples::

    npsrcnn export x3 -o srcnn_x3.onnx
    npsrcnn export runs/9-1-5-x2/model.h5 -o x2.onnx --padding zero --json
    npsrcnn export "srcnn_matlab_weights/9-5-5(ImageNet)/x3.mat" -o authors_955_x3.onnx
"""
import json
import re
import sys
from pathlib import Path

from . import __version__
from .util.cli import ArgumentParser, command
from .util.errors import UserError, shown
from .util.files import atomic_output, check_output_path, human

PROG = "python -m npsrcnn.export"
CHECK_SHAPE = (2, 1, 37, 53)  # odd, non-square, a batch: the cases a wrong pad or transpose would break
CHECK_TOLERANCE = 1e-4  # measured 3.6e-7 to 1.4e-6 (docs/export.md): float32 sums in another order


def build_parser(prog=PROG):
    from .model.onnx_graph import PADDINGS

    p = ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("model", metavar="MODEL", help="x2, x3, x4 (shipped), our .h5, or the authors' .npz or .mat")
    p.add_argument("-o", "--out", required=True, metavar="OUT.onnx", help="the ONNX file to write")
    p.add_argument("--padding", choices=PADDINGS, default="replicate",
                   help="each layer's padding, as SRCNN.predict's (default: replicate, as the authors' MATLAB code)")
    p.add_argument("--scale", type=int, metavar="S",
                   help="the factor the weights are for (default: stored in our .h5, or from the name x3.mat)")
    p.add_argument("--no-check", action="store_true", help="do not compare onnxruntime's output with SRCNN.predict")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the lines")
    p.add_argument("--version", action="version", version=f"npsrcnn {__version__}")
    return p


def runtime_difference(proto_bytes, model, padding, shape=CHECK_SHAPE, seed=0):
    """(max |onnxruntime - SRCNN.predict|, onnxruntime's version) on a seeded uniform input of `shape`,
    or None when onnxruntime is not installed."""
    import numpy as np

    from .model.onnx_graph import INPUT, OUTPUT

    try:
        import onnxruntime as ort
    except ImportError:
        return None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1  # a 37x53 input: threads would cost more than they save
    sess = ort.InferenceSession(proto_bytes, opts, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(seed).random(shape, dtype=np.float32)
    got = sess.run([OUTPUT], {INPUT: x})[0]
    return float(np.abs(got - model.predict(x, padding=padding)).max()), ort.__version__


@command(PROG)
def main(argv, prog):
    from .model.onnx_graph import INPUT, INSTALL, OPSET, OUTPUT, require_onnx

    args = build_parser(prog).parse_args(argv)
    out = Path(args.out)
    if out.suffix.lower() != ".onnx":
        raise UserError(f"-o {shown(out)}: write a .onnx file")
    if args.scale is not None and args.scale < 2:
        raise UserError(f"--scale must be >= 2, got {args.scale}")
    require_onnx()  # before anything else: without the extra, one line naming it
    check_output_path(out, args.overwrite)

    from .datasets.sets import sha256_file
    from .model.onnx_graph import to_onnx
    from .model.pretrained import load_model, resolve

    shipped = re.fullmatch(r"x\d+", args.model) is not None
    model = load_model(args.model, None if shipped else args.scale)  # its hint for x3 speaks of --weights
    if shipped and args.scale is not None and args.scale != model.scale:
        raise UserError(f"--scale {args.scale} but {args.model} is for x{model.scale}; export x{args.scale} instead")
    if model.scale is None:  # our .h5 written without a scale, or an authors' file not named x<S>
        model.scale = args.scale
    if model.scale is None:
        raise UserError(f"{shown(args.model)}: the file name does not give the scale (x3.mat does); pass --scale")
    path = resolve(args.model)
    source = {"weights": f"{args.model} (shipped with npsrcnn {__version__})" if shipped else path.name,
              "weights_sha256": sha256_file(path)}
    words = f"{args.model} (shipped)" if shipped else shown(args.model)
    if not args.json:
        print(f"npsrcnn {__version__} export: {words}, {model.arch} x{model.scale}, {args.padding} padding, "
              f"ONNX opset {OPSET}")
    proto = to_onnx(model, args.padding, source)
    data = proto.SerializeToString()
    check = None if args.no_check else runtime_difference(data, model, args.padding)
    if check is not None and not check[0] <= CHECK_TOLERANCE:
        print(f"{prog}: error: onnxruntime {check[1]}'s output differs from SRCNN.predict's by {check[0]:.3g} "
              f"(more than {CHECK_TOLERANCE:g}); nothing written", file=sys.stderr)
        return 1
    with atomic_output(out, overwrite=args.overwrite) as tmp:
        tmp.write_bytes(data)
    if args.json:
        report = dict(out=str(out), bytes=len(data), arch=model.arch, scale=model.scale, padding=args.padding,
                      opset=OPSET, input=INPUT, output=OUTPUT, metadata={p.key: p.value for p in proto.metadata_props})
        if check is not None:
            report["check"] = dict(runtime=f"onnxruntime {check[1]}", input_shape=list(CHECK_SHAPE),
                                   max_abs_diff=check[0])
        print(json.dumps(report, indent=2))
        return 0
    print(f"-> {shown(out)} ({human(len(data))}): input y, output sr, float32 (N, 1, H, W) with N, H, W dynamic")
    if args.no_check:
        print("not checked against onnxruntime (--no-check)")
    elif check is None:
        print(f"not checked: onnxruntime is not installed ({INSTALL})")
    else:
        shape = "x".join(map(str, CHECK_SHAPE))
        print(f"checked: onnxruntime {check[1]} vs SRCNN.predict on a random {shape} input, "
              f"max abs difference {check[0]:.2g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
