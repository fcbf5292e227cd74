"""Draw the walkthrough's figures (small PNGs and one GIF) into docs/figures/.

    python docs/make_figures.py
    python docs/make_figures.py --only backprop                    # the backward-pass pictures only
    python docs/make_figures.py --log runs/9-1-5-x3/log.jsonl     # also the loss and PSNR curves

Reads the shipped weights (npsrcnn/weights/x3.h5), the authors' released 9-1-5 (91 images) x3 weights
(``--ref-weights``, default ``$NPSRCNN_REF_WEIGHTS``) and Set5's butterfly (``--data``, default
``$NPSRCNN_DATA``, else ``data/`` after ``python -m npsrcnn.data fetch``). A figure whose input is
missing is skipped with a message. Rerun it whenever the shipped weights change.

Writes: filters.png (first-layer filters, ours beside the authors'), feature_maps.png (one image through
the layers), crops.png (bicubic vs SRCNN vs original), gradcheck.png (relative error of every gradient,
float32 vs float64), the pictures of the backward pass of step 4 (conv1d_backward.png,
im2col_col2im.png, full_correlation.gif, replicate_fold.png; they need no input files) and, with --log,
curves.png (training loss and validation PSNR per epoch).
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
    p.add_argument("--only", choices=["all", "backprop"], default="all",
                   help="backprop: only the pictures of the backward pass, which need no input files")
    args = p.parse_args(argv)
    print(f"out={args.out} weights={args.weights} ref-weights={args.ref_weights} data={args.data} log={args.log} "
          f"only={args.only}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from npsrcnn.model.srcnn import SRCNN

    args.out.mkdir(parents=True, exist_ok=True)
    backprop_figures(plt, args.out)
    if args.only == "backprop":
        return 0
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


def save(plt, fig, path, tight=False):
    fig.savefig(path, dpi=DPI, **(dict(bbox_inches="tight", pad_inches=0.1) if tight else {}))
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
    save(plt, fig, path, tight=True)  # "tight": the two-line titles are kept whole


def butterfly_input(path, scale):
    """Y of the image (uint8, modcropped) and the network input: bicubic down and up, float32 in [0, 1]."""
    from npsrcnn.datasets.patches import degrade, modcrop
    from npsrcnn.image.io import load_y

    y = modcrop(load_y(path), scale)
    return y, degrade(y.astype(np.float32) / np.float32(255), scale)


def feature_maps(plt, path, model, x, box=(slice(70, 166), slice(90, 186))):
    """A crop through the lesson's layers (replicate padding), in the order the network computes them:
    input and 8 maps of layer 1 on the top row, 8 maps of layer 2 and the output on the bottom row."""
    from npsrcnn import lesson

    p = {k: v.astype(np.float64) for k, v in model.params.items()}
    h = x[box][None, None].astype(np.float64)
    maps = []
    for i in (1, 2, 3):
        h, _ = lesson.conv2d_forward(h, p[f"w{i}"], p[f"b{i}"], "replicate")
        h = lesson.relu_forward(h)[0] if i < 3 else h
        maps.append(h[0])
    a1, a2, out = maps
    busiest = lambda acts: np.argsort(acts.reshape(len(acts), -1).std(axis=1))[::-1][:8]  # noqa: E731  most varied
    panels = [(x[box], "input (bicubic)", dict(vmin=0, vmax=1))]
    panels += [(a1[c], f"layer 1, map {c}", {}) for c in busiest(a1)]
    panels += [(a2[c], f"layer 2, map {c}", {}) for c in busiest(a2)]
    panels += [(out[0], "output (SRCNN)", dict(vmin=0, vmax=1))]
    fig, axes = plt.subplots(2, 9, figsize=(12.6, 3.5))
    for ax, (img, title, scale) in zip(axes.flat, panels):
        ax.imshow(img, cmap="gray", **scale)
        ax.set_title(title, fontsize=8)
    for ax in axes.flat:
        ax.axis("off")
    fig.suptitle(f"a 96x96 crop of butterfly (x{model.scale or 3}) through the shipped network, in order: input, "
                 f"8 of layer 1's {model.n1} maps, 8 of layer 2's {model.n2} maps, output "
                 "(maps after ReLU, each scaled to its own range)", fontsize=9)
    fig.tight_layout()
    save(plt, fig, path, tight=True)


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
    """Step 7's check, each dtype at its own best step: float32 at h = 1e-3, float64 at h = 1e-6."""
    errs = {"float32, h = 1e-3": gradcheck_errors(np.float32, h=1e-3), "float64, h = 1e-6": gradcheck_errors(np.float64)}
    names = list(errs["float64, h = 1e-6"])
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    at = np.arange(len(names))
    for i, (label, e) in enumerate(errs.items()):
        ax.bar(at + (i - 0.5) * 0.38, [e[k] for k in names], 0.38, label=label)
    ax.axhline(1e-3, color="tab:blue", ls=":", lw=1, label="float32: right below 1e-3")
    ax.axhline(1e-7, color="tab:orange", ls="--", lw=1, label="float64: right below 1e-7")
    ax.set(yscale="log", xticks=at, xticklabels=names, ylabel="relative error",
           title="gradient check of the lesson's network, centred differences, each dtype at its best step")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    save(plt, fig, path)


