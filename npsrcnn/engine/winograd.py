"""Winograd F(m x m, r x r): the engine's convolution with fewer multiplies, for wide KxK layers.

Every kernel has a readable NumPy twin (``*_reference``) right below it; tests assert they agree.
Channel-major arrays as in :mod:`npsrcnn.engine.unfold`.

The 1-D algorithm (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural Networks"; the
matrices as Lavin's wincnn makes them, by Cook-Toom): ``m`` outputs of a correlation with an ``r``-tap
filter ``g`` from an input tile ``d`` of ``A = m + r - 1`` values are ``y = AT @ ((G @ g) * (BT @ d))``:
A multiplies instead of ``m * r``. Nested in 2-D, an m x m output tile costs A^2 multiplies per
channel pair instead of m^2 r^2 (F(2x2, 5x5): 36 instead of 100; F(4x4, 5x5): 64 instead of 400)::

    Y = AT @ [(G @ g @ G.T) * (BT @ d @ BT.T)] @ AT.T          # m x m outputs of one (f, c) pair

Summed over channels, each of the A^2 elementwise products becomes one GEMM, which is where BLAS does
the work: ``U = G w G^T`` (A^2, F, C) once per call, ``V = BT x BT^T`` (A^2, C, P) over the P tiles,
``M = U @ V`` (A^2 GEMMs, F x C by C x P), and ``out = AT M AT^T`` tile by tile. ``BT d BT^T`` is done
in two halves: :func:`row_transform` (pad, pack into lanes, BT along the rows, once per input row) and
:func:`input_transform` (BT along the columns, per block of tile rows).

Backward is the adjoint of the same steps (each kernel here has its adjoint beside it):
``dM = AT^T dout AT`` (:func:`output_transform_adjoint`), ``dU = dM @ V^T`` -> ``dW = G^T dU G``,
and ``dV = U^T @ dM`` -> :func:`input_transform_adjoint` -> :func:`row_transform_adjoint` -> dx.
dX so reuses the dout transform that dW needs and works on the tiles of dout (Ho x Wo), not on those
of a zero-padded 'full' correlation with flipped kernels (H x W: 169 tiles of 2x2 instead of 121 for
a 25x25 patch), and the adjoint of the padding folds replicated pixels' gradient onto the edge.

Padding: the input is padded first, then convolved 'valid'; the row transform reads it with the
zero or clamped reads and offsets of every other strategy (:mod:`npsrcnn.engine.unfold`). Tiles that
stick out past the output (Ho or Wo not a multiple of m) read padding there and their outputs are
dropped; their dout is read as zero, so they add nothing to dW or dX.

Error: the transforms of larger tiles have larger coefficients (F(4x4, 5x5)'s points reach 1/2 and
2 in the fourth power), so float32 rounding grows with m; tests/test_winograd.py measures both against
a float64 reference.
"""
from fractions import Fraction
import math

import numpy as np
from numba import prange

from .._jit import njit, njit_parallel
from .unfold import _check, _src, col2im_reference, im2col_reference

# Interpolation points, in the order wincnn and Lavin use them: the tile of m outputs and r taps needs
# the first m + r - 2 of them (and the point at infinity). Small magnitudes keep the rounding error
# down; 1/2 and -1/2 only enter for F(4x4, 5x5).
POINTS = (0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2))


@njit
def _axpy(a, x, y):
    """``y += a * x`` over one lane, nothing for a zero coefficient (the transforms' matrices are
    sparse). The inner loop of every kernel here: contiguous, so it vectorises."""
    if a != 0:
        for k in range(min(len(x), len(y))):
            y[k] += a * x[k]


