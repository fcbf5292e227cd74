"""npsrcnn upscale over many images: --workers N local processes and --dask on a LocalCluster.

Outputs equal the one-process run bit for bit, a corrupt image is reported by name without losing
the others, and --skip-existing makes a rerun do only what is left.
"""
import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, assert_one_line_error
from PIL import Image

from npsrcnn import upscale as up_cli
from npsrcnn.model.srcnn import SRCNN


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("w") / "x2.h5"
    SRCNN(9, 1, 5, n1=8, n2=4, seed=1, scale=2).save(path)
    return path


@pytest.fixture
def photos(tmp_path):
    """Five small images (grey, RGB, RGBA, JPEG, 16-bit) and one truncated PNG, in a folder."""
    d = tmp_path / "in"
    d.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (23, 31), dtype=np.uint8)).save(d / "a.png")
    Image.fromarray(rng.integers(0, 255, (20, 17, 3), dtype=np.uint8)).save(d / "b.png")
    Image.fromarray(rng.integers(0, 255, (19, 25, 4), dtype=np.uint8)).save(d / "c.png")
    Image.fromarray(rng.integers(0, 255, (26, 21, 3), dtype=np.uint8)).save(d / "d.jpg", quality=90)
    Image.fromarray(rng.integers(0, 65535, (18, 22), dtype=np.uint16)).save(d / "e.png")
    Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(d / "bad.png")
    (d / "bad.png").write_bytes((d / "bad.png").read_bytes()[:300])  # its header reads; its pixels do not
    return d


def digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def run(argv, **kw):
    env = dict(os.environ, PYTHONPATH=str(REPO), NUMBA_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "npsrcnn.upscale", *map(str, argv)], cwd=kw.get("cwd", REPO),
                          env=env, capture_output=True, text=True, timeout=300)


GOOD = ["a.png", "b.png", "c.png", "d.jpg", "e.png"]


def test_workers_give_the_one_process_outputs_bit_for_bit_and_report_the_bad_one(photos, weights_file, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    inputs = [photos / n for n in GOOD]
    p = run([*inputs, "-o", one, "--scale", 2, "--weights", weights_file, "--no-progress"])
    assert p.returncode == 0, p.stderr
    p = run([*inputs, photos / "bad.png", "-o", two, "--scale", 2, "--weights", weights_file, "--workers", 2,
             "--no-progress"])
    assert p.returncode == 2, p.stderr
    assert_one_line_error(2, p.stderr, "1 of 6 images failed (bad.png); the other 5 were written")
    assert any("bad.png" in line and "error" not in line for line in p.stderr.splitlines())  # named on its own line
    assert digests(two) == digests(one) and len(digests(one)) == 5


def test_skip_existing_does_only_what_is_left(photos, weights_file, tmp_path):
    out = tmp_path / "out"
    inputs = [photos / n for n in GOOD]
    p = run([*inputs[:2], "-o", out, "--scale", 2, "--weights", weights_file, "--no-progress"])
    assert p.returncode == 0, p.stderr
    before = digests(out)
    p = run([*inputs, "-o", out, "--scale", 2, "--weights", weights_file, "--workers", 2, "--no-progress"])
    assert_one_line_error(p.returncode, p.stderr, "exists; pass --overwrite to replace it or --skip-existing")
    p = run([*inputs, "-o", out, "--scale", 2, "--weights", weights_file, "--workers", 2, "--skip-existing",
             "--no-progress"])
    assert p.returncode == 0, p.stderr
    assert "skipping 2 outputs that exist" in p.stderr
    after = digests(out)
    assert len(after) == 5 and all(after[k] == v for k, v in before.items())


def test_dask_local_cluster_gives_the_same_outputs(photos, weights_file, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    one, dsk = tmp_path / "one", tmp_path / "dask"
    inputs = [photos / n for n in GOOD]
    assert up_cli.main([*map(str, inputs), "-o", str(one), "--scale", "2", "--weights", str(weights_file),
                        "--no-progress"]) == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        argv = [*map(str, inputs), str(photos / "bad.png"), "-o", str(dsk), "--scale", "2", "--weights",
                str(weights_file), "--dask", cluster.scheduler_address, "--no-progress"]
        assert up_cli.main(argv) == 2
    assert digests(dsk) == digests(one)


def test_dask_unreachable_scheduler_is_one_line(photos, weights_file, tmp_path, capsys):
    pytest.importorskip("dask.distributed")
    import dask

    argv = [str(photos / "a.png"), "-o", str(tmp_path / "o"), "--scale", "2", "--weights", str(weights_file),
            "--dask", "tcp://127.0.0.1:9", "--no-progress"]
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        assert up_cli.main(argv) == 2
    assert_one_line_error(2, capsys.readouterr().err, "--dask tcp://127.0.0.1:9: cannot reach the scheduler")
    assert not (tmp_path / "o").exists()


def test_a_folder_input_is_its_images(photos, weights_file, tmp_path):
    (photos / "bad.png").unlink()
    out = tmp_path / "o"
    p = run([photos, "-o", out, "--scale", 2, "--weights", weights_file, "--workers", 2, "--no-progress"])
    assert p.returncode == 0, p.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n.rsplit('.', 1)[0]}_x2.png" for n in GOOD)


def test_without_dask_the_command_names_the_extra_that_setup_cfg_declares(photos, weights_file, tmp_path, capsys,
                                                                           monkeypatch):
    import configparser
    import re

    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # import fails as if dask were not installed
    argv = [str(photos / "a.png"), "-o", str(tmp_path / "o"), "--scale", "2", "--weights", str(weights_file),
            "--dask", "tcp://127.0.0.1:9", "--no-progress"]
    assert up_cli.main(argv) == 2
    err = capsys.readouterr().err
    assert_one_line_error(2, err, '--dask needs the dask package: pip install "npsrcnn[dask]"')
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    extra = re.search(r"npsrcnn\[(\w+)\]", err).group(1)
    assert "dask" in cfg["options.extras_require"][extra]