# ------------------------------------------------------------------- pictures of the backward pass (step 4)

# The worked examples of docs/backprop/04-convolution.md, section 4.5: the same numbers as the page.
X1, W1, DOUT1 = [1, 2, 0, -1, 3], [1, 2, 3], [1, -1, 2]
W2, DOUT2 = [[1, 2], [3, 4]], [[1, 0], [0, -1]]
WINDOW_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]  # one per output pixel / window


def backprop_figures(plt, out):
    """The four pictures of step 4; they are drawn from the lesson's functions, not from files."""
    conv1d_backward(plt, out / "conv1d_backward.png")
    im2col_col2im(plt, out / "im2col_col2im.png")
    full_correlation_gif(plt, out / "full_correlation.gif")
    replicate_fold(plt, out / "replicate_fold.png")


def cells(ax, values, x0, y0, face="white", edge="0.3", fmt="{:g}", size=1.0, fontsize=10, color="black"):
    """Draw a 2-D grid of numbered squares, row 0 on top, its top-left corner at (x0, y0)."""
    from matplotlib.patches import Rectangle

    values = np.atleast_2d(values)
    faces = np.broadcast_to(np.asarray(face, dtype=object), values.shape)
    for r, row in enumerate(values):
        for c, v in enumerate(row):
            ax.add_patch(Rectangle((x0 + c * size, y0 - (r + 1) * size), size, size, facecolor=faces[r, c],
                                   edgecolor=edge, lw=1))
            ax.text(x0 + (c + 0.5) * size, y0 - (r + 0.5) * size, fmt.format(v), ha="center", va="center",
                    fontsize=fontsize, color=color)


def outline(ax, x0, y0, w, h, colour, lw=2.5, pad=0.0):
    from matplotlib.patches import Rectangle

    ax.add_patch(Rectangle((x0 - pad, y0 - h - pad), w + 2 * pad, h + 2 * pad, fill=False, edgecolor=colour, lw=lw))


