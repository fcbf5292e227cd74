"""Training checkpoints: weights, optimizer state and progress in one atomic HDF5 file that always resumes."""
import json

from ..util.errors import UserError
from ..util.files import atomic_hdf5

CHECKPOINT, MODEL = "checkpoint.h5", "model.h5"  # the run folder's checkpoint and final weights


def first_nonfinite(model, opt):
    """Name of the first parameter or optimizer buffer holding an inf or a NaN, else None."""
    import numpy as np

    arrays = dict(model.params)
    arrays.update(opt.buffers())
    return next((k for k, a in arrays.items() if not np.isfinite(a).all()), None)


def save_checkpoint(path, model, opt, state, config):
    """Weights (loadable by SRCNN.load), optimizer state and progress, in one atomic HDF5 write.

    Refuses (ValueError) a state holding an inf or a NaN: a checkpoint on disk always loads and resumes.
    """
    bad = first_nonfinite(model, opt)
    if bad is not None:
        raise ValueError(f"refusing to checkpoint: {bad} is not finite")
    with atomic_hdf5(path) as f:  # built in memory: a full disk is one clean error, the old checkpoint kept
        model.write_to(f, config=config)
        g = f.create_group("optimizer")
        for k, v in opt.state_dict().items():
            g.create_dataset(k, data=v)
        f.attrs["progress"] = json.dumps(state, sort_keys=True)


def load_checkpoint(path):
    """(model, optimizer state dict, progress dict, config) from :func:`save_checkpoint`; UserError if bad."""
    import h5py
    import numpy as np

    from ..model.srcnn import SRCNN

    model = SRCNN.load(path)
    try:
        with h5py.File(path, "r") as f:
            if "optimizer" not in f or "progress" not in f.attrs:
                raise UserError(f"{path}: a model file, not a training checkpoint")
            opt_state = {k: np.asarray(v[()]) for k, v in f["optimizer"].items()}
            state = json.loads(f.attrs["progress"])
    except OSError as exc:
        raise UserError(f"{path}: unreadable checkpoint ({exc})") from None
    return model, opt_state, state, model.config


def saved_step(path):
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return json.loads(f.attrs["progress"])["step"]
    except (OSError, KeyError, ValueError):
        return "?"


def read_run_record(path):
    """The run's record (its settings, data sources, ...) from a checkpoint, without loading the weights."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if "progress" not in f.attrs:
                raise UserError(f"{path}: a model file, not a training checkpoint")
            return json.loads(f.attrs.get("config", "{}")) or {}
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: unreadable checkpoint ({exc})") from None
