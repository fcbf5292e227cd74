"""The im2col / col2im and tap kernels, under their old module name: they live in the engine now.

See :mod:`npsrcnn.engine.unfold` (im2col, col2im) and :mod:`npsrcnn.engine.taps` (tap_sum, tap_spread),
each with its NumPy ``*_reference`` twin; the lesson's NCHW ``im2col`` is :mod:`npsrcnn.lesson.conv`.
"""
from .engine.taps import (_tap_spread_kernel, _tap_sum_kernel, tap_spread, tap_spread_reference,  # noqa: F401
                          tap_sum, tap_sum_reference)
from .engine.unfold import (_check, _col2im_kernel, _im2col_kernel, _src, _src_reference, col2im,  # noqa: F401
                            col2im_reference, im2col, im2col_reference)