def blank_axes(plt, figsize, xlim, ylim):
    fig, ax = plt.subplots(figsize=figsize)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def conv1d_backward(plt, path):
    """Section 4.5: the forward windows, the matrix A and its transpose, the flipped kernel over dpad."""
    x, w, dout = np.array(X1, float), np.array(W1, float), np.array(DOUT1, float)
    H, K = len(x), len(w)
    Ho = H - K + 1
    out = np.correlate(x, w, "valid")
    A = np.array([np.pad(w, (i, H - K - i)) for i in range(Ho)])  # Ho, H
    dx = A.T @ dout
    fig, ax = blank_axes(plt, (9.6, 6.4), (-1.6, 22.4), (-15.2, 1.0))
    grey = "0.9"
    # top: forward
    ax.text(-1.5, 0.5, "forward: out[i] = w . x[i : i+3]   (valid correlation, stride 1)", fontsize=10, weight="bold")
    ax.text(-1.2, -0.5, "x", fontsize=11, ha="center", va="center")
    cells(ax, [x], 0, 0)
    for i in range(Ho):  # each window as a bar under the pixels it covers
        ax.plot([i + 0.1, i + K - 0.1], [-1.2 - 0.22 * i] * 2, color=WINDOW_COLOURS[i], lw=3, solid_capstyle="butt")
    ax.text(-1.2, -2.5, "out", fontsize=11, ha="center", va="center")
    cells(ax, [out], 1, -2, face=[[c + "40" for c in WINDOW_COLOURS[:Ho]]])
    ax.text(6.2, -2.5, f"w = {W1}: each out pixel reads the window of its colour", fontsize=9, va="center")
    # middle: A and A^T
    ax.text(-1.5, -4.0, "the same map as a matrix: out = A x,  and backward  dx = A$^T$ dout", fontsize=10, weight="bold")
    ax.text(-0.6, -6.5, "A =", fontsize=11, ha="right", va="center")
    rows = [[WINDOW_COLOURS[i] + "40" if A[i, q] else "white" for q in range(H)] for i in range(Ho)]
    cells(ax, A, 0, -5, face=rows, fmt="{:g}")
    ax.text(5.3, -6.5, "row i: w starting at column i", fontsize=9, va="center")
    ax.text(12.4, -7.0, "A$^T$ =", fontsize=11, ha="right", va="center")
    highlight = [["#9467bd40" if q == 2 else "white" for _ in range(Ho)] for q in range(H)]
    cells(ax, A.T, 12.8, -4.5, face=highlight, fmt="{:g}")
    ax.text(16.0, -5.6, "row u of A$^T$ is w backwards:", fontsize=9, va="center")
    ax.text(16.0, -6.5, "row 2 = [3, 2, 1] = w flipped", fontsize=9, va="center", color="#9467bd")
    ax.text(16.0, -7.6, "dx = A$^T$ dout:", fontsize=9, va="center")
    ax.text(16.0, -8.5, f"dout = {DOUT1}", fontsize=9, va="center")
    # bottom: full correlation
    ax.text(-1.5, -10.6, "dx = full correlation of dout with the flipped kernel (a true convolution)", fontsize=10,
            weight="bold")
    dpad = np.pad(dout, K - 1)
    ax.text(-1.2, -12.0, "dpad", fontsize=11, ha="center", va="center")
    faces = [[grey if (q < K - 1 or q >= K - 1 + Ho) else "white" for q in range(len(dpad))]]
    cells(ax, [dpad], 0, -11.5, face=faces)
    for kk, wv in enumerate(w[::-1]):
        ax.text(2 + kk + 0.5, -11.25, f"x{wv:g}", fontsize=8, ha="center", va="bottom", color="#9467bd")
    outline(ax, 2, -11.5, K, 1, "#9467bd")
    ax.text(-1.2, -14.0, "dx", fontsize=11, ha="center", va="center")
    faces = [["#9467bd40" if u == 2 else "white" for u in range(H)]]
    cells(ax, [dx], 1, -13.5, face=faces)
    ax.text(8.0, -12.0, "zeros (grey): KH - 1 = 2 on each side", fontsize=9, va="center")
    ax.text(7.0, -14.0, "dx[2] = 3*1 + 2*(-1) + 1*2 = 3: the kernel [3, 2, 1] over dpad[2 : 5]",
            fontsize=9, va="center", color="#9467bd")
    save(plt, fig, path, tight=True)


