"""Where a Winograd layer's time goes: each transform kernel, its adjoint, and the GEMM, timed alone.

    python benchmarks/winograd_kernels.py                 # 9-5-5 layer 2, one training sub-batch of 32, 1 thread
    python benchmarks/winograd_kernels.py --tile 2 --json
    python benchmarks/winograd_kernels.py --quick         # smoke run

The shapes are those of a training sub-batch (valid padding): C input channels of N images of HxH,
F filters of KxK, tiles of m x m outputs (F(m x m, K x K)). Every kernel runs on the whole sub-batch
at once (the engine runs the tile transform, the GEMMs and the output transform a block of tile
rows at a time, so this is an upper bound on their memory traffic). Medians of --repeats runs after
one warm-up, in ms; threads are set before NumPy and Numba load.
"""
import argparse
import json
import os
import sys
import time


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=1, help="Numba and BLAS threads (default 1)")
    p.add_argument("--shape", default="64,32,32,25,5", help="C,F,N,H,K (default 64,32,32,25,5: 9-5-5 layer 2)")
    p.add_argument("--tile", type=int, default=4, help="m of F(m x m, K x K) (default 4)")
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--quick", action="store_true", help="smoke run: a tiny shape, 1 repeat")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import numpy as np

    from npsrcnn.engine import winograd as wg
    from npsrcnn.util import jit as _jit  # noqa: F401  (passive OpenMP threads, before Numba starts them)

    C, F, N, H, K = (4, 3, 2, 9, 3) if a.quick else map(int, a.shape.split(","))
    repeats = 1 if a.quick else a.repeats
    m = a.tile
    A, Ho = m + K - 1, H - K + 1
    Th = Tw = -(-Ho // m)
    rng = np.random.default_rng(0)
    x = rng.random((C, N, H, H), dtype=np.float32)
    AT, G, BT = wg.transform_matrices(m, K)
    w = rng.random((F, C, K, K), dtype=np.float32)
    V = np.empty((A * A, C, Th * Tw * N), np.float32)
    U = wg.kernel_transform(w, G)
    M = np.empty((A * A, F, V.shape[2]), np.float32)
    out = np.empty((F, N, Ho, Ho), np.float32)
    dM, dV, dx = np.empty_like(M), np.empty_like(V), np.zeros_like(x)
    steps = [
        ("kernel transform U = G w G^T", lambda: wg.kernel_transform(w, G)),
        ("tile transform V = BT d BT^T", lambda: wg.tile_transform(x, BT, m, Tw, 0, 0, False, V)),
        ("GEMMs M = U @ V", lambda: np.matmul(U, V, out=M)),
        ("output transform (AT M AT^T)", lambda: wg.output_transform(M, AT, m, Th, Tw, out)),
        ("output adjoint", lambda: wg.output_transform_adjoint(out, AT, m, Th, Tw, dM)),
        ("GEMMs dU = V @ dM^T", lambda: np.matmul(V, dM.transpose(0, 2, 1))),
        ("GEMMs dV = U^T @ dM", lambda: np.matmul(U.transpose(0, 2, 1), dM, out=dV)),
        ("tile adjoint (into dx)", lambda: wg.tile_transform_adjoint(dV, BT, m, Tw, 0, 0, False, dx)),
        ("kernel adjoint dW = G^T dU G", lambda: wg.kernel_transform_adjoint(np.ascontiguousarray(U), G, np.float32)),
    ]
    res = {}
    for name, f in steps:
        f()
        ts = []
        for _ in range(repeats):
            t = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t)
        res[name] = float(np.median(ts)) * 1e3
    gemm = sum(v for k, v in res.items() if k.startswith("GEMMs"))
    config = dict(threads=a.threads, C=C, F=F, N=N, H=H, K=K, m=m, repeats=repeats)
    if a.json:
        print(json.dumps(dict(config=config, ms=res, gemms_ms=gemm, transforms_ms=sum(res.values()) - gemm)))
        return 0
    print(f"F({m}x{m}, {K}x{K}), C={C} -> F={F}, {N} images of {H}x{H}, {a.threads} thread(s), median of {repeats}")
    for name, v in res.items():
        print(f"  {name:34s} {v:8.2f} ms")
    print(f"  {'GEMMs, all':34s} {gemm:8.2f} ms")
    print(f"  {'transforms, all':34s} {sum(res.values()) - gemm:8.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
