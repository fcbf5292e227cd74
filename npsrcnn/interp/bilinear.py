"""Bilinear interpolation read as the seed's 4-coefficient solve, and the separable fast path.

The seed: ``g(n1, n2) = A0 + A1 n1 + A2 n2 + A3 n1 n2``, a bilinear function of
the coordinates, whose four coefficients solve ``M A = f``: row k of ``M`` is ``(1, n1k, n2k, n1k n2k)``
at the k-th of the four nearest neighbours, ``f`` their values. Here ``n1`` is the row coordinate
(y) and ``n2`` the column coordinate (x), as in ``img[n1, n2]``; the neighbours are the corners of the
source cell holding the output pixel, ``(floor(v), floor(u)) + {0, 1}^2``, in row-major order.

What it amounts to: with ``(ty, tx)`` the offsets inside the cell,
``g = (1-ty)(1-tx) f00 + (1-ty) tx f01 + ty (1-tx) f10 + ty tx f11``, linear interpolation along rows
and then along columns. That is the tensor product of the triangle kernel ``K(s) = max(0, 1 - |s|)``
(:func:`triangle_kernel`), the kernel of MATLAB ``imresize(..., 'bilinear')`` and Pillow ``BILINEAR``.
``g`` passes through the four samples. It is not, as the seed says, the least-squares planar fit to
them: a plane has three coefficients, and the fit drops the twist ``A3 (ty - 1/2)(tx - 1/2)``, so it
misses each corner by ``|A3| / 4`` (tests/test_bilinear.py).

``M`` in image coordinates changes from cell to cell and grows ill-conditioned with the coordinates
(cond(M) about 1e7 at coordinate 40, 5e10 at 340). Measured from the cell's corner it is one constant
matrix, ``CELL_SYSTEM``, whose inverse has entries 0 and +-1: ``A0 = f00``, ``A1 = f10 - f00``,
``A2 = f01 - f00``, ``A3 = f11 - f10 - f01 + f00``. Three implementations, each the readable twin of
the next:

- :func:`interp_naive`: pure Python/NumPy, the seed literally: for every output pixel, ``M`` from the
  neighbours' image coordinates and ``np.linalg.solve``. Slow on purpose; the tests' reference.
- :func:`interp4`: Numba; ``A = CELL_INV @ f`` once per source cell, ``g`` evaluated at every output
  pixel inside that cell (``share_cells=False`` redoes the solve for every output pixel).
- :func:`interp_separable`: the fast path, a 2-tap filter along rows then along columns, applied by
  the separable pass of :mod:`npsrcnn.interp.bicubic`.

Coordinate map and borders are those of :mod:`npsrcnn.interp.bicubic` (pixel centres,
``u = (x + 0.5) / scale - 0.5``; MATLAB's half-sample mirror). On an upscale the two taps reach at
most one sample past the edge, where the mirror repeats the edge sample (-1 -> 0, H -> H-1). That is
also what Pillow's clipped and renormalised kernel gives, so Pillow agrees at the border too.
"""
import numpy as np

from ..util.jit import njit
from .bicubic import _cell_runs, _check_grid, CORNERS, kernel_taps, mirror_index, separable, upscale_grid

OFFSETS = (0, 1)  # the cell's two samples along each axis, from its top-left corner
UPSCALE_METHODS = ("separable", "solve4", "naive")


def triangle_kernel(x):
    """MATLAB's ``imresize>triangle`` (Pillow's BILINEAR filter): 1 - |x| on |x| <= 1, 0 beyond.

    Notes: written as MATLAB writes it, (x+1) on [-1, 0) plus (1-x) on [0, 1], so float64 weights
    agree with MATLAB's bit for bit.
    """
    x = np.asarray(x, dtype=np.float64)
    return (x + 1) * ((-1 <= x) & (x < 0)) + (1 - x) * ((0 <= x) & (x <= 1))


def seed_system(n1, n2):
    """The seed's 4x4 matrix: row k = (1, n1[k], n2[k], n1[k] n2[k]) at the k-th neighbour. Shape (4, 4)."""
    return np.array([[1.0, a, b, a * b] for a, b in zip(n1, n2)])


# The same matrix measured from the cell's top-left corner: one matrix for every cell, inverted once.
# CORNERS holds (x, y) = (n2, n1), x fastest, i.e. the 2x2 patch in row-major order.
CELL_SYSTEM = seed_system([y for _, y in CORNERS], [x for x, _ in CORNERS])
CELL_INV = np.linalg.inv(CELL_SYSTEM)


# --- naive reference: one 4x4 solve per output pixel, in image coordinates (the seed, literally) ------
def interp_naive(img, ys, xs):
    """Bilinear samples on the grid ``ys x xs``, solving the seed's 4x4 system anew for every output pixel.

    Parameters
    ----------
    img : ndarray, shape (H, W)
    ys : ndarray, shape (Ho,), 0-based source row coordinates (n1)
    xs : ndarray, shape (Wo,), 0-based source column coordinates (n2)

    Returns
    -------
    out : ndarray, shape (Ho, Wo), float64

    Notes: A = M^-1 f per pixel (np.linalg.solve), M from the four neighbours' image coordinates,
    then g(v, u) = A0 + A1 v + A2 u + A3 v u.
    """
    img, ys, xs = _check_grid(img, ys, xs)
    H, W = img.shape
    out = np.empty((ys.size, xs.size))
    for oy, v in enumerate(ys):
        iy = int(np.floor(v))
        for ox, u in enumerate(xs):
            ix = int(np.floor(u))
            n1 = [iy, iy, iy + 1, iy + 1]  # row coordinates of the four nearest neighbours
            n2 = [ix, ix + 1, ix, ix + 1]  # and their column coordinates
            f = img[mirror_index(n1, H), mirror_index(n2, W)]  # 4,
            A = np.linalg.solve(seed_system(n1, n2), f)
            out[oy, ox] = A[0] + A[1] * v + A[2] * u + A[3] * v * u
    return out


