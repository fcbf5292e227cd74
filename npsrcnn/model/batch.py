"""Upscaling many files at once: on local worker processes or on a Dask cluster, each worker loading the weights once.

:func:`run_jobs` takes (input, output) pairs whose outputs the command has already checked, and runs
:func:`upscale_file` on each, on ``workers`` local processes (``concurrent.futures`` with the spawn
start method, so no worker inherits a parent's thread pools) or on the workers of an existing Dask
cluster (``dask.distributed.Client(address)``; the optional ``dask`` extra). Each worker process
loads the network once (:func:`_model`, cached per process) and limits its Numba and BLAS threads
to ``threads`` so that N processes on N cores do not oversubscribe them. Every output is written
atomically, so an interrupted job leaves whole files or none; one image that fails (unreadable,
too small) is reported by name and the others go on. The result of each image is the one a
single-process run computes, bit for bit: the same code on the same shapes.
"""
import dataclasses
import os

from ..util.errors import UserError


@dataclasses.dataclass(frozen=True)
class Settings:
    """What every worker needs to upscale a file the way the command would."""

    weights: str  # a --weights value: x2/x3/x4, or a file path (absolute, so any worker finds it)
    scale: int
    padding: str = "replicate"
    band_rows: int = 256
    quality: int = 95
    overwrite: bool = False
    max_pixels: int = 0  # 0: the reader's default limit
    threads: int = 1  # Numba and BLAS threads per worker process (0: leave the process's as they are)
    ensemble: bool = False  # geometric self-ensemble: the mean over 8 flips and rotations, 8x the time


_MODELS = {}  # per worker process: (weights, scale) -> SRCNN


def _model(settings):
    key = (settings.weights, settings.scale)
    if key not in _MODELS:
        from ..util.threads import set_threads
        from .pretrained import load_weights

        if settings.threads:  # before the first kernel runs in this process
            set_threads(settings.threads)
        _MODELS[key] = load_weights(settings.weights, settings.scale)[0]
    return _MODELS[key]


def upscale_file(src, dst, settings):
    """Read `src`, upscale it, write `dst` atomically; returns (src, dst, width, height) of the input.

    Raises UserError naming `src` for an input that cannot be read or is too small.
    """
    from ..image.io import read_image, write_image
    from .upscaling import check_big_enough, upscale_array

    model = _model(settings)
    if settings.ensemble:
        from .ensemble import SelfEnsemble

        model = SelfEnsemble(model)
    limit = {"max_pixels": settings.max_pixels} if settings.max_pixels else {}
    img = read_image(src, **limit)
    check_big_enough(img.shape, model, settings.scale, src)
    out = upscale_array(img, model, settings.scale, settings.padding, settings.band_rows, **limit)
    write_image(dst, out, overwrite=settings.overwrite, quality=settings.quality)
    return str(src), str(dst), img.shape[1], img.shape[0]


def _job(src, dst, settings):
    """upscale_file for a worker: (src, dst, W, H, None) or (src, dst, 0, 0, the one-line reason)."""
    try:
        return (*upscale_file(src, dst, settings), None)
    except UserError as exc:
        return str(src), str(dst), 0, 0, str(exc)
    except (OSError, MemoryError) as exc:
        return str(src), str(dst), 0, 0, f"{src}: {getattr(exc, 'strerror', None) or exc or type(exc).__name__}"


def run_jobs(jobs, settings, workers=1, dask_address=None, progress=None, on_done=None):
    """Upscale each (src, dst) of `jobs`; returns the list of _job results in completion order.

    Parameters
    ----------
    jobs : list of (path, path)
    settings : Settings
    workers : int, local worker processes (ignored with `dask_address`)
    dask_address : str, optional, the scheduler of a running Dask cluster (``tcp://host:8786``)
    progress : callable(n), optional, told of each finished image (a tqdm bar's update)
    on_done : callable(result), optional, told each result as it arrives
    """
    results = []

    def finished(r):
        results.append(r)
        if on_done is not None:
            on_done(r)
        if progress is not None:
            progress(1)

    if dask_address is not None:
        try:
            from dask.distributed import Client, as_completed
        except ImportError:
            raise UserError("--dask needs the dask package: pip install \"npsrcnn[dask]\"") from None
        try:
            client = Client(dask_address)  # waits dask's distributed.comm.timeouts.connect (30 s) at most
        except (OSError, TimeoutError) as exc:
            raise UserError(f"--dask {dask_address}: cannot reach the scheduler ({exc})") from None
        try:
            futures = [client.submit(_job, src, dst, settings, pure=False) for src, dst in jobs]
            for future in as_completed(futures):
                finished(future.result())
        finally:
            client.close()
        return results
    if workers <= 1:
        # Here, with this process's thread settings: set_threads sets NUMBA_NUM_THREADS, and Numba refuses
        # every later compilation once that disagrees with its running pool.
        here = dataclasses.replace(settings, threads=0)
        for src, dst in jobs:
            finished(_job(src, dst, here))
        return results
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    env = {k: str(settings.threads) for k in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                             "MKL_NUM_THREADS")}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # spawned workers start with these: BLAS reads them when it loads
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_job, src, dst, settings) for src, dst in jobs]
            for future in as_completed(futures):
                finished(future.result())
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return results
