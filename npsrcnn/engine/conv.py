"""The engine's convolution: one entry point, several formulations of the same sums.

:func:`conv_forward_cm` and :func:`conv_backward_cm` work on channel-major ``(C, N, H, W)`` arrays (see
:mod:`npsrcnn.engine.unfold`) and do what every formulation shares: the geometry and padding, the output
buffer, the bias (+ ReLU) pass after the product, and the ReLU mask + bias gradient before the backward
one. How the product itself is formed is a *strategy*, a ``(forward, backward)`` pair in ``STRATEGIES``,
picked per layer by :func:`choose_method`:

- ``"1x1"``: a 1x1 kernel without padding; the input is already the im2col matrix. (9-1-5's layer 2.)
- ``"im2col"``: unfold, one GEMM (:mod:`npsrcnn.engine.unfold`). (Layers 1 and 2.)
- ``"taps"``: one GEMM per input pixel, then shift and add (:mod:`npsrcnn.engine.taps`). (Layer 3, F = 1.)
- ``"winograd2"``, ``"winograd4"``: Winograd F(2x2, KxK) / F(4x4, KxK), A*A GEMMs on transformed tiles
  (:mod:`npsrcnn.engine.winograd`). (9-5-5's layer 2.)

Which one "auto" picks, and why: docs/engine.md, "Which formulation for which layer". A new
formulation is one more pair of functions with the signatures of ``_forward_im2col`` /
``_backward_im2col``, one entry in ``STRATEGIES`` and a rule in :func:`choose_method`;
``tests/test_layers.py`` and ``tests/test_winograd.py`` run the methods against the lesson's reference.
:func:`conv2d_forward` / :func:`conv2d_backward` are the same convolution on NCHW arrays.

The readable version of all this is :mod:`npsrcnn.lesson.conv`.
"""
import functools
import os
import weakref

import numpy as np

from . import parallel, taps, unfold, winograd, workspace
from .pointwise import (as_float_array, bias_act_kernel, relu_mask_sum_images_kernel,
                        relu_mask_sum_kernel, row_sum_images_kernel, row_sum_kernel)
from .unfold import _check
from .workspace import Spares, Workspace, block, chunks, input_rows, lent_empty

PADDINGS = ("valid", "zero", "replicate")
# The NCHW functions split a batch into sub-batches of this many images, which run on worker threads
# (engine.parallel) as SRCNN.loss_and_grads' do: few coarse tasks instead of many short parallel regions.
SUB_BATCH = 32
METHODS = ("auto", "im2col", "taps", "winograd2", "winograd4")
WINOGRAD_TILES = {"winograd2": 2, "winograd4": 4}  # outputs per tile side, m of F(m x m, K x K)

# ------------------------------------------------------------------------------------- NCHW, public


def conv2d_forward(x, w, b, padding="valid", method="auto", relu=False):
    """Cross-correlation (PyTorch's conv2d), stride 1, on the engine; optionally fused with a ReLU.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W), float32 or float64
    w : ndarray, shape (F, C, KH, KW)
    b : ndarray, shape (F,)
    padding : {"valid", "zero", "replicate"}
        "valid": no padding (training, as the paper's Caffe net). "zero" and "replicate" pad
        ``(KH-1)//2`` rows on top, the rest below (same for columns), so the output has the input's size;
        "replicate" repeats the edge pixel (the authors' MATLAB ``imfilter(..., 'same', 'replicate')``).
    method : {"auto", "im2col", "taps", "winograd2", "winograd4"}
        How the product is formed (see this module's docstring); the result is the same up to rounding.
    relu : bool
        Return ``max(0, conv + b)``, the ReLU applied in the bias pass instead of a pass of its own
        (:func:`relu_forward` after this op computes the same; its backward is then part of
        :func:`conv2d_backward`'s).

    Returns
    -------
    out : ndarray, shape (N, F, Ho, Wo); Ho = H - KH + 1 for "valid", else H (likewise Wo). A view of a
        channel-major (F, N, Ho, Wo) array: the next layer (and the ReLU between) reads it in that
        layout with no copy; ``np.ascontiguousarray(out)`` gives a C-contiguous NCHW copy.
    cache : dict, for :func:`conv2d_backward` (the channel-major input, w, geometry, strategy; for a
        batch of more than ``SUB_BATCH`` images, one such dict per sub-batch: they run on worker
        threads, :mod:`npsrcnn.engine.parallel`, each on its images of the same arrays)

    Notes
    -----
    ``out[n, f, i, j] = b[f] + sum_{c,kh,kw} w[f, c, kh, kw] * xpad[n, c, i + kh, j + kw]``
    """
    x = as_float_array(x, "x", 4, contiguous=False)  # an earlier layer's output is a channel-major view
    w, b = _check_wb(x, w, b)
    xc = to_cm(x)  # no copy for a channel-major view (an earlier layer's output) or when N or C is 1
    N = x.shape[0]
    Ho, Wo = _geometry(*x.shape[2:], *w.shape[2:], padding)[4:]
    out = lent_empty((w.shape[0], N, Ho, Wo), x.dtype)  # channel-major, seen as NCHW below
    starts = range(0, N, SUB_BATCH)

    def part(n0):  # a sub-batch on a worker thread (engine.parallel): its images of xc into those of out
        nb = min(SUB_BATCH, N - n0)
        key = (xc.shape[0], nb) + x.shape[2:] + w.shape + (padding, method, x.dtype.str)
        ws = _spare_workspaces.take(key) or Workspace()
        cache = conv_forward_cm(xc, w, b, padding, method=method, relu=relu, images=(n0, nb), out=out, ws=ws)[1]
        weakref.finalize(cache, _spare_workspaces.give, key, ws)  # kept when the caller drops the cache
        return cache

    parts = parallel.run(part, starts)
    cache = parts[0] if len(parts) == 1 else dict(parts=parts)
    return out.transpose(1, 0, 2, 3), cache  # NCHW view of the channel-major output, no copy


