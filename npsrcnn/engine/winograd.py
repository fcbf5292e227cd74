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
``M = U @ V`` (A^2 GEMMs, F x C by C x P), and ``out = AT M AT^T`` tile by tile. :func:`tile_transform`
makes V straight from the pixels: pad, pack into lanes, BT along the rows (each padded row once: the
A - m rows that consecutive rows of tiles share wait in a ring), then along the columns.

Backward is the adjoint of the same steps (each kernel here has its adjoint beside it):
``dM = AT^T dout AT`` (:func:`output_transform_adjoint`), ``dU = dM @ V^T`` -> ``dW = G^T dU G``,
and ``dV = U^T @ dM`` -> :func:`tile_transform_adjoint` -> dx.
dX so reuses the dout transform that dW needs and works on the tiles of dout (Ho x Wo), not on those
of a zero-padded 'full' correlation with flipped kernels (H x W: 169 tiles of 2x2 instead of 121 for
a 25x25 patch), and the adjoint of the padding folds replicated pixels' gradient onto the edge.

Padding: the input is padded first, then convolved 'valid'; the tile transform reads it with the
zero or clamped reads and offsets of every other strategy (:mod:`npsrcnn.engine.unfold`). Tiles that
stick out past the output (Ho or Wo not a multiple of m) read padding there and their outputs are
dropped; their dout is read as zero, so they add nothing to dW or dX.

Error: the transforms of larger tiles have larger coefficients (F(4x4, 5x5)'s points reach 1/2 and
2 in the fourth power), so float32 rounding grows with m; tests/test_winograd.py measures both against
a float64 reference.
"""
import math
from fractions import Fraction

import numpy as np
from numba import prange

from ..util.jit import njit, njit_parallel
from .unfold import _check, _src, col2im_reference, im2col_reference

# Interpolation points, in the order wincnn and Lavin use them: the tile of m outputs and r taps needs
# the first m + r - 2 of them (and the point at infinity). Small magnitudes keep the rounding error
# down; 1/2 and -1/2 only enter for F(4x4, 5x5).
POINTS = (0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2))


@njit
def _sum8(d, s0, s1, s2, s3, s4, s5, s6, s7, c):
    """``d[k] = sum_i c[i] * s_i[k]`` over eight lanes, in one pass (the sum stays in a register).

    The transforms' inner loop: eight terms whatever the tile (c is padded with zeros and the spare
    lanes repeat a real one), so LLVM unrolls the sum and vectorises over k. The products are added in
    order, as a loop over i that skips zeros would add them (+0 changes no sum). Lanes are 1-D
    slices: indexing one array at ``o + k`` would wrap the index of unknown sign per element, which
    stops the vectorisation.
    """
    c0, c1, c2, c3, c4, c5, c6, c7 = c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
    for k in range(len(d)):
        d[k] = (((((((c0 * s0[k] + c1 * s1[k]) + c2 * s2[k]) + c3 * s3[k]) + c4 * s4[k]) + c5 * s5[k])
                 + c6 * s6[k]) + c7 * s7[k])


@njit
def _add8(d, s0, s1, s2, s3, s4, s5, s6, s7, c):
    """``d[k] += sum_i c[i] * s_i[k]``: :func:`_sum8`, added onto d."""
    c0, c1, c2, c3, c4, c5, c6, c7 = c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
    for k in range(len(d)):
        d[k] += (((((((c0 * s0[k] + c1 * s1[k]) + c2 * s2[k]) + c3 * s3[k]) + c4 * s4[k]) + c5 * s5[k])
                  + c6 * s6[k]) + c7 * s7[k])


# ---------------------------------------------------- F(4x4, 5x5) by hand: the transforms' structure
# The points 0, +-1, +-2, +-1/2 come in pairs: BT's rows 1/2, 3/4 and 5/6 are e + o and e - o of one even
# and one odd part, AT's columns likewise. Spelled out (as NNPACK and oneDNN spell their transforms) a
# tile value costs 32 multiply-adds instead of _sum8's 64 for BT, and the eight outputs come out of one
# pass over the lanes: 8 loads and 8 stores per lane instead of 64 loads and 8 stores. Each is tested
# against the matrix it spells (tests/test_winograd.py); the kernels take them for F(4x4, 5x5) only.


# The constants below, in the arrays' dtype (a Python int or float times a float32 is a float64 in Numba).
F45_CONSTANTS = (2, 4, 5, 8, 10, 16, 17, 21, 32, 64, 80, 128, 160, 0.5, 0.25, 0.125)


@njit
def _bt_f45(o0, o1, o2, o3, o4, o5, o6, o7, s0, s1, s2, s3, s4, s5, s6, s7, c):
    """``o_b[k] = sum_j BT[b, j] s_j[k]`` for F(4x4, 5x5)'s BT; c: :data:`F45_CONSTANTS`."""
    c2, c4, c5, c10, c16, c17, c21, c32 = c[0], c[1], c[2], c[4], c[5], c[6], c[7], c[8]
    for k in range(len(o0)):
        d0, d1, d2, d3, d4, d5, d6, d7 = s0[k], s1[k], s2[k], s3[k], s4[k], s5[k], s6[k], s7[k]
        o0[k] = c4 * (d0 - d6) + c21 * (d4 - d2)
        o7[k] = c4 * (d7 - d1) + c21 * (d3 - d5)
        e, o = c17 * d4 - c4 * (d2 + d6), c17 * d3 - c4 * (d1 + d5)
        o1[k], o2[k] = e + o, e - o
        e, o = (d2 + c4 * d6) - c5 * d4, c2 * (d1 + c4 * d5) - c10 * d3
        o3[k], o4[k] = e + o, e - o
        e, o = c32 * ((c4 * d2 + d6) - c5 * d4), c16 * ((c4 * d1 + d5) - c5 * d3)
        o5[k], o6[k] = e + o, e - o


