"""Convolution the readable way: im2col, one matrix product, and its three gradients (NCHW).

Walked through in ``docs/backprop/04-convolution.md``. Read in this order: :func:`pad`, :func:`im2col`,
:func:`conv2d_forward` (and :func:`conv2d_forward_naive`, the loop it replaces), :func:`conv2d_backward`
(dW, db, and dX by ``W^T @ dout`` + :func:`col2im`), then dX two more ways, :func:`dx_scatter` and
:func:`dx_full_correlation`, and :func:`unpad_grad`, which folds the padding's gradient back. The
engine (:mod:`npsrcnn.engine.conv`) computes the same sums faster; ``tests/test_lesson.py`` holds
them equal.

Shapes: x (N, C, H, W), w (F, C, KH, KW), b (F,), out (N, F, Ho, Wo). Cross-correlation with stride 1,
as PyTorch's conv2d, on the padded input xp:

    out[n, f, i, j] = b[f] + sum_{c, kh, kw} w[f, c, kh, kw] * xp[n, c, i + kh, j + kw]
"""
import numpy as np

PADDINGS = ("valid", "zero", "replicate")


def pad_widths(KH, KW, padding):
    """(pt, pb, pl, pr), the rows on top and below and the columns left and right that keep the size.

    (KH-1)//2 rows on top and the rest below for "zero" and "replicate", so an even kernel gets its
    extra row below (and its extra column on the right); (0, 0, 0, 0) for "valid".
    """
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
    if padding == "valid":
        return 0, 0, 0, 0
    pt, pl = (KH - 1) // 2, (KW - 1) // 2
    return pt, KH - 1 - pt, pl, KW - 1 - pl


def pad(x, KH, KW, padding):
    """x (N, C, H, W) padded so that a KH x KW window fits at every pixel ("zero", "replicate") or not
    at all ("valid"); "replicate" repeats the edge pixel (MATLAB's ``imfilter(..., 'replicate')``)."""
    pt, pb, pl, pr = pad_widths(KH, KW, padding)
    mode = "edge" if padding == "replicate" else "constant"
    return np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), mode=mode)  # N, C, H+pt+pb, W+pl+pr


def unpad_grad(dxp, H, W, KH, KW, padding):
    """The gradient wrt x from the gradient wrt the padded xp: the adjoint of :func:`pad`.

    Notes
    -----
    pad is linear, so its backward is its transpose (docs/backprop/04-convolution.md, 4.3 and 4.7).
    "zero": the pad holds constants, its gradient is dropped. "replicate": ``xp[.., u, v] =
    x[.., clip(u - pt, 0, H-1), clip(v - pl, 0, W-1)]``, so ``dx[.., r, s] = sum of dxp[.., u, v] over the
    (u, v) that copied (r, s)``: every edge-padded pixel's gradient adds onto the edge pixel.
    """
    pt, pb, pl, pr = pad_widths(KH, KW, padding)
    if padding != "replicate":
        return dxp[:, :, pt : pt + H, pl : pl + W]  # N, C, H, W
    ys = np.clip(np.arange(H + pt + pb) - pt, 0, H - 1)  # Hp: padded row -> the image row copied there
    xs = np.clip(np.arange(W + pl + pr) - pl, 0, W - 1)  # Wp: padded column -> image column
    dx = np.zeros(dxp.shape[:2] + (H, W), dxp.dtype)  # N, C, H, W
    np.add.at(dx, (slice(None), slice(None), ys[:, None], xs[None, :]), dxp)  # += at repeated indices too
    return dx


# ------------------------------------------------------------------------------------- im2col and col2im


def im2col(xp, KH, KW):
    """Unfold every KH x KW window of xp (N, C, Hp, Wp) into one column.

    Returns
    -------
    cols : ndarray, shape (C*KH*KW, N*Ho*Wo); row (c, kh, kw), column (n, i, j) holds
        ``xp[n, c, i + kh, j + kw]``, with Ho = Hp - KH + 1, Wo = Wp - KW + 1.
    """
    N, C, Hp, Wp = xp.shape
    Ho, Wo = Hp - KH + 1, Wp - KW + 1
    cols = np.empty((C, KH, KW, N, Ho, Wo), xp.dtype)
    for kh in range(KH):
        for kw in range(KW):
            window = xp[:, :, kh : kh + Ho, kw : kw + Wo]  # N, C, Ho, Wo: what tap (kh, kw) reads
            cols[:, kh, kw] = window.transpose(1, 0, 2, 3)  # C, N, Ho, Wo
    return cols.reshape(C * KH * KW, N * Ho * Wo)


def col2im(dcols, xp_shape, KH, KW):
    """The adjoint of :func:`im2col`: add every entry of dcols back onto the pixel it was copied from.

    Returns dxp, shape `xp_shape` (N, C, Hp, Wp); ``<im2col(xp), c> == <xp, col2im(c)>`` for all xp, c.
    """
    N, C, Hp, Wp = xp_shape
    Ho, Wo = Hp - KH + 1, Wp - KW + 1
    dcols = dcols.reshape(C, KH, KW, N, Ho, Wo)
    dxp = np.zeros(xp_shape, dcols.dtype)  # N, C, Hp, Wp
    for kh in range(KH):
        for kw in range(KW):
            dxp[:, :, kh : kh + Ho, kw : kw + Wo] += dcols[:, kh, kw].transpose(1, 0, 2, 3)  # N, C, Ho, Wo
    return dxp


