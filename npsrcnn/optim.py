"""SGD with momentum and per-parameter learning rates, as the paper's Caffe solver.

Caffe's update: ``v = momentum * v - lr * g``, then ``w += v`` (no weight decay in SRCNN). The paper's
recipe (:func:`paper_learning_rates`): lr 1e-4 for w1 and w2, 1e-5 for the biases and the last layer,
momentum 0.9, batch 128, with the Caffe EuclideanLoss reduction of :func:`npsrcnn.layers.mse_loss`.
"""
import numpy as np

from ._jit import njit


def paper_learning_rates(lr=1e-4):
    """Per-parameter learning rates of the paper: `lr` for w1 and w2, lr / 10 for b1, b2, w3, b3."""
    return dict(w1=lr, b1=lr / 10, w2=lr, b2=lr / 10, w3=lr / 10, b3=lr / 10)


class SGD:
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

    def __init__(self, params, lr, momentum=0.9):
        missing = set(params) - set(lr)
        if missing:
            raise ValueError(f"no learning rate for {sorted(missing)}")
        self.params = params
        self.lr = {k: float(lr[k]) for k in params}
        self.momentum = float(momentum)
        self.velocity = {k: np.zeros_like(p) for k, p in params.items()}
        self.steps = 0

    def step(self, grads):
        """Apply one update with `grads` (dict keyed like params)."""
        for k, p in self.params.items():
            g = np.ascontiguousarray(grads[k], dtype=p.dtype)
            if g.shape != p.shape:
                raise ValueError(f"gradient {k} has shape {g.shape}, parameter has {p.shape}")
            if not p.flags.c_contiguous:
                raise ValueError(f"parameter {k} must be C-contiguous to be updated in place")
            t = p.dtype.type
            _sgd_kernel(p.reshape(-1), self.velocity[k].reshape(-1), g.reshape(-1), t(self.lr[k]), t(self.momentum))
        self.steps += 1

    def state_dict(self):
        """Velocities, learning rates, momentum and step count as plain arrays and ints (HDF5-ready).

        Keys: ``velocity.<name>`` (ndarray like the parameter), ``lr.<name>`` (0-d float64 array),
        ``momentum`` (0-d float64 array), ``steps`` (int).
        """
        d = {f"velocity.{k}": v.copy() for k, v in self.velocity.items()}
        d.update({f"lr.{k}": np.array(v, np.float64) for k, v in self.lr.items()})
        d["momentum"] = np.array(self.momentum, np.float64)
        d["steps"] = int(self.steps)
        return d

    def load_state_dict(self, d):
        """Restore what :meth:`state_dict` returned (values may be arrays, numpy scalars or numbers)."""
        for k, v in self.velocity.items():
            src = np.asarray(d[f"velocity.{k}"])
            if src.shape != v.shape:
                raise ValueError(f"velocity.{k} has shape {src.shape}, parameter {k} has {v.shape}")
            np.copyto(v, src, casting="same_kind")
            self.lr[k] = float(np.asarray(d[f"lr.{k}"]))
        self.momentum = float(np.asarray(d["momentum"]))
        self.steps = int(np.asarray(d["steps"]))


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
    """One SGD step on a batch (forward, backward, update); returns the loss before the update."""
    loss, grads = model.loss_and_grads(x, y, reduction=reduction)
    optimizer.step(grads)
    return loss
