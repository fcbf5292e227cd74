"""Exercises: write the backward passes of the lesson yourself. The tests are the grader.

Each function below has its forward partner in :mod:`npsrcnn.lesson` (import it and read it) and a
derivation in docs/backprop/. Replace each ``raise NotImplementedError`` with your code, then run

    python -m pytest exercises/ -q

Start with the first test that fails: the order below is the order of the walkthrough. The grader checks
every gradient against centred finite differences in float64 (step 7), so a test that passes means your
gradient is right, not only that it agrees with ours. Grade another copy of this file with
``NPSRCNN_EXERCISES=path/to/your_copy.py python -m pytest exercises/``.
"""
import numpy as np  # noqa: F401  (you will want it)

from npsrcnn.lesson import col2im, conv2d_forward, im2col, pad, relu_forward  # noqa: F401  (forward partners)


def mse_grad(pred, y):
    """Gradient of Caffe's loss ``sum((pred - y)**2) / (2 N)`` wrt pred (N is ``pred.shape[0]``).

    Step 2. Returns an array shaped like pred.
    """
    raise NotImplementedError("exercise 1: the loss's gradient")


def relu_backward(da, mask):
    """Gradient of ``a = max(0, z)`` wrt z, from ``da = dL/da`` and the forward's ``mask = z > 0``.

    Step 3. The gradient at z = 0 is 0.
    """
    raise NotImplementedError("exercise 2: ReLU backward")


def col2im_by_hand(dcols, xp_shape, KH, KW):
    """The adjoint of :func:`npsrcnn.lesson.im2col`: add every entry of dcols (C*KH*KW, N*Ho*Wo) back
    onto the pixel of xp (shape `xp_shape`, (N, C, Hp, Wp)) it was copied from.

    Step 4.4 (a). Hint: loop over the taps (kh, kw), as im2col does.
    """
    raise NotImplementedError("exercise 3: col2im")


def conv2d_backward(dout, cache):
    """Gradients (dx, dw, db) of :func:`npsrcnn.lesson.conv2d_forward`, given dout (N, F, Ho, Wo).

    Step 4.3 and 4.4. ``cache`` is ``(x, w, padding, xp_shape, cols)``. For now, use ``padding="valid"``
    only (so xp is x): exercise 5 does the padding. Use the forward's ``cols`` and your col2im.
    """
    raise NotImplementedError("exercise 4: conv backward (dW, db, dX)")


def unpad_grad(dxp, H, W, KH, KW, padding):
    """The gradient wrt x (N, C, H, W) from the gradient wrt xp = pad(x, KH, KW, padding).

    Step 4.5. "valid": nothing was padded. "zero": crop. "replicate": the gradient of each edge-padded
    pixel adds onto the edge pixel it copied. ``npsrcnn.lesson.conv.pad_widths`` gives the widths.
    """
    raise NotImplementedError("exercise 5: fold the padding's gradient back")


def dx_full_correlation(dout, w):
    """dX of the padded input as a *forward* convolution of the zero-padded dout with flipped,
    channel-swapped kernels. Returns (N, C, Hp, Wp).

    Step 4.4 (c). Use :func:`npsrcnn.lesson.conv2d_forward`; no loops needed.
    """
    raise NotImplementedError("exercise 6: dX as a full correlation")


def srcnn_backward(dout, caches):
    """Gradients of every parameter of the lesson's network, from ``dout`` = dL/dout (N, 1, Ho, Wo).

    Step 5. ``caches`` is what :func:`npsrcnn.lesson.srcnn_forward` returned:
    ``(conv1, relu1, conv2, relu2, conv3)``. Use :func:`npsrcnn.lesson.conv2d_backward` (or yours) and
    your relu_backward. Returns a dict keyed w1 b1 w2 b2 w3 b3.
    """
    raise NotImplementedError("exercise 7: the chain through the network")


def sgd_momentum_caffe(w, v, g, lr, momentum):
    """One step of Caffe's momentum SGD; returns the new (w, v).

    Step 6.
    """
    raise NotImplementedError("exercise 8: momentum SGD, Caffe's form")