# ------------------------------------------------------------------------------------- forward/backward


def conv2d_forward(x, w, b, padding="valid"):
    """Cross-correlation as im2col and one matrix product.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    w : ndarray, shape (F, C, KH, KW)
    b : ndarray, shape (F,)
    padding : {"valid", "zero", "replicate"}

    Returns
    -------
    out : ndarray, shape (N, F, Ho, Wo); Ho = H - KH + 1 for "valid", else H (likewise Wo)
    cache : (x, w, padding, xp.shape, cols), for :func:`conv2d_backward`

    Notes
    -----
    ``out_mat = W_mat @ cols + b``, with ``W_mat = w.reshape(F, C*KH*KW)`` and ``cols = im2col(xp)``.
    """
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    xp = pad(x, KH, KW, padding)  # N, C, Hp, Wp
    Ho, Wo = xp.shape[2] - KH + 1, xp.shape[3] - KW + 1
    cols = im2col(xp, KH, KW)  # C*KH*KW, N*Ho*Wo
    out = w.reshape(F, -1) @ cols + b[:, None]  # F, N*Ho*Wo
    out = out.reshape(F, N, Ho, Wo).transpose(1, 0, 2, 3)  # N, F, Ho, Wo
    return out, (x, w, padding, xp.shape, cols)


def conv2d_backward(dout, cache):
    """Gradients of :func:`conv2d_forward`, in argument order: (dx, dw, db).

    Parameters
    ----------
    dout : ndarray, shape (N, F, Ho, Wo)
    cache : from :func:`conv2d_forward`

    Notes
    -----
    ``dW_mat = dout_mat @ cols.T``; ``db = dout_mat.sum(axis=1)``; ``dcols = W_mat.T @ dout_mat``,
    ``dxp = col2im(dcols)``, ``dx = unpad_grad(dxp)``; with ``dout_mat`` (F, N*Ho*Wo).
    """
    x, w, padding, xp_shape, cols = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    dout_mat = dout.transpose(1, 0, 2, 3).reshape(F, -1)  # F, N*Ho*Wo
    dw = (dout_mat @ cols.T).reshape(w.shape)  # F, C, KH, KW
    db = dout_mat.sum(axis=1)  # F
    dcols = w.reshape(F, -1).T @ dout_mat  # C*KH*KW, N*Ho*Wo
    dxp = col2im(dcols, xp_shape, KH, KW)  # N, C, Hp, Wp
    dx = unpad_grad(dxp, H, W, KH, KW, padding)  # N, C, H, W
    return dx, dw, db


# ------------------------------------------------------------------------------ the loops, and dX again


def conv2d_forward_naive(x, w, b, padding="valid"):
    """The definition as a loop over output pixels: each reads its KH x KW window. Returns out only."""
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    xp = pad(x, KH, KW, padding)  # N, C, Hp, Wp
    Ho, Wo = xp.shape[2] - KH + 1, xp.shape[3] - KW + 1
    out = np.empty((N, F, Ho, Wo), np.result_type(x, w))
    for i in range(Ho):
        for j in range(Wo):
            window = xp[:, :, i : i + KH, j : j + KW]  # N, C, KH, KW
            out[:, :, i, j] = np.einsum("nckl,fckl->nf", window, w) + b  # N, F
    return out


def dx_scatter(dout, w, xp_shape):
    """dX of the padded input by scatter-add, the loop above run backwards.

    Notes
    -----
    Every output pixel (i, j) read the window ``xp[:, :, i:i+KH, j:j+KW]``, so it adds
    ``sum_f dout[n, f, i, j] * w[f, c, kh, kw]`` onto ``dxp[n, c, i+kh, j+kw]``.
    """
    N, F, Ho, Wo = dout.shape
    KH, KW = w.shape[2:]
    dxp = np.zeros(xp_shape, dout.dtype)  # N, C, Hp, Wp
    for i in range(Ho):
        for j in range(Wo):
            dxp[:, :, i : i + KH, j : j + KW] += np.einsum("nf,fckl->nckl", dout[:, :, i, j], w)  # N, C, KH, KW
    return dxp


def dx_full_correlation(dout, w):
    """dX of the padded input as a convolution: dout, zero-padded by KH-1 and KW-1 on every side,
    correlated with the kernels flipped in space and with F and C swapped.

    Notes
    -----
    ``dxp[n, c, u, v] = sum_{f, kh, kw} dout[n, f, u - kh, v - kw] * w[f, c, kh, kw]``; with
    ``kh' = KH-1-kh`` this is ``sum dpad[n, f, u + kh', v + kw'] * w[f, c, KH-1-kh', KW-1-kw']``: the full
    correlation of dout with the flipped kernel, i.e. a true convolution (4.5 and 4.6 (c) of the walkthrough).
    """
    F, C, KH, KW = w.shape
    w_flip = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # C, F, KH, KW
    dpad = np.pad(dout, ((0, 0), (0, 0), (KH - 1, KH - 1), (KW - 1, KW - 1)))  # N, F, Ho+2KH-2, Wo+2KW-2
    dxp, _ = conv2d_forward(dpad, w_flip, np.zeros(C, dout.dtype))  # N, C, Hp, Wp
    return dxp
