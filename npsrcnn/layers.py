"""Forward/backward pairs: conv2d (im2col + one BLAS GEMM), ReLU and the MSE loss (Caffe EuclideanLoss).

Public functions take and return NCHW arrays (cs231n style): ``op_forward(...) -> (out, cache)`` and
``op_backward(dout, cache) -> gradients in argument order``. Each has a readable NumPy reference
(``*_reference``) that the tests compare against, and the Numba kernels behind the fast path sit next to
the function that calls them.

The ``*_cm`` variants are the same convolution on channel-major ``(C, N, H, W)`` arrays (see
:mod:`npsrcnn.im2col`), with a fused ReLU and a :class:`Workspace` of reusable buffers; the model chains
them so that no activation is ever transposed or reallocated.
"""
import numpy as np
from numba import prange

from . import im2col as _i2c
from ._jit import njit, njit_parallel, njit_parallel_sum

PADDINGS = ("valid", "zero", "replicate")
REDUCTIONS = ("caffe", "mean", "sum")

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


# ---------------------------------------------------------------------------------------------- conv2d


def conv2d_forward(x, w, b, padding="valid", method="auto"):
    """Cross-correlation (PyTorch's conv2d), stride 1: im2col and one GEMM.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W), float32 or float64
    w : ndarray, shape (F, C, KH, KW)
    b : ndarray, shape (F,)
    padding : {"valid", "zero", "replicate"}
        "valid": no padding (training, as the paper's Caffe net). "zero" and "replicate" pad
        ``(KH-1)//2`` rows on top, the rest below (same for columns), so the output has the input's size;
        "replicate" repeats the edge pixel (the authors' MATLAB ``imfilter(..., 'same', 'replicate')``).
    method : {"auto", "im2col", "taps"}
        How the GEMM is formed (see :mod:`npsrcnn.im2col`); the result is the same.

    Returns
    -------
    out : ndarray, shape (N, F, Ho, Wo); Ho = H - KH + 1 for "valid", else H (likewise Wo)
    cache : dict, for :func:`conv2d_backward` (the channel-major input, w, padding, strategy)

    Notes
    -----
    ``out[n, f, i, j] = b[f] + sum_{c,kh,kw} w[f, c, kh, kw] * xpad[n, c, i + kh, j + kw]``
    """
    x = _as_float_array(x, "x", 4)
    w, b = _check_wb(x, w, b)
    out, cache = conv_forward_cm(_to_cm(x), w, b, padding, method=method)
    return _to_cm(out), cache  # (F, N, ..) -> (N, F, ..): the same swap of the first two axes


def conv2d_backward(dout, cache, need_dx=True):
    """Gradients of :func:`conv2d_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, Ho, Wo)
    cache : from :func:`conv2d_forward`
    need_dx : bool
        False skips dX (a network's first layer), returning None for it.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), or None
    dw : ndarray, shape (F, C, KH, KW)
    db : ndarray, shape (F,)

    Notes
    -----
    With ``cols = im2col(x)``: ``dW = dout_mat @ cols.T``, ``db = sum of dout over N, Ho, Wo``,
    ``dcols = W_mat.T @ dout_mat`` and ``dx = col2im(dcols)``.
    """
    dout = np.asarray(dout, dtype=cache["x"].dtype)
    dx, dw, db = conv_backward_cm(_to_cm(dout), cache, need_dx=need_dx)
    return (None if dx is None else _to_cm(dx)), dw, db


def conv2d_forward_reference(x, w, b, padding="valid"):
    """Readable twin of :func:`conv2d_forward`: pad with ``np.pad``, then one einsum per tap."""
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    xp = _pad_reference(x, KH, KW, padding)
    Ho, Wo = xp.shape[2] - KH + 1, xp.shape[3] - KW + 1
    out = np.zeros((N, F, Ho, Wo), x.dtype) + b[None, :, None, None]
    for kh in range(KH):
        for kw in range(KW):
            out += np.einsum("fc,nchw->nfhw", w[:, :, kh, kw], xp[:, :, kh : kh + Ho, kw : kw + Wo])
    return out


