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
``M = U @ V`` (A^2 GEMMs, F x C by C x P), and ``out = AT M AT^T`` tile by tile.

Backward is the adjoint of the same three steps (each kernel here has its adjoint beside it):
``dM = AT^T dout AT`` (:func:`output_transform_adjoint`), ``dU = dM @ V^T`` -> ``dW = G^T dU G``,
and ``dV = U^T @ dM`` -> ``dx = sum over tiles of BT^T dV BT`` (:func:`input_transform_adjoint`, an
overlap-add of the A x A tiles). dX so reuses the dout transform that dW needs and works on the
tiles of dout (Ho x Wo), not on those of a zero-padded 'full' correlation (H x W).

Padding: the input is padded first, then convolved 'valid'; the padded copy is im2col with a 1x1
kernel (zero or clamped reads, the same offsets as every other strategy), and its adjoint, col2im
with a 1x1 kernel, folds the gradient of replicated pixels back onto the edge. Tiles that stick out
past the output (Ho or Wo not a multiple of m) read whatever the copy holds there and their outputs
are dropped; their dout is read as zero, so they add nothing to dW or dX.

Error: the transforms of larger tiles have larger coefficients (F(4x4, 5x5)'s points reach 1/2 and
2 in the fourth power), so float32 rounding grows with m; tests/test_winograd.py measures both against
a float64 reference.
"""
from fractions import Fraction
import math

import numpy as np
from numba import prange

from .._jit import njit_parallel
from .unfold import _check, _src, col2im_reference, im2col_reference

# Interpolation points, in the order wincnn and Lavin use them: the tile of m outputs and r taps needs
# the first m + r - 2 of them (and the point at infinity). Small magnitudes keep the rounding error
# down; 1/2 and -1/2 only enter for F(4x4, 5x5).
POINTS = (0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2))


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


# ------------------------------------------------------------------------------ lanes: pad and pack
# The transforms work on "lanes": for one row y of the padded input and one column phase ph (0 .. m-1),
# the values at columns q*m + ph of every image, q-major, n-minor: xq[y, c, ph, q, n]. A tile's value
# (i, j) for all the tiles of a row and all images is then ONE contiguous run of Tw*N values starting at
# q = j // m, so every transform's inner loop is a long contiguous (vectorised) loop, for a batch of
# small patches (Tw = 11, N = 32) as for one wide image (Tw = 256, N = 1). Tile p of V and M is
# (ty*Tw + tx)*N + n for the same reason. Rows come first so that the rows one block of tile rows reads
# are a contiguous slice (the strategy transforms a few tile rows at a time, to keep V in cache).


@njit_parallel
def _pack_kernel(x, m, n0, row_off, col_off, replicate, xq):
    # x: C, N, H, W    xq: Hp, C, m, Wq, Nb: xq[y, c, ph, q, n] = x[c, n0+n, row_off+y, col_off+q*m+ph]
    C, N, H, W = x.shape
    Hp, _, _, Wq, Nb = xq.shape
    for yc in prange(Hp * C):  # one input row of one channel per iteration: independent outputs
        c = yc % C
        y = _src(row_off + yc // C, H, replicate)
        for ph in range(m):
            for q in range(Wq):
                xc = _src(col_off + q * m + ph, W, replicate)
                dst = xq[yc // C, c, ph, q]
                for n in range(Nb):
                    dst[n] = x[c, n0 + n, y, xc] if y >= 0 and xc >= 0 else 0


def pack_reference(x, m, Hp, Wq, row_off, col_off, replicate):
    """Readable twin of :func:`_pack_kernel` (all images): pad (a 1x1 im2col), then split the columns
    by phase and move the image index last."""
    return _lanes(im2col_reference(x, 1, 1, Hp, Wq * m, row_off, col_off, replicate), m)


def pack(x, m, Hp, Wq, row_off, col_off, replicate, n0=0, Nb=None, out=None):
    """The padded input of images n0 .. n0+Nb-1 in lanes: ``xq[y, c, ph, q, n] = xpad[c, n0+n, y, q*m + ph]``.

    Parameters
    ----------
    x : ndarray, shape (C, N, H, W), channel-major
    m : int, the tile step (column phases)
    Hp, Wq : int, padded rows, and columns per phase
    row_off, col_off, replicate : the read convention of :mod:`npsrcnn.engine.unfold` (``-pad``)
    out : ndarray, shape (Hp, C, m, Wq, Nb), optional

    Returns
    -------
    xq : ndarray, shape (Hp, C, m, Wq, Nb)
    """
    C, N = x.shape[:2]
    Nb = N - n0 if Nb is None else Nb
    xq = np.empty((Hp, C, m, Wq, Nb), x.dtype) if out is None else out
    _check(xq, (Hp, C, m, Wq, Nb), x.dtype, "xq")
    _pack_kernel(np.ascontiguousarray(x), m, n0, row_off, col_off, bool(replicate), xq)
    return xq


@njit_parallel
def _unpack_add_kernel(dxq, m, n0, row_off, col_off, replicate, dx):
    # dxq: Hp, C, m, Wq, Nb    dx: C, N, H, W, accumulated into where the pack read
    C, N, H, W = dx.shape
    Hp, _, _, Wq, Nb = dxq.shape
    for cn in prange(C * Nb):  # each (c, n) owns the image dx[c, n0+n]: independent outputs
        c = cn // Nb
        n = cn % Nb
        for yp in range(Hp):
            y = _src(row_off + yp, H, replicate)
            if y < 0:
                continue
            for ph in range(m):
                for q in range(Wq):
                    xc = _src(col_off + q * m + ph, W, replicate)
                    if xc >= 0:
                        dx[c, n0 + n, y, xc] += dxq[yp, c, ph, q, n]


def unpack_add_reference(dxq, m, H, W, row_off, col_off, replicate):
    """Readable twin of :func:`_unpack_add_kernel` (all images, into zeros): back to (C, N, Hp, Wq*m),
    then a 1x1 col2im, which adds every clamped read onto its edge pixel."""
    return col2im_reference(_image(dxq), 1, 1, H, W, row_off, col_off, replicate)


def unpack_add(dxq, m, row_off, col_off, replicate, dx, n0=0):
    """Adjoint of :func:`pack`: add the lanes' gradient onto the pixels they were read from (``dx +=``)."""
    C = dxq.shape[1]
    _check(dx, (C,) + dx.shape[1:], dxq.dtype, "dx")
    _unpack_add_kernel(dxq, m, n0, row_off, col_off, bool(replicate), dx)
    return dx


