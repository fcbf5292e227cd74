"""Hostile files are ordinary input (docs/reliability.md): each class of crafted file, through the commands.

Every command runs in a subprocess whose address space is capped (RLIMIT_AS, LIMIT bytes), so a reader
that allocated what a file declares would die with MemoryError instead of refusing it. Each refusal
must be exit code 2 with one error line naming the file, no traceback, and every file that was in the
folder before the command unchanged. The files are a few kilobytes to a few megabytes: the bombs are
written as one deflate block repeated, never inflated here.
"""
import hashlib
import os
import re
import resource
import struct
import subprocess
import sys
import zipfile
import zlib

import h5py
import numpy as np
import pytest
from PIL import Image

from conftest import REPO
from npsrcnn.model.srcnn import NAMES, SRCNN

LIMIT = int(2.5 * (1 << 30))  # bytes of address space: far below every allocation these files ask for


def run_limited(*args, cwd):
    """``python -m npsrcnn *args`` in `cwd` with its address space capped at LIMIT."""

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
               NUMBA_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2")
    return subprocess.run([sys.executable, "-m", "npsrcnn", *map(str, args)], cwd=cwd, env=env, preexec_fn=cap,
                          capture_output=True, text=True, timeout=120)


def hashes(folder):
    return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def assert_refused(folder, args, text):
    """The command exits 2 with exactly one error line containing `text`, no traceback, nothing changed."""
    before = hashes(folder)
    r = run_limited(*args, cwd=folder)
    errors = [line for line in r.stderr.splitlines() if "error:" in line]
    assert r.returncode == 2, r.stderr[-3000:]
    assert len(errors) == 1 and text in errors[0], r.stderr[-3000:]
    assert "Traceback" not in r.stderr and "Warning" not in r.stderr, r.stderr[-3000:]
    assert hashes(folder) == before  # every file kept, none added
    return errors[0]


def upscale(*extra, scale=3):
    """npsrcnn upscale of the `folder` fixture's photo.png onto its out.png (which exists: --overwrite)."""
    return ["upscale", "photo.png", "-o", "out.png", "--scale", str(scale), "--overwrite", *extra]


def train(*extra):
    """npsrcnn train for one epoch on the patch file p.h5, into run/."""
    return ["train", "--train-h5", "p.h5", "--scale", "3", "--epochs", "1", "--batch-size", "4", "--out", "run",
            "--no-progress", *extra]


# ------------------------------------------------------------------------------------------ crafting


def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def ihdr(W, H, depth=16, ctype=2):
    return chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, depth, ctype, 0, 0, 0))


def zeros_stream(n_mib):
    """A zlib stream inflating to about `n_mib` MiB of zeros, in about n_mib KB: one block, repeated.

    A full flush ends each block byte-aligned with a fresh dictionary, so every block after the first
    compresses to the same bytes. The stream has no end (no final block, no checksum): a reader has
    to refuse it long before it would find out.
    """
    c = zlib.compressobj(9)
    z = bytes(1 << 20)
    first = c.compress(z) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(z) + c.flush(zlib.Z_FULL_FLUSH)
    return first + block * (n_mib - 1)


def png16_bomb(path, ctype=2, idat_chunks=1, gib=5):
    """A 16x16 16-bit PNG whose image data inflates to `gib` GiB (the header implies 1.5 KB)."""
    stream = zeros_stream(int(gib * 1024))
    step = -(-len(stream) // idat_chunks)
    idats = b"".join(chunk(b"IDAT", stream[i:i + step]) for i in range(0, len(stream), step))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + ihdr(16, 16, 16, ctype) + idats + chunk(b"IEND", b""))
    return path


def png16(path, img=None):
    """A valid 16-bit RGB PNG (ours), 20x20 by default."""
    from npsrcnn.image.io import write_image

    img = np.random.default_rng(0).integers(0, 65536, (20, 20, 3)).astype(np.uint16) if img is None else img
    write_image(path, img)
    return path


