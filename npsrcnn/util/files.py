"""Writing files safely: outputs checked before any work, atomic writes, folders removed on failure.

Every output is checked before the work that makes it (:func:`check_output_path`,
:func:`check_writable_folder`): its folder exists and takes a new file, and an existing file is
never replaced without ``--overwrite``, nor one that is not a regular file (a symlink, a device, a
FIFO) even with it. Files are then written through :func:`atomic_output`: a temporary file beside the
target, fsynced and renamed onto it, so an interrupted write never leaves a half-written file where
the user's file was. Temporary names carry :data:`TEMP_MARK`, which only we write, so cleaning up
after a ``kill -9`` (:func:`remove_stale_temps`) can never delete a file of the user's.
"""
import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

from .errors import UserError

TEMP_MARK = ".npsrcnn-tmp-"  # in every temporary file name we make: ".<name>.npsrcnn-tmp-<random><suffix>"


def _regular_or_absent(path):
    """UserError if `path` exists as anything but a regular file (checked without following links)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        raise UserError(f"output {path} is a directory")
    if not stat.S_ISREG(st.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a regular file"
        raise UserError(f"output {path} is {kind}; refusing to replace it (remove it, or choose another name)")


def check_writable_folder(folder, what="output folder"):
    """UserError unless `folder` exists and a new file can be created in it (tried, then removed).

    Permission bits do not tell (root, read-only mounts, ACLs), so this creates and removes one of our
    temporary files: the same operation :func:`atomic_output` will do later.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{what} {folder} does not exist" if not folder.exists() else f"{what} {folder} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".probe{TEMP_MARK}", dir=folder)
    except OSError as exc:
        raise UserError(f"{what} {folder} is not writable ({exc.strerror})") from None
    os.close(fd)
    os.unlink(probe)
    return folder


def check_can_create(folder, what="output folder"):
    """UserError unless `folder` exists and is writable, or its nearest existing parent is (it can be made)."""
    folder = Path(folder)
    existing = next(p for p in (folder, *folder.parents) if os.path.lexists(p) or p == p.parent)
    if existing != folder and not existing.is_dir():
        raise UserError(f"{what} {folder}: {existing} is not a folder")
    check_writable_folder(existing, what if existing == folder else f"{what} {folder}: its parent")
    return folder


def check_output_path(path, overwrite=False):
    """Raise UserError unless `path` may be written: its folder exists and takes a new file, and `path`
    is new, or a regular file and `overwrite`."""
    path = Path(path)
    _regular_or_absent(path)
    if os.path.lexists(path) and not overwrite:
        raise UserError(f"output {path} exists; pass --overwrite to replace it")
    check_writable_folder(path.parent)
    return path


def remove_stale_temps(folder):
    """Delete the temporary files we left in `folder` (a ``kill -9`` during a write); nothing else."""
    for stale in Path(folder).glob(f".*{TEMP_MARK}*"):
        if stale.is_file() and not stale.is_symlink():
            stale.unlink()


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
    either the old file or the new one, never a mix. Without `overwrite` the file is linked into
    place only if nothing appeared there meanwhile (another run writing the same output); with it,
    only a regular file is replaced. Errors name `path`, never the temporary file.
    """
    path = Path(path)
    if not overwrite:
        check_output_path(path, overwrite=False)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TEMP_MARK}", suffix=path.suffix, dir=path.parent)
    except OSError as exc:
        raise _write_error(path, exc) from None
    os.close(fd)
    tmp = Path(tmp)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the permissions open() would
    try:
        try:
            yield tmp
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            _place(tmp, path, overwrite)
        except (OSError, RuntimeError) as exc:  # h5py reports a failed flush on close as a RuntimeError
            if isinstance(exc, RuntimeError) and not _disk_full(exc):
                raise
            if getattr(exc, "filename", None) is None or str(exc.filename) == str(tmp):  # the user's name, not ours
                raise _write_error(path, exc) from None
            raise
        fsync_dir(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_hdf5(path, overwrite=True):
    """Yield an HDF5 file (h5py) built in memory; on success write its bytes to `path` atomically.

    For small files (weights, checkpoints): HDF5 itself never writes to the disk, so a full disk is an
    ordinary OSError from Python's write, and no h5py object is left half-closed (which, with the
    disk full, can fill stderr with tracebacks and crash the interpreter at exit).
    """
    import io

    import h5py

    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        yield f
    with atomic_output(path, overwrite=overwrite) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(buf.getbuffer())


def _disk_full(exc):
    return getattr(exc, "errno", None) == errno.ENOSPC or "No space left on device" in str(exc)


def _write_error(path, exc):
    """The UserError for a failed write of `path`: out of space said plainly (h5py's message for it is
    many lines), marked ``disk_full`` so that the command exits without tearing down h5py's objects."""
    if _disk_full(exc):
        err = UserError(f"cannot write {path}: no space left on device; free some space and rerun "
                        "(nothing was replaced)")
        err.disk_full = True
        return err
    return UserError(f"cannot write {path}: {str(getattr(exc, 'strerror', None) or exc).splitlines()[0]}")


def _place(tmp, path, overwrite):
    if overwrite:
        _regular_or_absent(path)
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # fails if `path` appeared since the check: never clobber it
    except FileExistsError:
        raise UserError(f"output {path} appeared while this command ran; pass --overwrite to replace it") from None
    except OSError:  # a filesystem without hard links: check once more, then rename
        if os.path.lexists(path):
            raise UserError(f"output {path} appeared while this command ran; pass --overwrite to replace it") from None
        os.replace(tmp, path)


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


def human(n):
    """A size in bytes as people read it: 317.2 MB (powers of 1000, as ``du --si``)."""
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
