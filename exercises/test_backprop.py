"""The grader for exercises/backprop.py (or the file named by NPSRCNN_EXERCISES).

Every right answer here comes from float64 centred differences (step 7) of the lesson's *forward*
functions, never from the lesson's backward functions. A failure is a few lines: which array, its shape
or its relative error, "yours = k x the right answer" when it is off by a constant, the known mistake it
matches when it matches one, and a hint naming the section of docs/backprop/ that derives it.
"""
import importlib.util
import os
import traceback
from pathlib import Path

import numpy as np
import pytest

from npsrcnn import lesson
from npsrcnn.lesson import numerical_grad, numerical_vjp, rel_error

PATH = Path(os.environ.get("NPSRCNN_EXERCISES", Path(__file__).with_name("backprop.py"))).resolve()
PASS = 1e-7  # step 7's scale: a right float64 gradient gives < 1e-7 here, a bug > 1e-2
DOCS = "docs/backprop/"


# ------------------------------------------------------------------------------- messages, not dumps


def fail(*lines):
    pytest.fail("\n".join(line for line in lines if line), pytrace=False)


def load():
    """The student's module, or the one-line reason it did not import."""
    spec = importlib.util.spec_from_file_location("student_backprop", PATH)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # a syntax error must not hide every other test's message
        return None, f"{PATH.name} did not import: {type(e).__name__}: {e}"
    return module, None


ex, LOAD_ERROR = load()


def student(name):
    """The student's function `name`, written in their file (not imported from npsrcnn)."""
    if LOAD_ERROR:
        fail(LOAD_ERROR)
    fn = getattr(ex, name, None)
    if fn is None:
        fail(f"{PATH.name} has no function {name}: keep the names of the skeleton")
    if getattr(fn, "__module__", "").startswith("npsrcnn"):
        fail(f"{name} is npsrcnn's own {fn.__module__}.{fn.__name__}, imported: write it in {PATH.name}")
    return fn


def where_raised(exc):
    """'your line N: <code>', and the npsrcnn function it was inside, from the exception's traceback."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if Path(f.filename).resolve() == PATH]
    if not mine:
        return ""
    text = f"at {PATH.name} line {mine[-1].lineno}: {(mine[-1].line or '').strip()}"
    inner = frames[-1]
    if Path(inner.filename).resolve() != PATH:  # the grader's checked_conv2d_forward stands for conv2d_forward
        text += f"  (raised inside {inner.name.replace('checked_', '')})"
    return text


def call(name, *args, hint, note=""):
    """Call the student's `name`; an exception becomes its one line, where it happened, and the hint."""
    fn = student(name)
    try:
        return fn(*args)
    except NotImplementedError as e:
        message = [f"{name}: not written yet ({e})"]
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        message = [f"{name} raised {type(e).__name__}: {first}", where_raised(e),
                   note() if callable(note) else note, f"hint: {hint}"]
    fail(*message)  # outside the except clause: no chained traceback in the report


def passes(test, *args):
    """Whether an earlier exercise's test passes: a later exercise that calls it says so when not."""
    try:
        test(*args)
    except pytest.fail.Exception:
        return False
    return True


def uses(*earlier):
    """Notes for a failure: the earlier exercises this one calls that do not pass yet."""
    late = [f"{name} ({test.__name__})" for name, test, args in earlier if not passes(test, *args)]
    if not late:
        return ""
    return f"note: this test calls your {' and '.join(late)}, which {'does' if len(late) == 1 else 'do'} not pass yet: fix that first"


def describe_factor(k, factors):
    """'yours = 3 x the right answer (3 = N ...)' for a constant factor k."""
    if np.isclose(k, -1, rtol=1e-6):
        return "yours = -1 x the right answer: the sign is flipped"
    for value, meaning in factors.items():
        if np.isclose(k, value, rtol=1e-6):
            return f"yours = {k:.4g} x the right answer ({meaning})"
    size = f"{k:.4g} x the right answer"
    if abs(k) > 1 and np.isclose(k, round(k), rtol=1e-6):
        return f"yours = {size}: {abs(round(k))}x too large"
    if 0 < abs(k) < 1 and np.isclose(1 / k, round(1 / k), rtol=1e-6):
        return f"yours = {size} (1/{abs(round(1 / k))}): {abs(round(1 / k))}x too small"
    return f"yours = {size}"


