"""SRCNN behind a bilinear instead of a bicubic front end: Y-PSNR and time, the authors' weights, Set5 / Set14.

SRCNN's input is the low-resolution image upscaled by bicubic interpolation. This keeps every step of
the authors' protocol (``npsrcnn.evaluate``, demo_SR.m) but that one: the LR image is still
``im_l = imresize(im_gnd, 1/s)`` (bicubic, antialiased), and only the upscaling to the HR size, the
front end, is ``imresize(im_l, [H W], method)`` with method bicubic (the protocol; checked equal to
``patches.degrade`` on every image) or bilinear. The networks are the authors' released weights,
trained on bicubic inputs, unchanged. For each set and front end it reports the mean Y-PSNR (uint8,
``s`` pixels shaved) of the front end alone and of each network, and the wall time spent in the
front end and in each network, summed over the images (the median of ``--repeats`` runs per image,
after a warm-up on a small image that compiles or loads the Numba kernels).

Examples::

    python benchmarks/frontend_quality.py                              # Set5 and Set14, x3, table
    python benchmarks/frontend_quality.py --datasets Set5 --json       # machine-readable
    python benchmarks/frontend_quality.py --front-ends bicubic bilinear nearest --threads 1

Datasets are read from ``--data`` (default ``$NPSRCNN_DATA``, else ``data/``), weights from
``--ref-weights`` (default ``$NPSRCNN_REF_WEIGHTS``, else ``../shared/reference/srcnn_matlab_weights``).
"""
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing
from npsrcnn.util.cli import ArgumentParser, command  # noqa: E402  (no NumPy yet)
from npsrcnn.util.errors import UserError
from npsrcnn.util.threads import set_threads

MODELS = ("9-1-5(91 images)", "9-5-5(ImageNet)")
FRONT_ENDS = ("bicubic", "bilinear", "nearest")


