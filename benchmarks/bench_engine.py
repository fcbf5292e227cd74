"""Engine speed: training steps and 512x512 inference, npsrcnn against PyTorch, each in its own process.

Examples::

    python benchmarks/bench_engine.py                      # 2 threads, 3 rounds, a table
    python benchmarks/bench_engine.py --threads 1 --rounds 5 --json
    python benchmarks/bench_engine.py --busy-core           # with a busy-loop process beside it
    python benchmarks/bench_engine.py --composed --only train --no-torch
    NPSRCNN_CONV_METHOD=im2col python benchmarks/bench_engine.py --only train   # one formulation everywhere
    python benchmarks/bench_engine.py --quick --json        # smoke run: tiny sizes, one round
    python benchmarks/bench_engine.py --rounds 5 --no-jit --save benchmarks/results/$(date +%F)-bench_engine-2t.json

Workloads:
  train_<arch>   one SGD step on a batch of 128 33x33 patches (valid convs, Caffe loss, momentum SGD):
                 forward + backward + update, in patches/s (higher is better)
  infer_<arch>   one 512x512 image, replicate padding at every layer, in s (lower is better)
  composed_<arch>  (--composed, npsrcnn only) the step composed by hand from the public layer API
                 (npsrcnn.model.composed.srcnn_loss_and_grads + the same SGD update), beside train_<arch>;
                 the ReLUs as conv2d_forward(..., relu=True)
  unfused_<arch>   (--composed) the same with the ReLUs as separate relu_forward / relu_backward ops

Method. In one process the library that ran last leaves threads spinning that slow the other, so each
side runs in a fresh subprocess of its own, and the sides alternate (npsrcnn first in odd rounds,
PyTorch first in even ones) for --rounds rounds. Each subprocess times --repeats runs after --warmup
untimed ones and reports their median; the table shows the median over rounds of those medians and
the ratio npsrcnn / PyTorch (>1: npsrcnn faster). Thread counts are set in the environment before
NumPy, Numba or PyTorch is imported (NUMBA_NUM_THREADS, OMP_, OPENBLAS_, MKL_NUM_THREADS, and
torch.set_num_threads) and printed. The JIT cost is measured apart: the first calls in a fresh
process with an empty Numba cache, then with the cache warm.

--save PATH also writes a result file (a new file in an existing folder; benchmarks/results/ holds the
committed ones, named <date>-bench_engine-<threads>t.json): the command, the date, the machine (CPU
model, cores, Python, NumPy, Numba, BLAS, PyTorch), the settings, one record per workload with the
figures of the table, and the JIT cost. The printed output is the same with or without it.
"""
import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np  # a worker imports it after the coordinator has set its thread counts

REPO = Path(__file__).resolve().parents[1]
ARCHS = {"9-1-5": (9, 1, 5), "9-5-5": (9, 5, 5)}
COMPOSED = ("composed", "unfused")  # the workloads timed on the npsrcnn side only
THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2, help="threads for BLAS, Numba and PyTorch (default 2)")
    p.add_argument("--rounds", type=int, default=3, help="alternated rounds of both sides (default 3)")
    p.add_argument("--repeats", type=int, default=7, help="timed runs per workload and round (default 7)")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs first (default 2)")
    p.add_argument("--batch", type=int, default=128, help="training batch size (default 128)")
    p.add_argument("--patch", type=int, default=33, help="training patch side (default 33)")
    p.add_argument("--size", type=int, default=512, help="inference image side (default 512)")
    p.add_argument("--only", choices=["train", "infer"], action="append", help="only these workloads (repeatable)")
    p.add_argument("--arch", choices=sorted(ARCHS), action="append", help="only these networks (repeatable)")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch side")
    p.add_argument("--no-jit", action="store_true", help="skip the cold/warm-cache compile measurement")
    p.add_argument("--composed", action="store_true",
                   help="also time the step composed from the public layer API (npsrcnn side)")
    p.add_argument("--busy-core", action="store_true", help="run a busy-loop process beside the measurement")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: batch 4 of 17x17, 48x48 image, 1 round of 1 repeat, no JIT measurement")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--save", metavar="PATH",
                   help="also write a result file (JSON: command, date, machine, figures) to this new file")
    p.add_argument("--worker", choices=["npsrcnn", "torch"], help=argparse.SUPPRESS)  # one side, in a subprocess
    a = p.parse_args(argv)
    if a.quick:
        a.batch, a.patch, a.size, a.rounds, a.repeats, a.warmup, a.no_jit = 4, 17, 48, 1, 1, 1, True
    return a


