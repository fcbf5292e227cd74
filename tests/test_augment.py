"""Augmentation: the dihedral group on patch pairs, equal to cutting from a transformed image; scaled copies."""
import numpy as np
import pytest

from npsrcnn.datasets.augment import N_DIHEDRAL, augment_batch, dihedral, parse_factors, scaled_copies
from npsrcnn.datasets.patches import extract_patches


def test_the_eight_transforms_are_distinct_and_invertible():
    a = np.arange(9).reshape(3, 3)
    images = [dihedral(a, k) for k in range(N_DIHEDRAL)]
    assert len({im.tobytes() for im in map(np.ascontiguousarray, images)}) == 8
    for k in range(N_DIHEDRAL):
        back = next(j for j in range(N_DIHEDRAL) if np.array_equal(dihedral(dihedral(a, k), j), a))
        assert np.array_equal(dihedral(dihedral(a, back), k), a)  # a group: every element has an inverse


@pytest.mark.parametrize("k", range(N_DIHEDRAL))
def test_a_transformed_pair_equals_the_pair_cut_from_the_transformed_image(k):
    """Every 33x33 window of a 48x48 image (stride 1), degraded x3: transforming the image permutes the
    grid of windows by the same transform and transforms each window (to float32 rounding, since
    imresize resizes rows first and a rotation swaps rows and columns)."""
    rng = np.random.default_rng(k)
    y = np.clip(rng.normal(128, 60, (48, 48)), 0, 255).astype(np.uint8)
    d0, l0 = extract_patches(y, 3, 33, 21, stride=1)
    d1, l1 = extract_patches(np.ascontiguousarray(dihedral(y, k)), 3, 33, 21, stride=1)
    for a, b, s in ((d0, d1, 33), (l0, l1, 21)):
        grid = a.reshape(16, 16, s, s)
        moved = dihedral(np.moveaxis(dihedral(grid, k), (2, 3), (0, 1)), k)  # transform the grid, then each window
        np.testing.assert_allclose(np.moveaxis(moved, (0, 1), (2, 3)).reshape(b.shape), b, rtol=0, atol=2e-7)


def test_augment_batch_keeps_each_label_the_centre_of_its_input_and_is_seeded():
    rng = np.random.default_rng(0)
    x = rng.random((64, 1, 9, 9)).astype(np.float32)
    y = np.ascontiguousarray(x[:, :, 2:-2, 2:-2])
    xa, ya = augment_batch(x, y, np.random.default_rng(5))
    np.testing.assert_array_equal(ya, xa[:, :, 2:-2, 2:-2])
    assert xa.flags.c_contiguous and xa.dtype == np.float32
    moved = [not np.array_equal(xa[n], x[n]) for n in range(64)]
    assert 40 < sum(moved) < 64  # about 7 in 8 patches change
    xb, yb = augment_batch(x, y, np.random.default_rng(5))
    np.testing.assert_array_equal(xb, xa)
    for n in range(64):  # each is one of the 8 transforms of its own original
        assert any(np.array_equal(xa[n, 0], dihedral(x[n, 0], k)) for k in range(N_DIHEDRAL))


def test_scaled_copies_are_matlab_downscales_in_uint8():
    y = np.random.default_rng(1).integers(0, 256, (60, 50), dtype=np.uint8)
    copies = list(scaled_copies(y, (0.9, 0.6)))
    assert copies[0] is y
    assert [c.shape for c in copies[1:]] == [(54, 45), (36, 30)] and all(c.dtype == np.uint8 for c in copies)


def test_parse_factors():
    assert parse_factors("0.9,0.8,0.7,0.6") == (0.9, 0.8, 0.7, 0.6)
    assert parse_factors("none") == () and parse_factors("") == ()
    with pytest.raises(ValueError, match="between 0 and 1"):
        parse_factors("0.5,1.5")
