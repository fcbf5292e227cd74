import h5py
import numpy as np
import pytest

from npsrcnn.datasets.patches import (CHUNK, degrade, extract_patches, iter_batches, label_size_for, list_images,
                                      modcrop, patch_grid, read_info, write_patches)
from npsrcnn.util.errors import UserError


def _y(shape=(70, 83), seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize(
    "shape, scale, expected", [((70, 83), 3, (69, 81)), ((64, 64, 3), 4, (64, 64)), ((5, 7), 2, (4, 6))]
)
def test_modcrop(shape, scale, expected):
    img = np.arange(np.prod(shape)).reshape(shape)
    out = modcrop(img, scale)
    assert out.shape[:2] == expected and out.shape[2:] == shape[2:]
    assert np.array_equal(out, img[: expected[0], : expected[1]])  # keeps the top-left, like modcrop.m


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_degrade_is_bicubic_down_then_up(dtype, scale):
    from npsrcnn.interp.resize import imresize

    x = (modcrop(_y(), scale) / 255).astype(dtype)
    out = degrade(x, scale)
    assert out.shape == x.shape and out.dtype == dtype
    expected = imresize(imresize(x, scale=1 / scale), output_shape=x.shape)
    np.testing.assert_array_equal(out, expected.astype(dtype))
    assert 0 < np.abs(out.astype(np.float64) - x).mean() < 0.25  # blurred, not garbage


def test_degrade_keeps_a_constant_image():
    x = np.full((30, 36), 0.4)
    np.testing.assert_allclose(degrade(x, 3), x, rtol=0, atol=1e-12)
    with pytest.raises(ValueError):
        degrade(np.zeros((31, 36)), 3)


def test_label_size_for():
    assert label_size_for(33, 6) == 21  # 9-1-5: 4 + 0 + 2
    assert label_size_for(33, 8) == 17  # 9-5-5: 4 + 2 + 2


def test_patch_grid_is_generate_train_m():
    rows, cols = patch_grid(69, 81)  # MATLAB: x = 1:14:69-33+1 -> 1, 15, 29 (1-based)
    assert list(rows) == [0, 14, 28]
    assert list(cols) == [0, 14, 28, 42]
    assert len(patch_grid(33, 33)[0]) == 1 and len(patch_grid(32, 40)[0]) == 0


def test_extract_patches_shapes_values_and_alignment():
    y = _y((70, 83))
    data, label = extract_patches(y, 3)
    assert data.shape == (12, 1, 33, 33) and label.shape == (12, 1, 21, 21)
    assert data.dtype == np.float32 and label.dtype == np.float32
    assert 0 <= data.min() and data.max() <= 1 and 0 <= label.min() and label.max() <= 1
    hr = modcrop(y, 3) / 255.0
    lr = degrade(hr, 3)
    # patch 5 is row 1, col 1 of the 3 x 4 grid: top-left (14, 14); its label starts 6 further in
    np.testing.assert_array_equal(data[5, 0], lr[14:47, 14:47].astype(np.float32))
    np.testing.assert_array_equal(label[5, 0], hr[20:41, 20:41].astype(np.float32))
    np.testing.assert_array_equal(label[11, 0], hr[34:55, 48:69].astype(np.float32))


def test_extract_patches_sizes_are_parameters():
    data, label = extract_patches(_y((70, 83)), 2, input_size=25, label_size=9, stride=20)
    assert data.shape == (3 * 3, 1, 25, 25) and label.shape == (9, 1, 9, 9)
    with pytest.raises(ValueError):
        extract_patches(_y(), 3, input_size=33, label_size=20)  # odd difference: no centre crop
    with pytest.raises(ValueError):
        extract_patches(_y((40, 30)), 3)  # 39 x 30 after modcrop: no 33 x 33 window fits
    with pytest.raises(ValueError):
        extract_patches(_y() / 255.0, 3)  # uint8 luminance only


def _fake_patches(n, s=33, t=21):
    """Patch i is filled with value i / n in both data and label, so pairs can be checked after shuffling."""
    v = (np.arange(n, dtype=np.float32) / n)[:, None, None, None]
    return np.broadcast_to(v, (n, 1, s, s)).copy(), np.broadcast_to(v, (n, 1, t, t)).copy()


def _write(path, sizes, **kw):
    def pairs():
        start = 0
        for k in sizes:
            d, l = _fake_patches(sum(sizes))
            yield d[start:start + k], l[start:start + k]
            start += k

    return write_patches(path, pairs(), **kw)


def test_write_patches_incremental_chunked(tmp_path):
    path = tmp_path / "p.h5"
    n = _write(path, [100, 200, 50], attrs=dict(scale=3, stride=14, source="somewhere"))
    assert n == 350
    with h5py.File(path, "r") as f:
        assert f["data"].shape == (350, 1, 33, 33) and f["label"].shape == (350, 1, 21, 21)
        assert f["data"].dtype == np.float32 and f["label"].dtype == np.float32
        assert f["data"].chunks == (CHUNK, 1, 33, 33) and f["data"].maxshape == (None, 1, 33, 33)
        assert f.attrs["scale"] == 3 and f.attrs["source"] == "somewhere" and f.attrs["count"] == 350
        np.testing.assert_array_equal(f["data"][:, 0, 0, 0], np.arange(350, dtype=np.float32) / 350)
    info = read_info(path)
    assert (info["n"], info["input_size"], info["label_size"], info["chunk"]) == (350, 33, 21, CHUNK)


def test_write_patches_is_atomic(tmp_path):
    path = tmp_path / "p.h5"
    path.write_bytes(b"the user's file")

    def failing():
        yield _fake_patches(10)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_patches(path, failing(), overwrite=True)
    assert path.read_bytes() == b"the user's file"
    assert [p.name for p in tmp_path.iterdir()] == ["p.h5"]  # no temporary left behind
    with pytest.raises(UserError):
        _write(path, [5])  # exists, no overwrite


def test_write_patches_refuses_patches_read_info_would_refuse(tmp_path):
    def never():
        raise AssertionError("no patch is cut for a size that cannot be read back")
        yield

    with pytest.raises(UserError, match="257x257 patches: npsrcnn reads patches of at most 256x256"):
        write_patches(tmp_path / "p.h5", never(), input_size=257, label_size=245)
    assert list(tmp_path.iterdir()) == []


def _z(*shape):
    return np.zeros(shape, np.float32)


def _bad_file(path, **datasets):
    with h5py.File(path, "w") as f:
        for k, v in datasets.items():
            f[k] = v
    return path


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such file"),  # shapes below: (N, 1, s, s) data and (N, 1, t, t) labels, or not
        (b"not hdf5", "not an HDF5 file"),
        (dict(data=_z(4, 1, 33, 33)), "no 'label' dataset"),
        (dict(data=_z(4, 1, 33, 33), label=_z(3, 1, 21, 21)), "4 patches but 'label' has 3"),
        (dict(data=_z(4, 33, 33), label=_z(4, 21, 21)), "are not (N, 1, s, s)"),
        (dict(data=_z(4, 1, 21, 21), label=_z(4, 1, 33, 33)), "are not (N, 1, s, s)"),
        (dict(data=_z(0, 1, 33, 33), label=_z(0, 1, 21, 21)), "holds no patches"),
    ],
)
def test_read_info_rejects_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.h5"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, dict):
        _bad_file(path, **content)
    with pytest.raises(UserError) as exc:
        read_info(path)
    assert message in str(exc.value) and "\n" not in str(exc.value)
    with pytest.raises(UserError):
        next(iter_batches(path, 8))