@njit
def _btt_add_f45(o0, o1, o2, o3, o4, o5, o6, o7, r0, r1, r2, r3, r4, r5, r6, r7, c):
    """``o_j[k] += sum_b BT[b, j] r_b[k]``: the adjoint of :func:`_bt_f45`, added on."""
    c2, c4, c5, c8, c10, c16, c17, c21 = c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
    c32, c64, c80, c128, c160 = c[8], c[9], c[10], c[11], c[12]
    for k in range(len(o0)):
        a0, a7 = r0[k], r7[k]
        p1, q1, p3, q3 = r1[k] + r2[k], r1[k] - r2[k], r3[k] + r4[k], r3[k] - r4[k]
        p5, q5 = r5[k] + r6[k], r5[k] - r6[k]
        o0[k] += c4 * a0
        o1[k] += (c2 * q3 - c4 * (q1 + a7)) + c64 * q5
        o2[k] += (p3 - c4 * p1 - c21 * a0) + c128 * p5
        o3[k] += (c17 * q1 - c10 * q3 + c21 * a7) - c80 * q5
        o4[k] += (c21 * a0 + c17 * p1 - c5 * p3) - c160 * p5
        o5[k] += (c8 * q3 - c4 * q1 - c21 * a7) + c16 * q5
        o6[k] += c4 * (p3 - p1 - a0) + c32 * p5
        o7[k] += c4 * a7


@njit
def _at_f45(o0, o1, o2, o3, s0, s1, s2, s3, s4, s5, s6, s7, c):
    """``o_i[k] = sum_a AT[i, a] s_a[k]`` for F(4x4, 5x5)'s AT."""
    c2, c4, c8, h1, h2, h3 = c[0], c[1], c[3], c[13], c[14], c[15]
    for k in range(len(o0)):
        p1, q1, p3, q3 = s1[k] + s2[k], s1[k] - s2[k], s3[k] + s4[k], s3[k] - s4[k]
        p5, q5 = s5[k] + s6[k], s5[k] - s6[k]
        o0[k] = s0[k] + p1 + p3 + p5
        o1[k] = q1 + c2 * q3 + h1 * q5
        o2[k] = p1 + c4 * p3 + h2 * p5
        o3[k] = q1 + c8 * q3 + h3 * q5 + s7[k]


@njit
def _att_f45(o0, o1, o2, o3, o4, o5, o6, o7, y0, y1, y2, y3, c):
    """``o_a[k] = sum_i AT[i, a] y_i[k]``: the adjoint of :func:`_at_f45`."""
    c2, c4, c8, h1, h2, h3 = c[0], c[1], c[3], c[13], c[14], c[15]
    for k in range(len(o0)):
        a, b, d, f = y0[k], y1[k], y2[k], y3[k]
        o0[k] = a
        e, o = a + d, b + f
        o1[k], o2[k] = e + o, e - o
        e, o = a + c4 * d, c2 * b + c8 * f
        o3[k], o4[k] = e + o, e - o
        e, o = a + h2 * d, h1 * b + h3 * f
        o5[k], o6[k] = e + o, e - o
        o7[k] = f


