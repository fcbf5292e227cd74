"""``npsrcnn export``: the ONNX graph run by real runtimes (onnxruntime, OpenCV's dnn) equals SRCNN.predict.

The runtimes are the oracles: each exported file is loaded from disk by onnxruntime and by
``cv2.dnn.readNetFromONNX`` and run on odd, non-square inputs in a batch, then on a second size with
the same session or net (the dimensions are dynamic). A test skips, saying why, only where the
optional package it needs is not installed.
"""
import configparser
import json
import shlex
import sys

import numpy as np
import pytest
from conftest import REPO, assert_one_line_error, run_python

from npsrcnn import __main__ as entry
from npsrcnn import export
from npsrcnn.model.pretrained import load_model
from npsrcnn.model.srcnn import SRCNN

TOL = 1e-5  # measured 3.6e-7 to 2.5e-6 (docs/export.md): float32 sums in another order
SHAPES = [(2, 1, 37, 53), (1, 1, 20, 31)]  # one session or net runs both, in this order
MISSING = 'pip install "npsrcnn[onnx]"'


def needs(name):
    return pytest.importorskip(name, reason=f"{name} is not installed ({MISSING}, or the test extra)")


@pytest.fixture(scope="module")
def ort():
    return needs("onnxruntime")


@pytest.fixture(scope="module")
def cv2():
    cv2 = needs("cv2")
    threads = cv2.getNumThreads()
    cv2.setNumThreads(2)  # the suite shares two cores
    yield cv2
    cv2.setNumThreads(threads)


def _export(capsys, *argv):
    rc = entry.main(["export", *map(str, argv)])
    out, err = capsys.readouterr()
    return rc, out, err


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.random(s, dtype=np.float32) for s in SHAPES]


def _ort_outputs(ort, path, xs):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return [sess.run(["sr"], {"y": x})[0] for x in xs]


def _cv2_outputs(cv2, path, xs):
    net = cv2.dnn.readNetFromONNX(str(path))
    if hasattr(net, "enableWinograd"):  # OpenCV 4.x's Winograd 3x3: 1.1e-5 on 9-3-5, 1.5e-6 without (docs/export.md)
        net.enableWinograd(False)
    outs = []
    for x in xs:
        net.setInput(x)
        outs.append(net.forward())
    return outs


def _max_diffs(got, model, xs, padding):
    diffs = []
    for g, x in zip(got, xs):
        want = model.predict(x, padding=padding)
        assert g.shape == want.shape == x.shape and g.dtype == np.float32
        diffs.append(float(np.abs(g - want).max()))
    return diffs


def _authors(ref_weights, name):
    if name.endswith(".mat"):
        needs("scipy.io")
    return ref_weights / name


AUTHORS = ["9-1-5(91 images)/x2.npz", "9-3-5(ImageNet)/x3.mat", "9-5-5(ImageNet)/x3.mat"]


@pytest.mark.parametrize("padding", ["replicate", "zero"])
@pytest.mark.parametrize("weights", ["x2", "x3", "x4", *AUTHORS])
def test_runtimes_equal_predict(tmp_path, capsys, ort, cv2, ref_weights_if_authors, weights, padding):
    """onnxruntime and OpenCV, reading the file from disk, give predict's output on 2x1x37x53, then 1x1x20x31."""
    onnx = needs("onnx")
    spec = ref_weights_if_authors(weights)
    out = tmp_path / "m.onnx"
    rc, stdout, err = _export(capsys, spec, "-o", out, "--padding", padding)
    assert rc == 0, err
    assert f"{padding} padding" in stdout and "checked: onnxruntime" in stdout
    onnx.checker.check_model(str(out), full_check=True)
    model, xs = load_model(spec), _inputs()
    for runtime, got in (("onnxruntime", _ort_outputs(ort, out, xs)), ("opencv", _cv2_outputs(cv2, out, xs))):
        diffs = _max_diffs(got, model, xs, padding)
        assert max(diffs) < TOL, f"{runtime}: max abs differences {diffs}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # no temporary file left