def conv2d_backward_reference(dout, x, w, padding="valid"):
    """Readable twin of :func:`conv2d_backward`: per-tap einsums, then fold the padding back.

    Returns (dx, dw, db). Zero padding drops the gradient that fell on the pad; replicate padding
    adds it onto the edge pixel that was copied there.
    """
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    xp = _pad_reference(x, KH, KW, padding)
    Ho, Wo = dout.shape[2:]
    dw = np.zeros_like(w)
    dxp = np.zeros_like(xp)
    for kh in range(KH):
        for kw in range(KW):
            dw[:, :, kh, kw] = np.einsum("nfhw,nchw->fc", dout, xp[:, :, kh : kh + Ho, kw : kw + Wo])
            dxp[:, :, kh : kh + Ho, kw : kw + Wo] += np.einsum("fc,nfhw->nchw", w[:, :, kh, kw], dout)
    db = dout.sum(axis=(0, 2, 3))
    if padding == "valid":
        return dxp, dw, db
    pt, pl = (KH - 1) // 2, (KW - 1) // 2
    if padding == "zero":
        return dxp[:, :, pt : pt + H, pl : pl + W], dw, db
    ys = np.clip(np.arange(xp.shape[2]) - pt, 0, H - 1)  # padded row -> the image row copied there
    xs = np.clip(np.arange(xp.shape[3]) - pl, 0, W - 1)
    dx = np.zeros_like(x)
    np.add.at(dx, (slice(None), slice(None), ys[:, None], xs[None, :]), dxp)
    return dx, dw, db


def _pad_reference(x, KH, KW, padding):
    if padding == "valid":
        return x
    pt, pl = (KH - 1) // 2, (KW - 1) // 2
    widths = ((0, 0), (0, 0), (pt, KH - 1 - pt), (pl, KW - 1 - pl))
    return np.pad(x, widths, mode="edge" if padding == "replicate" else "constant")


# ------------------------------------------------------------------------ conv2d on channel-major arrays


