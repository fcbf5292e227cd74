"""SGD with momentum: the Numba update against its reference, the paper's rates, bit-identical resume."""
import numpy as np
import pytest

from npsrcnn.model import SRCNN
from npsrcnn.optim import SGD, _sgd_kernel, paper_learning_rates, sgd_reference, train_step


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sgd_kernel_matches_reference(dtype):
    rng = np.random.default_rng(0)
    w, v, g = (rng.standard_normal(101).astype(dtype) for _ in range(3))
    want_w, want_v = sgd_reference(w, v, g, 1e-2, 0.9)
    _sgd_kernel(w, v, g, dtype(1e-2), dtype(0.9))
    np.testing.assert_allclose(w, want_w, rtol=1e-6)
    np.testing.assert_allclose(v, want_v, rtol=1e-6)


def test_momentum_accumulates_like_caffe():
    """v = 0.9 v - lr g; w += v: with a constant gradient 1 the velocity sums a geometric series."""
    p = {"w": np.zeros(3)}
    opt = SGD(p, {"w": 0.1}, momentum=0.9)
    for _ in range(3):
        opt.step({"w": np.ones(3)})
    np.testing.assert_allclose(opt.velocity["w"], -0.1 * (1 + 0.9 + 0.81))
    np.testing.assert_allclose(p["w"], -0.1 * (1 + 1.9 + 2.71))
    assert opt.steps == 3


def test_paper_learning_rates():
    assert paper_learning_rates() == dict(w1=1e-4, b1=1e-5, w2=1e-4, b2=1e-5, w3=1e-5, b3=1e-5)
    assert paper_learning_rates(1e-3)["w3"] == pytest.approx(1e-4)


def test_missing_learning_rate_is_an_error():
    with pytest.raises(ValueError, match="no learning rate"):
        SGD({"w1": np.zeros(2), "b1": np.zeros(1)}, {"w1": 0.1})


def batch(n=8, size=17, border=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 1, size, size)).astype(np.float32)
    return x, np.ascontiguousarray(x[:, :, border:-border, border:-border])


def small_model(seed):
    """A 5-1-3 net with a larger initialisation than the paper's, so that 100 steps fit one batch."""
    m = SRCNN(5, 1, 3, n1=16, n2=8, seed=seed)
    rng = np.random.default_rng(seed + 100)
    for k in ("w1", "w2", "w3"):
        w = m.params[k]
        w[...] = rng.normal(0, 0.9 / np.sqrt(w[0].size), w.shape)
    return m


@pytest.mark.parametrize("seed", [0, 1])
def test_overfit_one_batch(seed):
    """Training on one batch (the identity map on its centre) lowers the loss at least 10x."""
    model = small_model(seed)
    opt = SGD(model.params, paper_learning_rates(1e-2))
    x, y = batch(seed=seed)
    losses = [train_step(model, opt, x, y) for _ in range(100)]
    assert np.isfinite(losses).all()
    assert losses[-1] < losses[0] / 10


def test_resume_from_state_dict_is_bit_identical():
    x, y = batch()
    a = small_model(0)
    opt_a = SGD(a.params, paper_learning_rates(1e-2))
    for _ in range(3):
        train_step(a, opt_a, x, y)
    state = opt_a.state_dict()
    assert all(isinstance(v, (np.ndarray, int)) for v in state.values())
    saved = {k: v.copy() for k, v in a.params.items()}
    for _ in range(3):
        train_step(a, opt_a, x, y)
    b = small_model(1)  # different weights, overwritten by the checkpoint
    for k in b.params:
        b.params[k][...] = saved[k]
    opt_b = SGD(b.params, {k: 0.0 for k in b.params}, momentum=0.0)
    opt_b.load_state_dict({k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in state.items()})
    assert opt_b.lr == opt_a.lr and opt_b.momentum == 0.9 and opt_b.steps == 3
    for _ in range(3):
        train_step(b, opt_b, x, y)
    for k in a.params:
        np.testing.assert_array_equal(b.params[k], a.params[k])
        np.testing.assert_array_equal(opt_b.velocity[k], opt_a.velocity[k])