# --- Numba: the constant inverse, one solve per source cell (serial, as bicubic's kernels) -------------
@njit
def _interp4_kernel(img, rows, yrun, ty, cols, xrun, tx, cell_inv_t, A, Q, f, out):
    """Per cell: gather the 4 corners, A = CELL_INV f; then evaluate g at every output pixel in the cell.

    img (H, W); rows (Ry, 2), yrun (Ho,), ty (Ho,) and cols (Rx, 2), xrun (Wo,), tx (Wo,) from
    _cell_runs; cell_inv_t (4, 4) = CELL_INV^T; scratch: A (Rx, 4) the coefficients of one row of
    cells, Q (Rx, 2), f (4,); out (Ho, Wo).
    """
    oy = 0
    for r in range(rows.shape[0]):
        for c in range(cols.shape[0]):  # the 4 coefficients of every cell in this row of cells
            for m in range(4):
                f[m] = img[rows[r, m // 2], cols[c, m % 2]]  # f00, f01, f10, f11
            a = A[c]
            a[:] = 0.0
            for n in range(4):
                for m in range(4):
                    a[m] += cell_inv_t[n, m] * f[n]
        while oy < yrun.shape[0] and yrun[oy] == r:  # the output rows inside this row of cells
            y = ty[oy]
            for c in range(cols.shape[0]):  # g = (A0 + A1 y) + (A2 + A3 y) x
                Q[c, 0] = A[c, 0] + A[c, 1] * y
                Q[c, 1] = A[c, 2] + A[c, 3] * y
            for ox in range(out.shape[1]):
                c = xrun[ox]
                out[oy, ox] = Q[c, 0] + Q[c, 1] * tx[ox]
            oy += 1


def interp4(img, ys, xs, share_cells=True):
    """Bilinear samples on the grid ``ys x xs`` by the 4-coefficient solve, in Numba.

    Parameters
    ----------
    img : ndarray, shape (H, W)
    ys, xs : ndarray, shapes (Ho,) and (Wo,), 0-based source coordinates
    share_cells : solve once per source cell for all the output pixels in it (True), or once per
        output pixel as the seed does (False); the result is the same.

    Returns
    -------
    out : ndarray, shape (Ho, Wo), float64

    Notes: A = CELL_INV f with f the cell's corners (f00, f01, f10, f11);
    g(ty, tx) = A0 + A1 ty + A2 tx + A3 ty tx in cell coordinates.
    """
    img, ys, xs = _check_grid(img, ys, xs)
    rows, yrun, ty = _cell_runs(ys, img.shape[0], share_cells, OFFSETS)
    cols, xrun, tx = _cell_runs(xs, img.shape[1], share_cells, OFFSETS)
    A, Q = np.empty((cols.shape[0], 4)), np.empty((cols.shape[0], 2))
    out = np.empty((ys.size, xs.size))
    _interp4_kernel(np.ascontiguousarray(img, dtype=np.float64), rows, yrun, ty, cols, xrun, tx,
                    np.ascontiguousarray(CELL_INV.T), A, Q, np.empty(4), out)
    return out


# --- separable fast path: 2 taps per output coordinate ------------------------------------------------
def linear_taps(coords, n_in):
    """2 source indices and weights per output coordinate: (floor(u), floor(u) + 1), (1 - t, t).

    Returns idx (n_out, 2) int64 (mirrored into 0..n_in-1) and w (n_out, 2) float64.
    """
    return kernel_taps(coords, n_in, triangle_kernel, OFFSETS)


def interp_separable(img, ys, xs):
    """Bilinear samples on the grid ``ys x xs`` by two 1-D 2-tap passes (rows, then columns).

    Parameters
    ----------
    img : ndarray, shape (H, W) or (H, W, C), float32 or float64 (other dtypes become float64)
    ys, xs : ndarray, shapes (Ho,) and (Wo,), 0-based source coordinates

    Returns
    -------
    out : ndarray, shape (Ho, Wo) or (Ho, Wo, C), dtype of img (float64 for non-float input)

    Notes: out = K_y img K_x^T, K[o, idx[o, k]] += w[o, k] from :func:`linear_taps`.
    """
    return separable(img, ys, xs, linear_taps)


def upscale(img, factor, method="separable"):
    """Bilinear twin of :func:`npsrcnn.interp.bicubic.upscale`: same map, border, arguments and output shape.

    ``method``: "separable" (fast path, :func:`interp_separable`, also takes (H, W, C) images),
    "solve4" (:func:`interp4`) or "naive" (:func:`interp_naive`).
    """
    img, ys, xs = upscale_grid(img, factor)
    if method == "separable":
        return interp_separable(img, ys, xs)
    if method == "solve4":
        return interp4(img, ys, xs)
    if method == "naive":
        return interp_naive(img, ys, xs)
    raise ValueError(f"method must be one of {UPSCALE_METHODS}, got {method!r}")