@pytest.fixture
def ref_weights_if_authors(request):
    """A function: a shipped name as it is, an authors' file as its path (skipping when they are absent)."""
    def spec(weights):
        return _authors(request.getfixturevalue("ref_weights"), weights) if "/" in weights else weights
    return spec


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (1, 1, 3, 2), (1, 1, 150, 67)])
@pytest.mark.parametrize("padding", ["replicate", "zero"])
def test_tiny_and_tall_images(tmp_path, capsys, ort, shape, padding):
    """Images smaller than a kernel (edge padding repeats the one pixel), and taller than predict's strips."""
    out = tmp_path / "m.onnx"
    assert _export(capsys, "x3", "-o", out, "--padding", padding, "--no-check")[0] == 0
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    x = np.random.default_rng(1).random(shape, dtype=np.float32)
    got = ort.InferenceSession(str(out), opts, providers=["CPUExecutionProvider"]).run(["sr"], {"y": x})[0]
    assert np.abs(got - load_model("x3").predict(x, padding=padding)).max() < TOL


def test_graph_is_pad_conv_relu_with_dynamic_sizes(tmp_path, capsys):
    """Edge Pads only for replicate and only where k > 1 (none before a 1x1 layer); N, H, W symbolic; IR 7, opset 13."""
    onnx = needs("onnx")
    model = SRCNN(f1=5, f2=1, f3=3, n1=4, n2=3, seed=1, scale=2)
    model.save(tmp_path / "small.h5")
    for padding, ops in (("replicate", ["Pad", "Conv", "Relu", "Conv", "Relu", "Pad", "Conv"]),
                         ("zero", ["Conv", "Relu", "Conv", "Relu", "Conv"])):
        out = tmp_path / f"{padding}.onnx"
        assert _export(capsys, tmp_path / "small.h5", "-o", out, "--padding", padding, "--no-check")[0] == 0
        m = onnx.load(str(out))
        assert [n.op_type for n in m.graph.node] == ops
        assert all(a.s == b"edge" for n in m.graph.node if n.op_type == "Pad" for a in n.attribute if a.name == "mode")
        convs = [n for n in m.graph.node if n.op_type == "Conv"]
        pads = [next(list(a.ints) for a in n.attribute if a.name == "pads") for n in convs]
        assert pads == ([[0] * 4] * 3 if padding == "replicate" else [[2] * 4, [0] * 4, [1] * 4])
        for v in (m.graph.input[0], m.graph.output[0]):
            dims = [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
            assert dims == ["N", 1, "H", "W"] and v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
        assert (m.ir_version, [(o.domain, o.version) for o in m.opset_import]) == (7, [("", 13)])
        weights = {i.name: onnx.numpy_helper.to_array(i) for i in m.graph.initializer}
        for l in (1, 2, 3):
            assert np.array_equal(weights[f"conv{l}.weight"], model.params[f"w{l}"])
            assert np.array_equal(weights[f"conv{l}.bias"], model.params[f"b{l}"])


def test_metadata_names_scale_architecture_and_padding(tmp_path, capsys, ort):
    """What a deployer reads back with onnxruntime's get_modelmeta(), and the --json report of the same."""
    from npsrcnn.datasets.sets import sha256_file
    from npsrcnn.model.pretrained import resolve

    out = tmp_path / "x4.onnx"
    rc, stdout, _ = _export(capsys, "x4", "-o", out, "--padding", "zero", "--json")
    assert rc == 0
    report = json.loads(stdout)
    meta = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).get_modelmeta()
    assert meta.producer_name == "npsrcnn"
    props = meta.custom_metadata_map
    assert {k: props[k] for k in ("scale", "arch", "n1", "n2", "padding")} == \
        {"scale": "4", "arch": "9-5-5", "n1": "64", "n2": "32", "padding": "zero"}
    assert props["weights_sha256"] == sha256_file(resolve("x4")) and props["weights"].startswith("x4 (shipped")
    assert "BT.601" in props["input"] and "imresize" in props["input"] and "not clipped" in props["output"]
    assert report["metadata"] == props and report["bytes"] == out.stat().st_size
    assert report["check"]["max_abs_diff"] < TOL and report["check"]["input_shape"] == [2, 1, 37, 53]


def test_h5_without_scale_needs_scale(tmp_path, capsys, ort):
    needs("onnx")
    SRCNN(f1=3, f2=1, f3=3, n1=4, n2=2, seed=2).save(tmp_path / "w.h5")
    rc, _, err = _export(capsys, tmp_path / "w.h5", "-o", tmp_path / "w.onnx")
    assert_one_line_error(rc, err, "does not give the scale (x3.mat does); pass --scale")
    assert not (tmp_path / "w.onnx").exists()
    assert _export(capsys, tmp_path / "w.h5", "-o", tmp_path / "w.onnx", "--scale", "2")[0] == 0
    meta = ort.InferenceSession(str(tmp_path / "w.onnx"), providers=["CPUExecutionProvider"]).get_modelmeta()
    assert meta.custom_metadata_map["scale"] == "2" and meta.custom_metadata_map["weights"] == "w.h5"


