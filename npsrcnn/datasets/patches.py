"""Training data as the authors made it: modcrop, bicubic degradation, 33x33 / 21x21 Y patches, HDF5.

The pipeline is the authors' ``generate_train.m`` (SRCNN_train), step for step:

1. Y of MATLAB ``rgb2ycbcr`` on the uint8 RGB image (grayscale passes through), ``im2double``: Y / 255;
2. ``modcrop`` to a multiple of the scale;
3. ``imresize`` down by 1/scale, then up to the cropped size (bicubic, MATLAB-exact);
4. slide a 33x33 window over the degraded image with stride 14 (0-based offsets 0, 14, 28, ...
   while the window fits); the label is the 21x21 centre of the same window on the sharp image,
   offset (33 - 21) / 2 = 6: what the network's three 'valid' convolutions see of the input.

Files hold ``data`` (N, 1, 33, 33) and ``label`` (N, 1, 21, 21), float32 in [0, 1], NCHW with H the
image rows (the authors' MATLAB-written files are transposed, which Caffe's reader cancels; ours are
not). They are written incrementally in chunks of 128 patches, so a set larger than memory can be
built, and read back by :func:`iter_batches` one chunk-sized block at a time in a seeded shuffled
order, with a shuffle buffer, so a set larger than memory can be streamed.
"""
import math
import sys
from pathlib import Path

import h5py
import numpy as np

from .. import __version__
from ..image.io import load_y
from ..util.errors import UserError, shown
from ..util.files import atomic_output
from ..util.hdf5 import check_dataset, open_plain, read_attrs
from ..util.limits import MAX_PATCH_SIDE, MAX_PIXELS, check_scale, no_memory

INPUT_SIZE = 33  # f_sub in the paper
LABEL_SIZE = 21  # 33 - 2 * 6, the 9-1-5 network's border
STRIDE = 14
CHUNK = 128  # patches per HDF5 chunk (the authors' chunksz) and per streamed block
IMAGE_SUFFIXES = (".bmp", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".ppm", ".pgm")


