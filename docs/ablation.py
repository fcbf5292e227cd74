"""The training ablation of docs/training.md: the paper recipe against each lever, Set5 x3 PSNR per minute.

    python docs/ablation.py commands               # the training commands (run them one after another)
    python docs/ablation.py plot --runs RUNS_DIR   # copy each run's log into docs/ablation/, then plot

Every run is x3 on T91 less the 5 held-out images (9-1-5 unless the flags say 9-5-5), ``--threads 1``
(fast-r1 and fast-955-r1-p45 ran with ``--threads 2``, which gives the same weights bit for bit), about 6,000 steps of 128
patches (40 epochs without the downscaled copies, 12 with them; the larger-patch runs take about
6,000 steps of 64 or 32 patches, each step costing about as much), Set5 logged per epoch with
``--report-dir`` for the curves only. ``plot`` reads ``docs/ablation/<name>.jsonl`` (the runs' own
``log.jsonl``, committed: a few KB) and writes ``docs/figures/ablation.png`` and the table printed.

Minutes are each run's steps times the training step's time of its shape measured on a quiet
machine at 1 thread (``STEP_SECONDS`` below, from ``python benchmarks/bench_engine.py --threads 1
--no-torch --no-jit``): the runs themselves shared the 2 cores with a second training and were paused
for benchmarks, so their own clocks (``seconds``, printed beside) do not compare levers. Every lever
here costs the same per step within an architecture and patch shape (the augmentations are a
per-batch copy).
"""
import argparse
import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOGS = REPO / "docs" / "ablation"

# Seconds per training step at 1 thread, quiet machine (see the docstring), by (arch, patch side, batch):
# batch / the patches/s of `python benchmarks/bench_engine.py --threads 1 --no-jit` (2,554 for 9-1-5,
# 579 for 9-5-5; docs/engine.md#speed), and for the larger patches `... --no-torch --only train
# --arch 9-1-5 --patch P --batch B` (1,091 patches/s for 45/64, 568 for 57/32; the same command gave
# 2,548 for 33/128 in that session). 9-5-5 at 45/64 was measured with a later, faster engine (347
# patches/s, against 763 for 9-5-5 at 33/128 in the same session) and is scaled by that session's
# 33/128 rate to the 579 of the other 9-5-5 rows, so that the minutes compare.
STEP_SECONDS = {("9-1-5", 33, 128): 128 / 2554, ("9-5-5", 33, 128): 128 / 579,
                ("9-1-5", 45, 64): 64 / 1091, ("9-1-5", 57, 32): 32 / 568,
                ("9-5-5", 45, 64): 64 / 347 * 763 / 579}