def _pad8(M):
    """M (rows, cols <= 8) with its columns padded to 8 by zeros: the coefficients of :func:`_sum8`."""
    out = np.zeros((M.shape[0], 8), M.dtype)
    out[:, : M.shape[1]] = M
    return out


# F(4x4, 5x5)'s transforms spelled out by hand (the _*_f45 kernels) rather than as _sum8's matrix rows;
# False: every tile size through _sum8 (the slower, plainer formulation the hand-written one is checked
# against in tests/test_winograd.py).
HAND_F45 = True


def _c45(m, A, dtype):
    """The constants of the hand-written F(4x4, 5x5) kernels in `dtype`, or an empty array: not F(4x4, 5x5)."""
    return np.array(F45_CONSTANTS if HAND_F45 and (m, A) == (4, 8) else (), dtype)


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
    """``U = G w G^T`` for every (f, c): shape (A*A, F, C), summed in float64, rounded to w's dtype.

    Float64 keeps the rounding of G's fractions out of the result. Small (F*C matrices of r x r) but
    paid per call, so per training sub-batch: a kernel over runs of channels rather than NumPy's
    tensordots (1.05 -> 0.24 ms for 9-5-5 layer 2, one sub-batch).
    """
    F, C = w.shape[:2]
    A = G.shape[0]
    G = G.astype(np.float64)
    U = _sandwich_kernel(np.ascontiguousarray(w.transpose(0, 2, 3, 1), dtype=np.float64), G, G)  # F, A, A, C
    return np.ascontiguousarray(U.transpose(1, 2, 0, 3).reshape(A * A, F, C), dtype=w.dtype)


def kernel_transform_adjoint(dU, G, dtype):
    """``dW = G^T dU G`` for every (f, c): dU (A*A, F, C), any strides -> dW (F, C, r, r), in float64."""
    A2, F, C = dU.shape
    A = G.shape[0]
    Gt = np.ascontiguousarray(G.T, dtype=np.float64)
    X = np.ascontiguousarray(dU.reshape(A, A, F, C).transpose(2, 0, 1, 3), dtype=np.float64)  # F, A, A, C
    return np.ascontiguousarray(_sandwich_kernel(X, Gt, Gt).transpose(0, 3, 1, 2), dtype=dtype)


@njit
def _sandwich_kernel(X, P, Q):
    # X: F, I, J, C    P: p x I, Q: q x J (float64) -> out[f, p, q] = sum_ij P[p, i] X[f, i, j] Q[q, j],
    # every inner loop over the C channels (vectorised)
    F, I, J, C = X.shape
    out = np.empty((F, P.shape[0], Q.shape[0], C))
    t = np.empty((I, Q.shape[0], C))
    for f in range(F):
        for i in range(I):  # t[i, q] = sum_j X[i, j] Q[q, j]
            for q in range(Q.shape[0]):
                s = t[i, q]
                s[:] = 0
                for j in range(J):
                    g, src = Q[q, j], X[f, i, j]
                    for k in range(C):
                        s[k] += g * src[k]
        for p in range(P.shape[0]):  # out[p, q] = sum_i P[p, i] t[i, q]
            for q in range(Q.shape[0]):
                s = out[f, p, q]
                s[:] = 0
                for i in range(I):
                    g, src = P[p, i], t[i, q]
                    for k in range(C):
                        s[k] += g * src[k]
    return out


# ---------------------------------------------------------------- input transform: tiles from pixels
# ``BT d BT^T`` of every tile is BT along each row of the tile, then along each column. One iteration
# of the kernel (a channel, a row of tiles) pads and row-transforms the A input rows its tiles read
# into "lanes", ``Rt[i, b, tx*N + n]``: a lane holds one transformed value of every tile of the row and
# every image, so the column half and the GEMMs run over long contiguous runs, for a batch of small
# patches (Tw = 6, N = 32: 192) as for a wide strip (Tw = 128, N = 1). Then it transforms the columns
# into V. Rt (48 KB for 32 patches of 9-5-5 layer 2) never leaves the core; the rows that neighbouring
# tile rows share (A - m of A) are row-transformed once per tile row that reads them, which costs
# arithmetic, not memory traffic. (Writing all rows' lanes out, 11 MB there, and reading them back per
# block of tile rows took 2.5x as long.) Tile p of V and M is (ty*Tw + tx)*N + n for the same reason.


