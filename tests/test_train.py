"""python -m npsrcnn.train: outputs, checkpoints, resume, interruption, divergence and bad input."""
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import assert_one_line_error
from PIL import Image

from npsrcnn import train as train_cli
from npsrcnn.model.srcnn import SRCNN
from npsrcnn.training import checkpoint, loop

REPO = Path(__file__).resolve().parents[1]
PATCHES, STEPS = 4 * 25, 100 // 16  # patches in the training folder, steps per epoch at batch 16


def _texture(rng, H, W):
    """A smooth random grayscale image with edges: upsampled noise plus a step, uint8."""
    small = rng.uniform(0, 255, (H // 8 + 2, W // 8 + 2)).astype(np.float32)
    img = np.asarray(Image.fromarray(small, "F").resize((W, H), Image.BICUBIC))
    img = img + 60 * (np.arange(W)[None, :] > W // 2)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Training (4 images, 96x96: 5x5 patches each) and validation (2 images) folders."""
    root = tmp_path_factory.mktemp("imgs")
    rng = np.random.default_rng(0)
    for sub, n, size in (("train", 4, 96), ("val", 2, 60)):
        (root / sub).mkdir()
        for i in range(n):
            Image.fromarray(_texture(rng, size, size)).save(root / sub / f"im{i}.png")
    return root


def args_for(images, out, *extra):
    return ["--train-dir", str(images / "train"), "--val-dir", str(images / "val"), "--out", str(out),
            "--batch-size", "16", "--no-progress", *extra]


def run_cli(argv, **kw):
    env = dict(os.environ, NUMBA_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2")
    return subprocess.Popen([sys.executable, "-m", "npsrcnn.train", *argv], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def final_params(out):
    return SRCNN.load(out / "model.h5").params


def test_short_run_writes_model_log_checkpoint_and_plot(images, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_cli.main(args_for(images, out, "--epochs", "2")) == 0
    err = capsys.readouterr().err
    assert "training data: images in" in err and "validation: images in" in err
    model = SRCNN.load(out / "model.h5")
    assert model.arch == "9-1-5" and model.scale == 3
    assert model.config["train_config"]["epochs"] == 2 and model.config["patches"] == PATCHES
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2]
    assert log[-1]["step"] == 2 * STEPS
    assert all(np.isfinite(r["loss"]) and np.isfinite(r["val_psnr"]) and r["bicubic_psnr"] > 20 for r in log)
    with h5py.File(out / "checkpoint.h5", "r") as f:
        assert json.loads(f.attrs["progress"])["step"] == log[-1]["step"]
        assert {"velocity.w1", "velocity.b3", "steps"} <= set(f["optimizer"])
        assert int(f["optimizer"]["steps"][()]) == log[-1]["step"]
    assert (out / "training.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_training_lowers_the_loss(images, tmp_path):
    out = tmp_path / "run"
    assert train_cli.main(args_for(images, out, "--epochs", "6")) == 0
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert log[-1]["loss"] < 0.5 * log[0]["loss"]
    assert log[-1]["val_psnr"] > log[0]["val_psnr"]


FAULTS = REPO / "tests" / "faults.py"


def run_with_faults(spec, argv):
    """Run the training command under tests/faults.py (exact kill -9 / Ctrl-C moments); (rc, stderr)."""
    env = dict(os.environ, NUMBA_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2")
    p = subprocess.run([sys.executable, str(FAULTS), spec, "--", *argv], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=240)
    return p.returncode, p.stderr


def epoch_records(out):
    """What must not depend on interruptions: per-epoch loss, validation PSNR and step count."""
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    return [(r["epoch"], r["step"], r["loss"], r["val_psnr"]) for r in log]


def assert_run_folder_consistent(out):
    """Whatever is in the run folder under its own name is whole: each file loads."""
    if (out / "checkpoint.h5").exists():
        SRCNN.load(out / "checkpoint.h5")
        checkpoint.load_checkpoint(out / "checkpoint.h5")
    if (out / "model.h5").exists():
        SRCNN.load(out / "model.h5")
    if (out / "log.jsonl").exists():
        [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def assert_same_run(ref, out):
    a, b = final_params(ref), final_params(out)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)  # same shapes, same thread count: bit for bit
    assert epoch_records(out) == epoch_records(ref)


# Where a kill can land, and on which occurrence of it in one process (see tests/faults.py).
FAULT_POINTS = {"step": 6, "dataset": 40, "fsync": 6, "replace": 6, "replaced": 6, "validate": 2, "log": 2}
EPOCHS = 30  # 180 steps (~1 s): long enough that the schedule's moments are reached before the run ends


def fault_schedule(rng, n, action):
    """n seeded random moments (a point and its occurrence, or for kill -9 a time after the first update),
    then one during the final plot, after the last epoch."""
    points = sorted(FAULT_POINTS) + (["after"] if action == "kill" else [])
    out = []
    for point in rng.choice(points, n - 1):
        if point == "after":
            out.append(f"after:{rng.uniform(0.0, 0.4):.3f}:{action}")
        else:
            out.append(f"{point}:{rng.integers(1, FAULT_POINTS[point] + 1)}:{action}")
    return out + [f"plot:1:{action}"]


@pytest.fixture(scope="module")
def uninterrupted(images, tmp_path_factory):
    """The reference run the interrupted ones must reproduce bit for bit."""
    out = tmp_path_factory.mktemp("ref") / "run"
    p = run_cli(args_for(images, out, "--epochs", str(EPOCHS), "--checkpoint-every", "2"))
    assert p.wait(timeout=240) == 0, p.stderr.read()
    return out


@pytest.mark.parametrize("action, n, expected_rc", [("kill", 14, -signal.SIGKILL), ("int", 6, 130)])
def test_interrupted_at_many_moments_then_resumed_ends_bit_identical(images, uninterrupted, tmp_path, action, n,
                                                                      expected_rc):
    """kill -9 (or Ctrl-C) at seeded random moments: during steps, HDF5 writes, fsyncs, renames, epoch
    ends and the final save; after each, resume (or restart, if no checkpoint was written yet). The
    chain ends with the same weights and log as the uninterrupted run."""
    out = tmp_path / "run"
    args = args_for(images, out, "--epochs", str(EPOCHS), "--checkpoint-every", "2")
    interrupted = 0
    for spec in fault_schedule(np.random.default_rng(7), n, action):  # resumed with nothing but --resume --out
        argv = ["--resume", "--out", str(out)] if (out / "checkpoint.h5").exists() else args + ["--overwrite"]
        rc, err = run_with_faults(spec, argv)
        assert rc in (0, expected_rc), f"{spec}: rc {rc}\n{err}"
        assert "Traceback" not in err, err
        interrupted += rc == expected_rc
        assert_run_folder_consistent(out)
    assert interrupted >= n - 3  # the moments were reached: all but a few of the kills (Ctrl-Cs) really happened
    p = run_cli(["--resume", "--out", str(out), "--no-progress"])
    assert p.wait(timeout=240) == 0, p.stderr.read()
    assert not list(out.glob(".*.tmp*"))  # temporary files left by the kills are cleaned up
    assert_same_run(uninterrupted, out)


def test_second_ctrl_c_exits_at_once_and_keeps_the_previous_checkpoint(images, tmp_path):
    """Ctrl-C in step 3 asks for a checkpoint after it; a second Ctrl-C during that checkpoint's HDF5
    write (dataset 23: 2 for the patch file, 20 for step 2's checkpoint) abandons it at once."""
    out = tmp_path / "run"
    rc, err = run_with_faults("step:3:int,dataset:25:int",
                              args_for(images, out, "--epochs", "4", "--checkpoint-every", "2"))
    assert rc == 130 and "interrupted" in err and "Traceback" not in err, err
    assert "checkpoint saved" not in err  # the first Ctrl-C's checkpoint was abandoned, not completed
    _, _, state, _ = checkpoint.load_checkpoint(out / "checkpoint.h5")
    assert state["step"] == 2  # the previous checkpoint, whole
    assert not list(out.glob(".*.tmp*"))


@pytest.mark.parametrize("lr, message, first_bad", [
    ("30", "the loss became inf", 3),  # the loss overflows first
    ("3", "w1 became non-finite", 3),  # the update breaks w1 while the loss is still finite (~1e60)
])
def test_divergence_stops_and_keeps_a_checkpoint_that_loads_and_resumes(images, tmp_path, capsys, lr, message,
                                                                       first_bad):
    out = tmp_path / "run"
    args = args_for(images, out, "--epochs", "50", "--lr", lr, "--checkpoint-every", "1")
    rc = train_cli.main(args)
    err = capsys.readouterr().err
    assert rc == 1
    assert f"{message} at step {first_bad} " in err and f"Last good checkpoint: {out / 'checkpoint.h5'} " in err
    assert not (out / "model.h5").exists()
    _, opt_state, state, _ = checkpoint.load_checkpoint(out / "checkpoint.h5")  # loads
    assert state["step"] == first_bad - 1  # the last good step, kept
    assert all(np.isfinite(v).all() for v in opt_state.values() if isinstance(v, np.ndarray))
    before = (out / "checkpoint.h5").read_bytes()
    assert train_cli.main(args + ["--resume"]) == 1  # resumes from it, and diverges again at the same step
    assert f"{message} at step {first_bad} " in capsys.readouterr().err
    assert (out / "checkpoint.h5").read_bytes() == before


def test_a_non_finite_state_is_never_checkpointed(tmp_path):
    from npsrcnn.training.optim import SGD, paper_learning_rates

    model = SRCNN(seed=0)
    opt = SGD(model.params, paper_learning_rates())
    opt.velocity["b2"][3] = np.nan
    with pytest.raises(ValueError, match="velocity.b2 is not finite"):
        checkpoint.save_checkpoint(tmp_path / "c.h5", model, opt, {}, {})
    assert list(tmp_path.iterdir()) == []


def _text_file(path):
    path.write_text("not hdf5")
    return path


def _bad_h5(path, data_shape, label_shape, names=("data", "label")):
    with h5py.File(path, "w") as f:
        for name, shape in zip(names, (data_shape, label_shape)):
            f.create_dataset(name, data=np.zeros(shape, np.float32))
    return path


@pytest.mark.parametrize(
    "make, extra, message",
    [
        (lambda d: d / "missing.h5", [], "no such file"),
        (lambda d: _bad_h5(d / "x.h5", (4, 1, 33, 33), (4, 1, 21, 21), names=("data", "labels")), [], "no 'label'"),
        (lambda d: _bad_h5(d / "x.h5", (4, 1, 33, 33), (4, 1, 21, 21)), ["--arch", "9-5-5"], "do not fit a 9-5-5"),
        (lambda d: _bad_h5(d / "x.h5", (4, 1, 33, 33), (5, 1, 21, 21)), [], "patches but"),
        (lambda d: _text_file(d / "x.h5"), [], "not an HDF5"),
    ],
)
def test_bad_training_file_is_one_line_and_exit_2(tmp_path, capsys, make, extra, message):
    path = make(tmp_path)
    rc = train_cli.main(["--train-h5", str(path), "--out", str(tmp_path / "run"), "--no-progress", *extra])
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_existing_run_is_not_touched_without_resume_or_overwrite(images, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_cli.main(args_for(images, out, "--epochs", "1")) == 0
    before = {f.name: f.read_bytes() for f in out.iterdir()}
    capsys.readouterr()
    assert train_cli.main(args_for(images, out, "--epochs", "1")) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert {f.name: f.read_bytes() for f in out.iterdir()} == before
    assert train_cli.main(args_for(images, out, "--epochs", "1", "--resume", "--arch", "9-5-5")) == 2
    assert "--arch 9-5-5 (the run's: 9-1-5) would change it" in capsys.readouterr().err
    assert {f.name: f.read_bytes() for f in out.iterdir()} == before
    other = ["--train-dir", str(images / "val"), "--val-dir", str(images / "val"), "--out", str(out)]
    assert train_cli.main(other + ["--epochs", "2", "--resume", "--batch-size", "16", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"--train-dir {images / 'val'} (the run's: {(images / 'train').resolve()})" in err, err
    assert {f.name: f.read_bytes() for f in out.iterdir()} == before


def test_resume_without_checkpoint_and_small_images_are_errors(images, tmp_path, capsys):
    assert train_cli.main(args_for(images, tmp_path / "empty", "--resume")) == 2
    assert "no checkpoint" in capsys.readouterr().err
    small = tmp_path / "small"
    small.mkdir()
    Image.fromarray(np.zeros((20, 40), np.uint8)).save(small / "tiny.png")
    rc = train_cli.main(["--train-dir", str(small), "--val-dir", str(images / "val"), "--out", str(tmp_path / "r")])
    assert rc == 2
    assert "smaller than one 33x33" in capsys.readouterr().err


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_runs_share_one_cached_patch_file_and_run_folders_hold_no_patches(images, tmp_path, capsys):
    cache = tmp_path / "cache"
    runs = [tmp_path / "a", tmp_path / "b"]
    assert train_cli.main(args_for(images, runs[0], "--epochs", "1", "--cache-dir", str(cache))) == 0
    err = capsys.readouterr().err
    (patches,) = cache.iterdir()
    assert f"train: recipe paper, 9-1-5 x3, 1 epoch of {STEPS} steps (batch 16)" in err
    assert f"{PATCHES} patches from {patches} (cut now)" in err
    assert train_cli.main(args_for(images, runs[1], "--epochs", "1", "--cache-dir", str(cache))) == 0
    assert f"{PATCHES} patches from {patches} (cached)" in capsys.readouterr().err
    assert list(cache.iterdir()) == [patches]
    for run in runs:
        assert _tree(run) == ["checkpoint.h5", "log.jsonl", "model.h5", "training.png"]
        assert patches.name.endswith(f"-{SRCNN.load(run / 'model.h5').config['patch_key'][:16]}.h5")
    a, b = final_params(runs[0]), final_params(runs[1])
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_train_h5_still_works_and_equals_cutting_the_same_images(images, tmp_path, capsys):
    from npsrcnn import prepare

    h5 = tmp_path / "t91.h5"
    assert prepare.main(["--images", str(images / "train"), "--scale", "3", "--out", str(h5)]) == 0
    common = ["--val-dir", str(images / "val"), "--batch-size", "16", "--no-progress", "--epochs", "1",
              "--cache-dir", str(tmp_path / "cache")]
    assert train_cli.main(["--train-h5", str(h5), "--out", str(tmp_path / "h5run"), *common]) == 0
    assert f"training data: patch file {h5}: {PATCHES} patches from {h5}\n" in capsys.readouterr().err
    assert not (tmp_path / "cache").exists()  # a patch file of the user's is used where it is
    assert train_cli.main(["--train-dir", str(images / "train"), "--out", str(tmp_path / "dirrun"), *common]) == 0
    a, b = final_params(tmp_path / "h5run"), final_params(tmp_path / "dirrun")
    assert all(np.array_equal(a[k], b[k]) for k in a)


def _one_tiny_image(d):
    (d / "tiny").mkdir()
    Image.fromarray(np.zeros((20, 40), np.uint8)).save(d / "tiny" / "t.png")
    return d / "tiny"


@pytest.mark.parametrize("argv, message", [
    (["--train-h5", "{tmp}/missing.h5"], "missing.h5: no such file"),
    (["--train-dir", "{train}", "--epochs", "0"], "--epochs must be at least 1"),
    (["--train-dir", "{train}", "--arch", "9-2-5"], "three odd filter sizes"),
    (["--train-dir", "{train}", "--val-dir", "{tmp}/nope"], "nope: no such directory"),
    (["--train-dir", "{tiny}"], "t.png: 18x39 after modcrop to scale 3, smaller than one 33x33 patch"),
    (["--train-dir", "{train}", "--val-dir", "{notimg}"], "x.png: not an image file"),
    (["--train-dir", "{train}", "--batch-size", "1000"], f"{PATCHES} patches, fewer than one batch of 1000"),
])
def test_a_refused_run_leaves_no_new_files(images, tmp_path, capsys, argv, message):

    tiny = _one_tiny_image(tmp_path)
    (tmp_path / "notimg").mkdir()
    (tmp_path / "notimg" / "x.png").write_text("not a picture")
    before = _tree(tmp_path)
    argv = [a.format(tmp=tmp_path, train=images / "train", tiny=tiny, notimg=tmp_path / "notimg") for a in argv]
    if "--val-dir" not in argv:
        argv += ["--val-dir", str(images / "val")]
    rc = train_cli.main(argv + ["--out", str(tmp_path / "runs" / "x3"), "--cache-dir", str(tmp_path / "cache"),
                                "--no-progress"])
    assert_one_line_error(rc, capsys.readouterr().err, message)
    assert _tree(tmp_path) == before


def test_resume_refuses_images_that_changed_in_the_same_folder(images, tmp_path, capsys):
    train = tmp_path / "train"
    train.mkdir()
    for p in (images / "train").iterdir():
        (train / p.name).write_bytes(p.read_bytes())
    argv = ["--train-dir", str(train), "--val-dir", str(images / "val"), "--out", str(tmp_path / "run"),
            "--batch-size", "16", "--no-progress"]
    assert train_cli.main(argv + ["--epochs", "1"]) == 0
    img = np.asarray(Image.open(train / "im0.png")).copy()
    img[10, 10] ^= 8
    Image.fromarray(img).save(train / "im0.png")
    capsys.readouterr()
    before = {f.name: f.read_bytes() for f in (tmp_path / "run").iterdir()}
    assert train_cli.main(argv + ["--epochs", "2", "--resume"]) == 2
    assert "--resume: the images of images in" in capsys.readouterr().err
    assert {f.name: f.read_bytes() for f in (tmp_path / "run").iterdir()} == before


def test_progress_bar_shows_the_whole_runs_eta(images, tmp_path, capsys):
    argv = [a for a in args_for(images, tmp_path / "run", "--epochs", "2") if a != "--no-progress"]
    assert train_cli.main(argv) == 0
    err = capsys.readouterr().err
    assert "train: recipe paper, 9-1-5 x3, 2 epochs of" in err and "epoch 2/2" in err
    etas = re.findall(r"run_eta=([^,\]]+)", err)
    shown = [e != "?" for e in etas]
    k = shown.index(True)  # the first frame with an ETA: none before ETA_SKIP + ETA_MIN steps were done
    assert k >= loop.ETA_SKIP + loop.ETA_MIN - 1 and all(shown[k:]), etas
    assert all(re.fullmatch(r"\d\d:\d\d", e) for e in etas[k:]), etas


def test_run_eta_extrapolates_this_processs_pace():
    assert loop.run_eta((100.0, 40), 40, 100, now=130.0) == "?"  # no step yet
    assert loop.run_eta((100.0, 40), 40 + loop.ETA_MIN - 1, 100, now=130.0) == "?"  # too few to mean anything
    assert loop.run_eta((100.0, 40), 50, 100, now=110.0) == "00:50"  # 1 s a step, 50 to go
    assert loop.run_eta((0.0, 0), 6, 7206, now=9.0) == "3:00:00"


def test_he_init_scales_with_fan_in():
    model = SRCNN(seed=0)
    loop.he_init(model.params, seed=0)
    assert abs(model.params["w1"].std() - np.sqrt(2 / 81)) < 0.02
    assert abs(model.params["w2"].std() - np.sqrt(2 / 64)) < 0.02
    assert model.params["w3"].std() < 2e-3  # the paper's 1e-3 kept for the linear layer


# ---------------------------------------------------------------------------------------- recipes


def test_fast_recipe_trains_with_adam_cosine_dihedral_and_downscaled_copies(images, tmp_path, capsys):
    out = tmp_path / "run"
    args = args_for(images, out, "--recipe", "fast", "--arch", "9-1-5", "--epochs", "2", "--cache-dir",
                    str(tmp_path / "cache"), "--report-dir", str(images / "val"))
    assert train_cli.main(args) == 0
    err = capsys.readouterr().err
    assert "recipe fast, 9-1-5 x3" in err and "Adam" in err and "schedule cosine to 0.01x" in err
    assert "augmentation: dihedral, downscaled copies: 0.9,0.8,0.7,0.6" in err
    cfg = SRCNN.load(out / "model.h5").config
    assert cfg["train_config"]["optimizer"] == "adam" and cfg["train_config"]["scale_aug"] == "0.9,0.8,0.7,0.6"
    assert cfg["train_config"]["lr_ratio"] == 1.0 and "w3 0.001, b3 0.001" in err  # one rate for every layer
    assert cfg["patches"] > PATCHES  # the downscaled copies add patches (0.9 and 0.8 of 96 px still hold 33 px)
    with h5py.File(out / "checkpoint.h5", "r") as f:
        assert {"m.w1", "v.b3", "beta1", "steps"} <= set(f["optimizer"])
        assert float(f["optimizer"]["lr.w1"][()]) < 1e-3  # the cosine schedule has lowered the rate
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert all(r["report_psnr"] > 0 and r["report_bicubic_psnr"] == r["bicubic_psnr"] for r in log)


def test_fast_recipe_killed_and_resumed_is_bit_identical(images, tmp_path):
    """Adam's moments, the schedule and the per-batch augmentation draws all survive a kill -9."""
    args = ["--recipe", "fast", "--arch", "9-1-5", "--epochs", "3", "--checkpoint-every", "2", "--scale-aug", "none"]
    ref, cut = tmp_path / "ref", tmp_path / "cut"
    p = run_cli(args_for(images, ref, *args))
    assert p.wait(timeout=240) == 0, p.stderr.read()
    for spec in ("step:5:kill", "validate:2:kill"):
        argv = ["--resume", "--out", str(cut)] if cut.exists() else args_for(images, cut, *args)
        rc, err = run_with_faults(spec, argv)
        assert rc == -signal.SIGKILL, err
    p = run_cli(["--resume", "--out", str(cut), "--no-progress"])
    assert p.wait(timeout=240) == 0, p.stderr.read()
    assert_same_run(ref, cut)


def test_validation_images_are_held_out_of_the_training_folder(images, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["--train-dir", str(images / "train"), "--val-images", "1", "--out", str(out), "--batch-size", "16",
            "--epochs", "1", "--no-progress", "--cache-dir", str(tmp_path / "cache")]
    assert train_cli.main(argv) == 0
    err = capsys.readouterr().err
    assert "validation: 1 training images held out (im2)" in err  # the middle one of im0..im3
    assert SRCNN.load(out / "model.h5").config["patches"] == 3 * 25  # cut from the other three only
    assert train_cli.split_validation(list(range(91)), 5)[1] == [0, 22, 45, 68, 90]


@pytest.mark.parametrize("extra, message", [
    (["--scale-aug", "0.9,1.5"], "--scale-aug: scale factors must be between 0 and 1"),
    (["--arch", "9-5-5", "--patch-size", "15"], "--patch-size 15 leaves no label"),
    (["--val-images", "4"], "--val-images 4: the training folder has only 4 images"),
    (["--lr-floor", "2"], "--lr-floor between 0 and 1"),
    (["--lr-ratio", "0"], "--lr-ratio must be in (0, 10]"),
])
def test_bad_recipe_flags_are_one_line_errors(images, tmp_path, capsys, extra, message):
    argv = ["--train-dir", str(images / "train"), "--out", str(tmp_path / "run"), "--no-progress", *extra]
    assert train_cli.main(argv) == 2
    assert_one_line_error(2, capsys.readouterr().err, message)
    assert not (tmp_path / "run").exists()


def test_resume_refuses_another_optimizer(images, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_cli.main(args_for(images, out, "--epochs", "1")) == 0
    capsys.readouterr()
    assert train_cli.main(args_for(images, out, "--epochs", "2", "--resume", "--optimizer", "adam")) == 2
    assert "--optimizer adam (the run's: sgd) would change it" in capsys.readouterr().err
    assert train_cli.main(args_for(images, out, "--epochs", "2", "--resume", "--lr-ratio", "1", "--seed", "3")) == 2
    assert "--lr-ratio 1.0 (the run's: 0.1); --seed 3 (the run's: 0) would change it: leave them out" in \
        capsys.readouterr().err


def test_a_run_from_before_lr_ratio_resumes_with_the_paper_ratio(images, tmp_path, capsys):
    """Checkpoints written before --lr-ratio existed trained with 0.1: `--resume` continues one at 0.1,
    not at the fast recipe's new default (1), and --lr-ratio 1 is refused as another setting."""
    out = tmp_path / "run"
    argv = ["--recipe", "fast", "--arch", "9-1-5", "--scale-aug", "none", "--lr-ratio", "0.1", "--epochs", "1"]
    assert train_cli.main(args_for(images, out, *argv)) == 0
    with h5py.File(out / "checkpoint.h5", "r+") as f:
        cfg = json.loads(f.attrs["config"])
        del cfg["train_config"]["lr_ratio"]
        f.attrs["config"] = json.dumps(cfg)
    capsys.readouterr()
    assert train_cli.main(["--out", str(out), "--resume", "--lr-ratio", "1"]) == 2
    assert "--lr-ratio 1.0 (the run's: 0.1)" in capsys.readouterr().err
    assert train_cli.main(["--out", str(out), "--resume", "--no-progress"]) == 0
    assert "learning rates: w1 0.001, b1 0.0001," in capsys.readouterr().err


def test_lr_ratio_sets_the_rate_of_the_biases_and_last_layer(images, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_cli.main(args_for(images, out, "--epochs", "1", "--optimizer", "adam", "--lr", "2e-4",
                                                   "--lr-ratio", "0.5")) == 0
    assert "learning rates: w1 0.0002, b1 0.0001, w2 0.0002, b2 0.0001, w3 0.0001, b3 0.0001" in capsys.readouterr().err
    cfg = SRCNN.load(out / "model.h5").config
    assert cfg["train_config"]["lr_ratio"] == 0.5 and cfg["learning_rates"]["w3"] == pytest.approx(1e-4)


def test_init_from_starts_from_given_weights_and_checks_the_architecture(images, tmp_path, capsys):
    first = tmp_path / "x3"
    assert train_cli.main(args_for(images, first, "--epochs", "1")) == 0
    start = SRCNN.load(first / "model.h5").params
    out = tmp_path / "x2"
    argv = args_for(images, out, "--epochs", "1", "--scale", "2", "--init-from", str(first / "model.h5"),
                    "--lr", "1e-12", "--cache-dir", str(tmp_path / "cache"))
    assert train_cli.main(argv) == 0
    got = SRCNN.load(out / "model.h5")
    assert got.scale == 2 and got.config["train_config"]["init_from"] == str(first / "model.h5")
    np.testing.assert_allclose(got.params["w1"], start["w1"], atol=1e-6)  # a tiny rate barely moves them
    capsys.readouterr()
    bad = args_for(images, tmp_path / "bad", "--arch", "9-5-5", "--init-from", str(first / "model.h5"))
    assert train_cli.main(bad) == 2
    assert_one_line_error(2, capsys.readouterr().err, "a 9-1-5 network with 64/32 channels, not 9-5-5")
    assert not (tmp_path / "bad").exists()


def test_one_and_two_threads_train_the_same_network_bit_for_bit(images, tmp_path):
    """Sub-batches run on worker threads with one Numba and one BLAS thread each (engine.parallel), so
    `--threads` changes the speed, not the result."""
    outs = []
    for threads in ("1", "2"):
        out = tmp_path / f"t{threads}"
        p = run_cli(args_for(images, out, "--arch", "9-5-5", "--recipe", "fast", "--epochs", "2", "--batch-size", "48",
                             "--scale-aug", "none", "--threads", threads, "--cache-dir", str(tmp_path / "cache")))
        assert p.wait(timeout=240) == 0, p.stderr.read()
        outs.append(out)
    a, b = final_params(outs[0]), final_params(outs[1])
    assert all(np.array_equal(a[k], b[k]) for k in a)
    losses = [[r[2] for r in epoch_records(out)] for out in outs]  # (epoch, step, loss, val_psnr)
    assert losses[0] == losses[1] and len(losses[0]) == 2


@pytest.mark.parametrize("recipe", ["fast"])  # the paper recipe resumes the same way in the kill chains above
def test_the_printed_continue_command_works_as_printed(images, tmp_path, recipe):
    """Ctrl-C prints how to continue; that command, run as printed by a shell, ends the run bit-identical
    to an uninterrupted one, with every setting (recipe, epochs, schedule, data) from the run's record."""
    args = ["--recipe", recipe, "--arch", "9-1-5", "--epochs", "3", "--scale-aug", "none", "--checkpoint-every", "4"]
    ref, cut = tmp_path / "ref", tmp_path / "cut dir"  # a space: the printed path must be quoted
    p = run_cli(args_for(images, ref, *args))
    assert p.wait(timeout=240) == 0, p.stderr.read()
    rc, err = run_with_faults("step:8:int", args_for(images, cut, *args))
    assert rc == 130, err
    (line,) = [e for e in err.splitlines() if "continue with: " in e]
    printed = line.split("continue with: ", 1)[1]
    assert printed.startswith("python -m npsrcnn.train --resume --out ")
    env = dict(os.environ, NUMBA_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2",
               PYTHONPATH=str(REPO), PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run(["bash", "-c", printed], cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert f"recipe {recipe}, 9-1-5 x3, 3 epochs" in done.stderr
    assert_same_run(ref, cut)
    assert (cut / "training.png").is_file()


def test_resume_keeps_the_runs_epochs_and_refuses_flags_that_would_change_it(images, tmp_path, capsys):
    """`--recipe fast --resume` is the run as started (not 40 epochs); --epochs on a cosine schedule, which
    is laid out over the whole run, is refused; on the constant schedule it extends the run."""
    out = tmp_path / "run"
    fast = ["--recipe", "fast", "--scale-aug", "none", "--epochs", "1"]
    assert train_cli.main(args_for(images, out, *fast)) == 0
    capsys.readouterr()
    assert train_cli.main(["--recipe", "fast", "--resume", "--out", str(out), "--no-progress"]) == 0
    assert "recipe fast, 9-1-5 x3, 1 epoch of" in capsys.readouterr().err
    assert train_cli.main(["--resume", "--out", str(out), "--epochs", "3"]) == 2
    err = capsys.readouterr().err
    assert_one_line_error(2, err, "--epochs 3: the run's cosine learning-rate schedule is laid out over its 1 epochs")
    assert f"--init-from {out / 'model.h5'}" in err
    paper = tmp_path / "paper"
    assert train_cli.main(args_for(images, paper, "--epochs", "1")) == 0
    assert train_cli.main(["--resume", "--out", str(paper), "--epochs", "2", "--no-progress"]) == 0
    assert [r["epoch"] for r in map(json.loads, (paper / "log.jsonl").read_text().splitlines())] == [1, 2]


def test_an_empty_t91_folder_is_like_none(images, tmp_path, monkeypatch):
    """A failed fetch leaves data/T91 empty: training then uses the offline photos, as with no folder."""
    pytest.importorskip("skimage")
    (tmp_path / "T91").mkdir()
    monkeypatch.setenv("NPSRCNN_DATA", str(tmp_path))
    args = train_cli.build_parser().parse_args(["--out", str(tmp_path / "run"), "--val-images", "0"])
    (kind, files, words), val, _ = train_cli.resolve_data(args)
    assert kind == "images" and "scikit-image sample photos" in words and len(val) == 3  # the photos held out
    Image.fromarray(np.zeros((40, 40), np.uint8)).save(tmp_path / "T91" / "a.png")
    assert "T91 from" in train_cli.resolve_data(args)[0][2]


def test_validation_may_not_take_most_of_a_small_folder(images, tmp_path, capsys):
    argv = ["--train-dir", str(images / "train"), "--val-images", "3", "--out", str(tmp_path / "run"), "--no-progress"]
    assert train_cli.main(argv) == 2
    assert_one_line_error(2, capsys.readouterr().err, "--val-images 3 would hold out 3 of the training folder's 4 "
                                                      "images and train on 1; pass --val-images 2 or fewer")


def test_a_folder_of_someone_elses_log_is_not_overwritten(images, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "log.jsonl").write_text("my notes\n")
    (out / "training.png").write_bytes(b"my picture")
    assert train_cli.main(args_for(images, out, "--epochs", "1")) == 2
    assert_one_line_error(2, capsys.readouterr().err, "holds log.jsonl and training.png but no run of npsrcnn's")
    assert (out / "log.jsonl").read_text() == "my notes\n" and (out / "training.png").read_bytes() == b"my picture"
    assert train_cli.main(args_for(images, out, "--epochs", "1", "--overwrite")) == 0
    assert (out / "log.jsonl").read_text() != "my notes\n"


def test_resume_removes_only_its_own_temporary_files(images, tmp_path):
    out = tmp_path / "run"
    assert train_cli.main(args_for(images, out, "--epochs", "1")) == 0
    ours = out / ".checkpoint.h5.npsrcnn-tmp-abc123.h5"
    ours.write_bytes(b"left by a kill -9")
    theirs = out / ".draft.tmp.txt"
    theirs.write_text("a user's file")
    assert train_cli.main(["--resume", "--out", str(out), "--epochs", "2", "--no-progress"]) == 0
    assert not ours.exists() and theirs.read_text() == "a user's file"


def test_unwritable_outputs_are_refused_before_any_work(images, tmp_path, capsys, unwritable_dir, monkeypatch):
    """Nothing is cut or trained when the run folder or the cache cannot be written; the message names
    the user's path."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("NPSRCNN_CACHE", str(cache))
    assert train_cli.main(args_for(images, unwritable_dir / "run", "--epochs", "1")) == 2
    assert_one_line_error(2, capsys.readouterr().err, f"--out {unwritable_dir / 'run'}: its parent {unwritable_dir}")
    assert not cache.exists()
    argv = args_for(images, tmp_path / "run", "--epochs", "1", "--cache-dir", str(unwritable_dir / "c"))
    assert train_cli.main(argv) == 2
    assert_one_line_error(2, capsys.readouterr().err, "patch cache")
    assert not (tmp_path / "run").exists()


def test_the_header_names_the_cache_and_its_size(images, tmp_path, capsys):
    assert train_cli.main(args_for(images, tmp_path / "run", "--epochs", "1")) == 0
    err = capsys.readouterr().err
    folder = os.environ["NPSRCNN_CACHE"]
    assert re.search(rf"  patch cache: {re.escape(folder)} \(\d+\.\d [kM]B; `npsrcnn cache` lists or clears it\)", err), err


def test_a_training_run_leaves_the_repository_as_it_was(images, tmp_path):
    """Run from the repository with the default cache (in the user's cache directory): nothing appears in
    the checkout, ignored files included, and the patches land in the cache directory."""
    git = ["git", "-C", str(REPO), "status", "--porcelain", "--ignored"]
    try:
        before = subprocess.run(git, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        pytest.skip("git is not installed")
    if before.returncode != 0:
        pytest.skip("not a git checkout")
    env = {k: v for k, v in os.environ.items() if k != "NPSRCNN_CACHE"}
    env.update(XDG_CACHE_HOME=str(tmp_path / "xdg"), NUMBA_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2")
    p = subprocess.run([sys.executable, "-m", "npsrcnn.train", *args_for(images, tmp_path / "run", "--epochs", "1")],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr
    assert subprocess.run(git, capture_output=True, text=True, timeout=60).stdout == before.stdout
    assert list((tmp_path / "xdg" / "npsrcnn" / "patches").glob("patches-*.h5"))


def test_an_interrupted_run_has_its_plot_and_one_epoch_has_whole_ticks(images, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    out = tmp_path / "run"
    rc, err = run_with_faults(f"step:{STEPS + 2}:int", args_for(images, out, "--epochs", "3"))
    assert rc == 130 and (out / "training.png").is_file(), err  # written with epoch 1's checkpoint
    import matplotlib.pyplot as plt

    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    history = [dict(epoch=1, loss=0.5, val_psnr=30.0)]
    assert loop.plot_history(tmp_path / "one.png", history, 29.0)
    for ax in figures[0].axes:
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks == [1.0], ticks


def test_a_run_that_fails_before_its_first_checkpoint_leaves_no_folder(images, tmp_path, capsys):
    out = tmp_path / "new" / "run"
    assert train_cli.main(args_for(images, out, "--epochs", "3", "--lr", "1e30")) == 1
    assert "none was written yet" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_a_doctored_checkpoint_is_refused_in_one_line(images, tmp_path, capsys):
    """Resuming reads the checkpoint as hostile input: an optimizer buffer of another shape, one whose
    bytes live in another file, or a progress record that is not one, each is one line; nothing changes."""
    out = tmp_path / "run"
    assert train_cli.main(args_for(images, out, "--epochs", "1")) == 0
    good = (out / "checkpoint.h5").read_bytes()
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(64 * 81, dtype=np.float32).tobytes())

    def doctor(change):
        (out / "checkpoint.h5").write_bytes(good)
        with h5py.File(out / "checkpoint.h5", "r+") as f:
            change(f)

    def external(f):
        del f["optimizer"]["velocity.w1"]
        f["optimizer"].create_dataset("velocity.w1", shape=(64, 1, 9, 9), dtype="<f4",
                                      external=[(str(secret), 0, 64 * 81 * 4)])

    cases = [
        (lambda f: (f["optimizer"].__delitem__("velocity.w1"),
                    f["optimizer"].create_dataset("velocity.w1", data=np.zeros(3))),
         "optimizer buffer 'velocity.w1' has shape (3,)"),
        (external, "'optimizer/velocity.w1' is stored in another file"),
        (lambda f: f.attrs.__setitem__("progress", "[1, 2"), "damaged checkpoint (progress"),
    ]
    for change, message in cases:
        doctor(change)
        before = (out / "checkpoint.h5").read_bytes()
        capsys.readouterr()
        assert train_cli.main(["--resume", "--out", str(out), "--epochs", "2", "--no-progress"]) == 2
        assert_one_line_error(2, capsys.readouterr().err, message)
        assert (out / "checkpoint.h5").read_bytes() == before


@pytest.mark.parametrize("argv, message", [
    (["--patch-size", "300"], "--patch-size 300: at most 256"),
])
def test_patches_larger_than_the_files_hold_are_refused_up_front(images, tmp_path, capsys, argv, message):
    assert train_cli.main(args_for(images, tmp_path / "run", *argv)) == 2
    assert_one_line_error(2, capsys.readouterr().err, message)
    assert not (tmp_path / "run").exists()
