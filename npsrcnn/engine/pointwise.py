"""Elementwise passes of the engine: bias + ReLU fused after a GEMM, ReLU mask + bias gradient fused
before one, standalone ReLU, and the squared-error loss (Caffe EuclideanLoss).

Each is a Numba kernel that touches every value once. Readable twins: :mod:`npsrcnn.lesson.relu` and
:mod:`npsrcnn.lesson.loss`; the tests compare them.
"""
import numpy as np
from numba import prange

from ..util.jit import njit, njit_parallel, njit_parallel_sum
from .workspace import lent_empty

REDUCTIONS = ("caffe", "mean", "sum")

# ------------------------------------------------------------------------- bias, ReLU and db, fused


@njit_parallel
def bias_act_kernel(z, b, relu, n0, nb):
    # z: F, N, M (in place, images n0 .. n0+nb-1)   b: F
    for f in prange(z.shape[0]):  # rows are independent outputs
        bf = b[f]
        for n in range(n0, n0 + nb):
            r = z[f, n]
            for m in range(len(r)):
                v = r[m] + bf
                r[m] = max(v, 0) if relu else v


@njit_parallel_sum
def relu_mask_sum_kernel(d, a, db):
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
def row_sum_kernel(d, db):
    # d: F, M    db: F, float64
    F, M = d.shape
    for f in prange(F):
        s = 0.0
        for m in range(M):
            s += d[f, m]
        db[f] = s


# The two sums above on images n0 .. n0+nb-1 of a channel-major (F, N, M) array: a sub-batch of the
# public NCHW functions, read and written where it lies in the whole batch's array
# (engine.conv.conv2d_forward). The whole-array ones stay for the model's path: they group its vectorised
# sums as when the shipped weights were trained.


@njit_parallel_sum
def relu_mask_sum_images_kernel(d, a, n0, nb, dst, db):
    # d: F, N, M gradient wrt the activation    a: F, N, M activation    dst: F, N, M, the gradient wrt the
    # pre-activation (may be d)    db: F, float64 (sum of the masked d); images n0 .. n0+nb-1
    for f in prange(d.shape[0]):
        s = 0.0
        for n in range(n0, n0 + nb):
            dr, ar, tr = d[f, n], a[f, n], dst[f, n]
            for m in range(len(dr)):
                v = dr[m] if ar[m] > 0 else 0
                tr[m] = v
                s += v
        db[f] = s


@njit_parallel_sum
def row_sum_images_kernel(d, n0, nb, db):
    # d: F, N, M    db: F, float64; images n0 .. n0+nb-1
    for f in prange(d.shape[0]):
        s = 0.0
        for n in range(n0, n0 + nb):
            r = d[f, n]
            for m in range(len(r)):
                s += r[m]
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
    xt, order = memory_order(np.asarray(x))
    out = lent_empty(xt.shape, xt.dtype)  # new to the caller, not to the process (engine.workspace)
    _relu_kernel(xt.reshape(-1), out.reshape(-1))
    out = out.transpose(np.argsort(order))  # x's axes again, x's layout in memory
    return out, out


def relu_backward(dout, cache):
    """Gradient of :func:`relu_forward`: ``dout * (out > 0)``; the subgradient at 0 is 0, as in PyTorch."""
    out, order = memory_order(cache)
    dout = np.ascontiguousarray(np.asarray(dout, dtype=out.dtype).transpose(order))  # free in out's layout
    dx = lent_empty(out.shape, out.dtype)
    _relu_backward_kernel(dout.reshape(-1), out.reshape(-1), dx.reshape(-1))
    return dx.transpose(np.argsort(order))


def memory_order(a):
    """`a` with its axes permuted so that it is C-contiguous, and the permutation.

    The engine's NCHW functions return views of channel-major buffers (``a.transpose(1, 0, 2, 3)``);
    elementwise kernels walk such a view in memory order, with no copy. An array that no permutation
    makes contiguous is copied (permutation: the identity).
    """
    order = tuple(int(i) for i in np.argsort([-abs(st) for st in a.strides], kind="stable"))
    t = a.transpose(order)
    if t.flags.c_contiguous:
        return t, order
    return np.ascontiguousarray(a), tuple(range(a.ndim))


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
    pred = as_float_array(pred, "pred")
    target = np.ascontiguousarray(target, dtype=pred.dtype)
    if pred.shape != target.shape:
        raise ValueError(f"pred {pred.shape} and target {target.shape} must have the same shape")
    N = pred.shape[0] if pred.ndim else 1
    loss_scale, grad_scale = {"caffe": (0.5 / N, 1.0 / N), "mean": (1.0 / pred.size, 2.0 / pred.size),
                              "sum": (1.0, 2.0)}[reduction]
    dpred = lent_empty(pred.shape, pred.dtype)
    sse = _sq_err_kernel(pred.reshape(-1), target.reshape(-1), grad_scale, dpred.reshape(-1))
    return sse * loss_scale, dpred


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


def as_float_array(a, name, ndim=None, contiguous=True):
    """`a` as a float32 or float64 array (other dtypes become float32) of `ndim` dims, C-contiguous
    unless `contiguous` is False (then in whatever layout it has)."""
    a = np.asarray(a)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float32)
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {a.shape}")
    return np.ascontiguousarray(a) if contiguous else a
