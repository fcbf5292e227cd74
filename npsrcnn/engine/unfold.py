"""im2col and col2im: the hand-written half of the engine's convolution (the other half is BLAS).

Every kernel has a readable NumPy twin (``*_reference``) right below it; tests assert they agree. The
lesson's NCHW ``im2col`` (:mod:`npsrcnn.lesson.conv`) is the same unfolding without the offsets,
clamping and chunks that this one needs.

Layout. Kernels work on *channel-major* arrays ``(C, N, H, W)``, not NCHW: then a layer's activations
are already the ``(C, N*H*W)`` matrix that the GEMM wants, with the long dimension N*H*W contiguous, and
no transpose is ever needed between layers. For SRCNN's input (C = 1) and output (F = 1) the two
layouts are the same bytes. :func:`npsrcnn.engine.conv.conv2d_forward` converts NCHW at the edge.

Indexing convention shared by all kernels here and in :mod:`npsrcnn.engine.taps` (stride 1,
cross-correlation as in PyTorch's conv2d): output pixel ``(i, j)`` with tap ``(kh, kw)`` reads input
pixel ``(row_off + i + kh, col_off + j + kw)``. ``row_off = -pad_top`` for a whole image; a strip or
chunk of output rows starting at ``r0`` uses ``row_off = r0 - pad_top``. An input index outside
``[0, H)`` x ``[0, W)`` reads 0 (zero padding) or is clamped to the nearest edge pixel (``replicate``,
as MATLAB's ``imfilter(..., 'replicate')``). 'valid' is zero padding with offsets that never leave
the image.

How :mod:`npsrcnn.engine.conv` uses them (``K = KH*KW`` taps):

- forward: ``cols = im2col(x)`` (C*K, N*Ho*Wo), then ``out = W (F, C*K) @ cols``.
- backward, dW: ``dout (F, N*Ho*Wo) @ cols.T``, reusing the forward's columns.
- backward, dX for valid or zero padding: a 'full' correlation of dout with the flipped,
  channel-swapped kernels: ``im2col(dout)`` with offsets ``pad - (K - 1)`` (F*K rows; out-of-range
  reads are zero) and one GEMM ``Wflip (C, F*K) @ that`` straight into dx. No col2im.
- backward, dX for replicate padding (and for row chunks of one image): ``dcols = W.T @ dout`` then
  ``col2im(dcols)``, the adjoint of im2col, which adds the gradient of every clamped read onto the edge
  pixel it copied.
"""
import numpy as np
from numba import prange

from ..util.jit import njit, njit_parallel

# ----------------------------------------------------------------------------------------------- helpers


@njit
def _src(p, n, replicate):
    """Index of the input pixel read for index `p` on an axis of length `n`; -1 means 'reads zero'."""
    if p < 0:
        return 0 if replicate else -1
    if p >= n:
        return n - 1 if replicate else -1
    return p


@njit
def _inside(off, W, Wo):
    """The output columns [j0, j1) of a row of Wo whose source column off + j lies in a row of W pixels."""
    j0 = min(max(-off, 0), Wo)
    return j0, max(min(W - off, Wo), j0)


@njit
def _add_row(dst, src, off, j0, j1, replicate):
    """dst[off + j] += src[j] for j in [j0, j1) (the columns that land inside the row); with
    replicate, the columns before j0 and from j1 on land on the row's first and last pixel."""
    dst_mid, src_mid = dst[off + j0 :], src[j0:]
    for j in range(j1 - j0):
        dst_mid[j] += src_mid[j]
    if replicate:
        last = len(dst) - 1
        for j in range(j0):
            dst[0] += src[j]
        for j in range(j1, len(src)):
            dst[last] += src[j]


def _src_reference(p, n, replicate):
    """NumPy version of :func:`_src` for an index array `p`."""
    if replicate:
        return np.clip(p, 0, n - 1)
    return np.where((p >= 0) & (p < n), p, -1)