def model_file(path, **attrs):
    """A small valid weights file (3-1-3, 4 and 2 channels, scale 3), then `attrs` set on it."""
    m = SRCNN(3, 1, 3, n1=4, n2=2, scale=3)
    m.save(path)
    with h5py.File(path, "a") as f:
        for k, v in attrs.items():
            f.attrs[k] = v
    return path


def replace_w1(path, make):
    """`path` with its w1 replaced by what make(file, "w1") creates."""
    with h5py.File(path, "a") as f:
        del f["w1"]
        make(f, "w1")
    return path


def tiny_png(path, size=(24, 24)):
    Image.fromarray(np.random.default_rng(1).integers(0, 256, size + (3,)).astype(np.uint8)).save(path)
    return path


@pytest.fixture
def folder(tmp_path):
    """A folder with a small photo and an output the user already has (replaced only with --overwrite)."""
    tiny_png(tmp_path / "photo.png")
    (tmp_path / "out.png").write_bytes(b"the user's earlier result")
    return tmp_path


# ------------------------------------------------------------------- 1. decompression bombs in our decoder


@pytest.mark.parametrize("idat_chunks", [1, 7], ids=["one-idat", "7-idat"])
def test_png16_bomb_is_refused_by_upscale(folder, idat_chunks):
    png16_bomb(folder / "bomb.png", 2, idat_chunks)
    assert (folder / "bomb.png").stat().st_size < 6 << 20
    assert_refused(folder, ["upscale", "bomb.png", "-o", "out.png", "--scale", "2", "--overwrite"],
                   "bomb.png: refused, its image data inflates to more than")


@pytest.mark.parametrize("ctype", [2, 4, 6], ids=["rgb", "gray-alpha", "rgba"])
def test_png16_bomb_of_every_layout_is_refused_by_read_image(tmp_path, ctype):
    """In this process, so a bomb of 64 MiB: harmless if the guard failed, and the test would say so."""
    from npsrcnn.image.io import header, read_image
    from npsrcnn.util.errors import UserError

    png16_bomb(tmp_path / "bomb.png", ctype, idat_chunks=3, gib=1 / 16)
    assert header(tmp_path / "bomb.png")[:2] == (16, 16)  # the header alone is fine
    with pytest.raises(UserError, match="bomb.png: refused, its image data inflates to more than the"):
        read_image(tmp_path / "bomb.png")


def test_png16_bomb_is_refused_by_evaluate_and_prepare(folder):
    (folder / "set").mkdir()
    png16_bomb(folder / "set" / "bomb.png")
    tiny_png(folder / "set" / "fine.png", (40, 40))
    assert_refused(folder, ["evaluate", "--dataset", "set", "--scale", "2"], "bomb.png: refused")
    assert_refused(folder, ["prepare", "--images", "set", "--scale", "2", "--out", "p.h5"], "bomb.png: refused")


# ------------------------------------------------------------------------ 2. files that name other files


def external_storage(folder):
    (folder / "secret.txt").write_bytes(bytes(range(256)) * 4)
    return lambda f, name: f.create_dataset(name, shape=(4, 1, 3, 3), dtype="<f4",
                                            external=[(str(folder / "secret.txt"), 0, 144)])


def external_link(folder):
    model_file(folder / "other.h5")
    return lambda f, name: f.__setitem__(name, h5py.ExternalLink(str(folder / "other.h5"), "/w1"))


def virtual(folder):
    model_file(folder / "other.h5")

    def make(f, name):
        layout = h5py.VirtualLayout(shape=(4, 1, 3, 3), dtype="<f4")
        layout[:] = h5py.VirtualSource(str(folder / "other.h5"), "w1", shape=(4, 1, 3, 3))
        f.create_virtual_dataset(name, layout)

    return make


NAMING = [(external_storage, "dataset 'w1' is stored in another file"),
          (external_link, "'w1' is a link to"),
          (virtual, "dataset 'w1' is a virtual dataset")]


