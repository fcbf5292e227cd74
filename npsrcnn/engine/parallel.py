"""Coarse-grained parallelism: whole sub-batches (training) or strips (inference), one per thread.

Inside one convolution the engine's kernels and NumPy's GEMMs each split their loops over all threads,
and every such parallel region ends in a barrier that waits for its slowest thread. A training step of
9-5-5 runs hundreds of them. On a quiet machine that costs little; when another process keeps a core
busy, the thread that shares that core is descheduled for whole time slices and every barrier waits
for it: 2 threads then ran the 9-1-5 step at ~60% of the speed of 1 thread (docs/engine.md).

Here each worker thread instead takes a whole task (32 training patches through forward and backward,
or a strip of an image through all three layers) and runs it with **one** Numba thread and **one**
BLAS thread, from a shared queue: a worker on a busy core simply finishes fewer tasks. Tasks are
independent (own buffers, disjoint outputs) and their results are combined in task order, so the
result does not depend on which worker ran what, nor on the number of workers: ``--threads 1`` and
``--threads 2`` train bit-identical networks.

:func:`workers` says how many workers a call gets (``numba.get_num_threads()`` of the calling thread;
1 when the threading layer cannot launch kernels from two threads at once), :func:`run` runs the
tasks. BLAS threads are capped with threadpoolctl for the duration of a parallel call.
"""
import contextlib
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

_lock = threading.Lock()
_pools = {}
_blas = None
_blas_modules = 0  # len(sys.modules) when _blas was made


def workers():
    """Worker threads for the calling thread's parallel work: its Numba thread count, or 1 where
    Numba's threading layer is not thread-safe (workqueue) or threadpoolctl cannot cap BLAS."""
    n = numba.get_num_threads()
    if n <= 1 or _threading_layer() == "workqueue" or _blas_controller() is None:
        return 1
    return n


def run(fn, tasks, n_workers=None):
    """``[fn(t) for t in tasks]``, the tasks spread over worker threads; results in task order.

    With one worker the tasks run here, in order, with the caller's thread settings. Otherwise each of
    min(workers, tasks) worker threads runs tasks with one Numba thread, and BLAS is capped at one
    thread until all are done: even a lone task then computes exactly what it computes at one thread,
    so results never depend on the thread count. `fn` must release the GIL for most of its time (Numba
    kernels are compiled ``nogil``; NumPy's GEMMs release it) and must not share writable buffers
    between tasks.
    """
    tasks = list(tasks)
    n = workers() if n_workers is None else n_workers
    if n <= 1 or not tasks:
        return [fn(t) for t in tasks]
    err = np.geterr()  # np.errstate is per thread: the workers take the caller's settings

    def call(task):
        with np.errstate(**err):
            return fn(task)

    blas = _blas_controller()
    with blas.limit(limits=1, user_api="blas") if blas is not None else contextlib.nullcontext():
        return list(_pool(min(n, len(tasks))).map(call, tasks))


def _pool(n):
    with _lock:
        pool = _pools.get(n)
        if pool is None:
            pool = _pools[n] = ThreadPoolExecutor(n, thread_name_prefix="npsrcnn", initializer=_one_thread)
        return pool


def _one_thread():
    numba.set_num_threads(1)  # thread-local: the worker's kernels run serially


def _threading_layer():
    try:
        return numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet: run a tiny one so that the layer is chosen
        from .pointwise import relu_forward

        relu_forward(np.zeros((1, 1, 1, 1), np.float32))
        return numba.threading_layer()


def _blas_controller():
    """threadpoolctl's controller of the BLAS libraries loaded in this process (None without it).

    Made again when modules were imported since the last one: an import can load another BLAS (SciPy
    brings its own OpenBLAS), which a controller made before it would not cap. Counting modules is
    cheap; making a controller scans the loaded libraries (~0.5 ms).
    """
    global _blas, _blas_modules
    if _blas is None or (_blas and len(sys.modules) != _blas_modules):
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _blas = False
        else:
            _blas = ThreadpoolController()
            _blas_modules = len(sys.modules)
    return _blas or None
