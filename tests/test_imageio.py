"""Image reading/writing: modes, bit depths, the 16-bit colour PNG codec, and one-line errors."""
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from npsrcnn.image.io import read_image, write_image
from npsrcnn.image.png16 import read_png16
from npsrcnn.util.errors import UserError


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


def _paeth(a, b, c):
    """PNG specification, section 9.4: the neighbour nearest to a + b - c (ties: a, then b, then c)."""
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def encode_png16(img, filters):
    """An independent 16-bit PNG encoder written from the specification (ISO/IEC 15948, section 9):
    row y is filtered with filter type filters[y] (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth)."""
    H, W, C = img.shape
    raw = img.astype(">u2").reshape(H, W * C).view(np.uint8).astype(int).tolist()  # H rows of 2*C*W bytes
    bpp = 2 * C
    body = bytearray()
    for y, row in enumerate(raw):
        up = raw[y - 1] if y else [0] * len(row)
        body.append(filters[y])
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            c = up[i - bpp] if i >= bpp else 0
            pred = [0, a, up[i], (a + up[i]) // 2, _paeth(a, up[i], c)][filters[y]]
            body.append((x - pred) % 256)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ctype = {1: 0, 2: 4, 3: 2, 4: 6}[C]
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 16, ctype, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(body))) + chunk(b"IEND", b""))


@pytest.mark.parametrize("C", [1, 2, 3, 4])
@pytest.mark.parametrize("filters", ["none", "sub", "up", "average", "paeth", "mixed"])
def test_16_bit_png_rows_with_every_filter_type_decode_exactly(tmp_path, C, filters):
    H, W = 9, 7
    img = _rand((H, W, C), np.uint16)
    img[:, : W // 2] = (np.arange(H * (W // 2) * C).reshape(H, W // 2, C) * 4099 % 65536)  # smooth + noisy halves
    img[H // 2:] = _rand((H - H // 2, W, C), np.uint16, seed=1) % 3 * 257  # bytes 0-2: ties in Paeth's choice
    kinds = ["none", "sub", "up", "average", "paeth"]
    rows = [y % 5 for y in range(H)] if filters == "mixed" else [kinds.index(filters)] * H
    data = encode_png16(img, rows)
    np.testing.assert_array_equal(read_png16(data), img)  # our decoder
    (tmp_path / "f.png").write_bytes(data)
    got = read_image(tmp_path / "f.png")  # gray + alpha comes back as RGBA, gray (Pillow's decoder) as (H, W)
    want = img[:, :, 0] if C == 1 else img[:, :, [0, 0, 0, 1]] if C == 2 else img
    np.testing.assert_array_equal(got, want)
    if C == 1:  # Pillow decodes 16-bit gray itself: it checks this test's encoder
        with Image.open(tmp_path / "f.png") as im:
            np.testing.assert_array_equal(np.asarray(im), img[:, :, 0])


def test_pillow_would_lose_the_low_byte_of_16_bit_colour(tmp_path):
    img = _rand((4, 5, 3), np.uint16)
    img[0, 0] = (1, 2, 3)
    write_image(tmp_path / "c16.png", img)
    with Image.open(tmp_path / "c16.png") as im:
        assert np.asarray(im).dtype == np.uint8  # why npsrcnn.image.png16 exists
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
def test_pixel_limit_is_checked_from_the_header(tmp_path, C):
    from npsrcnn.image.io import header

    shape = (40, 30) if C is None else (40, 30, C)
    dtype = np.uint8 if C is None else np.uint16
    write_image(tmp_path / "big.png", _rand(shape, dtype))
    for read in (read_image, header):
        with pytest.raises(UserError, match="big.png: refused, a 30x40 image is 1,200 pixels, over the limit of 1,199"):
            read(tmp_path / "big.png", max_pixels=1199)
    assert read_image(tmp_path / "big.png", max_pixels=1200).shape == shape
    assert header(tmp_path / "big.png") == (30, 40, 8 * np.dtype(dtype).itemsize, C or 1)


def test_default_limit_is_pillows_bomb_count_and_pillow_is_left_as_it_was(tmp_path, monkeypatch):
    from npsrcnn.util.limits import MAX_PIXELS

    assert MAX_PIXELS == 2 * Image.MAX_IMAGE_PIXELS  # where Pillow raises DecompressionBombError
    write_image(tmp_path / "a.png", _rand((8, 8), np.uint8))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10)  # the caller's own setting survives our reads
    assert read_image(tmp_path / "a.png", max_pixels=None).shape == (8, 8)
    assert Image.MAX_IMAGE_PIXELS == 10


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
    from npsrcnn.image.io import probe

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
