"""SGD with momentum and Adam: Numba updates against references and PyTorch, schedules, bit-identical resume."""
import math

import numpy as np
import pytest

from npsrcnn.model.srcnn import SRCNN
from npsrcnn.training.optim import (SGD, Adam, _adam_kernel, _sgd_kernel, adam_reference, lr_factor,
                                    paper_learning_rates, sgd_reference, train_step)


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
    rates = paper_learning_rates(1e-3, ratio=0.5)  # --lr-ratio: the biases and the last layer move together
    assert rates["w1"] == rates["w2"] == 1e-3 and {rates[k] for k in ("b1", "b2", "w3", "b3")} == {5e-4}


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


# ------------------------------------------------------------------------------------------------ Adam


def test_adam_kernel_matches_reference_in_float64():
    rng = np.random.default_rng(0)
    w, m, g = (rng.standard_normal(101) for _ in range(3))
    v = rng.random(101)
    t, lr, b1, b2, eps = 7, 1e-2, 0.9, 0.999, 1e-8
    want_w, want_m, want_v = adam_reference(w, m, v, g, lr, b1, b2, eps, t)
    _adam_kernel(w, m, v, g, lr / (1 - b1 ** t), math.sqrt(1 - b2 ** t), 1 - b1, b2, 1 - b2, eps)
    for got, want in ((w, want_w), (m, want_m), (v, want_v)):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 2e-6)])
def test_adam_matches_torch_optim_adam(dtype, rtol):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    shapes = dict(w1=(4, 1, 3, 3), b1=(4,), w3=(1, 4, 3, 3))
    params = {k: rng.standard_normal(s).astype(dtype) for k, s in shapes.items()}
    lrs = dict(w1=1e-3, b1=1e-3, w3=1e-4)
    leaves = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    ours = Adam(params, lrs, betas=(0.9, 0.99), eps=1e-6)
    theirs = torch.optim.Adam([{"params": [leaves[k]], "lr": lrs[k]} for k in shapes], betas=(0.9, 0.99), eps=1e-6)
    for _ in range(30):
        grads = {k: rng.standard_normal(s).astype(dtype) for k, s in shapes.items()}
        ours.step(grads)
        for k in shapes:
            leaves[k].grad = torch.tensor(grads[k])
        theirs.step()
    for k in shapes:
        np.testing.assert_allclose(params[k], leaves[k].detach().numpy(), rtol=rtol, atol=rtol * 1e-2, err_msg=k)
        state = theirs.state[leaves[k]]
        np.testing.assert_allclose(ours.m[k], state["exp_avg"].numpy(), rtol=rtol * 10, atol=1e-7, err_msg=k)
    assert ours.steps == 30


@pytest.mark.parametrize("make", [lambda p: SGD(p, paper_learning_rates(1e-2)),
                                  lambda p: Adam(p, paper_learning_rates(1e-3))])
def test_resume_from_state_dict_is_bit_identical_for_each_optimizer(make):
    x, y = batch()
    a = small_model(0)
    opt_a = make(a.params)
    for _ in range(3):
        train_step(a, opt_a, x, y)
    state = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in opt_a.state_dict().items()}
    saved = {k: v.copy() for k, v in a.params.items()}
    for _ in range(3):
        train_step(a, opt_a, x, y)
    b = small_model(1)
    for k in b.params:
        b.params[k][...] = saved[k]
    opt_b = make(b.params)
    opt_b.load_state_dict(state)
    assert opt_b.steps == 3
    for _ in range(3):
        train_step(b, opt_b, x, y)
    for k in a.params:
        np.testing.assert_array_equal(b.params[k], a.params[k])
    for name, buf in opt_a.buffers().items():
        np.testing.assert_array_equal(opt_b.buffers()[name], buf)


def test_adam_overfits_one_batch_faster_than_the_paper_sgd():
    x, y = batch()
    runs = {}
    for name, make in (("sgd", lambda p: SGD(p, paper_learning_rates(1e-2))),
                       ("adam", lambda p: Adam(p, paper_learning_rates(1e-2)))):
        model = small_model(0)
        opt = make(model.params)
        runs[name] = [train_step(model, opt, x, y) for _ in range(60)]
    assert runs["adam"][-1] < runs["adam"][0] / 10
    assert runs["adam"][-1] < runs["sgd"][-1]


# ------------------------------------------------------------------------------------------- schedules


def test_constant_and_step_schedules():
    assert [lr_factor(s, 100) for s in (0, 50, 99)] == [1.0, 1.0, 1.0]
    assert [lr_factor(s, 100, "step") for s in (0, 49, 50, 74, 75, 99)] == pytest.approx([1, 1, 0.1, 0.1, 0.01, 0.01])
    assert lr_factor(60, 100, "step", milestones=(0.3, 0.6), gamma=0.5) == pytest.approx(0.25)


def test_cosine_schedule_decays_from_one_to_the_floor():
    f = [lr_factor(s, 1000, "cosine", floor=0.01) for s in range(1001)]
    assert f[0] == 1.0 and f[500] == pytest.approx(0.505) and f[1000] == pytest.approx(0.01)
    assert all(a >= b for a, b in zip(f, f[1:]))  # monotone


def test_warmup_ramps_linearly_then_hands_over():
    f = [lr_factor(s, 100, "cosine", warmup=10) for s in range(12)]
    assert f[:3] == pytest.approx([0.1 * lr_factor(0, 100, "cosine"), 0.2 * lr_factor(1, 100, "cosine"),
                                   0.3 * lr_factor(2, 100, "cosine")])
    assert f[10] == lr_factor(10, 100, "cosine")


def test_unknown_schedule_is_an_error():
    with pytest.raises(ValueError, match="schedule must be one of"):
        lr_factor(0, 10, "exponential")