def workloads(a):
    parts = a.only or ["train", "infer"]
    names = []
    for arch in a.arch or sorted(ARCHS):
        names += [f"{p}_{arch}" for p in parts]
        if a.composed and "train" in parts:
            names += [f"composed_{arch}", f"unfused_{arch}"]
    return names


# ------------------------------------------------------------------------------------------ a worker


def run_worker(a):
    """Time every workload on one side (this process), print {workload: median seconds} as JSON."""
    if a.worker == "torch":
        import torch

        torch.set_num_threads(a.threads)
    times = {}
    for name in workloads(a):
        if a.worker == "torch" and name.startswith(COMPOSED):
            continue
        kind, arch = name.split("_")
        fn = (torch_side if a.worker == "torch" else npsrcnn_side)(kind, arch, a, np.random.default_rng(0))
        for _ in range(a.warmup):
            fn()
        runs = []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            fn()
            runs.append(time.perf_counter() - t0)
        times[name] = statistics.median(runs)
    print(json.dumps(times))


def npsrcnn_side(kind, arch, a, rng):
    sys.path.insert(0, str(REPO))
    from npsrcnn.model.composed import srcnn_loss_and_grads
    from npsrcnn.model.srcnn import SRCNN
    from npsrcnn.training.optim import SGD, paper_learning_rates, train_step

    model = SRCNN(*ARCHS[arch], seed=0)
    if kind == "infer":
        img = rng.random((a.size, a.size), np.float32)
        return lambda: model.predict(img, "replicate")
    opt = SGD(model.params, paper_learning_rates())
    o = a.patch - 2 * model.border
    x, y = rng.random((a.batch, 1, a.patch, a.patch), np.float32), rng.random((a.batch, 1, o, o), np.float32)
    if kind == "train":
        return lambda: train_step(model, opt, x, y)
    fuse = kind == "composed"  # else "unfused"
    return lambda: opt.step(srcnn_loss_and_grads(model.params, x, y, fuse_relu=fuse)[1])


def torch_side(kind, arch, a, rng):
    import torch
    from torch.nn import functional as F

    sys.path.insert(0, str(REPO))
    from npsrcnn.model.srcnn import SRCNN
    from npsrcnn.training.optim import paper_learning_rates

    model = SRCNN(*ARCHS[arch], seed=0)
    p = {k: torch.tensor(v, requires_grad=kind == "train") for k, v in model.params.items()}

    def forward(h, padding):
        for i in (1, 2, 3):
            w = p[f"w{i}"]
            k = w.shape[-1] // 2
            if padding == "replicate" and k:
                h = F.pad(h, (k, k, k, k), mode="replicate")
            h = F.conv2d(h, w, p[f"b{i}"])
            h = torch.relu(h) if i < 3 else h
        return h

    if kind == "infer":
        img = torch.tensor(rng.random((1, 1, a.size, a.size), np.float32))

        def infer():
            with torch.no_grad():
                return forward(img, "replicate").numpy()

        return infer
    lr = paper_learning_rates()
    opt = torch.optim.SGD([{"params": [p[k]], "lr": lr[k]} for k in p], momentum=0.9)
    o = a.patch - 2 * model.border
    x = torch.tensor(rng.random((a.batch, 1, a.patch, a.patch), np.float32))
    y = torch.tensor(rng.random((a.batch, 1, o, o), np.float32))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = ((forward(x, "valid") - y) ** 2).sum() / (2 * a.batch)  # Caffe EuclideanLoss
        loss.backward()
        opt.step()
        return loss.item()

    return step


# ------------------------------------------------------------------------------------- the coordinator


def side_env(a):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    env.update({v: str(a.threads) for v in THREAD_VARS})
    return env


def run_side(side, argv, a):
    cmd = [sys.executable, str(Path(__file__).resolve()), *argv, "--worker", side]
    out = subprocess.run(cmd, env=side_env(a), capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"error: the {side} worker failed:\n{out.stderr}")
    return json.loads(out.stdout.splitlines()[-1])


