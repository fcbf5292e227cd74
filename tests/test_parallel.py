"""engine.parallel: whole sub-batches and strips on worker threads, results independent of the workers.

Each worker runs its tasks with one Numba thread and one BLAS thread, so a task computes exactly what
it computes alone with one thread: the comparisons below are bit for bit (same GEMM shapes, same thread
count; see ../shared/STYLE.md), except predict, whose strips (GEMM shapes) change with the workers.
"""
import threading

import numba
import numpy as np
import pytest
import references as refs
from threadpoolctl import threadpool_limits

from npsrcnn import engine
from npsrcnn.engine import parallel
from npsrcnn.model.srcnn import SRCNN


def _batch(m, n=40, side=21, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 1, side, side), dtype=np.float32)
    y = rng.random((n, 1, side - 2 * m.border, side - 2 * m.border), dtype=np.float32)
    return x, y


def _one_thread_everywhere():
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    return before


@pytest.mark.parametrize("arch", [(9, 1, 5), (9, 5, 5)])
def test_training_step_on_workers_is_bit_identical_to_one_thread(arch, monkeypatch):
    m = SRCNN(*arch, seed=3)
    m.MICRO_BATCH = 8  # 5 sub-batches for 2 or 3 workers
    x, y = _batch(m)
    before = _one_thread_everywhere()
    try:
        with threadpool_limits(1, user_api="blas"):
            loss1, g1 = m.loss_and_grads(x, y)
    finally:
        numba.set_num_threads(before)
    for n in (2, 3):
        monkeypatch.setattr(parallel, "workers", lambda n=n: n)
        loss, g = m.loss_and_grads(x, y)
        assert loss == loss1
        for k in g1:
            assert np.array_equal(g[k], g1[k]), (n, k)


def test_workers_get_their_own_buffers_and_one_numba_thread(monkeypatch):
    seen = []

    def task(i):
        seen.append((threading.get_ident(), numba.get_num_threads()))
        return i * i

    assert parallel.run(task, range(9), n_workers=2) == [i * i for i in range(9)]
    assert {t for _, t in seen} == {1}
    assert threading.get_ident() not in {ident for ident, _ in seen}
    m = SRCNN(9, 5, 5, seed=0)
    m.MICRO_BATCH = 4
    monkeypatch.setattr(parallel, "workers", lambda: 2)
    m.loss_and_grads(*_batch(m, n=16))
    idents = {ident for (purpose, ident) in m._workspaces}
    assert len(idents) >= 1 and threading.get_ident() not in idents


def test_a_failing_task_raises_in_the_caller():
    def task(i):
        if i == 3:
            raise ValueError("task 3 failed")
        return i

    with pytest.raises(ValueError, match="task 3 failed"):
        parallel.run(task, range(6), n_workers=2)


def test_blas_is_capped_during_a_parallel_call_and_restored_after():
    from threadpoolctl import threadpool_info

    def blas_threads():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    outside = blas_threads()
    inside = parallel.run(lambda _: blas_threads(), range(2), n_workers=2)
    assert inside == [[1] * len(outside)] * 2
    assert blas_threads() == outside


def test_a_blas_loaded_after_the_first_parallel_call_is_capped_too(monkeypatch):
    """An import may load another BLAS (SciPy's OpenBLAS); the controller is made again after imports,
    so it caps that one as well (a controller made once, before it, did not: test order mattered)."""
    import sys
    import types

    first = parallel._blas_controller()
    assert parallel._blas_controller() is first  # nothing imported: the same controller
    monkeypatch.setitem(sys.modules, "npsrcnn_test_fake_import", types.ModuleType("npsrcnn_test_fake_import"))
    again = parallel._blas_controller()
    assert again is not first and parallel._blas_controller() is again


def test_without_threadpoolctl_there_is_one_worker(monkeypatch):
    monkeypatch.setattr(parallel, "_blas", False)
    assert parallel.workers() == 1
    assert parallel.run(lambda i: i + 1, range(3)) == [1, 2, 3]


