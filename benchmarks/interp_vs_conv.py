"""Is bicubic interpolation what limits SRCNN's speed? Interpolation and the SRCNN forward, timed side by side.

The seed document claims that bicubic interpolation, "16-dimensional matrix operations at least once
per pixel", is what limits SRCNN's speed, and analyses bilinear as the 4-coefficient version of the
same solve. This times, for the same x3 upscales (inputs 85, 170, 340 -> outputs 255, 510, 1020 square):

- the seed's method literally: a 16x16 (bicubic) or 4x4 (bilinear) ``np.linalg.solve`` per output
  pixel in Python (timed on a sample of pixels and extrapolated to the whole image);
- our Numba 16-coefficient kernel (precomputed 16x16 inverse), once per source cell and, as the
  seed, once per output pixel; our Numba 4-coefficient bilinear kernel, once per source cell;
- our separable fast paths (``bicubic.upscale``, ``bilinear.upscale``) and the full MATLAB-compatible
  ``imresize`` with each method;
- peers: Pillow ``resize(BICUBIC)`` and ``resize(BILINEAR)`` on a float ("F") image (same kernels and
  map; Pillow's bicubic has another border rule), OpenCV ``INTER_CUBIC`` (a different kernel,
  a = -0.75, and no antialiasing) and ``INTER_LINEAR`` (no antialiasing);
- the SRCNN forward (``npsrcnn.model.srcnn.SRCNN(...).predict(img, padding="replicate")``), 9-1-5 and 9-5-5,
  on the interpolated image (same output size), and PyTorch's conv2d doing the same three layers.

Medians after a warm-up call; the first call of each Numba-backed method (JIT compilation, or loading
the on-disk cache) is reported separately. Thread counts are fixed before NumPy, Numba, OpenCV or
PyTorch are imported.

Examples::

    python benchmarks/interp_vs_conv.py                        # 2 threads, table + plot
    python benchmarks/interp_vs_conv.py --threads 1 --json     # machine-readable results on stdout
    python benchmarks/interp_vs_conv.py --sizes 170 --skip-srcnn --no-plot
"""
import os
import sys

DEFAULT_THREADS = 2


def _threads_from(argv):
    """--threads N, read before NumPy & co. are imported (their thread pools start at import)."""
    for i, a in enumerate(argv):
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
        if a == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
    return str(DEFAULT_THREADS)


_THREADS = _threads_from(sys.argv[1:]) if __name__ == "__main__" else str(DEFAULT_THREADS)
if _THREADS.isdigit() and int(_THREADS) > 0:
    for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _THREADS

import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from npsrcnn.interp import bicubic, bilinear  # noqa: E402
from npsrcnn.interp.resize import imresize  # noqa: E402
from npsrcnn.util.cli import ArgumentParser, command  # noqa: E402
from npsrcnn.util.errors import UserError
from npsrcnn.util.files import atomic_output

FACTOR = 3
FAST_PATHS = {"bicubic": "ours: bicubic separable fast path", "bilinear": "ours: bilinear separable fast path"}
# the seed's per-pixel solves, timed on a sample of pixels: (row name, interp(img, ys, xs))
NAIVE = (("seed: per-pixel 16x16 np.linalg.solve (Python)", lambda x, ys, xs: bicubic.interp_naive(x, ys, xs)),
         ("seed: per-pixel 4x4 np.linalg.solve (Python)", bilinear.interp_naive))
DEFAULT_PLOT = Path(__file__).resolve().parent / "results" / "interp_vs_conv.png"