@pytest.mark.parametrize("how, text", NAMING, ids=["external-storage", "external-link", "virtual"])
def test_weights_naming_other_files_are_refused(folder, how, text):
    replace_w1(model_file(folder / "w.h5"), how(folder))
    with h5py.File(folder / "w.h5", "r") as f:  # what h5py would have done: read the other file
        assert f["w1"].shape == (4, 1, 3, 3)
    assert_refused(folder, upscale("--weights", "w.h5"), f"w.h5: {text}" if how is not external_link else text)
    if how is external_storage:
        assert_refused(folder, ["evaluate", "--dataset", ".", "--scale", "3", "--weights", "w.h5"], text)


def patch_file(path, n=8, s=33, t=21, nan=False, **attrs):
    rng = np.random.default_rng(2)
    data, label = rng.random((n, 1, s, s), np.float32), rng.random((n, 1, t, t), np.float32)
    if nan:
        label[n - 1, 0, 3, 4] = np.nan
    with h5py.File(path, "w") as f:
        f["data"], f["label"] = data, label
        f.attrs.update({"scale": 3, **attrs})
    return path


@pytest.mark.parametrize("how, text", NAMING, ids=["external-storage", "external-link", "virtual"])
def test_patch_files_naming_other_files_are_refused(tmp_path, how, text):
    patch_file(tmp_path / "p.h5")
    make = how(tmp_path)
    if how is external_storage:
        with h5py.File(tmp_path / "p.h5", "a") as f:
            del f["label"]
            f.create_dataset("label", shape=(1, 1, 3, 3), dtype="<f4", external=[(str(tmp_path / "secret.txt"), 0, 36)])
        text = text.replace("w1", "label")
    else:
        with h5py.File(tmp_path / "p.h5", "a") as f:
            make(f, "extra")
        text = text.replace("w1", "extra")
    assert_refused(tmp_path, train(), text)


# ------------------------------------------------------------------- 4. sizes read before they are checked


@pytest.mark.parametrize("elements, gzip", [(600_000_000, True), (10**9, True), (10**9, False)],
                         ids=["6e8-gzip-fill", "1e9-gzip-fill", "1e9-contiguous"])
def test_h5_weights_declaring_huge_arrays(folder, elements, gzip):
    n1 = elements // 9

    def make(f, name):
        kw = dict(compression="gzip", chunks=(1 << 16, 1, 3, 3)) if gzip else {}
        f.create_dataset(name, shape=(n1, 1, 3, 3), dtype="<f8", **kw)

    replace_w1(model_file(folder / "w.h5"), make)
    assert (folder / "w.h5").stat().st_size < 1 << 20
    assert_refused(folder, upscale("--weights", "w.h5"),
                   "w.h5: dataset 'w1' declares shape")


def npz_declaring(path, **shapes):
    """An .npz of a valid 3-1-3 net but for the arrays in `shapes`, whose .npy headers declare those
    shapes (float64) and which hold no data."""
    params = SRCNN(3, 1, 3, n1=4, n2=2).params
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for k in NAMES:
            with zf.open(f"{k}.npy", "w") as fh:
                if k in shapes:
                    np.lib.format.write_array_header_1_0(fh, dict(descr="<f8", fortran_order=False, shape=shapes[k]))
                else:
                    np.lib.format.write_array(fh, params[k].astype(np.float64))
    return path


