"""What every npsrcnn command shares: one-line errors with exit code 2, and atomic writes.

A command is ``main(argv, prog) -> int`` decorated with :func:`command`, which makes it
``main(argv=None, prog=...)``. ``prog`` is how the user called it: ``python -m npsrcnn.train`` (the
default, what the module's ``__main__`` block runs) or ``npsrcnn train`` (what the ``npsrcnn``
dispatcher passes); usage lines and error prefixes name it. Bad input raises
:class:`UserError`; the decorator prints ``prog: error: message`` on stderr and returns 2, never a
traceback. Files are written through :func:`atomic_output`, so an interrupted write never leaves a
half-written file where the user's file was, and an existing file is never replaced without
``--overwrite``.
"""
import argparse
import contextlib
import functools
import os
import sys
import tempfile
from pathlib import Path


class UserError(Exception):
    """Bad input from the user (missing file, wrong shape, ...): one line on stderr, exit code 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2 (no usage dump)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def command(default_prog):
    """Decorate ``main(argv, prog)``: UserError, OSError from user paths and Ctrl-C become exit codes."""

    def wrap(main):
        @functools.wraps(main)
        def run(argv=None, prog=default_prog):
            try:
                return main(argv, prog) or 0
            except UserError as exc:
                print(f"{prog}: error: {exc}", file=sys.stderr)
                return 2
            except OSError as exc:  # a path of the user's that cannot be read or written
                where = f"{exc.filename}: " if exc.filename else ""
                print(f"{prog}: error: {where}{exc.strerror or exc}", file=sys.stderr)
                return 2
            except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
                return exc.code if isinstance(exc.code, int) else 2
            except KeyboardInterrupt:
                print(f"{prog}: interrupted", file=sys.stderr)
                return 130

        return run

    return wrap


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


def _fsync_dir(folder):
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
        _fsync_dir(path.parent)
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


def set_threads(n):
    """Use `n` threads in Numba kernels and in BLAS (NumPy's GEMM), for reproducible timings.

    Environment variables only take effect before NumPy loads its BLAS, so they are set for child
    processes and, if NumPy is already imported, threadpoolctl resizes the pool. With n > 1 the
    engine gives whole sub-batches and strips to n worker threads (npsrcnn.engine.parallel).
    """
    for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    if "numpy" in sys.modules:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    from . import _jit  # noqa: F401  sets OMP_WAIT_POLICY=PASSIVE before the next line starts OpenMP's threads

    import numba

    # set_num_threads launches Numba's thread pool. Started before _jit set the wait policy, idle OpenMP
    # threads spin and steal the cores from OpenBLAS: `train --threads 2` ran the 9-1-5 step at 228 ms
    # instead of 37 ms (2 cores; tests/test_threads.py checks the order).
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
