"""Bicubic interpolation read as the seed's 16-coefficient solve, and the separable fast path.

A bicubic patch is ``p(x, y) = sum_{i,j=0..3} a_ij x^i y^j`` on the unit cell ``[0, 1)^2`` whose corner
(0, 0) is source pixel ``(iy, ix) = (floor(v), floor(u))``. Its 16 coefficients solve ``Var a = b``:
16 linear conditions on the patch (rows of ``Var``) against 16 numbers taken from the image (``b``).
Two readings of "16 coefficients from 16 samples" give two different interpolators:

1. ``form="lagrange"``: ``p`` passes through the 16 samples of the 4x4 neighbourhood at local
   coordinates {-1, 0, 1, 2}^2. That is the tensor product of cubic Lagrange polynomials: it reproduces
   every cubic exactly, but it is not MATLAB's or Pillow's bicubic (see :func:`lagrange_kernel`).
2. ``form="hermite"``: ``p`` matches f, fx, fy and fxy at the four cell corners, the derivatives being
   central differences of the samples. That is the Catmull-Rom spline, i.e. Keys' cubic convolution
   kernel with a = -0.5, the kernel of MATLAB ``imresize(..., 'bicubic')`` and Pillow ``BICUBIC``.

``Var`` depends only on the unit cell, never on the image, so its inverse is computed once
(``VAR_INV``). Three implementations, each the readable twin of the next:

- :func:`interp_naive`: pure Python/NumPy, builds ``Var`` and calls ``np.linalg.solve`` for every output
  pixel, literally as the seed describes. Slow on purpose; the tests' reference.
- :func:`interp16`: Numba; ``a = VAR_INV @ b`` once per source cell, the cubic evaluated at every output
  pixel inside that cell (``share_cells=False`` redoes the solve for every output pixel, as the seed).
- :func:`interp_separable`: the fast path. Form 2 factorises into a 1-D 4-tap filter along rows, then
  along columns, with weights precomputed per output coordinate. Equal to form 2 to float rounding.

Coordinates are 0-based source pixel positions: ``img[r, c]`` sits at ``(y, x) = (r, c)``.
:func:`pixel_centre_coords` gives the map MATLAB and Pillow use for a resize by ``scale``:
``u = (x + 0.5) / scale - 0.5`` (MATLAB writes it 1-based: ``u = x/s + 0.5 (1 - 1/s)``).

Borders: an index outside the image is mirrored as MATLAB's imresize does (:func:`mirror_index`,
half-sample symmetric: -1 -> 0, -2 -> 1, H -> H-1, H+1 -> H-2), in all three implementations, so they
agree everywhere, borders included. Pillow instead drops the taps that fall outside and renormalises
the rest, so Pillow and MATLAB agree only away from the border (they differ within 3, 4 and 6
pixels of it at x2, x3 and x4).
"""
import numpy as np

from ..util.jit import njit

NODES = (-1, 0, 1, 2)  # local coordinates of the 4x4 neighbourhood around the cell [0, 1)^2
CORNERS = ((0, 0), (1, 0), (0, 1), (1, 1))  # (x, y) of the cell corners, x fastest
FORMS = ("hermite", "lagrange")
UPSCALE_METHODS = ("separable", "hermite16", "lagrange16", "hermite-naive", "lagrange-naive")


# --- 1-D kernels ---------------------------------------------------------------------------------
def keys_kernel(s, a=-0.5):
    """Keys (1981) cubic convolution kernel; a = -0.5 is MATLAB's ``cubic`` and Pillow's BICUBIC.

    Notes: K(s) = (a+2)|s|^3 - (a+3)|s|^2 + 1 on |s| <= 1, a|s|^3 - 5a|s|^2 + 8a|s| - 4a on 1 < |s| <= 2,
    0 beyond; written in the same operation order as MATLAB's ``imresize>cubic`` so that float64
    weights agree bit for bit at a = -0.5.
    """
    x = np.abs(np.asarray(s, dtype=np.float64))
    x2 = x * x
    x3 = x2 * x
    inner = ((a + 2) * x3 - (a + 3) * x2 + 1) * (x <= 1)
    outer = (a * x3 - (5 * a) * x2 + (8 * a) * x - 4 * a) * ((1 < x) & (x <= 2))
    return inner + outer