def tile_transform_reference(x, BT, m, Th, Tw, row_off, col_off, replicate):
    """Readable twin of :func:`_tile_transform_kernel` (all images, tile rows 0 .. Th-1): pad (a 1x1
    im2col), gather each tile's columns and apply BT, then gather each tile's rows and apply BT."""
    C, N = x.shape[:2]
    A = BT.shape[0]
    Hp = (Th - 1) * m + A
    xp = im2col_reference(x, 1, 1, Hp, (Tw - 1) * m + A, row_off, col_off, replicate)  # C, N, Hp, Wp
    d = xp[:, :, :, _tile_index(m, A, Tw)]  # C, N, Hp, Tw, A
    R = np.einsum("bj,cnytj->ycbtn", BT, d).reshape(Hp, C, A, Tw * N)  # rows done, in lanes
    Rt = R[_tile_index(m, A, Th)]  # Th, A, C, A, L
    return np.einsum("ai,yicbk->abcyk", BT, Rt).reshape(A * A, C, Th * Tw * N)


def tile_transform_adjoint_reference(dV, BT, m, Th, Tw, H, W, row_off, col_off, replicate):
    """Readable twin of :func:`_tile_transform_adjoint_kernel` (into zeros): BT^T on each tile's
    columns, overlap-added over the rows the tiles share; BT^T on each row, overlap-added along the
    row; then a 1x1 col2im (clamped reads add onto the edge)."""
    A2, C, P = dV.shape
    A = BT.shape[0]
    L = P // Th
    N = L // Tw
    Hp = (Th - 1) * m + A
    dRt = np.einsum("ai,abcyk->yicbk", BT, dV.reshape(A, A, C, Th, L))  # Th, A, C, A, L
    dR = np.zeros((Hp, C, A, L), dV.dtype)
    for i in range(A):
        dR[i : i + Th * m : m] += dRt[:, i]
    dd = np.einsum("bj,ycbtn->cnytj", BT, dR.reshape(Hp, C, A, Tw, N))  # C, N, Hp, Tw, A
    dxp = np.zeros((C, N, Hp, (Tw - 1) * m + A), dV.dtype)
    for j in range(A):
        dxp[:, :, :, j : j + Tw * m : m] += dd[..., j]
    return col2im_reference(dxp, 1, 1, H, W, row_off, col_off, replicate)


def _tile_index(m, A, T):
    """Rows (or columns) read by T tiles of side A at step m: shape (T, A)."""
    return np.arange(T)[:, None] * m + np.arange(A)


@njit
def _deal(ln, row, m, col_off, Wq, replicate):
    """``ln[ph, q] = row[col_off + q*m + ph]``: one padded row dealt into m lanes by column phase.

    The lanes of one image (inference strips). Tiles whose m reads all lie inside the row are copied
    without a per-pixel padding test; the few at the edges read through :func:`_src`.
    """
    W = len(row)
    q0 = 0  # [q0, q1): the tiles that read inside the row
    while q0 < Wq and col_off + q0 * m < 0:
        q0 += 1
    q1 = q0
    while q1 < Wq and col_off + q1 * m + m <= W:
        q1 += 1
    for q in range(Wq):
        if q < q0 or q >= q1:
            for ph in range(m):
                xc = _src(col_off + q * m + ph, W, replicate)
                ln[ph, q] = row[xc] if xc >= 0 else 0
    for ph in range(m):
        d, s = ln[ph, q0:q1], row[col_off + q0 * m + ph :]
        for k in range(len(d)):
            d[k] = s[k * m]


