"""Train SRCNN: ``npsrcnn train`` (or ``python -m npsrcnn.train``).

Two named recipes set the defaults; every value of a recipe is also a flag that overrides it.
``--recipe paper`` is the paper's setting (Dong et al., ECCV 2014): 9-1-5 network, 33x33 Y-channel
inputs and 21x21 labels at stride 14, SGD with momentum 0.9 and per-layer rates (1e-4 for w1, w2;
1e-5 for the biases and w3), batch 128, Caffe's EuclideanLoss (sum of squared errors / 2N), with one
departure (``--init he`` instead of the paper's N(0, 1e-3^2), ``--init paper``, which needs hours of
SGD before it even matches bicubic). ``--recipe fast`` trains with Adam at one rate for every layer, a
cosine schedule, the 8 flips/rotations of every patch and downscaled copies of the images
(:data:`RECIPES`; docs/training.md measures each lever).

Training data, first found: ``--train-h5 FILE``; ``--train-dir DIR``; ``$NPSRCNN_DATA/T91`` (or
``data/T91``); else the sample photographs shipped in scikit-image's wheel (``pip install -e
.[photos]``), so a first run needs no network. Patches cut from
images go to the shared cache (``--cache-dir``, ``$NPSRCNN_CACHE`` or ``data/cache``; see
:mod:`npsrcnn.datasets.cache`), where the next run with the same images and parameters finds them. What
the run itself writes goes to ``--out`` (default ``runs/<arch>-x<scale>``), created only once the
data and settings are checked: ``checkpoint.h5`` (atomic, every ``--checkpoint-every`` steps, each
epoch and at the end), ``model.h5`` (the final weights), ``log.jsonl`` (one line per epoch) and
``training.png``. Validation (the PSNR printed each epoch, and what a person may pick settings by) is
never Set5, Set14 or BSD100 unless asked for: ``--val-dir``, else ``--val-images`` images held out of
the training folder, else three held-out photos. ``--report-dir`` adds a test set's PSNR to the log,
for curves only.

Examples::

    npsrcnn train                                             # paper recipe, offline default data
    npsrcnn train --recipe fast --out runs/x3                 # data/T91 less 5 held-out images
    npsrcnn train --arch 9-5-5 --scale 2 --train-h5 t91_x2_955.h5
    npsrcnn train --out runs/t91-x3 --resume                  # continue after Ctrl-C or a crash
"""
import os
import signal
import sys
from pathlib import Path

from . import __version__
from .training.checkpoint import CHECKPOINT, MODEL, load_checkpoint, read_run_record
from .training.loop import LOG, PLOT, StopFlag, Validator, he_init, make_optimizer, plot_history, run_epochs, write_log
from .util.cli import ArgumentParser, command
from .util.errors import UserError
from .datasets.cache import cache_dir, cache_size
from .util.files import check_can_create, human, new_folder, remove_stale_temps
from .util.limits import MAX_PATCH_SIDE
from .util.threads import set_threads

PROG = "python -m npsrcnn.train"
# scikit-image's shipped photographs used when no training set is given (all 8-bit, no alpha).
PHOTOS_TRAIN = ("astronaut.png", "brick.png", "camera.png", "coffee.png", "coins.png", "grass.png",
                "gravel.png", "hubble_deep_field.jpg", "ihc.png", "motorcycle_left.png", "rocket.jpg")
PHOTOS_VAL = ("chelsea.png", "moon.png", "motorcycle_right.png")
# Where the data came from, recorded (as absolute paths) so that `--resume --out DIR` needs nothing else.
SOURCES = ("train_dir", "train_h5", "val_dir", "report_dir")
# Settings recorded with the run that do not change what it computes: a resumed run may change them.
FREE_ON_RESUME = ("checkpoint_every",)
# Named recipes: the defaults of the flags below that are None. docs/training.md measures each lever.
RECIPES = {
    "paper": dict(arch="9-1-5", epochs=20, batch_size=128, optimizer="sgd", lr=None, lr_ratio=0.1,
                  schedule="constant", warmup=0, lr_floor=0.0, augment="none", scale_aug="none", patch_size=33),
    "fast": dict(arch="9-1-5", epochs=40, batch_size=128, optimizer="adam", lr=1e-3, lr_ratio=1.0,
                 schedule="cosine", warmup=200, lr_floor=0.01, augment="dihedral", scale_aug="0.9,0.8,0.7,0.6",
                 patch_size=33),
}


