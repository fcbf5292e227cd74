"""npsrcnn cache: where the patch cache is, what it holds, and clearing it (only our files)."""
import json
import os
import shlex
import subprocess
import sys

from conftest import REPO

from npsrcnn import cache as cache_cli
from npsrcnn.datasets import cache


def test_list_and_clear_touch_only_patch_files(tmp_path, capsys):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "patches-x3-33-21-s14-0123456789abcdef.h5").write_bytes(b"x" * 1500)
    (folder / "patches-x2-33-21-s14-fedcba9876543210.h5").write_bytes(b"y" * 500)
    (folder / "notes.txt").write_text("not ours")
    assert cache_cli.main(["--cache-dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"patch cache: {folder} (2 files, 2.0 kB)" in out and "patches-x2" in out and "notes" not in out
    assert cache_cli.main(["list", "--cache-dir", str(folder), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["bytes"] == 2000 and len(listed["files"]) == 2
    assert cache_cli.main(["clear", "--cache-dir", str(folder)]) == 0
    assert f"removed 2 patch files (2.0 kB) from {folder}" in capsys.readouterr().out
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_the_printed_clear_command_works_as_printed(tmp_path):
    folder = tmp_path / "my cache"
    folder.mkdir()
    (folder / "patches-x3-33-21-s14-0123456789abcdef.h5").write_bytes(b"x" * 10)
    env = dict(os.environ, PYTHONPATH=str(REPO), PATH=f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}")
    listed = subprocess.run([sys.executable, "-m", "npsrcnn.cache", "--cache-dir", str(folder)], env=env,
                            capture_output=True, text=True, timeout=60)
    (line,) = [line for line in listed.stdout.splitlines() if "deletes them" in line]
    printed = line.split("`")[1]
    assert printed == f"python -m npsrcnn.cache clear --cache-dir {shlex.quote(str(folder))}"
    done = subprocess.run(["bash", "-c", printed], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert not folder.exists()  # emptied, and the folder it made goes too


def test_default_is_the_user_cache_directory_and_env_wins(tmp_path, monkeypatch):
    monkeypatch.delenv("NPSRCNN_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "npsrcnn" / "patches"
    monkeypatch.setenv("NPSRCNN_CACHE", str(tmp_path / "env"))
    assert cache.cache_dir() == tmp_path / "env" and cache.cache_dir(str(tmp_path / "f")) == tmp_path / "f"
    assert cache.cached_files(tmp_path / "missing") == [] and cache.cache_size(tmp_path / "missing") == 0