def conv2d_backward(dout, cache, need_dx=True):
    """Gradients of :func:`conv2d_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, Ho, Wo), the gradient wrt the output (the ReLU's when ``relu=True``);
        not modified
    cache : from :func:`conv2d_forward`
    need_dx : bool
        False skips dX (a network's first layer), returning None for it.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), or None; a channel-major view like the forward's output
    dw : ndarray, shape (F, C, KH, KW)
    db : ndarray, shape (F,)

    Notes
    -----
    The sums of :func:`npsrcnn.lesson.conv.conv2d_backward`: ``dW = dout_mat @ cols.T``, ``db = sum of
    dout over N, Ho, Wo``; dX, by strategy and padding, see :func:`_backward_im2col`,
    :func:`_backward_taps`, :func:`_backward_1x1`.
    """
    parts = cache.get("parts", [cache])
    dtype = parts[0]["x"].dtype
    dc = to_cm(np.asarray(dout, dtype=dtype))  # no copy for a channel-major view (a later layer's dx)
    C, N, H, W = parts[0]["x"].shape
    F, _, Ho, Wo = parts[0]["out"].shape
    if dc.shape != (F, N, Ho, Wo):
        raise ValueError(f"dout has shape {tuple(dc.shape[i] for i in (1, 0, 2, 3))}, the output {(N, F, Ho, Wo)}")
    # dout masked by the ReLU (dout itself is not changed): scratch, so in a workspace of the call's
    dz = parts[0]["ws"].get(parts[0]["name"] + ".dz", dc.shape, dtype) if parts[0]["relu"] else None
    dx = lent_empty((C, N, H, W), dtype) if need_dx else None  # channel-major, seen as NCHW

    def part(g):  # a sub-batch's gradients, its images of dx; dW and db are summed below in sub-batch order
        return conv_backward_cm(dc, g, need_dx=need_dx, dx=dx, masked=dz)[1:]

    grads = parallel.run(part, parts)
    dw = sum(g[0] for g in grads[1:]) + grads[0][0]
    db = sum(g[1] for g in grads[1:]) + grads[0][1]
    return (None if dx is None else dx.transpose(1, 0, 2, 3)), dw, db


# The public functions' scratch (im2col columns, Winograd's tiles, ...) outlives a call in its cache,
# for the backward; once the caller drops the cache, the workspace waits here for the next call of the
# same shape, so that a training loop written with them does not allocate (and page-fault) its
# scratch again at every step. Their outputs and gradients are the caller's arrays (in memory that
# dropped ones used: workspace.lent_empty); only buffers that no caller can still hold come back.
_spare_workspaces = Spares(8)  # kept per call shape


class Cache(dict):
    """A convolution's cache: a dict (weak references can follow it, which a plain dict's cannot)."""