def im2col_col2im(plt, path):
    """Section 4.6 (a): a 3x3 image's four 2x2 windows become four columns; col2im adds copies back."""
    from npsrcnn import lesson

    img = np.arange(9.0).reshape(1, 1, 3, 3)
    cols = lesson.im2col(img, 2, 2)  # 4, 4
    counts = lesson.col2im(np.ones_like(cols), img.shape, 2, 2)[0, 0]
    fig, ax = blank_axes(plt, (11.0, 3.6), (-0.6, 22.2), (-5.4, 1.6))
    ax.text(-0.5, 1.0, "im2col: window (i, j) becomes column m = 2i + j of cols", fontsize=10, weight="bold")
    cells(ax, img[0, 0], 0, 0)
    ax.text(1.5, -3.6, "xp: 3x3, kernel 2x2", fontsize=9, ha="center")
    for m, (i, j) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):  # the windows, drawn apart
        x0, y0 = 4.2 + 2.0 * j, 0.2 - 2.3 * i
        cells(ax, img[0, 0, i:i + 2, j:j + 2], x0, y0, face=WINDOW_COLOURS[m] + "40", size=0.8, fontsize=9)
        ax.text(x0 + 0.8, y0 - 1.9, f"window ({i},{j})", fontsize=7, ha="center", va="center")
    ax.annotate("", xy=(9.6, -1.5), xytext=(8.4, -1.5), arrowprops=dict(arrowstyle="->", lw=1.5))
    faces = [[WINDOW_COLOURS[m] + "40" for m in range(4)] for _ in range(4)]
    cells(ax, cols, 10.8, 0.5, face=faces)
    for r, tap in enumerate(["(0,0)", "(0,1)", "(1,0)", "(1,1)"]):
        ax.text(10.7, 0.0 - r, tap, fontsize=8, ha="right", va="center")
    ax.text(10.0, 0.6, "(kh, kw)", fontsize=7, ha="center", va="bottom")
    ax.text(12.8, -4.0, "cols: row (kh, kw), column m\npixel 4 is copied into all 4 columns", fontsize=9,
            ha="center", va="top")
    ax.text(16.0, 1.0, "col2im: add back", fontsize=10, weight="bold")
    ax.annotate("", xy=(17.6, -1.5), xytext=(15.4, -1.5), arrowprops=dict(arrowstyle="->", lw=1.5))
    ax.text(16.5, -1.2, "col2im(ones)", fontsize=8, ha="center")
    shade = [["#9467bd" + ("20" if v == 1 else "50" if v == 2 else "90") for v in row] for row in counts]
    cells(ax, counts, 18.2, 0, face=shade)
    ax.text(19.7, -3.4, "dxp: one contribution\nper copy of the pixel", fontsize=9, ha="center", va="top")
    save(plt, fig, path, tight=True)