def timed(fn, repeats):
    """(result of fn(), median wall time in seconds over `repeats` calls)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, sorted(times)[len(times) // 2]


def evaluate_set(folder, scale, front_ends, models, repeats):
    """Per front end: mean Y-PSNR and summed time of the front end and of every model on one set."""
    import numpy as np

    from npsrcnn.datasets.patches import degrade, list_images, modcrop
    from npsrcnn.image.color import im2uint8
    from npsrcnn.image.io import load_y
    from npsrcnn.interp.resize import imresize
    from npsrcnn.metrics.quality import psnr
    from npsrcnn.model.evaluation import min_side

    per_image = []
    for path in list_images(folder):
        im_gnd = modcrop(load_y(path), scale).astype(np.float32) / np.float32(255)  # single(Y) / 255
        if min(im_gnd.shape) < min_side(scale):
            raise UserError(f"{path}: {im_gnd.shape} after modcrop, too small to measure at scale {scale}")
        gnd = im2uint8(im_gnd)
        im_l = imresize(im_gnd, 1 / scale)  # the protocol's LR image, whatever the front end
        for front in front_ends:
            im_b, t_front = timed(lambda: imresize(im_l, output_shape=im_gnd.shape, method=front), repeats)
            if front == "bicubic" and not np.array_equal(im_b, degrade(im_gnd, scale)):
                raise RuntimeError(f"{path}: the bicubic front end is not the protocol's degrade()")
            row = dict(image=path.stem, front_end=front, front_end_psnr=psnr(gnd, im2uint8(im_b), shave=scale),
                       front_end_s=t_front, models={})
            for name, model in models.items():
                im_h, t_net = timed(lambda: model.predict(im_b, padding="replicate"), repeats)
                h = im2uint8(np.asarray(im_h, np.float64))  # SRCNN.m's im_h is double, as in evaluate
                row["models"][name] = dict(psnr=psnr(gnd, h, shave=scale), net_s=t_net)
            per_image.append(row)
    summary = []
    for front in front_ends:
        rows = [r for r in per_image if r["front_end"] == front]
        summary.append(dict(front_end=front, images=len(rows),
                            front_end_psnr=float(np.mean([r["front_end_psnr"] for r in rows])),
                            front_end_s=float(sum(r["front_end_s"] for r in rows)),
                            models={name: dict(psnr=float(np.mean([r["models"][name]["psnr"] for r in rows])),
                                               net_s=float(sum(r["models"][name]["net_s"] for r in rows)))
                                    for name in models}))
    return summary, per_image


def table(dataset, scale, summary):
    """Markdown table: a row per front end; PSNR columns, then time columns."""
    names = list(summary[0]["models"])
    heads = (["front end", "front end PSNR"] + [f"{n} PSNR" for n in names] + ["front end (ms)"]
             + [f"{n} (ms)" for n in names])
    lines = [f"{dataset} x{scale}, {summary[0]['images']} images: mean Y-PSNR (dB); time summed over the images",
             "| " + " | ".join(heads) + " |", "|---|" + "---:|" * (len(heads) - 1)]
    for s in summary:
        cells = ([s["front_end"], f"{s['front_end_psnr']:.4f}"] + [f"{s['models'][n]['psnr']:.4f}" for n in names]
                 + [f"{s['front_end_s'] * 1e3:.3g}"] + [f"{s['models'][n]['net_s'] * 1e3:.4g}" for n in names])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


@command("frontend_quality")
def main(argv, prog):
    p = ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=Path(os.environ.get("NPSRCNN_DATA", REPO / "data")),
                   help="folder holding the datasets (default: $NPSRCNN_DATA, else data/)")
    p.add_argument("--ref-weights", type=Path, default=Path(os.environ.get(
        "NPSRCNN_REF_WEIGHTS", REPO.parent / "shared" / "reference" / "srcnn_matlab_weights")),
        help="the authors' weights folder (default: $NPSRCNN_REF_WEIGHTS, else ../shared/reference/...)")
    p.add_argument("--datasets", nargs="+", default=["Set5", "Set14"], help="subfolders of --data to evaluate")
    p.add_argument("--models", nargs="+", default=list(MODELS), help="subfolders of --ref-weights holding x<S>.npz")
    p.add_argument("--scale", type=int, default=3, help="upscaling factor (default: %(default)s)")
    p.add_argument("--front-ends", nargs="+", default=["bicubic", "bilinear"], choices=FRONT_ENDS,
                   help="imresize methods that upscale the LR image (default: bicubic bilinear)")
    p.add_argument("--repeats", type=int, default=3,
                   help="timed runs per image and step, the median kept (default: %(default)s)")
    p.add_argument("--threads", type=int, default=2, help="threads for Numba and BLAS (set before they load)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    args = p.parse_args(argv)
    if args.scale < 2 or args.repeats < 1 or args.threads < 1:
        raise UserError("--scale must be >= 2, --repeats and --threads >= 1")
    set_threads(args.threads)  # before NumPy loads its BLAS: nothing above imports it

    import numpy as np

    from npsrcnn.model.pretrained import load_model

    models = {m: load_model(args.ref_weights / m / f"x{args.scale}.npz", args.scale) for m in args.models}
    for d in args.datasets:
        if not (args.data / d).is_dir():
            raise UserError(f"dataset folder {args.data / d} not found")
    config = dict(data=str(args.data), ref_weights=str(args.ref_weights), datasets=args.datasets,
                  models=args.models, scale=args.scale, front_ends=args.front_ends, repeats=args.repeats,
                  threads=args.threads, padding="replicate")
    print(f"frontend_quality: {json.dumps(config)}", file=sys.stderr if args.json else sys.stdout, flush=True)

    from npsrcnn.interp.resize import imresize

    warm = np.random.default_rng(0).random((12, 12)).astype(np.float32)  # compile / load the kernels
    for front in args.front_ends:
        for model in models.values():
            model.predict(imresize(warm, args.scale, method=front), padding="replicate")

    results = []
    for d in args.datasets:
        summary, per_image = evaluate_set(args.data / d, args.scale, args.front_ends, models, args.repeats)
        results.append(dict(dataset=d, scale=args.scale, summary=summary, per_image=per_image))
        if not args.json:
            print()
            print(table(d, args.scale, summary))
    if args.json:
        print(json.dumps(dict(config=config, results=results), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