N1 = 10**8  # a consistent 3-1-3 net of 10^8 channels: 1.1e9 parameters
@pytest.mark.parametrize("shapes, text", [
    (dict(w1=(N1, 1, 3, 3), b1=(N1,), w2=(2, N1, 1, 1)), "w.npz: a 3-1-3 network of 100000000 and 2 channels has"),
    (dict(w1=(10**9 // 9, 1, 3, 3)), "w.npz: b1 has shape (4,) but w1 and w2 imply (111111111,)"),
    (dict(w1=(4, 1, 3, 3)), "w.npz: not a readable .npz file"),
], ids=["1e9-declared", "1e9-inconsistent", "truncated-data"])
def test_npz_weights_declaring_more_than_they_hold(folder, shapes, text):
    npz_declaring(folder / "w.npz", **shapes)
    assert_refused(folder, upscale("--weights", "w.npz"), text)
    if "truncated" in text:
        assert_refused(folder, ["convert", "w.npz", "-o", "w.h5", "--scale", "3"], text)


def matlab_weights(path):
    from scipy.io import savemat

    p = {k: v.astype(np.float64) for k, v in SRCNN(3, 1, 3, n1=4, n2=2).params.items()}
    savemat(path, dict(weights_conv1=p["w1"].reshape(4, 9).T, biases_conv1=p["b1"][:, None],
                       weights_conv2=p["w2"].reshape(2, 4).T[:, None, :], biases_conv2=p["b2"][:, None],
                       weights_conv3=p["w3"].reshape(2, 9), biases_conv3=p["b3"][:, None]))
    return bytearray(path.read_bytes())


def patched(data, old, new):
    i = data.find(old)
    assert i > 0 and data.find(old, i + 1) < 0
    return bytes(data[:i] + new + data[i + len(old):])


def test_mat_weights_declaring_huge_data_or_dims(folder):
    pytest.importorskip("scipy")
    data = matlab_weights(folder / "x3.mat")
    # the data element of weights_conv1 (9x4 doubles, 288 bytes) now says 4 GB: SciPy would allocate it
    (folder / "x3.mat").write_bytes(patched(data, struct.pack("<II", 9, 288), struct.pack("<II", 9, 4_000_000_000)))
    assert_refused(folder, ["convert", "x3.mat", "-o", "w.h5"], "bytes of data for dims (9, 4); refused before")
    # its dims now say 9 x 2^31-1: what whosmat reports, refused before loadmat reads the data
    dims = struct.pack("<IIii", 5, 8, 9, 4)
    (folder / "x3.mat").write_bytes(patched(data, dims, struct.pack("<IIii", 5, 8, 9, 2**31 - 1)))
    assert_refused(folder, upscale("--weights", "x3.mat"),
                   "more than 16,777,216 parameters; refused before reading")


def mat_tweak(data, kind):
    """The SciPy-written weights with biases_conv2 (whose name starts 48 bytes into its element) broken.

    With SciPy 1.17 the complex flag and the unknown type crash loadmat (segmentation fault, bus
    error); the oversized small element makes it read past its 4-byte field (found crashing on a
    file's last variable by a fuzzer, a ValueError here)."""
    at = data.find(b"biases_conv2")
    if kind == "complex":  # the array flags (32 bytes before the name) say complex; no imaginary part follows
        data[at - 31] |= 0x08
    elif kind == "small":  # the data tag packed as a small element of 21 bytes (at most 4 fit)
        data[at + 16:at + 20] = struct.pack("<I", 21 << 16 | 9)
    elif kind == "type":  # the data tag of an unknown type
        data[at + 16:at + 20] = struct.pack("<I", 0xBF09)
    return bytes(data)


@pytest.mark.parametrize("kind, text", [("complex", "declares 'biases_conv2' complex; weights are real numbers"),
                                        ("small", "declares a small element of 21 bytes"),
                                        ("type", "declares 'biases_conv2' with data of type 48905")])
def test_mat_weights_that_crash_scipy_are_refused_before_it_reads(folder, kind, text):
    pytest.importorskip("scipy")
    (folder / "x3.mat").write_bytes(mat_tweak(matlab_weights(folder / "x3.mat"), kind))
    assert_refused(folder, ["convert", "x3.mat", "-o", "w.h5"], f"x3.mat: the variable at byte 736 {text}")


def test_mat_v4_variable_larger_than_the_file(folder):
    pytest.importorskip("scipy")
    head = struct.pack("<5i", 0, 100_000, 100_000, 0, 14)  # a 100000x100000 double array in a 40-byte file
    (folder / "x3.mat").write_bytes(head + b"weights_conv1\0" + bytes(6))
    assert_refused(folder, ["convert", "x3.mat", "-o", "w.h5"], "MATLAB v4 variable at byte 0 declares")


def sparse_patches(path, n, s=33, t=21, chunks=None):
    """A patch file that declares n patches and stores none (HDF5 reads unwritten chunks as zeros)."""
    with h5py.File(path, "w") as f:
        f.create_dataset("data", (n, 1, s, s), "f4", chunks=chunks or (min(n, 128), 1, s, s), compression="gzip")
        f.create_dataset("label", (n, 1, t, t), "f4", chunks=(min(n, 128), 1, t, t), compression="gzip")
        f.attrs["scale"] = 3
    return path


@pytest.mark.parametrize("n, s, chunks, text", [
    (10**11, 33, None, "dataset 'data' declares 435,600,000,000,000 bytes but the file stores 0"),
    (200_000, 33, (200_000, 1, 33, 33), "dataset 'data' is stored in chunks of (200000, 1, 33, 33), more than 64 MiB"),
    (1, 20012, (1, 1, 4, 4), "20012x20012 patches: npsrcnn reads patches of at most 256x256"),
], ids=["1e11-patches", "huge-chunks", "20012-patches"])
def test_patch_files_declaring_more_than_they_hold(tmp_path, n, s, chunks, text):
    sparse_patches(tmp_path / "p.h5", n, s, s - 12, chunks)
    assert (tmp_path / "p.h5").stat().st_size < 100_000
    assert_refused(tmp_path, train(), f"p.h5: {text}")


def big_png_header(path, W, H):
    """An 8-bit gray PNG that says W x H and holds one small IDAT: readers must refuse from the header."""
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + ihdr(W, H, 8, 0) + chunk(b"IDAT", zlib.compress(bytes(1000)))
                     + chunk(b"IEND", b""))
    return path


def test_output_too_large_is_refused_before_any_work(folder):
    big_png_header(folder / "big.png", 13000, 13000)  # 169 Mpx: under the input limit, x2 is 676 Mpx
    line = assert_refused(folder, ["upscale", "big.png", "-o", "out.png", "--scale", "2", "--overwrite"],
                          "big.png: a 26000x26000 x2 output of this image is 676,000,000 pixels, over the limit")
    assert "--max-pixels" in line
    (folder / "set").mkdir()
    big_png_header(folder / "set" / "huge.png", 20000, 20000)  # over the input limit itself
    assert_refused(folder, ["evaluate", "--dataset", "set", "--scale", "2"], "huge.png: refused, a 20000x20000 image")


def test_absurd_scale_with_weights_that_carry_none(folder):
    arrays = {k: v.astype(np.float64) for k, v in SRCNN(3, 1, 3, n1=4, n2=2).params.items()}
    np.savez(folder / "w.npz", **arrays)  # no x<S> in the name: the weights say nothing about the scale
    assert_refused(folder, upscale("--weights", "w.npz", scale=1000000),
                   "photo.png: a 24000000x24000000 x1000000 output of this image is")


def test_max_pixels_raises_or_lowers_the_limit(folder):
    args = ["upscale", "photo.png", "-o", "out.png", "--scale", "2", "--overwrite", "--no-progress"]
    assert_refused(folder, args + ["--max-pixels", str(48 * 48 - 1)], "over the limit of 2,303; pass --max-pixels")
    r = run_limited(*args, "--max-pixels", str(48 * 48), cwd=folder)
    assert r.returncode == 0, r.stderr
    assert Image.open(folder / "out.png").size == (48, 48)


# ------------------------------------------------------------------------ 5. malformed headers, attributes


def malformed_png(kind):
    body = struct.pack(">IIBBBBB", 20, 20, 16, 2, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(bytes(20 * 121)))
    if kind == "ihdr12":
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", body[:12]) + idat + chunk(b"IEND", b"")
    if kind == "ihdr14":
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", body + b"\0") + idat + chunk(b"IEND", b"")
    if kind == "second-ihdr":
        other = struct.pack(">IIBBBBB", 9, 9, 16, 9, 0, 0, 0)  # colour type 9: KeyError before
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", body) + chunk(b"IHDR", other) + idat + chunk(b"IEND", b"")
    if kind == "huge-chunk":  # a text chunk that says 2 GB, in a file of 100 bytes
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", body) + struct.pack(">I", 2**31 - 1) + b"tEXt" + bytes(40)
    raise ValueError(kind)


@pytest.mark.parametrize("kind, text", [("ihdr12", "the first chunk must be a 13-byte IHDR, found 12"),
                                        ("ihdr14", "the first chunk must be a 13-byte IHDR, found 14"),
                                        ("second-ihdr", "a second IHDR chunk"),
                                        ("huge-chunk", "file ends inside a chunk")])
def test_malformed_png16_is_one_line(folder, kind, text):
    (folder / "bad.png").write_bytes(malformed_png(kind))
    assert_refused(folder, ["upscale", "bad.png", "-o", "out.png", "--scale", "2", "--overwrite"], text)


@pytest.mark.parametrize("value", [2.5, "x3"], ids=["2.5", "string"])
def test_non_integer_scale_attribute_is_one_line(folder, value):
    model_file(folder / "w.h5", scale=value)
    assert_refused(folder, upscale("--weights", "w.h5"),
                   "w.h5: its scale attribute is")
    patch_file(folder / "p.h5", scale=value)
    assert_refused(folder, train(), "p.h5: its scale attribute is")


# ----------------------------------------------------------------------- 7. non-finite data, odd names


def test_nan_in_a_patch_file_names_the_file_not_the_learning_rate(tmp_path):
    patch_file(tmp_path / "p.h5", nan=True)
    line = assert_refused(tmp_path, train(), "p.h5: patches 0 to 7 hold NaN or infinite values")
    assert "--lr" not in line


@pytest.mark.parametrize("name", ["we\nights.h5", "we\x1b[31mights.h5"], ids=["newline", "escape"])
def test_file_names_with_control_characters_stay_on_one_line(folder, name):
    replace_w1(model_file(folder / name), external_storage(folder))
    line = assert_refused(folder, upscale("--weights", name),
                          "is stored in another file")
    assert repr(name)[1:-1] in line


# ------------------------------------------------------------------------------- the library directly


def test_png16_decoder_fills_exactly_what_the_header_implies():
    from npsrcnn.image.png16 import TooManyPixels, read_png16

    img = np.arange(2 * 3 * 3, dtype=np.uint16).reshape(2, 3, 3) * 3000
    raw = b"".join(b"\0" + row.astype(">u2").tobytes() for row in img)
    head = b"\x89PNG\r\n\x1a\n" + ihdr(3, 2)
    np.testing.assert_array_equal(read_png16(head + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")), img)
    with pytest.raises(TooManyPixels, match="inflates to more than the 38 bytes"):  # one byte too many
        read_png16(head + chunk(b"IDAT", zlib.compress(raw + b"\0")) + chunk(b"IEND", b""))
    with pytest.raises(ValueError, match="37 bytes of the 38"):  # one too few
        read_png16(head + chunk(b"IDAT", zlib.compress(raw[:-1])) + chunk(b"IEND", b""))
    with pytest.raises(TooManyPixels, match="over the limit of 5"):
        read_png16(head + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""), max_pixels=5)


def test_check_plain_names_each_kind(tmp_path):
    from npsrcnn.util.errors import UserError
    from npsrcnn.util.hdf5 import open_plain

    for how, text in NAMING:
        path = replace_w1(model_file(tmp_path / f"{how.__name__}.h5"), how(tmp_path))
        with pytest.raises(UserError, match=text):
            with open_plain(path):
                pass
    with h5py.File(tmp_path / "soft.h5", "w") as f:  # a soft link stays inside the file: allowed
        f["a"] = np.zeros(3)
        f["b"] = h5py.SoftLink("/a")
    with open_plain(tmp_path / "soft.h5") as f:
        assert f["b"].shape == (3,)


def test_iter_batches_checks_each_block_as_it_reads(tmp_path):
    from npsrcnn.datasets.patches import iter_batches
    from npsrcnn.util.errors import UserError

    with h5py.File(tmp_path / "p.h5", "w") as f:
        d = np.full((300, 1, 9, 9), 0.5, np.float32)
        d[299, 0, 0, 0] = np.inf  # in the last block of 128
        f.create_dataset("data", data=d, chunks=(128, 1, 9, 9))
        f.create_dataset("label", data=np.zeros((300, 1, 3, 3), np.float32), chunks=(128, 1, 3, 3))
    batches = iter_batches(tmp_path / "p.h5", 64, shuffle=False, buffer_size=128, in_memory_bytes=0)
    assert len([next(batches), next(batches)]) == 2  # the first two blocks are served before the third is read
    with pytest.raises(UserError, match=r"p.h5: patches 256 to 299 hold NaN or infinite"):
        list(batches)


@pytest.mark.parametrize("value", [np.array([2, 3]), 10**9, float("nan"), np.float32(3.5), b"3"],
                         ids=["array", "1e9", "nan", "3.5", "bytes"])
def test_scale_attributes_are_checked_by_both_readers(tmp_path, value):
    from npsrcnn.datasets.patches import read_info
    from npsrcnn.util.errors import UserError

    with pytest.raises(UserError, match="w.h5: its scale attribute is .*, not a whole number"):
        SRCNN.load(model_file(tmp_path / "w.h5", scale=value))
    with pytest.raises(UserError, match="p.h5: its scale attribute is .*, not a whole number"):
        read_info(patch_file(tmp_path / "p.h5", scale=value))
    assert read_info(patch_file(tmp_path / "q.h5", scale=3.0))["attrs"]["scale"] == 3  # MATLAB's double


def test_check_scale():
    from npsrcnn.util.errors import UserError
    from npsrcnn.util.limits import check_scale

    assert check_scale(np.int64(3), "f") == 3 and check_scale(3.0, "f") == 3 and check_scale(np.array([4]), "f") == 4
    for bad in (2.5, "3", b"3", [2, 3], True, 0, 65, float("inf"), None):
        with pytest.raises(UserError, match="not a whole number from 1 to 64"):
            check_scale(bad, "f")


def test_shown_escapes_what_would_break_a_line():
    from npsrcnn.util.errors import shown

    assert shown("a\nb\tc.png") == "a\\nb\\tc.png"
    assert shown(os.fsdecode(b"x\xff.png")) == "x\\xff.png"
    assert shown("photo é 1.png") == "photo é 1.png"


@pytest.mark.parametrize("make, text", [
    (lambda f: f.create_dataset("x", (1000,), "f4", chunks=(100,)), "declares 4,000 bytes but the file stores 0"),
    (lambda f: f.create_dataset("x", (1000,), "f4"), "declares 4,000 bytes but the file stores 0"),
    (lambda f: f.create_dataset("x", data=np.zeros(10**6, "f4"), chunks=(10**6,), compression="gzip"), None),
    (lambda f: f.create_dataset("x", data=np.zeros(10, "f4"), chunks=(1 << 25,), maxshape=(None,)),
     "stored in chunks of (33554432,), more than 64 MiB"),
    (lambda f: f.create_dataset("x", data=np.zeros(10, "i4")), "holds int32, not floating-point numbers"),
    (lambda f: f.create_dataset("x", data=np.zeros(2 * 10**6, "f4")), "more than the 4,000,000 bytes"),
    (lambda f: f.create_dataset("x", data=h5py.Empty("f4")), "is empty (no shape)"),
], ids=["unwritten-chunks", "unwritten-contiguous", "gzip-of-zeros-is-fine", "huge-chunk", "int", "too-big", "null"])
def test_check_dataset_compares_declared_with_stored(tmp_path, make, text):
    from npsrcnn.util.errors import UserError
    from npsrcnn.util.hdf5 import check_dataset, open_plain

    with h5py.File(tmp_path / "d.h5", "w") as f:
        make(f)
    with open_plain(tmp_path / "d.h5") as f:
        if text is None:
            check_dataset(f["x"], "d.h5", 4_000_000)  # 1000:1, within what deflate does
        else:
            with pytest.raises(UserError, match=f"d.h5: dataset 'x' {re.escape(text)}" if "declares" in text
                               else re.escape(text)):
                check_dataset(f["x"], "d.h5", 4_000_000)


def test_weights_readers_refuse_before_reading(tmp_path):
    """In this process, so 20 million float64 (160 MB, over MAX_WEIGHTS): harmless if a guard failed."""
    from npsrcnn.util.errors import UserError

    replace_w1(model_file(tmp_path / "w.h5"),
               lambda f, name: f.create_dataset(name, (20_000_000, 1, 1, 1), "<f8", chunks=(1 << 16, 1, 1, 1),
                                                compression="gzip"))
    with pytest.raises(UserError, match="w.h5: dataset 'w1' declares shape .* refused before reading"):
        SRCNN.load(tmp_path / "w.h5")
    n1 = 20_000_000
    npz_declaring(tmp_path / "x3.npz", w1=(n1, 1, 3, 3), b1=(n1,), w2=(2, n1, 1, 1))
    with pytest.raises(UserError, match="x3.npz: a 3-1-3 network of 20000000 and 2 channels has 240,000,021 "
                                        "parameters, more than 16,777,216; refused before reading"):
        SRCNN.from_npz(tmp_path / "x3.npz")


def test_mat_scan_passes_what_matlab_and_scipy_write(tmp_path, ref_weights):
    """The released .mat files (MATLAB's own, compressed) and SciPy's (uncompressed, v4) pass the scan."""
    pytest.importorskip("scipy")
    from scipy.io import savemat

    from npsrcnn.model.srcnn import check_mat_sizes

    for path in sorted(ref_weights.rglob("*.mat")):
        assert check_mat_sizes(path) is None
    matlab_weights(tmp_path / "x3.mat")
    savemat(tmp_path / "v4.mat", dict(a=np.ones((3, 4)), b=np.zeros((1, 1))), format="4")
    savemat(tmp_path / "z.mat", dict(a=np.ones((30, 40)), c=np.array(["text"]), e=np.zeros((0, 3))),
            do_compression=True)
    for name in ("x3.mat", "v4.mat", "z.mat"):
        assert check_mat_sizes(tmp_path / name) is None
    assert SRCNN.from_mat(tmp_path / "x3.mat").arch == "3-1-3"


def test_out_of_memory_while_reading_is_one_line(tmp_path, monkeypatch):
    from npsrcnn.image import png16 as decoder
    from npsrcnn.image.io import read_image
    from npsrcnn.model.upscaling import upscale_array
    from npsrcnn.util.errors import UserError
    from npsrcnn.util.hdf5 import read_dataset

    def no_memory(*args, **kwargs):
        raise MemoryError

    png16(tmp_path / "c16.png")
    monkeypatch.setattr(decoder, "read_png16", no_memory)
    with pytest.raises(UserError, match="c16.png: not enough memory for decoding this image; close other"):
        read_image(tmp_path / "c16.png")

    class Dataset:
        name = "/w1"
        __getitem__ = no_memory

    with pytest.raises(UserError, match="w.h5: not enough memory for dataset 'w1'"):
        read_dataset(Dataset(), "w.h5")
    model, img = SRCNN(3, 1, 3, n1=4, n2=2), np.zeros((20, 30), np.uint8)
    monkeypatch.setattr(np, "empty", no_memory)  # the output is upscale_array's first allocation
    with pytest.raises(UserError, match="a.png: not enough memory for its 60x40 x2 output"):
        upscale_array(img, model, 2, progress="a.png")