def full_correlation_frames(plt):
    """One RGB frame per pixel of dx: the flipped 2x2 kernel over the zero-padded 2x2 dout."""
    dout, w = np.array(DOUT2, float), np.array(W2, float)
    K = w.shape[0]
    dpad = np.pad(dout, K - 1)  # 4, 4
    wflip = w[::-1, ::-1]
    H = dpad.shape[0] - K + 1  # 3
    dx = np.array([[np.sum(wflip * dpad[u:u + K, v:v + K]) for v in range(H)] for u in range(H)])
    frames = []
    for step in range(H * H + 1):
        u, v = divmod(min(step, H * H - 1), H)
        fig, ax = blank_axes(plt, (7.2, 3.0), (-0.6, 13.8), (-4.9, 1.4))
        ax.text(-0.4, 0.9, "dx = flipped kernel sliding over the zero-padded dout", fontsize=10, weight="bold")
        faces = [["0.9" if not (K - 1 <= r < K - 1 + 2 and K - 1 <= c < K - 1 + 2) else "white" for c in range(4)]
                 for r in range(4)]
        cells(ax, dpad, 0, 0, face=faces)
        ax.text(2.0, -4.5, "dpad: dout + a ring of zeros", fontsize=9, ha="center")
        if step < H * H:
            outline(ax, v, -u, K, K, "#9467bd", lw=3)
            for a in range(K):
                for b in range(K):
                    ax.text(v + b + 0.92, -u - a - 0.9, f"x{wflip[a, b]:g}", fontsize=7, ha="right",
                            va="bottom", color="#9467bd")
        cells(ax, wflip, 5.2, -0.5, face="#9467bd30")
        ax.text(6.2, -3.0, "w rotated 180°\n(w = [[1, 2], [3, 4]])", fontsize=9, ha="center", va="top")
        shown = np.full((H, H), "", dtype=object)
        faces = np.full((H, H), "white", dtype=object)
        for k in range(min(step + 1, H * H)):
            r, c = divmod(k, H)
            shown[r, c] = f"{dx[r, c]:g}"
        if step < H * H:
            faces[u, v] = "#9467bd50"
        cells(ax, shown, 9.6, -0.5, face=faces, fmt="{}")
        ax.text(11.1, -4.0, f"dx[{u}, {v}] = {dx[u, v]:g}" if step < H * H else "dx: done", fontsize=9,
                ha="center")
        fig.canvas.draw()
        frames.append(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
        plt.close(fig)
    return frames


def full_correlation_gif(plt, path):
    """Section 4.6 (c), animated: one frame per pixel of dx, then the finished dx."""
    from PIL import Image

    images = [Image.fromarray(f).quantize(colors=32, method=Image.Quantize.MEDIANCUT) for f in
              full_correlation_frames(plt)]
    durations = [1100] * (len(images) - 1) + [2500]
    images[0].save(path, save_all=True, append_images=images[1:], duration=durations, loop=0, optimize=True)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


def replicate_fold(plt, path):
    """Section 4.7: which image pixel each pixel of the replicate-padded xp copies, and the fold back."""
    from npsrcnn import lesson

    H = W = 3
    pt, pb, pl, pr = lesson.pad_widths(3, 3, "replicate")
    rows = np.clip(np.arange(H + pt + pb) - pt, 0, H - 1)
    colsrc = np.clip(np.arange(W + pl + pr) - pl, 0, W - 1)
    palette = plt.get_cmap("tab10").colors
    colour = lambda r, s: matplotlib_hex(palette[(r * W + s) % 10]) + "55"  # noqa: E731
    src = [[f"{rows[u]},{colsrc[v]}" for v in range(W + pl + pr)] for u in range(H + pt + pb)]
    faces = [[colour(rows[u], colsrc[v]) for v in range(W + pl + pr)] for u in range(H + pt + pb)]
    folded = lesson.unpad_grad(np.ones((1, 1, H + pt + pb, W + pl + pr)), H, W, 3, 3, "replicate")[0, 0]
    fig, ax = blank_axes(plt, (8.4, 4.2), (-0.6, 13.0), (-6.8, 1.4))
    ax.text(-0.4, 0.9, "replicate padding: xp[u, v] copies x[r, s]", fontsize=10, weight="bold")
    ax.text(8.0, 0.9, "backward: copies add up", fontsize=10, weight="bold")
    cells(ax, src, 0, 0, face=faces, fmt="{}", fontsize=8)
    outline(ax, pl, -pt, W, H, "black", lw=2.5)
    ax.text(2.5, -5.6, "xp (5x5): each cell labelled r,s\nthe 3x3 image x is boxed", fontsize=9, ha="center", va="top")
    ax.annotate("", xy=(7.6, -2.5), xytext=(5.6, -2.5), arrowprops=dict(arrowstyle="->", lw=1.5))
    ax.text(6.6, -2.2, "unpad_grad(ones)", fontsize=8, ha="center")
    cells(ax, folded, 8.5, -1.0, face=[[colour(r, s) for s in range(W)] for r in range(H)])
    ax.text(10.0, -4.4, "dx: corners get 4 copies' gradient,\nedges 2, the centre 1", fontsize=9, ha="center", va="top")
    save(plt, fig, path, tight=True)


def matplotlib_hex(rgb):
    return "#" + "".join(f"{round(255 * c):02x}" for c in rgb[:3])


def curves(path, log):
    from npsrcnn.training.loop import plot_history

    history = [json.loads(line) for line in Path(log).read_text().splitlines() if line.strip()]
    bicubic = next((h["bicubic_psnr"] for h in reversed(history) if h.get("bicubic_psnr") is not None), None)
    plot_history(path, history, bicubic)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    sys.exit(main())
