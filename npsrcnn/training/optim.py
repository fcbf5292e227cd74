"""Optimizers with per-parameter learning rates: momentum SGD (the paper's Caffe solver) and Adam.

Caffe's update: ``v = momentum * v - lr * g``, then ``w += v`` (no weight decay in SRCNN). The paper's
recipe (:func:`paper_learning_rates`): lr 1e-4 for w1 and w2, 1e-5 for the biases and the last layer,
momentum 0.9, batch 128, with the Caffe EuclideanLoss reduction of :func:`npsrcnn.engine.mse_loss`.
:class:`Adam` is Kingma & Ba (2015) as ``torch.optim.Adam`` computes it. :func:`lr_factor` gives the
learning-rate schedules (constant, step, cosine, with linear warm-up) as a pure function of the step,
so a resumed run recomputes the same rates.
"""
import math

import numpy as np

from ..util.jit import njit


def paper_learning_rates(lr=1e-4, ratio=0.1):
    """Per-parameter learning rates of the paper: `lr` for w1 and w2, ``lr * ratio`` for b1, b2, w3, b3.

    The paper's ratio is 0.1 (``lr / 10``, computed as a division so that rates match earlier runs).
    """
    small = lr / 10 if ratio == 0.1 else lr * ratio
    return dict(w1=lr, b1=small, w2=lr, b2=small, w3=small, b3=small)


class _Optimizer:
    """What SGD and Adam share: per-parameter rates, named state buffers, an HDF5-ready state dict.

    ``state_dict()`` holds ``<buffer name>`` arrays (:meth:`buffers`), ``lr.<param>`` (0-d float64),
    one 0-d float64 per name in ``HYPER``, and ``steps`` (int); ``load_state_dict`` restores it, so a
    resumed run continues bit-identically.
    """

    HYPER = ()

    def state_dict(self):
        d = {k: a.copy() for k, a in self.buffers().items()}
        d.update({f"lr.{k}": np.array(v, np.float64) for k, v in self.lr.items()})
        d.update({h: np.array(getattr(self, h), np.float64) for h in self.HYPER})
        d["steps"] = int(self.steps)
        return d

    def load_state_dict(self, d):
        """Restore what :meth:`state_dict` returned (values may be arrays, numpy scalars or numbers)."""
        for name, a in self.buffers().items():
            _copy_state(a, d[name], name)
        for k in self.lr:
            self.lr[k] = float(np.asarray(d[f"lr.{k}"]))
        for h in self.HYPER:
            setattr(self, h, float(np.asarray(d[h])))
        self.steps = int(np.asarray(d["steps"]))


class SGD(_Optimizer):
    """Momentum SGD updating a dict of parameter arrays in place.

    Parameters
    ----------
    params : dict of ndarray
        Updated in place by :meth:`step` (e.g. ``model.params``).
    lr : dict of float
        Learning rate per parameter, keyed like `params`.
    momentum : float

    Notes
    -----
    ``v = momentum * v - lr * g; w += v``, computed in the parameter's dtype (Caffe's SGDSolver with
    the sign of its history flipped). A run resumed with :meth:`load_state_dict` continues bit-identically.
    """

    HYPER = ("momentum",)

    def __init__(self, params, lr, momentum=0.9):
        missing = set(params) - set(lr)
        if missing:
            raise ValueError(f"no learning rate for {sorted(missing)}")
        self.params = params
        self.lr = {k: float(lr[k]) for k in params}
        self.momentum = float(momentum)
        self.velocity = {k: np.zeros_like(p) for k, p in params.items()}
        self.steps = 0

    def buffers(self):
        """The state arrays by name (``velocity.<param>``), not copied."""
        return {f"velocity.{k}": v for k, v in self.velocity.items()}

    def step(self, grads):
        """Apply one update with `grads` (dict keyed like params)."""
        for k, p in self.params.items():
            g = _checked_grad(k, p, grads[k])
            t = p.dtype.type
            _sgd_kernel(p.reshape(-1), self.velocity[k].reshape(-1), g.reshape(-1), t(self.lr[k]), t(self.momentum))
        self.steps += 1


