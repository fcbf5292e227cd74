"""Training patches cut once and shared by every run: a cache addressed by what the patches are made of.

A training run on images (``--train-dir``, T91, the offline photos) needs them cut into 33x33 / 21x21
patches, 95-134 MB for T91. Instead of each run writing its own copy into its ``--out``, the file
lives in one cache folder under a name that ends in its key, the sha256 of

- the sha256 of every image file, in the order they are cut (sorted by name),
- every parameter of the cutting: scale, input size, label size, stride, the downscaled copies,
- :data:`FORMAT`, the version of the cutting code (raised whenever what it produces changes),

so a run with the same images and parameters, in any run folder, finds the file and skips the
cutting, and a changed image or parameter can never pick up stale patches.

Where: ``train --cache-dir DIR``, else ``$NPSRCNN_CACHE``, else ``patches/`` in the user's cache
directory (platformdirs' ``user_cache_dir``: ``~/.cache/npsrcnn/patches`` on Linux), one folder for
every run from any working directory. ``npsrcnn cache`` lists it and clears it. Files are named ``patches-x3-33-21-s14-<first 16 hex digits of the key>.h5``
and written atomically (temporary file, fsync, rename): a reader, a concurrent run or a ``kill -9``
sees the whole file or none. Deleting the folder while no run trains from it is safe; it only costs
cutting again.
"""
import hashlib
import json
import os
from pathlib import Path

from ..util.errors import UserError
from ..util.files import new_folder

FORMAT = 1
PATTERN = "patches-*.h5"  # the files this module writes; the only ones it lists or deletes


def default_dir():
    """``patches/`` in the user's cache directory (``~/.cache/npsrcnn/patches`` on Linux)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("npsrcnn", appauthor=False)) / "patches"


def cache_dir(flag=None):
    """The cache folder: `flag` (``--cache-dir``), else ``$NPSRCNN_CACHE``, else :func:`default_dir`."""
    return Path(flag or os.environ.get("NPSRCNN_CACHE") or default_dir())


def cached_files(folder):
    """The patch files in `folder`, sorted by name (none if it does not exist)."""
    folder = Path(folder)
    return sorted(p for p in folder.glob(PATTERN) if p.is_file() and not p.is_symlink()) if folder.is_dir() else []


def cache_size(folder):
    """Bytes held by the patch files in `folder`."""
    return sum(p.stat().st_size for p in cached_files(folder))


def clear(folder):
    """Delete the patch files in `folder` (and our temporary files there); return (files, bytes) removed.

    Nothing else is touched: a file of another name stays, and so does the folder when it is not empty.
    """
    from ..util.files import remove_stale_temps

    files = cached_files(folder)
    size = sum(p.stat().st_size for p in files)
    for p in files:
        p.unlink()
    if Path(folder).is_dir():
        remove_stale_temps(folder)
        try:
            Path(folder).rmdir()
        except OSError:  # holds something that is not ours
            pass
    return len(files), size


def patch_key(files, scale, input_size, label_size, stride, factors=()):
    """sha256 (hex) of the images' checksums, in order, and every patch-cutting parameter."""
    from .sets import sha256_file

    doc = dict(format=FORMAT, images=[sha256_file(f) for f in files], scale=int(scale), input_size=int(input_size),
               label_size=int(label_size), stride=int(stride))
    if factors:  # absent when there are none, so the keys of caches cut before scale augmentation still hold
        doc["factors"] = [float(f) for f in factors]
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def cache_path(folder, key, scale, input_size, label_size, stride, factors=()):
    """Where the patches of `key` live in `folder` (the parameters in the name are for people)."""
    aug = f"-aug{len(factors)}" if factors else ""
    return Path(folder) / f"patches-x{scale}-{input_size}-{label_size}-s{stride}{aug}-{key[:16]}.h5"


def cached_patches(files, scale, input_size, label_size, stride, folder, factors=(), key=None, progress=False):
    """The patch file for `files` cut with these parameters: found in `folder`, or cut into it now.

    Parameters
    ----------
    files : list of paths, in cutting order
    scale, input_size, label_size, stride : int
    folder : path of the cache (created if missing; removed again if the cutting fails)
    factors : sequence of float, downscaled copies of each image also cut (:func:`npsrcnn.datasets.augment.scaled_copies`)
    key : str, optional, :func:`patch_key` of the same arguments when the caller has it already
    progress : bool, a progress bar over the images while cutting

    Returns
    -------
    path : Path of the patch file
    cut_now : bool, True if this call wrote it
    """
    from .patches import cut_patches, patch_attrs, read_info, write_patches

    key = key or patch_key(files, scale, input_size, label_size, stride, factors)
    path = cache_path(folder, key, scale, input_size, label_size, stride, factors)
    if path.is_file():
        try:
            if read_info(path)["attrs"].get("key") == key:
                return path, False
        except UserError:  # damaged since it was written: cut it again (the rename replaces it)
            pass
    with new_folder(folder):
        pairs = cut_patches(files, scale, input_size, label_size, stride, progress=progress, factors=factors)
        attrs = dict(patch_attrs(files, scale, input_size, label_size, stride, "train (patch cache)"), key=key,
                     factors=",".join(f"{f:g}" for f in factors) or "none")
        write_patches(path, pairs, input_size, label_size, attrs=attrs, overwrite=True)
    return path, True