def lagrange_kernel(s):
    """The 1-D kernel that form 1 (fit through the 4x4 samples) amounts to: cubic Lagrange basis.

    Notes: K(s) = (|s|^3 - 2|s|^2 - |s| + 2)/2 on |s| <= 1, (-|s|^3 + 6|s|^2 - 11|s| + 6)/6 on 1 < |s| <= 2.
    The ``-|s|/2`` term gives it a kink at 0 (K'(0+) = -1/2), so it is no Keys kernel for any ``a``.
    """
    x = np.abs(np.asarray(s, dtype=np.float64))
    inner = (((x - 2) * x - 1) * x + 2) / 2 * (x <= 1)
    outer = (((-x + 6) * x - 11) * x + 6) / 6 * ((1 < x) & (x <= 2))
    return inner + outer


KERNELS = {"keys": keys_kernel, "lagrange": lagrange_kernel}


# --- coordinates and borders ---------------------------------------------------------------------
def pixel_centre_coords(n_out, scale):
    """0-based source coordinates of ``n_out`` output pixels for a resize by ``scale`` (MATLAB, Pillow).

    Notes: u = (x + 0.5) / scale - 0.5, pixel centres to pixel centres.
    """
    return (np.arange(n_out, dtype=np.float64) + 0.5) / scale - 0.5


def mirror_index(i, n):
    """Map integer indices onto 0..n-1 as MATLAB's imresize: ``aux = [1:n, n:-1:1]`` taken periodically.

    Notes: half-sample symmetric extension; -1 -> 0 (the edge sample repeats), -2 -> 1, n -> n-1.
    """
    m = np.mod(np.asarray(i, dtype=np.int64), 2 * n)
    return np.where(m < n, m, 2 * n - 1 - m)


# --- the two 16x16 systems -----------------------------------------------------------------------
def _d(x, i, k):
    """k-th derivative (k = 0 or 1) of x**i at x."""
    if k == 0:
        return float(x) ** i
    return i * float(x) ** (i - 1) if i > 0 else 0.0


def lagrange_system():
    """Var for form 1: row n = (x^i y^j)_{ij} at node (x, y) = (NODES[n % 4], NODES[n // 4]).

    Returns ndarray, shape (16, 16), float64; column ``4*i + j`` multiplies a_ij.
    """
    return np.array([[_d(x, i, 0) * _d(y, j, 0) for i in range(4) for j in range(4)]
                     for y in NODES for x in NODES])


def hermite_system():
    """Var for form 2: rows f, fx, fy, fxy (blocks of 4), each at the CORNERS, of p = sum a_ij x^i y^j.

    Returns ndarray, shape (16, 16), float64; column ``4*i + j`` multiplies a_ij.
    """
    orders = ((0, 0), (1, 0), (0, 1), (1, 1))  # (d/dx, d/dy) for f, fx, fy, fxy
    return np.array([[_d(x, i, kx) * _d(y, j, ky) for i in range(4) for j in range(4)]
                     for kx, ky in orders for x, y in CORNERS])


def lagrange_data(patch):
    """b for form 1: the 4x4 patch (rows y = -1..2, columns x = -1..2) in node order. Shape (16,)."""
    return np.asarray(patch, dtype=np.float64).reshape(16)


def hermite_data(patch):
    """b for form 2: f, fx, fy, fxy at the CORNERS, by central differences on the 4x4 patch. Shape (16,)."""
    p = np.asarray(patch, dtype=np.float64)
    f, fx, fy, fxy = [], [], [], []
    for x, y in CORNERS:
        r, c = y + 1, x + 1  # the corner's position inside the patch
        f.append(p[r, c])
        fx.append((p[r, c + 1] - p[r, c - 1]) / 2)
        fy.append((p[r + 1, c] - p[r - 1, c]) / 2)
        fxy.append((p[r + 1, c + 1] - p[r + 1, c - 1] - p[r - 1, c + 1] + p[r - 1, c - 1]) / 4)
    return np.array(f + fx + fy + fxy)


