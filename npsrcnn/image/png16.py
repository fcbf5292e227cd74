"""16-bit colour PNG reading and writing, which Pillow does not do (it reduces such files to 8 bits).

Only what :mod:`npsrcnn.image.io` needs: non-interlaced PNGs of bit depth 16 with colour type 2 (RGB),
4 (gray + alpha) or 6 (RGBA) (and 0, gray, which Pillow reads itself), as in the PNG specification (ISO/IEC 15948): chunks checked by CRC,
the IDAT stream inflated with zlib, and the five row filters undone by a Numba kernel.
"""
import io
import struct
import zlib

import numpy as np

from ..util.jit import njit

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # colour type -> samples per pixel
COLOUR = (2, 4, 6)  # the types Pillow reduces to 8 bits


class TooManyPixels(ValueError):
    """The image is larger than the caller's limit, or its data inflates beyond its header's size (a bomb)."""


def is_png16_colour(head):
    """True if `head` (the file's first 33 bytes or more) starts a 16-bit RGB, gray+alpha or RGBA PNG."""
    return (len(head) >= 33 and head[:8] == SIGNATURE and head[12:16] == b"IHDR"
            and head[24] == 16 and head[25] in COLOUR)


MAX_LENGTH = 2**31 - 1  # the specification's largest chunk length
PIECE = 1 << 20  # bytes of a chunk read at a time, and of image data inflated at a time


def read_header(fh, max_pixels=None):
    """(W, H, ctype) from the signature and IHDR chunk at the start of the binary file `fh`, checked.

    Raises
    ------
    ValueError
        Not a PNG, an IHDR that is not first or not 13 bytes, a CRC error, a zero or >2^31-1 side, a
        depth other than 16, an unknown colour type, compression or filter method, or interlacing.
    TooManyPixels
        More than `max_pixels` pixels.
    """
    if fh.read(8) != SIGNATURE:
        raise ValueError("not a PNG file")
    length, kind = _chunk_head(fh)
    if kind != b"IHDR" or length != 13:
        raise ValueError(f"the first chunk must be a 13-byte IHDR, found {length} bytes of {kind!r}")
    body = _chunk_body(fh, kind, length)
    W, H, depth, ctype, compression, filtering, interlace = struct.unpack(">IIBBBBB", body)
    if not (0 < W <= MAX_LENGTH and 0 < H <= MAX_LENGTH):
        raise ValueError(f"image size {W}x{H} in IHDR")
    if depth != 16 or ctype not in CHANNELS or compression or filtering:
        raise ValueError(f"IHDR says bit depth {depth}, colour type {ctype}, compression {compression}, filter "
                         f"{filtering}: not a 16-bit PNG this decoder reads")
    if interlace:
        raise ValueError("interlaced 16-bit PNGs are not supported")
    if max_pixels is not None and W * H > max_pixels:
        raise TooManyPixels(f"a {W}x{H} image is {W * H:,} pixels, over the limit of {max_pixels:,}")
    return W, H, ctype


def _chunk_head(fh):
    """(length, type) of the next chunk; ValueError at the end of the file or for a malformed head."""
    head = fh.read(8)
    if len(head) < 8:
        raise ValueError("no IEND chunk (truncated)")
    length, kind = struct.unpack(">I", head[:4])[0], head[4:]
    if length > MAX_LENGTH or not kind.isalpha():
        raise ValueError(f"malformed chunk {kind!r} of {length} bytes")
    return length, kind


def _chunk_pieces(fh, kind, length):
    """A chunk's body in pieces of at most PIECE bytes, then its CRC checked; ValueError if truncated."""
    crc = zlib.crc32(kind)
    while length:
        piece = fh.read(min(length, PIECE))
        if not piece:
            raise ValueError("file ends inside a chunk (truncated)")
        crc = zlib.crc32(piece, crc)
        length -= len(piece)
        yield piece
    stored = fh.read(4)
    if len(stored) != 4:
        raise ValueError("file ends inside a chunk (truncated)")
    if struct.unpack(">I", stored)[0] != crc:
        raise ValueError(f"CRC mismatch in chunk {kind!r}")


def _chunk_body(fh, kind, length):
    return b"".join(_chunk_pieces(fh, kind, length))


def read_png16(data, max_pixels=None):
    """Decode a 16-bit PNG held in `data` (bytes, or a binary file positioned at its start).

    The image data is inflated a piece at a time into the H * (1 + 2*C*W) bytes the header implies,
    and a stream that would inflate to more is refused: memory stays that of the image, whatever the
    file holds. Chunks are read a piece at a time too (a 2 GB text chunk is skipped, not loaded).

    Returns
    -------
    img : ndarray, shape (H, W, C), uint16, C = 3 (RGB), 2 (gray + alpha), 4 (RGBA) or 1 (gray)

    Raises
    ------
    ValueError
        Not such a PNG, a malformed or second IHDR, interlaced, truncated, a CRC or zlib error, image
        data longer or shorter than the header implies, or more than `max_pixels` pixels
        (:class:`TooManyPixels`).
    """
    fh = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
    W, H, ctype = read_header(fh, max_pixels)
    C = CHANNELS[ctype]
    bpp, stride = 2 * C, 2 * C * W
    want = H * (stride + 1)
    raw = np.empty(want, np.uint8)  # H rows: a filter byte, then the row's big-endian samples
    inflater, got = zlib.decompressobj(), 0
    while True:
        length, kind = _chunk_head(fh)
        if kind == b"IHDR":
            raise ValueError("a second IHDR chunk")
        for piece in _chunk_pieces(fh, kind, length):
            if kind == b"IDAT" and not inflater.eof:
                got = _inflate(inflater, piece, raw, got)
        if kind == b"IEND":
            break
    if not inflater.eof or got != want:
        raise ValueError(f"corrupt or truncated image data: {got} bytes of the {want} a {W}x{H} image needs")
    rows = raw.reshape(H, stride + 1)
    out = np.empty((H, stride), np.uint8)
    bad = _unfilter(rows, bpp, out)
    del raw, rows  # the filtered bytes go before the uint16 copy is made
    if bad >= 0:
        raise ValueError(f"unknown row filter type {bad}")
    return out.view(">u2").reshape(H, W, C).astype(np.uint16)


def _inflate(inflater, piece, raw, got):
    """Inflate `piece` into raw[got:], PIECE bytes at a time; returns the new fill. ValueError for a
    zlib error, TooManyPixels for data beyond len(raw) (a stream longer than the header implies: a bomb)."""
    try:
        while True:
            limit = min(len(raw) - got + 1, PIECE)  # one byte more than fits tells a bomb from a fit
            out = inflater.decompress(piece, limit)
            if got + len(out) > len(raw):
                raise TooManyPixels(f"its image data inflates to more than the {len(raw):,} bytes its header implies "
                                    "(a decompression bomb)")
            raw[got:got + len(out)] = np.frombuffer(out, np.uint8)
            got += len(out)
            piece = inflater.unconsumed_tail
            if not piece and len(out) < limit:  # all input used and no output held back
                return got
    except zlib.error as exc:
        raise ValueError(f"corrupt or truncated image data ({exc})") from None


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
