"""The shared patch cache: keyed by image contents and every cutting parameter, written atomically."""
import h5py
import numpy as np
import pytest
from PIL import Image

from npsrcnn.datasets import cache as patchcache
from npsrcnn.datasets.patches import extract_patches
from npsrcnn.image.color import y_channel
from npsrcnn.util.errors import UserError


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i, shape in enumerate([(60, 70, 3), (50, 48)]):
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(folder / f"im{i}.png")
    return sorted(folder.iterdir())


def _cut(images, folder, scale=3, label=21, stride=14):
    return patchcache.cached_patches(images, scale, 33, label, stride, folder)


def test_cut_once_then_reused(images, tmp_path):
    folder = tmp_path / "cache"
    path, cut_now = _cut(images, folder)
    assert cut_now and path.parent == folder and path.name.startswith("patches-x3-33-21-s14-")
    mtime = path.stat().st_mtime_ns
    again, cut_now = _cut(images, folder)
    assert again == path and not cut_now and path.stat().st_mtime_ns == mtime
    assert [p.name for p in folder.iterdir()] == [path.name]  # one file, no temporary
    data, label = extract_patches(y_channel(np.asarray(Image.open(images[0]))), 3)
    with h5py.File(path, "r") as f:
        assert f.attrs["key"] == patchcache.patch_key(images, 3, 33, 21, 14)
        assert f.attrs["files"] == "im0.png\nim1.png" and f["data"].shape[0] == f.attrs["count"]
        np.testing.assert_array_equal(f["data"][:len(data)], data)
        np.testing.assert_array_equal(f["label"][:len(label)], label)


@pytest.mark.parametrize("change", [dict(scale=2), dict(stride=10), dict(label=17), "pixel", "order"])
def test_any_change_of_images_or_parameters_is_another_file(images, tmp_path, change):
    folder = tmp_path / "cache"
    first, _ = _cut(images, folder)
    if change == "pixel":
        img = np.asarray(Image.open(images[1])).copy()
        img[0, 0] ^= 1
        Image.fromarray(img).save(images[1])
        second, cut_now = _cut(images, folder)
    elif change == "order":
        second, cut_now = _cut(images[::-1], folder)
    else:
        second, cut_now = _cut(images, folder, **change)
    assert cut_now and second != first and sorted(folder.iterdir()) == sorted([first, second])


def test_same_images_elsewhere_share_the_file(images, tmp_path):
    copies = tmp_path / "copy"
    copies.mkdir()
    for p in images:
        (copies / p.name).write_bytes(p.read_bytes())
    first, _ = _cut(images, tmp_path / "cache")
    second, cut_now = _cut(sorted(copies.iterdir()), tmp_path / "cache")
    assert second == first and not cut_now  # content-addressed: the folder they sit in does not matter


def test_a_failed_cut_leaves_no_file_and_no_new_folder(images, tmp_path):
    Image.fromarray(np.zeros((20, 80), np.uint8)).save(images[0].parent / "small.png")
    files = sorted(images[0].parent.iterdir())
    folder = tmp_path / "new" / "cache"
    with pytest.raises(UserError, match="small.png: 18x78 after modcrop to scale 3, smaller than one 33x33 patch"):
        _cut(files, folder)
    assert not (tmp_path / "new").exists()


def test_a_damaged_cache_file_is_cut_again(images, tmp_path):
    path, _ = _cut(images, tmp_path / "cache")
    good = path.read_bytes()
    path.write_bytes(good[:1000])
    again, cut_now = _cut(images, tmp_path / "cache")
    assert again == path and cut_now
    with h5py.File(path, "r") as f:
        y = np.asarray(Image.open(images[1]))
        data, label = extract_patches(y, 3)
        np.testing.assert_array_equal(f["label"][-len(label):], label)


def test_cache_folder_from_flag_env_or_default(monkeypatch, tmp_path):
    monkeypatch.setenv("NPSRCNN_CACHE", str(tmp_path / "env"))
    assert patchcache.cache_dir() == tmp_path / "env"
    assert patchcache.cache_dir(str(tmp_path / "flag")) == tmp_path / "flag"
    monkeypatch.delenv("NPSRCNN_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert patchcache.cache_dir() == tmp_path / "xdg" / "npsrcnn" / "patches"