def _image(xq):
    """Lanes (Hp, C, m, Wq, N) back to the padded image (C, N, Hp, Wq*m), for the references."""
    Hp, C, m, Wq, N = xq.shape
    return xq.transpose(1, 4, 0, 3, 2).reshape(C, N, Hp, Wq * m)


def _lanes(xp, m):
    """The padded image (C, N, Hp, Wq*m) in lanes (Hp, C, m, Wq, N), for the references."""
    C, N, Hp, W = xp.shape
    return np.ascontiguousarray(xp.reshape(C, N, Hp, W // m, m).transpose(2, 0, 4, 3, 1))


def _tile_index(m, A, T):
    """Rows (or columns) read by T tiles of side A at step m: shape (T, A)."""
    return np.arange(T)[:, None] * m + np.arange(A)


# ------------------------------------------------------------------------------------ input transform


@njit_parallel
def _input_transform_kernel(xq, BT, m, Th, Tw, V):
    # xq: Hp, C, m, Wq, N (lanes)    V: A*A, C, Th*Tw*N
    Hp, C, _, Wq, N = xq.shape
    A = BT.shape[0]
    L = Tw * N  # one lane: a tile value for every tile of a row and every image
    for cy in prange(C * Th):  # one row of tiles of one channel: independent outputs
        c = cy // Th
        ty = cy % Th
        T = np.zeros((A, A, L), xq.dtype)  # private scratch of the iteration
        acc = np.empty(L, xq.dtype)  # one lane summed in L1, then written once (V is far bigger than L2)
        for i in range(A):  # T[i, b] = sum_j d[i, j] BT[b, j]
            for j in range(A):
                src = xq[ty * m + i, c, j % m].reshape(-1)[(j // m) * N :]
                for b in range(A):
                    coef = BT[b, j]
                    if coef != 0:
                        t = T[i, b]
                        for k in range(L):
                            t[k] += coef * src[k]
        for a in range(A):  # V[a, b] = sum_i BT[a, i] T[i, b]
            for b in range(A):
                acc[:] = 0
                for i in range(A):
                    coef = BT[a, i]
                    if coef != 0:
                        t = T[i, b]
                        for k in range(L):
                            acc[k] += coef * t[k]
                V[a * A + b, c, ty * L : (ty + 1) * L] = acc


def input_transform_reference(xq, BT, m, Th, Tw):
    """Readable twin of :func:`_input_transform_kernel`: gather the A x A tiles, ``BT d BT^T`` each."""
    xp = _image(xq)
    C, N = xp.shape[:2]
    A = BT.shape[0]
    rows, cols = _tile_index(m, A, Th), _tile_index(m, A, Tw)
    d = xp[:, :, rows[:, None, :, None], cols[None, :, None, :]]  # C, N, Th, Tw, A, A
    return np.einsum("ai,cnyxij,bj->abcyxn", BT, d, BT).reshape(A * A, C, Th * Tw * N)


def input_transform(xq, BT, m, Th, Tw, out):
    """``V[a*A + b, c, (ty*Tw + tx)*N + n] = (BT d BT^T)[a, b]``, d the A x A tile at (ty*m, tx*m).

    Parameters
    ----------
    xq : ndarray, shape (Hp, C, m, Wq, N), the padded input in lanes (:func:`pack`);
        Hp >= (Th - 1)*m + A and Wq >= Tw + (A - 1) // m
    BT : ndarray, shape (A, A)
    m, Th, Tw : int, tile step and tiles per column and per row
    out : ndarray, shape (A*A, C, Th*Tw*N), filled
    """
    A = BT.shape[0]
    Hp, C, _, Wq, N = xq.shape
    _check_tiles(Hp, Wq, m, A, Th, Tw)
    _check(out, (A * A, C, Th * Tw * N), xq.dtype, "V")
    _input_transform_kernel(xq, BT.astype(xq.dtype), m, Th, Tw, out)
    return out


@njit_parallel
def _input_transform_adjoint_kernel(dV, BT, m, Th, Tw, dxq):
    # dV: A*A, C, Th*Tw*N    dxq: Hp, C, m, Wq, N (lanes), accumulated into
    Hp, C, _, Wq, N = dxq.shape
    A = BT.shape[0]
    L = Tw * N
    for c in prange(C):  # tiles of one channel overlap; channels are independent outputs
        T = np.empty((A, A, L), dxq.dtype)  # private scratch of the iteration
        acc = np.empty(L, dxq.dtype)
        for ty in range(Th):
            for i in range(A):  # T[i, b] = sum_a BT[a, i] dV[a, b]
                for b in range(A):
                    t = T[i, b]
                    t[:] = 0
                    for a in range(A):
                        coef = BT[a, i]
                        if coef != 0:
                            src = dV[a * A + b, c, ty * L : (ty + 1) * L]
                            for k in range(L):
                                t[k] += coef * src[k]
            for i in range(A):  # dd[i, j] = sum_b T[i, b] BT[b, j], added where the tile read
                for j in range(A):
                    acc[:] = 0
                    for b in range(A):
                        coef = BT[b, j]
                        if coef != 0:
                            t = T[i, b]
                            for k in range(L):
                                acc[k] += coef * t[k]
                    dst = dxq[ty * m + i, c, j % m].reshape(-1)[(j // m) * N :]
                    for k in range(L):
                        dst[k] += acc[k]


def input_transform_adjoint_reference(dV, BT, m, Th, Tw, Hp, Wq):
    """Readable twin of :func:`_input_transform_adjoint_kernel`: ``BT^T dV BT`` per tile, overlap-added."""
    A2, C, P = dV.shape
    A = BT.shape[0]
    N = P // (Th * Tw)
    dd = np.einsum("ai,abcyxn,bj->cnyxij", BT, dV.reshape(A, A, C, Th, Tw, N), BT)
    dxp = np.zeros((C, N, Hp, Wq * m), dV.dtype)
    for i in range(A):
        for j in range(A):
            dxp[:, :, i : i + Th * m : m, j : j + Tw * m : m] += dd[..., i, j]
    return _lanes(dxp, m)


def input_transform_adjoint(dV, BT, m, Th, Tw, out):
    """Adjoint of :func:`input_transform`: every tile's ``BT^T dV BT`` added at its place, in lanes.

    Parameters
    ----------
    dV : ndarray, shape (A*A, C, Th*Tw*N)
    out : ndarray, shape (Hp, C, m, Wq, N), accumulated into (``+=``; zero it first)
    """
    A = BT.shape[0]
    Hp, C, _, Wq, N = out.shape
    _check_tiles(Hp, Wq, m, A, Th, Tw)
    _check(dV, (A * A, C, Th * Tw * N), out.dtype, "dV")
    _input_transform_adjoint_kernel(dV, BT.astype(out.dtype), m, Th, Tw, out)
    return out


def _check_tiles(Hp, Wq, m, A, Th, Tw):
    if Hp < (Th - 1) * m + A or Wq < Tw + (A - 1) // m:
        raise ValueError(f"lanes of {Hp} rows and {Wq} columns per phase do not hold {Th}x{Tw} tiles "
                         f"of {A}x{A} at step {m}")


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
                    coef = AT[i, a]
                    if coef != 0:
                        s = S[i, b]
                        for k in range(L):
                            s[k] += coef * src[k]
        for i in range(min(m, nrows - ty * m)):  # Y[i, j] = sum_b S[i, b] AT[j, b], inside the output
            for j in range(m):
                Y[:] = 0
                for b in range(A):
                    coef = AT[j, b]
                    if coef != 0:
                        s = S[i, b]
                        for k in range(L):
                            Y[k] += coef * s[k]
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
                    coef = AT[j, b]
                    if coef != 0:
                        s = S[i, b]
                        for k in range(L):
                            s[k] += coef * Y[k]
                Y[:] = 0
        for a in range(A):  # dM[a, b] = sum_i AT[i, a] S[i, b]
            for b in range(A):
                Y[:] = 0  # one lane summed in L1, then written once
                for i in range(m):
                    coef = AT[i, a]
                    if coef != 0:
                        s = S[i, b]
                        for k in range(L):
                            Y[k] += coef * s[k]
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