@njit_parallel
def _tile_transform_kernel(x, B8, m, Nb, n0, row_off, col_off, replicate, ty0, Th, ring, first, V, c45):
    # x: C, N, H, W    B8: BT, columns padded to 8 with zeros    V: A*A, C, Th*L (L = Tw*Nb), tile
    # rows ty0 .. ty0+Th-1 of the padded input    ring: C, A, A, L, each channel's last A padded rows,
    # row-transformed, padded row p in slot p % A (the rows a block shares with the next)
    C, N, H, W = x.shape
    A = B8.shape[0]
    L = V.shape[2] // Th
    Wq = L // Nb + (A - 1) // m
    e = np.array([min(i, A - 1) for i in range(8)])  # the lane of term i of _sum8 (past A: any, times 0)
    for c in prange(C):  # one channel's tile rows in order: each reuses the A - m rows of the last
        ln = np.empty((m, Wq * Nb), V.dtype)  # one padded input row by column phase, image last
        Rt = ring[c]
        for ty in range(Th):
            p0 = (ty0 + ty) * m  # the tile row's first padded row
            for i in range(0 if ty == 0 and first else A - m, A):
                y = _src(row_off + p0 + i, H, replicate)
                if y < 0:
                    ln[:] = 0  # a row of zero padding
                elif Nb == 1:  # one image (inference strips): the lanes are its tiles
                    _deal(ln, x[c, n0, y], m, col_off, Wq, replicate)
                else:
                    if not replicate and (col_off < 0 or col_off + Wq * m > W):
                        ln[:] = 0  # some reads are zero padding
                    for ph in range(m):
                        for q in range(Wq):
                            xc = _src(col_off + q * m + ph, W, replicate)
                            if xc >= 0:
                                for n in range(Nb):
                                    ln[ph, q * Nb + n] = x[c, n0 + n, y, xc]
                # (each slice made once: making one costs a reference count, shared between the threads)
                s0, s1 = ln[e[0] % m, (e[0] // m) * Nb :], ln[e[1] % m, (e[1] // m) * Nb :]
                s2, s3 = ln[e[2] % m, (e[2] // m) * Nb :], ln[e[3] % m, (e[3] // m) * Nb :]
                s4, s5 = ln[e[4] % m, (e[4] // m) * Nb :], ln[e[5] % m, (e[5] // m) * Nb :]
                s6, s7 = ln[e[6] % m, (e[6] // m) * Nb :], ln[e[7] % m, (e[7] // m) * Nb :]
                R = Rt[(p0 + i) % A]  # R[b] = sum_j BT[b, j] (value j of every tile of the row)
                if len(c45):
                    _bt_f45(R[0], R[1], R[2], R[3], R[4], R[5], R[6], R[7], s0, s1, s2, s3, s4, s5, s6, s7, c45)
                else:
                    for b in range(A):
                        _sum8(R[b], s0, s1, s2, s3, s4, s5, s6, s7, B8[b])
            t0, t1 = ty * L, (ty + 1) * L
            for b in range(A):  # V[a, b] = sum_i BT[a, i] Rt[row i, b]
                s0, s1 = Rt[(p0 + e[0]) % A, b], Rt[(p0 + e[1]) % A, b]
                s2, s3 = Rt[(p0 + e[2]) % A, b], Rt[(p0 + e[3]) % A, b]
                s4, s5 = Rt[(p0 + e[4]) % A, b], Rt[(p0 + e[5]) % A, b]
                s6, s7 = Rt[(p0 + e[6]) % A, b], Rt[(p0 + e[7]) % A, b]
                if len(c45):
                    _bt_f45(V[b, c, t0:t1], V[8 + b, c, t0:t1], V[16 + b, c, t0:t1], V[24 + b, c, t0:t1],
                            V[32 + b, c, t0:t1], V[40 + b, c, t0:t1], V[48 + b, c, t0:t1], V[56 + b, c, t0:t1],
                            s0, s1, s2, s3, s4, s5, s6, s7, c45)
                    continue
                for a in range(A):
                    _sum8(V[a * A + b, c, t0:t1], s0, s1, s2, s3, s4, s5, s6, s7, B8[a])


def tile_transform(x, BT, m, Tw, row_off, col_off, replicate, out, n0=0, Nb=None, ty0=0, ring=None, first=True):
    """``V = BT d BT^T`` of every tile of tile rows ty0 .. ty0+Th-1, straight from the pixels.

    Equal to :func:`tile_transform_reference` to rounding (each sum in order, :func:`_sum8`). Each
    padded input row is row-transformed once: a row of tiles reads A rows, A - m of them shared with
    the next. Blocks of tile rows transformed one after another pass those rows on in `ring`: give
    the same buffer to every block of a chunk, ``first=True`` for its first block.

    Parameters
    ----------
    x : ndarray, shape (C, N, H, W), channel-major; images n0 .. n0+Nb-1 are read
    BT : ndarray, shape (A, A); m : int, the tile step; Tw : int, tiles per row
    row_off, col_off, replicate : the read convention of :mod:`npsrcnn.engine.unfold`, for tile row 0
    out : ndarray, shape (A*A, C, Th*Tw*Nb): V, tile (ty, tx, n) at column ``(ty*Tw + tx)*Nb + n``
    ring : ndarray, shape (C, A, A, Tw*Nb), optional: scratch, carried from the previous block
        (tile rows ty0 - Th' .. ty0 - 1) when `first` is False; made here if None
    """
    C, N = x.shape[:2]
    A = BT.shape[0]
    Nb = N - n0 if Nb is None else Nb
    P = out.shape[2]
    if P % (Tw * Nb):
        raise ValueError(f"V's {P} columns are not whole rows of {Tw} x {Nb} tiles")
    _check(out, (A * A, C, P), x.dtype, "V")
    if A > 8:
        raise ValueError(f"tiles of {A} values: the kernels take at most 8")
    if ring is None:
        if not first:
            raise ValueError("a block that is not the first needs the ring of the block before it")
        ring = np.empty((C, A, A, Tw * Nb), x.dtype)
    _check(ring, (C, A, A, Tw * Nb), x.dtype, "ring")
    _tile_transform_kernel(np.ascontiguousarray(x), _pad8(BT.astype(x.dtype)), m, Nb, n0, row_off, col_off,
                           bool(replicate), ty0, P // (Tw * Nb), ring, bool(first), out, _c45(m, A, x.dtype))
    return out


@njit_parallel
def _tile_transform_adjoint_kernel(dV, BTt8, m, Nb, n0, row_off, col_off, replicate, ty0, Th, carry, first, last,
                                   dx, c45):
    # dV: A*A, C, Th*L    BTt8: BT^T, columns padded to 8    carry: C, A-m, A, L (rows shared with the
    # next or previous block of tile rows)    dx: C, N, H, W, accumulated into
    C, N, H, W = dx.shape
    A = BTt8.shape[0]
    L = dV.shape[2] // Th
    Wq = L // Nb + (A - 1) // m
    Hb = (Th - 1) * m + A  # padded rows the block's tiles read
    S = A - m  # of them, rows shared with the next block's
    e = np.array([min(i, A - 1) for i in range(8)])
    for c in prange(C):  # under replicate several rows land on one edge row: a channel per thread
        dR = np.empty((Hb, A, L), dx.dtype)  # the block's rows before the rows' adjoint
        if first:
            dR[:] = 0
        else:
            dR[:S] = carry[c]
            dR[S:] = 0
        for ty in range(Th):  # dR[ty*m + i, b] += sum_a BT[a, i] dV[a, b] (the columns' adjoint)
            t = ty * L
            for b in range(A):
                s0, s1 = dV[e[0] * A + b, c, t : t + L], dV[e[1] * A + b, c, t : t + L]
                s2, s3 = dV[e[2] * A + b, c, t : t + L], dV[e[3] * A + b, c, t : t + L]
                s4, s5 = dV[e[4] * A + b, c, t : t + L], dV[e[5] * A + b, c, t : t + L]
                s6, s7 = dV[e[6] * A + b, c, t : t + L], dV[e[7] * A + b, c, t : t + L]
                if len(c45):
                    r = ty * m
                    _btt_add_f45(dR[r, b], dR[r + 1, b], dR[r + 2, b], dR[r + 3, b], dR[r + 4, b], dR[r + 5, b],
                                 dR[r + 6, b], dR[r + 7, b], s0, s1, s2, s3, s4, s5, s6, s7, c45)
                    continue
                for i in range(A):
                    _add8(dR[ty * m + i, b], s0, s1, s2, s3, s4, s5, s6, s7, BTt8[i])
        done = Hb
        if not last:  # the next block adds to its first rows: hand them on
            done = Hb - S
            carry[c] = dR[done:]
        ln = np.empty((m, Wq * Nb), dx.dtype)
        T = np.empty((A, L), dx.dtype)  # F(4x4, 5x5): the rows' adjoint of one row, value j in T[j]
        for yp in range(done):  # the rows' adjoint: value j of every tile += sum_b BT[b, j] dR[yp, b]
            y = _src(row_off + ty0 * m + yp, H, replicate)
            if y < 0:
                continue
            r = dR[yp]
            r0, r1, r2, r3, r4, r5, r6, r7 = r[e[0]], r[e[1]], r[e[2]], r[e[3]], r[e[4]], r[e[5]], r[e[6]], r[e[7]]
            if len(c45):  # values j and j + 4 of a row of tiles land on one lane, Nb apart: summed here
                T[:] = 0
                _btt_add_f45(T[0], T[1], T[2], T[3], T[4], T[5], T[6], T[7], r0, r1, r2, r3, r4, r5, r6, r7, c45)
                for ph in range(m):
                    lo, hi, t0, t1 = ln[ph], ln[ph, Nb:], T[ph], T[ph + m]
                    for k in range(L):
                        lo[k] = t0[k]
                    ln[ph, L:] = 0
                    for k in range(L):
                        hi[k] += t1[k]
            else:
                ln[:] = 0
                for j in range(A):
                    o = (j // m) * Nb
                    _add8(ln[j % m, o : o + L], r0, r1, r2, r3, r4, r5, r6, r7, BTt8[j])
            for ph in range(m):
                for q in range(Wq):
                    xc = _src(col_off + q * m + ph, W, replicate)
                    if xc >= 0:
                        for n in range(Nb):
                            dx[c, n0 + n, y, xc] += ln[ph, q * Nb + n]


def tile_transform_adjoint(dV, BT, m, Tw, row_off, col_off, replicate, dx, n0=0, Nb=None, ty0=0, carry=None,
                           first=True, last=True):
    """Adjoint of :func:`tile_transform`: add V's gradient onto the pixels its tiles read (``dx +=``).

    Per channel, the columns' adjoint of every tile row is summed into the rows they read, then each
    row gets the rows' adjoint once and is added onto dx. Equal to
    :func:`tile_transform_adjoint_reference` to rounding.

    Parameters
    ----------
    dV : ndarray, shape (A*A, C, Th*Tw*Nb)
    dx : ndarray, shape (C, N, H, W), accumulated into (images n0 .. n0+Nb-1)
    carry : ndarray, shape (C, A-m, A, Tw*Nb), optional
        For consecutive blocks of tile rows of the same images: the rows a block shares with the next
        (A - m of them) are left here (``last=False``) and taken up by the next (``first=False``), so
        that they too get the rows' adjoint once.
    """
    A2, C, P = dV.shape
    A = BT.shape[0]
    Nb = dx.shape[1] - n0 if Nb is None else Nb
    if P % (Tw * Nb) or A2 != A * A:
        raise ValueError(f"dV {dV.shape} is not rows of {Tw} x {Nb} tiles of {A} x {A}")
    if A > 8:
        raise ValueError(f"tiles of {A} values: the kernels take at most 8")
    _check(dx, (C,) + dx.shape[1:], dV.dtype, "dx")
    if carry is None:
        if not (first and last):
            raise ValueError("a block that is not both first and last needs a carry buffer")
        carry = np.empty((C, A - m, A, Tw * Nb), dV.dtype)
    _check(carry, (C, A - m, A, Tw * Nb), dV.dtype, "carry")
    _tile_transform_adjoint_kernel(dV, _pad8(BT.T.astype(dV.dtype)), m, Nb, n0, row_off, col_off,
                                   bool(replicate), ty0, P // (Tw * Nb), carry, bool(first), bool(last), dx,
                                   _c45(m, A, dV.dtype))
    return dx


# ----------------------------------------------------------------------------------- output transform


@njit_parallel
def _output_transform_kernel(M, AT8, m, Th, Tw, n0, r0, nrows, out, c45):
    # M: A*A, F, Th*Tw*Nb    AT8: AT (m, A), columns padded to 8    out: F, N, Ho, Wo; rows r0 ..
    # r0+nrows-1 of images n0 .. n0+Nb-1 written
    F, N, Ho, Wo = out.shape
    A = int(round(np.sqrt(M.shape[0])))
    Nb = M.shape[2] // (Th * Tw)
    L = Tw * Nb
    e = np.array([min(i, A - 1) for i in range(8)])  # the lane of term i of _sum8 (past A: times 0)
    for fy in prange(F * Th):  # one row of tiles of one output channel: independent outputs
        f = fy // Th
        ty = fy % Th
        t = ty * L
        S = np.empty((m, A, L), M.dtype)  # private scratch of the iteration
        Ym = np.empty((m, L), M.dtype)  # the m values j of a row i of every tile
        for b in range(A):  # S[i, b] = sum_a AT[i, a] M[a, b]
            s0, s1, s2, s3 = M[e[0] * A + b, f, t : t + L], M[e[1] * A + b, f, t : t + L], \
                M[e[2] * A + b, f, t : t + L], M[e[3] * A + b, f, t : t + L]
            s4, s5, s6, s7 = M[e[4] * A + b, f, t : t + L], M[e[5] * A + b, f, t : t + L], \
                M[e[6] * A + b, f, t : t + L], M[e[7] * A + b, f, t : t + L]
            if len(c45):
                _at_f45(S[0, b], S[1, b], S[2, b], S[3, b], s0, s1, s2, s3, s4, s5, s6, s7, c45)
                continue
            for i in range(m):
                _sum8(S[i, b], s0, s1, s2, s3, s4, s5, s6, s7, AT8[i])
        for i in range(min(m, nrows - ty * m)):  # Y[i, j] = sum_b S[i, b] AT[j, b], inside the output
            s0, s1, s2, s3 = S[i, e[0]], S[i, e[1]], S[i, e[2]], S[i, e[3]]
            s4, s5, s6, s7 = S[i, e[4]], S[i, e[5]], S[i, e[6]], S[i, e[7]]
            if len(c45):
                _at_f45(Ym[0], Ym[1], Ym[2], Ym[3], s0, s1, s2, s3, s4, s5, s6, s7, c45)
            else:
                for j in range(m):
                    _sum8(Ym[j], s0, s1, s2, s3, s4, s5, s6, s7, AT8[j])
            for j in range(m):
                Y = Ym[j]
                if Nb == 1:  # one image (inference strips): a strided store into its row
                    d = out[f, n0, r0 + ty * m + i, j:]
                    for tx in range(min(Tw, (Wo - j + m - 1) // m)):
                        d[tx * m] = Y[tx]
                    continue
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
    if A > 8:
        raise ValueError(f"tiles of {A} values: the kernels take at most 8")
    _output_transform_kernel(M, _pad8(AT.astype(M.dtype)), m, Th, Tw, n0, r0, nrows, out, _c45(m, A, M.dtype))
    return out


@njit_parallel
def _output_transform_adjoint_kernel(dout, ATt8, m, Th, Tw, n0, r0, nrows, dM, c45):
    # dout: F, N, Ho, Wo (rows r0 .. r0+nrows-1 of images n0 .. read; a tile past them reads 0)
    # ATt8: AT^T (A, m), columns padded to 8    dM: A*A, F, Th*Tw*Nb, filled
    F, N, Ho, Wo = dout.shape
    A = ATt8.shape[0]
    Nb = dM.shape[2] // (Th * Tw)
    L = Tw * Nb
    e = np.array([min(i, m - 1) for i in range(8)])  # the lane of term i of _sum8 (past m: times 0)
    for fy in prange(F * Th):  # one row of tiles of one output channel: independent outputs
        f = fy // Th
        ty = fy % Th
        t = ty * L
        S = np.zeros((m, A, L), dM.dtype)  # private scratch of the iteration (rows past dout stay 0)
        Y = np.zeros((m, L), dM.dtype)  # dY[i, j] of every tile, j = 0 .. m-1
        for i in range(min(m, nrows - ty * m)):  # S[i, b] = sum_j dY[i, j] AT[j, b]
            for j in range(m):
                for tx in range(min(Tw, (Wo - j + m - 1) // m)):
                    for n in range(Nb):
                        Y[j, tx * Nb + n] = dout[f, n0 + n, r0 + ty * m + i, tx * m + j]
            if len(c45):
                _att_f45(S[i, 0], S[i, 1], S[i, 2], S[i, 3], S[i, 4], S[i, 5], S[i, 6], S[i, 7], Y[0], Y[1], Y[2], Y[3],
                         c45)
                continue
            s0, s1, s2, s3, s4, s5, s6, s7 = Y[e[0]], Y[e[1]], Y[e[2]], Y[e[3]], Y[e[4]], Y[e[5]], Y[e[6]], Y[e[7]]
            for b in range(A):
                _sum8(S[i, b], s0, s1, s2, s3, s4, s5, s6, s7, ATt8[b])
        for b in range(A):  # dM[a, b] = sum_i AT[i, a] S[i, b]
            if len(c45):
                _att_f45(dM[b, f, t : t + L], dM[8 + b, f, t : t + L], dM[16 + b, f, t : t + L],
                         dM[24 + b, f, t : t + L], dM[32 + b, f, t : t + L], dM[40 + b, f, t : t + L],
                         dM[48 + b, f, t : t + L], dM[56 + b, f, t : t + L], S[0, b], S[1, b], S[2, b], S[3, b], c45)
                continue
            s0, s1, s2, s3 = S[e[0], b], S[e[1], b], S[e[2], b], S[e[3], b]
            s4, s5, s6, s7 = S[e[4], b], S[e[5], b], S[e[6], b], S[e[7], b]
            for a in range(A):
                _sum8(dM[a * A + b, f, t : t + L], s0, s1, s2, s3, s4, s5, s6, s7, ATt8[a])


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
    if A > 8:
        raise ValueError(f"tiles of {A} values: the kernels take at most 8")
    _output_transform_adjoint_kernel(dout, _pad8(AT.T.astype(dout.dtype)), m, Th, Tw, n0, r0, nrows, out,
                                     _c45(m, A, dout.dtype))
    return out
