"""Exercises: write the backward passes of the lesson yourself. The tests are the grader.

Replace each ``raise NotImplementedError`` with your code, then run

    python -m pytest exercises/ -q

Start with the first test that fails: the order below is the order of the walkthrough (docs/backprop/),
and each docstring names the section that derives the function. The grader checks every gradient against
centred finite differences in float64 (step 7), so a test that passes means your gradient is right, not
only that it agrees with ours. It checks shapes first, and a wrong value gets a short message: the
relative error, "yours = k x the right answer" when it is off by a constant, and a hint. Grade another
copy of this file with ``NPSRCNN_EXERCISES=path/to/your_copy.py python -m pytest exercises/ -q``.

Only forward functions and helpers are imported below; every backward function is yours to write, and
later exercises call your earlier ones (exercise 5 your col2im, exercise 9 your conv2d_backward and
relu_backward). The lesson's own answers are in npsrcnn/lesson/ and in the folded "Solution" blocks of
the walkthrough: open them after you have tried.

Shapes (step 1's notation): x (N, C, H, W), w (F, C, KH, KW), b (F,), out and dout (N, F, Ho, Wo).
"""
import numpy as np  # noqa: F401  (you will want it)

from npsrcnn.lesson import conv2d_forward, im2col, pad, pad_widths  # noqa: F401  (forward functions and helpers)


def mse_grad(out, y):
    """Gradient of Caffe's loss ``L = sum((out - y)**2) / (2 N)`` wrt out (N is ``out.shape[0]``).

    Exercise 1, step 2. Returns an array shaped like out.
    """
    raise NotImplementedError("exercise 1: the loss's gradient")


def relu_backward(da, mask):
    """Gradient of ``a = max(0, z)`` wrt z, from ``da = dL/da`` and the forward's ``mask = z > 0``.

    Exercise 2, step 3. The gradient at z = 0 is 0.
    """
    raise NotImplementedError("exercise 2: ReLU backward")


def conv2d_backward_loops(dout, x, w):
    """The warm-up: (dx, dw, db) of the valid convolution ``out = conv2d_forward(x, w, b)`` with loops.

    Exercise 3, steps 4.1, 4.4 and 4.6 (b). Loop over the output pixels (i, j) as 4.1's forward loop does
    (no im2col): output (i, j) read the window ``x[:, :, i:i+KH, j:j+KW]``. dout (N, F, Ho, Wo) ->
    dx (N, C, H, W), dw (F, C, KH, KW), db (F,).
    """
    raise NotImplementedError("exercise 3: conv backward with loops")


def col2im(dcols, xp_shape, KH, KW):
    """The adjoint of :func:`npsrcnn.lesson.im2col`: add every entry of dcols (C*KH*KW, N*Ho*Wo) back
    onto the pixel of xp (shape `xp_shape`, (N, C, Hp, Wp)) it was copied from. Returns dxp (xp_shape).

    Exercise 4, step 4.6 (a) and its figure. Row (c, kh, kw) and column (n, i, j) of dcols belong to
    ``xp[n, c, i + kh, j + kw]``; read im2col to see the order.
    """
    raise NotImplementedError("exercise 4: col2im")


def conv2d_backward(dout, cache):
    """Gradients (dx, dw, db) of :func:`npsrcnn.lesson.conv2d_forward`, given dout (N, F, Ho, Wo).

    Exercise 5 (padding="valid"), then exercise 7 (every padding). Steps 4.4 and 4.6 (a). ``cache`` is
    ``(x, w, padding, xp_shape, cols)``, with ``cols = im2col(xp)``. Use your col2im; once exercise 6
    is done, your unpad_grad turns the gradient of xp into the gradient of x.
    """
    raise NotImplementedError("exercise 5: conv backward (dW, db, dX)")


def unpad_grad(dxp, H, W, KH, KW, padding):
    """The gradient wrt x (N, C, H, W) from the gradient dxp wrt xp = pad(x, KH, KW, padding).

    Exercise 6, step 4.7 and its figure. "valid": nothing was padded. "zero": the padded zeros are
    constants. "replicate": the gradient of each edge-padded pixel adds onto the edge pixel it copied.
    ``pad_widths(KH, KW, padding)`` gives (top, bottom, left, right).
    """
    raise NotImplementedError("exercise 6: fold the padding's gradient back")


def dx_full_correlation(dout, w):
    """dX of the padded input, (N, C, Hp, Wp), as a *forward* convolution of dout (N, F, Ho, Wo).

    Exercise 8, steps 4.5 and 4.6 (c). One call to ``conv2d_forward``; no loops needed.
    """
    raise NotImplementedError("exercise 8: dX as a full correlation")


def srcnn_backward(dout, caches):
    """Gradients of every parameter of the lesson's network, from ``dout`` = dL/dout (N, 1, Ho, Wo).

    Exercise 9, step 5. ``caches`` is what :func:`npsrcnn.lesson.srcnn_forward` returned:
    ``(conv1, relu1, conv2, relu2, conv3)``. Use your conv2d_backward and relu_backward. Returns a dict
    keyed w1 b1 w2 b2 w3 b3.
    """
    raise NotImplementedError("exercise 9: the chain through the network")


def sgd_momentum_caffe(w, v, g, lr, momentum):
    """One step of Caffe's momentum SGD; returns the new (w, v).

    Exercise 10, step 6.
    """
    raise NotImplementedError("exercise 10: momentum SGD, Caffe's form")


# ---------------------------------------------------------------------------- optional: stride 2


def conv2d_forward_stride2(x, w, b):
    """Valid cross-correlation with stride 2: output (i, j) reads the window at (2i, 2j).

    Exercise 11 (optional), step 4.8. Returns (out, cache), out (N, F, Ho, Wo) with
    ``Ho = (H - KH) // 2 + 1``; the cache is yours to choose.
    """
    raise NotImplementedError("exercise 11: stride-2 forward")


def conv2d_backward_stride2(dout, cache):
    """Gradients (dx, dw, db) of :func:`conv2d_forward_stride2`. Exercise 11 (optional), step 4.8."""
    raise NotImplementedError("exercise 11: stride-2 backward")
