"""The exercises' grader: it passes right answers, fails every blank function, and says what is wrong.

Each typical mistake below (the 1/N forgotten, no ReLU mask, col2im's axes in the wrong order, the kernel
not flipped, F and C not swapped, PyTorch's momentum, ...) is graded in a subprocess, and the test
asserts the few lines the grader prints for it: which array, the constant factor or the known mistake,
and the hint. Two files hold all the mistakes, one per function, so the grader runs four times in all.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
N_TESTS = 17  # test_01 .. test_11 with their parameters

ANSWERS = '''
import numpy as np

from npsrcnn.lesson import conv2d_forward, im2col, pad, pad_widths


def mse_grad(out, y):
    return (out - y) / out.shape[0]


def relu_backward(da, mask):
    return da * mask


def conv2d_backward_loops(dout, x, w):
    N, F, Ho, Wo = dout.shape
    KH, KW = w.shape[2:]
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for i in range(Ho):
        for j in range(Wo):
            dx[:, :, i:i + KH, j:j + KW] += np.einsum("nf,fckl->nckl", dout[:, :, i, j], w)
            dw += np.einsum("nf,nckl->fckl", dout[:, :, i, j], x[:, :, i:i + KH, j:j + KW])
    return dx, dw, dout.sum(axis=(0, 2, 3))


def col2im(dcols, xp_shape, KH, KW):
    N, C, Hp, Wp = xp_shape
    Ho, Wo = Hp - KH + 1, Wp - KW + 1
    d = dcols.reshape(C, KH, KW, N, Ho, Wo)
    dxp = np.zeros(xp_shape)
    for kh in range(KH):
        for kw in range(KW):
            dxp[:, :, kh:kh + Ho, kw:kw + Wo] += d[:, kh, kw].transpose(1, 0, 2, 3)
    return dxp


def conv2d_backward(dout, cache):
    x, w, padding, xp_shape, cols = cache
    F, C, KH, KW = w.shape
    dout_mat = dout.transpose(1, 0, 2, 3).reshape(F, -1)
    dw = (dout_mat @ cols.T).reshape(w.shape)
    dxp = col2im(w.reshape(F, -1).T @ dout_mat, xp_shape, KH, KW)
    return unpad_grad(dxp, x.shape[2], x.shape[3], KH, KW, padding), dw, dout_mat.sum(axis=1)


def unpad_grad(dxp, H, W, KH, KW, padding):
    pt, pb, pl, pr = pad_widths(KH, KW, padding)
    if padding != "replicate":
        return dxp[:, :, pt:pt + H, pl:pl + W]
    rows = np.clip(np.arange(H + pt + pb) - pt, 0, H - 1)
    cols = np.clip(np.arange(W + pl + pr) - pl, 0, W - 1)
    dx = np.zeros(dxp.shape[:2] + (H, W))
    np.add.at(dx, (slice(None), slice(None), rows[:, None], cols[None, :]), dxp)
    return dx


def dx_full_correlation(dout, w):
    F, C, KH, KW = w.shape
    dpad = np.pad(dout, ((0, 0), (0, 0), (KH - 1, KH - 1), (KW - 1, KW - 1)))
    return conv2d_forward(dpad, w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3), np.zeros(C))[0]


def srcnn_backward(dout, caches):
    conv1, relu1, conv2, relu2, conv3 = caches
    da2, dw3, db3 = conv2d_backward(dout, conv3)
    da1, dw2, db2 = conv2d_backward(relu_backward(da2, relu2), conv2)
    _, dw1, db1 = conv2d_backward(relu_backward(da1, relu1), conv1)
    return dict(w1=dw1, b1=db1, w2=dw2, b2=db2, w3=dw3, b3=db3)


def sgd_momentum_caffe(w, v, g, lr, momentum):
    v = momentum * v - lr * g
    return w + v, v


def conv2d_forward_stride2(x, w, b):
    out, cache = conv2d_forward(x, w, b)
    return out[:, :, ::2, ::2], (cache, out.shape)


def conv2d_backward_stride2(dout, cache):
    cache1, shape1 = cache
    dilated = np.zeros(shape1)
    dilated[:, :, ::2, ::2] = dout
    return conv2d_backward(dilated, cache1)
'''



def wrong_col2im(answers, mistake):
    """The right col2im with a typical mistake: its rows read as (kh, kw, c) ("axes"), or each copy
    added back as (C, N) instead of (N, C) ("no transpose")."""
    start = answers.index("def col2im(")
    right = answers[start:answers.index("\n\n\n", start)]
    assert "dcols.reshape(C, KH, KW, N, Ho, Wo)" in right and "d[:, kh, kw].transpose(1, 0, 2, 3)" in right
    if mistake == "axes":
        return (right.replace("dcols.reshape(C, KH, KW, N, Ho, Wo)", "dcols.reshape(KH, KW, C, N, Ho, Wo)")
                .replace("d[:, kh, kw]", "d[kh, kw]") + "  # rows read as (kh, kw, c)\n\n\n")
    return right.replace("d[:, kh, kw].transpose(1, 0, 2, 3)", "d[:, kh, kw]") + "  # (C, N) not (N, C)\n\n\n"


# One typical mistake per function; later definitions replace the answers above.
MISTAKES_A = ANSWERS + "\n\n" + wrong_col2im(ANSWERS, "axes") + '''

def mse_grad(out, y):
    return out - y                                              # the 1/N forgotten


def relu_backward(da, mask):
    return da                                                   # no mask


def unpad_grad(dxp, H, W, KH, KW, padding):                     # cropped for replicate too
    pt, pb, pl, pr = pad_widths(KH, KW, padding)
    return dxp[:, :, pt:pt + H, pl:pl + W]


def dx_full_correlation(dout, w):                               # no flip
    F, C, KH, KW = w.shape
    dpad = np.pad(dout, ((0, 0), (0, 0), (KH - 1, KH - 1), (KW - 1, KW - 1)))
    return conv2d_forward(dpad, w.transpose(1, 0, 2, 3), np.zeros(C))[0]


def sgd_momentum_caffe(w, v, g, lr, momentum):                  # PyTorch's form
    v = momentum * v + g
    return w - lr * v, v


def conv2d_forward_stride2(x, w, b):                            # reads windows at (i, j), not (2i, 2j)
    out, cache = conv2d_forward(x, w, b)
    Ho, Wo = (x.shape[2] - w.shape[2]) // 2 + 1, (x.shape[3] - w.shape[3]) // 2 + 1
    return out[:, :, :Ho, :Wo], cache
'''

MISTAKES_B = ANSWERS + "\n\n" + wrong_col2im(ANSWERS, "no transpose") + '''

def mse_grad(out, y):
    return 2 * (out - y) / out.size                             # the per-pixel mean's gradient


def conv2d_backward(dout, cache):                               # dout.reshape(F, -1), and no unpad_grad
    x, w, padding, xp_shape, cols = cache
    F, C, KH, KW = w.shape
    dout_mat = dout.reshape(F, -1)
    dw = (dout_mat @ cols.T).reshape(w.shape)
    dxp = w.reshape(F, -1).T @ dout_mat
    from npsrcnn.lesson import col2im as lesson_col2im
    return lesson_col2im(dxp, xp_shape, KH, KW), dw, dout_mat.sum(axis=1)


def dx_full_correlation(dout, w):                               # flipped, but F and C not swapped
    F, C, KH, KW = w.shape
    dpad = np.pad(dout, ((0, 0), (0, 0), (KH - 1, KH - 1), (KW - 1, KW - 1)))
    return conv2d_forward(dpad, w[:, :, ::-1, ::-1], np.zeros(C))[0]


def srcnn_backward(dout, caches):                               # relu2's mask skipped
    conv1, relu1, conv2, relu2, conv3 = caches
    da2, dw3, db3 = conv2d_backward(dout, conv3)
    da1, dw2, db2 = conv2d_backward(da2, conv2)
    _, dw1, db1 = conv2d_backward(relu_backward(da1, relu1), conv1)
    return dict(w1=dw1, b1=db1, w2=dw2, b2=db2, w3=dw3, b3=db3)


from npsrcnn.lesson import sgd_momentum_caffe                   # imported, not written
'''


def grade(path):
    env = dict(os.environ, NPSRCNN_EXERCISES=str(path), PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "exercises/test_backprop.py"]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def failures(output):
    """{test id: the grader's message} from pytest's report of the failures (pytrace=False)."""
    parts = re.split(r"^_{3,} (test_\S+) _{3,}$", output, flags=re.M)
    return {name: body.split("\n=")[0].strip() for name, body in zip(parts[1::2], parts[2::2])}


def graded(tmp_path, name, source):
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    res = grade(path)
    return res, failures(res.stdout)


def test_grader_passes_right_answers(tmp_path):
    res, _ = graded(tmp_path, "answers", ANSWERS)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert f"{N_TESTS} passed" in res.stdout  # every exercise, the optional stride-2 one included


def test_grader_fails_the_blank_exercises():
    res = grade(REPO / "exercises" / "backprop.py")
    assert res.returncode == 1
    assert f"{N_TESTS} failed" in res.stdout and "passed" not in res.stdout
    msgs = failures(res.stdout)
    assert len(msgs) == N_TESTS
    assert msgs["test_01_mse_grad"] == "mse_grad: not written yet (exercise 1: the loss's gradient)"
    assert "Traceback" not in res.stdout and "NotImplementedError(" not in res.stdout


def test_the_skeleton_imports_nothing_the_student_writes():
    source = (REPO / "exercises" / "backprop.py").read_text()
    imported = set(re.findall(r"^from npsrcnn\.lesson import (.*)$", source, re.M)[0].split("#")[0].replace(" ", "").split(","))
    assert imported == {"conv2d_forward", "im2col", "pad", "pad_widths"}  # forward functions and helpers only
    written = set(re.findall(r"^def (\w+)\(", source, re.M))
    assert not imported & written and {"col2im", "conv2d_backward", "unpad_grad"} <= written


@pytest.fixture(scope="module")
def mistakes_a(tmp_path_factory):
    return graded(tmp_path_factory.mktemp("a"), "mistakes_a", MISTAKES_A)


@pytest.fixture(scope="module")
def mistakes_b(tmp_path_factory):
    return graded(tmp_path_factory.mktemp("b"), "mistakes_b", MISTAKES_B)


def short(message):
    """A grader message is a few lines and holds no array dump."""
    assert 2 <= len(message.splitlines()) <= 5, message
    assert "[[" not in message and "array(" not in message and "Traceback" not in message, message
    return message


def test_missing_one_over_n_is_called_n_times_too_large(mistakes_a):
    msg = short(mistakes_a[1]["test_01_mse_grad"])
    assert "dout is wrong: relative error 5.0e-01" in msg
    assert "yours = 3 x the right answer (3 = N, the batch size in this test: the 1/N is missing)" in msg
    assert "hint: step 2, docs/backprop/02-loss.md" in msg
    assert msg in (REPO / "exercises" / "README.md").read_text()  # the README shows this very message


def test_the_mean_reduction_is_named(mistakes_b):
    msg = short(mistakes_b[1]["test_01_mse_grad"])
    assert "yours = 0.125 x the right answer (2 / (Ho Wo): the per-pixel mean's gradient" in msg  # 4x4 labels


def test_no_relu_mask(mistakes_a):
    msg = short(mistakes_a[1]["test_02_relu_backward"])
    assert "dz is wrong" in msg and "known mistake: da returned unchanged: the mask is not applied" in msg
    chain = short(mistakes_a[1]["test_09_srcnn_backward"])  # the chain uses the same relu_backward
    assert "w3, b3 right" in chain and "relu2's backward" in chain


def test_relu_mask_skipped_in_the_chain_is_located(mistakes_b):
    msg = short(mistakes_b[1]["test_09_srcnn_backward"])
    assert "w2" in msg.splitlines()[0] and "w3" not in msg.splitlines()[0]
    assert "w3, b3 right, so the gradient goes wrong between conv3 and conv2: relu2's backward" in msg


@pytest.mark.parametrize("test", ["test_04_col2im[3-3]", "test_04_col2im[2-4]"])
def test_col2im_rows_in_the_wrong_order(mistakes_a, test):
    msg = short(mistakes_a[1][test])
    assert "dxp" in msg and "known mistake: rows read as (kh, kw, c), not (c, kh, kw)" in msg
    assert "hint: step 4.6 (a)" in msg


def test_col2im_axes_not_transposed_back(mistakes_b):
    msg = short(mistakes_b[1]["test_04_col2im[3-3]"])
    assert "col2im raised ValueError: operands could not be broadcast together" in msg
    assert re.search(r"at mistakes_b\.py line \d+: dxp\[:, :, kh:kh \+ Ho, kw:kw \+ Wo\] \+= d\[:, kh, kw\]", msg)


def test_no_flip(mistakes_a):
    msg = short(mistakes_a[1]["test_08_dx_full_correlation"])
    assert "dx is wrong" in msg and "known mistake: the kernel is not flipped" in msg
    assert "AND with F and C swapped" in msg  # the hint


def test_no_channel_swap(mistakes_b):
    msg = short(mistakes_b[1]["test_08_dx_full_correlation"])
    assert "dx_full_correlation raised ValueError: conv2d_forward(x, w, b): x has 4 channels but w (4, 3, 3, 2) reads 3" in msg
    assert "(raised inside conv2d_forward)" in msg
    assert "ValueError: matmul" not in msg and "F and C swapped: (C, F, KH, KW)" in msg


def test_pytorch_momentum(mistakes_a):
    msg = short(mistakes_a[1]["test_10_sgd_momentum_caffe"])
    assert "v is wrong" in msg and "known mistake: PyTorch's form" in msg


def test_imported_answers_are_refused(mistakes_b):
    msg = mistakes_b[1]["test_10_sgd_momentum_caffe"]
    assert msg == "sgd_momentum_caffe is npsrcnn's own npsrcnn.lesson.sgd.sgd_momentum_caffe, imported: write it in mistakes_b.py"


def test_replicate_cropped(mistakes_a):
    msg = short(mistakes_a[1]["test_06_unpad_grad[replicate]"])
    assert "known mistake: cropped, as for zero padding" in msg
    assert "test_06_unpad_grad[zero]" not in mistakes_a[1]  # cropping is right for zero padding


def test_dout_reshaped_without_transpose_and_padded_dx_not_folded(mistakes_b):
    msg = short(mistakes_b[1]["test_05_conv2d_backward_valid"])
    assert "dx is wrong" in msg and "known mistake: dout_mat built as dout.reshape(F, -1)" in msg
    padded = short(mistakes_b[1]["test_07_conv2d_backward_padded[zero]"])
    assert "dx has shape (2, 3, 8, 6); expected (2, 3, 6, 5), the shape of x" in padded
    assert "the shape of xp, the padded input: fold it back with your unpad_grad" in padded


def test_stride2_windows_in_the_wrong_place(mistakes_a):
    msg = short(mistakes_a[1]["test_11_stride2_forward"])
    assert "out is wrong" in msg and "hint: step 4.8" in msg


def test_every_other_exercise_still_passes_beside_the_mistakes(mistakes_a, mistakes_b):
    """A mistake is reported where it is, and nowhere else."""
    assert set(mistakes_a[1]) == {"test_01_mse_grad", "test_02_relu_backward", "test_04_col2im[3-3]",
                                  "test_04_col2im[2-4]", "test_06_unpad_grad[replicate]",
                                  "test_07_conv2d_backward_padded[replicate]", "test_08_dx_full_correlation",
                                  "test_09_srcnn_backward", "test_10_sgd_momentum_caffe", "test_11_stride2_forward",
                                  "test_11_stride2_backward", "test_05_conv2d_backward_valid",
                                  "test_07_conv2d_backward_padded[zero]"}
