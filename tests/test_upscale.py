"""python -m npsrcnn.upscale: colour handling, bit depths, band-wise = whole-image, bad input."""
import re
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from conftest import assert_one_line_error
from PIL import Image

from npsrcnn import upscale as up_cli
from npsrcnn.image.color import rgb2ycbcr, ycbcr2rgb
from npsrcnn.image.io import read_image, write_image
from npsrcnn.interp.resize import imresize
from npsrcnn.model import pretrained, upscaling
from npsrcnn.model.srcnn import SRCNN
from npsrcnn.util.errors import UserError


@pytest.fixture(scope="module")
def model():
    m = SRCNN(seed=3, scale=3)
    rng = np.random.default_rng(1)
    for k in ("w1", "w2", "w3"):  # weights large enough that the network visibly changes the image
        m.params[k][...] = rng.normal(0, 0.05, m.params[k].shape)
    m.params["w3"][0, :, 2, 2] += 1.0 / m.n2
    return m


@pytest.fixture(scope="module")
def weights_file(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("w") / "x3.h5"
    model.save(path)
    return path


def _image(shape, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    hi = np.iinfo(dtype).max
    H, W = shape[:2]
    base = np.linspace(0, 1, W)[None, :] * np.linspace(0.3, 1, H)[:, None]
    img = base[..., None] if len(shape) == 3 else base
    img = np.clip(img + 0.15 * rng.standard_normal(shape), 0, 1)
    return np.round(img * hi).astype(dtype)


def _quantize(x, dtype):
    hi = np.iinfo(dtype).max
    return np.clip(np.floor(x * hi + 0.5), 0, hi).astype(dtype)


def reference_upscale(img, model, s):
    """The whole-image pipeline written plainly: what the band-wise code must equal (up to rounding)."""
    hi = np.float32(np.iinfo(img.dtype).max)
    if img.ndim == 2:
        return _quantize(model.predict(imresize(img.astype(np.float32) / hi, s)), img.dtype)
    ycc = rgb2ycbcr(img[:, :, :3].astype(np.float32) / hi)
    big = imresize(np.ascontiguousarray(ycc), s)
    big[:, :, 0] = model.predict(imresize(np.ascontiguousarray(ycc[:, :, 0]), s))
    out = [_quantize(ycbcr2rgb(big), img.dtype)]
    if img.shape[2] == 4:
        out.append(_quantize(imresize(img[:, :, 3].astype(np.float32) / hi, s), img.dtype)[:, :, None])
    return np.concatenate(out, axis=2)


def assert_within_one_step(got, want):
    """Equal up to float32 rounding: BLAS sums a GEMM of another width (a band instead of the whole
    image) in another order, so a value within ~1e-7 of a rounding boundary may round the other way:
    at most one step of the integer scale, in under 1% of the samples."""
    assert got.dtype == want.dtype and got.shape == want.shape
    diff = np.abs(got.astype(np.int64) - want.astype(np.int64))
    assert diff.max() <= 1 and np.count_nonzero(diff) <= 0.01 * diff.size, (diff.max(), np.count_nonzero(diff))


def test_bicubic_rows_equal_imresize_rows():
    img = _image((23, 17)).astype(np.float32) / 255
    u = upscaling.Upscaler(None, 3)
    full = imresize(img, 3)
    for a, b in ((0, 5), (5, 40), (60, 69), (0, 69)):
        np.testing.assert_array_equal(u.bicubic_rows(img, a, b), full[a:b])


@pytest.mark.parametrize("shape, dtype", [((31, 26), np.uint8), ((31, 26, 3), np.uint8), ((25, 28, 4), np.uint8),
                                          ((27, 22), np.uint16)])
@pytest.mark.parametrize("band_rows", [5, 16, 10_000])
def test_band_wise_upscale_equals_the_whole_image_pipeline(model, shape, dtype, band_rows):
    img = _image(shape, dtype)
    got = upscaling.upscale_array(img, model, 3, band_rows=band_rows)
    want = reference_upscale(img, model, 3)
    assert got.dtype == dtype and got.shape == (shape[0] * 3, shape[1] * 3) + shape[2:]
    assert_within_one_step(got, want)


@pytest.mark.parametrize("band_rows", [1, 5, 16])
def test_band_wise_network_output_equals_the_whole_image_to_float32_rounding(model, band_rows):
    """Before quantisation: the bands' luminance is the whole image's within 1e-6 (values in [0, 1])."""
    y = _image((31, 26)).astype(np.float32) / 255
    up = upscaling.Upscaler(model, 3, band_rows=band_rows)
    got = np.concatenate([up.sr_rows(y, a, b) for a, b in up.bands(93)])
    want = model.predict(imresize(y, 3))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    assert not np.array_equal(got, imresize(y, 3))  # the network did change the image


def test_the_network_changes_luminance_but_not_alpha(model):
    img = _image((20, 24, 4))
    out = upscaling.upscale_array(img, model, 3)
    bicubic = _quantize(imresize(img.astype(np.float32) / 255, 3), np.uint8)
    assert np.abs(out[:, :, :3].astype(int) - bicubic[:, :, :3]).mean() > 1  # SRCNN did something
    np.testing.assert_array_equal(out[:, :, 3], bicubic[:, :, 3])  # alpha: bicubic only


def test_memory_is_bounded_by_bands(model):
    img = _image((200, 160))
    out_bytes = 600 * 480
    tracemalloc.start()
    upscaling.upscale_array(img, model, 3, band_rows=32)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    whole_activations = (64 + 32) * 600 * 480 * 4  # one float32 copy of every feature map of the whole image
    assert peak < out_bytes + 24 * 2**20 and peak < whole_activations / 2


@pytest.mark.parametrize("mode, shape", [("L", (30, 20)), ("RGB", (30, 20, 3)), ("RGBA", (30, 20, 4))])
def test_cli_keeps_the_mode(tmp_path, weights_file, mode, shape, capsys):
    src = tmp_path / f"in_{mode}.png"
    Image.fromarray(_image(shape), mode).save(src)
    dst = tmp_path / "out.png"
    assert up_cli.main([str(src), "-o", str(dst), "--scale", "3", "--weights", str(weights_file)]) == 0
    with Image.open(dst) as im:
        assert im.mode == mode and im.size == (60, 90)
    assert "-> " in capsys.readouterr().err


@pytest.mark.parametrize("shape", [(26, 21), (26, 21, 3), (19, 22, 4)])
def test_cli_16_bit_stays_16_bit(tmp_path, weights_file, model, shape):
    img = _image(shape, np.uint16)
    src = tmp_path / "in16.png"
    write_image(src, img)
    dst = tmp_path / "out16.png"
    assert up_cli.main([str(src), "-o", str(dst), "--scale", "3", "--weights", str(weights_file)]) == 0
    got = read_image(dst)
    assert got.dtype == np.uint16 and got.shape == (shape[0] * 3, shape[1] * 3) + shape[2:]
    assert_within_one_step(got, reference_upscale(img, model, 3))


def test_cli_folder_output_and_overwrite(tmp_path, weights_file, capsys):
    srcs = []
    for i in range(2):
        srcs.append(tmp_path / f"im{i}.png")
        Image.fromarray(_image((20, 20), seed=i)).save(srcs[-1])
    out = tmp_path / "out"
    args = [str(s) for s in srcs] + ["-o", str(out), "--scale", "3", "--weights", str(weights_file)]
    assert up_cli.main(args) == 0
    made = sorted(p.name for p in out.iterdir())
    assert made == ["im0_x3.png", "im1_x3.png"]
    (out / "im1_x3.png").write_bytes(b"mine")
    capsys.readouterr()
    assert up_cli.main(args) == 2
    err = capsys.readouterr().err
    assert "exists; pass --overwrite" in err and len(err.strip().splitlines()) == 1
    assert (out / "im1_x3.png").read_bytes() == b"mine"
    assert up_cli.main(args + ["--overwrite"]) == 0
    assert Image.open(out / "im1_x3.png").size == (60, 60)


def _truncated_png(path):
    Image.fromarray(_image((40, 40, 3))).save(path)
    path.write_bytes(path.read_bytes()[:300])
    return path


@pytest.mark.parametrize(
    "make, extra, message",
    [
        (lambda d: d / "missing.png", [], "no such file"),
        (lambda d: d, [], "a folder with no images"),
        (lambda d: (d / "text.png").write_text("hello") and d / "text.png", [], "not an image"),
        (lambda d: _truncated_png(d / "trunc.png"), [], "truncated or corrupt"),
        (lambda d: _saved(d / "ok.png"), ["--scale", "2"], "trained for x3"),
        (lambda d: _saved(d / "tiny.png", (4, 9)), [], "9x4 is too small to upscale with the 9-1-5 network x3: each output "
         "pixel depends on 13x13 pixels of the x3 image, so the input needs at least 5 pixels on each side"),
        (lambda d: _saved(d / "ok.png"), ["--weights", "/nonexistent/x3.h5"], "not found"),
        (lambda d: _saved(d / "ok.png"), ["-o", "/nonexistent/dir/out.png"], "does not exist"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, weights_file, capsys, make, extra, message):
    src = make(tmp_path)
    dst = tmp_path / "result.png"
    argv = [str(src), "-o", str(dst), "--scale", "3", "--weights", str(weights_file)]
    for i in range(0, len(extra), 2):  # later flags override earlier ones
        argv += extra[i:i + 2]
    assert up_cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err, err
    lines = err.strip().splitlines()
    assert len([line for line in lines if "error:" in line]) == 1
    assert all(line.startswith(("npsrcnn 0.", "python -m npsrcnn.upscale: error:")) for line in lines), err
    assert not dst.exists()
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def _saved(path, shape=(20, 20)):
    Image.fromarray(_image(shape)).save(path)
    return path


def test_weights_of_another_architecture_are_refused(tmp_path, capsys):
    import h5py

    bad = tmp_path / "bad.h5"
    SRCNN(seed=0, scale=3).save(bad)
    with h5py.File(bad, "a") as f:
        del f["w2"]
        f["w2"] = np.zeros((32, 64, 3, 3), np.float32)  # w2 of a 9-3-5 net, file says 9-1-5
    src = _saved(tmp_path / "in.png")
    assert up_cli.main([str(src), "-o", str(tmp_path / "o.png"), "--scale", "3", "--weights", str(bad)]) == 2
    assert "9-3-5" in capsys.readouterr().err


def test_without_weights_the_error_says_what_to_pass(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(pretrained, "shipped_weights", lambda scale: None)
    src = _saved(tmp_path / "in.png")
    assert up_cli.main([str(src), "-o", str(tmp_path / "o.png"), "--scale", "3"]) == 2
    assert "pass --weights" in capsys.readouterr().err


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_shipped_weights_load_for_their_scale(scale):
    path = pretrained.shipped_weights(scale)
    assert path is not None and path.stat().st_size < 300_000  # 9-5-5: 57,000 float32 parameters
    model = SRCNN.load(path)
    assert model.scale == scale and model.arch in ("9-1-5", "9-5-5")
    assert model.config["train_config"]["scale"] == scale and model.config["train_config"]["arch"] == model.arch


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_shipped_weights_beat_bicubic_on_set5(datasets, scale):
    from npsrcnn.model.evaluation import evaluate_dataset

    model = SRCNN.load(pretrained.shipped_weights(scale))
    result = evaluate_dataset(model, datasets / "Set5", scale, with_ssim=False)
    assert result["srcnn_psnr"] > result["bicubic_psnr"] + 0.3


def test_unwritable_format_and_corrupt_16_bit_data_are_one_line_errors(tmp_path, weights_file, capsys):
    src = tmp_path / "g16.png"
    write_image(src, _image((20, 20), np.uint16))
    assert up_cli.main([str(src), "-o", str(tmp_path / "out.bmp"), "--scale", "3", "--weights", str(weights_file)]) == 2
    assert "error:" in capsys.readouterr().err and not (tmp_path / "out.bmp").exists()
    c16 = tmp_path / "c16.png"
    write_image(c16, _image((30, 30, 3), np.uint16, seed=1))
    data = bytearray(c16.read_bytes())
    i = data.index(b"IDAT") + 4
    data[i:i + 20] = bytes(20)  # zeroed deflate stream, CRC fixed so only zlib can notice
    n = struct.unpack(">I", data[i - 8:i - 4])[0]
    data[i + n:i + n + 4] = struct.pack(">I", zlib.crc32(bytes(data[i - 4:i + n])))
    c16.write_bytes(bytes(data))
    assert up_cli.main([str(c16), "-o", str(tmp_path / "o.png"), "--scale", "3", "--weights", str(weights_file)]) == 2
    assert "truncated or corrupt" in capsys.readouterr().err


def test_a_folder_as_input_is_its_images_and_an_output_may_not_be_an_input(tmp_path, weights_file, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.bmp", "c.png"):
        Image.fromarray(_image((20, 24, 3))).save(folder / name)
    (folder / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    assert up_cli.main([str(folder), "-o", str(out), "--scale", "3", "--weights", str(weights_file), "--no-progress"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a_x3.png", "c_x3.png"]
    capsys.readouterr()
    before = (folder / "c.png").read_bytes()
    (folder / "a_x3.png").write_bytes((out / "a_x3.png").read_bytes())  # an earlier output, now an input too
    argv = [str(folder / "a.bmp"), str(folder / "a_x3.png"), "-o", str(folder),
            "--scale", "3", "--weights", str(weights_file), "--overwrite"]
    assert up_cli.main(argv) == 2
    assert_one_line_error(2, capsys.readouterr().err, f"output {folder / 'a_x3.png'} is also an input")
    assert (folder / "c.png").read_bytes() == before and (folder / "a_x3.png").read_bytes() == (out / "a_x3.png").read_bytes()


@pytest.mark.parametrize("flag", [[], ["--no-progress"]])
def test_progress_bar_over_bands_unless_no_progress(tmp_path, weights_file, capsys, flag):
    src = _saved(tmp_path / "in.png", (40, 30))
    argv = [str(src), "-o", str(tmp_path / "o.png"), "--scale", "3", "--weights", str(weights_file),
            "--band-rows", "30"]
    assert up_cli.main(argv + flag) == 0
    err = capsys.readouterr().err
    assert ("in.png:   0%" in err and "| 0/4 [" in err) == (not flag), err


# ------------------------------------------------------------------------------------ JPEG and WebP output


@pytest.mark.parametrize("suffix, fmt", [(".jpg", "JPEG"), (".webp", "WEBP")])
def test_jpeg_and_webp_outputs_follow_quality(tmp_path, weights_file, model, suffix, fmt):
    img = _image((30, 26, 3))
    src = tmp_path / "in.png"
    Image.fromarray(img).save(src)
    want = upscaling.upscale_array(img, model, 3).astype(int)
    base = [str(src), "--scale", "3", "--weights", str(weights_file), "--no-progress"]
    err, size = {}, {}
    for q in (None, 95, 30):
        dst = tmp_path / f"q{q}{suffix}"
        assert up_cli.main(base + ["-o", str(dst)] + ([] if q is None else ["--quality", str(q)])) == 0
        with Image.open(dst) as im:
            assert im.format == fmt and im.size == (78, 90) and im.mode == "RGB"
            err[q], size[q] = np.abs(np.asarray(im).astype(int) - want).mean(), dst.stat().st_size
    assert (tmp_path / f"qNone{suffix}").read_bytes() == (tmp_path / f"q95{suffix}").read_bytes()  # 95 by default
    assert err[95] < err[30] and size[95] > size[30]
    assert err[95] < 4


def test_folder_output_in_the_format_asked(tmp_path, weights_file):
    srcs = [_saved(tmp_path / f"im{i}.png") for i in range(2)]
    out = tmp_path / "out"
    argv = [str(s) for s in srcs] + ["-o", str(out), "--scale", "3", "--weights", str(weights_file), "--format", "webp"]
    assert up_cli.main(argv + ["--quality", "80"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["im0_x3.webp", "im1_x3.webp"]
    assert all(Image.open(p).format == "WEBP" for p in out.iterdir())


def test_webp_keeps_alpha(tmp_path, weights_file, model):
    img = _image((20, 24, 4))
    src = tmp_path / "a.png"
    Image.fromarray(img, "RGBA").save(src)
    dst = tmp_path / "a.webp"
    assert up_cli.main([str(src), "-o", str(dst), "--scale", "3", "--weights", str(weights_file)]) == 0
    with Image.open(dst) as im:
        assert im.mode == "RGBA"
        alpha = np.asarray(im)[:, :, 3].astype(int)
    assert np.abs(alpha - upscaling.upscale_array(img, model, 3)[:, :, 3]).mean() < 3


def _rgba(path):
    Image.fromarray(_image((20, 20, 4)), "RGBA").save(path)
    return path


def _gray16(path):
    write_image(path, _image((20, 20), np.uint16))
    return path


def _colour16(path):
    write_image(path, _image((20, 20, 3), np.uint16))
    return path


@pytest.mark.parametrize("make, out, extra, message", [
    (_gray16, "o.jpg", [], "o.jpg: JPEG holds 8-bit images and {src} is 16-bit; write .png or .tif to keep 16 bits"),
    (_gray16, "o.webp", [], "WebP holds 8-bit images and {src} is 16-bit"),
    (_colour16, "o.jpg", [], "o.jpg: 16-bit colour images can only be written as .png, and {src} is one"),
    (_rgba, "o.jpg", [], "o.jpg: JPEG has no alpha channel and {src} has one; write .png or .webp to keep it"),
    (_rgba, "o.bmp", [], "o.bmp: BMP has no alpha channel"),
    (_saved, "o.png", ["--quality", "90"], "--quality is for JPEG and WebP outputs, and {tmp}/o.png is PNG"),
    (_saved, "o.jpg", ["--quality", "0"], "--quality must be 1-100, got 0"),
    (_saved, "o.png", ["--format", "jpg"], "-o {tmp}/o.png is PNG but --format is jpg"),
])
def test_formats_that_cannot_hold_the_image_are_refused(tmp_path, weights_file, capsys, make, out, extra, message):
    src = make(tmp_path / "in.png")
    before = sorted(tmp_path.iterdir())
    rc = up_cli.main([str(src), "-o", str(tmp_path / out), "--scale", "3", "--weights", str(weights_file), *extra])
    assert_one_line_error(rc, capsys.readouterr().err, message.format(src=src, tmp=tmp_path))
    assert sorted(tmp_path.iterdir()) == before


def test_a_later_input_jpeg_cannot_hold_stops_the_run_before_any_work(tmp_path, weights_file, capsys):
    srcs = [_saved(tmp_path / "a.png"), _rgba(tmp_path / "b.png")]
    out = tmp_path / "out"
    argv = [str(s) for s in srcs] + ["-o", str(out), "--scale", "3", "--weights", str(weights_file), "--format", "jpg"]
    assert_one_line_error(up_cli.main(argv), capsys.readouterr().err, f"{out / 'b_x3.jpg'}: JPEG has no alpha channel")
    assert not out.exists()


# ------------------------------------------------------------------------------------ --compare


def _panels(path, n, H, W):
    from npsrcnn.image.panels import GAP, HEADER

    cmp = np.asarray(Image.open(path))
    assert cmp.shape == (HEADER + H, n * W + (n - 1) * GAP, 3)
    assert (cmp[HEADER:, W:W + GAP] == 255).all()  # the gap stays white under long labels
    assert (cmp[:HEADER] < 128).any()  # some label text was drawn
    return [cmp[HEADER:, i * (W + GAP):i * (W + GAP) + W] for i in range(n)]


def test_compare_with_reference_shows_bicubic_srcnn_and_the_original(tmp_path, weights_file, capsys):
    from npsrcnn.image.panels import bicubic_image

    hr = _image((61, 50, 3), seed=4)  # not a multiple of 3: the reference is cropped as modcrop does
    Image.fromarray(hr).save(tmp_path / "orig.png")
    lr = _quantize(imresize(hr[:60, :48].astype(np.float32) / 255, 1 / 3), np.uint8)
    Image.fromarray(lr).save(tmp_path / "small.png")
    argv = [str(tmp_path / "small.png"), "-o", str(tmp_path / "big.png"), "--scale", "3", "--weights",
            str(weights_file), "--compare", str(tmp_path / "cmp.png"), "--reference", str(tmp_path / "orig.png")]
    assert up_cli.main(argv) == 0
    assert f"comparison (bicubic | SRCNN 9-1-5 x3 | original) -> {tmp_path / 'cmp.png'}" in capsys.readouterr().err
    bicubic, srcnn, original = _panels(tmp_path / "cmp.png", 3, 60, 48)
    np.testing.assert_array_equal(srcnn, read_image(tmp_path / "big.png"))
    np.testing.assert_array_equal(bicubic, bicubic_image(lr, 3))
    np.testing.assert_array_equal(original, hr[:60, :48])
    assert np.abs(bicubic.astype(int) - srcnn).mean() > 1  # the panels differ where the network acted


def test_compare_without_reference_and_16_bit_gray(tmp_path, weights_file, model):
    img = _image((22, 18), np.uint16)
    write_image(tmp_path / "g16.png", img)
    argv = [str(tmp_path / "g16.png"), "-o", str(tmp_path / "o.png"), "--scale", "3", "--weights", str(weights_file),
            "--compare", str(tmp_path / "c.png")]
    assert up_cli.main(argv) == 0
    bicubic, srcnn = _panels(tmp_path / "c.png", 2, 66, 54)
    out16 = read_image(tmp_path / "o.png").astype(np.int64)
    want = (out16 * 255 + 32767) // 65535  # 16 bits shown as 8, rounded
    np.testing.assert_array_equal(srcnn, np.repeat(want[:, :, None], 3, axis=2))


@pytest.mark.parametrize("extra, message", [
    (["--compare", "{tmp}/c.png", "--inputs2"], "--compare works with one input, got 2"),
    (["--reference", "{tmp}/in.png"], "--reference is shown in the --compare image; pass --compare FILE.png too"),
    (["--compare", "{tmp}/c.jpg"], "--compare {tmp}/c.jpg: write a .png file"),
    (["--compare", "{tmp}/out.png"], "is also the -o output"),
    (["--compare", "{tmp}/mine.png"], "output {tmp}/mine.png exists; pass --overwrite"),
    (["--compare", "{tmp}/c.png", "--reference", "{tmp}/nope.png"], "nope.png: no such file"),
    (["--compare", "{tmp}/c.png", "--reference", "{tmp}/in.png"], "--reference {tmp}/in.png is 20x20 but the upscaled"),
])
def test_compare_bad_input_writes_nothing(tmp_path, weights_file, capsys, extra, message):
    src = _saved(tmp_path / "in.png")
    (tmp_path / "mine.png").write_bytes(b"mine")
    inputs = [str(src)] + ([str(_saved(tmp_path / "in2.png"))] if "--inputs2" in extra else [])
    before = sorted(tmp_path.iterdir())
    extra = [a.format(tmp=tmp_path) for a in extra if a != "--inputs2"]
    out = tmp_path / ("out" if len(inputs) > 1 else "out.png")
    rc = up_cli.main(inputs + ["-o", str(out), "--scale", "3", "--weights", str(weights_file), *extra])
    assert_one_line_error(rc, capsys.readouterr().err, message.format(tmp=tmp_path))
    assert sorted(tmp_path.iterdir()) == before and (tmp_path / "mine.png").read_bytes() == b"mine"


def test_the_python_api_takes_and_returns_the_same_kind(weights_file, model):
    """npsrcnn.upscale_image: arrays (uint8, uint16, float, 2-D and 3-D) and PIL images in, the same kind
    out, equal to what the command computes; weights by name, path or network."""
    import npsrcnn

    rgb = _image((21, 17, 3))
    want = upscaling.upscale_array(rgb, model, 3)
    got = npsrcnn.upscale_image(rgb, scale=3, weights=weights_file)
    assert got.dtype == np.uint8 and np.array_equal(got, want)
    assert np.array_equal(npsrcnn.upscale_image(rgb, 3, weights=model), want)
    grey16 = _image((15, 19), np.uint16)
    assert np.array_equal(npsrcnn.upscale_image(grey16, 3, weights_file), upscaling.upscale_array(grey16, model, 3))
    floats = rgb.astype(np.float32) / 255
    out = npsrcnn.upscale_image(floats, 3, weights_file)
    assert out.dtype == np.float32 and out.shape == (63, 51, 3) and 0 <= out.min() and out.max() <= 1
    assert np.abs(out * 255 - want).max() <= 0.51  # the same image, without the rounding to 8 bits
    im = npsrcnn.upscale_image(Image.fromarray(rgb), 3, weights_file)
    assert isinstance(im, Image.Image) and im.mode == "RGB" and np.array_equal(np.asarray(im), want)
    assert npsrcnn.upscale_image(rgb[:, :, :1], 3, weights_file).shape == (63, 51, 1)
    shipped = npsrcnn.upscale_image(rgb, scale=3)  # the weights shipped for x3, read once per process
    assert shipped.shape == (63, 51, 3) and npsrcnn.upscale_image(rgb, 3, "x3").tobytes() == shipped.tobytes()


@pytest.mark.parametrize("image, error, text", [
    ("photo.png", TypeError, "a NumPy array or a PIL image"),
    (np.zeros((4, 5, 2), np.uint8), ValueError, "expected (H, W), (H, W, 3) or (H, W, 4)"),
    (np.zeros((20, 20), np.int32), ValueError, "dtype int32"),
    (np.zeros((3, 30), np.uint8), UserError, "needs at least 5 pixels on each side"),
])
def test_the_python_api_says_what_is_wrong(weights_file, image, error, text):
    import npsrcnn

    with pytest.raises(error, match=re.escape(text)):
        npsrcnn.upscale_image(image, 3, weights_file)
