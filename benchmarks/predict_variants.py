"""predict's schedule choices side by side: 9-1-5's fused runs of rows, and buffers kept between calls.

Each variant is ``FUSE_ROWS:BUFFERS``: the rows per fused run of 9-1-5's layers (0: one layer after the
other; see ``npsrcnn.model.srcnn.FUSE_ROWS``) and ``keep`` (the model keeps its strip buffers between calls,
as it does) or ``fresh`` (they are dropped before each call, as predict did before). The variants run
interleaved in one process, call by call, each on a model of its own (its own buffers), so a drift of
the machine hits them all alike; prints the median and the fastest call of each, in milliseconds, as
JSON.

    python benchmarks/predict_variants.py --threads 1 --variants 0:keep,16:keep
    python benchmarks/predict_variants.py --threads 2 --arch 9-5-5 --variants 16:fresh,16:keep
"""
import argparse
import os
import sys


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", default="9-1-5")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--size", type=int, default=512, help="the image's side (default 512)")
    p.add_argument("--variants", default="0:keep,8:keep,16:keep,32:keep,16:fresh")
    p.add_argument("--repeats", type=int, default=25)
    args = p.parse_args(argv)
    for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import json
    import time

    import numpy as np

    from npsrcnn.model import srcnn as model_module
    from npsrcnn.model.srcnn import parse_arch

    variants = []
    for v in args.variants.split(","):
        rows, _, buffers = v.partition(":")
        if not rows.isdigit() or buffers not in ("keep", "fresh"):
            p.error(f"a variant is ROWS:keep or ROWS:fresh, got {v!r}")
        variants.append((v, int(rows), buffers == "keep"))
    models = {name: model_module.SRCNN(*parse_arch(args.arch), seed=0) for name, _, _ in variants}  # own buffers
    img = np.random.default_rng(0).random((args.size, args.size), dtype=np.float32)

    def call(name, rows, keep):
        model = models[name]
        model_module.FUSE_ROWS = rows
        if not keep:
            model._workspaces.clear()  # what a fresh Workspace per call costs: the buffers' page faults
        t0 = time.perf_counter()
        model.predict(img)
        return time.perf_counter() - t0

    for name, rows, keep in variants:  # warm-up (and JIT) for every variant
        call(name, rows, keep), call(name, rows, keep)
    times = {name: [] for name, _, _ in variants}
    for _ in range(args.repeats):
        for name, rows, keep in variants:
            times[name].append(call(name, rows, keep))
    json.dump({"arch": args.arch, "threads": args.threads, "size": args.size, "repeats": args.repeats,
               "ms": {k: {"median": round(float(np.median(t)) * 1e3, 2), "min": round(float(np.min(t)) * 1e3, 2)}
                      for k, t in times.items()}}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
