"""tap_sum and tap_spread: the engine's convolution for few output channels (SRCNN's last layer).

Every kernel has a readable NumPy twin (``*_reference``) right below it; tests assert they agree.
Channel-major arrays and the ``row_off`` / ``col_off`` indexing convention of :mod:`npsrcnn.engine.unfold`.

With ``K = KH*KW`` taps: ``T = W_taps (F*K, C) @ x (C, N*H*W)`` is every tap's product at every *input*
pixel, and ``out = tap_sum(T)`` shifts and adds the K products (the gather that col2im's scatter
mirrors). Backward: ``dT = tap_spread(dout)`` (adjoint of tap_sum), ``dW_taps = dT @ x.T``,
``dx = W_taps.T @ dT``. Best when F < C: for SRCNN's layer 3 (F = 1, C = 32, 5x5) ``T`` has 25 rows
where im2col's ``cols`` would have 800.
"""
import numpy as np
from numba import prange

from ..util.jit import njit_parallel
from .unfold import _add_row, _check, _inside, _src, col2im_reference, im2col_reference


@njit_parallel
def _tap_sum_kernel(T, KH, KW, n0, r0, nrows, row_off, col_off, replicate, out):
    # T: F*KH*KW, Nb, Hin, Win (tap products at input pixels)   out: F, N, Ho, Wo; rows r0 .. r0+nrows-1
    _, Nb, Hin, Win = T.shape
    F, N, Ho, Wo = out.shape
    tf, of = T.reshape(-1), out.reshape(-1)
    for fn in prange(F * Nb):  # each (f, n) owns out[f, n0+n]: independent outputs
        f = fn // Nb
        n = fn % Nb
        for i in range(nrows):
            dst = of[((f * N + n0 + n) * Ho + r0 + i) * Wo :]
            for j in range(Wo):
                dst[j] = 0
            for kh in range(KH):
                y = _src(row_off + i + kh, Hin, replicate)
                if y < 0:
                    continue
                for kw in range(KW):
                    t = (f * KH + kh) * KW + kw
                    off = col_off + kw
                    j0, j1 = _inside(off, Win, Wo)
                    src = tf[((t * Nb + n) * Hin + y) * Win :]
                    dst_mid, src_mid = dst[j0:], src[off + j0 :]
                    for j in range(j1 - j0):
                        dst_mid[j] += src_mid[j]
                    if replicate:
                        for j in range(j0):
                            dst[j] += src[0]
                        for j in range(j1, Wo):
                            dst[j] += src[Win - 1]


def tap_sum_reference(T, KH, KW, Ho, Wo, row_off, col_off, replicate):
    """Readable twin of :func:`_tap_sum_kernel`: im2col of T, keeping each tap's own row, summed.

    Returns out, shape (F, N, Ho, Wo) with ``out[f] = sum_t im2col(T[f*K + t])[t]``.
    """
    FK, N, Hin, Win = T.shape
    F = FK // (KH * KW)
    out = np.zeros((F, N, Ho, Wo), T.dtype)
    for f in range(F):
        for kh in range(KH):
            for kw in range(KW):
                t = (f * KH + kh) * KW + kw
                one = im2col_reference(T[t : t + 1], KH, KW, Ho, Wo, row_off, col_off, replicate)
                out[f] += one[kh * KW + kw]
    return out


