"""The SRCNN network (Dong et al., ECCV 2014 / TPAMI 2016): conv f1 -> ReLU -> conv f2 -> ReLU -> conv f3.

``SRCNN(f1=9, f2=1, f3=5, n1=64, n2=32)`` is the paper's 9-1-5 net: 1 -> n1 -> n2 -> 1 channels.
Training (:meth:`SRCNN.loss_and_grads`) uses 'valid' convolutions as the paper's Caffe net: a 33x33
input gives a 21x21 output, compared with the centre of the label. Inference (:meth:`SRCNN.predict`)
pads by edge replication at every layer by default, as the authors' MATLAB ``SRCNN.m``, so the output
has the input's size.

Weights are stored in our HDF5 format (:meth:`SRCNN.save`, :meth:`SRCNN.load`); the authors' released
MATLAB models load as released with :meth:`SRCNN.from_mat` (SciPy) or converted to .npz with
:meth:`SRCNN.from_npz`. No pickle anywhere.
"""
import json
import math
import os
import re
import struct
import threading
import zipfile
import zlib
from pathlib import Path

import h5py
import numpy as np

from .. import engine
from ..engine.pointwise import bias_act_kernel
from ..engine.taps import tap_sum
from ..engine.workspace import block
from ..util.errors import UserError, shown
from ..util.files import atomic_hdf5
from ..util.hdf5 import check_dataset, open_plain, read_attrs, read_dataset
from ..util.limits import MAX_WEIGHTS, check_scale, no_memory

NAMES = ("w1", "b1", "w2", "b2", "w3", "b3")
FORMAT = "npsrcnn.SRCNN"
FORMAT_VERSION = 1

# predict() runs the network on horizontal strips of STRIP_ROWS output rows, fewer where their
# activations (n1 + n2 channels, float32) would pass STRIP_BYTES; inside a strip each conv unfolds at
# most engine.workspace.CHUNK_BYTES at a time. Strips are the tasks of the worker threads
# (engine.parallel): 64 rows give a 512-row image 8 of them, and measured no slower at 1 thread
# than 128 or 512 (512x512, 9-1-5 and 9-5-5, 1 and 2 threads).
STRIP_BYTES = 64 << 20
STRIP_ROWS = 64
# A 1x1 layer 2 (9-1-5) runs with layer 1 (and layer 3's taps GEMM) on runs of FUSE_ROWS rows of a
# strip (SRCNN._forward_fused; 0: one layer after the other). Measured, 512x512 9-1-5 predict, medians
# of 25 calls interleaved in one process, two runs each (`python benchmarks/predict_variants.py
# --threads T --variants 0:keep,8:keep,16:keep,32:keep`): 1 thread 75-76 ms unfused, 63-65 on 8 rows,
# 65-67 on 16, 69 on 32; 2 threads 41-43 ms unfused, 39-40 on 8, 37 on 16, 39-40 on 32.
FUSE_ROWS = 16