def edge_only(got, want):
    """True when every wrong element lies in the first or last row or column of the last two axes."""
    if got.ndim < 2 or min(got.shape[-2:]) < 3:
        return False
    bad = np.abs(got - want) > 1e-6 * (np.abs(want).max() + 1e-300)
    interior = bad[..., 1:-1, 1:-1]
    return bool(bad.any() and not interior.any())


def check(name, got, want, hint, what="", like="", factors=None, mistakes=(), shape_notes=None, note=""):
    """Shape, then value: fail with a short message unless rel_error(got, want) < PASS.

    `what` names the array in the message, `like` the array whose shape it must have.
    """
    what = what or f"{name}'s result"
    if got is None or not hasattr(got, "shape"):
        try:
            got = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            fail(f"{what} must be an array of shape {tuple(np.shape(want))}, got {type(got).__name__}",
                 f"hint: {hint}")
        if got.shape != np.shape(want) or got.dtype == object:
            fail(f"{what} must be an array of shape {tuple(np.shape(want))}, got {type(got).__name__}",
                 f"hint: {hint}")
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        note = (shape_notes or {}).get(got.shape, "")
        if not note and sorted(got.shape) == sorted(want.shape):
            note = "the right sizes in another order: check the axis order"
        expected = f"{want.shape}" + (f", the shape of {like}" if like else "")
        fail(f"{what} has shape {got.shape}; expected {expected}" + (f" ({note})" if note else ""),
             f"hint: {hint}")
    if not np.all(np.isfinite(got)):
        fail(f"{what} contains NaN or inf", f"hint: {hint}")
    err = rel_error(got, want)
    if err < PASS:
        return
    lines = [f"{what} is wrong: relative error {err:.1e} (a right answer gives < {PASS:g})"]
    den = np.vdot(want, want)
    k = np.vdot(got, want) / den if den else 0.0
    if k and rel_error(got, k * want) < 1e-6:
        lines.append(describe_factor(k, factors or {}))
    else:
        for description, wrong in mistakes:
            if wrong is not None and np.shape(wrong) == got.shape and rel_error(got, wrong) < 1e-6:
                lines.append(f"it matches the known mistake: {description}")
                break
        else:
            if edge_only(got, want):
                lines.append("only pixels on the edge of the image are wrong; the interior is right")
    lines.append(note() if callable(note) else note)
    lines.append(f"hint: {hint}")
    fail(*lines)


