"""Peak memory and time of upscaling a large image (default 4000x3000 RGB, x3 -> 12000x9000).

Runs ``npsrcnn.model.upscaling.upscale_array`` in this process and reports the peak resident set size
(``ru_maxrss``) against the size of the output itself, as JSON. The issue's bound: ~2 GB.

    python benchmarks/upscale_memory.py                       # 4000x3000 RGB x3, 9-1-5, 2 threads
    python benchmarks/upscale_memory.py --width 1000 --height 750 --threads 1
"""
import argparse
import os
import sys


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--width", type=int, default=4000)
    p.add_argument("--height", type=int, default=3000)
    p.add_argument("--scale", type=int, default=3)
    p.add_argument("--arch", default="9-1-5")
    p.add_argument("--band-rows", type=int, default=None)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import json
    import resource
    import time

    import numpy as np

    from npsrcnn.model.srcnn import SRCNN
    from npsrcnn.model.upscaling import BAND_ROWS, upscale_array

    f1, f2, f3 = (int(k) for k in args.arch.split("-"))
    model = SRCNN(f1, f2, f3, seed=0, scale=args.scale)
    upscale_array(np.zeros((40, 40, 3), np.uint8), model, args.scale)  # compile / load the kernels
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    H, W = args.height, args.width
    yy, xx = np.mgrid[0:H, 0:W]
    img = np.stack([(xx * 255 // W), (yy * 255 // H), ((xx + yy) % 256)], axis=2).astype(np.uint8)
    del yy, xx
    t0 = time.perf_counter()
    out = upscale_array(img, model, args.scale, band_rows=args.band_rows or BAND_ROWS)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    json.dump({
        "input": f"{W}x{H} RGB uint8", "output": f"{out.shape[1]}x{out.shape[0]}", "scale": args.scale,
        "arch": args.arch, "threads": args.threads, "band_rows": args.band_rows or BAND_ROWS,
        "seconds": round(seconds, 2), "output_MB": round(out.nbytes / 2**20, 1),
        "rss_before_MB": round(rss0 / 2**20, 1), "peak_rss_MB": round(peak / 2**20, 1),
    }, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