JIT_PROBE = """
import time, numpy as np
t0 = time.perf_counter()
from npsrcnn.model.srcnn import SRCNN
from npsrcnn.training.optim import SGD, paper_learning_rates, train_step
t1 = time.perf_counter()
m = SRCNN(9, 5, 5); o = SGD(m.params, paper_learning_rates())
x = np.zeros((32, 1, 33, 33), np.float32); y = np.zeros((32, 1, 17, 17), np.float32)
train_step(m, o, x, y); t2 = time.perf_counter()
m.predict(np.zeros((80, 80), np.float32)); m.predict(np.zeros((80, 80), np.float32), "zero"); t3 = time.perf_counter()
train_step(m, o, x, y); m.predict(np.zeros((80, 80), np.float32)); m.predict(np.zeros((80, 80), np.float32), "zero")
t4 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3)
"""


def jit_cost(cache_dir, a):
    """Import, first 9-5-5 train step (im2col, Winograd, taps kernels), first predicts, then the same again."""
    env = dict(side_env(a), NUMBA_CACHE_DIR=str(cache_dir))
    out = subprocess.run([sys.executable, "-c", JIT_PROBE], env=env, capture_output=True, text=True, check=True)
    imp, first_train, first_predict, again = map(float, out.stdout.split())
    return dict(import_s=imp, first_train_step_s=first_train, first_predict_s=first_predict, warm_calls_s=again)


def summarise(rounds, a):
    """Median over rounds of each side's medians; rates for training, seconds for inference."""
    res = {}
    for name in workloads(a):
        row = {}
        for side in ("npsrcnn", "torch"):
            meds = [r[side][name] for r in rounds if side in r and name in r[side]]
            if not meds:
                continue
            t = statistics.median(meds)
            row[side] = dict(median_s=t, rounds_s=meds)
            if not name.startswith("infer"):
                row[side]["patches_per_s"] = a.batch / t
        if "npsrcnn" in row and "torch" in row:
            row["speedup_vs_torch"] = row["torch"]["median_s"] / row["npsrcnn"]["median_s"]
        res[name] = row
    for arch in a.arch or sorted(ARCHS):
        t = res.get(f"train_{arch}")
        for kind in COMPOSED:
            c = res.get(f"{kind}_{arch}")
            if c and t:
                c["slowdown_vs_train_step"] = c["npsrcnn"]["median_s"] / t["npsrcnn"]["median_s"]
    return res


def print_table(res, config):
    print("configuration: " + ", ".join(f"{k}={v}" for k, v in config.items() if k != "loadavg_after"))
    print(f"{'workload':<16}{'npsrcnn':>16}{'PyTorch':>16}{'ratio':>9}")
    for name, row in res["workloads"].items():
        unit = (lambda s: f"{s:.3f} s") if name.startswith("infer") else (lambda s: f"{config['batch'] / s:,.0f} p/s")
        cells = [unit(row[side]["median_s"]) if side in row else "-" for side in ("npsrcnn", "torch")]
        ratio = row.get("speedup_vs_torch", row.get("slowdown_vs_train_step"))
        note = "" if "slowdown_vs_train_step" not in row else " (time vs train step)"
        print(f"{name:<16}{cells[0]:>16}{cells[1]:>16}{'' if ratio is None else f'{ratio:.2f}x':>9}{note}")
    for k in ("jit_cold_cache", "jit_warm_cache"):
        if k in res:
            print(k + ": " + ", ".join(f"{n}={v:.2f}" for n, v in res[k].items()))


# ------------------------------------------------------------------------------------- the result file


def refuse(message):
    """Bad input: one line on stderr, exit code 2, no traceback."""
    print(f"bench_engine.py: error: {message}", file=sys.stderr)
    sys.exit(2)


def check_save_path(path):
    """Exit 2 with one line unless `path` is a new file in an existing folder (no overwrite, no symlink)."""
    path = Path(path)
    if os.path.lexists(path):
        refuse(f"--save {path} exists; give a new file name")
    if not path.parent.is_dir():
        refuse(f"--save {path}: folder {path.parent} does not exist")
    return path


def command_line(argv):
    """The command as typed from the repository root, with the method override when one is set."""
    script = Path(__file__).resolve()
    script = script.relative_to(REPO) if script.is_relative_to(REPO) else script
    env = f"NPSRCNN_CONV_METHOD={os.environ['NPSRCNN_CONV_METHOD']} " if "NPSRCNN_CONV_METHOD" in os.environ else ""
    return env + shlex.join(["python", str(script), *argv])


