"""Engine speed: one SGD training step and 512x512 inference, npsrcnn beside PyTorch in the same run.

Examples::

    python benchmarks/bench_engine.py                 # 2 threads, JSON on stdout
    python benchmarks/bench_engine.py --threads 1 --repeats 11
    python benchmarks/bench_engine.py --no-torch --only train

Measures (median after warm-up, with min and max):
  train_<arch>   one step on a batch of 128 33x33 patches (valid convs, Caffe loss, momentum SGD):
                 forward + backward + update, in patches/s (higher is better)
  infer_<arch>   one 512x512 image with same-size replicate padding at every layer, in s (lower is better)
and the first-call JIT cost on a cold Numba cache (a fresh process with an empty NUMBA_CACHE_DIR),
against the same calls in a fresh process whose cache is warm.

Thread counts are set before NumPy, Numba and PyTorch are imported (NUMBA_NUM_THREADS, OMP_, OPENBLAS_,
MKL_NUM_THREADS and torch.set_num_threads), so both engines get the same cores.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2, help="threads for BLAS, Numba and PyTorch (default 2)")
    p.add_argument("--repeats", type=int, default=7, help="timed runs per measurement (default 7)")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs first (default 2)")
    p.add_argument("--batch", type=int, default=128, help="training batch size (default 128)")
    p.add_argument("--size", type=int, default=512, help="inference image side (default 512)")
    p.add_argument("--only", choices=["train", "infer", "jit"], action="append",
                   help="run only these parts (repeatable; default all)")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch side")
    p.add_argument("--no-jit", action="store_true", help="skip the cold-cache compile measurement")
    return p.parse_args(argv)


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:  # before numpy / numba / torch are imported
    for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

sys.path.insert(0, str(REPO))
import numpy as np  # noqa: E402

from npsrcnn.model import SRCNN  # noqa: E402
from npsrcnn.optim import SGD, paper_learning_rates, train_step  # noqa: E402

ARCHS = {"9-1-5": (9, 1, 5), "9-5-5": (9, 5, 5)}


def timeit(fn, repeats, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return np.array(times)


def summary(times, per=None):
    """Median and spread of times (s), or of per/time (a rate) when `per` is given."""
    vals = np.sort(per / times if per else times)
    return dict(median=float(np.median(vals)), min=float(vals[0]), max=float(vals[-1]))


# -------------------------------------------------------------------------------------------- npsrcnn


def ours_train(arch, batch, rng):
    model = SRCNN(*ARCHS[arch], seed=0)
    opt = SGD(model.params, paper_learning_rates())
    x = rng.random((batch, 1, 33, 33), np.float32)
    o = 33 - 2 * model.border
    y = rng.random((batch, 1, o, o), np.float32)
    return lambda: train_step(model, opt, x, y)


def ours_infer(arch, size, rng):
    model = SRCNN(*ARCHS[arch], seed=0)
    img = rng.random((size, size), np.float32)
    return lambda: model.predict(img, "replicate")


# -------------------------------------------------------------------------------------------- PyTorch


def torch_net(torch, arch):
    model = SRCNN(*ARCHS[arch], seed=0)
    return {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}


def torch_forward(torch, p, x, padding):
    F = torch.nn.functional
    h = x
    for i in (1, 2, 3):
        w = p[f"w{i}"]
        k = w.shape[-1] // 2
        if padding == "replicate" and k:
            h = F.pad(h, (k, k, k, k), mode="replicate")
        h = F.conv2d(h, w, p[f"b{i}"])
        h = torch.relu(h) if i < 3 else h
    return h


def torch_train(torch, arch, batch, rng):
    p = torch_net(torch, arch)
    lr = paper_learning_rates()
    opt = torch.optim.SGD([{"params": [p[k]], "lr": lr[k]} for k in p], momentum=0.9)
    x = torch.tensor(rng.random((batch, 1, 33, 33), np.float32))
    o = 33 - 2 * SRCNN(*ARCHS[arch]).border
    y = torch.tensor(rng.random((batch, 1, o, o), np.float32))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = ((torch_forward(torch, p, x, "valid") - y) ** 2).sum() / (2 * batch)  # Caffe EuclideanLoss
        loss.backward()
        opt.step()
        return loss.item()

    return step


def torch_infer(torch, arch, size, rng):
    p = {k: v.detach() for k, v in torch_net(torch, arch).items()}
    img = torch.tensor(rng.random((1, 1, size, size), np.float32))

    def run():
        with torch.no_grad():
            return torch_forward(torch, p, img, "replicate").numpy()

    return run


# ---------------------------------------------------------------------------------------------- JIT

JIT_PROBE = """
import time, numpy as np
t0 = time.perf_counter()
from npsrcnn.model import SRCNN
from npsrcnn.optim import SGD, paper_learning_rates, train_step
t1 = time.perf_counter()
m = SRCNN(); o = SGD(m.params, paper_learning_rates())
x = np.zeros((2, 1, 33, 33), np.float32); y = np.zeros((2, 1, 21, 21), np.float32)
train_step(m, o, x, y); t2 = time.perf_counter()
m.predict(np.zeros((40, 40), np.float32)); m.predict(np.zeros((40, 40), np.float32), "zero"); t3 = time.perf_counter()
train_step(m, o, x, y); m.predict(np.zeros((40, 40), np.float32)); m.predict(np.zeros((40, 40), np.float32), "zero")
t4 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3)
"""


def jit_cost(cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir), PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", JIT_PROBE], env=env, capture_output=True, text=True, check=True)
    imp, first_train, first_predict, again = map(float, out.stdout.split())
    return dict(import_s=imp, first_train_step_s=first_train, first_predict_s=first_predict, warm_calls_s=again)


def main():
    a = ARGS
    parts = set(a.only or ["train", "infer", "jit"])
    torch = None
    if not a.no_torch:
        try:
            import torch

            torch.set_num_threads(a.threads)
        except ImportError:
            torch = None
    import numba

    res = dict(threads=a.threads, numpy=np.__version__, numba=numba.__version__,
               torch=None if torch is None else torch.__version__, cpu_count=os.cpu_count(),
               loadavg_before=os.getloadavg(), repeats=a.repeats, warmup=a.warmup)
    rng = np.random.default_rng(0)
    for arch in ARCHS:
        if "train" in parts:
            ours = timeit(ours_train(arch, a.batch, rng), a.repeats, a.warmup)
            r = res[f"train_{arch}_patches_per_s"] = {"npsrcnn": summary(ours, a.batch)}
            if torch is not None:
                r["torch"] = summary(timeit(torch_train(torch, arch, a.batch, rng), a.repeats, a.warmup), a.batch)
                r["speedup_vs_torch"] = r["npsrcnn"]["median"] / r["torch"]["median"]
        if "infer" in parts:
            ours = timeit(ours_infer(arch, a.size, rng), a.repeats, a.warmup)
            r = res[f"infer_{arch}_{a.size}x{a.size}_s"] = {"npsrcnn": summary(ours)}
            if torch is not None:
                r["torch"] = summary(timeit(torch_infer(torch, arch, a.size, rng), a.repeats, a.warmup))
                r["speedup_vs_torch"] = r["torch"]["median"] / r["npsrcnn"]["median"]
    if "jit" in parts and not a.no_jit:
        with tempfile.TemporaryDirectory() as d:
            res["jit_cold_cache"] = jit_cost(d)  # empty cache: every kernel compiles
            res["jit_warm_cache"] = jit_cost(d)  # same cache, new process: kernels load from disk
    res["loadavg_after"] = os.getloadavg()
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
