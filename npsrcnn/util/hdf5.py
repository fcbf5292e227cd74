"""Reading HDF5 files we did not necessarily write: plain files only, each dataset checked before it is read.

A plain file keeps its data in itself: no dataset with external raw storage (bytes of another file,
``/etc/passwd`` as weights), no virtual dataset (made of other files' datasets), no external link.
Soft links stay inside the file and are allowed. A dataset is read only after its dtype, its size
and its chunks are checked against the caller's limits and against the bytes the file stores.
"""
import contextlib

import h5py
import numpy as np

from .errors import UserError, shown
from .limits import MAX_CHUNK_BYTES, MAX_RATIO, no_memory


@contextlib.contextmanager
def open_plain(path, what="a readable HDF5 file"):
    """``h5py.File(path, "r")`` for a plain file (see the module docstring); UserError otherwise.

    `what` ends the message for a file that is not HDF5 at all: "<path>: not <what> (h5py's reason)".
    """
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise UserError(f"{shown(path)}: not {what} ({shown(exc)})") from None
    with f:
        try:
            check_plain(f, path)
            yield f
        except (OSError, RuntimeError, KeyError, ValueError, TypeError, SystemError) as exc:  # h5py's, damaged file
            raise UserError(f"{shown(path)}: damaged HDF5 file ({type(exc).__name__}: {shown(exc)})") from None


def check_plain(f, path):
    """UserError naming the first external (or user-defined) link, external-storage or virtual dataset in
    the open file `f`.

    The links are listed first (HDF5's own recursive visit, which does not follow soft or external
    links and visits a group once), then looked at one by one: h5py cannot raise from inside a visit,
    and a damaged file raises (OSError, RuntimeError, KeyError), which :func:`open_plain` turns into
    one line.
    """
    names = []
    f.id.links.visit(names.append)  # None from append: the visit goes on
    for raw in names:
        name = raw.decode("utf-8", "surrogateescape")
        kind = f.id.links.get_info(raw).type
        if kind not in (h5py.h5l.TYPE_HARD, h5py.h5l.TYPE_SOFT):
            lnk = f.get(name, getlink=True)
            target = f" to {shown(lnk.filename)}" if isinstance(lnk, h5py.ExternalLink) else ""
            raise UserError(f"{shown(path)}: '{shown(name)}' is a link{target}; refused, the HDF5 files npsrcnn "
                            "reads keep their data in themselves")
        obj = f.get(name) if kind == h5py.h5l.TYPE_HARD else None
        if isinstance(obj, h5py.Dataset) and (obj.is_virtual or obj.external):
            what = "a virtual dataset made of other files" if obj.is_virtual else "stored in another file"
            raise UserError(f"{shown(path)}: dataset '{shown(name)}' is {what}; refused, the HDF5 files npsrcnn "
                            "reads keep their data in themselves")


def check_dataset(ds, path, max_bytes=None, kinds="f"):
    """UserError unless `ds` holds numbers of a dtype kind in `kinds` ('f' float, 'i'/'u' integers),
    at most `max_bytes` of them (None: any number), in chunks of at most MAX_CHUNK_BYTES, and that
    the file really stores.

    A chunked, filtered dataset that declares more than MAX_RATIO times the bytes it stores (deflate
    cannot do better) is mostly chunks never written; an unfiltered one must store all its bytes.
    """
    name = shown(ds.name.lstrip("/"))
    if ds.shape is None:  # HDF5's null dataspace: no array at all
        raise UserError(f"{shown(path)}: dataset '{name}' is empty (no shape)")
    if ds.dtype.kind not in kinds or ds.dtype.itemsize > 8 or ds.dtype.fields is not None:
        raise UserError(f"{shown(path)}: dataset '{name}' holds {ds.dtype}, not {_KINDS.get(kinds, 'plain')} numbers")
    declared = ds.size * ds.dtype.itemsize
    if max_bytes is not None and declared > max_bytes:
        raise UserError(f"{shown(path)}: dataset '{name}' declares shape {ds.shape} ({declared:,} bytes), more than "
                        f"the {max_bytes:,} bytes such a file can hold; refused before reading")
    if ds.chunks is not None and np.prod(ds.chunks, dtype=np.int64) * ds.dtype.itemsize > MAX_CHUNK_BYTES:
        raise UserError(f"{shown(path)}: dataset '{name}' is stored in chunks of {ds.chunks}, more than "
                        f"{MAX_CHUNK_BYTES >> 20} MiB each; refused before reading")
    stored = ds.id.get_storage_size()
    ratio = MAX_RATIO if ds.chunks is not None and ds.id.get_create_plist().get_nfilters() else 1
    if declared > stored * ratio:
        raise UserError(f"{shown(path)}: dataset '{name}' declares {declared:,} bytes but the file stores "
                        f"{stored:,} for it (truncated, or never written)")


_KINDS = {"f": "floating-point", "iu": "integer", "fiu": "plain"}


def read_dataset(ds, path):
    """``ds[()]`` after :func:`check_dataset`: a read error or MemoryError becomes a UserError naming the file."""
    try:
        return ds[()]
    except MemoryError:
        raise no_memory(path, f"dataset '{shown(ds.name.lstrip('/'))}'") from None
    except (OSError, RuntimeError, ValueError) as exc:  # an unknown filter, a corrupt chunk
        raise UserError(f"{shown(path)}: cannot read dataset '{shown(ds.name.lstrip('/'))}' ({shown(exc)})") from None


def read_attrs(obj, path, max_bytes=1 << 20):
    """The attributes of `obj` as a dict, each checked to take at most `max_bytes` before it is read."""
    out = {}
    try:
        for name in obj.attrs:
            aid = obj.attrs.get_id(name)
            if aid.get_storage_size() > max_bytes:
                raise UserError(f"{shown(path)}: attribute '{shown(name)}' takes {aid.get_storage_size():,} bytes; "
                                f"refused (at most {max_bytes:,})")
            out[name] = obj.attrs[name]
    except MemoryError:
        raise no_memory(path, "its attributes") from None
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:  # h5py's, on a damaged file
        raise UserError(f"{shown(path)}: cannot read its attributes ({type(exc).__name__}: {shown(exc)})") from None
    return out
