"""SRCNN as an ONNX graph, written node by node with the ``onnx`` package's helpers (no PyTorch).

The graph computes what :meth:`SRCNN.predict` computes, layer for layer::

    y (N, 1, H, W) -> [Pad edge] Conv f1 -> Relu -> [Pad edge] Conv f2 -> Relu -> [Pad edge] Conv f3 -> sr (N, 1, H, W)

``replicate`` padding (the authors' MATLAB ``imfilter(..., 'replicate')``, predict's default) is a
``Pad`` node in mode ``edge`` before each convolution, padding *that layer's* input by (k - 1) / 2, as
predict pads every layer's own input; ``zero`` padding is the Conv's own ``pads`` attribute. N, H and
W are left symbolic, so one file takes any batch and image size. Nothing is clipped: predict does
not clip either (the upscaler clips after the conversion back to RGB).

The pre- and post-processing (Y of BT.601, MATLAB's bicubic, CbCr) stay outside the graph: ONNX's
``Resize`` (cubic, a = -0.75) is not MATLAB's ``imresize`` (a = -0.5, antialiased when shrinking).
docs/export.md shows them in plain NumPy. The ``onnx`` package is an optional extra; it is imported
only when a graph is built.
"""
import numpy as np

from ..util.errors import UserError

OPSET = 13  # Pad takes its pads as an input from opset 11; 13 read by onnxruntime 1.32, OpenCV 4.14 and 5.1 (tested)
INPUT, OUTPUT = "y", "sr"
PADDINGS = ("replicate", "zero")
INSTALL = 'pip install "npsrcnn[onnx]"'
INPUT_WORDS = ("Y (luminance) of ITU-R BT.601 studio swing as MATLAB rgb2ycbcr, in [16, 235] / 255, of the "
               "image upscaled by MATLAB imresize bicubic; float32 (N, 1, H, W)")
OUTPUT_WORDS = "the restored Y, float32 (N, 1, H, W), not clipped (clip RGB to [0, 1] after the conversion back)"


def require_onnx():
    """The ``onnx`` module, or UserError naming the extra that installs it."""
    try:
        import onnx
    except ImportError:
        raise UserError(f"ONNX export needs the onnx package: {INSTALL}") from None
    return onnx


def metadata(model, padding, source=None):
    """The key -> value strings stored in the exported model's ``metadata_props``.

    Parameters
    ----------
    model : SRCNN, with ``scale`` known
    padding : {"replicate", "zero"}
    source : dict of str, optional
        More keys (where the weights came from), added as they are.
    """
    from .. import __version__

    if model.scale is None:
        raise ValueError("the model's scale is unknown; set model.scale before exporting")
    meta = {"scale": str(model.scale), "arch": model.arch, "n1": str(model.n1), "n2": str(model.n2),
            "padding": padding, "input": INPUT_WORDS, "output": OUTPUT_WORDS,
            "npsrcnn_version": __version__}
    meta.update(source or {})
    return meta


def _layer(l, w, b, padding, x):
    """Nodes and initializers of layer `l` (1, 2, 3): [Pad edge] + Conv (+ Relu for layers 1 and 2), reading `x`."""
    from onnx import helper, numpy_helper

    k = w.shape[-1]  # F, C, KH, KW with KH = KW = k, odd
    p = (k - 1) // 2
    inits = [numpy_helper.from_array(np.ascontiguousarray(w, np.float32), f"conv{l}.weight"),  # F, C, k, k
             numpy_helper.from_array(np.ascontiguousarray(b, np.float32), f"conv{l}.bias")]  # F
    nodes, conv_pads = [], [p] * 4
    if padding == "replicate" and p:
        inits.append(numpy_helper.from_array(np.array([0, 0, p, p, 0, 0, p, p], np.int64), f"pad{l}.pads"))
        nodes.append(helper.make_node("Pad", [x, f"pad{l}.pads"], [f"pad{l}"], name=f"pad{l}", mode="edge"))
        x, conv_pads = f"pad{l}", [0] * 4  # N, C, H + 2p, W + 2p
    out = OUTPUT if l == 3 else f"conv{l}"
    nodes.append(helper.make_node("Conv", [x, f"conv{l}.weight", f"conv{l}.bias"], [out], name=f"conv{l}",
                                  kernel_shape=[k, k], pads=conv_pads, strides=[1, 1], dilations=[1, 1]))
    if l < 3:
        nodes.append(helper.make_node("Relu", [out], [f"relu{l}"], name=f"relu{l}"))
    return nodes, inits


def to_onnx(model, padding="replicate", source=None, opset=OPSET):
    """The network `model` as an ONNX ModelProto with dynamic N, H and W, checked by ``onnx.checker``.

    Parameters
    ----------
    model : SRCNN, with ``scale`` known
    padding : {"replicate", "zero"}
        As :meth:`SRCNN.predict`'s; the output has the input's size.
    source : dict of str, optional
        Extra metadata keys (see :func:`metadata`).
    opset : int
        The ONNX operator set (default ``OPSET``); the file's IR version is the oldest that holds it.

    Returns
    -------
    onnx.ModelProto: input ``y`` and output ``sr``, float32 (N, 1, H, W)

    Notes
    -----
    sr = conv3(pad(relu(conv2(pad(relu(conv1(pad(y)))))))), each pad by (k - 1) / 2 of its own layer's k.
    """
    onnx = require_onnx()
    from onnx import TensorProto, helper

    from .. import __version__

    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
    meta = metadata(model, padding, source)
    nodes, inits, x = [], [], INPUT
    for l in (1, 2, 3):
        n, i = _layer(l, model.params[f"w{l}"], model.params[f"b{l}"], padding, x)
        nodes += n
        inits += i
        x = n[-1].output[0]
    shape = ["N", 1, "H", "W"]
    graph = helper.make_graph(nodes, f"srcnn_{model.arch}_x{model.scale}",
                              [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, shape)], inits,
                              doc_string=f"SRCNN {model.arch} x{model.scale}, {padding} padding: {INPUT_WORDS}")
    ops = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph, opset_imports=ops, producer_name="npsrcnn", producer_version=__version__,
                              doc_string=f"SRCNN (Dong et al. 2014) {model.arch} x{model.scale} exported by npsrcnn; "
                                         "pre- and post-processing: docs/export.md")
    proto.ir_version = helper.find_min_ir_version_for(ops)  # older runtimes refuse a newer IR than they know
    helper.set_model_props(proto, meta)
    onnx.checker.check_model(proto, full_check=True)  # full_check: shapes inferred through every node
    return proto