@pytest.mark.parametrize("argv, message", [
    (["x3", "-o", "{tmp}/m.png"], "write a .onnx file"),
    (["x7", "-o", "{tmp}/m.onnx"], "no weights named x7 ship with npsrcnn"),
    (["{tmp}/missing.h5", "-o", "{tmp}/m.onnx"], "missing.h5 not found"),
    (["x3", "-o", "{tmp}/nope/m.onnx"], "does not exist"),
    (["x3", "-o", "{tmp}/m.onnx", "--scale", "2"], "--scale 2 but x3 is for x3; export x2 instead"),
    (["x3", "-o", "{tmp}/m.onnx", "--scale", "1"], "--scale must be >= 2"),
    (["x3", "-o", "{tmp}/m.onnx", "--padding", "valid"], "--padding: invalid choice"),
    (["x7", "-o", "{tmp}/old.onnx"], "old.onnx exists; pass --overwrite"),  # the output is checked first
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, argv, message):
    needs("onnx")
    (tmp_path / "old.onnx").write_bytes(b"keep me")
    rc, _, err = _export(capsys, *[a.format(tmp=tmp_path) for a in argv])
    assert_one_line_error(rc, err, message)
    assert err.startswith("npsrcnn export: error: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.onnx"]
    assert (tmp_path / "old.onnx").read_bytes() == b"keep me"


def test_overwrite_replaces_and_a_symlink_is_refused(tmp_path, capsys):
    onnx = needs("onnx")
    out = tmp_path / "m.onnx"
    out.write_bytes(b"old")
    assert _export(capsys, "x2", "-o", out, "--overwrite", "--no-check")[0] == 0
    assert onnx.load(str(out)).metadata_props[0].value == "2"
    (tmp_path / "link.onnx").symlink_to(out)
    rc, _, err = _export(capsys, "x2", "-o", tmp_path / "link.onnx", "--overwrite", "--no-check")
    assert_one_line_error(rc, err, "is a symbolic link")


def test_without_onnx_one_line_names_the_extra(tmp_path, capsys, monkeypatch):
    """The hint is a command that works as printed: pip, install, and an extra setup.cfg declares."""
    monkeypatch.setitem(sys.modules, "onnx", None)
    rc, _, err = _export(capsys, "x3", "-o", tmp_path / "m.onnx")
    assert_one_line_error(rc, err, f"npsrcnn export: error: ONNX export needs the onnx package: {MISSING}")
    assert not list(tmp_path.iterdir())
    command = shlex.split(err.strip().split(": ")[-1])
    assert command == ["pip", "install", "npsrcnn[onnx]"]
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    extras = cfg["options.extras_require"]
    assert extras["onnx"].split() == ["onnx>=1.14", "onnxruntime>=1.16"]
    assert set(extras["onnx"].split()) <= set(extras["test"].split())  # CI runs the round trips


def test_without_onnxruntime_the_file_is_written_unchecked(tmp_path, capsys, monkeypatch):
    needs("onnx")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    rc, stdout, _ = _export(capsys, "x3", "-o", tmp_path / "m.onnx")
    assert rc == 0 and (tmp_path / "m.onnx").is_file()
    assert f"not checked: onnxruntime is not installed ({MISSING})" in stdout


def test_a_failed_check_writes_nothing(tmp_path, capsys, monkeypatch, ort):
    needs("onnx")
    monkeypatch.setattr(export, "CHECK_TOLERANCE", -1.0)
    rc, _, err = _export(capsys, "x3", "-o", tmp_path / "m.onnx")
    assert rc == 1 and "differs from SRCNN.predict's by" in err and "nothing written" in err
    assert not list(tmp_path.iterdir())


def test_runs_as_a_module_from_anywhere(tmp_path):
    needs("onnx")
    r = run_python("-m", "npsrcnn.export", "x2", "-o", "x2.onnx", "--no-check", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("npsrcnn 0.") and (tmp_path / "x2.onnx").is_file()