def rand(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


# ----------------------------------------------------------------------------------- 1: the loss


def test_01_mse_grad():
    hint = f"step 2, {DOCS}02-loss.md: differentiate the one term of the sum that holds out[n, 0, i, j]; keep the 1/(2N)"
    N = 3
    out, y = rand((N, 1, 4, 4), 0), rand((N, 1, 4, 4), 1)
    want = numerical_grad(lambda: float(((out - y) ** 2).sum() / (2 * N)), out)
    got = call("mse_grad", out.copy(), y.copy(), hint=hint)
    check("mse_grad", got, want, hint, what="dout", like="out",
          factors={N: f"{N} = N, the batch size in this test: the 1/N is missing",
                   2 / 16: "2 / (Ho Wo): the per-pixel mean's gradient 2 (out - y) / out.size, not Caffe's",
                   0.5: "the 2 that the square brings down is missing",
                   2 * N: f"{2 * N} = 2N: the gradient of the plain sum of squares, the 1/(2N) is missing"})


# ----------------------------------------------------------------------------------- 2: ReLU


def test_02_relu_backward():
    hint = f"step 3, {DOCS}03-relu.md: the gradient passes where z > 0 (the mask is True) and is 0 elsewhere"
    z = rand((2, 3, 4), 2)
    z[np.abs(z) < 1e-3] = 0.5  # keep the check off the corner at 0
    da = rand(z.shape, 3)
    want = numerical_vjp(lambda: np.maximum(z, 0), z, da)
    got = call("relu_backward", da.copy(), z > 0, hint=hint)
    check("relu_backward", got, want, hint, what="dz", like="z",
          mistakes=[("da returned unchanged: the mask is not applied", da),
                    ("the mask is inverted: the gradient passes where z < 0", da * (z <= 0))])
    at_zero = call("relu_backward", np.ones(3), np.array([-1.0, 0.0, 1.0]) > 0, hint=hint)
    check("relu_backward", at_zero, [0.0, 0.0, 1.0], "step 3, 'The gradient at 0': the mask z > 0 gives 0 at z = 0",
          what="dz at z = [-1, 0, 1]")


# ----------------------------------------------------------------------------------- 3-8: convolution

CONV = dict(N=2, C=3, H=6, W=5, F=4, KH=3, KW=2)  # F != C and KH != KW, so swapped axes show


def conv_case(seed, padding="valid", **shape):
    s = dict(CONV, **shape)
    x = rand((s["N"], s["C"], s["H"], s["W"]), seed)
    w, b = rand((s["F"], s["C"], s["KH"], s["KW"]), seed + 1), rand(s["F"], seed + 2)
    out, cache = lesson.conv2d_forward(x, w, b, padding)
    return x, w, b, out, cache, rand(out.shape, seed + 3)


def conv_grads(x, w, b, dout, padding="valid"):
    """dx, dw, db of the convolution by centred differences of the forward pass (step 7)."""
    fwd = lambda: lesson.conv2d_forward(x, w, b, padding)[0]  # noqa: E731
    return [numerical_vjp(fwd, p, dout) for p in (x, w, b)]


def conv_mistakes(x, w, b, dout, padding, which):
    """Known mistakes of a conv backward, as the arrays they produce (made from right answers, not code)."""
    N, F, Ho, Wo = dout.shape
    mixed = dout.reshape(F, N, Ho, Wo).transpose(1, 0, 2, 3)  # what dout.reshape(F, -1) pairs with cols
    mistakes = [("dout_mat built as dout.reshape(F, -1): its columns are not in the order (n, i, j) of "
                 "cols' columns; move F to the front first", conv_grads(x, w, b, mixed, padding)[which])]
    if which == 1:
        dw = conv_grads(x, w, b, dout, padding)[1]
        if w.shape[2] == w.shape[3]:
            mistakes.append(("kh and kw swapped in dw", dw.transpose(0, 1, 3, 2)))
    return mistakes


def check_conv(name, grads, x, w, b, dout, padding, hint, xp_shape=None, note=""):
    """Shapes of dx, dw, db first, then each value."""
    if not isinstance(grads, (tuple, list)) or len(grads) != 3:
        fail(f"{name} must return (dx, dw, db), got {type(grads).__name__}", f"hint: {hint}")
    wants = conv_grads(x, w, b, dout, padding)
    notes = {tuple(xp_shape): "the shape of xp, the padded input: fold it back with your unpad_grad"} if xp_shape else {}
    for g, want, label, like in zip(grads, wants, ("dx", "dw", "db"), ("x", "w", "b")):
        if np.shape(g) != want.shape:
            check(name, g, want, hint, what=label, like=like, shape_notes=notes)
    for which, (g, want, label) in enumerate(zip(grads, wants, ("dx", "dw", "db"))):
        check(name, g, want, hint, what=label, mistakes=conv_mistakes(x, w, b, dout, padding, which), note=note)


def test_03_conv2d_backward_loops():
    hint = (f"steps 4.4 and 4.6 (b), {DOCS}04-convolution.md: output (i, j) sends sum_f dout[:, f, i, j] w[f] "
            "onto the window it read; dw[f] adds dout[:, f, i, j] times that window; db sums dout over n, i, j")
    x, w, b, out, cache, dout = conv_case(10)
    grads = call("conv2d_backward_loops", dout.copy(), x.copy(), w.copy(), hint=hint)
    check_conv("conv2d_backward_loops", grads, x, w, b, dout, "valid", hint)


@pytest.mark.parametrize("KH, KW", [(3, 3), (2, 4), (1, 1)])
def test_04_col2im(KH, KW):
    hint = (f"step 4.6 (a), {DOCS}04-convolution.md and its figure: row (c, kh, kw) and column (n, i, j) of dcols "
            "belong to xp[n, c, i + kh, j + kw]; add, do not assign (windows overlap)")
    N, C = 2, 3
    xp = rand((N, C, 5, 6), 4)
    c = rand(lesson.im2col(xp, KH, KW).shape, 5)
    adjoint = lambda cc: numerical_vjp(lambda: lesson.im2col(xp, KH, KW), xp, cc)  # noqa: E731  im2col's transpose
    M = c.shape[1]
    wrong_orders = [
        ("kh and kw swapped", c.reshape(C, KH, KW, M).transpose(0, 2, 1, 3).reshape(-1, M) if KH == KW else None),
        ("rows read as (kh, kw, c), not (c, kh, kw)", c.reshape(KH, KW, C, M).transpose(2, 0, 1, 3).reshape(-1, M)),
        ("columns read as (i, j, n), not (n, i, j)",
         c.reshape(-1, 5 - KH + 1, 6 - KW + 1, N).transpose(0, 3, 1, 2).reshape(-1, M)),
    ]
    mistakes = [(d, adjoint(cc)) for d, cc in wrong_orders if cc is not None and not np.array_equal(cc, c)]
    got = call("col2im", c.copy(), xp.shape, KH, KW, hint=hint)
    check("col2im", got, adjoint(c), hint, what=f"dxp ({KH}x{KW} kernel)", like="xp", mistakes=mistakes)


def test_05_conv2d_backward_valid():
    hint = (f"steps 4.4 and 4.6 (a), {DOCS}04-convolution.md: dout_mat is (F, N*Ho*Wo) with columns in the "
            "order (n, i, j) of cols; dW_mat = dout_mat cols^T, dcols = W_mat^T dout_mat, then your col2im")
    x, w, b, out, cache, dout = conv_case(20)
    grads = call("conv2d_backward", dout.copy(), cache, hint=hint, note=lambda: uses(("col2im", test_04_col2im, (3, 2))))
    check_conv("conv2d_backward", grads, x, w, b, dout, "valid", hint,
               note=lambda: uses(("col2im", test_04_col2im, (3, 2))))


@pytest.mark.parametrize("padding", ["valid", "zero", "replicate"])
def test_06_unpad_grad(padding):
    hint = (f"step 4.7, {DOCS}04-convolution.md and its figure: zero: the padded zeros get no gradient (crop); "
            "replicate: each padded pixel's gradient adds onto the edge pixel it copied")
    KH, KW, H, W = 3, 4, 4, 5
    x = rand((2, 2, H, W), 30)
    d = rand(lesson.pad(x, KH, KW, padding).shape, 31)
    want = numerical_vjp(lambda: lesson.pad(x, KH, KW, padding), x, d)  # pad's transpose
    cropped = numerical_vjp(lambda: lesson.pad(x, KH, KW, "zero"), x, d) if padding == "replicate" else None
    got = call("unpad_grad", d.copy(), H, W, KH, KW, padding, hint=hint)
    check("unpad_grad", got, want, hint, what=f"dx ({padding} padding)", like="x",
          mistakes=[("cropped, as for zero padding: with replicate the padded pixels' gradient must be added "
                     "onto the edge pixels they copied", cropped)])


@pytest.mark.parametrize("padding", ["zero", "replicate"])
def test_07_conv2d_backward_padded(padding):
    hint = (f"step 4.7, {DOCS}04-convolution.md: col2im gives the gradient of xp (shape xp_shape, from the cache); "
            "your unpad_grad takes it back to x")
    x, w, b, out, cache, dout = conv_case(40, padding)
    grads = call("conv2d_backward", dout.copy(), cache, hint=hint,
                 note=lambda: uses(("col2im", test_04_col2im, (3, 2)), ("unpad_grad", test_06_unpad_grad, (padding,))))
    check_conv("conv2d_backward", grads, x, w, b, dout, padding, hint, xp_shape=cache[3],
               note=lambda: uses(("col2im", test_04_col2im, (3, 2)), ("unpad_grad", test_06_unpad_grad, (padding,))))


def checked_conv2d_forward(x, w, b, padding="valid"):
    """lesson.conv2d_forward, with the shape mistakes of exercise 8 said in words before the product fails."""
    if np.ndim(x) != 4 or np.ndim(w) != 4:
        raise ValueError(f"conv2d_forward wants x (N, C, H, W) and w (F, C, KH, KW); got {np.shape(x)} and {np.shape(w)}")
    if w.shape[1] != x.shape[1]:
        raise ValueError(f"conv2d_forward(x, w, b): x has {x.shape[1]} channels but w {tuple(w.shape)} reads "
                         f"{w.shape[1]} (axis 1 of w is the input channel)")
    if np.shape(b) != (w.shape[0],):
        raise ValueError(f"conv2d_forward(x, w, b): b must have shape ({w.shape[0]},), one per output channel; got {np.shape(b)}")
    return lesson.conv2d_forward(x, w, b, padding)


def test_08_dx_full_correlation():
    hint = (f"step 4.6 (c), {DOCS}04-convolution.md: pad dout with KH-1 rows and KW-1 columns of zeros on every "
            "side; the kernel is w flipped in both spatial axes AND with F and C swapped: (C, F, KH, KW)")
    x, w, b, out, cache, dout = conv_case(50)
    if LOAD_ERROR is None and getattr(ex, "conv2d_forward", None) is lesson.conv2d_forward:
        ex.conv2d_forward = checked_conv2d_forward  # the same function, with readable shape errors
    got = call("dx_full_correlation", dout.copy(), w.copy(), hint=hint)
    want = numerical_vjp(lambda: lesson.conv2d_forward(x, w, b)[0], x, dout)
    flip = lambda ww: numerical_vjp(lambda: lesson.conv2d_forward(x, ww, b)[0], x, dout)  # noqa: E731
    check("dx_full_correlation", got, want, hint, what="dx", like="x (valid: xp is x)",
          mistakes=[("the kernel is not flipped", flip(w[:, :, ::-1, ::-1].copy())),
                    ("the kernel is flipped along KH only", flip(w[:, :, :, ::-1].copy())),
                    ("the kernel is flipped along KW only", flip(w[:, :, ::-1, :].copy()))])


# ----------------------------------------------------------------------------------- 9: the chain

NET = dict(w1=(4, 1, 3, 3), b1=(4,), w2=(3, 4, 1, 1), b2=(3,), w3=(1, 3, 3, 3), b3=(1,))
ORDER = ["w3", "b3", "w2", "b2", "w1", "b1"]  # the order in which the backward pass reaches them
BETWEEN = {"w2": "between conv3 and conv2: relu2's backward (its mask), or conv3's dx",
           "w1": "between conv2 and conv1: relu1's backward (its mask), or conv2's dx"}


def test_09_srcnn_backward():
    hint = (f"step 5, {DOCS}05-the-chain.md: the backward calls in reverse order; each conv's dx is the "
            "gradient of the ReLU output below it, which relu_backward (with that layer's mask) turns into the next dout")
    rng = np.random.default_rng(16)
    params = {k: rng.normal(0, 0.3, s) for k, s in NET.items()}
    x, y = rng.random((2, 1, 8, 7)), rng.random((2, 1, 4, 3))

    def loss():
        out, _ = lesson.srcnn_forward(params, x)
        return float(((out - y) ** 2).sum() / 4)

    out, caches = lesson.srcnn_forward(params, x)
    grads = call("srcnn_backward", (out - y) / 2, caches, hint=hint)
    if not isinstance(grads, dict) or sorted(grads) != sorted(NET):
        fail(f"srcnn_backward must return a dict keyed {sorted(NET)}, got {type(grads).__name__}"
             + (f" keyed {sorted(grads)}" if isinstance(grads, dict) else ""), f"hint: {hint}")
    for k in ORDER:  # shapes first
        if np.shape(grads[k]) != NET[k]:
            check("srcnn_backward", grads[k], np.zeros(NET[k]), hint, what=f"grads['{k}']", like=k)
    wants = {k: numerical_grad(loss, params[k]) for k in ORDER}
    right = [k for k in ORDER if rel_error(grads[k], wants[k]) < PASS]
    wrong = [k for k in ORDER if k not in right]
    if wrong:
        first = wrong[0]
        where = ("the first parameters the chain reaches are wrong: conv3's backward, fed with dout"
                 if first in ("w3", "b3") else f"{', '.join(right)} right, so the gradient goes wrong "
                 + BETWEEN.get(first if first.startswith("w") else "w" + first[1], ""))
        fail(f"srcnn_backward: {', '.join(f'{k} {rel_error(grads[k], wants[k]):.1e}' for k in wrong)} "
             f"(relative errors; a right answer gives < {PASS:g})", where,
             uses(("relu_backward", test_02_relu_backward, ()), ("conv2d_backward", test_05_conv2d_backward_valid, ())),
             f"hint: {hint}")


# ----------------------------------------------------------------------------------- 10: momentum


def test_10_sgd_momentum_caffe():
    hint = (f"step 6, {DOCS}06-sgd-momentum.md: Caffe's velocity is a decaying sum of past *steps*: "
            "v = momentum * v - lr * g, then w = w + v")
    lr, m = 0.1, 0.9
    rng = np.random.default_rng(60)
    w0, v0, g = rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal(5)
    result = call("sgd_momentum_caffe", w0.copy(), v0.copy(), g.copy(), lr, m, hint=hint)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail(f"sgd_momentum_caffe must return (w, v), got {type(result).__name__}", f"hint: {hint}")
    w1, v1 = result
    v_want = m * v0 - lr * g  # the definition of step 6: a velocity of steps
    check("sgd_momentum_caffe", v1, v_want, hint, what="v",
          mistakes=[("PyTorch's form: v kept as a buffer of gradients, m v + g (step 6: Caffe's v = -lr u)",
                     m * v0 + g)])
    check("sgd_momentum_caffe", w1, w0 + v_want, hint, what="w",
          mistakes=[("w - lr v: PyTorch's update applied to Caffe's velocity", w0 - lr * v_want)])


# ----------------------------------------------------------------------------------- 11: stride 2


def strided_forward(x, w, b):
    """The stride-2 valid correlation as step 4.8 puts it: every second output of the stride-1 one."""
    return lesson.conv2d_forward(x, w, b)[0][:, :, ::2, ::2]


def test_11_stride2_forward():
    hint = f"step 4.8, {DOCS}04-convolution.md: output (i, j) reads the window whose top-left corner is (2i, 2j)"
    x, w, b = rand((2, 3, 7, 6), 70), rand((4, 3, 3, 2), 71), rand(4, 72)
    result = call("conv2d_forward_stride2", x.copy(), w.copy(), b.copy(), hint=hint)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail(f"conv2d_forward_stride2 must return (out, cache), got {type(result).__name__}", f"hint: {hint}")
    check("conv2d_forward_stride2", result[0], strided_forward(x, w, b), hint, what="out")


def test_11_stride2_backward():
    hint = (f"step 4.8, {DOCS}04-convolution.md: the stride-1 backward of dout dilated with zeros (between "
            "entries and, here, one more row at the end); the last input row is read by no window")
    x, w, b = rand((2, 3, 8, 6), 73), rand((4, 3, 3, 2), 74), rand(4, 75)  # H = 8: row 7 is never read
    result = call("conv2d_forward_stride2", x.copy(), w.copy(), b.copy(), hint=hint)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail(f"conv2d_forward_stride2 must return (out, cache), got {type(result).__name__}", f"hint: {hint}")
    dout = rand(strided_forward(x, w, b).shape, 76)
    grads = call("conv2d_backward_stride2", dout.copy(), result[1], hint=hint,
                 note=lambda: uses(("conv2d_forward_stride2", test_11_stride2_forward, ())))
    if not isinstance(grads, (tuple, list)) or len(grads) != 3:
        fail(f"conv2d_backward_stride2 must return (dx, dw, db), got {type(grads).__name__}", f"hint: {hint}")
    fwd = lambda: strided_forward(x, w, b)  # noqa: E731
    wants = [numerical_vjp(fwd, p, dout) for p in (x, w, b)]
    for g, want, label in zip(grads, wants, ("dx", "dw", "db")):
        if np.shape(g) != want.shape:
            check("conv2d_backward_stride2", g, want, hint, what=label, like=label[1:])
    for g, want, label in zip(grads, wants, ("dx", "dw", "db")):
        check("conv2d_backward_stride2", g, want, hint, what=label,
              note=lambda: uses(("conv2d_forward_stride2", test_11_stride2_forward, ())))