def test_predict_on_workers_equals_the_whole_image(monkeypatch):
    m = SRCNN(9, 5, 5, seed=2)
    img = np.random.default_rng(1).random((70, 45), dtype=np.float32)
    whole = m.predict(img, strip_rows=10**6)
    monkeypatch.setattr(parallel, "workers", lambda: 2)
    for rows in (None, 5, 16):
        np.testing.assert_allclose(m.predict(img, strip_rows=rows), whole, rtol=1e-5, atol=1e-6)
    batch = np.stack([img, img[::-1]])[:, None]
    out = m.predict(batch)
    np.testing.assert_allclose(out[1, 0], m.predict(img[::-1].copy(), strip_rows=10**6), rtol=1e-5, atol=1e-6)
    assert engine.parallel is parallel


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("padding", ["valid", "replicate"])
@pytest.mark.parametrize("k", [1, 5])
def test_public_conv_splits_a_batch_into_sub_batches_on_workers(padding, k, relu, monkeypatch):
    from npsrcnn import engine as L
    from npsrcnn.engine import conv

    monkeypatch.setattr(parallel, "workers", lambda: 2)
    monkeypatch.setattr(conv, "SUB_BATCH", 4)  # 11 images: sub-batches of 4, 4, 3
    rng = np.random.default_rng(k)
    x, w, b = rng.standard_normal((11, 6, 9, 10)), rng.standard_normal((5, 6, k, k)), rng.standard_normal(5)
    out, cache = L.conv2d_forward(x, w, b, padding, relu=relu)
    assert len(cache["parts"]) == 3
    ref = refs.conv2d_forward_reference(x, w, b, padding)
    np.testing.assert_allclose(out, np.maximum(ref, 0) if relu else ref, rtol=1e-10, atol=1e-10)
    dout = rng.standard_normal(out.shape)
    before = dout.copy()
    dx, dw, db = L.conv2d_backward(dout, cache)
    assert np.array_equal(dout, before)  # the ReLU's mask went into a buffer of its own
    want = refs.conv2d_backward_reference(dout * (ref > 0) if relu else dout, x, w, padding)
    for got, ref in zip((dx, dw, db), want):
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)
    assert L.conv2d_backward(dout, cache, need_dx=False)[0] is None


def test_layers_pass_channel_major_views_along_without_copies(monkeypatch):
    """conv2d_forward returns an NCHW view of its channel-major output; ReLU and the next conv take it
    as it is (the composed step of the public API copies nothing between layers)."""
    from npsrcnn import engine as L
    from npsrcnn.engine import conv

    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 1, 12, 12)).astype(np.float32)
    w1, b1 = rng.standard_normal((6, 1, 3, 3)).astype(np.float32), np.zeros(6, np.float32)
    w2, b2 = rng.standard_normal((4, 6, 3, 3)).astype(np.float32), np.zeros(4, np.float32)
    z1, _ = L.conv2d_forward(x, w1, b1)
    assert not z1.flags.c_contiguous and z1.transpose(1, 0, 2, 3).flags.c_contiguous
    a1, relu1 = L.relu_forward(z1)
    assert a1.strides == z1.strides and np.array_equal(a1, np.maximum(z1, 0))
    assert np.shares_memory(L.to_cm(a1), a1)  # the next layer's channel-major input is a1 itself
    z2, c2 = L.conv2d_forward(a1, w2, b2)
    np.testing.assert_allclose(z2, L.conv2d_forward(np.ascontiguousarray(a1), w2, b2)[0], rtol=1e-6, atol=1e-6)
    with monkeypatch.context() as mp:  # sub-batches read their images of a1 where they lie
        mp.setattr(conv, "SUB_BATCH", 2)
        parts = L.conv2d_forward(a1, w2, b2)[1]["parts"]
        assert len(parts) == 2 and all(p["x"] is parts[0]["x"] and np.shares_memory(p["x"], a1) for p in parts)
    dz2 = rng.standard_normal(z2.shape).astype(np.float32)
    da1 = L.conv2d_backward(dz2, c2)[0]
    dz1 = L.relu_backward(da1, relu1)
    assert np.array_equal(dz1, np.ascontiguousarray(da1) * (a1 > 0))
    # any layout in, the same values out
    xt = np.ascontiguousarray(z1.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    assert np.array_equal(L.relu_forward(xt)[0], np.maximum(z1, 0))
    assert np.array_equal(L.relu_backward(xt, relu1), np.ascontiguousarray(z1) * (a1 > 0))


def test_workers_take_the_callers_floating_point_error_settings():
    """np.errstate is per thread: training silences overflow warnings around a diverging step, and the
    workers that run its sub-batches must do the same (and raise where the caller asked to raise)."""
    import warnings

    big = np.full((4, 4), 1e30, np.float32)
    with np.errstate(over="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error")
        out = parallel.run(lambda _: big * big, range(3), n_workers=2)
    assert all(np.isinf(o).all() for o in out)
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        parallel.run(lambda _: big * big, range(3), n_workers=2)


@pytest.mark.parametrize("arch", [(9, 1, 5), (9, 5, 5)])
def test_predict_on_workers_is_bit_identical_to_one_thread(arch, monkeypatch):
    """predict's strips do not depend on the thread count, and each runs at one thread on a worker."""
    m = SRCNN(*arch, seed=4)
    img = np.random.default_rng(2).random((150, 90), dtype=np.float32)
    before = _one_thread_everywhere()
    try:
        with threadpool_limits(1, user_api="blas"):
            alone = m.predict(img)
    finally:
        numba.set_num_threads(before)
    monkeypatch.setattr(parallel, "workers", lambda: 2)
    assert np.array_equal(m.predict(img), alone)