SYSTEMS = {"hermite": (hermite_system, hermite_data), "lagrange": (lagrange_system, lagrange_data)}
# The unit cell never changes, so neither does Var: invert each once, at import.
VAR_INV = {form: np.linalg.inv(system()) for form, (system, _) in SYSTEMS.items()}


def eval_poly(a, x, y):
    """p(x, y) = sum_{i,j} a[4*i + j] x^i y^j."""
    return sum(a[4 * i + j] * x**i * y**j for i in range(4) for j in range(4))


# --- argument checks shared by the three implementations -----------------------------------------
def _check_grid(img, ys, xs, form=None):
    img = np.asarray(img)
    if img.ndim != 2 or img.size == 0:
        raise ValueError(f"img must be a non-empty (H, W) array, got shape {img.shape}")
    if form is not None and form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    ys = np.asarray(ys, dtype=np.float64).reshape(-1)
    xs = np.asarray(xs, dtype=np.float64).reshape(-1)
    if not (np.all(np.isfinite(ys)) and np.all(np.isfinite(xs))):
        raise ValueError("sample coordinates must be finite")
    return img, ys, xs


# --- naive reference: one 16x16 solve per output pixel (the seed, literally) ---------------------
def interp_naive(img, ys, xs, form="hermite"):
    """Bicubic samples on the grid ``ys x xs``, solving the 16x16 system anew for every output pixel.

    Parameters
    ----------
    img : ndarray, shape (H, W)
    ys : ndarray, shape (Ho,), 0-based source row coordinates
    xs : ndarray, shape (Wo,), 0-based source column coordinates
    form : "hermite" (MATLAB/Pillow bicubic) or "lagrange" (exact fit through the 4x4 samples)

    Returns
    -------
    out : ndarray, shape (Ho, Wo), float64

    Notes: A = Var^-1 b per pixel (np.linalg.solve), then p(t_x, t_y) = sum a_ij t_x^i t_y^j.
    """
    img, ys, xs = _check_grid(img, ys, xs, form)
    system, data = SYSTEMS[form]
    H, W = img.shape
    out = np.empty((ys.size, xs.size))
    for oy, v in enumerate(ys):
        iy = int(np.floor(v))
        rows = mirror_index(np.arange(iy - 1, iy + 3), H)
        for ox, u in enumerate(xs):
            ix = int(np.floor(u))
            cols = mirror_index(np.arange(ix - 1, ix + 3), W)
            a = np.linalg.solve(system(), data(img[np.ix_(rows, cols)]))  # 16,
            out[oy, ox] = eval_poly(a, u - ix, v - iy)
    return out


# --- Numba: the constant inverse, one matvec per source cell --------------------------------------
# Both kernels in this module are serial (njit, no prange), measured: an x3 upscale to 510x510 takes
# about a millisecond, and on a 2-core machine shared with other work, 2 Numba (OpenMP) threads made
# it 3-30x slower than 1 thread (fork/join waits on a descheduled thread). Pillow, the peer, is serial.
def _cell_runs(coords, n_in, share_cells, offsets=NODES):
    """Group consecutive output coordinates by source cell.

    Returns idx (R, len(offsets)) mirrored source indices of each run's neighbours (the cell's
    corner plus ``offsets``: 4 for bicubic, 2 for bilinear), run (n_out,) the run of each output
    coordinate, t (n_out,) its fractional offset inside the cell. With share_cells False every
    output coordinate is a run of its own.
    """
    cell = np.floor(coords).astype(np.int64)
    if share_cells:
        run = np.concatenate(([0], np.cumsum(np.diff(cell) != 0)))
    else:
        run = np.arange(coords.size)
    first = np.flatnonzero(np.diff(run, prepend=-1))  # first output coordinate of each run
    idx = mirror_index(cell[first, None] + np.asarray(offsets), n_in)
    return np.ascontiguousarray(idx), run, coords - cell