class SRCNN:
    """SRCNN with parameters in a dict ``params`` (float32): w1 (n1, 1, f1, f1), b1 (n1,),
    w2 (n2, n1, f2, f2), b2 (n2,), w3 (1, n2, f3, f3), b3 (1,); cross-correlation as PyTorch's conv2d.

    Parameters
    ----------
    f1, f2, f3 : int, odd
        Kernel sizes (9-1-5 in the ECCV paper, 9-5-5 the TPAMI paper's best).
    n1, n2 : int
        Channels after layers 1 and 2.
    seed : int
        Initialisation as the paper: weights ~ N(0, 1e-3^2), biases 0.
    scale : int or None
        The upscaling factor the weights were trained for (metadata only).

    Notes
    -----
    The engine computes in the dtype of ``params`` (float32; tests swap in float64 ones for
    gradient checks). Scratch buffers live in the model, one set per thread.
    """

    def __init__(self, f1=9, f2=1, f3=5, n1=64, n2=32, seed=0, scale=None):
        for name, k in (("f1", f1), ("f2", f2), ("f3", f3)):
            if int(k) != k or k < 1 or k % 2 == 0:
                raise ValueError(f"{name} must be a positive odd kernel size, got {k}")
        rng = np.random.default_rng(seed)
        shapes = _shapes(f1, f2, f3, n1, n2)
        self.params = {
            k: (rng.normal(0.0, 1e-3, s) if k[0] == "w" else np.zeros(s)).astype(np.float32)
            for k, s in shapes.items()
        }
        self.scale = None if scale is None else int(scale)
        self.config = None  # the training configuration read back by load(), if any
        self._workspaces = {}

    # ---------------------------------------------------------------------------------- architecture

    @property
    def f(self):
        """Kernel sizes (f1, f2, f3), read from the weights."""
        return tuple(self.params[f"w{i}"].shape[-1] for i in (1, 2, 3))

    @property
    def n1(self):
        return self.params["w1"].shape[0]

    @property
    def n2(self):
        return self.params["w2"].shape[0]

    @property
    def arch(self):
        """'f1-f2-f3', e.g. '9-1-5'."""
        return "-".join(str(k) for k in self.f)

    @property
    def border(self):
        """Pixels a valid-padded forward trims from each side: (f1 + f2 + f3 - 3) // 2 (6 for 9-1-5)."""
        return (sum(self.f) - 3) // 2

    def __repr__(self):
        return f"SRCNN(arch={self.arch!r}, n1={self.n1}, n2={self.n2}, scale={self.scale})"

    # -------------------------------------------------------------------------------------- training

    def loss_and_grads(self, x, y, reduction="caffe"):
        """Loss of one batch and its gradient wrt every parameter (valid convolutions, as in training).

        Parameters
        ----------
        x : ndarray, shape (N, 1, H, W)
            Interpolated low-resolution patches (33x33 in the paper).
        y : ndarray, shape (N, 1, H - 2*border, W - 2*border)
            The centres of the high-resolution patches (21x21 for 9-1-5).
        reduction : {"caffe", "mean", "sum"}
            See :func:`npsrcnn.engine.mse_loss`.

        Returns
        -------
        loss : float
        grads : dict of ndarray, keyed and shaped like ``params``

        Notes
        -----
        The readable twin is :func:`npsrcnn.lesson.network.srcnn_loss_and_grads`; here each ReLU is fused
        into the conv before it (its backward, the mask, runs inside ``conv_backward_cm``).
        """
        p = self.params
        dtype = p["w1"].dtype
        x = np.ascontiguousarray(x, dtype=dtype)
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"x must have shape (N, 1, H, W), got {x.shape}")
        N, _, H, W = x.shape
        want = (N, 1, H - 2 * self.border, W - 2 * self.border)
        if np.shape(y) != want:
            raise ValueError(f"y must have shape {want} for x of shape {x.shape}, got {np.shape(y)}")
        # Sub-batches of MICRO_BATCH patches, gradients summed: the same result up to float rounding,
        # but each sub-batch's activations (~10 MB for 32 patches of 9-1-5) stay in cache between
        # layers. Measured, 9-1-5, batch 128, 2 threads: 58 ms -> 52 ms per loss_and_grads.
        # With several threads, whole sub-batches go to worker threads (engine.parallel), and their
        # losses and gradients are summed here in sub-batch order: the result does not depend on the
        # number of threads.
        y = np.asarray(y, dtype=dtype)

        def part(s):
            xs, ys = x[s : s + self.MICRO_BATCH], y[s : s + self.MICRO_BATCH]
            share = 1.0 if reduction == "sum" else xs.shape[0] / N  # mean over the batch, not the sub-batch
            return self._loss_and_grads(xs, ys, reduction, share)

        loss, grads = 0.0, {k: np.zeros_like(v) for k, v in p.items()}
        for part_loss, g in engine.parallel.run(part, range(0, N, self.MICRO_BATCH)):
            loss += part_loss
            for k in grads:
                grads[k] += g[k]
        return loss, grads

    MICRO_BATCH = 32
    # Training unfolds a whole sub-batch at once so that backward reuses the forward's columns instead
    # of unfolding again (9-5-5 layer 2: 90 MB for 32 patches). Measured, 9-5-5 step, 2 threads:
    # 460-500 ms with 32 MB chunks (unfolded twice) -> 430 ms.
    TRAIN_CHUNK_BYTES = 128 << 20

    def _loss_and_grads(self, x, y, reduction, share):
        p, ws = self.params, self._workspace("train")
        N, _, H, W = x.shape
        kw = dict(ws=ws, chunk_bytes=self.TRAIN_CHUNK_BYTES)
        a1, c1 = engine.conv_forward_cm(x.reshape(1, N, H, W), p["w1"], p["b1"], relu=True, name="c1", **kw)
        a2, c2 = engine.conv_forward_cm(a1, p["w2"], p["b2"], relu=True, name="c2", **kw)  # n2, N, ..
        out, c3 = engine.conv_forward_cm(a2, p["w3"], p["b3"], name="c3", **kw)  # 1, N, Ho, Wo
        loss, dout = engine.mse_loss(out.reshape(y.shape), y, reduction)
        if share != 1.0:
            dout *= dout.dtype.type(share)
        da2, dw3, db3 = engine.conv_backward_cm(dout.reshape(out.shape), c3)
        da1, dw2, db2 = engine.conv_backward_cm(da2, c2)
        _, dw1, db1 = engine.conv_backward_cm(da1, c1, need_dx=False)
        return loss * share, dict(w1=dw1, b1=db1, w2=dw2, b2=db2, w3=dw3, b3=db3)

    # ------------------------------------------------------------------------------------- inference

    def predict(self, x, padding="replicate", strip_rows=None):
        """Run the network on whole images, a strip of rows at a time so memory stays bounded.

        Parameters
        ----------
        x : ndarray, shape (N, 1, H, W) or (H, W)
            Interpolated image(s), values in [0, 1] as in training.
        padding : {"replicate", "zero", "valid"}
            "replicate" (the authors' MATLAB test code) and "zero" pad at every layer, so the output has
            the input's size; "valid" trims ``border`` pixels from each side.
        strip_rows : int, optional
            Output rows per strip (default ``STRIP_ROWS``, fewer where their activations would pass
            ``STRIP_BYTES``). Strips run on worker threads; the result does not depend on the thread
            count, and on the strip height only to float32 rounding.

        Notes
        -----
        The strips' scratch buffers (bounded by ``STRIP_BYTES`` and the engine's chunks) stay in the
        model, one set per thread, so that the next image of the same size allocates nothing (fresh
        buffers cost every call their allocation and page faults: 512x512 at 2 threads, 9-1-5 38.1-38.4
        -> 37.2-37.5 ms, 9-5-5 110.6 -> 106.3 ms, ``benchmarks/predict_variants.py``). They are freed
        with the model.

        Returns
        -------
        out : ndarray, float32, shape (N, 1, Ho, Wo) or (Ho, Wo) like x
        """
        if padding not in engine.PADDINGS:
            raise ValueError(f"padding must be one of {engine.PADDINGS}, got {padding!r}")
        x = np.asarray(x)
        if x.ndim not in (2, 4) or (x.ndim == 4 and x.shape[1] != 1):
            raise ValueError(f"x must have shape (H, W) or (N, 1, H, W), got {x.shape}")
        x4 = x.reshape((1, 1) + x.shape) if x.ndim == 2 else x
        N, _, H, W = x4.shape
        t = 0 if padding != "valid" else 2 * self.border
        if H - t < 1 or W - t < 1:
            raise ValueError(f"a {H}x{W} image is too small for a valid-padded {self.arch} network")
        Ho, Wo = H - t, W - t
        dtype = self.params["w1"].dtype
        if strip_rows is None:  # not from the thread count, so that the result does not depend on it
            strip_rows = max(16, min(STRIP_ROWS, STRIP_BYTES // ((self.n1 + self.n2) * W * np.dtype(dtype).itemsize)))
        out = np.empty((N, 1, Ho, Wo), np.float32)
        imgs = [np.ascontiguousarray(x4[n, 0], dtype=dtype) for n in range(N)]

        def strip(task):
            n, o0 = task
            o1 = min(o0 + strip_rows, Ho)
            ws = self._workspace("predict")  # kept for the next call: no page faults per image
            out[n, 0, o0:o1] = self._forward_rows(imgs[n], o0, o1, padding, ws)

        engine.parallel.run(strip, [(n, o0) for n in range(N) for o0 in range(0, Ho, strip_rows)])
        return out[0, 0] if x.ndim == 2 else out

    def _workspace(self, purpose):
        """This thread's scratch buffers for `purpose` (one set per worker thread: see engine.parallel)."""
        return self._workspaces.setdefault((purpose, threading.get_ident()), engine.Workspace())

    def _forward_rows(self, img, o0, o1, padding, ws):
        """Output rows [o0, o1) of one image (H, W): each layer computes only the rows the next needs."""
        H, W = img.shape
        p = self.params
        rows, vpads = self._rows_needed(H, 3, o0, o1, padding)
        if self.f[1] == 1 and FUSE_ROWS:
            return self._forward_fused(img, rows, vpads, padding, ws)
        h = self._layer1(img, rows[0], padding, vpads[1], ws)
        h, _ = engine.conv_forward_cm(h, p["w2"], p["b2"], padding, relu=True, vpad=vpads[2], ws=ws, name="c2",
                                      backward=False)
        h, _ = engine.conv_forward_cm(h, p["w3"], p["b3"], padding, vpad=vpads[3], ws=ws, name="c3", backward=False)
        return h[0, 0]

    def _forward_fused(self, img, rows, vpads, padding, ws):
        """:meth:`_forward_rows` for a 1x1 layer 2 (9-1-5): layers 1 and 2 together, a few rows at a time.

        Layer 1 runs on runs of ``FUSE_ROWS`` rows, and the 1x1 GEMM reads its n1 channels back while
        they are still in cache (a 64-row strip of 512 is 8 MB of them, a run of 16 rows 2 MB). When
        layer 3 is a taps layer (one output channel), its GEMM ``T = W_taps @ a2`` runs on the same
        rows too, so layer 2's output never leaves the cache either; the shift-and-add of T (which
        needs rows from the runs around) comes once per strip. The same sums as one layer after the
        other, to float32 rounding (GEMMs of other shapes).
        """
        H, W = img.shape
        p, dtype, k3 = self.params, self.params["w1"].dtype, self.f[2]
        a, b = rows[2]  # layer 2's rows = layer 1's (1x1)
        W2 = W if padding != "valid" else W - self.f[0] + 1
        pt3, pb3, pl3, pr3, Ho, Wo = engine.conv._geometry(b - a, W2, k3, k3, padding, vpads[3])
        fuse3 = engine.choose_method("auto", self.n2, 1, k3, k3, 1, b - a, W2, Ho, Wo,
                                     pt3 + pb3 + pl3 + pr3) == "taps"
        a2 = ws.get("c2.out", (self.n2, 1, FUSE_ROWS if fuse3 else b - a, W2), dtype)
        if fuse3:
            T = ws.get("c3.T", (k3 * k3, 1, b - a, W2), dtype)
            wt = engine.conv.taps_matrix(p["w3"])
        w2 = p["w2"].reshape(self.n2, self.n1)
        for s in range(a, b, FUSE_ROWS):
            e = min(s + FUSE_ROWS, b)
            r, v = self._rows_needed(H, 1, s, e, padding)
            a1 = self._layer1(img, r[0], padding, v[1], ws)
            z = block(a2, 0, 1, 0 if fuse3 else s - a, e - s)
            np.matmul(w2, a1.reshape(self.n1, -1), out=z)
            bias_act_kernel(z.reshape(self.n2, 1, -1), p["b2"], True, 0, 1)
            if fuse3:
                np.matmul(wt, z, out=block(T, 0, 1, s - a, e - s))
        if not fuse3:
            out, _ = engine.conv_forward_cm(a2, p["w3"], p["b3"], padding, vpad=vpads[3], ws=ws, name="c3",
                                            backward=False)
            return out[0, 0]
        out = ws.get("c3.out", (1, 1, Ho, Wo), dtype)
        tap_sum(T, k3, k3, -pt3, -pl3, padding == "replicate", out)
        bias_act_kernel(out.reshape(1, 1, -1), p["b3"], False, 0, 1)
        return out[0, 0]

    def _layer1(self, img, rows, padding, vpad, ws):
        """Layer 1 (conv + ReLU) on input rows [a, b) of one image."""
        a, b = rows
        x = img[a:b].reshape(1, 1, b - a, img.shape[1])
        h, _ = engine.conv_forward_cm(x, self.params["w1"], self.params["b1"], padding, relu=True, vpad=vpad,
                                      ws=ws, name="c1", backward=False)
        return h

    def _rows_needed(self, H, top, o0, o1, padding):
        """The rows each layer up to `top` computes for `top`'s output rows [o0, o1) of an H-row image.

        Going backwards from layer `top`, layer l needs input rows [lo, hi) = [a - p, b - p + k - 1)
        for its output rows [a, b) (p its top padding); the part outside the image is padding, so that
        strip pads (zero or replicate of *that layer's own* edge row) exactly where it touches the
        image's top or bottom, and uses real halo rows everywhere else.

        Returns rows (rows[l]: layer l's output rows, rows[0] the image's) and vpads (vpads[l]: the
        rows layer l pads above and below), both indexed 0 .. top.
        """
        same = padding != "valid"
        heights = [H]  # rows of each layer's input
        for k in self.f[:top]:
            heights.append(heights[-1] if same else heights[-1] - k + 1)
        rows, vpads = [None] * (top + 1), [None] * (top + 1)
        rows[top] = (o0, o1)
        for l in range(top, 0, -1):
            k = self.f[l - 1]
            p = (k - 1) // 2 if same else 0
            a, b = rows[l]
            lo, hi = a - p, b - p + k - 1
            rows[l - 1] = (max(lo, 0), min(hi, heights[l - 1]))
            vpads[l] = (rows[l - 1][0] - lo, hi - rows[l - 1][1])
        return rows, vpads

    # ------------------------------------------------------------------------------------------ files

    def save(self, path, config=None):
        """Write the weights, architecture, scale and training configuration to HDF5, atomically.

        Parameters
        ----------
        path : str or Path
        config : dict, optional
            Training configuration, stored as a JSON string attribute ``config``.
        """
        with atomic_hdf5(path) as f:  # built in memory: a full disk is one clean error, never half a file
            self.write_to(f, config)

    def write_to(self, f, config=None):
        """Write the weights and attributes that :meth:`load` reads into the open HDF5 file `f`."""
        for k in NAMES:
            f.create_dataset(k, data=np.asarray(self.params[k], np.float32))
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["arch"] = self.arch
        f.attrs["n1"], f.attrs["n2"] = self.n1, self.n2
        if self.scale is not None:
            f.attrs["scale"] = self.scale
        f.attrs["config"] = json.dumps(config if config is not None else self.config, sort_keys=True)

    @classmethod
    def load(cls, path):
        """Read a model written by :meth:`save`; a malformed, hostile or oversized file raises UserError.

        The file must be plain HDF5 (:func:`npsrcnn.util.hdf5.open_plain`); the arrays' dtypes and shapes
        are checked against each other and ``MAX_WEIGHTS`` before any is read.
        """
        path = Path(path)
        if not path.is_file():
            raise UserError(f"{shown(path)}: no such model file")
        with open_plain(path) as f:
            attrs = read_attrs(f, path)
            if not (isinstance(attrs.get("format"), str) and attrs["format"] == FORMAT):
                raise UserError(f"{shown(path)}: not an npsrcnn SRCNN model file (no format={FORMAT!r} attribute)")
            missing = [k for k in NAMES if not isinstance(f.get(k), h5py.Dataset)]
            if missing:
                raise UserError(f"{shown(path)}: model file lacks the array(s) {', '.join(missing)}")
            for k in NAMES:
                check_dataset(f[k], path, MAX_WEIGHTS * 8)
            _check_shapes({k: f[k].shape for k in NAMES}, path)
            arrays = {k: np.asarray(read_dataset(f[k], path)) for k in NAMES}
        scale = None if attrs.get("scale") is None else check_scale(attrs["scale"], path)
        model = cls._from_arrays(arrays, path, scale=scale)
        if "arch" in attrs and str(attrs["arch"]) != model.arch:
            raise UserError(f"{shown(path)}: the arrays make a {model.arch} network but the file says "
                            f"{shown(attrs['arch'])}")
        try:
            model.config = json.loads(attrs.get("config", "null"))
        except (TypeError, ValueError, RecursionError):
            raise UserError(f"{shown(path)}: the config attribute is not valid JSON") from None
        return model

    @classmethod
    def from_npz(cls, path, scale=None):
        """Load the authors' released weights converted to .npz (float64, (out, in, kh, kw)).

        Each array's .npy header (dtype, shape) is read and checked before its data, and a pickled
        object is refused, never loaded.

        Parameters
        ----------
        path : str or Path
            e.g. ``srcnn_matlab_weights/9-5-5(ImageNet)/x3.npz``.
        scale : int, optional
            Defaults to the number in a file name like ``x3.npz``.
        """
        path = Path(path)
        if not path.is_file():
            raise UserError(f"{shown(path)}: no such weights file")
        try:
            with zipfile.ZipFile(path) as zf:
                members = set(zf.namelist())
                missing = [k for k in NAMES if f"{k}.npy" not in members]
                if missing:
                    raise UserError(f"{shown(path)}: weights file lacks the array(s) {', '.join(missing)}")
                shapes = {k: _npy_shape(zf, k, path) for k in NAMES}
                _check_shapes(shapes, path)
                arrays = {}
                for k in NAMES:
                    with zf.open(f"{k}.npy") as fh:
                        arrays[k] = np.lib.format.read_array(fh, allow_pickle=False)
        except zipfile.BadZipFile:
            with open(path, "rb") as fh:
                npy = fh.read(6) == b"\x93NUMPY"
            if npy:  # np.save's .npy: one array, not an archive
                raise UserError(f"{shown(path)}: expected an .npz archive of arrays w1 b1 w2 b2 w3 b3") from None
            raise UserError(f"{shown(path)}: not a readable .npz file (not a zip archive)") from None
        except MemoryError:
            raise no_memory(path) from None
        except (OSError, ValueError, EOFError, RuntimeError, NotImplementedError, zlib.error) as exc:
            raise UserError(f"{shown(path)}: not a readable .npz file ({shown(exc)})") from None
        return cls._from_arrays(arrays, path, scale_from_name(path) if scale is None else scale)

    @classmethod
    def from_mat(cls, path, scale=None):
        """Load the authors' released MATLAB weights (SRCNN_v1 ``model/<arch>/x<S>.mat``) with SciPy.

        The arguments are those of :meth:`from_npz` (``x3.mat`` gives scale 3). The layout transform is
        :func:`mat_to_arrays`, the one the reference .npz files were made with, so both give the same
        float64 arrays, bit for bit (tests/test_model.py). Before SciPy reads anything, the sizes every
        element declares are checked (:func:`check_mat_sizes`) and the variables' classes and shapes
        (``scipy.io.whosmat``); then only the six variables are loaded.
        """
        path = Path(path)
        try:
            from scipy.io import loadmat, whosmat
        except ImportError:
            raise UserError(f"{shown(path)}: reading MATLAB .mat weights needs SciPy: "
                            'pip install "npsrcnn[mat]"') from None
        if not path.is_file():
            raise UserError(f"{shown(path)}: no such weights file")
        check_mat_sizes(path, MAT_NAMES)
        try:
            listed = {name: (shape, kind) for name, shape, kind in whosmat(path)}
            sizes = [listed[k] for k in MAT_NAMES if k in listed]
            if any(kind not in ("double", "single") for _, kind in sizes):
                raise UserError(f"{shown(path)}: the weights variables must be double or single arrays, got "
                                f"{', '.join(kind for _, kind in sizes)}")
            if sum(math.prod(shape) for shape, _ in sizes) > MAX_WEIGHTS:
                raise UserError(f"{shown(path)}: the weights variables declare shapes {[s for s, _ in sizes]}, more "
                                f"than {MAX_WEIGHTS:,} parameters; refused before reading")
            mat = loadmat(path, variable_names=MAT_NAMES)
        except NotImplementedError as exc:  # MATLAB v7.3 files are HDF5, which loadmat does not read
            raise UserError(f"{shown(path)}: {shown(exc)}") from None
        except MemoryError:
            raise no_memory(path) from None
        except UserError:
            raise
        except Exception as exc:  # scipy's MatReadError, ValueError, OSError ... for a file that is not a .mat
            raise UserError(f"{shown(path)}: not a readable MATLAB .mat file ({shown(exc)})") from None
        return cls._from_arrays(mat_to_arrays(mat, path), path, scale_from_name(path) if scale is None else scale)

    @classmethod
    def _from_arrays(cls, arrays, source, scale=None):
        shapes = _check_shapes({k: np.shape(arrays[k]) for k in NAMES}, source)
        for k in NAMES:
            a = arrays[k]
            if not np.issubdtype(a.dtype, np.floating) or not np.isfinite(a).all():
                raise UserError(f"{shown(source)}: array {k} must hold finite floating-point numbers")
        model = cls.__new__(cls)
        with np.errstate(over="ignore"):  # float64 beyond float32's range: refused just below
            model.params = {k: np.ascontiguousarray(arrays[k], dtype=np.float32) for k in NAMES}
        for k in NAMES:
            if not np.isfinite(model.params[k]).all():
                raise UserError(f"{shown(source)}: array {k} holds values beyond float32's range (3.4e38)")
        model.scale = None if scale is None else int(scale)
        model.config = None
        model._workspaces = {}
        assert _shapes(*shapes) == {k: model.params[k].shape for k in NAMES}
        return model


def _npy_shape(zf, name, source):
    """The shape in the .npy header of `name` in the open zip `zf`, after checking its dtype is a float."""
    with zf.open(f"{name}.npy") as fh:
        try:
            version = np.lib.format.read_magic(fh)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f"unsupported .npy version {version}")
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = read(fh)
        except ValueError as exc:
            raise UserError(f"{shown(source)}: {name} is not a readable .npy array ({shown(exc)})") from None
    if dtype.hasobject:
        raise UserError(f"{shown(source)}: {name} holds pickled Python objects; refused (npsrcnn never unpickles)")
    if dtype.kind != "f" or dtype.itemsize > 8:
        raise UserError(f"{shown(source)}: array {name} holds {dtype}, not floating-point numbers")
    return shape


def check_mat_sizes(path, names=()):
    """UserError if a MATLAB v4 or v5 file declares sizes it cannot hold, before SciPy allocates them.

    SciPy allocates what each element's tag declares (up to 4 GB from a file of a few hundred bytes).
    v5: every variable's array-flags, dims and name sub-elements must fit its first 4 KiB (compressed
    or not; at most 32 dims, 4 KiB of name) and a numeric array's data may take at most 8 bytes per
    element of its dims. The variables in `names`, which will be read, must be real (SciPy crashes on
    a complex flag without an imaginary part) with their data inside their element. v4: each
    variable's name and data must fit in the rest of the file. Files of other versions (v7.3 is HDF5)
    are left to SciPy, which says what it reads.
    """
    with open(path, "rb") as fh:
        head = fh.read(128)
        end = os.fstat(fh.fileno()).st_size
        if len(head) >= 4 and 0 in head[:4]:  # SciPy's test for v4
            return _check_mat4(fh, end, path)
        if len(head) < 128 or head[126:128] not in (b"IM", b"MI") or head[124:126] not in (b"\x00\x01", b"\x01\x00"):
            return None  # v7.3 or not a .mat: loadmat says which
        order = "<" if head[126:128] == b"IM" else ">"
        pos = 128
        while pos + 8 <= end:
            fh.seek(pos)
            kind, nbytes = struct.unpack(order + "II", fh.read(8))
            if kind == 15:  # miCOMPRESSED: a zlib stream holding one miMATRIX element, tag included
                try:
                    body = zlib.decompressobj().decompress(fh.read(min(nbytes, _MAT_HEAD)), _MAT_HEAD)
                except zlib.error as exc:
                    raise UserError(f"{shown(path)}: corrupt compressed variable at byte {pos} ({exc})") from None
                kind, size = struct.unpack_from(order + "II", body) if len(body) >= 8 else (0, 0)
                body = body[8:]
            else:
                size, body = nbytes, fh.read(min(nbytes, _MAT_HEAD))
            if kind == 14:  # miMATRIX
                _check_mat5_matrix(body, size, order, path, pos, names)
            pos += 8 + nbytes
    return None


_MAT_HEAD = 4096  # bytes of a variable read to find its flags, dims, name and data tag
_MAT_NUMBERS = (1, 2, 3, 4, 5, 6, 7, 9, 12, 13)  # miINT8 .. miUINT64: the types numeric data is stored in


def _check_mat5_matrix(body, size, order, path, pos, names):
    def element(i):  # (type, byte count, data offset, next offset); a small element packs its tag in 4 bytes
        first = struct.unpack_from(order + "I", body, i)[0]
        if first >> 16:
            if first >> 16 > 4:  # SciPy would read that many bytes out of a 4-byte field (and crash)
                raise ValueError(f"a small element of {first >> 16} bytes")
            return first & 0xFFFF, first >> 16, i + 4, i + 8
        kind, n = struct.unpack_from(order + "II", body, i)
        return kind, n, i + 8, i + 8 + n + (-n % 8)

    try:
        if size == 0:
            return  # an empty matrix
        kind, n, at, i = element(0)  # array flags (miUINT32): the class in the low byte, 0x800 complex
        if kind != 6 or n != 8:
            raise ValueError(f"array flags of type {kind} and {n} bytes")
        flags = struct.unpack_from(order + "I", body, at)[0]
        mclass, is_complex = flags & 0xFF, flags & 0x800
        kind, n_dims, at, i = element(i)  # dims (miINT32)
        if kind != 5 or n_dims % 4 or n_dims > 4 * 32 or i > len(body):
            raise ValueError(f"dims of type {kind} and {n_dims} bytes")
        dims = struct.unpack_from(f"{order}{n_dims // 4}i", body, at)
        kind, n_name, at, i = element(i)  # name (miINT8)
        if kind != 1 or i > len(body):
            raise ValueError(f"a name of type {kind} and {n_name} bytes")
        name = body[at:at + n_name].decode("latin-1")
        if name in names and is_complex:
            raise ValueError(f"'{shown(name)}' complex; weights are real numbers")
        if 6 <= mclass <= 15 and i + 8 <= size:  # a numeric array: the real part's tag comes next
            kind, n_data, _, end = element(i)
            most = 8 * math.prod(max(d, 0) for d in dims) * (2 if is_complex else 1)
            if n_data > most:
                raise ValueError(f"{n_data:,} bytes of data for dims {dims}")
            if name in names and (kind not in _MAT_NUMBERS or end > size + (-size % 8)):
                raise ValueError(f"'{shown(name)}' with data of type {kind} ending at {end} of {size} bytes")
    except (struct.error, ValueError) as exc:
        raise UserError(f"{shown(path)}: the variable at byte {pos} declares {exc}; refused before reading") from None


def _check_mat4(fh, end, path):
    """MATLAB v4: headers of five int32 (type, rows, cols, imaginary, name length), then name and data."""
    pos = 0
    while pos + 20 <= end:
        fh.seek(pos)
        head = fh.read(20)
        order = "<" if struct.unpack("<i", head[:4])[0] in range(5000) else ">"
        mopt, rows, cols, imag, namelen = struct.unpack(order + "5i", head)
        itemsize = {0: 8, 1: 4, 2: 4, 3: 2, 4: 2, 5: 1}.get(mopt // 10 % 10, 8)
        data = max(rows, 0) * max(cols, 0) * itemsize * (2 if imag else 1)
        if not 0 <= namelen <= _MAT_HEAD or pos + 20 + namelen + data > end:
            raise UserError(f"{shown(path)}: the MATLAB v4 variable at byte {pos} declares a {rows}x{cols} array and a "
                            f"{namelen}-byte name, more than the file holds; refused before reading")
        pos += 20 + namelen + data


MAT_NAMES = ("weights_conv1", "biases_conv1", "weights_conv2", "biases_conv2", "weights_conv3", "biases_conv3")


def mat_to_arrays(mat, source):
    """The authors' MATLAB variables as our arrays w1 .. b3, (out, in, kh, kw), as their .npz were made.

    Parameters
    ----------
    mat : dict of ndarray, from ``scipy.io.loadmat``
        weights_conv1 (f1*f1, n1), weights_conv2 (n1, f2*f2, n2), weights_conv3 (n2, f3*f3), biases
        (n, 1). The spatial index is column-major, dy + f*dx (dy the kernel row), because SRCNN.m does
        ``reshape(weights_conv1, f1, f1, n1)`` and imfilter correlates with the first index as the row.
    source : path, for messages

    Notes
    -----
    w1 = W1.reshape(f1, f1, n1, order="F").transpose(2, 0, 1)[:, None]; w2 = W2.reshape(n1, f2, f2, n2,
    order="F").transpose(3, 0, 1, 2); w3 = W3.reshape(n2, f3, f3, order="F")[None]; biases flattened
    (the conversion in the weights' README).
    """
    missing = [k for k in MAT_NAMES if k not in mat]
    if missing:
        raise UserError(f"{shown(source)}: not the authors' SRCNN weights: no variable(s) {', '.join(missing)}")
    W1, W2, W3 = (np.asarray(mat[f"weights_conv{i}"]) for i in (1, 2, 3))
    if W2.ndim == 2:  # MATLAB drops a trailing singleton dimension (n2 = 1)
        W2 = W2[:, :, None]
    if (W1.ndim, W2.ndim, W3.ndim) != (2, 3, 2):
        raise UserError(f"{shown(source)}: weights_conv1/2/3 of shapes {W1.shape}, {W2.shape}, {W3.shape}; "
                        "expected (f1*f1, n1), (n1, f2*f2, n2), (n2, f3*f3)")
    f1, f2, f3 = (_kernel_side(n, source, i) for i, n in ((1, W1.shape[0]), (2, W2.shape[1]), (3, W3.shape[1])))
    return dict(
        w1=W1.reshape(f1, f1, W1.shape[1], order="F").transpose(2, 0, 1)[:, None],
        w2=W2.reshape(W2.shape[0], f2, f2, W2.shape[2], order="F").transpose(3, 0, 1, 2),
        w3=W3.reshape(W3.shape[0], f3, f3, order="F")[None],
        **{f"b{i}": np.asarray(mat[f"biases_conv{i}"]).reshape(-1) for i in (1, 2, 3)},
    )


def _kernel_side(n, source, layer):
    side = math.isqrt(n)
    if side * side != n:
        raise UserError(f"{shown(source)}: weights_conv{layer} holds {n} taps per filter, not a square kernel")
    return side


def scale_from_name(path):
    """3 for a file named ``x3.npz`` / ``x3.mat``, else None (the authors' files say it only so)."""
    m = re.fullmatch(r"x(\d+)", Path(path).stem)
    return int(m.group(1)) if m else None


def _shapes(f1, f2, f3, n1, n2):
    return dict(w1=(n1, 1, f1, f1), b1=(n1,), w2=(n2, n1, f2, f2), b2=(n2,), w3=(1, n2, f3, f3), b3=(1,))


def _check_shapes(shapes, source):
    """(f1, f2, f3, n1, n2) read from w1 and w2's shapes, after checking every shape against them and the
    total against MAX_WEIGHTS (shapes: dict name -> tuple, read from a file's metadata before its data)."""
    w1, w2, w3 = shapes["w1"], shapes["w2"], shapes["w3"]
    if len(w1) != 4 or len(w2) != 4 or len(w3) != 4:
        raise UserError(f"{shown(source)}: w1, w2, w3 must be 4-D (out, in, kh, kw), got {w1}, {w2}, {w3}")
    arch = (w1[2], w2[2], w3[2], w1[0], w2[0])
    want = _shapes(*arch)
    for k in NAMES:
        if tuple(shapes[k]) != want[k]:
            raise UserError(f"{shown(source)}: {k} has shape {tuple(shapes[k])} but w1 and w2 imply {want[k]}")
    if any(k % 2 == 0 for k in arch[:3]):
        raise UserError(f"{shown(source)}: kernel sizes {arch[:3]} must be odd")
    total = sum(math.prod(s) for s in want.values())
    if total > MAX_WEIGHTS:
        raise UserError(f"{shown(source)}: a {'-'.join(map(str, arch[:3]))} network of {arch[3]} and {arch[4]} "
                        f"channels has {total:,} parameters, more than {MAX_WEIGHTS:,}; refused before reading")
    return arch


def parse_arch(arch):
    """'9-1-5' -> (9, 1, 5), each odd and positive; UserError otherwise."""
    try:
        sizes = tuple(int(k) for k in arch.split("-"))
    except ValueError:
        sizes = ()
    if len(sizes) != 3 or any(k < 1 or k % 2 == 0 for k in sizes):
        raise UserError(f"--arch {arch!r}: expected three odd filter sizes like 9-1-5")
    return sizes
