"""Thread settings: `--threads N` must start Numba's OpenMP pool with the passive wait policy.

Started with OpenMP's default (spinning) policy, idle Numba threads steal the cores from OpenBLAS's
GEMM threads; `train --threads 2` then ran the 9-1-5 step about 6x slower on 2 cores."""
import subprocess
import sys

from conftest import REPO

PROBE = """
import os
import numba.np.ufunc.parallel as par
seen = []
launch = par._launch_threads
def spy():
    seen.append(os.environ.get("OMP_WAIT_POLICY"))
    launch()
par._launch_threads = spy
from npsrcnn.util.threads import set_threads
set_threads(2)
import numba
print(seen[0] if seen else "not launched", numba.get_num_threads())
"""


def test_set_threads_starts_the_pool_with_the_passive_wait_policy():
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}  # no OMP_WAIT_POLICY inherited
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, cwd=REPO,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    policy, threads = out.stdout.split()
    assert policy == "PASSIVE" and int(threads) >= 1
