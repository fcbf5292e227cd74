"""Image reading/writing: modes, bit depths, the 16-bit colour PNG codec, and one-line errors."""
import numpy as np
import pytest
from PIL import Image

from npsrcnn._cli import UserError
from npsrcnn.imageio import read_image, write_image
from npsrcnn.png16 import read_png16


def _rand(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, np.iinfo(dtype).max + 1, shape, dtype=np.int64).astype(dtype)


@pytest.mark.parametrize("shape, dtype, mode", [((7, 9), np.uint8, "L"), ((7, 9, 3), np.uint8, "RGB"),
                                                ((7, 9, 4), np.uint8, "RGBA"), ((7, 9), np.uint16, "I;16")])
def test_round_trip_through_pillow_formats(tmp_path, shape, dtype, mode):
    img = _rand(shape, dtype)
    path = tmp_path / "a.png"
    write_image(path, img)
    with Image.open(path) as im:
        assert im.mode == mode
    got = read_image(path)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, img)


def test_palette_and_gray_alpha_become_rgb_and_rgba(tmp_path):
    Image.fromarray(_rand((5, 6, 3), np.uint8)).convert("P").save(tmp_path / "p.png")
    assert read_image(tmp_path / "p.png").shape == (5, 6, 3)
    Image.fromarray(_rand((5, 6, 2), np.uint8), "LA").save(tmp_path / "la.png")
    rgba = read_image(tmp_path / "la.png")
    assert rgba.shape == (5, 6, 4) and (rgba[:, :, 0] == rgba[:, :, 2]).all()


@pytest.mark.parametrize("C", [3, 4])
def test_16_bit_colour_png_round_trip(tmp_path, C):
    img = _rand((11, 13, C), np.uint16)
    write_image(tmp_path / "c16.png", img)
    got = read_image(tmp_path / "c16.png")
    assert got.dtype == np.uint16
    np.testing.assert_array_equal(got, img)


@pytest.mark.parametrize("C", [3, 4])
def test_16_bit_png_written_by_libpng_decodes_exactly(tmp_path, C):
    """OpenCV's libpng picks adaptive row filters (Sub, Up, Average, Paeth): an independent encoder."""
    cv2 = pytest.importorskip("cv2")
    H, W = 40, 37
    ramp = (np.arange(H * W * C).reshape(H, W, C) * 97 % 65536).astype(np.uint16)
    img = np.where(np.arange(W)[None, :, None] < W // 2, ramp, _rand((H, W, C), np.uint16))
    bgr = img[:, :, [2, 1, 0, 3][:C]]
    assert cv2.imwrite(str(tmp_path / "cv.png"), bgr)
    np.testing.assert_array_equal(read_image(tmp_path / "cv.png"), img)


def test_pillow_would_lose_the_low_byte_of_16_bit_colour(tmp_path):
    img = _rand((4, 5, 3), np.uint16)
    img[0, 0] = (1, 2, 3)
    write_image(tmp_path / "c16.png", img)
    with Image.open(tmp_path / "c16.png") as im:
        assert np.asarray(im).dtype == np.uint8  # why npsrcnn.png16 exists
    assert read_image(tmp_path / "c16.png")[0, 0].tolist() == [1, 2, 3]


def test_truncated_16_bit_png_is_a_user_error(tmp_path):
    write_image(tmp_path / "c16.png", _rand((30, 30, 3), np.uint16))
    data = (tmp_path / "c16.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="truncated or corrupt"):
        read_image(tmp_path / "cut.png")
    with pytest.raises(ValueError, match="CRC"):
        read_png16(data[:40] + bytes([data[40] ^ 1]) + data[41:])


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "missing.png", "no such file"),
        (lambda d: d, "is a directory"),
        (lambda d: _write(d / "x.png", b"plain text, not a picture"), "not an image"),
        (lambda d: _write(d / "x.png", _png_bytes(d)[:200]), "truncated or corrupt"),
    ],
)
def test_bad_files_raise_one_line_user_errors(tmp_path, make, message):
    with pytest.raises(UserError, match=message) as exc:
        read_image(make(tmp_path))
    assert "\n" not in str(exc.value)


def _write(path, data):
    path.write_bytes(data)
    return path


def _png_bytes(d):
    Image.fromarray(_rand((50, 50, 3), np.uint8)).save(d / "full.png")
    return (d / "full.png").read_bytes()


@pytest.mark.parametrize("C", [None, 3])
def test_decompression_bomb_limit_stays_on(tmp_path, monkeypatch, C):
    shape = (40, 40) if C is None else (40, 40, C)
    dtype = np.uint8 if C is None else np.uint16
    write_image(tmp_path / "big.png", _rand(shape, dtype))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(UserError, match="refused, .*(decompression|bomb)"):
        read_image(tmp_path / "big.png")


def test_write_refuses_to_replace_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "mine.png"
    path.write_bytes(b"precious")
    with pytest.raises(UserError, match="exists"):
        write_image(path, _rand((4, 4), np.uint8))
    assert path.read_bytes() == b"precious"
    with pytest.raises(UserError, match="only be written as .png"):
        write_image(tmp_path / "x.bmp", _rand((4, 4, 3), np.uint16))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.png"]


@pytest.mark.parametrize("make", [
    lambda p: Image.fromarray(_rand((5, 6), np.uint8)).save(p),
    lambda p: Image.fromarray(_rand((5, 6, 3), np.uint8)).save(p),
    lambda p: Image.fromarray(_rand((5, 6, 4), np.uint8)).save(p),
    lambda p: Image.fromarray(_rand((5, 6, 2), np.uint8), "LA").save(p),
    lambda p: Image.fromarray(_rand((5, 6, 3), np.uint8)).convert("P").save(p),
    lambda p: Image.fromarray(_rand((5, 6, 3), np.uint8)).convert("P").save(p, transparency=0),
    lambda p: write_image(p, _rand((5, 6), np.uint16)),
    lambda p: write_image(p, _rand((5, 6, 3), np.uint16)),
    lambda p: write_image(p, _rand((5, 6, 4), np.uint16)),
])
def test_probe_agrees_with_read_image(tmp_path, make):
    from npsrcnn.imageio import probe

    path = tmp_path / "x.png"
    make(path)
    img = read_image(path)
    assert probe(path) == (8 * img.itemsize, 1 if img.ndim == 2 else img.shape[2])


@pytest.mark.parametrize("suffix", [".jpg", ".webp"])
def test_quality_reaches_the_encoder(tmp_path, suffix):
    img = _rand((32, 32, 3), np.uint8)
    write_image(tmp_path / f"hi{suffix}", img, quality=95)
    write_image(tmp_path / f"lo{suffix}", img, quality=20)
    assert (tmp_path / f"hi{suffix}").stat().st_size > 1.5 * (tmp_path / f"lo{suffix}").stat().st_size
