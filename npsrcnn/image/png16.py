"""16-bit colour PNG reading and writing, which Pillow does not do (it reduces such files to 8 bits).

Only what :mod:`npsrcnn.image.io` needs: non-interlaced PNGs of bit depth 16 with colour type 2 (RGB),
4 (gray + alpha) or 6 (RGBA) (and 0, gray, which Pillow reads itself), as in the PNG specification (ISO/IEC 15948): chunks checked by CRC,
the IDAT stream inflated with zlib, and the five row filters undone by a Numba kernel.
"""
import struct
import zlib

import numpy as np

from ..util.jit import njit

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # colour type -> samples per pixel
COLOUR = (2, 4, 6)  # the types Pillow reduces to 8 bits


class TooManyPixels(ValueError):
    """The image is larger than the caller's decompression-bomb limit."""


def is_png16_colour(head):
    """True if `head` (the file's first 33 bytes or more) starts a 16-bit RGB, gray+alpha or RGBA PNG."""
    return (len(head) >= 33 and head[:8] == SIGNATURE and head[12:16] == b"IHDR"
            and head[24] == 16 and head[25] in COLOUR)


def _chunks(data):
    pos = 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        crc = data[pos + 8 + length:pos + 12 + length]
        if len(body) != length or len(crc) != 4:
            raise ValueError("file ends inside a chunk (truncated)")
        if struct.unpack(">I", crc)[0] != zlib.crc32(kind + body):
            raise ValueError(f"CRC mismatch in chunk {kind!r}")
        yield kind, body
        if kind == b"IEND":
            return
        pos += 12 + length
    raise ValueError("no IEND chunk (truncated)")


def read_png16(data, max_pixels=None):
    """Decode a 16-bit PNG held in `data` (bytes).

    Returns
    -------
    img : ndarray, shape (H, W, C), uint16, C = 3 (RGB), 2 (gray + alpha), 4 (RGBA) or 1 (gray)

    Raises
    ------
    ValueError
        Not such a PNG, interlaced, truncated, a CRC or zlib error, or more than `max_pixels` pixels.
    """
    if not (is_png16_colour(data[:33]) or (data[:8] == SIGNATURE and data[24:26] == b"\x10\x00")):
        raise ValueError("not a 16-bit PNG")
    idat = []
    for kind, body in _chunks(data):
        if kind == b"IHDR":
            W, H, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if interlace:
                raise ValueError("interlaced 16-bit PNGs are not supported")
            if max_pixels is not None and W * H > max_pixels:
                raise TooManyPixels(f"{W}x{H} pixels exceeds the decompression-bomb limit of {max_pixels}")
        elif kind == b"IDAT":
            idat.append(body)
    C = CHANNELS[ctype]
    bpp, stride = 2 * C, 2 * C * W
    try:
        raw = zlib.decompress(b"".join(idat))
    except zlib.error as exc:
        raise ValueError(f"corrupt or truncated image data ({exc})") from None
    if len(raw) != H * (stride + 1):
        raise ValueError(f"image data holds {len(raw)} bytes, expected {H * (stride + 1)} (truncated)")
    rows = np.frombuffer(raw, np.uint8).reshape(H, stride + 1)
    out = np.empty((H, stride), np.uint8)
    bad = _unfilter(rows, bpp, out)
    if bad >= 0:
        raise ValueError(f"unknown row filter type {bad}")
    return out.view(">u2").reshape(H, W, C).astype(np.uint16)


@njit
def _unfilter(rows, bpp, out):
    """Undo PNG filters row by row (spec section 9); returns -1, or the first unknown filter type."""
    H, n = out.shape
    for y in range(H):
        ft = rows[y, 0]
        for i in range(n):
            x = np.int32(rows[y, i + 1])
            a = np.int32(out[y, i - bpp]) if i >= bpp else 0
            b = np.int32(out[y - 1, i]) if y > 0 else 0
            if ft == 0:
                v = x
            elif ft == 1:
                v = x + a
            elif ft == 2:
                v = x + b
            elif ft == 3:
                v = x + (a + b) // 2
            elif ft == 4:
                c = np.int32(out[y - 1, i - bpp]) if (y > 0 and i >= bpp) else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                v = x + (a if (pa <= pb and pa <= pc) else (b if pb <= pc else c))
            else:
                return ft
            out[y, i] = v & 0xFF
    return -1


def write_png16(fh, img):
    """Write a uint16 (H, W, 3) or (H, W, 4) array to the binary file `fh` as a 16-bit PNG (filter 0)."""
    H, W, C = img.shape
    ctype = {3: 2, 4: 6}[C]
    rows = np.zeros((H, 1 + 2 * C * W), np.uint8)  # filter byte 0 ("None") then big-endian samples
    rows[:, 1:] = img.astype(">u2").reshape(H, -1).view(np.uint8)

    def chunk(kind, body):
        fh.write(struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body)))

    fh.write(SIGNATURE)
    chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 16, ctype, 0, 0, 0))
    chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
    chunk(b"IEND", b"")