# name, what changes from the paper recipe, flags
RUNS = [
    ("paper", "paper recipe (He init, momentum SGD 1e-4, constant, no augmentation)", "--recipe paper --epochs 40"),
    ("paper-init", "paper recipe with the paper's init N(0, 1e-3^2)", "--recipe paper --init paper --epochs 40"),
    ("adam", "+ Adam 1e-3", "--recipe paper --optimizer adam --lr 1e-3 --epochs 40"),
    ("cosine", "+ cosine schedule, 200 warm-up steps", "--recipe paper --schedule cosine --lr-floor 0.01 --warmup 200 --epochs 40"),
    ("dihedral", "+ flips/rotations per patch", "--recipe paper --augment dihedral --epochs 40"),
    ("scaleaug", "+ downscaled copies 0.9-0.6", "--recipe paper --scale-aug 0.9,0.8,0.7,0.6 --epochs 12"),
    ("fast", "fast recipe (all of the above)", "--recipe fast --lr-ratio 0.1 --epochs 12"),
    ("fast-noscale", "fast recipe without the downscaled copies",
     "--recipe fast --lr-ratio 0.1 --scale-aug none --epochs 40"),
    ("fast-p45", "fast recipe, 45x45 patches, batch 64",
     "--recipe fast --lr-ratio 0.1 --patch-size 45 --batch-size 64 --epochs 7"),
    ("fast-p57", "fast recipe, 57x57 patches, batch 32",
     "--recipe fast --lr-ratio 0.1 --patch-size 57 --batch-size 32 --epochs 4"),
    ("fast-r1", "fast recipe, one Adam rate for every layer (--lr-ratio 1)",
     "--recipe fast --lr-ratio 1 --epochs 12"),
    ("fast-955", "fast recipe, 9-5-5", "--recipe fast --lr-ratio 0.1 --arch 9-5-5 --epochs 12"),
    ("fast-955-r1", "fast recipe, 9-5-5, --lr-ratio 1", "--recipe fast --lr-ratio 1 --arch 9-5-5 --epochs 12"),
    ("fast-955-r1-p45", "fast recipe, 9-5-5, --lr-ratio 1, 45x45 patches, batch 64",
     "--recipe fast --lr-ratio 1 --arch 9-5-5 --patch-size 45 --batch-size 64 --epochs 7"),
    # longer runs: three x3 shipped before (9-1-5, 9-5-5 with the tenth, 9-5-5 with one rate) and the
    # shipped x3, from their own logs
    ("fast-40", "fast recipe, 40 epochs (9-1-5 x3 shipped before)", "--recipe fast --lr-ratio 0.1 --epochs 40"),
    ("fast-955-92", "fast recipe, 9-5-5, 56 epochs, resumed to 92 (x3 shipped before)",
     "--recipe fast --lr-ratio 0.1 --arch 9-5-5 --epochs 56, then --resume --epochs 92"),
    ("fast-955-r1-56", "fast recipe, 9-5-5, --lr-ratio 1, 56 epochs (x3 shipped before; x2, x4 start here)",
     "--recipe fast --arch 9-5-5 --epochs 56"),
    ("fast-955-r1-p45-68", "fast recipe, 9-5-5, --lr-ratio 1, 45x45 patches, batch 64, 68 epochs (x3 shipped)",
     "--recipe fast --arch 9-5-5 --patch-size 45 --batch-size 64 --epochs 68"),
]
# logs copied from the shipped weights' runs (at --threads 2), not re-run here
LONG_RUNS = ("fast-40", "fast-955-92", "fast-955-r1-56", "fast-955-r1-p45-68")
COMMON = "npsrcnn train --scale 3 --threads 1 --report-dir data/Set5 --no-progress"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=["commands", "plot"])
    p.add_argument("--runs", type=Path, help="plot: folder holding <name>/log.jsonl of each run (copied into docs/ablation/)")
    p.add_argument("--out", type=Path, default=REPO / "docs" / "figures" / "ablation.png")
    a = p.parse_args(argv)
    if a.what == "commands":
        for name, _, flags in RUNS:
            if name in LONG_RUNS:
                print(f"# {name}: a shipped x3 run's own log (docs/training.md, 'Shipped weights', and git history): {flags}")
            else:
                print(f"{COMMON} {flags} --out runs/abl/{name}")
        return 0
    if a.runs:
        LOGS.mkdir(exist_ok=True)
        for name, _, _ in RUNS:
            if (a.runs / name / "log.jsonl").is_file():
                shutil.copyfile(a.runs / name / "log.jsonl", LOGS / f"{name}.jsonl")
    curves = {}
    for name, label, flags in RUNS:
        path = LOGS / f"{name}.jsonl"
        if not path.is_file():
            print(f"note: {path} missing, {name} left out")
            continue
        curves[name] = (label, _curve([json.loads(line) for line in path.read_text().splitlines() if line.strip()],
                                      STEP_SECONDS[_shape(flags)]))
    print("| run | steps | minutes | its own seconds | Set5 x3 PSNR (dB) | held-out PSNR (dB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (label, c) in curves.items():
        print(f"| {label} | {c['steps'][-1]:,} | {c['minutes'][-1]:.1f} | {c['seconds']:.0f} | "
              f"{c['report'][-1]:.2f} | {c['val'][-1]:.2f} |")
    _plot(a.out, curves)
    return 0


def _shape(flags):
    """(arch, patch side, batch) of a run's flags, the recipe's 9-1-5, 33 and 128 unless given."""
    words = flags.split()
    get = lambda flag, default: words[words.index(flag) + 1] if flag in words else default
    return get("--arch", "9-1-5"), int(get("--patch-size", 33)), int(get("--batch-size", 128))


def _curve(history, step_seconds):
    steps = [h["step"] for h in history]
    return dict(steps=steps, minutes=[n * step_seconds / 60 for n in steps], seconds=history[-1]["seconds"],
                report=[h["report_psnr"] for h in history], val=[h["val_psnr"] for h in history],
                bicubic=history[-1].get("report_bicubic_psnr"))


def _plot(path, curves):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.8))
    # One colour per curve from a 20-colour map, a line style per family (9-1-5 levers solid, 9-5-5
    # dotted-dashed, long runs dashed), markers every few points: no two of the 20 lines look alike.
    styles = {True: "--", False: "-"}
    for i, (name, (label, c)) in enumerate(curves.items()):
        ls = styles[name in LONG_RUNS] if "955" not in name or name in LONG_RUNS else "-."
        ax.plot(c["minutes"], c["report"], label=label, lw=2.4 if name in ("paper", "fast", "fast-955-r1-p45-68") else 1.3,
                ls=ls, color="black" if name == "fast-955-r1-p45-68" else plt.cm.tab20(i % 20),
                marker="osD^v<>ph*"[i % 10], markevery=max(1, len(c["minutes"]) // 6), markersize=4)
    bic = next((c["bicubic"] for _, c in curves.values() if c["bicubic"]), None)
    if bic:
        ax.axhline(bic, color="0.5", ls=":", lw=1)
        ax.text(0.05, bic + 0.03, f"bicubic {bic:.2f}", color="0.4", fontsize=8, transform=ax.get_yaxis_transform())
    ax.set_xlabel("minutes of training steps at 1 thread (quiet 2-core VM; log scale)")
    ax.set_ylabel("Set5 x3 PSNR (dB), logged per epoch")
    ax.set_xscale("log")
    ends = [c["report"][-1] for _, c in curves.values()]
    ax.set_ylim(min([bic or 99] + ends) - 0.4, max(ends) + 0.2)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    fig.savefig(path, dpi=72, bbox_inches="tight")  # "tight": the legend sits below the axes
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    sys.exit(main())