def conv_forward_cm(x, w, b, padding="valid", method="auto", relu=False, vpad=None, ws=None,
                    name="conv", chunk_bytes=None):
    """:func:`conv2d_forward` on a channel-major input, optionally fused with a ReLU.

    Parameters
    ----------
    x : ndarray, shape (C, N, H, W), C-contiguous
    w, b, padding, method : as :func:`conv2d_forward`
    relu : bool
        Apply ``max(0, .)`` in the same pass as the bias (the output is then the activation).
    vpad : (int, int), optional
        Rows padded above and below, overriding `padding`'s (the mode still says zero or replicate):
        a strip of an image pads only where it touches the image's top or bottom.
    ws : Workspace, optional
        Buffers to reuse; the output and cache then live in `ws` until the next call with `name`.
    chunk_bytes : int, optional
        Largest im2col / tap-product buffer filled at once (default ``CHUNK_BYTES``).

    Returns
    -------
    out : ndarray, shape (F, N, Ho, Wo)
    cache : dict
    """
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
    ws = Workspace() if ws is None else ws
    chunk_bytes = CHUNK_BYTES if chunk_bytes is None else chunk_bytes
    C, N, H, W = x.shape
    F, _, KH, KW = w.shape
    pt, pb = (0, 0) if padding == "valid" else ((KH - 1) // 2, KH - 1 - (KH - 1) // 2)
    pl, pr = (0, 0) if padding == "valid" else ((KW - 1) // 2, KW - 1 - (KW - 1) // 2)
    if vpad is not None:
        pt, pb = vpad
    Ho, Wo = H + pt + pb - KH + 1, W + pl + pr - KW + 1
    if Ho < 1 or Wo < 1:
        raise ValueError(f"a {KH}x{KW} kernel does not fit a {H}x{W} input with {padding} padding")
    method = _choose_method(method, C, F, KH, KW, H * W, Ho * Wo, pt + pb + pl + pr)
    geo = dict(KH=KH, KW=KW, pt=pt, pl=pl, Ho=Ho, Wo=Wo, replicate=padding == "replicate")
    out = ws.get(name + ".out", (F, N, Ho, Wo), x.dtype)
    cache = dict(x=x, w=w, method=method, relu=relu, out=out, cols=None, ws=ws, name=name,
                 chunk_bytes=chunk_bytes, **geo)
    if method == "1x1":  # a 1x1 valid kernel: x itself is the im2col matrix
        np.matmul(w.reshape(F, C), x.reshape(C, -1), out=out.reshape(F, -1))
    elif method == "im2col":
        wmat = w.reshape(F, C * KH * KW)
        chunks = _chunks(N, Ho, C * KH * KW * Wo * x.itemsize, chunk_bytes)
        for n0, nb, r0, nr in chunks:
            cols = _i2c.im2col(x, KH, KW, nr, Wo, r0 - pt, -pl, geo["replicate"], n0, nb,
                               out=ws.get(name + ".cols", (C * KH * KW, nb, nr, Wo), x.dtype))
            np.matmul(wmat, cols.reshape(C * KH * KW, -1), out=_block(out, n0, nb, r0, nr))
        if len(chunks) == 1:
            cache["cols"] = cols  # backward reuses it instead of unfolding again
    else:  # taps
        wt = np.ascontiguousarray(w.transpose(0, 2, 3, 1)).reshape(F * KH * KW, C)  # (f,kh,kw), c
        for n0, nb, r0, nr in _chunks(N, Ho, F * KH * KW * W * x.itemsize, chunk_bytes, KH - 1):
            ia, ib = _input_rows(r0, nr, pt, KH, H)
            T = ws.get(name + ".T", (F * KH * KW, nb, ib - ia, W), x.dtype)
            np.matmul(wt, _block(x, n0, nb, ia, ib - ia), out=T.reshape(F * KH * KW, -1))
            _i2c.tap_sum(T, KH, KW, r0 - pt - ia, -pl, geo["replicate"], out, n0, r0, nr)
    _bias_act_kernel(out.reshape(F, -1), b, relu)
    return out, cache


def conv_backward_cm(dout, cache, need_dx=True):
    """:func:`conv2d_backward` on channel-major arrays; with a fused ReLU, `dout` is masked in place.

    Parameters
    ----------
    dout : ndarray, shape (F, N, Ho, Wo), C-contiguous (overwritten when the forward had ``relu``)

    Returns
    -------
    dx : ndarray, shape (C, N, H, W), or None; dw : (F, C, KH, KW); db : (F,)
    """
    x, w, ws, name = cache["x"], cache["w"], cache["ws"], cache["name"]
    C, N, H, W = x.shape
    F, _, KH, KW = w.shape
    pt, pl, Ho, Wo, rep = cache["pt"], cache["pl"], cache["Ho"], cache["Wo"], cache["replicate"]
    d2 = dout.reshape(F, -1)
    db = np.empty(F, np.float64)
    if cache["relu"]:
        _relu_mask_sum_kernel(d2, cache["out"].reshape(F, -1), db)  # dz = da * (a > 0)
    else:
        _row_sum_kernel(d2, db)
    db = db.astype(x.dtype)
    dx = ws.get(name + ".dx", x.shape, x.dtype, zero=cache["method"] == "im2col") if need_dx else None
    if cache["method"] == "1x1":
        dw = _gram(d2, x.reshape(C, -1)).reshape(w.shape)  # F, C
        if need_dx:
            np.matmul(w.reshape(F, C).T, d2, out=dx.reshape(C, -1))
    elif cache["method"] == "im2col":
        CK = C * KH * KW
        wmat = w.reshape(F, CK)
        dwm = np.zeros((F, CK), x.dtype)
        wflip = None
        for n0, nb, r0, nr in _chunks(N, Ho, CK * Wo * x.itemsize, cache["chunk_bytes"]):
            cols = cache["cols"]
            if cols is None:
                cols = _i2c.im2col(x, KH, KW, nr, Wo, r0 - pt, -pl, rep, n0, nb,
                                   out=ws.get(name + ".cols", (CK, nb, nr, Wo), x.dtype))
            dblk = _block(dout, n0, nb, r0, nr)  # F, nb*nr*Wo
            dwm += _gram(dblk, cols.reshape(CK, -1))
            if need_dx and not rep and nr == Ho:
                # dX as a 'full' correlation of dout with the flipped kernels: im2col of dout (F*KH*KW
                # rows) and one GEMM with K = F*KH*KW straight into dx, instead of W.T @ dout (K = F)
                # writing C*KH*KW rows for col2im to scatter. Same sums; measured on 9-5-5 layer 2
                # (32 images, 2 threads): 58 -> 44 ms. Replicate padding keeps col2im (it folds the
                # clamped reads back onto edge pixels).
                if wflip is None:
                    wflip = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)).reshape(C, -1)
                dz = _i2c.im2col(dout, KH, KW, H, W, pt - (KH - 1), pl - (KW - 1), False, n0, nb,
                                 out=ws.get(name + ".dzcols", (F * KH * KW, nb, H, W), x.dtype))
                np.matmul(wflip, dz.reshape(F * KH * KW, -1), out=_block(dx, n0, nb, 0, H))
            elif need_dx:
                dcols = ws.get(name + ".dcols", (CK, nb, nr, Wo), x.dtype)
                np.matmul(wmat.T, dblk, out=dcols.reshape(CK, -1))
                _i2c.col2im(dcols, KH, KW, r0 - pt, -pl, rep, dx, n0)
        dw = dwm.reshape(w.shape)
    else:  # taps
        FK = F * KH * KW
        wt = np.ascontiguousarray(w.transpose(0, 2, 3, 1)).reshape(FK, C)
        dwt = np.zeros((FK, C), x.dtype)
        chunks = _chunks(N, Ho, FK * W * x.itemsize, cache["chunk_bytes"], KH - 1)
        if need_dx and chunks[0][3] < Ho:  # row chunks overlap by the kernel's halo: accumulate
            dx.fill(0)
        for n0, nb, r0, nr in chunks:
            ia, ib = _input_rows(r0, nr, pt, KH, H)
            dT = ws.get(name + ".dT", (FK, nb, ib - ia, W), x.dtype, zero=True)
            _i2c.tap_spread(dout, KH, KW, r0 - pt - ia, -pl, rep, dT, n0, r0, nr)
            dT2 = dT.reshape(FK, -1)
            dwt += _gram(dT2, _block(x, n0, nb, ia, ib - ia))
            if need_dx and nr == Ho:  # whole images: each chunk owns its block of dx
                np.matmul(wt.T, dT2, out=_block(dx, n0, nb, 0, H))
            elif need_dx:
                _block(dx, n0, nb, ia, ib - ia)[...] += wt.T @ dT2
        dw = np.ascontiguousarray(dwt.reshape(F, KH, KW, C).transpose(0, 3, 1, 2))
    return dx, dw, db


