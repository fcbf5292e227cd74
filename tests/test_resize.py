"""imresize: MATLAB's imresize(..., 'bicubic' | 'bilinear' | 'nearest'), checked against a dense-matrix reading
of MATLAB's code, Pillow (away from the border), and the authors' published bicubic PSNR on Set5 / Set14."""
import math

import numpy as np
import pytest
from PIL import Image

from npsrcnn.image.color import im2uint8, rgb2ycbcr
from npsrcnn.interp import bicubic, bilinear
from npsrcnn.interp.resize import contributions, imresize


def rand(*shape, seed=0):
    return np.random.default_rng(seed).random(shape)


def matlab_matrix(n_in, n_out, scale, method="bicubic", antialiasing=None):
    """Dense (n_out, n_in) resampling matrix, written from MATLAB's imresize>contributions with loops.

    Independent of npsrcnn.interp.resize: its own kernels (imresize>cubic, triangle, box), 1-based indices,
    MATLAB's aux = [1:n, n:-1:1], and MATLAB's default of antialiasing every method but 'nearest'.
    """
    def cubic(x):
        x = abs(x)
        if x <= 1:
            return 1.5 * x**3 - 2.5 * x**2 + 1
        return -0.5 * x**3 + 2.5 * x**2 - 4 * x + 2 if x <= 2 else 0.0

    def triangle(x):
        return 1 - abs(x) if abs(x) <= 1 else 0.0

    def box(x):
        return 1.0 if -0.5 <= x < 0.5 else 0.0

    kernel, width = {"bicubic": (cubic, 4.0), "bilinear": (triangle, 2.0), "nearest": (box, 1.0)}[method]
    if antialiasing is None:
        antialiasing = method != "nearest"
    s = scale
    stretch = scale < 1 and antialiasing
    if stretch:
        width = width / scale
    aux = list(range(1, n_in + 1)) + list(range(n_in, 0, -1))
    R = np.zeros((n_out, n_in))
    for x in range(1, n_out + 1):
        u = x / s + 0.5 * (1 - 1 / s)
        left = math.floor(u - width / 2)
        taps = [left + k for k in range(math.ceil(width) + 2)]
        w = [s * kernel(s * (u - j)) if stretch else kernel(u - j) for j in taps]
        total = sum(w)
        for j, wj in zip(taps, w):
            R[x - 1, aux[(j - 1) % len(aux)] - 1] += wj / total
    return R


# --- against the dense reading of MATLAB's code --------------------------------------------------
@pytest.mark.parametrize("method", ["bicubic", "bilinear", "nearest"])
@pytest.mark.parametrize("shape,scale", [((12, 15), 0.5), ((12, 15), 1 / 3), ((17, 9), 0.25), ((7, 8), 2),
                                         ((7, 8), 3), ((5, 11), 4), ((10, 10), 0.7), ((9, 6), 1.5)])
def test_matches_matlab_contributions_as_a_dense_matrix(method, shape, scale):
    img = rand(*shape)
    H, W = shape
    Ho, Wo = math.ceil(scale * H), math.ceil(scale * W)
    ref = matlab_matrix(H, Ho, scale, method) @ img @ matlab_matrix(W, Wo, scale, method).T
    np.testing.assert_allclose(imresize(img, scale, method=method), ref, rtol=0, atol=1e-13)


@pytest.mark.parametrize("method,antialiasing", [("bilinear", False), ("nearest", True)])
@pytest.mark.parametrize("scale", [0.5, 1 / 3, 0.7])
def test_matches_matlab_with_the_other_antialiasing_setting(method, antialiasing, scale):
    img = rand(14, 11)
    R = [matlab_matrix(n, math.ceil(scale * n), scale, method, antialiasing) for n in img.shape]
    out = imresize(img, scale, antialiasing=antialiasing, method=method)
    np.testing.assert_allclose(out, R[0] @ img @ R[1].T, rtol=0, atol=1e-13)


