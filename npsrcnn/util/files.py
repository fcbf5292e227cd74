"""Writing files safely: outputs checked before any work, atomic writes, folders removed on failure.

Files are written through :func:`atomic_output`, so an interrupted write never leaves a half-written
file where the user's file was, and an existing file is never replaced without ``--overwrite``.
"""
import contextlib
import os
import tempfile
from pathlib import Path

from .errors import UserError


def check_output_path(path, overwrite=False):
    """Raise UserError unless `path` may be written: its folder exists and it is new or `overwrite`."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"output {path} is a directory")
    if path.exists() and not overwrite:
        raise UserError(f"output {path} exists; pass --overwrite to replace it")
    if not path.parent.exists():
        raise UserError(f"output folder {path.parent} does not exist")
    return path


def fsync_dir(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path, overwrite=True):
    """Yield a temporary path beside `path`; on success fsync it and rename it onto `path`.

    The temporary name keeps the suffix, so writers that infer the format from it (Pillow, h5py)
    work. On any exception (including KeyboardInterrupt) the temporary file is removed and `path`
    is left exactly as it was. ``os.replace`` is atomic on POSIX: a reader (or a ``kill -9``) sees
    either the old file or the new one, never a mix.
    """
    path = Path(path)
    if not overwrite:
        check_output_path(path, overwrite=False)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the permissions open() would
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def new_folder(path):
    """Create the folder `path` and its missing parents; if the block raises, remove those it created.

    For outputs that appear only when a command succeeds: a refused or failed run leaves no empty
    folder behind. A folder that something else filled meanwhile is kept.
    """
    path = Path(path)
    missing = [p for p in (path, *path.parents) if not p.exists()]  # deepest first
    path.mkdir(parents=True, exist_ok=True)
    try:
        yield path
    except BaseException:
        for p in missing:
            try:
                p.rmdir()
            except OSError:  # not empty (another process wrote there) or already gone
                break
        raise
