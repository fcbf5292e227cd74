"""Centred finite differences for gradient checks (cs231n style), in float64.

An op ``out = f(x)`` is checked through the vector-Jacobian product: with a random ``dout``, the
scalar ``sum(f(x) * dout)`` has gradient ``dx`` wrt x, which is what ``op_backward(dout, cache)`` returns.
Walked through in ``docs/backprop/07-gradient-checking.md``; the tests use the same three functions.
"""
import numpy as np


def numerical_grad(scalar_fn, x, h=1e-6):
    """d scalar_fn() / dx by centred differences, perturbing `x` in place (restored afterwards)."""
    grad = np.zeros_like(x, dtype=np.float64)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        plus = scalar_fn()
        flat[i] = old - h
        minus = scalar_fn()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * h)
    return grad


def numerical_vjp(fn, x, dout, h=1e-6):
    """Gradient of ``sum(fn() * dout)`` wrt `x` (fn reads x), by centred differences."""
    return numerical_grad(lambda: float(np.sum(fn() * dout)), x, h)


def rel_error(a, b):
    """||a - b|| / (||a|| + ||b||): 0 for equal arrays, ~1 for unrelated ones."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    den = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if den == 0 else float(np.linalg.norm(a - b) / den)
