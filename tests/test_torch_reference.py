"""Independent oracle: PyTorch's conv2d and autograd, in float64 (skipped when torch is not installed).

zero padding -> ``F.conv2d(padding=k//2)``; replicate -> ``F.pad(mode="replicate")`` then a valid conv.
"""
import numpy as np
import pytest

from npsrcnn import engine as L
from npsrcnn import lesson
from npsrcnn.model import composed
from npsrcnn.model.srcnn import SRCNN

torch = pytest.importorskip("torch")
F = torch.nn.functional


def torch_conv(x, w, b, padding):
    k = w.shape[-1] // 2
    if padding == "replicate":
        x = F.pad(x, (k, k, k, k), mode="replicate")
    return F.conv2d(x, w, b, padding=k if padding == "zero" else 0)


def leaf(a):
    return torch.tensor(np.asarray(a, np.float64), requires_grad=True)


# the engine, and the lesson's im2col + GEMM checked directly (not only through the engine)
IMPLEMENTATIONS = {"engine": (L.conv2d_forward, L.conv2d_backward),
                   "lesson": (lesson.conv2d_forward, lesson.conv2d_backward)}


@pytest.mark.parametrize("impl", sorted(IMPLEMENTATIONS))
@pytest.mark.parametrize("padding", ["valid", "zero", "replicate"])
@pytest.mark.parametrize("seed", range(3))
def test_conv_matches_torch(padding, seed, impl):
    forward, backward = IMPLEMENTATIONS[impl]
    rng = np.random.default_rng(seed)
    N, C, Fo, K = rng.integers(1, 4), rng.integers(1, 5), rng.integers(1, 5), int(rng.choice([1, 3, 5]))
    H, W = rng.integers(K, 10, size=2)
    x, w, b = rng.standard_normal((N, C, H, W)), rng.standard_normal((Fo, C, K, K)), rng.standard_normal(Fo)
    out, cache = forward(x, w, b, padding)
    tx, tw, tb = leaf(x), leaf(w), leaf(b)
    tout = torch_conv(tx, tw, tb, padding)
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    dout = rng.standard_normal(out.shape)
    tout.backward(torch.tensor(dout))
    for got, t in zip(backward(dout, cache), (tx, tw, tb)):
        np.testing.assert_allclose(got, t.grad.numpy(), rtol=1e-11, atol=1e-11)


def torch_srcnn(params, x, padding):
    h = x
    for i in (1, 2, 3):
        h = torch_conv(h, params[f"w{i}"], params[f"b{i}"], padding)
        h = torch.relu(h) if i < 3 else h
    return h


# the model's fused step, and the step composed from the public layer API with the ReLUs fused into
# the convs or as ops of their own; 36 patches: a sub-batch of 32 and one of 4 (their own images of
# the batch's arrays)
STEPS = {"model": lambda m, x, y: m.loss_and_grads(x, y),
         "composed": lambda m, x, y: composed.srcnn_loss_and_grads(m.params, x, y),
         "unfused": lambda m, x, y: composed.srcnn_loss_and_grads(m.params, x, y, fuse_relu=False)}


@pytest.mark.parametrize("step", sorted(STEPS))
@pytest.mark.parametrize("arch", [(9, 1, 5), (9, 5, 5)])
def test_srcnn_loss_and_grads_match_torch(arch, step):
    m = SRCNN(*arch, n1=16, n2=8, seed=0)
    rng = np.random.default_rng(1)
    m.params = {k: rng.normal(0, 0.1, v.shape) for k, v in m.params.items()}  # float64 engine
    x = rng.random((36, 1, 33, 33))
    y = rng.random((36, 1, 33 - 2 * m.border, 33 - 2 * m.border))
    loss, grads = STEPS[step](m, x, y)
    tp = {k: leaf(v) for k, v in m.params.items()}
    tout = torch_srcnn(tp, torch.tensor(x), "valid")
    tloss = ((tout - torch.tensor(y)) ** 2).sum() / (2 * x.shape[0])  # Caffe EuclideanLoss
    tloss.backward()
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    for k in grads:
        want = tp[k].grad.numpy()
        np.testing.assert_allclose(grads[k], want, rtol=1e-9, atol=1e-12 * np.abs(want).max())


@pytest.mark.parametrize("padding", ["replicate", "zero"])
@pytest.mark.parametrize("arch", [(9, 1, 5), (9, 5, 5)])
def test_srcnn_predict_matches_torch(arch, padding):
    m = SRCNN(*arch, n1=16, n2=8, seed=0)
    rng = np.random.default_rng(2)
    m.params = {k: rng.normal(0, 0.1, v.shape).astype(np.float32) for k, v in m.params.items()}
    x = rng.random((1, 1, 40, 29), np.float32)
    with torch.no_grad():
        ref = torch_srcnn({k: torch.tensor(v) for k, v in m.params.items()}, torch.tensor(x), padding).numpy()
    np.testing.assert_allclose(m.predict(x, padding, strip_rows=7), ref, rtol=1e-4, atol=1e-5)
