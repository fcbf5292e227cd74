"""Training checkpoints: weights, optimizer state and progress in one atomic HDF5 file that always resumes."""
import json

from ..util.errors import UserError, shown
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
    """(model, optimizer state dict, progress dict, config) from :func:`save_checkpoint`; UserError if bad.

    The file must be plain HDF5 (:func:`npsrcnn.util.hdf5.open_plain`), and each optimizer buffer is
    checked (dtype, size, the bytes the file stores) before it is read, and against its parameter's shape.
    """
    import numpy as np

    from ..model.srcnn import SRCNN
    from ..util.hdf5 import check_dataset, open_plain, read_dataset
    from ..util.limits import MAX_WEIGHTS

    model = SRCNN.load(path)
    shapes = {k: v.shape for k, v in model.params.items()}
    with open_plain(path, "a training checkpoint") as f:
        if "optimizer" not in f or "progress" not in f.attrs:
            raise UserError(f"{shown(path)}: a model file, not a training checkpoint")
        opt_state = {}
        for k, v in f["optimizer"].items():
            check_dataset(v, path, MAX_WEIGHTS * 8, kinds="fiu")
            opt_state[k] = np.asarray(read_dataset(v, path))
            name = k.split(".", 1)[-1]
            if "." in k and name in shapes and opt_state[k].shape not in (shapes[name], ()):
                raise UserError(f"{shown(path)}: optimizer buffer '{shown(k)}' has shape {opt_state[k].shape}, "
                                f"not {shapes[name]}")
        state = _progress(f, path)
    return model, opt_state, state, model.config


def _progress(f, path):
    """The checkpoint's progress record (a JSON attribute); UserError if it is not one."""
    try:
        state = json.loads(f.attrs["progress"])
    except (ValueError, TypeError, RecursionError) as exc:
        raise UserError(f"{shown(path)}: damaged checkpoint (progress: {type(exc).__name__})") from None
    if not isinstance(state, dict) or not isinstance(state.get("step"), int):
        raise UserError(f"{shown(path)}: damaged checkpoint (progress holds no step)")
    return state


def saved_step(path):
    """The step a checkpoint was written at, or "?" if it cannot be read."""
    from ..util.hdf5 import open_plain

    try:
        with open_plain(path) as f:
            return _progress(f, path)["step"]
    except (UserError, KeyError):
        return "?"


def read_run_record(path):
    """The run's record (its settings, data sources, ...) from a checkpoint, without loading the weights."""
    from ..util.hdf5 import open_plain, read_attrs

    with open_plain(path, "a training checkpoint") as f:
        attrs = read_attrs(f, path)
        if "progress" not in attrs:
            raise UserError(f"{shown(path)}: a model file, not a training checkpoint")
        try:
            record = json.loads(attrs.get("config", "{}")) or {}
        except (ValueError, TypeError, RecursionError) as exc:
            raise UserError(f"{shown(path)}: damaged checkpoint (config: {type(exc).__name__})") from None
    if not isinstance(record, dict):
        raise UserError(f"{shown(path)}: damaged checkpoint (config is not a record)")
    return record