def _gram(a, b):
    """``a @ b.T`` for two wide matrices (rows, P): the weight gradient, a sum over P positions.

    OpenBLAS runs this ~1.4-2x faster with a much taller matrix on the left (measured, 9-5-5 layer 2,
    32 x 14112 by 1600 x 14112: 43 -> 60 GF/s on 1 thread, 58 -> 83 on 2); for similar heights
    (SRCNN's 64 vs 81, 32 vs 64) the order does not matter or slightly favours ``a @ b.T``.
    """
    return (b @ a.T).T if b.shape[0] >= 4 * a.shape[0] else a @ b.T


def _choose_method(method, C, F, KH, KW, HW, HoWo, pads):
    if method not in ("auto", "im2col", "taps"):
        raise ValueError(f"method must be 'auto', 'im2col' or 'taps', got {method!r}")
    if KH == KW == 1 and pads == 0 and method != "taps":
        return "1x1"
    if method == "auto":
        # taps moves F*K values per input pixel where im2col moves C*K per output pixel; take it when
        # that is at least 4x less traffic (SRCNN's layer 3: F = 1, C = 32), else the smaller GEMM.
        return "taps" if 4 * F * HW <= C * HoWo else "im2col"
    return method


def _chunks(N, Ho, row_bytes, chunk_bytes, halo=0):
    """Split N images of Ho output rows into (n0, nb, r0, nr) blocks whose buffer fits `chunk_bytes`.

    Whole images when one fits (``nb`` images at a time), else runs of rows within one image. The
    buffer holds ``row_bytes`` per output row plus `halo` extra rows (taps: the input rows around).
    """
    if (Ho + halo) * row_bytes <= chunk_bytes:
        nb = max(1, min(N, chunk_bytes // ((Ho + halo) * row_bytes)))
        return [(n0, min(nb, N - n0), 0, Ho) for n0 in range(0, N, nb)]
    nr = max(1, chunk_bytes // row_bytes - halo)
    return [(n, 1, r0, min(nr, Ho - r0)) for n in range(N) for r0 in range(0, Ho, nr)]


def _input_rows(r0, nr, pt, KH, H):
    """Input rows [ia, ib) that output rows r0 .. r0+nr-1 read (clipped to the image)."""
    return max(r0 - pt, 0), min(r0 + nr - 1 - pt + KH, H)


def _block(a, n0, nb, r0, nr):
    """View of images n0.. and rows r0.. of a channel-major array as a (C, nb*nr*W) matrix (no copy)."""
    C, N, H, W = a.shape
    v = a[:, n0 : n0 + nb, r0 : r0 + nr].reshape(C, -1)
    if v.__array_interface__["data"] != a[:, n0:, r0:].__array_interface__["data"]:  # reshape copied
        raise AssertionError("a block must be whole images or rows of one image")
    return v


@njit_parallel
def _bias_act_kernel(z, b, relu):
    # z: F, M (in place)   b: F
    F, M = z.shape
    for f in prange(F):  # rows are independent outputs
        bf = b[f]
        for m in range(M):
            v = z[f, m] + bf
            z[f, m] = max(v, 0) if relu else v


@njit_parallel_sum
def _relu_mask_sum_kernel(d, a, db):
    # d: F, M gradient wrt the activation, becomes the gradient wrt the pre-activation (in place)
    # a: F, M activation (output of the forward ReLU)     db: F, float64 (sum of the masked d)
    F, M = d.shape
    for f in prange(F):
        s = 0.0
        for m in range(M):
            v = d[f, m] if a[f, m] > 0 else 0
            d[f, m] = v
            s += v
        db[f] = s


@njit_parallel_sum
def _row_sum_kernel(d, db):
    # d: F, M    db: F, float64
    F, M = d.shape
    for f in prange(F):
        s = 0.0
        for m in range(M):
            s += d[f, m]
        db[f] = s


# ------------------------------------------------------------------------------------------------ ReLU


def relu_forward(x):
    """``max(0, x)`` elementwise.

    Parameters
    ----------
    x : ndarray, any shape, float32 or float64

    Returns
    -------
    out : ndarray, same shape
    cache : the output (its sign is the mask the backward pass needs)
    """
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    _relu_kernel(x.reshape(-1), out.reshape(-1))
    return out, out


def relu_backward(dout, cache):
    """Gradient of :func:`relu_forward`: ``dout * (out > 0)``; the subgradient at 0 is 0, as in PyTorch."""
    out = cache
    dout = np.ascontiguousarray(dout, dtype=out.dtype)
    dx = np.empty_like(out)
    _relu_backward_kernel(dout.reshape(-1), out.reshape(-1), dx.reshape(-1))
    return dx


def relu_reference(x):
    """Readable twin of :func:`relu_forward` (out) and :func:`relu_backward` (mask)."""
    return np.maximum(x, 0), (x > 0)


@njit_parallel
def _relu_kernel(x, out):
    for i in prange(x.size):
        out[i] = max(x[i], 0)


@njit_parallel
def _relu_backward_kernel(dout, out, dx):
    for i in prange(dout.size):
        dx[i] = dout[i] if out[i] > 0 else 0


# ------------------------------------------------------------------------------------------------- MSE


def mse_loss(pred, target, reduction="caffe"):
    """Squared-error loss and its gradient.

    Parameters
    ----------
    pred, target : ndarray, shape (N, ...), same shape; float32 or float64
    reduction : {"caffe", "mean", "sum"}
        "caffe": Caffe's EuclideanLoss, ``sum((pred - target)**2) / (2 N)`` with N the batch size. The
        paper's learning rates (1e-4 / 1e-5) are tuned for this, so it is the default.
        "mean": per-pixel mean ``sum(...) / pred.size``. For 21x21 labels its gradient is 21*21/2 = 220.5x
        smaller than Caffe's, so it needs ~220x larger learning rates for the same training.
        "sum": ``sum(...)``.

    Returns
    -------
    loss : float (accumulated in float64)
    dpred : ndarray, same shape and dtype as pred

    Notes
    -----
    ``dpred = (pred - target) / N`` (caffe), ``2 (pred - target) / size`` (mean), ``2 (pred - target)`` (sum).
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    pred = _as_float_array(pred, "pred")
    target = np.ascontiguousarray(target, dtype=pred.dtype)
    if pred.shape != target.shape:
        raise ValueError(f"pred {pred.shape} and target {target.shape} must have the same shape")
    N = pred.shape[0] if pred.ndim else 1
    loss_scale, grad_scale = {"caffe": (0.5 / N, 1.0 / N), "mean": (1.0 / pred.size, 2.0 / pred.size),
                              "sum": (1.0, 2.0)}[reduction]
    dpred = np.empty_like(pred)
    sse = _sq_err_kernel(pred.reshape(-1), target.reshape(-1), grad_scale, dpred.reshape(-1))
    return sse * loss_scale, dpred


def mse_reference(pred, target, reduction="caffe"):
    """Readable twin of :func:`mse_loss` (float64)."""
    d = pred.astype(np.float64) - target
    N = pred.shape[0]
    if reduction == "caffe":
        return (d**2).sum() / (2 * N), d / N
    if reduction == "mean":
        return (d**2).mean(), 2 * d / d.size
    return (d**2).sum(), 2 * d


@njit
def _sq_err_kernel(pred, target, grad_scale, dpred):
    # a serial float64 sum: 56k values per SRCNN batch, not worth threads
    s = 0.0
    g = pred.dtype.type(grad_scale)
    for i in range(pred.size):
        d = pred[i] - target[i]
        s += np.float64(d) * np.float64(d)
        dpred[i] = g * d
    return s


# ------------------------------------------------------------------------------------------------ utils


def _as_float_array(a, name, ndim=None):
    a = np.asarray(a)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float32)
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {a.shape}")
    return np.ascontiguousarray(a)


def _check_wb(x, w, b):
    w = np.ascontiguousarray(w, dtype=x.dtype)
    b = np.ascontiguousarray(b, dtype=x.dtype)
    if w.ndim != 4 or w.shape[1] != x.shape[1] or b.shape != (w.shape[0],):
        raise ValueError(f"w {w.shape} and b {b.shape} do not fit x {x.shape}: want (F, C, KH, KW), (F,)")
    return w, b


def _to_cm(a):
    """(N, C, H, W) <-> (C, N, H, W), contiguous; free when N or C is 1 (the bytes are the same)."""
    return np.ascontiguousarray(a.transpose(1, 0, 2, 3))