def build_parser(prog=PROG):
    p = ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("--recipe", choices=sorted(RECIPES), default="paper",
                   help="named defaults for the flags marked (recipe) (default %(default)s)")
    p.add_argument("--arch", help="filter sizes f1-f2-f3 (9-1-5, 9-3-5, 9-5-5) (recipe)")
    p.add_argument("--n1", type=int, metavar="N", default=64, help="channels after layer 1 (default %(default)s)")
    p.add_argument("--n2", type=int, metavar="N", default=32, help="channels after layer 2 (default %(default)s)")
    p.add_argument("--scale", type=int, metavar="S", default=3, help="upscaling factor (default %(default)s)")
    p.add_argument("--epochs", type=int, metavar="N", help="passes over the training patches (recipe)")
    p.add_argument("--batch-size", type=int, metavar="N", help="patches per step (recipe)")
    p.add_argument("--optimizer", choices=("sgd", "adam"), help="momentum SGD (Caffe's) or Adam (recipe)")
    p.add_argument("--lr", type=float, metavar="LR",
                   help="rate of w1 and w2; b1, b2, w3, b3 get lr x --lr-ratio (recipe; paper: 1e-4 for "
                        "--loss caffe, 220.5x that for mean)")
    p.add_argument("--lr-ratio", type=float, metavar="F",
                   help="rate of b1, b2, w3 and b3 as a fraction of --lr (recipe; paper 0.1, fast 1)")
    p.add_argument("--schedule", choices=("constant", "step", "cosine"),
                   help="learning-rate schedule over the run: step = x0.1 at 50%% and 75%% (recipe)")
    p.add_argument("--warmup", type=int, metavar="N", help="steps of linear learning-rate warm-up (recipe)")
    p.add_argument("--lr-floor", type=float, metavar="F", help="cosine: final rate as a fraction of --lr (recipe)")
    p.add_argument("--momentum", type=float, metavar="M", default=0.9, help="SGD momentum (default %(default)s)")
    p.add_argument("--augment", choices=("none", "dihedral"),
                   help="dihedral: each patch pair in one of its 8 flips/rotations, drawn per step (recipe)")
    p.add_argument("--scale-aug", metavar="F,F,..",
                   help="also cut patches from copies of each image downscaled by these factors, or none (recipe)")
    p.add_argument("--patch-size", type=int, metavar="N", help="input patch side; labels lose the border (recipe)")
    p.add_argument("--loss", choices=("caffe", "mean"), default="caffe",
                   help="caffe: sum of squared errors / 2N (the paper's); mean: per-pixel mean (default %(default)s)")
    p.add_argument("--init", choices=("he", "paper"), default="he",
                   help="he: N(0, 2/fan_in) for layers 1-2 and N(0, 1e-3^2) for layer 3; paper: N(0, 1e-3^2) everywhere (default %(default)s)")
    p.add_argument("--init-from", metavar="MODEL",
                   help="start from these weights (a model.h5 of the same architecture, e.g. x3 weights for x2 or x4)")
    p.add_argument("--seed", type=int, metavar="N", default=0, help="seeds the initialisation and the patch order (default %(default)s)")
    p.add_argument("--threads", type=int, metavar="N", default=None, help="Numba and BLAS threads (default: all cores)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--train-dir", metavar="DIR", help="folder of training images (cut into patches in --cache-dir)")
    src.add_argument("--train-h5", metavar="FILE", help="patch file from `npsrcnn prepare`")
    p.add_argument("--val-dir", metavar="DIR", help="folder of validation images (default: --val-images held out)")
    p.add_argument("--val-images", type=int, metavar="N", default=5,
                   help="images of a training folder held out for validation when no --val-dir (default %(default)s)")
    p.add_argument("--report-dir", metavar="DIR",
                   help="also log each epoch's PSNR on these images (a test set: for curves, not for choosing)")
    p.add_argument("--stride", type=int, metavar="N", default=14, help="patch stride when cutting patches from images (default %(default)s)")
    p.add_argument("--cache-dir", metavar="DIR",
                   help="where patches cut from images are kept for every run to reuse "
                        "(default: $NPSRCNN_CACHE, else data/cache)")
    p.add_argument("--out", metavar="DIR", help="run folder (default runs/<arch>-x<scale>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument("--overwrite", action="store_true", help="start over in an --out that already holds a run")
    p.add_argument("--checkpoint-every", type=int, metavar="N", default=500, help="steps between checkpoints (default %(default)s)")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (it shows the epoch's steps, the whole run's ETA, loss and patches/s)")
    p.add_argument("--version", action="version", version=f"npsrcnn {__version__}")
    return p


# ------------------------------------------------------------------------------------ data sources


def _data_root():
    from .datasets.sets import default_dest

    return default_dest()


def photo_dir():
    """Folder of scikit-image's shipped sample photographs; UserError if scikit-image is missing."""
    try:
        import skimage
    except ImportError:
        raise UserError("no training data: pass --train-dir or --train-h5, fetch T91 with "
                        "`npsrcnn data fetch`, or install the offline photos: pip install -e '.[photos]'") from None
    return Path(skimage.__file__).parent / "data"


def resolve_data(args):
    """Decide the training source and validation images; returns (kind, path-or-files, val files, words)."""
    from .datasets.patches import list_images

    root = _data_root()
    held_out, photos = [], False
    if args.train_h5:
        train = ("h5", Path(args.train_h5), f"patch file {args.train_h5}")
    elif args.train_dir or has_images(root / "T91"):
        folder = Path(args.train_dir) if args.train_dir else root / "T91"
        files = list_images(folder)
        if not args.val_dir and args.val_images > 0:
            files, held_out = split_validation(files, args.val_images)
        name = f"images in {folder}" if args.train_dir else f"T91 from {folder}"
        train = ("images", files, name + (f" less {len(held_out)} held out" if held_out else ""))
    else:
        folder = photo_dir()
        files = [folder / n for n in PHOTOS_TRAIN if (folder / n).is_file()]
        if not files:
            raise UserError(f"no training data: scikit-image's photos are missing from {folder}")
        photos = True
        train = ("images", files, f"{len(files)} scikit-image sample photos (offline default; "
                                  f"fetch T91 with `npsrcnn data fetch` for the paper's set)")
    if args.val_dir:
        val, val_words = list_images(args.val_dir), f"images in {args.val_dir}"
    elif held_out:
        val, val_words = held_out, f"{len(held_out)} training images held out ({', '.join(p.stem for p in held_out)})"
    elif photos:
        folder = photo_dir()
        val = [folder / n for n in PHOTOS_VAL if (folder / n).is_file()]
        val_words = f"{len(val)} scikit-image photos held out from training"
    else:
        val, val_words = [], "none (pass --val-dir to see validation PSNR)"
    return train, val, val_words


def has_images(folder):
    """True if `folder` holds an image we can train on (an empty folder, say of a failed fetch, does not)."""
    from .datasets.patches import IMAGE_SUFFIXES

    return Path(folder).is_dir() and any(p.suffix.lower() in IMAGE_SUFFIXES for p in Path(folder).iterdir())


def split_validation(files, n):
    """(training files, n files held out, evenly spread over the sorted list); UserError if too few remain.

    Holding out more than half the folder is refused: it would train on fewer images than it checks.
    """
    if n >= len(files):
        raise UserError(f"--val-images {n}: the training folder has only {len(files)} images")
    if 2 * n > len(files):
        raise UserError(f"--val-images {n} would hold out {n} of the training folder's {len(files)} images and "
                        f"train on {len(files) - n}; pass --val-images {len(files) // 2} or fewer, or --val-dir")
    held = {round(i * (len(files) - 1) / max(n - 1, 1)) for i in range(n)} if n > 1 else {len(files) // 2}
    return [f for i, f in enumerate(files) if i not in held], [f for i, f in enumerate(files) if i in held]


# ------------------------------------------------------------------------------------ checkpoints


# ------------------------------------------------------------------------------------ validation


# ------------------------------------------------------------------------------------ the loop


def resolve_config(args):
    """The run's settings: the flags given, the recipe's values for the others."""
    from .datasets.augment import parse_factors
    from .model.srcnn import parse_arch

    recipe = RECIPES[args.recipe]
    v = {k: (getattr(args, k) if getattr(args, k) is not None else d) for k, d in recipe.items()}
    f1, f2, f3 = parse_arch(v["arch"])
    for name in ("scale", "epochs", "batch_size", "checkpoint_every", "stride", "n1", "n2"):
        if (v[name] if name in v else getattr(args, name)) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1")
    if v["lr"] is None:
        v["lr"] = 1e-4 if args.loss == "caffe" else 1e-4 * 220.5
    if not v["lr"] > 0:
        raise UserError("--lr must be positive")
    if not 0 < v["lr_ratio"] <= 10:
        raise UserError("--lr-ratio must be in (0, 10]")
    if v["warmup"] < 0 or not 0 <= v["lr_floor"] <= 1:
        raise UserError("--warmup must be >= 0 and --lr-floor between 0 and 1")
    try:
        factors = parse_factors(v["scale_aug"])
    except ValueError as exc:
        raise UserError(f"--scale-aug: {exc}") from None
    border = (f1 + f2 + f3 - 3) // 2
    if v["patch_size"] > MAX_PATCH_SIDE:
        raise UserError(f"--patch-size {v['patch_size']}: at most {MAX_PATCH_SIDE} (the patch files' limit)")
    if v["patch_size"] <= 2 * border:
        raise UserError(f"--patch-size {v['patch_size']} leaves no label for a {f1}-{f2}-{f3} network "
                        f"(it trims {border} pixels per side)")
    return dict(recipe=args.recipe, arch=f"{f1}-{f2}-{f3}", n1=args.n1, n2=args.n2, scale=args.scale,
                epochs=v["epochs"], batch_size=v["batch_size"], optimizer=v["optimizer"], lr=v["lr"],
                lr_ratio=v["lr_ratio"], schedule=v["schedule"], warmup=v["warmup"], lr_floor=v["lr_floor"],
                momentum=args.momentum,
                loss=args.loss, init=args.init, init_from=args.init_from, augment=v["augment"],
                scale_aug=",".join(f"{f:g}" for f in factors) or "none", patch_size=v["patch_size"],
                val_images=args.val_images, seed=args.seed, stride=args.stride,
                checkpoint_every=args.checkpoint_every)


def given_flags(parser, argv):
    """The destinations of the flags on the command line itself (not filled in from defaults)."""
    import argparse
    import copy

    bare = copy.deepcopy(parser)
    for action in bare._actions:
        action.default = argparse.SUPPRESS
    return set(vars(bare.parse_args(argv)))


def _absolute(path):
    return str(Path(path).resolve()) if path else None


def _flag(key):
    return "--" + key.replace("_", "-")


def resumed_args(args, given, out):
    """(`args` with every setting the run in `out` was started with, from its checkpoint's record, and
    the resolved configuration of those).

    Flags on the command line that would change what the run computes are refused in one line
    naming each. ``--epochs`` may extend (or shorten) a run on the constant schedule; on the cosine
    and step schedules, which are laid out over the whole run, it is refused too.
    """
    import argparse

    record = read_run_record(out / CHECKPOINT)
    saved = dict(record.get("train_config", {}))
    if "recipe" in saved:
        saved.setdefault("lr_ratio", 0.1)  # runs begun before --lr-ratio existed used the paper's
    merged = argparse.Namespace(**vars(args))
    for k, v in saved.items():
        if k in vars(merged) and k not in given:
            setattr(merged, k, v)
    sources = record.get("sources")
    if sources is not None:  # runs begun before sources were recorded give their data flags again
        for k in SOURCES:
            if k not in given:
                setattr(merged, k, sources.get(k))
    cfg = resolve_config(merged)
    changed = [f"{_flag(k)} {cfg[k]} (the run's: {saved[k]})" for k in saved
               if k in cfg and k not in FREE_ON_RESUME and k != "epochs" and cfg[k] != saved[k]]
    if sources is not None:
        changed += [f"{_flag(k)} {getattr(args, k)} (the run's: {sources.get(k) or 'none'})" for k in SOURCES
                    if k in given and _absolute(getattr(args, k)) != sources.get(k)]
    if changed:
        raise UserError(f"--resume continues the run in {out} as it was started, and {'; '.join(changed)} "
                        f"would change it: leave {'it' if len(changed) == 1 else 'them'} out, or start a new run "
                        "in another --out")
    if "epochs" in saved and cfg["epochs"] != saved["epochs"] and saved.get("schedule", "constant") != "constant":
        raise UserError(f"--epochs {cfg['epochs']}: the run's {saved['schedule']} learning-rate schedule is laid "
                        f"out over its {saved['epochs']} epochs; resume without --epochs, or train on in a new run "
                        f"that starts from its weights (--init-from {out / MODEL})")
    return merged, cfg


@command(PROG)
def main(argv, prog):
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.threads is not None:
        if args.threads < 1:
            raise UserError("--threads must be at least 1")
        set_threads(args.threads)
    cfg = resolve_config(args)
    out = Path(args.out or f"runs/{cfg['arch']}-x{cfg['scale']}")
    ckpt = out / CHECKPOINT
    if args.resume and not ckpt.is_file():
        raise UserError(f"--resume: no checkpoint in {out}")
    if args.resume:
        args, cfg = resumed_args(args, given_flags(parser, argv), out)
    if not args.resume and not args.overwrite and (ckpt.exists() or (out / MODEL).exists()):
        raise UserError(f"{out} already holds a run; pass --resume to continue it or --overwrite to start over")
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder")
    ours = [n for n in (LOG, PLOT) if os.path.lexists(out / n)]
    if ours and not args.overwrite and not ckpt.exists():  # files of our names, but not from a run of ours
        raise UserError(f"--out {out} holds {' and '.join(ours)} but no run of npsrcnn's; pass --overwrite to "
                        "replace them, or choose another --out")
    # Every place this run writes is checked before any work (cutting patches takes minutes).
    check_can_create(out, "--out")
    if args.train_h5 is None:
        check_can_create(cache_dir(args.cache_dir), "patch cache")
    return train(args, cfg, out, prog)


def train(args, cfg, out, prog=PROG):
    from .datasets.augment import parse_factors
    from .datasets.patches import label_size_for, list_images, read_info
    from .model.srcnn import SRCNN
    from .training.optim import paper_learning_rates

    f1, f2, f3 = (int(k) for k in cfg["arch"].split("-"))
    (kind, source, words), val_files, val_words = resolve_data(args)
    progress = not args.no_progress

    if args.resume:
        model, opt_state, state, saved = load_checkpoint(out / CHECKPOINT)
        if "sources" not in (saved or {}) and saved.get("train_data", words) != words:  # a run from before sources
            raise UserError(f"--resume: the run in {out} trained on {saved['train_data']}, not {words}; "
                            "use the same data or a new --out")
        remove_stale_temps(out)  # left by a kill -9 during a write; only files named by util.files.atomic_output
    else:
        saved = None
        model = SRCNN(f1, f2, f3, n1=cfg["n1"], n2=cfg["n2"], seed=cfg["seed"], scale=cfg["scale"])
        if cfg["init_from"]:
            start = SRCNN.load(cfg["init_from"])
            if (start.arch, start.n1, start.n2) != (model.arch, model.n1, model.n2):
                raise UserError(f"--init-from {cfg['init_from']}: a {start.arch} network with {start.n1}/{start.n2} "
                                f"channels, not {model.arch} with {model.n1}/{model.n2}")
            for k in model.params:
                model.params[k][...] = start.params[k]
        elif cfg["init"] == "he":
            he_init(model.params, cfg["seed"])
        opt_state, state = None, dict(epoch=0, batch=0, step=0, seconds=0.0, history=[])
    border = model.border
    patch_size, factors = cfg["patch_size"], parse_factors(cfg["scale_aug"])
    label_size = label_size_for(patch_size, border)
    validate = Validator(val_files, cfg["scale"])  # reads the validation images: a bad one stops us before any cutting
    report = Validator(list_images(args.report_dir), cfg["scale"]) if args.report_dir else None
    key = None
    if kind == "h5":
        h5 = source
        info = read_info(h5)
        if info["input_size"] - 2 * border != info["label_size"]:
            raise UserError(f"{h5}: {info['input_size']}x{info['input_size']} inputs with {info['label_size']}x"
                            f"{info['label_size']} labels do not fit a {cfg['arch']} network "
                            f"(it trims {border} pixels per side: labels must be {info['input_size'] - 2 * border})")
        file_scale = info["attrs"].get("scale")
        if file_scale is not None and int(file_scale) != cfg["scale"]:
            raise UserError(f"{h5} holds x{int(file_scale)} patches but --scale is {cfg['scale']}")
        origin = ""
    else:
        from .datasets.cache import cached_patches, patch_key

        key = patch_key(source, cfg["scale"], patch_size, label_size, cfg["stride"], factors)
        if (saved or {}).get("patch_key", key) != key:
            raise UserError(f"--resume: the images of {words} changed since the run in {out} began; "
                            "use the same data or a new --out")
        folder = cache_dir(args.cache_dir)
        with new_folder(folder):  # refused below, the run leaves neither a new cache folder nor patches it cut
            h5, cut_now = cached_patches(source, cfg["scale"], patch_size, label_size, cfg["stride"], folder,
                                         factors=factors, key=key, progress=progress)
            info = read_info(h5)
            if info["n"] < cfg["batch_size"]:
                if cut_now:
                    h5.unlink()
                raise _too_few(h5, info["n"], cfg["batch_size"])
        origin = " (cut now)" if cut_now else " (cached)"
    n_patches = info["n"]
    steps_per_epoch = n_patches // cfg["batch_size"]
    if steps_per_epoch < 1:
        raise _too_few(h5, n_patches, cfg["batch_size"])

    lrs = paper_learning_rates(cfg["lr"], cfg["lr_ratio"])
    opt = make_optimizer(cfg, model.params, lrs)
    if opt_state is not None:
        opt.load_state_dict(opt_state)
    run_config = dict(train_config=cfg, train_data=words, patches=n_patches, validation=val_words,
                      learning_rates=lrs, npsrcnn=__version__, sources={k: _absolute(getattr(args, k)) for k in SOURCES})
    if key is not None:
        run_config["patch_key"] = key
    made = [p for p in (out, *out.parents) if not p.exists()]  # deepest first
    out.mkdir(parents=True, exist_ok=True)  # only now: a run refused above leaves no empty folder

    optimizer = "Adam" if cfg["optimizer"] == "adam" else f"SGD momentum {cfg['momentum']}"
    print(f"npsrcnn {__version__} train: recipe {cfg['recipe']}, {cfg['arch']} x{cfg['scale']}, "
          f"{_plural(cfg['epochs'], 'epoch')} of {_plural(steps_per_epoch, 'step')} (batch {cfg['batch_size']}), "
          f"{optimizer}, loss {cfg['loss']}, init {cfg['init']}, seed {cfg['seed']}", file=sys.stderr)
    schedule = cfg["schedule"] + (f" to {cfg['lr_floor']:g}x" if cfg["schedule"] == "cosine" else "")
    schedule += f", {cfg['warmup']} warm-up steps" if cfg["warmup"] else ""
    print(f"  learning rates: {', '.join(f'{k} {v:g}' for k, v in lrs.items())}; schedule {schedule}",
          file=sys.stderr)
    print(f"  patches {patch_size}x{patch_size} -> {label_size}x{label_size}, augmentation: {cfg['augment']}, "
          f"downscaled copies: {cfg['scale_aug']}", file=sys.stderr)
    print(f"  training data: {words}: {n_patches} patches from {h5}{origin}", file=sys.stderr)
    if kind != "h5":
        print(f"  patch cache: {folder} ({human(cache_size(folder))}; `npsrcnn cache` lists or clears it)",
              file=sys.stderr)
    print(f"  validation: {val_words}"
          + (f" (bicubic {validate.bicubic:.2f} dB)" if validate.bicubic is not None else ""), file=sys.stderr)
    print(f"  output: {out}/" + (f", resuming at epoch {state['epoch'] + 1} step {state['step']}" if args.resume else ""),
          file=sys.stderr)

    stop = StopFlag()
    previous = signal.signal(signal.SIGINT, stop)
    failed = True
    try:
        status = run_epochs(model, opt, cfg, state, h5, steps_per_epoch, (validate, report), out, run_config, progress,
                            stop, prog)
        failed = bool(status)
    finally:
        signal.signal(signal.SIGINT, previous)
        if failed:
            _remove_if_empty(made)  # a run that failed before its first checkpoint leaves no empty --out
    if status:
        return status
    model.save(out / MODEL, config=run_config)
    write_log(out, state["history"])
    plotted = plot_history(out / PLOT, state["history"], validate.bicubic)
    last = state["history"][-1] if state["history"] else {}
    summary = f"done: {state['step']} steps in {state['seconds']:.0f} s; weights in {out / MODEL}"
    if last.get("val_psnr") is not None:
        summary += (f"; validation PSNR {last['val_psnr']:.2f} dB vs bicubic {validate.bicubic:.2f} dB "
                    f"({last['val_psnr'] - validate.bicubic:+.2f} dB)")
    print(summary + ("" if plotted else "; no plot (matplotlib is not installed)"), file=sys.stderr)
    return 0


def _remove_if_empty(folders):
    """Remove the folders this run made, deepest first, while they are empty."""
    for p in folders:
        try:
            p.rmdir()
        except OSError:  # holds something (a checkpoint), or is gone
            break


def _too_few(h5, n, batch_size):
    return UserError(f"{h5}: {n} patches, fewer than one batch of {batch_size}")


def _plural(n, word):
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


if __name__ == "__main__":
    sys.exit(main())