def tap_sum(T, KH, KW, row_off, col_off, replicate, out, n0=0, r0=0, nrows=None):
    """Shift and add the KH*KW tap products: the taps form of a convolution's output.

    Parameters
    ----------
    T : ndarray, shape (F*KH*KW, Nb, Hin, Win)
        ``T[(f, kh, kw), n] = w[f, :, kh, kw] @ x[:, n]`` at every input pixel (rows of one chunk).
    out : ndarray, shape (F, N, Ho, Wo)
        Written (not accumulated) at images ``n0 .. n0+Nb-1`` and rows ``r0 .. r0+nrows-1``.
    row_off, col_off : int
        Row/column of T read by output pixel (r0, 0) and tap (0, 0).

    Notes
    -----
    ``out[f, n0+n, r0+i, j] = sum_{kh,kw} T[(f,kh,kw), n, row_off+i+kh, col_off+j+kw]`` with zero or
    replicate reads outside T.
    """
    T = np.ascontiguousarray(T)
    _check(out, (T.shape[0] // (KH * KW),) + out.shape[1:], T.dtype, "out")
    nrows = out.shape[2] - r0 if nrows is None else nrows
    if not (0 <= r0 and r0 + nrows <= out.shape[2] and n0 + T.shape[1] <= out.shape[1]):
        raise ValueError("tap_sum: rows or images out of range of out")
    _tap_sum_kernel(T, KH, KW, n0, r0, nrows, row_off, col_off, bool(replicate), out)
    return out


@njit_parallel
def _tap_spread_kernel(dout, KH, KW, n0, r0, nrows, row_off, col_off, replicate, dT):
    # dout: F, N, Ho, Wo (images n0.., rows r0 .. r0+nrows-1)   dT: F*KH*KW, Nb, Hin, Win, += into
    FK, Nb, Hin, Win = dT.shape
    _, N, Ho, Wo = dout.shape
    df, tf = dout.reshape(-1), dT.reshape(-1)
    for tn in prange(FK * Nb):  # each (tap row, n) owns dT[t, n]: independent outputs
        t = tn // Nb
        n = tn % Nb
        f = t // (KH * KW)
        kh = (t // KW) % KH
        kw = t % KW
        off = col_off + kw
        j0, j1 = _inside(off, Win, Wo)
        for i in range(nrows):
            y = _src(row_off + i + kh, Hin, replicate)
            if y < 0:
                continue
            row = ((t * Nb + n) * Hin + y) * Win
            col = ((f * N + n0 + n) * Ho + r0 + i) * Wo
            _add_row(tf[row : row + Win], df[col : col + Wo], off, j0, j1, replicate)


def tap_spread_reference(dout, KH, KW, Hin, Win, row_off, col_off, replicate):
    """Readable twin of :func:`_tap_spread_kernel`: col2im of dout repeated once per tap."""
    F, N, Ho, Wo = dout.shape
    K = KH * KW
    dT = np.empty((F * K, N, Hin, Win), dout.dtype)
    for f in range(F):
        for t in range(K):
            cols = np.zeros((K, N, Ho, Wo), dout.dtype)
            cols[t] = dout[f]
            dT[f * K + t] = col2im_reference(cols, KH, KW, Hin, Win, row_off, col_off, replicate)[0]
    return dT


def tap_spread(dout, KH, KW, row_off, col_off, replicate, dT, n0=0, r0=0, nrows=None):
    """Adjoint of :func:`tap_sum`: ``dT[(f,kh,kw), n, y, x] += dout[f, n0+n, r0+i, j]`` for every read.

    Parameters
    ----------
    dout : ndarray, shape (F, N, Ho, Wo)
        Rows ``r0 .. r0+nrows-1`` of images ``n0 .. n0+Nb-1`` are spread.
    dT : ndarray, shape (F*KH*KW, Nb, Hin, Win); accumulated into, so zero it first.
    row_off, col_off : int
        Row/column of dT that output pixel (r0, 0) and tap (0, 0) read in the forward pass.
    """
    dout = np.ascontiguousarray(dout)
    F, N, Ho, Wo = dout.shape
    nrows = Ho - r0 if nrows is None else nrows
    _check(dT, (F * KH * KW,) + dT.shape[1:], dout.dtype, "dT")
    if not (0 <= r0 and r0 + nrows <= Ho and n0 + dT.shape[1] <= N):
        raise ValueError("tap_spread: rows or images out of range of dout")
    _tap_spread_kernel(dout, KH, KW, n0, r0, nrows, row_off, col_off, bool(replicate), dT)
    return dT
