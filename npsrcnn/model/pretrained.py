"""Weights by name or by path, for every command's ``--weights``.

- ``x2``, ``x3``, ``x4``: the 9-1-5 networks shipped in the package (``npsrcnn/weights/xS.h5``),
  found in the installed package whatever the working directory (a file of that name in the working
  directory is reached as ``./x3``);
- ``path/model.h5``: our HDF5 (train's ``model.h5`` or ``checkpoint.h5``, or convert's output);
- ``path/x3.npz``: the authors' released weights converted to .npz (:meth:`SRCNN.from_npz`);
- ``path/x3.mat``: the authors' MATLAB files as released, read with SciPy (:meth:`SRCNN.from_mat`,
  ``pip install "npsrcnn[mat]"``).
"""
import re
from importlib import resources
from pathlib import Path

from ..util.errors import UserError, shown

SUFFIXES = (".h5", ".hdf5", ".npz", ".mat")


def shipped_weights(scale):
    """Path of the weights shipped with the package for `scale` (npsrcnn/weights/x<scale>.h5), or None."""
    ref = resources.files("npsrcnn") / "weights" / f"x{scale}.h5"
    return Path(str(ref)) if ref.is_file() else None


def shipped_names():
    """Names of the shipped weights, ['x2', 'x3', 'x4'], sorted by scale."""
    folder = resources.files("npsrcnn") / "weights"
    found = [p.name[:-3] for p in folder.iterdir() if re.fullmatch(r"x\d+\.h5", p.name)]
    return sorted(found, key=lambda name: int(name[1:]))


def resolve(spec):
    """The file `spec` names: a shipped name (``x3``) or a path; UserError for an unknown name."""
    m = re.fullmatch(r"x(\d+)", str(spec))
    if m:
        path = shipped_weights(int(m.group(1)))
        if path is None:
            raise UserError(f"no weights named {spec} ship with npsrcnn (shipped: {', '.join(shipped_names())}); "
                            "give a path to a .h5, .npz or .mat file")
        return path
    return Path(spec)


def load_model(spec, scale=None):
    """The SRCNN `spec` names (see the module docstring); UserError if it is not for `scale` (when given).

    The authors' files carry no scale but their name (``x3.mat``); ours store it.
    """
    from .srcnn import scale_from_name, SRCNN

    path = resolve(spec)
    if path.is_dir():
        raise UserError(f"weights {shown(path)} is a directory; give a .h5, .npz or .mat file in it")
    if not path.is_file():
        raise UserError(f"weights file {shown(path)} not found")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UserError(f"weights file {shown(path)}: expected our .h5 or the authors' .npz or .mat")
    if suffix in (".h5", ".hdf5"):
        model = SRCNN.load(path)
    else:
        named = scale_from_name(path)
        if scale is not None and named is not None and named != scale:
            raise UserError(f"--scale {scale} but the weights {shown(path)} are for x{named}")
        read = SRCNN.from_npz if suffix == ".npz" else SRCNN.from_mat
        model = read(path, scale=named if named is not None else scale)
    if scale is not None and model.scale is not None and model.scale != scale:
        if re.fullmatch(r"x\d+", str(spec)):
            raise UserError(f"--scale {scale} but --weights {spec} is for x{model.scale}; "
                            f"pass --weights x{scale} or leave --weights out")
        raise UserError(f"--scale {scale} but the weights {shown(spec)} were trained for x{model.scale}")
    return model


def load_weights(spec, scale):
    """(model, words) for a ``--weights`` value, or for the weights shipped for `scale` when `spec` is None.

    `words` names the weights for a header line: ``x3 (shipped)`` or the path as given.
    """
    if spec is None:
        if shipped_weights(scale) is None:
            raise UserError(f"no weights ship with npsrcnn for x{scale} (shipped: {', '.join(shipped_names())}); "
                            "pass --weights (a model.h5 from `npsrcnn train`, or the authors' .npz or .mat)")
        spec = f"x{scale}"
    words = f"{spec} (shipped)" if re.fullmatch(r"x\d+", str(spec)) else shown(spec)
    return load_model(spec, scale), words
