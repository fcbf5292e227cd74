"""Shared test settings.

The datasets are found through one setting, the environment variable ``NPSRCNN_DATA`` (a folder with
``T91/``, ``Set5/``, ``Set14/``, ``BSD100/``), defaulting to ``data/`` in the repository. The authors'
released weights are found through ``NPSRCNN_REF_WEIGHTS`` (default ``../shared/reference/srcnn_matlab_weights``).
``.ci/run`` points both at ``../shared``. Tests that need them skip, saying so, when they are absent.
Training's patch cache (``NPSRCNN_CACHE``) and the user cache (``XDG_CACHE_HOME``) are temporary folders
shared by the session: the suite never writes into the repository or the user's cache.
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def data_dir():
    return Path(os.environ.get("NPSRCNN_DATA", REPO / "data"))


def ref_weights_dir():
    return Path(os.environ.get("NPSRCNN_REF_WEIGHTS", REPO.parent / "shared" / "reference" / "srcnn_matlab_weights"))


@pytest.fixture(autouse=True)
def _patch_cache(tmp_path_factory, monkeypatch):
    """Training runs cut patches into one cache for the whole session, never into the repository or the
    user's cache directory (XDG_CACHE_HOME too, for anything that asks platformdirs)."""
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("NPSRCNN_CACHE", str(base / "patch-cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(base / "xdg-cache"))


@pytest.fixture
def unwritable_dir(tmp_path):
    """A folder that exists but takes no new file (chmod 555; as root, which ignores that, /sys)."""
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    candidates = [d, Path("/sys/kernel"), Path("/sys")]
    for c in candidates:
        try:
            fd, probe = tempfile.mkstemp(dir=c)
        except OSError:
            yield c
            d.chmod(0o755)
            return
        os.close(fd)
        os.unlink(probe)
    d.chmod(0o755)
    pytest.skip("no folder here refuses new files (root without a read-only /sys)")


@pytest.fixture(scope="session")
def datasets():
    """Folder holding the benchmark sets; skips the test when Set5 is not there."""
    d = data_dir()
    if not (d / "Set5").is_dir():
        pytest.skip(f"datasets not found at {d} (set NPSRCNN_DATA)")
    return d


@pytest.fixture(scope="session")
def ref_weights():
    """Folder of the authors' released weights (9-1-5(91 images)/x3.npz, ...); skips when absent."""
    d = ref_weights_dir()
    if not (d / "9-1-5(91 images)" / "x3.npz").is_file():
        pytest.skip(f"authors' weights not found at {d} (set NPSRCNN_REF_WEIGHTS)")
    return d


def assert_one_line_error(rc, err, text):
    """A command's bad-input contract: exit code 2 and exactly one ``error:`` line on stderr, naming `text`."""
    assert rc == 2
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1 and text in lines[0], err
    assert "Traceback" not in err


def run_python(*args, cwd=None, timeout=120):
    """``python *args`` in a subprocess that imports this checkout's npsrcnn (PYTHONPATH), from any `cwd`."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=path, NUMBA_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2")
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd or REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)