def list_images(folder):
    """Sorted image files (by suffix, case-insensitive) directly inside `folder`; UserError if none or no folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{shown(folder)}: no such directory")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UserError(f"{shown(folder)}: no images ({', '.join(IMAGE_SUFFIXES)}) found")
    return files


def modcrop(img, scale):
    """Crop the bottom and right so both sides are multiples of `scale` (the authors' modcrop.m).

    Parameters
    ----------
    img : ndarray, shape (H, W) or (H, W, C)
    scale : int

    Returns
    -------
    ndarray, shape (H - H % scale, W - W % scale[, C]), a view of img
    """
    H, W = img.shape[:2]
    return img[: H - H % scale, : W - W % scale]


def degrade(img, scale):
    """Bicubic down by 1/scale, then back up to the input size: the SRCNN network input.

    Parameters
    ----------
    img : ndarray, shape (H, W), float32 or float64 in [0, 1], H and W multiples of `scale`
        (use :func:`modcrop` first).
    scale : int

    Returns
    -------
    ndarray, shape (H, W), same dtype

    Notes
    -----
    im_b = imresize(imresize(img, 1/scale, 'bicubic'), scale, 'bicubic'), MATLAB-exact (with
    antialiasing on the way down, as MATLAB does). Each result is kept in img's dtype, as MATLAB
    keeps a single image single.
    """
    from ..interp.resize import imresize

    H, W = img.shape[:2]
    if H % scale or W % scale:
        raise ValueError(f"image {img.shape} is not a multiple of scale {scale}; modcrop it first")
    low = np.asarray(imresize(img, scale=1 / scale), dtype=img.dtype)
    return np.asarray(imresize(low, output_shape=(H, W)), dtype=img.dtype)


def label_size_for(input_size, border):
    """Label side for a network that loses `border` pixels on each side in 'valid' mode (6 for 9-1-5)."""
    return input_size - 2 * border


def patch_grid(H, W, input_size=INPUT_SIZE, stride=STRIDE):
    """Top-left corners (rows, cols) of the input windows, as generate_train.m's ``1:stride:H-size+1``."""
    return np.arange(0, H - input_size + 1, stride), np.arange(0, W - input_size + 1, stride)


def extract_patches(y, scale, input_size=INPUT_SIZE, label_size=LABEL_SIZE, stride=STRIDE):
    """Input/label patch pairs from one image's luminance, as the authors' generate_train.m.

    Parameters
    ----------
    y : ndarray, shape (H, W), uint8 (Y of rgb2ycbcr, or a grayscale image)
    scale : int
    input_size, label_size, stride : int
        33, 21 and 14 in the paper; input_size - label_size must be even.

    Returns
    -------
    data : ndarray, shape (N, 1, input_size, input_size), float32 in [0, 1]
    label : ndarray, shape (N, 1, label_size, label_size), float32 in [0, 1]
        N = len(rows) * len(cols) of :func:`patch_grid` on the modcropped image (row-major order).

    Notes
    -----
    data[n] = degrade(Y/255)[r:r+33, c:c+33], label[n] = (Y/255)[r+6:r+27, c+6:c+27]. The image is
    processed in float64 (MATLAB's im2double) and the patches are stored in float32.
    """
    if y.ndim != 2 or y.dtype != np.uint8:
        raise ValueError(f"expected an (H, W) uint8 luminance image, got {y.dtype} {y.shape}")
    if label_size > input_size or (input_size - label_size) % 2:
        raise ValueError(f"input size {input_size} - label size {label_size} must be even and >= 0")
    hr = modcrop(y, scale).astype(np.float64) / 255  # im2double
    H, W = hr.shape
    if H < input_size or W < input_size:
        raise ValueError(f"image is {H}x{W} after modcrop, smaller than one {input_size}x{input_size} patch")
    lr = degrade(hr, scale)
    rows, cols = patch_grid(H, W, input_size, stride)
    pad = (input_size - label_size) // 2
    data = _windows(lr, rows, cols, input_size)
    label = _windows(hr[pad:, pad:], rows, cols, label_size)
    return data, label


def _windows(img, rows, cols, size):
    """Stack img[r:r+size, c:c+size] for r in rows, c in cols (row-major): (N, 1, size, size) float32."""
    view = np.lib.stride_tricks.sliding_window_view(img, (size, size))  # Ho, Wo, size, size
    out = view[rows][:, cols].reshape(-1, 1, size, size)  # N, 1, size, size
    return out.astype(np.float32)


class PatchWriter:
    """Append patch pairs to a new HDF5 file in resizable, chunked ``data`` / ``label`` datasets.

    Use as a context manager on a path you own (e.g. the temporary path of ``atomic_output``);
    :func:`write_patches` wraps both. Attributes given in `attrs` are stored on the file.
    """

    def __init__(self, path, input_size=INPUT_SIZE, label_size=LABEL_SIZE, attrs=None, chunk=CHUNK):
        self.path = Path(path)
        self.input_size, self.label_size, self.chunk = input_size, label_size, chunk
        self.attrs = dict(attrs or {})
        self.count = 0
        self._file = None

    def __enter__(self):
        f = self._file = h5py.File(self.path, "w")
        s, t, c = self.input_size, self.label_size, self.chunk
        self._data = f.create_dataset("data", (0, 1, s, s), np.float32, maxshape=(None, 1, s, s), chunks=(c, 1, s, s))
        self._label = f.create_dataset("label", (0, 1, t, t), np.float32, maxshape=(None, 1, t, t), chunks=(c, 1, t, t))
        for k, v in self.attrs.items():
            f.attrs[k] = v
        return self

    def append(self, data, label):
        """Append (N, 1, s, s) inputs and (N, 1, t, t) labels."""
        n = len(data)
        if len(label) != n:
            raise ValueError(f"{n} inputs but {len(label)} labels")
        self._data.resize(self.count + n, axis=0)
        self._label.resize(self.count + n, axis=0)
        self._data[self.count:] = data
        self._label[self.count:] = label
        self.count += n

    def __exit__(self, *exc):
        self._file.attrs["count"] = self.count
        self._file.close()
        return False


def write_patches(path, pairs, input_size=INPUT_SIZE, label_size=LABEL_SIZE, attrs=None, overwrite=False):
    """Write an iterable of (data, label) arrays to `path` atomically; returns the patch count.

    Nothing appears at `path` unless every pair was written (see ``npsrcnn.util.files.atomic_output``).
    Patches larger than :func:`read_info` reads (MAX_PATCH_SIDE) are refused before `pairs` is consumed.
    """
    if input_size > MAX_PATCH_SIDE:
        raise UserError(f"{input_size}x{input_size} patches: npsrcnn reads patches of at most {MAX_PATCH_SIDE}x"
                        f"{MAX_PATCH_SIDE} (the paper's are 33x33)")
    with atomic_output(path, overwrite=overwrite) as tmp:
        with PatchWriter(tmp, input_size, label_size, attrs) as w:
            for data, label in pairs:
                w.append(data, label)
    return w.count


def read_info(path):
    """Validate a patch file from its metadata and return its layout: n, input_size, label_size, chunk, attrs.

    Nothing is read but shapes, dtypes, chunks and attributes, all checked before :func:`iter_batches`
    reads a patch: a file of a few kilobytes cannot make training allocate gigabytes.

    Raises
    ------
    UserError
        Missing file, not HDF5, not plain (:func:`npsrcnn.util.hdf5.open_plain`), no ``data`` /
        ``label``, shapes that are not (N, 1, s, s) / (N, 1, t, t) with the same N > 0 and t <= s <=
        MAX_PATCH_SIDE, not float, chunks over MAX_CHUNK_BYTES, more patches declared than the file
        stores, or a ``scale`` attribute that is not a whole number (attrs["scale"] is an int).
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{shown(path)}: no such file")
    with open_plain(path, "an HDF5 file") as f:
        for name in ("data", "label"):
            if not isinstance(f.get(name), h5py.Dataset):
                raise UserError(f"{shown(path)}: no '{name}' dataset (expected 'data' (N, 1, s, s) and 'label' "
                                "(N, 1, t, t))")
        d, l = f["data"], f["label"]
        ok = (
            d.ndim == 4 and l.ndim == 4 and d.shape[1] == 1 and l.shape[1] == 1
            and d.shape[2] == d.shape[3] and l.shape[2] == l.shape[3]
            and l.shape[2] <= d.shape[2] and (d.shape[2] - l.shape[2]) % 2 == 0
        )
        if not ok:
            raise UserError(
                f"{shown(path)}: 'data' {d.shape} and 'label' {l.shape} are not (N, 1, s, s) and (N, 1, t, t) "
                "with t <= s"
            )
        if d.shape[2] > MAX_PATCH_SIDE:
            raise UserError(f"{shown(path)}: {d.shape[2]}x{d.shape[2]} patches: npsrcnn reads patches of at most "
                            f"{MAX_PATCH_SIDE}x{MAX_PATCH_SIDE} (the paper's are 33x33)")
        if d.shape[0] != l.shape[0]:
            raise UserError(f"{shown(path)}: 'data' has {d.shape[0]} patches but 'label' has {l.shape[0]}")
        if d.shape[0] == 0:
            raise UserError(f"{shown(path)}: holds no patches")
        if not (np.issubdtype(d.dtype, np.floating) and np.issubdtype(l.dtype, np.floating)):
            raise UserError(f"{shown(path)}: 'data' and 'label' must be float, got {d.dtype} and {l.dtype}")
        for ds in (d, l):
            check_dataset(ds, path)
        chunk = d.chunks[0] if d.chunks else CHUNK
        attrs = read_attrs(f, path)
        if "scale" in attrs:
            attrs["scale"] = check_scale(attrs["scale"], path)
        return dict(n=d.shape[0], input_size=d.shape[2], label_size=l.shape[2], chunk=chunk, attrs=attrs)


def iter_batches(path, batch_size, seed=0, shuffle=True, buffer_size=16384, drop_last=False,
                 in_memory_bytes=256 << 20):
    """Yield (data, label) mini-batches from a patch file, shuffled with a seeded RNG, streaming.

    Parameters
    ----------
    path : str or Path
        A file from :func:`write_patches` (or any with the same ``data`` / ``label`` layout), checked
        by :func:`read_info` first.
    batch_size : int
    seed : int
        Seeds the block order and the in-buffer shuffle; pass a different seed per epoch.
    shuffle : bool
        False reads in file order (deterministic validation passes).
    buffer_size : int
        Patches held in memory at once: blocks of `chunk` patches are read in a shuffled order until
        the buffer holds about this many (and at most MAX_PIXELS pixels), shuffled together, and
        served as batches.
    drop_last : bool
        Drop a final batch smaller than batch_size.
    in_memory_bytes : int
        Files smaller than this are read whole and permuted globally (an exact shuffle).

    Yields
    ------
    data : ndarray, shape (B, 1, s, s), float32
    label : ndarray, shape (B, 1, t, t), float32

    Raises
    ------
    UserError
        As :func:`read_info`; and, when a block is read, NaN or infinite values in it (naming the
        patches), a read error, or not enough memory for the buffer.
    """
    info = read_info(path)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    n, chunk = info["n"], info["chunk"]
    rng = np.random.default_rng(seed)
    pixels = info["input_size"] ** 2 + info["label_size"] ** 2  # per patch pair
    if n * 4 * pixels <= in_memory_bytes:  # small: one read, an exact global permutation
        size, per_buffer = n, 1
    else:
        size = chunk
        per_buffer = max(1, min(math.ceil(buffer_size / chunk), MAX_PIXELS // (chunk * pixels)))
    n_blocks = math.ceil(n / size)
    order = rng.permutation(n_blocks) if shuffle else np.arange(n_blocks)  # block indices, not a list of pairs
    with open_plain(path, "an HDF5 file") as f:
        dset, lset = f["data"], f["label"]
        rest_d = rest_l = None  # a partial batch carried into the next buffer
        for b0 in range(0, n_blocks, per_buffer):
            group = [(i * size, min(i * size + size, n)) for i in order[b0:b0 + per_buffer]]
            d, l = _read_blocks(path, dset, lset, group)
            if shuffle:
                perm = rng.permutation(len(d))
                d, l = d[perm], l[perm]
            if rest_d is not None:
                d, l = np.concatenate([rest_d, d]), np.concatenate([rest_l, l])
            full = len(d) - len(d) % batch_size
            for i in range(0, full, batch_size):
                yield d[i:i + batch_size], l[i:i + batch_size]
            rest_d, rest_l = (d[full:], l[full:]) if full < len(d) else (None, None)
        if rest_d is not None and not drop_last:
            yield rest_d, rest_l


def _read_blocks(path, dset, lset, blocks):
    """data and label of patches [s, e) for each (s, e) in `blocks`, concatenated as float32, each
    block checked finite as it is read; UserError for NaN or inf, a read error, or MemoryError."""
    try:
        ds, ls = [], []
        for s, e in blocks:
            d, l = dset[s:e], lset[s:e]
            if not (np.isfinite(d).all() and np.isfinite(l).all()):
                raise UserError(f"{shown(path)}: patches {s} to {e - 1} hold NaN or infinite values; the file is "
                                "damaged: cut the patches again (npsrcnn prepare)")
            ds.append(d)
            ls.append(l)
        return (np.concatenate(ds).astype(np.float32, copy=False), np.concatenate(ls).astype(np.float32, copy=False))
    except MemoryError:
        raise no_memory(path, f"a buffer of {len(blocks)} blocks of patches") from None
    except (OSError, RuntimeError, ValueError) as exc:  # a corrupt chunk, an unknown filter
        raise UserError(f"{shown(path)}: cannot read patches ({type(exc).__name__}: {shown(exc)})") from None


def cut_patches(files, scale, input_size, label_size, stride, progress=False, factors=()):
    """Yield (data, label) patch arrays image by image, as :func:`npsrcnn.datasets.patches.extract_patches`.

    With `factors`, each image is followed by its copies downscaled by those factors
    (:func:`npsrcnn.datasets.augment.scaled_copies`); a copy smaller than one patch is skipped. UserError names
    the first image that is not 8-bit or is itself smaller than one patch after modcrop. `progress`
    shows a tqdm bar over the images on stderr.
    """
    from .augment import scaled_copies

    if progress:
        from tqdm import tqdm

        files = tqdm(files, desc="patches", unit="img", file=sys.stderr, leave=False)
    for path in files:
        y = load_y(path)
        H, W = modcrop(y, scale).shape
        if H < input_size or W < input_size:
            raise UserError(f"{shown(path)}: {H}x{W} after modcrop to scale {scale}, smaller than one"
                            f" {input_size}x{input_size} patch")
        for copy in scaled_copies(y, factors):
            if min(modcrop(copy, scale).shape) >= input_size:
                yield extract_patches(copy, scale, input_size, label_size, stride)


def patch_attrs(files, scale, input_size, label_size, stride, command):
    """The attributes every patch file records: how it was cut, from which images, by what."""
    return dict(
        scale=scale, input_size=input_size, label_size=label_size, stride=stride, images=len(files),
        files="\n".join(Path(p).name for p in files), generator=f"npsrcnn {__version__} {command}",
        layout="NCHW float32 in [0, 1]: Y of MATLAB rgb2ycbcr / 255; data = bicubic down+up, label = centre crop",
    )