def test_contributions_drop_all_zero_columns_and_normalise():
    idx, w = contributions(10, 30, 3.0)  # upscale: MATLAB's 6 taps, two of them always 0
    assert idx.shape == w.shape == (30, 4)
    np.testing.assert_allclose(w.sum(1), 1, atol=1e-15)
    # downscale by 3: kernel 12 wide, 14 taps at integer distances -7..6 from u; those at 3 and 6
    # (K(1) = K(2) = 0 after stretching) and 7 are zero for every output and dropped: 9 remain
    idx, w = contributions(30, 10, 1 / 3)
    assert w.shape[1] == 9 and np.all(np.any(w != 0, axis=0))
    np.testing.assert_array_equal(idx[4], [8, 9, 11, 12, 13, 14, 15, 17, 18])  # u = 13 (0-based)
    np.testing.assert_allclose(w.sum(1), 1, atol=1e-15)


def test_border_indices_mirror_as_matlab():
    # 0-based -2 -> 1, -1 -> 0 (edge repeated), n -> n-1, n+1 -> n-2
    np.testing.assert_array_equal(bicubic.mirror_index([-2, -1, 0, 4, 5, 6, 9, 10], 5), [1, 0, 0, 4, 4, 3, 0, 0])


@pytest.mark.parametrize("method,fast_path", [("bicubic", bicubic.upscale), ("bilinear", bilinear.upscale)])
def test_upscale_equals_the_fast_path(method, fast_path):
    img = rand(9, 13)
    np.testing.assert_allclose(imresize(img, 3, method=method), fast_path(img, 3), rtol=0, atol=1e-14)


@pytest.mark.parametrize("scale", [0.5, 1 / 3, 2, 1.5])
def test_method_defaults_to_bicubic_with_antialiasing(scale):
    img = rand(12, 9).astype(np.float32)
    np.testing.assert_array_equal(imresize(img, scale), imresize(img, scale, antialiasing=True, method="bicubic"))


# --- Pillow, away from the border: same kernel, same map, and the same antialiasing on a downscale --
@pytest.mark.parametrize("method,pil_filter,radius", [("bicubic", Image.BICUBIC, 2), ("bilinear", Image.BILINEAR, 1)])
@pytest.mark.parametrize("out_shape", [(30, 42), (20, 28), (15, 21), (36, 50), (90, 126), (61, 85)])
def test_equals_pillow_away_from_the_border(out_shape, method, pil_filter, radius):
    # measured: at most 1 float32 ulp (bilinear 2^-24); Pillow stores float32 after its horizontal
    # pass, we after the pass MATLAB's order puts first
    img = rand(60, 84, seed=4).astype(np.float32)
    ours = imresize(img, output_shape=out_shape, method=method)
    pil = np.asarray(Image.fromarray(img, "F").resize(out_shape[::-1], pil_filter))
    masks = []
    for n_in, n_out in zip(img.shape, out_shape):
        s = n_out / n_in
        u = (np.arange(n_out) + 0.5) / s - 0.5
        half = radius / min(s, 1)  # half-width of the (stretched) kernel
        masks.append((u - half >= 0) & (u + half <= n_in - 1))
    inner = np.ix_(*masks)
    assert ours[inner].size > 0
    np.testing.assert_allclose(ours[inner], pil[inner], rtol=0, atol=2.5e-7)


# --- properties ----------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,scale,expected", [((7, 10), 0.5, (4, 5)), ((255, 256), 1 / 3, (85, 86)),
                                                  ((5, 7), 1.5, (8, 11)), ((3, 3), 4, (12, 12)),
                                                  ((10, 20), 0.1, (1, 2))])
def test_output_size_is_ceil_of_scale_times_size(shape, scale, expected):
    assert imresize(np.zeros(shape), scale).shape == expected


def test_output_shape_argument():
    out = imresize(rand(10, 12), output_shape=(7, 30))
    assert out.shape == (7, 30)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_identity_at_scale_one(dtype):
    img = (rand(9, 7) * 255).astype(dtype)
    out = imresize(img, 1)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, img)


