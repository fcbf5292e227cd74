"""The training loop: initialisation, the epochs with checkpoints and validation, the log and its plot."""
import json
import shlex
import sys
import time

from ..util.errors import UserError
from ..util.files import atomic_output
from .checkpoint import CHECKPOINT, first_nonfinite, save_checkpoint, saved_step

LOG, PLOT = "log.jsonl", "training.png"  # one line per epoch; the curves
# The run's ETA: the pace of this process's steps after its first ETA_SKIP (JIT compilation, the first
# reads of the patch file), shown once ETA_MIN steps were measured; before that the bar shows "?".
ETA_SKIP, ETA_MIN = 2, 5


def he_init(params, seed):
    """He et al. (2015) initialisation of the ReLU layers: w1, w2 ~ N(0, 2 / fan_in), in place.

    w3 keeps the paper's N(0, 1e-3^2) (it feeds no ReLU) and biases stay 0. With the paper's
    N(0, 1e-3^2) everywhere each layer scales the signal by ~1e-3 sqrt(fan_in), ~2e-6 in all, so SGD
    spends its first thousands of steps only growing the weights (README, "Training").
    """
    import numpy as np

    rng = np.random.default_rng([seed, 1])
    for k in ("w1", "w2"):
        w = params[k]
        fan_in = w.shape[1] * w.shape[2] * w.shape[3]
        w[...] = rng.normal(0.0, np.sqrt(2.0 / fan_in), w.shape)


class Validator:
    """Mean Y PSNR of bicubic and of the model on fixed images, by the authors' protocol (no SSIM)."""

    def __init__(self, files, scale):
        from ..datasets.patches import modcrop
        from ..image.io import load_y
        from ..model.evaluation import evaluate_y, min_side

        self.scale, self._evaluate = scale, evaluate_y
        self.images = [y for y in map(load_y, files) if min(modcrop(y, scale).shape) >= min_side(scale)]
        rows = [evaluate_y(None, y, scale, with_ssim=False) for y in self.images]
        self.bicubic = float(sum(r["bicubic_psnr"] for r in rows) / len(rows)) if rows else None

    def __call__(self, model):
        if not self.images:
            return None
        rows = [self._evaluate(model, y, self.scale, with_ssim=False) for y in self.images]
        return float(sum(r["srcnn_psnr"] for r in rows) / len(rows))


def write_log(out_dir, history):
    with atomic_output(out_dir / LOG) as tmp:
        tmp.write_text("".join(json.dumps(h, sort_keys=True) + "\n" for h in history))


