"""Draw the walkthrough's figures (small PNGs) into docs/figures/.

    python docs/make_figures.py
    python docs/make_figures.py --log runs/9-1-5-x3/log.jsonl     # also the loss and PSNR curves

Reads the shipped weights (npsrcnn/weights/x3.h5), the authors' released 9-1-5 (91 images) x3 weights
(``--ref-weights``, default ``$NPSRCNN_REF_WEIGHTS``) and Set5's butterfly (``--data``, default
``$NPSRCNN_DATA``, else ``data/`` after ``python -m npsrcnn.data fetch``). A figure whose input is
missing is skipped with a message. Rerun it whenever the shipped weights change.

Writes: filters.png (first-layer filters, ours beside the authors'), feature_maps.png (one image through
the layers), crops.png (bicubic vs SRCNN vs original), gradcheck.png (relative error of every gradient,
float32 vs float64) and, with --log, curves.png (training loss and validation PSNR per epoch).
"""
import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DPI = 72  # small files: the largest figure stays well under 200 KB


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=REPO / "docs" / "figures", help="folder for the PNGs (default %(default)s)")
    p.add_argument("--weights", type=Path, default=REPO / "npsrcnn" / "weights" / "x3.h5",
                   help="our x3 weights (default %(default)s)")
    p.add_argument("--ref-weights", type=Path,
                   default=Path(os.environ.get("NPSRCNN_REF_WEIGHTS", REPO.parent / "shared" / "reference" / "srcnn_matlab_weights")),
                   help="folder of the authors' released weights (default $NPSRCNN_REF_WEIGHTS)")
    p.add_argument("--data", type=Path, default=Path(os.environ.get("NPSRCNN_DATA", REPO / "data")),
                   help="folder holding Set5/ (default $NPSRCNN_DATA, else data/)")
    p.add_argument("--log", type=Path, help="a training run's log.jsonl for the loss and PSNR curves")
    args = p.parse_args(argv)
    print(f"out={args.out} weights={args.weights} ref-weights={args.ref_weights} data={args.data} log={args.log}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from npsrcnn.model.srcnn import SRCNN

    args.out.mkdir(parents=True, exist_ok=True)
    ours = SRCNN.load(args.weights)
    ref_path = args.ref_weights / "9-1-5(91 images)" / "x3.npz"
    theirs = SRCNN.from_npz(ref_path) if ref_path.is_file() else None
    if theirs is None:
        print(f"note: {ref_path} not found; filters.png shows our filters only")
    filters(plt, args.out / "filters.png", ours, theirs)
    butterfly = args.data / "Set5" / "butterfly_GT.bmp"
    if butterfly.is_file():
        y, x = butterfly_input(butterfly, ours.scale or 3)
        feature_maps(plt, args.out / "feature_maps.png", ours, x)
        crops(plt, args.out / "crops.png", ours, y, x)
    else:
        print(f"skipped feature_maps.png and crops.png: {butterfly} not found (set --data)")
    gradcheck(plt, args.out / "gradcheck.png")
    if args.log is None:
        print("skipped curves.png: no --log given (a training run's log.jsonl)")
    else:
        curves(args.out / "curves.png", args.log)
    return 0


def save(plt, fig, path):
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


def mosaic(w, cols=8, gap=1):
    """Filters (F, KH, KW) as one image: a grid of tiles, each scaled to its own [0, 1], gaps at 1."""
    F, KH, KW = w.shape
    rows = -(-F // cols)
    out = np.ones((rows * (KH + gap) - gap, cols * (KW + gap) - gap))
    for f in range(F):
        t = w[f] - w[f].min()
        t /= max(t.max(), 1e-12)
        r, c = divmod(f, cols)
        out[r * (KH + gap) : r * (KH + gap) + KH, c * (KW + gap) : c * (KW + gap) + KW] = t
    return out


def filters(plt, path, ours, theirs):
    run = (ours.config or {}).get("train_config", {})
    ours_title = "npsrcnn x3.h5 (shipped" + (f", {run['epochs']} epochs)" if "epochs" in run else ")")
    models = [(ours_title, ours)] + ([("authors' 9-1-5 (91 images) x3", theirs)] if theirs else [])
    fig, axes = plt.subplots(1, len(models), figsize=(4 * len(models), 4.3), squeeze=False)
    for ax, (title, m) in zip(axes[0], models):
        ax.imshow(mosaic(m.params["w1"][:, 0]), cmap="gray", interpolation="nearest")
        ax.set_title(f"{title}\nfirst layer: {m.n1} filters of {m.f[0]}x{m.f[0]}", fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    save(plt, fig, path)


def butterfly_input(path, scale):
    """Y of the image (uint8, modcropped) and the network input: bicubic down and up, float32 in [0, 1]."""
    from npsrcnn.datasets.patches import degrade, modcrop
    from npsrcnn.image.io import load_y

    y = modcrop(load_y(path), scale)
    return y, degrade(y.astype(np.float32) / np.float32(255), scale)


def feature_maps(plt, path, model, x, box=(slice(70, 166), slice(90, 186))):
    """A crop through the lesson's layers (replicate padding): input, 8 maps of each layer, output."""
    from npsrcnn import lesson

    p = {k: v.astype(np.float64) for k, v in model.params.items()}
    h = x[box][None, None].astype(np.float64)
    maps = []
    for i in (1, 2, 3):
        h, _ = lesson.conv2d_forward(h, p[f"w{i}"], p[f"b{i}"], "replicate")
        h = lesson.relu_forward(h)[0] if i < 3 else h
        maps.append(h[0])
    a1, a2, out = maps
    fig, axes = plt.subplots(2, 9, figsize=(12.6, 3.2))
    for row, (first, title, acts, name) in enumerate([(x[box], "input (bicubic)", a1, "layer 1"),
                                                      (out[0], "output", a2, "layer 2")]):
        axes[row, 0].imshow(first, cmap="gray", vmin=0, vmax=1)
        axes[row, 0].set_title(title, fontsize=8)
        busiest = np.argsort(acts.reshape(len(acts), -1).std(axis=1))[::-1][:8]  # the 8 most varied maps
        for col, c in enumerate(busiest, start=1):
            axes[row, col].imshow(acts[c], cmap="gray")
            axes[row, col].set_title(f"{name} map {c}", fontsize=8)
    for ax in axes.flat:
        ax.axis("off")
    fig.tight_layout()
    save(plt, fig, path)


def crops(plt, path, model, y, x, box=(slice(90, 170), slice(60, 140))):
    from npsrcnn.model.evaluation import evaluate_y

    scale = model.scale or 3
    sr = np.clip(model.predict(x, padding="replicate"), 0, 1)
    scores = evaluate_y(model, y, scale, with_ssim=False)
    panels = [(x, f"bicubic ({scores['bicubic_psnr']:.2f} dB)"), (sr, f"SRCNN ({scores['srcnn_psnr']:.2f} dB)"),
              (y / 255.0, "original")]
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.4))
    for ax, (img, title) in zip(axes, panels):
        ax.imshow(img[box], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.suptitle(f"butterfly, x{scale}, luminance; PSNR of the whole image (Set5 protocol)", fontsize=9)
    fig.tight_layout()
    save(plt, fig, path)


def gradcheck_errors(dtype, h=1e-6, seed=0):
    """Relative error of each parameter's gradient from the lesson's network against centred differences."""
    from npsrcnn import lesson

    rng = np.random.default_rng(seed)
    shapes = dict(w1=(8, 1, 5, 5), b1=(8,), w2=(4, 8, 1, 1), b2=(4,), w3=(1, 4, 3, 3), b3=(1,))
    p = {k: rng.normal(0, 0.3, s).astype(dtype) for k, s in shapes.items()}
    x, y = rng.random((2, 1, 12, 12)).astype(dtype), rng.random((2, 1, 6, 6)).astype(dtype)
    _, grads = lesson.srcnn_loss_and_grads(p, x, y)
    loss = lambda: lesson.srcnn_loss_and_grads(p, x, y)[0]  # noqa: E731
    return {k: lesson.rel_error(grads[k], lesson.numerical_grad(loss, p[k], h)) for k in shapes}


def gradcheck(plt, path):
    errs = {np.dtype(t).name: gradcheck_errors(t) for t in (np.float32, np.float64)}
    names = list(errs["float64"])
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    at = np.arange(len(names))
    for i, (dt, e) in enumerate(errs.items()):
        ax.bar(at + (i - 0.5) * 0.38, [e[k] for k in names], 0.38, label=dt)
    ax.axhline(1e-6, color="gray", ls="--", lw=1, label="threshold 1e-6")
    ax.set(yscale="log", xticks=at, xticklabels=names, ylabel="relative error",
           title="gradient check of the lesson's network, centred differences, h = 1e-6")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    save(plt, fig, path)


def curves(path, log):
    from npsrcnn.training.loop import plot_history

    history = [json.loads(line) for line in Path(log).read_text().splitlines() if line.strip()]
    bicubic = next((h["bicubic_psnr"] for h in reversed(history) if h.get("bicubic_psnr") is not None), None)
    plot_history(path, history, bicubic)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    sys.exit(main())