class Adam(_Optimizer):
    """Adam (Kingma & Ba, 2015) updating a dict of parameter arrays in place, as ``torch.optim.Adam``.

    Parameters
    ----------
    params : dict of ndarray
        Updated in place by :meth:`step`.
    lr : dict of float
        Learning rate per parameter, keyed like `params`.
    betas : (float, float)
    eps : float

    Notes
    -----
    ``m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``
    with t the 1-based step; the bias corrections are computed in float64, the update in the
    parameter's dtype. A run resumed with :meth:`load_state_dict` continues bit-identically.
    """

    HYPER = ("beta1", "beta2", "eps")

    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-8):
        missing = set(params) - set(lr)
        if missing:
            raise ValueError(f"no learning rate for {sorted(missing)}")
        self.params = params
        self.lr = {k: float(lr[k]) for k in params}
        self.beta1, self.beta2 = (float(b) for b in betas)
        self.eps = float(eps)
        self.m = {k: np.zeros_like(p) for k, p in params.items()}
        self.v = {k: np.zeros_like(p) for k, p in params.items()}
        self.steps = 0

    def buffers(self):
        """The state arrays by name (``m.<param>``, ``v.<param>``), not copied."""
        out = {f"m.{k}": a for k, a in self.m.items()}
        out.update({f"v.{k}": a for k, a in self.v.items()})
        return out

    def step(self, grads):
        """Apply one update with `grads` (dict keyed like params)."""
        self.steps += 1
        c1 = 1.0 - self.beta1 ** self.steps
        c2 = math.sqrt(1.0 - self.beta2 ** self.steps)
        for k, p in self.params.items():
            g = _checked_grad(k, p, grads[k])
            t = p.dtype.type
            _adam_kernel(p.reshape(-1), self.m[k].reshape(-1), self.v[k].reshape(-1), g.reshape(-1),
                         t(self.lr[k] / c1), t(c2), t(1 - self.beta1), t(self.beta2), t(1 - self.beta2), t(self.eps))


def adam_reference(w, m, v, g, lr, beta1, beta2, eps, t):
    """Readable twin of :func:`_adam_kernel` at 1-based step `t` (returns new arrays, float64 maths)."""
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


@njit
def _adam_kernel(w, m, v, g, step_size, c2, a1, beta2, a2, eps):
    # a1 = 1 - beta1, a2 = 1 - beta2, step_size = lr / (1 - beta1^t), c2 = sqrt(1 - beta2^t), all in
    # w's dtype (an int literal here would promote the loop to float64): PyTorch's order of operations
    for i in range(w.size):
        m[i] += a1 * (g[i] - m[i])  # = beta1 m + (1 - beta1) g, as torch's lerp_
        v[i] = v[i] * beta2 + a2 * g[i] * g[i]
        w[i] -= step_size * m[i] / (np.sqrt(v[i]) / c2 + eps)


def _checked_grad(k, p, g):
    g = np.ascontiguousarray(g, dtype=p.dtype)
    if g.shape != p.shape:
        raise ValueError(f"gradient {k} has shape {g.shape}, parameter has {p.shape}")
    if not p.flags.c_contiguous:
        raise ValueError(f"parameter {k} must be C-contiguous to be updated in place")
    return g


def _copy_state(dst, src, name):
    src = np.asarray(src)
    if src.shape != dst.shape:
        raise ValueError(f"{name} has shape {src.shape}, its parameter has {dst.shape}")
    np.copyto(dst, src, casting="same_kind")


SCHEDULES = ("constant", "step", "cosine")


def lr_factor(step, total, schedule="constant", warmup=0, milestones=(0.5, 0.75), gamma=0.1, floor=0.0):
    """Multiplier of the base learning rates for the update after `step` finished steps (0-based).

    Parameters
    ----------
    step, total : int
        Steps done so far and the run's total.
    schedule : {"constant", "step", "cosine"}
        step: times `gamma` at each fraction of `total` in `milestones`; cosine: from 1 down to `floor`,
        ``floor + (1 - floor) (1 + cos(pi step / total)) / 2``.
    warmup : int
        Linear ramp from 1/warmup to 1 over the first `warmup` steps (multiplies the schedule).
    """
    if schedule == "constant":
        f = 1.0
    elif schedule == "step":
        f = gamma ** sum(step >= m * total for m in milestones)
    elif schedule == "cosine":
        f = floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * min(step, total) / max(total, 1)))
    else:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if warmup and step < warmup:
        f *= (step + 1) / warmup
    return f


def sgd_reference(w, v, g, lr, momentum):
    """Readable twin of :func:`_sgd_kernel` (returns new arrays)."""
    t = w.dtype.type
    v = t(momentum) * v - t(lr) * g
    return w + v, v


@njit
def _sgd_kernel(w, v, g, lr, momentum):
    # serial: SRCNN has 8k-57k parameters, below the size where threads pay for themselves
    for i in range(w.size):
        v[i] = momentum * v[i] - lr * g[i]
        w[i] += v[i]


def train_step(model, optimizer, x, y, reduction="caffe"):
    """One optimizer step on a batch (forward, backward, update); returns the loss before the update."""
    loss, grads = model.loss_and_grads(x, y, reduction=reduction)
    optimizer.step(grads)
    return loss