# ------------------------------------------------------------------------------------------------ im2col


@njit_parallel
def _im2col_kernel(x, KH, KW, n0, row_off, col_off, replicate, cols):
    # x: C, N, H, W    cols: C*KH*KW, Nb, Ho, Wo   (images n0 .. n0+Nb-1 of x)
    C, N, H, W = x.shape
    _, Nb, Ho, Wo = cols.shape
    xf, cf = x.reshape(-1), cols.reshape(-1)
    for r in prange(C * KH * KW):  # one row of cols per (c, kh, kw): independent outputs
        c = r // (KH * KW)
        kh = (r // KW) % KH
        kw = r % KW
        off = col_off + kw
        j0, j1 = _inside(off, W, Wo)  # output columns [j0, j1) read inside the image
        for n in range(Nb):
            for i in range(Ho):
                dst = cf[((r * Nb + n) * Ho + i) * Wo :]
                y = _src(row_off + i + kh, H, replicate)
                if y < 0:
                    for j in range(Wo):
                        dst[j] = 0
                    continue
                src = xf[((c * N + n0 + n) * H + y) * W :]
                # flat views indexed by the range variable: Numba then knows the index is >= 0,
                # drops its negative-index wraparound and vectorises the copy (1.8x the 4-D indexing)
                mid, src_mid = dst[j0:], src[off + j0 :]
                for j in range(j1 - j0):
                    mid[j] = src_mid[j]
                left = src[0] if replicate else 0
                right = src[W - 1] if replicate else 0
                for j in range(j0):
                    dst[j] = left
                for j in range(j1, Wo):
                    dst[j] = right


def im2col_reference(x, KH, KW, Ho, Wo, row_off, col_off, replicate):
    """Readable twin of :func:`_im2col_kernel` (all images): fancy indexing with clamped indices.

    Returns cols, shape (C*KH*KW, N, Ho, Wo).
    """
    C, N, H, W = x.shape
    cols = np.zeros((C, KH, KW, N, Ho, Wo), x.dtype)
    for kh in range(KH):
        ys = _src_reference(row_off + np.arange(Ho) + kh, H, replicate)  # Ho
        for kw in range(KW):
            xs = _src_reference(col_off + np.arange(Wo) + kw, W, replicate)  # Wo
            ok = (ys[:, None] >= 0) & (xs[None, :] >= 0)  # Ho, Wo
            patch = x[:, :, ys[:, None], xs[None, :]]  # C, N, Ho, Wo
            cols[:, kh, kw] = np.where(ok, patch, 0)
    return cols.reshape(C * KH * KW, N, Ho, Wo)


def im2col(x, KH, KW, Ho, Wo, row_off, col_off, replicate, n0=0, Nb=None, out=None):
    """Unfold the KH x KW neighbourhoods of images ``n0 .. n0+Nb-1`` of `x` into columns.

    Parameters
    ----------
    x : ndarray, shape (C, N, H, W), float32 or float64, C-contiguous (channel-major)
    KH, KW, Ho, Wo : int
        Kernel size and the size of the output grid (all of it, or one chunk of rows).
    row_off, col_off : int
        Input row/column read by output pixel (0, 0) and tap (0, 0); ``-pad`` for a whole image.
    replicate : bool
        Out-of-image reads clamp to the edge (True) or read zero (False).
    out : ndarray, shape (C*KH*KW, Nb, Ho, Wo), optional
        Buffer to fill (reused across calls to avoid allocation).

    Returns
    -------
    cols : ndarray, shape (C*KH*KW, Nb, Ho, Wo)

    Notes
    -----
    ``cols[(c*KH + kh)*KW + kw, n, i, j] = x[c, n0+n, row_off+i+kh, col_off+j+kw]``, so that
    ``w.reshape(F, -1) @ cols.reshape(C*KH*KW, -1)`` is the cross-correlation.
    """
    x = np.ascontiguousarray(x)  # the kernels index flat views (a no-op for the engine's arrays)
    C, N, H, W = x.shape
    Nb = N - n0 if Nb is None else Nb
    shape = (C * KH * KW, Nb, Ho, Wo)
    cols = np.empty(shape, x.dtype) if out is None else out
    _check(cols, shape, x.dtype, "cols")
    _im2col_kernel(x, KH, KW, n0, row_off, col_off, bool(replicate), cols)
    return cols


# ------------------------------------------------------------------------------------------------ col2im


@njit_parallel
def _col2im_kernel(cols, KH, KW, n0, row_off, col_off, replicate, dx):
    # cols: C*KH*KW, Nb, Ho, Wo    dx: C, N, H, W, accumulated into (+=)
    C, N, H, W = dx.shape
    _, Nb, Ho, Wo = cols.shape
    xf, cf = dx.reshape(-1), cols.reshape(-1)
    for cn in prange(C * Nb):  # each (c, n) owns the image dx[c, n0+n]: independent outputs
        c = cn // Nb
        n = cn % Nb
        for kh in range(KH):
            for kw in range(KW):
                r = (c * KH + kh) * KW + kw
                off = col_off + kw
                j0, j1 = _inside(off, W, Wo)
                for i in range(Ho):
                    y = _src(row_off + i + kh, H, replicate)
                    if y < 0:
                        continue
                    row = ((c * N + n0 + n) * H + y) * W
                    col = ((r * Nb + n) * Ho + i) * Wo
                    _add_row(xf[row : row + W], cf[col : col + Wo], off, j0, j1, replicate)


def col2im_reference(cols, KH, KW, H, W, row_off, col_off, replicate):
    """Readable twin of :func:`_col2im_kernel` (all images): ``np.add.at`` at the clamped indices.

    Returns dx, shape (C, N, H, W): the adjoint of :func:`im2col_reference`.
    """
    CK, N, Ho, Wo = cols.shape
    C = CK // (KH * KW)
    cols = cols.reshape(C, KH, KW, N, Ho, Wo)
    dx = np.zeros((C, N, H, W), cols.dtype)
    for kh in range(KH):
        ys = _src_reference(row_off + np.arange(Ho) + kh, H, replicate)
        for kw in range(KW):
            xs = _src_reference(col_off + np.arange(Wo) + kw, W, replicate)
            yy, xx = np.broadcast_arrays(ys[:, None], xs[None, :])  # Ho, Wo
            ok = (yy >= 0) & (xx >= 0)
            np.add.at(dx, (slice(None), slice(None), yy[ok], xx[ok]), cols[:, kh, kw][:, :, ok])
    return dx


def col2im(cols, KH, KW, row_off, col_off, replicate, dx, n0=0):
    """Scatter-add columns back onto the images they were unfolded from (adjoint of :func:`im2col`).

    Parameters
    ----------
    cols : ndarray, shape (C*KH*KW, Nb, Ho, Wo)
    dx : ndarray, shape (C, N, H, W), same dtype; accumulated into (``+=``), so zero it first.

    Returns
    -------
    dx : the same array.

    Notes
    -----
    ``dx[c, n0+n, y, x] += sum of cols[(c, kh, kw), n, i, j] over all (kh, kw, i, j) that read (y, x)``;
    under ``replicate`` the reads clamped onto an edge pixel all add onto that pixel.
    """
    cols = np.ascontiguousarray(cols)
    CK, Nb = cols.shape[:2]
    _check(dx, (CK // (KH * KW),) + dx.shape[1:], cols.dtype, "dx")
    _col2im_kernel(cols, KH, KW, n0, row_off, col_off, bool(replicate), dx)
    return dx


def _check(arr, shape, dtype, name):
    if arr.shape != tuple(shape) or arr.dtype != dtype or not arr.flags.c_contiguous:
        raise ValueError(
            f"{name} must be a C-contiguous {np.dtype(dtype)} array of shape {tuple(shape)}, "
            f"got {arr.dtype} {arr.shape}"
        )