def release_workspaces():
    """Free the scratch buffers and the memory of dropped outputs kept for later calls (their bytes)."""
    return _spare_workspaces.clear(Workspace.nbytes) + workspace.release_memory()


def to_cm(a):
    """(N, C, H, W) <-> (C, N, H, W), contiguous; free when N or C is 1 (the bytes are the same)."""
    return np.ascontiguousarray(a.transpose(1, 0, 2, 3))


def _check_wb(x, w, b):
    w = np.ascontiguousarray(w, dtype=x.dtype)
    b = np.ascontiguousarray(b, dtype=x.dtype)
    if w.ndim != 4 or w.shape[1] != x.shape[1] or b.shape != (w.shape[0],):
        raise ValueError(f"w {w.shape} and b {b.shape} do not fit x {x.shape}: want (F, C, KH, KW), (F,)")
    return w, b


# ------------------------------------------------------------------------ channel-major: the entry point


def conv_forward_cm(x, w, b, padding="valid", method="auto", relu=False, vpad=None, ws=None,
                    name="conv", chunk_bytes=None, backward=True, images=None, out=None):
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
        Largest im2col / tap-product buffer filled at once (default ``workspace.CHUNK_BYTES``, read
        at each call).
    backward : bool
        The cache will go to :func:`conv_backward_cm` (default): keep what the backward reuses
        (Winograd's transformed tiles V, 4x the input). False for inference: nothing kept.
    images : (int, int), optional
        ``(n0, nb)``: convolve only images n0 .. n0+nb-1 of x, into the same images of `out`, reading
        them where they are (a sub-batch of a larger batch, with no copy). Default: all.
    out : ndarray, shape (F, N, Ho, Wo), C-contiguous, optional
        Where to write (only `images`' part); default a buffer of `ws`.

    Returns
    -------
    out : ndarray, shape (F, N, Ho, Wo)
    cache : dict: x, w, the geometry (KH, KW, pt, pl, Ho, Wo, replicate), the strategy, the output
        (the ReLU mask), the images, the forward's im2col columns when they were filled in one chunk,
        ws, name
    """
    ws = Workspace() if ws is None else ws
    C, N, H, W = x.shape
    F, _, KH, KW = w.shape
    n0, nb = (0, N) if images is None else images
    if not (0 <= n0 and 1 <= nb and n0 + nb <= N):
        raise ValueError(f"images {images} are not a run of the {N} images of x")
    pt, pb, pl, pr, Ho, Wo = _geometry(H, W, KH, KW, padding, vpad)
    method = choose_method(method, C, F, KH, KW, nb, H, W, Ho, Wo, pt + pb + pl + pr)
    if out is None:
        out = ws.get(name + ".out", (F, N, Ho, Wo), x.dtype)
    _check(out, (F, N, Ho, Wo), x.dtype, "out")
    cache = Cache(x=x, w=w, method=method, relu=relu, out=out, cols=None, ws=ws, name=name, images=(n0, nb),
                 chunk_bytes=workspace.CHUNK_BYTES if chunk_bytes is None else chunk_bytes,
                 KH=KH, KW=KW, pt=pt, pl=pl, Ho=Ho, Wo=Wo, replicate=padding == "replicate", keep=backward)
    STRATEGIES[method][0](x, w, out, cache)  # out = the correlation, no bias yet
    bias_act_kernel(out.reshape(F, N, -1), b, relu, n0, nb)
    return out, cache


def _geometry(H, W, KH, KW, padding, vpad=None):
    """Padding (top, bottom, left, right) and output size (Ho, Wo) of a KHxKW correlation of HxW."""
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
    pt, pb = (0, 0) if padding == "valid" else ((KH - 1) // 2, KH - 1 - (KH - 1) // 2)
    pl, pr = (0, 0) if padding == "valid" else ((KW - 1) // 2, KW - 1 - (KW - 1) // 2)
    if vpad is not None:
        pt, pb = vpad
    Ho, Wo = H + pt + pb - KH + 1, W + pl + pr - KW + 1
    if Ho < 1 or Wo < 1:
        raise ValueError(f"a {KH}x{KW} kernel does not fit a {H}x{W} input with {padding} padding")
    return pt, pb, pl, pr, Ho, Wo


def conv_backward_cm(dout, cache, need_dx=True, dx=None, masked=None):
    """:func:`conv2d_backward` on channel-major arrays; with a fused ReLU, `dout` is masked in place
    (or into `masked`).

    Parameters
    ----------
    dout : ndarray, shape (F, N, Ho, Wo), C-contiguous (overwritten when the forward had ``relu`` and
        `masked` is None); of a forward on some `images`, only those are read
    dx : ndarray, shape (C, N, H, W), C-contiguous, optional
        Where to write dX (the forward's images only); default a buffer of the cache's workspace.
    masked : ndarray like dout, optional
        Where the masked gradient goes when the forward had ``relu`` (the forward's images only).

    Returns
    -------
    dx : ndarray, shape (C, N, H, W), or None; dw : (F, C, KH, KW); db : (F,)
    """
    x, w = cache["x"], cache["w"]
    F = w.shape[0]
    n0, nb = cache["images"]
    N = x.shape[1]
    db = np.empty(F, np.float64)
    if cache["relu"] and masked is not None:
        _check(masked, dout.shape, dout.dtype, "masked")
    # The model's path (whole arrays, in place) sums db as one run per channel: the per-image kernel
    # would group the vectorised sums otherwise, and the shipped weights were trained with these bits.
    if nb == N and (masked is None or not cache["relu"]):
        d2 = dout.reshape(F, -1)
        if cache["relu"]:
            relu_mask_sum_kernel(d2, cache["out"].reshape(F, -1), db)  # dz = da * (a > 0)
        else:
            row_sum_kernel(d2, db)
    elif cache["relu"]:  # some images, or the mask into `masked`
        dst = dout if masked is None else masked
        relu_mask_sum_images_kernel(dout.reshape(F, N, -1), cache["out"].reshape(F, N, -1), n0, nb,
                                    dst.reshape(F, N, -1), db)
        dout = dst
    else:
        row_sum_images_kernel(dout.reshape(F, N, -1), n0, nb, db)
    if need_dx:
        dx = cache["ws"].get(cache["name"] + ".dx", x.shape, x.dtype) if dx is None else dx
        _check(dx, x.shape, x.dtype, "dx")
    else:
        dx = None
    dw = STRATEGIES[cache["method"]][1](dout, cache, dx)
    return dx, dw, db.astype(x.dtype)


def choose_method(method, C, F, KH, KW, N, H, W, Ho, Wo, pads):
    """The strategy for one layer: "1x1", "im2col", "taps", "winograd2" or "winograd4".

    "auto" decides by cost; the rule and its reasons are the table "Which formulation for which layer"
    in docs/engine.md. The environment variable ``NPSRCNN_CONV_METHOD`` (one of ``METHODS``) replaces
    "auto" for every layer it can run, so a benchmark can compare formulations without code changes;
    an explicit `method` wins over it.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "auto":
        method = os.environ.get("NPSRCNN_CONV_METHOD", "auto") or "auto"
        if method not in METHODS:
            raise ValueError(f"NPSRCNN_CONV_METHOD must be one of {METHODS}, got {method!r}")
        if method in WINOGRAD_TILES and not winograd_fits(WINOGRAD_TILES[method], KH, KW):
            method = "auto"  # a benchmark's override skips the layers it cannot run (SRCNN's 9x9)
    if KH == KW == 1 and pads == 0 and method != "taps":
        return "1x1"
    if method in WINOGRAD_TILES and not winograd_fits(WINOGRAD_TILES[method], KH, KW):
        largest = 2 + len(winograd.POINTS) - WINOGRAD_TILES[method]
        raise ValueError(f"{method} needs a square kernel of side 2 .. {largest}, got {KH}x{KW}")
    if method != "auto":
        return method
    # taps moves F*K values per input pixel where im2col moves C*K per output pixel; take it when that
    # is at least 4x less traffic (SRCNN's layer 3: F = 1, C = 32).
    if 4 * F * H * W <= C * Ho * Wo:
        return "taps"
    # Winograd: 2.25x (3x3, F(2x2)) to 6.25x (5x5, F(4x4)) fewer multiplies, for transforms whose cost
    # grows with C + F rather than C * F, and a fixed cost per call: worth it for a few thousand
    # outputs of layers with 8 or more channels on each side. F(4x4) unless a 4x4 tile would be
    # mostly past the edge of a small output.
    if KH == KW and KH in (3, 5) and min(C, F) >= 8 and N * Ho * Wo >= WINOGRAD_MIN_OUTPUTS:
        return "winograd4" if min(Ho, Wo) >= 8 else "winograd2"
    return "im2col"


WINOGRAD_MIN_OUTPUTS = 4096  # output pixels per call (N*Ho*Wo) below which im2col's single GEMM wins


def winograd_fits(m, KH, KW):
    """Whether F(m x m, KH x KW) has its interpolation points: square kernels, m + K - 2 points."""
    return KH == KW >= 2 and m + KH - 2 <= len(winograd.POINTS)


# ----------------------------------------------------------------------------------------- strategies
# forward(x, w, out, cache): write the correlation (no bias) into out (F, N, Ho, Wo).
# backward(dout, cache, dx) -> dw: dout (F, N, Ho, Wo) is already the pre-activation gradient; write
# dx (C, N, H, W) unless it is None (it is an uninitialised workspace buffer).


def _chunks(g, rows, row_bytes, chunk_bytes, halo=0):
    """:func:`~npsrcnn.engine.workspace.chunks` of the call's images (``g["images"]``), numbered as in x."""
    first, count = g["images"]
    return [(first + n0, nb, r0, nr) for n0, nb, r0, nr in chunks(count, rows, row_bytes, chunk_bytes, halo)]


def _images(a, g):
    """The call's images of a channel-major array (a view)."""
    first, count = g["images"]
    return a[:, first : first + count]


def _forward_1x1(x, w, out, g):
    F, C = w.shape[:2]
    n0, nb = g["images"]
    np.matmul(w.reshape(F, C), block(x, n0, nb, 0, x.shape[2]), out=block(out, n0, nb, 0, out.shape[2]))  # F, N*H*W


def _backward_1x1(dout, g, dx):
    x, w = g["x"], g["w"]
    F, C = w.shape[:2]
    n0, nb = g["images"]
    d2, x2 = block(dout, n0, nb, 0, dout.shape[2]), block(x, n0, nb, 0, x.shape[2])
    if dx is not None:
        np.matmul(w.reshape(F, C).T, d2, out=block(dx, n0, nb, 0, dx.shape[2]))  # C, N*H*W
    return gram(d2, x2).reshape(w.shape)  # F, C


def _forward_im2col(x, w, out, g):
    """``out = W (F, C*K) @ im2col(x) (C*K, N*Ho*Wo)``, by chunks of images or rows."""
    C = x.shape[0]
    F, _, KH, KW = w.shape
    CK, Wo, ws, name = C * KH * KW, g["Wo"], g["ws"], g["name"]
    wmat = w.reshape(F, CK)
    parts = _chunks(g, g["Ho"], CK * Wo * x.itemsize, g["chunk_bytes"])
    for n0, nb, r0, nr in parts:
        cols = unfold.im2col(x, KH, KW, nr, Wo, r0 - g["pt"], -g["pl"], g["replicate"], n0, nb,
                             out=ws.get(name + ".cols", (CK, nb, nr, Wo), x.dtype))
        np.matmul(wmat, cols.reshape(CK, -1), out=block(out, n0, nb, r0, nr))
    if len(parts) == 1:
        g["cols"] = cols  # backward reuses it instead of unfolding again


def _backward_im2col(dout, g, dx):
    """``dW = dout @ cols.T``; dX two ways, the same sums (the lesson shows them equal), chosen by cost.

    'full': a 'full' correlation of dout with the flipped, channel-swapped kernels, i.e. im2col of
    dout (F*KH*KW rows over the H x W input, offsets ``pad - (K - 1)``, zeros outside) and one GEMM
    straight into dx. 'col2im': ``W.T @ dout`` writes C*KH*KW rows over Ho x Wo for col2im to scatter.
    The unfolded matrix is what each moves: full when ``F*H*W <= C*Ho*Wo``. Measured on 9-5-5 layer 2
    (F = 32 < C = 64, 32 images, 2 threads): full 44 ms, col2im 58. For a 1-channel input (9-1-5's
    layer 1, F = 64, C = 1) full unfolds 64x81 rows where col2im scatters 81: 371 ms -> ~14 ms.
    col2im also for replicate padding, which folds the gradient of the clamped reads back onto the
    edge pixels, and for rows of one image (row chunks accumulate).
    """
    x, w, ws, name = g["x"], g["w"], g["ws"], g["name"]
    C, N, H, W = x.shape
    F, _, KH, KW = w.shape
    CK, pt, pl, Ho, Wo, rep = C * KH * KW, g["pt"], g["pl"], g["Ho"], g["Wo"], g["replicate"]
    parts = _chunks(g, Ho, CK * Wo * x.itemsize, g["chunk_bytes"])
    full = (dx is not None and not rep and parts[0][3] == Ho  # whole images: each chunk owns its dx block
            and F * H * W <= C * Ho * Wo)
    if full:
        wflip = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)).reshape(C, -1)  # C, F*K
    elif dx is not None:
        _images(dx, g).fill(0)  # col2im accumulates
    dwm = np.zeros((F, CK), x.dtype)
    for n0, nb, r0, nr in parts:
        cols = g["cols"]
        if cols is None:
            cols = unfold.im2col(x, KH, KW, nr, Wo, r0 - pt, -pl, rep, n0, nb,
                                 out=ws.get(name + ".cols", (CK, nb, nr, Wo), x.dtype))
        dblk = block(dout, n0, nb, r0, nr)  # F, nb*nr*Wo
        dwm += gram(dblk, cols.reshape(CK, -1))
        if full:
            dz = unfold.im2col(dout, KH, KW, H, W, pt - (KH - 1), pl - (KW - 1), False, n0, nb,
                               out=ws.get(name + ".dzcols", (F * KH * KW, nb, H, W), x.dtype))
            np.matmul(wflip, dz.reshape(F * KH * KW, -1), out=block(dx, n0, nb, 0, H))
        elif dx is not None:
            dcols = ws.get(name + ".dcols", (CK, nb, nr, Wo), x.dtype)
            np.matmul(w.reshape(F, CK).T, dblk, out=dcols.reshape(CK, -1))
            unfold.col2im(dcols, KH, KW, r0 - pt, -pl, rep, dx, n0)
    return dwm.reshape(w.shape)


def _forward_taps(x, w, out, g):
    """``T = W_taps (F*K, C) @ x (C, N*H*W)``, then ``out = tap_sum(T)``, by chunks with a halo."""
    C, N, H, W = x.shape
    F, _, KH, KW = w.shape
    FK, pt, ws, name = F * KH * KW, g["pt"], g["ws"], g["name"]
    wt = taps_matrix(w)
    for n0, nb, r0, nr in _chunks(g, g["Ho"], FK * W * x.itemsize, g["chunk_bytes"], KH - 1):
        ia, ib = input_rows(r0, nr, pt, KH, H)
        T = ws.get(name + ".T", (FK, nb, ib - ia, W), x.dtype)
        np.matmul(wt, block(x, n0, nb, ia, ib - ia), out=T.reshape(FK, -1))
        taps.tap_sum(T, KH, KW, r0 - pt - ia, -g["pl"], g["replicate"], out, n0, r0, nr)


def _backward_taps(dout, g, dx):
    """``dT = tap_spread(dout)`` (adjoint of tap_sum), ``dW_taps = dT @ x.T``, ``dx = W_taps.T @ dT``."""
    x, w, ws, name = g["x"], g["w"], g["ws"], g["name"]
    C, N, H, W = x.shape
    F, _, KH, KW = w.shape
    FK, pt, Ho = F * KH * KW, g["pt"], g["Ho"]
    wt = taps_matrix(w)
    dwt = np.zeros((FK, C), x.dtype)
    parts = _chunks(g, Ho, FK * W * x.itemsize, g["chunk_bytes"], KH - 1)
    if dx is not None and parts[0][3] < Ho:  # row chunks overlap by the kernel's halo: accumulate
        _images(dx, g).fill(0)
    for n0, nb, r0, nr in parts:
        ia, ib = input_rows(r0, nr, pt, KH, H)
        dT = ws.get(name + ".dT", (FK, nb, ib - ia, W), x.dtype, zero=True)
        taps.tap_spread(dout, KH, KW, r0 - pt - ia, -g["pl"], g["replicate"], dT, n0, r0, nr)
        dT2 = dT.reshape(FK, -1)
        dwt += gram(dT2, block(x, n0, nb, ia, ib - ia))
        if dx is not None and nr == Ho:  # whole images: each chunk owns its block of dx
            np.matmul(wt.T, dT2, out=block(dx, n0, nb, 0, H))
        elif dx is not None:
            block(dx, n0, nb, ia, ib - ia)[...] += wt.T @ dT2
    return np.ascontiguousarray(dwt.reshape(F, KH, KW, C).transpose(0, 3, 1, 2))


def _forward_winograd(x, w, out, g, m):
    """``out = output_transform(U @ V)``: U the transformed kernels, V the transformed input tiles.

    See :mod:`npsrcnn.engine.winograd`. Per chunk of images or rows, a block of tile rows at a time:
    the tiles straight from the pixels (V), the A*A GEMMs (M) and the output transform, so that V and
    M stay near the cache (V for 32 patches of 9-5-5 layer 2 is 19 MB, 4x the input).
    """
    F, C, K, _ = w.shape
    AT, G, BT = _winograd_matrices(m, K)
    U = g["U"] = winograd.kernel_transform(w, G)  # A*A, F, C
    g["block_bytes"] = WINOGRAD_BLOCK_BYTES  # the backward cuts the same blocks (and finds kept V's)
    if g["keep"]:
        g["V"] = _winograd_kept(x, g, m, len(BT))
    for n0, nb, r0, nr in _winograd_parts(x, g, m):
        for ty0, nty, V in _winograd_blocks(x, g, m, BT, n0, nb, r0, nr, keep=g["keep"]):
            M = np.matmul(U, V, out=g["ws"].get(g["name"] + ".M", (len(U), F, V.shape[2]), x.dtype))
            winograd.output_transform(M, AT, m, nty, V.shape[2] // (nty * nb), out, n0, r0 + ty0 * m,
                                      min(nty * m, nr - ty0 * m))


def _backward_winograd(dout, g, dx, m):
    """The adjoint of :func:`_forward_winograd`, step by step, a block of tile rows at a time.

    ``dM = AT^T dout AT`` per tile; ``dU = dM @ V^T`` -> ``dW = G^T dU G``; ``dV = U^T @ dM`` ->
    ``dx`` (the tiles' adjoint, which also folds replicated pixels' gradient back onto the edge).
    V is the forward's (kept unless ``backward=False``, then transformed again from the pixels).
    """
    x, w, U, ws, name = g["x"], g["w"], g["U"], g["ws"], g["name"]
    F, C, K, _ = w.shape
    AT, G, BT = _winograd_matrices(m, K)
    A2 = len(U)
    dUt = np.zeros((A2, C, F), x.dtype)  # dU transposed: see the GEMM below
    if dx is not None:
        _images(dx, g).fill(0)  # the tiles' adjoint accumulates (tiles overlap)
    g["Vpos"] = 0
    for n0, nb, r0, nr in _winograd_parts(x, g, m):
        for ty0, nty, V in _winograd_blocks(x, g, m, BT, n0, nb, r0, nr, reuse=g["keep"]):
            P = V.shape[2]
            Tw = P // (nty * nb)
            dM = winograd.output_transform_adjoint(dout, AT, m, nty, Tw, ws.get(name + ".dM", (A2, F, P), x.dtype),
                                                   n0, r0 + ty0 * m, min(nty * m, nr - ty0 * m))
            # A*A GEMMs, C x tiles by tiles x F: OpenBLAS is ~1.3x faster with the taller matrix on the left
            # (as for gram()), measured on 9-5-5 layer 2 (C = 64, F = 32, 352 tiles per block), and twice
            # as fast again with dM^T copied out than as a view of dM (51 vs 24 GMAC/s on 192 tiles in
            # cache, one thread): the copy costs less than it saves. The same sums, bit for bit.
            dMt = ws.get(name + ".dMt", (A2, P, F), x.dtype)
            np.copyto(dMt, dM.transpose(0, 2, 1))
            dUt += np.matmul(V, dMt, out=ws.get(name + ".dUb", (A2, C, F), x.dtype))
            if dx is not None:  # the rows a block shares with the next wait in `carry` for the next's
                dV = np.matmul(U.transpose(0, 2, 1), dM, out=ws.get(name + ".dV", (A2, C, P), x.dtype))
                carry = ws.get(name + ".carry", (C, K - 1, m + K - 1, Tw * nb), x.dtype)
                winograd.tile_transform_adjoint(dV, BT, m, Tw, r0 - g["pt"], -g["pl"], g["replicate"], dx, n0, nb,
                                                ty0, carry, first=ty0 == 0, last=(ty0 + nty) * m >= nr)
    return winograd.kernel_transform_adjoint(dUt.transpose(0, 2, 1), G, x.dtype)


# Tile rows transformed and multiplied at once: as many as keep one block of V within this many bytes
# (about an L2 cache). One tile row of 32 patches of 9-5-5 layer 2 is already 3 MB; of a 512-wide
# strip 2.4 MB.
WINOGRAD_BLOCK_BYTES = 1 << 20


def _winograd_parts(x, g, m):
    """Chunks (n0, nb, r0, nr) of images or of whole rows of tiles, each a few MB of input."""
    C = x.shape[0]
    K = g["w"].shape[2]
    Ho, Wo = g["Ho"], g["Wo"]
    Th, Tw = -(-Ho // m), -(-Wo // m)
    tile_row_bytes = m * C * (m + K - 1) * Tw * x.itemsize  # of the input rows' lanes, per image
    return [(n0, nb, t0 * m, min(nt * m, Ho - t0 * m))
            for n0, nb, t0, nt in _chunks(g, Th, tile_row_bytes, g["chunk_bytes"], -(-(K - 1) // m))]


def _winograd_blocks(x, g, m, BT, n0, nb, r0, nr, keep=False, reuse=False):
    """(ty0, nty, V) for blocks of nty tile rows of a chunk: V (A*A, C, nty*Tw*nb), transformed.

    With `keep` each block gets its own place, in order, in one buffer of the whole layer's V
    (``g["V"]``, made by :func:`_winograd_kept`; the backward's dU needs V again); with `reuse` the
    blocks are those the forward kept, in the same order. Otherwise one block's buffer is reused (it
    stays in cache).
    """
    C = x.shape[0]
    A, Tw, Th = BT.shape[0], -(-g["Wo"] // m), -(-nr // m)
    L = Tw * nb
    bt = max(1, min(Th, g["block_bytes"] // (A * A * C * L * x.itemsize)))
    ring = None if reuse else g["ws"].get(g["name"] + ".ring", (C, A, A, L), x.dtype)  # rows shared by blocks
    for ty0 in range(0, Th, bt):
        nty = min(bt, Th - ty0)
        shape = (A * A, C, nty * L)
        if keep or reuse:
            start, g["Vpos"] = g["Vpos"], g["Vpos"] + A * A * C * nty * L
            V = g["V"][start : g["Vpos"]].reshape(shape)
            if reuse:
                yield ty0, nty, V
                continue
        else:
            V = g["ws"].get(g["name"] + ".V", shape, x.dtype)
        yield ty0, nty, winograd.tile_transform(x, BT, m, Tw, r0 - g["pt"], -g["pl"], g["replicate"], V, n0, nb,
                                                ty0, ring, first=ty0 == 0)


def _winograd_kept(x, g, m, A):
    """Room for the whole layer's V, every chunk's blocks one after another: (A*A * C * tiles,)."""
    g["Vpos"] = 0
    tiles = -(-g["Ho"] // m) * -(-g["Wo"] // m) * g["images"][1]
    return g["ws"].get(g["name"] + ".Vkept", (A * A * x.shape[0] * tiles,), x.dtype)


@functools.lru_cache(maxsize=None)
def _winograd_matrices(m, K):
    AT, G, BT = winograd.transform_matrices(m, K)
    for a in (AT, G, BT):
        a.flags.writeable = False  # shared by every call
    return AT, G, BT


STRATEGIES = {
    "1x1": (_forward_1x1, _backward_1x1),
    "im2col": (_forward_im2col, _backward_im2col),
    "taps": (_forward_taps, _backward_taps),
    **{name: (functools.partial(_forward_winograd, m=m), functools.partial(_backward_winograd, m=m))
       for name, m in WINOGRAD_TILES.items()},
}


def taps_matrix(w):
    """w (F, C, KH, KW) as W_taps (F*KH*KW, C): one row per (f, kh, kw)."""
    F, C, KH, KW = w.shape
    return np.ascontiguousarray(w.transpose(0, 2, 3, 1)).reshape(F * KH * KW, C)


def gram(a, b):
    """``a @ b.T`` for two wide matrices (rows, P): the weight gradient, a sum over P positions.

    OpenBLAS runs this ~1.4-2x faster with a much taller matrix on the left (measured, 9-5-5 layer 2,
    32 x 14112 by 1600 x 14112: 43 -> 60 GF/s on 1 thread, 58 -> 83 on 2); for similar heights
    (SRCNN's 64 vs 81, 32 vs 64) the order does not matter or slightly favours ``a @ b.T``.
    """
    return (b @ a.T).T if b.shape[0] >= 4 * a.shape[0] else a @ b.T
