"""The squared-error loss and its gradient, the readable way. Walked through in ``docs/backprop/02-loss.md``."""

REDUCTIONS = ("caffe", "mean", "sum")


def mse_loss(out, y, reduction="caffe"):
    """Squared error of a batch and its gradient wrt `out`, the network's output.

    Parameters
    ----------
    out, y : ndarray, shape (N, ...), same shape
    reduction : {"caffe", "mean", "sum"}
        "caffe" is Caffe's EuclideanLoss, the paper's: ``sum((out - y)**2) / (2 N)``, N the batch size.
        "mean" divides by every value (N * 21 * 21 for SRCNN's labels), "sum" by nothing.

    Returns
    -------
    loss : float
    dout : ndarray, like out

    Notes
    -----
    ``d loss / d out = (out - y) / N`` (caffe), ``2 (out - y) / out.size`` (mean), ``2 (out - y)`` (sum).
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    N = out.shape[0]
    diff = out - y  # N, 1, Ho, Wo
    if reduction == "caffe":
        return (diff**2).sum() / (2 * N), diff / N
    if reduction == "mean":
        return (diff**2).mean(), 2 * diff / diff.size
    return (diff**2).sum(), 2 * diff