@njit
def _interp16_kernel(img, rows, yrun, ty, cols, xrun, tx, var_inv_t, hermite, A, Q, pb, out):
    """Per cell: gather the 4x4 patch, form b, a = Var^-1 b; then evaluate p at every output pixel.

    img (H, W); rows (Ry, 4), yrun (Ho,), ty (Ho,) and cols (Rx, 4), xrun (Wo,), tx (Wo,) from
    _cell_runs; var_inv_t (16, 16) = (Var^-1)^T; scratch: A (Rx, 16) the coefficients of one row
    of cells, Q (Rx, 4), pb (2, 16); out (Ho, Wo).
    """
    p, b = pb[0], pb[1]
    oy = 0
    for r in range(rows.shape[0]):
        for c in range(cols.shape[0]):  # the 16 coefficients of every cell in this row of cells
            for m in range(16):
                p[m] = img[rows[r, m // 4], cols[c, m % 4]]  # p[4*(y+1) + (x+1)]
            if hermite:  # f, fx, fy, fxy at corner (x, y) = (n % 2, n // 2), i.e. at p[k]
                for n in range(4):
                    k = 5 + (n // 2) * 4 + n % 2
                    b[n] = p[k]
                    b[4 + n] = (p[k + 1] - p[k - 1]) * 0.5
                    b[8 + n] = (p[k + 4] - p[k - 4]) * 0.5
                    b[12 + n] = (p[k + 5] - p[k + 3] - p[k - 3] + p[k - 5]) * 0.25
            else:
                b[:] = p
            a = A[c]
            a[:] = 0.0
            for n in range(16):  # a = Var^-1 b as a sum of columns: the m loop vectorises
                bn = b[n]
                for m in range(16):
                    a[m] += var_inv_t[n, m] * bn
        while oy < yrun.shape[0] and yrun[oy] == r:  # the output rows inside this row of cells
            y = ty[oy]
            for c in range(cols.shape[0]):  # q_i(y) = sum_j a_ij y^j
                a, q = A[c], Q[c]
                q[0] = ((a[3] * y + a[2]) * y + a[1]) * y + a[0]
                q[1] = ((a[7] * y + a[6]) * y + a[5]) * y + a[4]
                q[2] = ((a[11] * y + a[10]) * y + a[9]) * y + a[8]
                q[3] = ((a[15] * y + a[14]) * y + a[13]) * y + a[12]
            for ox in range(out.shape[1]):  # p(x, y) = sum_i q_i(y) x^i
                x, q = tx[ox], Q[xrun[ox]]
                out[oy, ox] = ((q[3] * x + q[2]) * x + q[1]) * x + q[0]
            oy += 1


def interp16(img, ys, xs, form="hermite", share_cells=True):
    """Bicubic samples on the grid ``ys x xs`` by the 16-coefficient solve, in Numba.

    Parameters
    ----------
    img : ndarray, shape (H, W)
    ys, xs : ndarray, shapes (Ho,) and (Wo,), 0-based source coordinates
    form : "hermite" or "lagrange", as :func:`interp_naive`
    share_cells : solve once per source cell for all the output pixels in it (True), or once per
        output pixel as the seed does (False); the result is the same.

    Returns
    -------
    out : ndarray, shape (Ho, Wo), float64

    Notes: a = Var^-1 b with Var^-1 = VAR_INV[form] computed once; b the 16 samples (form 1) or
    f, fx, fy, fxy at the corners (form 2); p(t_x, t_y) = sum a_ij t_x^i t_y^j.
    """
    img, ys, xs = _check_grid(img, ys, xs, form)
    rows, yrun, ty = _cell_runs(ys, img.shape[0], share_cells)
    cols, xrun, tx = _cell_runs(xs, img.shape[1], share_cells)
    A, Q, pb = np.empty((cols.shape[0], 16)), np.empty((cols.shape[0], 4)), np.empty((2, 16))
    out = np.empty((ys.size, xs.size))
    _interp16_kernel(np.ascontiguousarray(img, dtype=np.float64), rows, yrun, ty, cols, xrun, tx,
                     np.ascontiguousarray(VAR_INV[form].T), form == "hermite", A, Q, pb, out)
    return out


# --- separable fast path: precomputed taps per output coordinate -----------------------------------
def cubic_taps(coords, n_in, kernel="keys"):
    """4 source indices and weights per output coordinate for a separable cubic kernel.

    Parameters
    ----------
    coords : ndarray, shape (n_out,), 0-based source coordinates
    n_in : int, source length (indices are mirrored into 0..n_in-1)
    kernel : "keys" (a = -0.5, form 2) or "lagrange" (form 1)

    Returns
    -------
    idx : ndarray, shape (n_out, 4), int64
    w : ndarray, shape (n_out, 4), float64

    Notes: w[o, k] = K(u_o - (floor(u_o) - 1 + k)); not renormalised (each row already sums to 1).
    """
    return kernel_taps(coords, n_in, KERNELS[kernel], NODES)


def kernel_taps(coords, n_in, kernel, offsets):
    """Source indices ``floor(u) + offsets`` (mirrored) and weights ``kernel(u - index)`` per output.

    Returns idx (n_out, len(offsets)) int64 and w (n_out, len(offsets)) float64, C-contiguous.
    """
    u = np.asarray(coords, dtype=np.float64).reshape(-1)
    taps = np.floor(u)[:, None] + np.asarray(offsets)  # n_out, P
    w = kernel(u[:, None] - taps)
    return np.ascontiguousarray(mirror_index(taps, n_in)), np.ascontiguousarray(w)


BLOCK = 16  # outputs summed before a transposed store, so that it fills whole cache lines


@njit
def _taps_rows(src, idx, w, rows, out, C, transpose):
    """One separable pass: row o of the result is sum_p w[o, p] * src[idx[o, p]], summed in float64.

    src (H, K); idx, w (n_out, P); rows (BLOCK, K) float64 scratch; out (n_out, K), or if
    transpose (K // C, n_out * C), i.e. an (H, n_out, C) array. Whole source rows are scaled and
    added, so the inner loop is contiguous and vectorises (a dot product over gathered taps per
    output runs ~5x slower).
    """
    n_out, K = idx.shape[0], src.shape[1]
    for o0 in range(0, n_out, BLOCK):
        o1 = min(o0 + BLOCK, n_out)
        for o in range(o0, o1):
            acc = rows[o - o0]
            wp, r = w[o, 0], idx[o, 0]
            for k in range(K):
                acc[k] = wp * src[r, k]
            for p in range(1, w.shape[1]):
                wp, r = w[o, p], idx[o, p]
                for k in range(K):
                    acc[k] += wp * src[r, k]
            if not transpose:
                out[o, :] = acc
        if transpose and C == 1:  # the common grey-image case, without the channel loop
            for h in range(K):
                for o in range(o0, o1):
                    out[h, o] = rows[o - o0, h]
        elif transpose:
            for h in range(K // C):
                for o in range(o0, o1):
                    for c in range(C):
                        out[h, o * C + c] = rows[o - o0, h * C + c]


def resample_axis(src, idx, w, axis, dtype=np.float64):
    """Apply per-output taps along one axis of an (H, W, C) array: the weight-application pass.

    Parameters
    ----------
    src : ndarray, shape (H, W, C)
    idx : ndarray, shape (n_out, P), int, 0-based indices into ``src.shape[axis]``
    w : ndarray, shape (n_out, P), float64
    axis : 0 (rows) or 1 (columns)
    dtype : float32 or float64, the output dtype (sums are float64 either way, rounded once)

    Returns
    -------
    out : ndarray, shape (n_out, W, C) for axis 0, (H, n_out, C) for axis 1

    Notes: out[o] = sum_p w[o, p] src[idx[o, p]] along ``axis``. A column pass runs as a row pass
    over the transposed input, its result stored back transposed.
    """
    idx = np.ascontiguousarray(idx, dtype=np.int64)
    w = np.ascontiguousarray(w, dtype=np.float64)
    H, W, C = src.shape
    n_out = idx.shape[0]
    if axis == 0:
        src2 = np.ascontiguousarray(src).reshape(H, W * C)
        out = np.empty((n_out, W, C), dtype=dtype)
        out2 = out.reshape(n_out, W * C)
    else:
        src2 = np.ascontiguousarray(src.transpose(1, 0, 2)).reshape(W, H * C)
        out = np.empty((H, n_out, C), dtype=dtype)
        out2 = out.reshape(H, n_out * C)
    rows = np.empty((BLOCK, src2.shape[1]))
    _taps_rows(src2, idx, w, rows, out2, C, axis == 1)
    return out


def interp_separable(img, ys, xs, kernel="keys"):
    """Bicubic samples on the grid ``ys x xs`` by two 1-D 4-tap passes (rows, then columns).

    Parameters
    ----------
    img : ndarray, shape (H, W) or (H, W, C), float32 or float64 (other dtypes become float64)
    ys, xs : ndarray, shapes (Ho,) and (Wo,), 0-based source coordinates
    kernel : "keys" (a = -0.5: equals form 2, MATLAB and Pillow) or "lagrange" (equals form 1)

    Returns
    -------
    out : ndarray, shape (Ho, Wo) or (Ho, Wo, C), dtype of img (float64 for non-float input)

    Notes: out = K_y img K_x^T with K[o, idx[o, k]] += w[o, k] from :func:`cubic_taps`.
    """
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {tuple(KERNELS)}, got {kernel!r}")
    return separable(img, ys, xs, lambda coords, n_in: cubic_taps(coords, n_in, kernel))


def separable(img, ys, xs, taps):
    """Samples on the grid ``ys x xs`` by a 1-D pass along rows, then one along columns.

    Parameters
    ----------
    img : ndarray, shape (H, W) or (H, W, C), float32 or float64 (other dtypes become float64)
    ys, xs : ndarray, shapes (Ho,) and (Wo,), 0-based source coordinates
    taps : callable, ``taps(coords, n_in) -> (idx, w)``, each (n_out, P), e.g. :func:`cubic_taps`

    Returns
    -------
    out : ndarray, shape (Ho, Wo) or (Ho, Wo, C), dtype of img (float64 for non-float input)
    """
    img = np.asarray(img)
    if img.ndim not in (2, 3) or img.size == 0:
        raise ValueError(f"img must be a non-empty (H, W) or (H, W, C) array, got shape {img.shape}")
    _, ys, xs = _check_grid(img[..., 0] if img.ndim == 3 else img, ys, xs)
    dtype = img.dtype if img.dtype in (np.float32, np.float64) else np.float64
    x = img if img.ndim == 3 else img[:, :, None]
    x = resample_axis(x, *taps(ys, x.shape[0]), axis=0, dtype=dtype)  # Ho, W, C
    x = resample_axis(x, *taps(xs, x.shape[1]), axis=1, dtype=dtype)  # Ho, Wo, C
    return x if img.ndim == 3 else x[:, :, 0]


def upscale_grid(img, factor):
    """Check an integer upscale; return (img as an array, ys, xs), the pixel-centre source coordinates."""
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"factor must be an integer >= 1, got {factor!r}")
    img = np.asarray(img)
    if img.ndim < 2:
        raise ValueError(f"img must be an (H, W) or (H, W, C) array, got shape {img.shape}")
    H, W = img.shape[:2]
    return img, pixel_centre_coords(factor * H, factor), pixel_centre_coords(factor * W, factor)


def upscale(img, factor, method="separable"):
    """Upscale by an integer ``factor`` with the MATLAB/Pillow pixel-centre map and MATLAB's borders.

    Parameters
    ----------
    img : ndarray, shape (H, W) (or (H, W, C) for the separable method)
    factor : int >= 1
    method : "separable" (fast path), "hermite16" / "lagrange16" (:func:`interp16`), or
        "hermite-naive" / "lagrange-naive" (:func:`interp_naive`)

    Returns
    -------
    out : ndarray, shape (factor*H, factor*W[, C])
    """
    img, ys, xs = upscale_grid(img, factor)
    if method == "separable":
        return interp_separable(img, ys, xs)
    for form in FORMS:
        if method == f"{form}16":
            return interp16(img, ys, xs, form)
        if method == f"{form}-naive":
            return interp_naive(img, ys, xs, form)
    raise ValueError(f"method must be one of {UPSCALE_METHODS}, got {method!r}")