@pytest.mark.parametrize("scale", [0.25, 1 / 3, 0.6, 2, 3.5])
def test_constant_stays_constant(scale):
    np.testing.assert_allclose(imresize(np.full((13, 17), 0.42), scale), 0.42, atol=1e-14)


@pytest.mark.parametrize("factor", [3, 5])
def test_odd_integer_upscale_passes_through_the_samples(factor):
    img = rand(6, 8)
    k = (factor - 1) // 2
    np.testing.assert_allclose(imresize(img, factor)[k::factor, k::factor], img, atol=1e-14)


@pytest.mark.parametrize("factor", [2, 3, 4])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_nearest_integer_upscale_repeats_pixels(factor, dtype):
    img = (rand(5, 7) * 255).astype(dtype)
    out = imresize(img, factor, method="nearest")
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, np.repeat(np.repeat(img, factor, axis=0), factor, axis=1))
    if dtype == np.float32:  # Pillow NEAREST picks the same pixels
        pil = Image.fromarray(img, "F").resize((factor * 7, factor * 5), Image.NEAREST)
        np.testing.assert_array_equal(out, np.asarray(pil))


def test_nearest_downscale_picks_pixels_without_antialiasing_as_matlab():
    img = rand(12, 15)
    # 1/3: output centre x' + 0.5 sits on source 3x' + 1, the middle of each 3x3 block
    np.testing.assert_array_equal(imresize(img, 1 / 3, method="nearest"), img[1::3, 1::3])
    # asked to antialias, MATLAB stretches the box to 3 pixels: the mean of each 3x3 block
    blocks = img.reshape(4, 3, 5, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(imresize(img, 1 / 3, method="nearest", antialiasing=True), blocks, atol=1e-15)


@pytest.mark.parametrize("scale", [2, 3, 4, 1.5, 1 / 2, 1 / 3, 1 / 4])
def test_bilinear_reproduces_a_linear_ramp_away_from_the_border(scale):
    # (an antialiased downscale by a non-integer factor, 0.7 say, is not exact: the stretched
    # triangle sampled between its knots has a first moment)
    H, W = 24, 30
    r, c = np.mgrid[0:H, 0:W]
    out = imresize(0.5 + 0.1 * r - 0.03 * c, scale, method="bilinear")
    v, u = ((np.arange(n) + 0.5) / scale - 0.5 for n in out.shape)  # 0-based source coordinates
    half = 1 / min(scale, 1)  # half-width of the (stretched) triangle
    inner = np.ix_((v - half >= 0) & (v + half <= H - 1), (u - half >= 0) & (u + half <= W - 1))
    truth = 0.5 + 0.1 * v[:, None] - 0.03 * u[None, :]
    assert out[inner].size > 0
    np.testing.assert_allclose(out[inner], truth[inner], rtol=0, atol=1e-14)


def test_antialiasing_low_passes_a_downscale():
    checker = np.indices((36, 36)).sum(0) % 2 * 1.0  # the highest frequency there is
    smooth = imresize(checker, 1 / 3)
    aliased = imresize(checker, 1 / 3, antialiasing=False)  # samples every third pixel: 0, 1, 0, ...
    np.testing.assert_allclose(smooth[3:-3, 3:-3], 0.5, atol=2e-4)  # filtered to (nearly) its mean
    assert np.ptp(aliased[3:-3, 3:-3]) == 1


def test_channels_resize_independently():
    img = rand(11, 9, 3).astype(np.float32)
    out = imresize(img, 1 / 3)
    assert out.shape == (4, 3, 3) and out.dtype == np.float32
    for ch in range(3):
        np.testing.assert_array_equal(out[..., ch], imresize(np.ascontiguousarray(img[..., ch]), 1 / 3))


def test_smaller_scale_dimension_goes_first_as_matlab():
    img = rand(20, 30).astype(np.float32)
    out = imresize(img, output_shape=(60, 10))  # scales 3 (rows) and 1/3 (cols): columns first
    cols = bicubic.resample_axis(img[:, :, None], *contributions(30, 10, 1 / 3), axis=1, dtype=np.float32)
    both = bicubic.resample_axis(cols, *contributions(20, 60, 3.0), axis=0, dtype=np.float32)
    np.testing.assert_array_equal(out, both[:, :, 0])


def test_uint8_rounds_and_saturates_each_pass_as_matlab():
    img = np.zeros((12, 12), np.uint8)
    img[:, 6:] = 255  # a step: bicubic overshoots below 0 and above 255
    out = imresize(img, 3)
    assert out.dtype == np.uint8 and out.min() == 0 and out.max() == 255
    ref = np.clip(np.floor(imresize(img.astype(np.float64), 3) + 0.5), 0, 255)
    assert np.abs(out - ref).max() <= 1


# --- the authors' protocol: bicubic PSNR on Set5 / Set14 -----------------------------------------
PUBLISHED = {("Set5", 2): 33.66, ("Set5", 3): 30.39, ("Set5", 4): 28.42,
             ("Set14", 2): 30.23, ("Set14", 3): 27.54, ("Set14", 4): 26.00}


def y_uint8(path):
    """Y of MATLAB rgb2ycbcr as uint8 (imread, rgb2ycbcr, (:,:,1)); grayscale (bridge.bmp) passes through."""
    img = np.asarray(Image.open(path))
    return img if img.ndim == 2 else rgb2ycbcr(img[..., :3])[..., 0]


def bicubic_psnr(path, scale):
    y = y_uint8(path)
    y = y[: y.shape[0] - y.shape[0] % scale, : y.shape[1] - y.shape[1] % scale]  # modcrop
    im_gnd = y.astype(np.float32) / np.float32(255)
    im_b = imresize(imresize(im_gnd, 1 / scale), scale)
    a, b = (im2uint8(x)[scale:-scale, scale:-scale].astype(np.float64) for x in (im_gnd, im_b))  # shave
    return 10 * np.log10(255.0**2 / np.mean((a - b) ** 2))


@pytest.mark.parametrize("name", ["Set5", "Set14"])
def test_bicubic_baseline_psnr_matches_published(datasets, name):
    files = sorted((datasets / name).glob("*.bmp"))
    assert len(files) == {"Set5": 5, "Set14": 14}[name]
    for scale in (2, 3, 4):
        mean = np.mean([bicubic_psnr(p, scale) for p in files])
        print(f"{name} x{scale}: {mean:.4f} dB (published {PUBLISHED[name, scale]:.2f})")
        assert abs(mean - PUBLISHED[name, scale]) < 0.01


# --- bad arguments -------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,match", [
    (dict(img=np.zeros((4, 4))), "exactly one of scale and output_shape"),
    (dict(img=np.zeros((4, 4)), scale=2, output_shape=(8, 8)), "exactly one of scale and output_shape"),
    (dict(img=np.zeros((4, 4)), scale=0), "positive finite"),
    (dict(img=np.zeros((4, 4)), scale=-1.5), "positive finite"),
    (dict(img=np.zeros((4, 4)), scale=float("inf")), "positive finite"),
    (dict(img=np.zeros((4, 4)), scale="2"), "positive number"),
    (dict(img=np.zeros((4, 4)), output_shape=(8,)), r"\(rows, cols\)"),
    (dict(img=np.zeros((4, 4)), output_shape=(8, 0)), "two positive integers"),
    (dict(img=np.zeros((4, 4)), output_shape=(8, 2.5)), "two positive integers"),
    (dict(img=np.zeros(4), scale=2), r"\(H, W\) or \(H, W, C\)"),
    (dict(img=np.zeros((0, 4)), scale=2), "non-empty"),
    (dict(img=np.zeros((4, 4), np.int32), scale=2), "float32, float64 or uint8"),
    (dict(img=[[0.0, 1.0]], scale=2), "NumPy array"),
    (dict(img=np.zeros((4, 4)), scale=2, method="lanczos3"),
     r"method must be one of \('bicubic', 'bilinear', 'nearest'\), got 'lanczos3'"),
])
def test_bad_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        imresize(**kwargs)