def plot_history(path, history, bicubic):
    """Loss and validation PSNR per epoch, as a PNG; returns False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    ep = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.plot(ep, [h["loss"] for h in history], marker="o")
    a.set(xlabel="epoch", ylabel="training loss (mean per batch)", yscale="log", title="loss")
    val = [(h["epoch"], h["val_psnr"]) for h in history if h.get("val_psnr") is not None]
    if val:
        b.plot(*zip(*val), marker="o", label="SRCNN")
    if bicubic is not None:
        b.axhline(bicubic, color="gray", ls="--", label=f"bicubic {bicubic:.2f} dB")
    b.set(xlabel="epoch", ylabel="Y PSNR (dB)", title="validation")
    b.legend()
    from matplotlib.ticker import MaxNLocator

    for ax in (a, b):  # whole epochs only, and room around a run of one
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.set_xlim(min(ep, default=1) - 0.5, max(ep, default=1) + 0.5)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return True


class StopFlag:
    """First Ctrl-C asks the loop to stop after the current step (it then checkpoints); a second one aborts."""

    def __init__(self):
        self.set = False

    def __call__(self, signum, frame):
        if self.set:
            raise KeyboardInterrupt
        self.set = True


def make_optimizer(cfg, params, lrs):
    from .optim import SGD, Adam

    if cfg["optimizer"] == "adam":
        return Adam(params, lrs)
    return SGD(params, lrs, momentum=cfg["momentum"])


def run_epochs(model, opt, cfg, state, h5, steps_per_epoch, validators, out, run_config, progress, stop, prog="npsrcnn train"):
    """The epochs; returns an exit status when it stops early (Ctrl-C: 130, a non-finite loss or weight: 1), else None."""
    import numpy as np

    from ..datasets.augment import augment_batch
    from ..datasets.patches import iter_batches
    from .optim import lr_factor, train_step

    validate, report = validators
    base_lr = dict(run_config["learning_rates"])
    total = cfg["epochs"] * steps_per_epoch

    ckpt = out / CHECKPOINT
    bs = cfg["batch_size"]

    def checkpoint():
        save_checkpoint(ckpt, model, opt, state, run_config)

    first = state["step"]
    started = (time.perf_counter(), first)  # reset after ETA_SKIP steps: the pace they set is the ETA's
    while state["epoch"] < cfg["epochs"]:
        epoch = state["epoch"]
        batches = iter_batches(h5, bs, seed=cfg["seed"] * 100003 + epoch, drop_last=True)
        for _ in range(state["batch"]):  # resume mid-epoch: the order is a function of the seed
            if next(batches, None) is None:
                raise UserError(f"--resume: the checkpoint is {state['batch']} steps into an epoch of "
                                f"{steps_per_epoch}; the training data changed")
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=steps_per_epoch, initial=state["batch"], desc=f"epoch {epoch + 1}/{cfg['epochs']}",
                       unit="step", file=sys.stderr, leave=False)
        losses = state.setdefault("epoch_losses", [])
        seconds = 0.0  # this epoch's time in training steps (not data loading, checkpoints or validation)
        n_done = 0
        for x, y in batches:
            if cfg["augment"] == "dihedral":  # seeded by the batch's place: a resumed run draws the same
                x, y = augment_batch(x, y, np.random.default_rng([cfg["seed"], epoch, state["batch"], 8]))
            f = lr_factor(state["step"], total, cfg["schedule"], cfg["warmup"], floor=cfg["lr_floor"])
            for k in opt.lr:
                opt.lr[k] = base_lr[k] * f
            t0 = time.perf_counter()
            with np.errstate(over="ignore", invalid="ignore"):  # a diverging loss is reported below
                loss = train_step(model, opt, x, y, reduction=cfg["loss"])
            dt = time.perf_counter() - t0
            seconds += dt
            state["seconds"] += dt
            # The loss is that of the weights before this step's update, so a finite loss does not mean
            # finite new weights (a large --lr can overflow w1 while the loss is still ~1e60).
            broken = first_nonfinite(model, opt)
            bad = (f"the loss became {loss}" if not np.isfinite(loss)
                   else f"{broken} became non-finite" if broken is not None else None)
            if bad is not None:
                if bar:
                    bar.close()
                where = f"{ckpt} (step {saved_step(ckpt)})" if ckpt.is_file() else "none was written yet"
                print(f"{prog}: error: {bad} at step {state['step'] + 1} (epoch {epoch + 1}); "
                      f"stopped without saving. Last good checkpoint: {where}. Try a smaller --lr.", file=sys.stderr)
                return 1
            state["step"] += 1
            state["batch"] += 1
            losses.append(float(loss))
            n_done += 1
            if state["step"] - first == ETA_SKIP:
                started = (time.perf_counter(), state["step"])
            if bar:
                bar.set_postfix(run_eta=run_eta(started, state["step"], cfg["epochs"] * steps_per_epoch),
                                loss=f"{np.mean(losses[-50:]):.4f}", patches_s=f"{n_done * bs / seconds:.0f}")
                bar.update(1)
            if stop.set or state["step"] % cfg["checkpoint_every"] == 0:
                checkpoint()
            if stop.set:
                if bar:
                    bar.close()
                print(f"{prog}: interrupted at step {state['step']}; checkpoint saved to {ckpt}; "
                      f"continue with: {prog} --resume --out {shlex.quote(str(out))}", file=sys.stderr)
                return 130
        if bar:
            bar.close()
        val = validate(model)
        rec = dict(epoch=epoch + 1, step=state["step"], loss=float(np.mean(losses)) if losses else None,
                   patches_per_s=round(n_done * bs / seconds, 1) if seconds else None,
                   val_psnr=val, bicubic_psnr=validate.bicubic, seconds=round(state["seconds"], 2))
        if report is not None:
            rec.update(report_psnr=report(model), report_bicubic_psnr=report.bicubic)
        state["history"].append(rec)
        state["epoch"], state["batch"], state["epoch_losses"] = epoch + 1, 0, []
        checkpoint()
        write_log(out, state["history"])
        plot_history(out / PLOT, state["history"], validate.bicubic)  # an interrupted run has its curves too
        line = f"epoch {epoch + 1}/{cfg['epochs']}: loss {rec['loss']:.5f}"
        if rec["patches_per_s"]:
            line += f", {rec['patches_per_s']:.0f} patches/s"
        if val is not None:
            line += f", validation PSNR {val:.2f} dB (bicubic {validate.bicubic:.2f}, {val - validate.bicubic:+.2f})"
        if rec.get("report_psnr") is not None:
            line += f"; report {rec['report_psnr']:.2f} dB (bicubic {report.bicubic:.2f})"
        print(line, file=sys.stderr)
    return None


def run_eta(started, step, total, now=None):
    """Time left for the whole run (all epochs), as tqdm prints times, at the pace since `started`.

    `started` is (time.perf_counter(), step) at the start of the measured steps; `step` the steps done so
    far of `total`. "?" until :data:`ETA_MIN` steps were measured. Wall clock, so checkpoints and, after
    the first epoch, validation count too.
    """
    from tqdm import tqdm

    t0, s0 = started
    if step - s0 < ETA_MIN:
        return "?"
    now = time.perf_counter() if now is None else now
    return tqdm.format_interval((now - t0) / (step - s0) * (total - step))
