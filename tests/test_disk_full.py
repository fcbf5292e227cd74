"""Out of disk: one line naming the file, exit code 2, no traceback or crash, the previous file intact.

Each test mounts a small tmpfs (root only); elsewhere they skip, saying so.
"""
import hashlib
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, assert_one_line_error, run_python
from PIL import Image


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB tmpfs at tmp_path/small, unmounted afterwards."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)], capture_output=True, timeout=30)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        pytest.skip("no mount command: cannot make a small filesystem here")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.decode().strip()}")
    yield mnt
    subprocess.run(["umount", str(mnt)], capture_output=True, timeout=30)


def fill(mnt, leave_kb):
    """Fill the filesystem at `mnt` until `leave_kb` KB are free."""
    out = subprocess.run(["df", "-k", "--output=avail", str(mnt)], capture_output=True, text=True, timeout=30)
    avail = int(out.stdout.split()[-1])
    (mnt / "filler").write_bytes(b"\0" * max(avail - leave_kb, 0) * 1024)


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("imgs")
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 255, (96, 96), dtype=np.uint8)).save(d / f"im{i}.png")
    return d


def test_prepare_onto_a_full_disk_keeps_the_previous_file(small_disk, images):
    prev = small_disk / "prev.h5"
    prev.write_bytes(b"the previous file")
    big = images.parent / "big"
    big.mkdir(exist_ok=True)
    rng = np.random.default_rng(1)
    for i in range(3):  # ~5 MB of patches: more than the disk holds
        Image.fromarray(rng.integers(0, 255, (400, 400), dtype=np.uint8)).save(big / f"b{i}.png")
    p = run_python("-m", "npsrcnn.prepare", "--images", big, "--scale", "3", "--out", prev, "--overwrite", "--no-progress")
    assert_one_line_error(p.returncode, p.stderr, f"cannot write {prev}: no space left on device")
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr  # no tracebacks from h5py's teardown either
    assert prev.read_bytes() == b"the previous file"
    assert sorted(x.name for x in small_disk.iterdir()) == ["prev.h5"]  # no temporary left


def test_resume_with_no_room_for_a_checkpoint_keeps_the_last_one(small_disk, images, tmp_path):
    out = small_disk / "run"
    args = ["--train-dir", images, "--val-images", "0", "--batch-size", "16", "--no-progress",
            "--cache-dir", tmp_path / "cache"]
    p = run_python("-m", "npsrcnn.train", *args, "--epochs", "1", "--out", out)
    assert p.returncode == 0, p.stderr
    before = {f.name: digest(f) for f in out.iterdir()}
    fill(small_disk, leave_kb=60)
    p = run_python("-m", "npsrcnn.train", "--resume", "--out", out, "--epochs", "3", "--no-progress",
                   "--cache-dir", tmp_path / "cache")
    assert_one_line_error(p.returncode, p.stderr, "no space left on device")
    assert "Traceback" not in p.stderr and sum("error" in line for line in p.stderr.splitlines()) == 1, p.stderr
    assert {f.name: digest(f) for f in out.iterdir()} == before  # every file as it was, no temporary left
