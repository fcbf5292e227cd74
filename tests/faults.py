"""Run ``npsrcnn.train`` with faults injected at exact moments: ``python tests/faults.py SPEC -- ARGS``.

SPEC is a comma-separated list of ``point:n:action``: on the n-th time the process reaches `point`,
send itself `action` (``kill``: SIGKILL, the unblockable kill -9; ``int``: SIGINT, a Ctrl-C). Points:

- ``step``: inside an optimizer update, after half of the parameters were updated;
- ``dataset``: inside an HDF5 write, before a dataset is created (the file is half-written);
- ``fsync``: after a temporary file is written, before it is flushed to disk;
- ``replace`` / ``replaced``: just before / just after a finished file is renamed onto its place;
- ``validate``, ``log``, ``plot``: at an epoch's end, before validation, the log, the plot;
- ``after``: ``after:SECONDS:kill`` fires from a timer thread that many seconds after the first
  optimizer update began: at whatever the process is doing then.

The hooks wrap library functions from the outside; npsrcnn itself has no test hooks.
"""
import os
import signal
import sys
import threading
from collections import Counter


def arm(spec):
    import h5py

    from npsrcnn import train
    from npsrcnn.training import loop, optim
    from npsrcnn.util import files

    sig = {"kill": signal.SIGKILL, "int": signal.SIGINT}
    plan, timers = {}, []
    for item in spec.split(","):
        point, n, action = item.split(":")
        if point == "after":
            timers.append(threading.Timer(float(n), os.kill, (os.getpid(), sig[action])))
        else:
            plan.setdefault(point, {})[int(n)] = sig[action]
    seen = Counter()

    def reach(point):
        seen[point] += 1
        while timers:
            timers.pop().start()
        s = plan.get(point, {}).get(seen[point])
        if s is not None:
            os.kill(os.getpid(), s)

    def wrap(owner, name, point, after=False):
        original = getattr(owner, name)

        def hooked(*args, **kwargs):
            if not after:
                reach(point)
            out = original(*args, **kwargs)
            if after:
                reach(point)
            return out

        setattr(owner, name, hooked)

    calls = Counter()

    def half_step(kernel):
        def update_one_parameter(*args):  # "step" fires after the third of the six parameters' updates
            if calls["kernel"] == 0:
                reach("first update")  # starts the timers
            kernel(*args)
            calls["kernel"] += 1
            if calls["kernel"] % 6 == 3:
                reach("step")

        return update_one_parameter

    optim._sgd_kernel, optim._adam_kernel = half_step(optim._sgd_kernel), half_step(optim._adam_kernel)
    wrap(h5py.Group, "create_dataset", "dataset")
    wrap(files.os, "fsync", "fsync")  # files' os is the os module: this wraps os.fsync for everyone
    wrap(files.os, "replace", "replace")
    wrap(files.os, "replace", "replaced", after=True)
    wrap(loop.Validator, "__call__", "validate")
    for module in (loop, train):  # the loop writes the log and plot each epoch, the command once more at the end
        wrap(module, "write_log", "log")
        wrap(module, "plot_history", "plot")


if __name__ == "__main__":
    spec, sep, *argv = sys.argv[1:]
    assert sep == "--", "usage: python tests/faults.py SPEC -- TRAIN-ARGS"
    arm(spec)
    from npsrcnn import train

    sys.exit(train.main(argv))