def transform_matrices(m, r):
    """Cook-Toom matrices of F(m, r): (AT (m, A), G (A, r), BT (A, A)), float64, A = m + r - 1.

    Notes
    -----
    With E_k (A, k) the Vandermonde matrix of the points (row ``[p^0 .. p^(k-1)]``; the point at
    infinity is the row ``[0 .. 0 1]``), a polynomial product evaluates pointwise, so linear
    convolution is ``s = E_A^-1 ((E_m h) * (E_r g))``; correlation is its transpose in h:
    ``y = E_m^T ((E_r g) * (E_A^-T d))``. Hence AT = E_m^T, G = E_r, BT = E_A^-T, with each row of BT
    scaled to small integers and G's row divided by the same number (wincnn's "fractions in G").
    Computed in exact fractions, then rounded once.
    """
    A = m + r - 1
    if not 2 <= A - 1 <= len(POINTS) + 1 or m < 1 or r < 1:
        raise ValueError(f"F({m}, {r}) needs {A - 1} interpolation points; have {len(POINTS)} (+ infinity)")
    pts = [Fraction(p) for p in POINTS[: A - 1]]

    def vandermonde(k):
        return [[p**j for j in range(k)] for p in pts] + [[Fraction(int(j == k - 1)) for j in range(k)]]

    BT = [list(col) for col in zip(*_inverse(vandermonde(A)))]  # E_A^-T
    G = vandermonde(r)
    for i in range(A):
        s = math.lcm(*(v.denominator for v in BT[i]))
        BT[i] = [v * s for v in BT[i]]
        G[i] = [v / s for v in G[i]]
    AT = [list(col) for col in zip(*vandermonde(m))]
    return tuple(np.array(a, dtype=np.float64) for a in (AT, G, BT))


def _inverse(rows):
    """Exact inverse of a square matrix of Fractions (Gauss-Jordan)."""
    n = len(rows)
    M = [list(row) + [Fraction(int(i == j)) for j in range(n)] for i, row in enumerate(rows)]
    for c in range(n):
        p = next(i for i in range(c, n) if M[i][c] != 0)
        M[c], M[p] = M[p], M[c]
        M[c] = [v / M[c][c] for v in M[c]]
        for i in range(n):
            if i != c and M[i][c] != 0:
                M[i] = [a - M[i][c] * b for a, b in zip(M[i], M[c])]
    return [row[n:] for row in M]


def kernel_transform(w, G):
    """``U = G w G^T`` for every (f, c): shape (A*A, F, C), in float64 then rounded to w's dtype.

    Tiny (F*C matrices of r x r, once per call), so plain NumPy; float64 keeps the rounding of G's
    fractions out of the result. Two tensordots (BLAS) rather than one einsum (5x slower here).
    """
    F, C = w.shape[:2]
    A = G.shape[0]
    Gw = np.tensordot(w.astype(np.float64), G, axes=(3, 1))  # F, C, r, A: w G^T
    U = np.tensordot(G, Gw, axes=(1, 2))  # A, F, C, A: G (w G^T)
    return np.ascontiguousarray(U.transpose(0, 3, 1, 2).reshape(A * A, F, C), dtype=w.dtype)


def kernel_transform_adjoint(dU, G, dtype):
    """``dW = G^T dU G`` for every (f, c): dU (A*A, F, C) -> dW (F, C, r, r), in float64."""
    A2, F, C = dU.shape
    A = G.shape[0]
    dUG = np.tensordot(dU.astype(np.float64).reshape(A, A, F, C), G, axes=(1, 0))  # A, F, C, r: dU G
    dw = np.tensordot(dUG, G, axes=(0, 0))  # F, C, r, r: G^T (dU G), indexed [f, c, j, i]
    return np.ascontiguousarray(dw.transpose(0, 1, 3, 2), dtype=dtype)


# ---------------------------------------------------------------- row transform: pad, pack, BT on rows
# ``BT d BT^T`` is BT applied along each row of the tile, then along each column. Tiles overlap by
# A - m rows, so the row half is done once per input row, here, for every tile of the row and every
# image (A/m = 3 times less work than per tile for F(2x2, 5x5)), and the result is laid out in
# "lanes": ``R[y, c, b, tx*N + n]``. A lane holds one transformed value of every tile of a row and
# every image, so the column half (:func:`input_transform`) and the GEMMs run over long contiguous
# runs, for a batch of small patches (Tw = 11, N = 32: 352) as for a wide strip (Tw = 256, N = 1).
# Tile p of V and M is (ty*Tw + tx)*N + n for the same reason. Rows come first so that the rows one
# block of tile rows reads are one contiguous slice.


