"""The conv formulations side by side: one layer's forward + backward per method, and SRCNN's training
step and inference with and without Winograd, the variants alternated in one process.

Examples::

    python benchmarks/conv_methods.py                        # 9-5-5 layer 2 on 32 patches, 1 thread
    python benchmarks/conv_methods.py --layer 32,32,3 --methods im2col,winograd2,winograd4
    python benchmarks/conv_methods.py --step 9-5-5 --seconds 25
    python benchmarks/conv_methods.py --quick --json         # smoke run

Each round runs every variant once, in turn, for --seconds; the medians are printed (ms). Alternating
in one process on the same arrays gives the variants the same machine state, which a loaded machine
changes from one minute to the next; compare variants within one run, not across runs. "auto without
Winograd" sets ``conv.WINOGRAD_MIN_OUTPUTS`` out of reach: the choice the engine made before Winograd.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=1, help="Numba and BLAS threads (default 1)")
    p.add_argument("--layer", default="64,32,5", help="C,F,K of the layer (default 64,32,5: 9-5-5 layer 2)")
    p.add_argument("--batch", type=int, default=32, help="images per call (default 32, a training sub-batch)")
    p.add_argument("--size", type=int, default=25, help="input side, valid padding (default 25)")
    p.add_argument("--methods", default="im2col,winograd2,winograd4", help="comma-separated (default all three)")
    p.add_argument("--step", metavar="ARCH", help="instead: SRCNN ARCH's train step (128 of 33x33) and 512x512 "
                   "inference, auto with and without Winograd")
    p.add_argument("--seconds", type=float, default=20, help="measuring time (default 20)")
    p.add_argument("--quick", action="store_true", help="smoke run: tiny sizes, a fraction of a second")
    p.add_argument("--json", action="store_true", help="print JSON")
    return p.parse_args(argv)


def layer_variants(a):
    import numpy as np

    from npsrcnn.engine import Workspace, conv_backward_cm, conv_forward_cm

    C, F, K = (int(v) for v in a.layer.split(","))
    rng = np.random.default_rng(0)
    x = rng.random((C, a.batch, a.size, a.size), np.float32)
    w = (rng.standard_normal((F, C, K, K)) * 0.01).astype(np.float32)
    b = np.zeros(F, np.float32)

    def variant(method):
        ws = Workspace()

        def run():
            out, cache = conv_forward_cm(x, w, b, "valid", method, relu=True, ws=ws, chunk_bytes=128 << 20)
            conv_backward_cm(np.ones_like(out), cache)

        return run

    return {f"{m} forward+backward": variant(m) for m in a.methods.split(",")}


def step_variants(a):
    import numpy as np

    from npsrcnn.engine import conv
    from npsrcnn.model.srcnn import SRCNN
    from npsrcnn.training.optim import SGD, paper_learning_rates, train_step

    model = SRCNN(*(int(k) for k in a.step.split("-")), seed=0)
    opt = SGD(model.params, paper_learning_rates())
    rng = np.random.default_rng(0)
    batch, side, size = (8, 33, 64) if a.quick else (128, 33, 512)
    o = side - 2 * model.border
    x, y = rng.random((batch, 1, side, side), np.float32), rng.random((batch, 1, o, o), np.float32)
    img = rng.random((size, size), np.float32)
    auto = conv.WINOGRAD_MIN_OUTPUTS

    def variant(limit, fn):
        def run():
            conv.WINOGRAD_MIN_OUTPUTS = limit
            try:
                fn()
            finally:
                conv.WINOGRAD_MIN_OUTPUTS = auto

        return run

    step, infer = (lambda: train_step(model, opt, x, y)), (lambda: model.predict(img, "replicate"))
    return {"train step, auto": variant(auto, step), "train step, auto without Winograd": variant(10**18, step),
            f"inference {size}x{size}, auto": variant(auto, infer),
            f"inference {size}x{size}, auto without Winograd": variant(10**18, infer)}


def main(argv=None):
    a = parse_args(argv)
    for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(a.threads)  # before NumPy and Numba load
    sys.path.insert(0, str(REPO))
    import numpy as np

    if a.quick:
        a.batch, a.size, a.seconds = 2, 12, 0.2
    variants = step_variants(a) if a.step else layer_variants(a)
    for fn in variants.values():  # compile and fill the workspaces
        fn()
    times = {name: [] for name in variants}
    end = time.perf_counter() + a.seconds
    while time.perf_counter() < end or not all(times.values()):
        for name, fn in variants.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    config = dict(threads=a.threads, seconds=a.seconds, loadavg=os.getloadavg(),
                  **(dict(step=a.step) if a.step else dict(layer=a.layer, batch=a.batch, size=a.size)))
    res = {name: dict(median_ms=1e3 * float(np.median(t)), runs=len(t)) for name, t in times.items()}
    if a.json:
        print(json.dumps(dict(config=config, results=res), indent=2))
        return
    print("configuration: " + ", ".join(f"{k}={v}" for k, v in config.items()))
    for name, r in res.items():
        print(f"{name:<48}{r['median_ms']:9.1f} ms  ({r['runs']} runs)")


if __name__ == "__main__":
    main()
