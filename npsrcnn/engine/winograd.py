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
from .unfold import _check

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
    fractions out of the result.
    """
    F, C = w.shape[:2]
    A = G.shape[0]
    U = np.einsum("ai,fcij,bj->abfc", G, w.astype(np.float64), G)
    return np.ascontiguousarray(U.reshape(A * A, F, C), dtype=w.dtype)


def kernel_transform_adjoint(dU, G, dtype):
    """``dW = G^T dU G`` for every (f, c): dU (A*A, F, C) -> dW (F, C, r, r), in float64."""
    A2, F, C = dU.shape
    A = G.shape[0]
    dw = np.einsum("ai,abfc,bj->fcij", G, dU.astype(np.float64).reshape(A, A, F, C), G)
    return np.ascontiguousarray(dw, dtype=dtype)


# ------------------------------------------------------------------------------------ input transform


@njit_parallel
def _input_transform_kernel(xp, BT, m, Th, Tw, V):
    # xp: C, N, Hp, Wp (padded, Hp >= Th*m + A - m)   V: A*A, C, N*Th*Tw   (tile p = (n*Th + ty)*Tw + tx)
    C, N, Hp, Wp = xp.shape
    A = BT.shape[0]
    for cn in prange(C * N):  # each (c, n) owns its tiles' columns of V: independent outputs
        c = cn // N
        n = cn % N
        T = np.empty((A, A, Tw), xp.dtype)  # private scratch of one iteration: one row of tiles
        for ty in range(Th):
            for i in range(A):  # row i of every tile in the row: T[i, b] = sum_j d[i, j] BT[b, j]
                src = xp[c, n, ty * m + i]
                for b in range(A):
                    t = T[i, b]
                    t[:] = 0
                    for j in range(A):
                        coef = BT[b, j]
                        if coef != 0:
                            for tx in range(Tw):
                                t[tx] += coef * src[tx * m + j]
            p0 = (n * Th + ty) * Tw
            for a in range(A):  # V[a, b] = sum_i BT[a, i] T[i, b]
                for b in range(A):
                    dst = V[a * A + b, c, p0 : p0 + Tw]
                    dst[:] = 0
                    for i in range(A):
                        coef = BT[a, i]
                        if coef != 0:
                            for tx in range(Tw):
                                dst[tx] += coef * T[i, b, tx]


def input_transform_reference(xp, BT, m, Th, Tw):
    """Readable twin of :func:`_input_transform_kernel`: gather the A x A tiles, ``BT d BT^T`` each."""
    C, N = xp.shape[:2]
    A = BT.shape[0]
    rows = np.arange(Th)[:, None] * m + np.arange(A)  # Th, A
    cols = np.arange(Tw)[:, None] * m + np.arange(A)  # Tw, A
    d = xp[:, :, rows[:, None, :, None], cols[None, :, None, :]]  # C, N, Th, Tw, A, A
    V = np.einsum("ai,cnyxij,bj->abcnyx", BT, d, BT)
    return V.reshape(A * A, C, N * Th * Tw)


def input_transform(xp, BT, m, Th, Tw, out):
    """``V[a*A + b, c, p] = (BT d BT^T)[a, b]`` for the A x A tile d at row ty*m, column tx*m of `xp`.

    Parameters
    ----------
    xp : ndarray, shape (C, N, Hp, Wp), the padded input; Hp >= (Th - 1)*m + A, Wp likewise
    BT : ndarray, shape (A, A), same dtype
    m, Th, Tw : int, tile step (outputs per tile side) and tiles per column and row
    out : ndarray, shape (A*A, C, N*Th*Tw), filled
    """
    A = BT.shape[0]
    C, N, Hp, Wp = xp.shape
    if Hp < (Th - 1) * m + A or Wp < (Tw - 1) * m + A:
        raise ValueError(f"a {Hp}x{Wp} input does not hold {Th}x{Tw} tiles of {A}x{A} at step {m}")
    _check(out, (A * A, C, N * Th * Tw), xp.dtype, "V")
    _input_transform_kernel(xp, BT.astype(xp.dtype), m, Th, Tw, out)
    return out


@njit_parallel
def _input_transform_adjoint_kernel(dV, BT, m, Th, Tw, dxp):
    # dV: A*A, C, N*Th*Tw    dxp: C, N, Hp, Wp, filled (zeros outside the tiles)
    C, N, Hp, Wp = dxp.shape
    A = BT.shape[0]
    for cn in prange(C * N):  # each (c, n) owns the image dxp[c, n]: independent outputs
        c = cn // N
        n = cn % N
        dxp[c, n] = 0
        T = np.empty((A, A, Tw), dxp.dtype)  # private scratch of one iteration: one row of tiles
        for ty in range(Th):
            p0 = (n * Th + ty) * Tw
            for i in range(A):  # T[i, b] = sum_a BT[a, i] dV[a, b]
                for b in range(A):
                    t = T[i, b]
                    t[:] = 0
                    for a in range(A):
                        coef = BT[a, i]
                        if coef != 0:
                            src = dV[a * A + b, c, p0 : p0 + Tw]
                            for tx in range(Tw):
                                t[tx] += coef * src[tx]
            for i in range(A):  # dd[i, j] = sum_b T[i, b] BT[b, j], added where the tile read
                dst = dxp[c, n, ty * m + i]
                for j in range(A):
                    for b in range(A):
                        coef = BT[b, j]
                        if coef != 0:
                            for tx in range(Tw):
                                dst[tx * m + j] += coef * T[i, b, tx]


def input_transform_adjoint_reference(dV, BT, m, Th, Tw, Hp, Wp):
    """Readable twin of :func:`_input_transform_adjoint_kernel`: ``BT^T dV BT`` per tile, overlap-added."""
    A2, C, P = dV.shape
    A = BT.shape[0]
    N = P // (Th * Tw)
    dd = np.einsum("ai,abcnyx,bj->cnyxij", BT, dV.reshape(A, A, C, N, Th, Tw), BT)
    dxp = np.zeros((C, N, Hp, Wp), dV.dtype)
    for i in range(A):
        for j in range(A):
            dxp[:, :, i : i + Th * m : m, j : j + Tw * m : m] += dd[..., i, j]
    return dxp


def input_transform_adjoint(dV, BT, m, Th, Tw, out):
    """Adjoint of :func:`input_transform`: ``out[c, n] = sum over tiles of BT^T dV BT`` at each tile's place.

    Parameters
    ----------
    dV : ndarray, shape (A*A, C, N*Th*Tw)
    out : ndarray, shape (C, N, Hp, Wp), overwritten
    """
    A = BT.shape[0]
    C, N, Hp, Wp = out.shape
    if Hp < (Th - 1) * m + A or Wp < (Tw - 1) * m + A:
        raise ValueError(f"a {Hp}x{Wp} output does not hold {Th}x{Tw} tiles of {A}x{A} at step {m}")
    _check(dV, (A * A, C, N * Th * Tw), out.dtype, "dV")
    _input_transform_adjoint_kernel(dV, BT.astype(out.dtype), m, Th, Tw, out)
    return out


# ----------------------------------------------------------------------------------- output transform


@njit_parallel
def _output_transform_kernel(M, AT, m, Th, Tw, n0, r0, nrows, out):
    # M: A*A, F, Nb*Th*Tw    out: F, N, Ho, Wo; rows r0 .. r0+nrows-1 of images n0 .. written
    F, N, Ho, Wo = out.shape
    A = AT.shape[1]
    Nb = M.shape[2] // (Th * Tw)
    for fn in prange(F * Nb):  # each (f, n) owns out[f, n0+n]: independent outputs
        f = fn // Nb
        n = fn % Nb
        S = np.empty((m, A, Tw), M.dtype)  # private scratch of one iteration: one row of tiles
        for ty in range(Th):
            p0 = (n * Th + ty) * Tw
            for i in range(m):  # S[i, b] = sum_a AT[i, a] M[a, b]
                for b in range(A):
                    s = S[i, b]
                    s[:] = 0
                    for a in range(A):
                        coef = AT[i, a]
                        if coef != 0:
                            src = M[a * A + b, f, p0 : p0 + Tw]
                            for tx in range(Tw):
                                s[tx] += coef * src[tx]
            for i in range(min(m, nrows - ty * m)):  # Y[i, j] = sum_b S[i, b] AT[j, b], inside the output
                dst = out[f, n0 + n, r0 + ty * m + i]
                for j in range(m):
                    for tx in range(min(Tw, (Wo - j + m - 1) // m)):
                        v = 0.0
                        for b in range(A):
                            v += S[i, b, tx] * AT[j, b]
                        dst[tx * m + j] = v


def output_transform_reference(M, AT, m, Th, Tw, Ho, Wo):
    """Readable twin of :func:`_output_transform_kernel` (all rows): ``AT M AT^T`` per tile, cropped."""
    A2, F, P = M.shape
    A = AT.shape[1]
    N = P // (Th * Tw)
    Y = np.einsum("ia,abfnyx,jb->fnyixj", AT, M.reshape(A, A, F, N, Th, Tw), AT)
    return Y.reshape(F, N, Th * m, Tw * m)[:, :, :Ho, :Wo]


def output_transform(M, AT, m, Th, Tw, out, n0=0, r0=0, nrows=None):
    """``out[f, n0+n, r0 + ty*m + i, tx*m + j] = (AT M AT^T)[i, j]`` of tile (n, ty, tx), cropped.

    Parameters
    ----------
    M : ndarray, shape (A*A, F, Nb*Th*Tw), the products ``U @ V``
    AT : ndarray, shape (m, A)
    out : ndarray, shape (F, N, Ho, Wo); rows r0 .. r0+nrows-1 (default to the end) of images n0 ..
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
    # dout: F, N, Ho, Wo (rows r0 .. r0+nrows-1 of images n0 .. are read; the rest of a tile reads 0)
    # dM: A*A, F, Nb*Th*Tw, filled
    F, N, Ho, Wo = dout.shape
    A = AT.shape[1]
    Nb = dM.shape[2] // (Th * Tw)
    for fn in prange(F * Nb):  # each (f, n) owns its tiles' columns of dM: independent outputs
        f = fn // Nb
        n = fn % Nb
        S = np.empty((m, A, Tw), dM.dtype)  # private scratch of one iteration: one row of tiles
        for ty in range(Th):
            p0 = (n * Th + ty) * Tw
            for i in range(m):  # S[i, b] = sum_j dY[i, j] AT[j, b]
                S[i] = 0
                if ty * m + i >= nrows:
                    continue
                src = dout[f, n0 + n, r0 + ty * m + i]
                for j in range(m):
                    for tx in range(min(Tw, (Wo - j + m - 1) // m)):
                        v = src[tx * m + j]
                        for b in range(A):
                            S[i, b, tx] += v * AT[j, b]
            for a in range(A):  # dM[a, b] = sum_i AT[i, a] S[i, b]
                for b in range(A):
                    dst = dM[a * A + b, f, p0 : p0 + Tw]
                    dst[:] = 0
                    for i in range(m):
                        coef = AT[i, a]
                        if coef != 0:
                            for tx in range(Tw):
                                dst[tx] += coef * S[i, b, tx]


def output_transform_adjoint_reference(dout, AT, m, Th, Tw):
    """Readable twin of :func:`_output_transform_adjoint_kernel` (all rows): zero-pad dout to whole
    tiles, then ``AT^T dY AT`` per tile."""
    F, N, Ho, Wo = dout.shape
    A = AT.shape[1]
    dY = np.zeros((F, N, Th * m, Tw * m), dout.dtype)
    dY[:, :, :Ho, :Wo] = dout
    dM = np.einsum("ia,fnyixj,jb->abfnyx", AT, dY.reshape(F, N, Th, m, Tw, m), AT)
    return dM.reshape(A * A, F, N * Th * Tw)


def output_transform_adjoint(dout, AT, m, Th, Tw, out, n0=0, r0=0, nrows=None):
    """Adjoint of :func:`output_transform`: ``dM = AT^T dY AT`` per tile of dout (zeros past its edge).

    Parameters
    ----------
    dout : ndarray, shape (F, N, Ho, Wo)
    out : ndarray, shape (A*A, F, Nb*Th*Tw), filled from rows r0 .. r0+nrows-1 of images n0 .. n0+Nb-1
    """
    A = AT.shape[1]
    F, N, Ho, Wo = dout.shape
    nrows = Ho - r0 if nrows is None else nrows
    _check(dout, dout.shape, out.dtype, "dout")
    _check(out, (A * A, F, out.shape[2]), dout.dtype, "dM")
    _output_transform_adjoint_kernel(dout, AT.astype(dout.dtype), m, Th, Tw, n0, r0, nrows, out)
    return out