def machine(torch_version):
    """What the figures depend on: CPU model, logical cores, library versions, the BLAS NumPy calls."""
    import numba

    cpu = platform.processor() or None
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        from threadpoolctl import threadpool_info

        blas = [{k: i.get(k) for k in ("internal_api", "version", "architecture", "threading_layer")}
                for i in threadpool_info() if i.get("user_api") == "blas"]
    except ImportError:
        blas = None
    return dict(platform=platform.platform(), processor=cpu, logical_cores=os.cpu_count(),
                python=platform.python_version(), numpy=np.__version__, numba=numba.__version__, blas=blas,
                torch=torch_version)


def result_records(res, config):
    """One record per workload with the figures the table prints (rates for steps, seconds for inference)."""
    records = []
    for name, row in res["workloads"].items():
        infer = name.startswith("infer")
        rec = dict(workload=name, unit="s" if infer else "patches/s")
        for side in ("npsrcnn", "torch"):
            if side in row:
                t = row[side]["median_s"]
                rec[side] = t if infer else config["batch"] / t
                rec[f"{side}_rounds_s"] = row[side]["rounds_s"]
        if "speedup_vs_torch" in row:
            rec.update(ratio=row["speedup_vs_torch"], ratio_is="npsrcnn / PyTorch speed (>1: npsrcnn faster)")
        elif "slowdown_vs_train_step" in row:
            rec.update(ratio=row["slowdown_vs_train_step"], ratio_is="time of this step / train_step's")
        records.append(rec)
    return records


def save_result(path, argv, res, config):
    """Write the result file atomically; refuse (exit 2) if `path` appeared while the benchmark ran."""
    doc = dict(command=command_line(argv), date=time.strftime("%Y-%m-%d"), machine=machine(config["torch"]),
               threads=config["threads"], rounds=config["rounds"], repeats=config["repeats"],
               warmup=config["warmup"], config=config, results=result_records(res, config))
    doc.update({k: res[k] for k in ("jit_cold_cache", "jit_warm_cache") if k in res})
    text = json.dumps(doc, indent=1) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600; the permissions open() would give
        try:
            os.link(tmp, path)  # all or nothing, and fails if `path` exists by now (a file or a link)
        except FileExistsError:
            refuse(f"--save {path} appeared while the benchmark ran; not replaced")
        except OSError:  # a file system without hard links: exclusive create, which also refuses both
            with open(path, "x") as f:
                f.write(text)
    finally:
        os.unlink(tmp)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    a = parse_args(argv)
    if a.worker:
        return run_worker(a)
    save = check_save_path(a.save) if a.save else None
    import numba

    try:
        import torch

        torch_version = None if a.no_torch else torch.__version__
    except ImportError:
        torch_version = None
    sides = ["npsrcnn"] + (["torch"] if torch_version else [])
    config = dict(threads=a.threads, thread_env={v: a.threads for v in THREAD_VARS}, rounds=a.rounds,
                  repeats=a.repeats, warmup=a.warmup, batch=a.batch, patch=a.patch, size=a.size,
                  busy_core=a.busy_core, conv_method=os.environ.get("NPSRCNN_CONV_METHOD", "auto"),
                  numpy=np.__version__, numba=numba.__version__, torch=torch_version, cpu_count=os.cpu_count(),
                  loadavg_before=os.getloadavg())
    if not a.json:
        print("threads per side: " + ", ".join(f"{v}={a.threads}" for v in THREAD_VARS)
              + (f", torch.set_num_threads({a.threads})" if torch_version else ""), flush=True)
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if a.busy_core else None
    try:
        rounds = []
        for r in range(a.rounds):
            order = sides if r % 2 == 0 else sides[::-1]
            rounds.append({side: run_side(side, argv, a) for side in order})
        res = dict(config=config, workloads=summarise(rounds, a))
        if not a.no_jit:
            with tempfile.TemporaryDirectory() as d:
                res["jit_cold_cache"] = jit_cost(d, a)  # empty cache: every kernel compiles
                res["jit_warm_cache"] = jit_cost(d, a)  # same cache, new process: kernels load from disk
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    config["loadavg_after"] = os.getloadavg()
    if a.json:
        print(json.dumps(res, indent=2))
    else:
        print_table(res, config)
    if save is not None:
        save_result(save, argv, res, config)


if __name__ == "__main__":
    main()