# --- timing --------------------------------------------------------------------------------------
def time_call(fn, min_reps, min_seconds=0.3, max_reps=200):
    """Median, min and count of wall times (s) of ``fn()``, after one warm-up call."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    times = []
    while len(times) < max_reps and (len(times) < min_reps or sum(times) < min_seconds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if first > 2.0 and len(times) >= 3:  # slow methods (the big SRCNN forwards): 3 repeats suffice
            break
    return dict(warmup_s=first, median_s=float(np.median(times)), min_s=float(np.min(times)), reps=len(times))


def naive_per_pixel(img, sample, interp):
    """Seconds per output pixel of a per-pixel solve ``interp``, timed on ~``sample`` pixels (a sub-grid)."""
    H, W = img.shape
    side = max(1, int(round(np.sqrt(sample))))
    ys = bicubic.pixel_centre_coords(FACTOR * H, FACTOR)[:: max(1, FACTOR * H // side)][:side]
    xs = bicubic.pixel_centre_coords(FACTOR * W, FACTOR)[:: max(1, FACTOR * W // side)][:side]
    t0 = time.perf_counter()
    interp(img, ys, xs)
    return (time.perf_counter() - t0) / (ys.size * xs.size), ys.size * xs.size


def numba_cache_state(dispatcher):
    """'compiled' if the kernel was JIT-compiled in this process, 'cache' if loaded from __pycache__."""
    return "compiled" if sum(dispatcher.stats.cache_misses.values()) else "cache"


# --- the methods ---------------------------------------------------------------------------------
def methods(threads, skip_srcnn):
    """(name, kind, make) with make(img) -> zero-argument callable; kind is 'interp' or 'conv'."""
    from PIL import Image

    out = [
        (FAST_PATHS["bicubic"], "interp", lambda x: lambda: bicubic.upscale(x, FACTOR)),
        ("ours: imresize bicubic (MATLAB)", "interp", lambda x: lambda: imresize(x, FACTOR)),
        ("ours: Numba 16-coef, per cell", "interp", lambda x: lambda: bicubic.upscale(x, FACTOR, "hermite16")),
        ("ours: Numba 16-coef, per pixel", "interp", lambda x: _per_pixel16(x)),
        ("Pillow BICUBIC (float F)", "interp", lambda x: _pillow(x, Image.BICUBIC)),
        (FAST_PATHS["bilinear"], "interp", lambda x: lambda: bilinear.upscale(x, FACTOR)),
        ("ours: imresize bilinear (MATLAB)", "interp", lambda x: lambda: imresize(x, FACTOR, method="bilinear")),
        ("ours: Numba 4-coef, per cell", "interp", lambda x: lambda: bilinear.upscale(x, FACTOR, "solve4")),
        ("Pillow BILINEAR (float F)", "interp", lambda x: _pillow(x, Image.BILINEAR)),
    ]
    try:
        import cv2

        cv2.setNumThreads(threads)
        for name, flag in (("OpenCV INTER_CUBIC (a=-0.75)", cv2.INTER_CUBIC),
                           ("OpenCV INTER_LINEAR", cv2.INTER_LINEAR)):
            out.append((name, "interp", lambda x, flag=flag: lambda: cv2.resize(
                x, (FACTOR * x.shape[1], FACTOR * x.shape[0]), interpolation=flag)))
    except ImportError:
        print("note: OpenCV not installed, skipped", file=sys.stderr)
    if skip_srcnn:
        return out
    try:
        from npsrcnn.model.srcnn import SRCNN
    except ImportError as exc:
        print(f"note: npsrcnn.model unavailable ({exc}); SRCNN rows skipped", file=sys.stderr)
        return out
    for f2 in (1, 5):
        net = SRCNN(f1=9, f2=f2, f3=5, n1=64, n2=32, seed=0)
        out.append((f"ours: SRCNN {net.arch} forward", "conv",
                    lambda x, net=net: _on_upscaled(x, lambda y: net.predict(y, padding="replicate"))))
    try:
        import torch

        torch.set_num_threads(threads)
        for f2 in (1, 5):
            net = SRCNN(f1=9, f2=f2, f3=5, n1=64, n2=32, seed=0)
            out.append((f"PyTorch conv2d {net.arch} forward", "conv",
                        lambda x, net=net: _on_upscaled(x, _torch_forward(net, torch))))
    except ImportError:
        print("note: PyTorch not installed, its rows skipped", file=sys.stderr)
    return out


def _per_pixel16(x):
    ys = bicubic.pixel_centre_coords(FACTOR * x.shape[0], FACTOR)
    xs = bicubic.pixel_centre_coords(FACTOR * x.shape[1], FACTOR)
    return lambda: bicubic.interp16(x, ys, xs, "hermite", share_cells=False)


def _pillow(x, resample):
    from PIL import Image

    im = Image.fromarray(x, "F")
    size = (FACTOR * x.shape[1], FACTOR * x.shape[0])
    return lambda: im.resize(size, resample)


def _on_upscaled(x, forward):
    y = bicubic.upscale(x, FACTOR)  # the network runs on the interpolated, output-sized image
    return lambda: forward(y)


def _torch_forward(net, torch):
    F = torch.nn.functional
    p = {k: torch.from_numpy(v) for k, v in net.params.items()}

    def forward(y):
        with torch.no_grad():
            h = torch.from_numpy(y)[None, None]
            for i, relu in ((1, True), (2, True), (3, False)):
                k = p[f"w{i}"].shape[-1] // 2
                h = F.conv2d(F.pad(h, (k, k, k, k), mode="replicate") if k else h, p[f"w{i}"], p[f"b{i}"])
                h = F.relu(h) if relu else h
            return h[0, 0].numpy()

    return forward


# --- report --------------------------------------------------------------------------------------
def table(rows, sizes, first_call):
    """Markdown table: a row per method, a column per output size, the ratio to the fast path, and
    the first call on a tiny image (JIT compilation or loading it from the cache, plus a tiny run)."""
    names = list(dict.fromkeys(r["method"] for r in rows))
    by = {(r["method"], r["size_in"]): r for r in rows}
    ref = FAST_PATHS["bicubic"]
    heads = [f"{FACTOR * n}x{FACTOR * n} (ms)" for n in sizes]
    mid = sizes[len(sizes) // 2]
    lines = [f"| method | {' | '.join(heads)} | x bicubic fast path at {FACTOR * mid} | first call, 8x8 (s) |",
             "|---|" + "---:|" * (len(sizes) + 2)]
    for name in names:
        cells = []
        for n in sizes:
            r = by.get((name, n))
            cells.append("-" if r is None else f"{r['median_s'] * 1e3:.3g}" + ("*" if r.get("extrapolated") else ""))
        r, f = by.get((name, mid)), by.get((ref, mid))
        ratio = "-" if r is None or f is None else f"{r['median_s'] / f['median_s']:.3g}"
        first = f"{first_call[name]:.3g}" if name in first_call else "-"
        lines.append(f"| {name} | {' | '.join(cells)} | {ratio} | {first} |")
    return "\n".join(lines)


def verdict(rows, sizes):
    """Plain sentences: what costs more, interpolation or convolution, and by what factor."""
    by = {(r["method"], r["size_in"]): r["median_s"] for r in rows}
    out = []
    for n in sizes:
        for kind, name in FAST_PATHS.items():
            fast = by.get((name, n))
            for arch in ("9-1-5", "9-5-5"):
                conv = by.get((f"ours: SRCNN {arch} forward", n))
                if fast and conv:
                    out.append(f"{FACTOR * n}x{FACTOR * n}: the SRCNN {arch} forward takes {conv / fast:.0f}x as long "
                               f"as the {kind} upscale ({conv * 1e3:.1f} ms vs {fast * 1e3:.2f} ms): "
                               f"interpolation is {100 * fast / (fast + conv):.2f}% of the total.")
    return out


def plot(rows, sizes, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r["method"] for r in rows))
    by = {(r["method"], r["size_in"]): r["median_s"] * 1e3 for r in rows}
    fig, ax = plt.subplots(figsize=(13, 5.5))
    width = 0.8 / len(sizes)
    for k, n in enumerate(sizes):
        vals = [by.get((m, n), np.nan) for m in names]
        ax.bar(np.arange(len(names)) + (k - (len(sizes) - 1) / 2) * width, vals, width,
               label=f"{FACTOR * n}x{FACTOR * n}")
    ax.set_yscale("log")
    ax.set_ylabel("median wall time (ms, log scale)")
    ax.set_xticks(np.arange(len(names)), names, rotation=30, ha="right", fontsize=8)
    ax.set_title(f"x{FACTOR} bicubic and bilinear upscales vs SRCNN forward, same output size "
                 f"({os.environ.get('NUMBA_NUM_THREADS')} threads; * = extrapolated)", fontsize=10)
    ax.legend(title="output")
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)


# --- main ----------------------------------------------------------------------------------------
@command("interp_vs_conv")
def main(argv, prog):
    p = ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                   help="threads for Numba, BLAS, OpenCV and PyTorch (set before they are imported)")
    p.add_argument("--sizes", type=int, nargs="+", default=[85, 170, 340], help="input sides (output = 3x)")
    p.add_argument("--repeats", type=int, default=7, help="minimum timed calls per method (after a warm-up)")
    p.add_argument("--naive-sample", type=int, default=1600,
                   help="pixels of the pure-Python per-pixel solve actually timed, then extrapolated")
    p.add_argument("--skip-srcnn", action="store_true", help="interpolation only (no SRCNN / PyTorch forward)")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of the table")
    p.add_argument("--plot", type=Path, default=DEFAULT_PLOT, help="bar chart PNG (replaced if it exists)")
    p.add_argument("--no-plot", action="store_true", help="do not write the chart")
    args = p.parse_args(argv)
    if args.threads < 1 or str(args.threads) != os.environ.get("NUMBA_NUM_THREADS"):
        raise UserError("--threads must be a positive integer given on the command line "
                        "(it is applied before NumPy and Numba start)")
    if min(args.sizes) < 4 or args.repeats < 1 or args.naive_sample < 1:
        raise UserError("--sizes must be >= 4, --repeats and --naive-sample >= 1")

    import numba

    log = sys.stderr if args.json else sys.stdout
    config = dict(threads=args.threads, sizes_in=args.sizes, factor=FACTOR, repeats=args.repeats,
                  naive_sample=args.naive_sample, python=platform.python_version(), numpy=np.__version__,
                  numba=numba.__version__, cpus=os.cpu_count(), loadavg_before=[round(x, 2) for x in os.getloadavg()])
    print(f"config: {json.dumps(config)}", file=log)

    rows = []
    meths = methods(args.threads, args.skip_srcnn)
    tiny = np.random.default_rng(1).random((8, 8)).astype(np.float32)
    first_call = {}
    for name, _, make in meths:  # JIT compilation (or cache loading) happens here, timed apart
        t0 = time.perf_counter()
        make(tiny)()
        first_call[name] = time.perf_counter() - t0
    config["numba_kernels"] = {f"{m.__name__}.{k}": numba_cache_state(getattr(m, k)) for m, k in (
        (bicubic, "_taps_rows"), (bicubic, "_interp16_kernel"), (bilinear, "_interp4_kernel"))}
    for n in args.sizes:
        img = np.random.default_rng(0).random((n, n)).astype(np.float32)
        for name, interp in NAIVE:
            per_px, sampled = naive_per_pixel(img, args.naive_sample, interp)
            rows.append(dict(method=name, kind="interp", size_in=n, size_out=FACTOR * n,
                             median_s=per_px * (FACTOR * n) ** 2, extrapolated=True,
                             per_pixel_us=per_px * 1e6, sampled_pixels=sampled))
        for name, kind, make in meths:
            r = time_call(make(img), args.repeats)
            r.update(method=name, kind=kind, size_in=n, size_out=FACTOR * n)
            rows.append(r)
            print(f"  {FACTOR * n:5d}  {name:36s} {r['median_s'] * 1e3:10.3f} ms  ({r['reps']} reps)", file=log)
    config["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    try:
        config["numba_threading_layer"] = numba.threading_layer()
    except ValueError:  # no parallel kernel ran (--skip-srcnn: the interpolation kernels are serial)
        config["numba_threading_layer"] = None

    sentences = verdict(rows, args.sizes)
    if args.json:
        print(json.dumps(dict(config=config, first_call_s=first_call, results=rows, verdict=sentences), indent=1))
    else:
        print()
        print(table(rows, args.sizes, first_call))
        print()
        for r in rows[:len(NAIVE)]:
            print(f"* {r['method']}: extrapolated from {r['sampled_pixels']} timed pixels "
                  f"({r['per_pixel_us']:.0f} us per pixel at {FACTOR * args.sizes[0]}).")
        for s in sentences:
            print(s)
        print(f"load average before/after: {config['loadavg_before']} / {config['loadavg_after']}")
    if not args.no_plot:
        plot(rows, args.sizes, args.plot)
        print(f"plot: {args.plot}", file=log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
