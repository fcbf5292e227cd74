"""Where a training step's (or an inference's) time goes: each layer, each Winograd kernel, the GEMMs.

Times ``SRCNN.loss_and_grads`` on one batch (128 of 33x33 by default) with each layer's forward and
backward wrapped in a timer, then the bare NumPy GEMMs of the same shapes, so the gap between them
is what im2col, col2im, bias, ReLU and the taps kernels cost. Prints JSON; medians in milliseconds.
``step_gemms_ms`` are the GEMMs the step itself runs for layers 1 and 2 (a Winograd layer's A*A
products on its blocks of tile rows, not im2col's), timed bare; ``gemms_only_patches_per_s`` is the
step's speed if nothing else took time: the ceiling of these formulations at these GEMM speeds.

    python benchmarks/profile_step.py --arch 9-1-5 --threads 2
    python benchmarks/profile_step.py --arch 9-5-5 --threads 2

``--infer`` times ``SRCNN.predict`` on one ``--size`` x ``--size`` image (512, replicate padding, as
``bench_engine.py``'s inference) instead: ``layers_ms`` holds each layer's convolutions, and
"the rest" what ``predict`` spends outside them (9-1-5's 1x1 layer and layer 3, which run fused with
layer 1 on runs of rows, are there).

    python benchmarks/profile_step.py --arch 9-5-5 --threads 1 --infer

For a Winograd layer (9-5-5's layer 2), ``winograd_ms`` splits it: each transform kernel, and what
they leave of the strategy's forward and backward (the A*A GEMMs and the sums of their results).

With more than one thread the sub-batches (strips, for inference) run on worker threads at once, so
``layers_ms`` and ``winograd_ms`` are summed over the threads (thread time: about threads x ``step_ms``
in all). Layers are told apart by the name each conv call carries ("c1", "c2", "c3").
"""
import argparse
import os
import sys
import threading


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", default="9-1-5")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--infer", action="store_true", help="profile predict on one image instead of a training step")
    p.add_argument("--size", type=int, default=512, help="--infer: the image's side (default 512)")
    args = p.parse_args(argv)
    for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import json
    import time

    import numpy as np

    from npsrcnn import engine
    from npsrcnn.model.srcnn import SRCNN, parse_arch

    f1, f2, f3 = parse_arch(args.arch)
    model = SRCNN(f1, f2, f3, seed=0)
    rng = np.random.default_rng(0)
    B, b = args.batch, model.border
    if args.infer:
        img = rng.random((args.size, args.size), dtype=np.float32)

        def work():
            model.predict(img)
    else:
        x = rng.random((B, 1, 33, 33), dtype=np.float32)
        y = rng.random((B, 1, 33 - 2 * b, 33 - 2 * b), dtype=np.float32)

        def work():
            model.loss_and_grads(x, y)
    for _ in range(3):
        work()

    times = {}
    forward, backward = engine.conv_forward_cm, engine.conv_backward_cm
    lock = threading.Lock()

    def add(table, label, seconds):
        with lock:
            table[label] = table.get(label, 0.0) + seconds

    def timed(label, fn, *a, **kw):
        t0 = time.perf_counter()
        out = fn(*a, **kw)
        add(times, label, time.perf_counter() - t0)
        return out

    def fwd(*a, **kw):  # the model names its convs "c1", "c2", "c3"
        return timed(f"layer{kw['name'][1:]}_forward", forward, *a, **kw)

    def bwd(dout, cache, **kw):
        return timed(f"layer{cache['name'][1:]}_backward", backward, dout, cache, **kw)

    engine.conv_forward_cm, engine.conv_backward_cm = fwd, bwd  # what SRCNN's methods call
    # Winograd layers: each transform kernel (called through the module) and the strategy's whole
    # forward and backward; what the kernels leave of the latter is the A*A GEMMs (and their sums)
    from npsrcnn.engine import conv, winograd

    wino = {}
    kernels = ("tile_transform", "tile_transform_adjoint", "output_transform", "output_transform_adjoint",
               "kernel_transform", "kernel_transform_adjoint")
    saved = {k: getattr(winograd, k) for k in kernels}
    saved_strategies = dict(conv.STRATEGIES)

    def wrap(label, fn):
        def run(*a, **kw):
            t0 = time.perf_counter()
            out = fn(*a, **kw)
            add(wino, label, time.perf_counter() - t0)
            return out
        return run

    for k in kernels:
        setattr(winograd, k, wrap(k, saved[k]))
    for name in ("winograd2", "winograd4"):
        f, b = conv.STRATEGIES[name]
        conv.STRATEGIES[name] = (wrap("whole forward", f), wrap("whole backward", b))
    steps = []
    try:
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            work()
            steps.append(time.perf_counter() - t0)
    finally:
        engine.conv_forward_cm, engine.conv_backward_cm = forward, backward
        for k in kernels:
            setattr(winograd, k, saved[k])
        conv.STRATEGIES.update(saved_strategies)
    wino = {k: v / args.repeats * 1e3 for k, v in wino.items()}
    if wino:
        wino["GEMMs and the rest"] = (wino["whole forward"] + wino.get("whole backward", 0.0)
                                      - sum(v for k, v in wino.items() if k in kernels))
        wino = {k: round(v, 2) for k, v in sorted(wino.items())}
    step = float(np.median(steps))
    parts = {k: round(v / args.repeats * 1e3, 2) for k, v in sorted(times.items())}
    if args.infer:
        # thread time outside the convs, from means (the layers' times are means over the repeats)
        rest = (sum(steps) * args.threads - sum(times.values())) / args.repeats
        json.dump({"arch": args.arch, "infer": f"{args.size}x{args.size}", "threads": args.threads,
                   "predict_ms": round(step * 1e3, 2), "layers_ms": parts,
                   "the rest_ms": round(rest * 1e3, 2), "winograd_ms": wino}, sys.stdout, indent=1)
        print()
        return

    # the bare GEMMs of each sub-batch's im2col formulation, run as the step runs its sub-batches
    mb = model.MICRO_BATCH
    gemms, own = {}, {}  # own: the GEMMs the step itself runs for layers 1 and 2

    local = threading.local()

    def product(a, b):  # a @ b into a buffer of the worker's own, as the engine's workspaces are
        bufs = local.__dict__.setdefault("bufs", {})
        shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1])
        if shape not in bufs:
            bufs[shape] = np.empty(shape, np.float32)
        return np.matmul(a, b, out=bufs[shape])

    def median_ms(op, calls):  # `calls` of op as the step runs them: on its workers, 1 BLAS thread each
        def run():
            for _ in engine.parallel.run(lambda task: op(), range(calls)):
                pass
        run()
        t = []
        for _ in range(5):
            t0 = time.perf_counter()
            run()
            t.append(time.perf_counter() - t0)
        return round(float(np.median(t)) * 1e3, 2)

    H = 33
    for layer, (F, C, k) in enumerate(((64, 1, f1), (32, 64, f2)), start=1):
        Ho = H - k + 1
        L = mb * Ho * Ho
        W = rng.random((F, C * k * k), dtype=np.float32)
        cols = rng.random((C * k * k, L), dtype=np.float32)
        dz = rng.random((F, L), dtype=np.float32)
        ops = {"forward W@cols": lambda: product(W, cols), "dW dz@cols.T": lambda: product(dz, cols.T)}
        if layer > 1 and k == 1:
            ops["dX W.T@dz"] = lambda: product(W.T, dz)
        elif layer > 1:  # dX as engine.conv_backward_cm computes it: flipped kernels @ im2col(dout)
            wflip = rng.random((C, F * k * k), dtype=np.float32)
            dzcols = rng.random((F * k * k, mb * H * H), dtype=np.float32)
            ops["dX Wflip@im2col(dz)"] = lambda: product(wflip, dzcols)
        method = conv.choose_method("auto", C, F, k, k, mb, H, H, Ho, Ho, (0, 0, 0, 0))
        for name, op in ops.items():
            gemms[f"layer{layer} {name}"] = median_ms(op, B // mb)
            if method in ("im2col", "1x1"):
                own[f"layer{layer} {name}"] = gemms[f"layer{layer} {name}"]
        if method in conv.WINOGRAD_TILES:  # its A*A GEMMs on blocks of tile rows, as conv.py cuts them
            m = conv.WINOGRAD_TILES[method]
            A, T = m + k - 1, -(-Ho // m)
            rows = max(1, min(T, conv.WINOGRAD_BLOCK_BYTES // (A * A * C * T * mb * 4)))  # tile rows a block
            P = rows * T * mb
            U = rng.random((A * A, F, C), dtype=np.float32)
            V = rng.random((A * A, C, P), dtype=np.float32)
            dM = rng.random((A * A, F, P), dtype=np.float32)
            calls = -(-T // rows) * (B // mb)
            own[f"layer{layer} {method} M=U@V"] = median_ms(lambda: product(U, V), calls)
            dMt = np.ascontiguousarray(dM.transpose(0, 2, 1))  # the step copies dM^T out for this GEMM
            own[f"layer{layer} {method} dU=V@dMt"] = median_ms(lambda: product(V, dMt), calls)
            own[f"layer{layer} {method} dV=U.T@dM"] = median_ms(lambda: product(U.transpose(0, 2, 1), dM), calls)
        H = Ho
    own_ms = sum(own.values())
    json.dump({"arch": args.arch, "batch": B, "threads": args.threads, "step_ms": round(step * 1e3, 2),
               "patches_per_s": round(B / step), "layers_ms": parts, "bare_gemms_ms": gemms,
               "winograd_ms": wino, "step_gemms_ms": own,
               # the step if nothing but layers 1 and 2's GEMMs took time: a ceiling for this formulation
               "gemms_only_patches_per_s": round(B / own_ms * 1e3)}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
