"""Numba compiler options, defined once for every kernel in npsrcnn.

Every kernel module does ``from ._jit import njit`` (or ``njit_parallel``) instead of calling
``numba.njit`` with its own flags, so a flag is changed, measured and justified in one place.
"""
import functools
import os

# Numba's parallel kernels run on OpenMP threads and NumPy's GEMMs on OpenBLAS's own threads. By
# default idle OpenMP threads spin for a while after each kernel, stealing the cores from the GEMM
# that follows. PASSIVE makes them sleep at once. Measured on the 9-1-5 training step (batch 128,
# 2 cores, 2 threads each, alternating runs): 67-100 ms -> 43-52 ms per step; 512x512 inference
# 99-104 ms -> 80-83 ms. Set before the OpenMP runtime loads (Numba loads it at the first parallel
# call); a value the user already set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402

# nopython: a kernel that silently fell back to object mode would be 100x slower; fail instead.
# cache:    the machine code is written to __pycache__, so JIT compilation (seconds per kernel) is
#           paid once per install, not once per process. Safe here: kernels read no mutable globals.
# nogil:    compiled code releases the GIL, so a data-loading thread can run beside a kernel.
OPTIONS = dict(nopython=True, cache=True, nogil=True)

# numba.jit, not numba.njit: njit already implies nopython and warns "nopython is set for njit and is
# ignored" on every decorated kernel (numba 0.68), which buried real warnings in the test output.
njit = functools.partial(numba.jit, **OPTIONS)

# parallel: only for kernels whose outer prange loop writes independent outputs.
njit_parallel = functools.partial(numba.jit, parallel=True, **OPTIONS)

# fastmath={"reassoc"}: only for kernels that sum many floats. Without it LLVM must add one value at a
# time in order (a 4-cycle dependency chain per element); with it the sum vectorises. Measured on the
# ReLU-backward + bias-gradient kernel (64 x 80,000 float32, 1 thread): 34 ms -> 5 ms. The sums are
# accumulated in float64, so the changed order moves results by far less than float32 rounding.
njit_parallel_sum = functools.partial(numba.jit, parallel=True, fastmath={"reassoc"}, **OPTIONS)
