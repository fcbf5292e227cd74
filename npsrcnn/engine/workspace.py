"""How the engine bounds memory: a :class:`Workspace` of reused buffers, and chunks of images or rows.

A convolution's scratch matrix (im2col's columns, the taps' products) grows with the batch and the
image. :func:`chunks` splits the work so that no such buffer exceeds ``CHUNK_BYTES``, and the
Workspace hands the same buffers back on the next call, so a training step allocates nothing.
"""
import threading
import weakref

import numpy as np

# Largest im2col (or tap-product) buffer one conv call fills at a time. A batch or an image whose buffer
# would be larger is processed in chunks of images or of output rows; 32 MB keeps a 4000-pixel-wide
# 9-5-5 image (1,600 im2col rows) at a few output rows per GEMM and training batches in one or a few.
CHUNK_BYTES = 32 << 20


class Workspace:
    """Named scratch buffers reused from one call to the next (no allocation or page faults per step).

    Not thread-safe: one workspace per model and purpose. Arrays returned by :meth:`get` are
    overwritten by the next call that asks for the same name.
    """

    def __init__(self):
        self._bufs = {}

    def get(self, name, shape, dtype, zero=False):
        """Return a C-contiguous buffer `name` of `shape` and `dtype` (zero-filled if `zero`)."""
        shape = tuple(int(s) for s in shape)
        size = int(np.prod(shape))
        buf = self._bufs.get(name)
        if buf is None or buf.dtype != dtype or buf.size < size:
            self._bufs.pop(name, None)  # let the old buffer go before the new one exists (peak memory)
            buf = None
            buf = self._bufs[name] = np.empty(size, dtype)
        arr = buf[:size].reshape(shape)
        if zero:
            arr.fill(0)
        return arr

    def nbytes(self):
        return sum(b.nbytes for b in self._bufs.values())


def chunks(N, Ho, row_bytes, chunk_bytes, halo=0):
    """Split N images of Ho output rows into (n0, nb, r0, nr) blocks whose buffer fits `chunk_bytes`.

    Whole images when one fits (``nb`` images at a time), else runs of rows within one image. The
    buffer holds ``row_bytes`` per output row plus `halo` extra rows (taps: the input rows around).
    """
    if (Ho + halo) * row_bytes <= chunk_bytes:
        nb = max(1, min(N, chunk_bytes // ((Ho + halo) * row_bytes)))
        return [(n0, min(nb, N - n0), 0, Ho) for n0 in range(0, N, nb)]
    nr = max(1, chunk_bytes // row_bytes - halo)
    return [(n, 1, r0, min(nr, Ho - r0)) for n in range(N) for r0 in range(0, Ho, nr)]


def input_rows(r0, nr, pt, KH, H):
    """Input rows [ia, ib) that output rows r0 .. r0+nr-1 read (clipped to the image)."""
    return max(r0 - pt, 0), min(r0 + nr - 1 - pt + KH, H)


def block(a, n0, nb, r0, nr):
    """View of images n0.. and rows r0.. of a channel-major array as a (C, nb*nr*W) matrix (no copy)."""
    C, N, H, W = a.shape
    v = a[:, n0 : n0 + nb, r0 : r0 + nr].reshape(C, -1)
    if v.__array_interface__["data"] != a[:, n0:, r0:].__array_interface__["data"]:  # reshape copied
        raise AssertionError("a block must be whole images or rows of one image")
    return v


class Spares:
    """Things kept for reuse, at most `limit` per key and for the `keys` keys given most recently (a
    process that works on ever new shapes keeps a bounded amount); thread-safe (workers return them)."""

    def __init__(self, limit, keys=16):
        self.limit, self.keys, self._items, self._lock = limit, keys, {}, threading.Lock()

    def take(self, key):
        """One thing kept under `key`, or None."""
        with self._lock:
            items = self._items.get(key)
            return items.pop() if items else None

    def give(self, key, item):
        with self._lock:
            items = self._items.pop(key, [])  # re-inserted last: the dict's order is the keys' recency
            if len(items) < self.limit:
                items.append(item)
            self._items[key] = items
            while len(self._items) > self.keys:
                del self._items[next(iter(self._items))]

    def clear(self, nbytes):
        """Drop everything kept; returns the sum of ``nbytes(item)``."""
        with self._lock:
            freed = sum(nbytes(i) for items in self._items.values() for i in items)
            self._items.clear()
        return freed


# The outputs (and dX) are the caller's, but their memory need not be new: a fresh 20 MB array is
# page-faulted in (and zeroed by the kernel) on first write, at every step. lent_empty() gives an
# array whose memory belongs to a small owner object; every view made from it keeps the owner
# alive, and when the last one is gone the memory waits here for the next array of the same size.
# Small arrays come from np.empty: malloc reuses their memory without page faults.
_spare_memory = Spares(8)  # kept per size
LEND_MIN_BYTES = 1 << 20


class _Lent:
    """Owner of memory lent to an array (NumPy's array interface; the array's ``base``)."""

    def __init__(self, buf, shape, dtype):
        self.buf = buf
        self.__array_interface__ = dict(shape=shape, typestr=np.dtype(dtype).str, version=3,
                                        data=(buf.__array_interface__["data"][0], False))


def lent_empty(shape, dtype):
    """``np.empty(shape, dtype)`` in memory that an earlier, dropped array of the same size used."""
    shape = tuple(int(s) for s in shape)
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if nbytes < LEND_MIN_BYTES:
        return np.empty(shape, dtype)
    buf = _spare_memory.take(nbytes)
    if buf is None:
        buf = np.empty(nbytes, np.uint8)
    owner = _Lent(buf, shape, dtype)
    weakref.finalize(owner, _spare_memory.give, nbytes, buf)
    return np.asarray(owner)


def release_memory():
    """Free the memory kept from dropped arrays of :func:`lent_empty` (returns its bytes)."""
    return _spare_memory.clear(lambda b: b.nbytes)
