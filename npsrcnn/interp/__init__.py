"""Interpolation as MATLAB's ``imresize`` computes it: bicubic and bilinear as coefficient solves, and fast paths."""