@njit_parallel
def _row_transform_kernel(x, BT, m, Nb, n0, row_off, col_off, replicate, R):
    # x: C, N, H, W    R: Hp, C, A, Tw*Nb: R[y, c, b, tx*Nb + n] = sum_j BT[b, j] xpad[c, n0+n, y, tx*m + j]
    C, N, H, W = x.shape
    Hp, _, A, L = R.shape
    Wq = L // Nb + (A - 1) // m  # columns per phase that the tiles of a row read
    for yc in prange(Hp * C):  # one input row of one channel: independent outputs
        c = yc % C
        y = _src(row_off + yc // C, H, replicate)
        ln = np.empty((m, Wq * Nb), R.dtype)  # the padded row by column phase, image last (scratch)
        if y < 0 or (not replicate and (col_off < 0 or col_off + Wq * m > W)):
            ln[:] = 0  # some reads are zero padding
        if y >= 0:  # image innermost: contiguous writes, reads from the Nb rows (in L1 after the first)
            for ph in range(m):
                dst = ln[ph]
                for q in range(Wq):
                    xc = _src(col_off + q * m + ph, W, replicate)
                    if xc >= 0:
                        for n in range(Nb):
                            dst[q * Nb + n] = x[c, n0 + n, y, xc]
        acc = np.empty(L, R.dtype)
        for b in range(A):  # R[b] = sum_j BT[b, j] (value j of every tile): one contiguous run per j
            acc[:] = 0
            for j in range(A):
                _axpy(BT[b, j], ln[j % m, (j // m) * Nb :], acc)
            R[yc // C, c, b] = acc


def row_transform_reference(x, BT, m, Hp, Tw, row_off, col_off, replicate):
    """Readable twin of :func:`_row_transform_kernel` (all images): pad (a 1x1 im2col), gather each
    tile's columns, apply BT."""
    C, N = x.shape[:2]
    A = BT.shape[0]
    xp = im2col_reference(x, 1, 1, Hp, (Tw - 1) * m + A, row_off, col_off, replicate)  # C, N, Hp, Wp
    d = xp[:, :, :, _tile_index(m, A, Tw)]  # C, N, Hp, Tw, A
    return np.einsum("bj,cnytj->ycbtn", BT, d).reshape(Hp, C, A, Tw * N)


def row_transform(x, BT, m, Hp, Tw, row_off, col_off, replicate, n0=0, Nb=None, out=None):
    """Pad images n0 .. n0+Nb-1 of `x` and transform every tile row-wise, in lanes.

    Parameters
    ----------
    x : ndarray, shape (C, N, H, W), channel-major
    BT : ndarray, shape (A, A); m : int, the tile step
    Hp, Tw : int, padded rows, and tiles per row
    row_off, col_off, replicate : the read convention of :mod:`npsrcnn.engine.unfold` (``-pad``)
    out : ndarray, shape (Hp, C, A, Tw*Nb), optional

    Returns
    -------
    R : ndarray, shape (Hp, C, A, Tw*Nb)

    Notes
    -----
    ``R[y, c, b, tx*Nb + n] = sum_j BT[b, j] * xpad[c, n0+n, y, tx*m + j]``, xpad read as im2col reads.
    """
    C, N = x.shape[:2]
    A = BT.shape[0]
    Nb = N - n0 if Nb is None else Nb
    R = np.empty((Hp, C, A, Tw * Nb), x.dtype) if out is None else out
    _check(R, (Hp, C, A, Tw * Nb), x.dtype, "R")
    _row_transform_kernel(np.ascontiguousarray(x), BT.astype(x.dtype), m, Nb, n0, row_off, col_off,
                          bool(replicate), R)
    return R


@njit_parallel
def _row_transform_adjoint_kernel(dR, BT, m, Nb, n0, row_off, col_off, replicate, dx):
    # dR: Hp, C, A, Tw*Nb    dx: C, N, H, W, accumulated into where the row transform read
    C, N, H, W = dx.shape
    Hp, _, A, L = dR.shape
    Wq = L // Nb + (A - 1) // m
    for c in prange(C):  # under replicate several rows land on one edge row: a channel per thread
        ln = np.empty((m, Wq * Nb), dR.dtype)
        for yp in range(Hp):
            y = _src(row_off + yp, H, replicate)
            if y < 0:
                continue
            ln[:] = 0
            for b in range(A):  # value j of every tile += BT[b, j] R[b]
                src = dR[yp, c, b]
                for j in range(A):
                    _axpy(BT[b, j], src, ln[j % m, (j // m) * Nb :])
            for ph in range(m):  # per pixel the same order of additions as image-outermost, faster
                src = ln[ph]
                for q in range(Wq):
                    xc = _src(col_off + q * m + ph, W, replicate)
                    if xc >= 0:
                        for n in range(Nb):
                            dx[c, n0 + n, y, xc] += src[q * Nb + n]


def row_transform_adjoint_reference(dR, BT, m, Tw, H, W, row_off, col_off, replicate):
    """Readable twin of :func:`_row_transform_adjoint_kernel` (all images, into zeros): BT^T on each
    tile's row, overlap-added along the row, then a 1x1 col2im (clamped reads add onto the edge)."""
    Hp, C, A, L = dR.shape
    N = L // Tw
    dd = np.einsum("bj,ycbtn->cnytj", BT, dR.reshape(Hp, C, A, Tw, N))  # C, N, Hp, Tw, A
    dxp = np.zeros((C, N, Hp, (Tw - 1) * m + A), dR.dtype)
    for j in range(A):
        dxp[:, :, :, j : j + Tw * m : m] += dd[..., j]
    return col2im_reference(dxp, 1, 1, H, W, row_off, col_off, replicate)


def row_transform_adjoint(dR, BT, m, Nb, row_off, col_off, replicate, dx, n0=0):
    """Adjoint of :func:`row_transform`: add dR's gradient onto the pixels it was read from (``dx +=``).

    Parameters
    ----------
    dR : ndarray, shape (Hp, C, A, Tw*Nb)
    dx : ndarray, shape (C, N, H, W), accumulated into
    """
    C = dR.shape[1]
    _check(dx, (C,) + dx.shape[1:], dR.dtype, "dx")
    _row_transform_adjoint_kernel(dR, BT.astype(dR.dtype), m, Nb, n0, row_off, col_off, bool(replicate), dx)
    return dx


def _tile_index(m, A, T):
    """Rows (or columns) read by T tiles of side A at step m: shape (T, A)."""
    return np.arange(T)[:, None] * m + np.arange(A)


# ------------------------------------------------------------------------------------ input transform


@njit_parallel
def _input_transform_kernel(R, BT, m, Th, V):
    # R: Hr, C, A, L (row-transformed lanes)    V: A*A, C, Th*L
    Hr, C, A, L = R.shape
    for cy in prange(C * Th):  # one row of tiles of one channel: independent outputs
        c = cy // Th
        ty = cy % Th
        acc = np.empty(L, R.dtype)  # one lane summed in L1, then written once (V is far bigger than L2)
        for a in range(A):  # V[a, b] = sum_i BT[a, i] R[row i of the tile, b]
            for b in range(A):
                acc[:] = 0
                for i in range(A):
                    _axpy(BT[a, i], R[ty * m + i, c, b], acc)
                V[a * A + b, c, ty * L : (ty + 1) * L] = acc


def input_transform_reference(R, BT, m, Th):
    """Readable twin of :func:`_input_transform_kernel`: gather each tile's A rows, apply BT."""
    Hr, C, A, L = R.shape
    Rt = R[_tile_index(m, A, Th)]  # Th, A, C, A, L
    return np.einsum("ai,yicbk->abcyk", BT, Rt).reshape(A * A, C, Th * L)


def input_transform(R, BT, m, Th, out):
    """``V[a*A + b, c, ty*L + k] = sum_i BT[a, i] R[ty*m + i, c, b, k]``: the column half of ``BT d BT^T``.

    Parameters
    ----------
    R : ndarray, shape (Hr, C, A, L), rows from :func:`row_transform` (L = Tw*N); Hr >= (Th - 1)*m + A
    BT : ndarray, shape (A, A)
    m, Th : int, tile step and tile rows
    out : ndarray, shape (A*A, C, Th*L), filled: V, tile (ty, tx, n) at column ``(ty*Tw + tx)*N + n``
    """
    Hr, C, A, L = R.shape
    _check_tiles(Hr, m, A, Th)
    _check(out, (A * A, C, Th * L), R.dtype, "V")
    _input_transform_kernel(R, BT.astype(R.dtype), m, Th, out)
    return out


@njit_parallel
def _input_transform_adjoint_kernel(dV, BT, m, Th, first, dR):
    # dV: A*A, C, Th*L    dR: Hr, C, A, L; a row is written where first touched, else added to
    Hr, C, A, L = dR.shape
    for c in prange(C):  # tiles of one channel overlap; channels are independent outputs
        acc = np.empty(L, dR.dtype)
        for ty in range(Th):
            for i in range(A):  # dR[row i of the tile, b] += sum_a BT[a, i] dV[a, b]
                for b in range(A):
                    acc[:] = 0
                    for a in range(A):
                        _axpy(BT[a, i], dV[a * A + b, c, ty * L : (ty + 1) * L], acc)
                    if (first and ty == 0) or i >= A - m:  # no earlier tile row reached this row
                        dR[ty * m + i, c, b] = acc
                    else:
                        _axpy(1, acc, dR[ty * m + i, c, b])


def input_transform_adjoint_reference(dV, BT, m, Th, Hr):
    """Readable twin of :func:`_input_transform_adjoint_kernel` (into zeros): BT^T on each tile's
    column, overlap-added over the rows the tiles share."""
    A2, C, P = dV.shape
    A = BT.shape[0]
    L = P // Th
    dRt = np.einsum("ai,abcyk->yicbk", BT, dV.reshape(A, A, C, Th, L))  # Th, A, C, A, L
    dR = np.zeros((Hr, C, A, L), dV.dtype)
    for i in range(A):
        dR[i : i + Th * m : m] += dRt[:, i]
    return dR


def input_transform_adjoint(dV, BT, m, Th, out, first=True):
    """Adjoint of :func:`input_transform`: ``out[ty*m + i, c, b] += sum_a BT[a, i] dV[a*A + b, c, tile row ty]``.

    Parameters
    ----------
    dV : ndarray, shape (A*A, C, Th*L)
    out : ndarray, shape (Hr, C, A, L), filled: no need to zero it. Tile rows overlap by A - m rows;
        each row is written by the first tile row that reaches it and added to by the others.
    first : bool
        False for a block of tile rows that continues the previous one (whose last A - m rows are the
        first A - m rows of `out`): those rows are added to, not written.
    """
    Hr, C, A, L = out.shape
    _check_tiles(Hr, m, A, Th)
    _check(dV, (A * A, C, Th * L), out.dtype, "dV")
    _input_transform_adjoint_kernel(dV, BT.astype(out.dtype), m, Th, bool(first), out)
    return out


def _check_tiles(Hr, m, A, Th):
    if Hr < (Th - 1) * m + A:
        raise ValueError(f"{Hr} rows do not hold {Th} rows of {A}x{A} tiles at step {m}")


# ----------------------------------------------------------------------------------- output transform


@njit_parallel
def _output_transform_kernel(M, AT, m, Th, Tw, n0, r0, nrows, out):
    # M: A*A, F, Th*Tw*Nb    out: F, N, Ho, Wo; rows r0 .. r0+nrows-1 of images n0 .. n0+Nb-1 written
    F, N, Ho, Wo = out.shape
    A = AT.shape[1]
    Nb = M.shape[2] // (Th * Tw)
    L = Tw * Nb
    for fy in prange(F * Th):  # one row of tiles of one output channel: independent outputs
        f = fy // Th
        ty = fy % Th
        S = np.zeros((m, A, L), M.dtype)  # private scratch of the iteration
        Y = np.empty(L, M.dtype)
        for a in range(A):  # S[i, b] = sum_a AT[i, a] M[a, b]
            for b in range(A):
                src = M[a * A + b, f, ty * L : (ty + 1) * L]
                for i in range(m):
                    _axpy(AT[i, a], src, S[i, b])
        for i in range(min(m, nrows - ty * m)):  # Y[i, j] = sum_b S[i, b] AT[j, b], inside the output
            for j in range(m):
                Y[:] = 0
                for b in range(A):
                    _axpy(AT[j, b], S[i, b], Y)
                for tx in range(min(Tw, (Wo - j + m - 1) // m)):
                    for n in range(Nb):
                        out[f, n0 + n, r0 + ty * m + i, tx * m + j] = Y[tx * Nb + n]


def output_transform_reference(M, AT, m, Th, Tw, Ho, Wo):
    """Readable twin of :func:`_output_transform_kernel` (all rows): ``AT M AT^T`` per tile, cropped."""
    A2, F, P = M.shape
    A = AT.shape[1]
    N = P // (Th * Tw)
    Y = np.einsum("ia,abfyxn,jb->fnyixj", AT, M.reshape(A, A, F, Th, Tw, N), AT)
    return Y.reshape(F, N, Th * m, Tw * m)[:, :, :Ho, :Wo]


def output_transform(M, AT, m, Th, Tw, out, n0=0, r0=0, nrows=None):
    """``out[f, n0+n, r0 + ty*m + i, tx*m + j] = (AT M AT^T)[i, j]`` of tile (ty, tx, n), cropped.

    Parameters
    ----------
    M : ndarray, shape (A*A, F, Th*Tw*Nb), the products ``U @ V``
    AT : ndarray, shape (m, A)
    out : ndarray, shape (F, N, Ho, Wo); rows r0 .. r0+nrows-1 (default: to the end) of images n0 ..
        n0+Nb-1 are written, columns past Wo dropped.
    """
    A = AT.shape[1]
    F, N, Ho, Wo = out.shape
    nrows = Ho - r0 if nrows is None else nrows
    if nrows > Th * m or Tw * m < Wo:
        raise ValueError(f"{Th}x{Tw} tiles of {m}x{m} do not cover {nrows} rows of {Wo}")
    _check(out, out.shape, M.dtype, "out")
    _check(M, (A * A, F, M.shape[2]), M.dtype, "M")
    _output_transform_kernel(M, AT.astype(M.dtype), m, Th, Tw, n0, r0, nrows, out)
    return out


@njit_parallel
def _output_transform_adjoint_kernel(dout, AT, m, Th, Tw, n0, r0, nrows, dM):
    # dout: F, N, Ho, Wo (rows r0 .. r0+nrows-1 of images n0 .. read; a tile past them reads 0)
    # dM: A*A, F, Th*Tw*Nb, filled
    F, N, Ho, Wo = dout.shape
    A = AT.shape[1]
    Nb = dM.shape[2] // (Th * Tw)
    L = Tw * Nb
    for fy in prange(F * Th):  # one row of tiles of one output channel: independent outputs
        f = fy // Th
        ty = fy % Th
        S = np.zeros((m, A, L), dM.dtype)  # private scratch of the iteration
        Y = np.zeros(L, dM.dtype)
        for i in range(min(m, nrows - ty * m)):  # S[i, b] = sum_j dY[i, j] AT[j, b]
            for j in range(m):
                for tx in range(min(Tw, (Wo - j + m - 1) // m)):
                    for n in range(Nb):
                        Y[tx * Nb + n] = dout[f, n0 + n, r0 + ty * m + i, tx * m + j]
                for b in range(A):
                    _axpy(AT[j, b], Y, S[i, b])
                Y[:] = 0
        for a in range(A):  # dM[a, b] = sum_i AT[i, a] S[i, b]
            for b in range(A):
                Y[:] = 0  # one lane summed in L1, then written once
                for i in range(m):
                    _axpy(AT[i, a], S[i, b], Y)
                dM[a * A + b, f, ty * L : (ty + 1) * L] = Y


def output_transform_adjoint_reference(dout, AT, m, Th, Tw):
    """Readable twin of :func:`_output_transform_adjoint_kernel` (all rows): zero-pad dout to whole
    tiles, then ``AT^T dY AT`` per tile."""
    F, N, Ho, Wo = dout.shape
    A = AT.shape[1]
    dY = np.zeros((F, N, Th * m, Tw * m), dout.dtype)
    dY[:, :, :Ho, :Wo] = dout
    dM = np.einsum("ia,fnyixj,jb->abfyxn", AT, dY.reshape(F, N, Th, m, Tw, m), AT)
    return dM.reshape(A * A, F, Th * Tw * N)


def output_transform_adjoint(dout, AT, m, Th, Tw, out, n0=0, r0=0, nrows=None):
    """Adjoint of :func:`output_transform`: ``dM = AT^T dY AT`` per tile of dout (zeros past its edge).

    Parameters
    ----------
    dout : ndarray, shape (F, N, Ho, Wo)
    out : ndarray, shape (A*A, F, Th*Tw*Nb), filled from rows r0 .. r0+nrows-1 of images n0 .. n0+Nb-1
    """
    A = AT.shape[1]
    F, N, Ho, Wo = dout.shape
    nrows = Ho - r0 if nrows is None else nrows
    _check(dout, dout.shape, out.dtype, "dout")
    _check(out, (A * A, F, out.shape[2]), dout.dtype, "dM")
    _output_transform_adjoint_kernel(dout, AT.astype(dout.dtype), m, Th, Tw, n0, r0, nrows, out)
    return out
