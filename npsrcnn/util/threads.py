"""Thread counts for Numba's kernels and NumPy's BLAS, set once for a process."""
import os
import sys


def set_threads(n):
    """Use `n` threads in Numba kernels and in BLAS (NumPy's GEMM), for reproducible timings.

    Environment variables only take effect before NumPy loads its BLAS, so they are set for child
    processes and, if NumPy is already imported, threadpoolctl resizes the pool. With n > 1 the
    engine gives whole sub-batches and strips to n worker threads (npsrcnn.engine.parallel).
    """
    for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    if "numpy" in sys.modules:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    from . import jit  # noqa: F401  sets OMP_WAIT_POLICY=PASSIVE before the next line starts OpenMP's threads

    import numba  # isort: skip

    # set_num_threads launches Numba's thread pool. Started before jit set the wait policy, idle OpenMP
    # threads spin and steal the cores from OpenBLAS: `train --threads 2` ran the 9-1-5 step at 228 ms
    # instead of 37 ms (2 cores; tests/test_threads.py checks the order).
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