def _drain(path, **kw):
    batches = list(iter_batches(path, **kw))
    d = np.concatenate([b[0] for b in batches])
    l = np.concatenate([b[1] for b in batches])
    return batches, d, l


@pytest.mark.parametrize("in_memory_bytes", [256 << 20, 0], ids=["small-file", "streaming"])
def test_iter_batches_is_a_seeded_permutation(tmp_path, in_memory_bytes):
    path = tmp_path / "p.h5"
    _write(path, [300, 300, 100])  # 700 patches, 6 chunks (the last one partial)
    kw = dict(batch_size=64, seed=3, buffer_size=256, in_memory_bytes=in_memory_bytes)
    batches, d, l = _drain(path, **kw)
    assert [len(b[0]) for b in batches] == [64] * 10 + [60]
    assert all(d.dtype == np.float32 and d.shape[1:] == (1, 33, 33) and l.shape[1:] == (1, 21, 21) for d, l in batches)
    ids = np.rint(d[:, 0, 0, 0] * 700).astype(int)
    assert sorted(ids) == list(range(700))  # every patch exactly once
    assert not np.array_equal(ids, np.arange(700))  # and shuffled
    np.testing.assert_array_equal(d[:, 0, :21, :21], l[:, 0])  # inputs still paired with their labels
    _, d2, _ = _drain(path, **kw)
    np.testing.assert_array_equal(d, d2)  # same seed, same order
    _, d3, _ = _drain(path, **{**kw, "seed": 4})
    assert not np.array_equal(d, d3)


def test_iter_batches_streams_block_by_block(tmp_path):
    """In streaming mode, the first buffer's batches come from buffer_size / chunk blocks only."""
    path = tmp_path / "p.h5"
    _write(path, [1000])
    batches = list(iter_batches(path, batch_size=32, seed=0, buffer_size=CHUNK, in_memory_bytes=0))
    first = np.concatenate([b[0] for b in batches[: CHUNK // 32]])
    blocks = np.unique(np.rint(first[:, 0, 0, 0] * 1000).astype(int) // CHUNK)
    assert len(blocks) == 1


def test_iter_batches_in_order_and_drop_last(tmp_path):
    path = tmp_path / "p.h5"
    _write(path, [130])
    batches, d, _ = _drain(path, batch_size=50, shuffle=False)
    np.testing.assert_array_equal(np.rint(d[:, 0, 0, 0] * 130), np.arange(130))
    assert [len(b[0]) for b in batches] == [50, 50, 30]
    batches, _, _ = _drain(path, batch_size=50, drop_last=True, in_memory_bytes=0)
    assert [len(b[0]) for b in batches] == [50, 50]


def test_list_images(tmp_path):
    with pytest.raises(UserError, match="no such directory"):
        list_images(tmp_path / "nope")
    with pytest.raises(UserError, match="no images"):
        list_images(tmp_path)
    for name in ("b.PNG", "a.bmp", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in list_images(tmp_path)] == ["a.bmp", "b.PNG"]
