import h5py
import numpy as np
import pytest
from conftest import assert_one_line_error
from PIL import Image

from npsrcnn.datasets.patches import extract_patches, patch_grid
from npsrcnn.image.color import y_channel
from npsrcnn.prepare import main


@pytest.fixture
def images(tmp_path):
    """Three small training images: RGB .png, grayscale .bmp, RGB .bmp."""
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (70, 83, 3), dtype=np.uint8)).save(folder / "a.png")
    Image.fromarray(rng.integers(0, 256, (50, 61), dtype=np.uint8)).save(folder / "b.bmp")
    Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(folder / "c.bmp")
    return folder


def _run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err



def test_prepare_builds_the_file(tmp_path, images, capsys):
    out = tmp_path / "train.h5"
    rc, stdout, _ = _run(capsys, "--images", images, "--scale", 3, "--out", out)
    assert rc == 0
    # 69x81 -> 3 x 4 windows, 48x60 -> 2 x 2, 39x39 -> 1 x 1
    expected = 12 + 4 + 1
    assert stdout.count("prepare:") == 2  # the resolved config once, then the count
    assert "scale=3 input=33 label=21 stride=14" in stdout and f"wrote {expected} patches" in stdout
    with h5py.File(out, "r") as f:
        assert f["data"].shape == (expected, 1, 33, 33) and f["label"].shape == (expected, 1, 21, 21)
        assert f["data"].chunks[0] == 128
        assert (f.attrs["scale"], f.attrs["input_size"], f.attrs["label_size"], f.attrs["stride"]) == (3, 33, 21, 14)
        assert f.attrs["images"] == 3 and str(images.resolve()) == f.attrs["source"]
        # images are taken in sorted order; the first 12 patches are a.png's
        y = y_channel(np.asarray(Image.open(images / "a.png")))
        data, label = extract_patches(y, 3)
        np.testing.assert_array_equal(f["data"][:12], data)
        np.testing.assert_array_equal(f["label"][:12], label)
        # b.bmp is grayscale: its patches come from the pixels as they are
        g = np.asarray(Image.open(images / "b.bmp"))
        np.testing.assert_array_equal(f["label"][12, 0], g[6:27, 6:27] / np.float32(255))


def test_prepare_sizes_and_arch(tmp_path, images, capsys):
    out = tmp_path / "t.h5"
    rc, stdout, _ = _run(capsys, "--images", images, "--scale", 2, "--out", out, "--arch", "9-5-5", "--stride", 20)
    assert rc == 0 and "label=17 stride=20" in stdout
    with h5py.File(out, "r") as f:
        assert f["label"].shape[1:] == (1, 17, 17)
    rc, stdout, _ = _run(capsys, "--images", images, "--scale", 2, "--out", out, "--overwrite",
                         "--input-size", 25, "--label-size", 13)
    assert rc == 0
    with h5py.File(out, "r") as f:
        assert f["data"].shape[1:] == (1, 25, 25) and f["label"].shape[1:] == (1, 13, 13)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--scale", 3, "--label-size", 20], "label size 20 does not fit"),
        (["--scale", 3, "--arch", "9-2-5"], "three odd filter sizes"),
        (["--scale", 1], "--scale must be >= 2"),
        (["--scale", 3, "--stride", 0], "--stride must be >= 1"),
        (["--scale", "three"], "invalid int value"),
    ],
)
def test_prepare_bad_arguments(tmp_path, images, capsys, argv, message):
    rc, _, err = _run(capsys, "--images", images, "--out", tmp_path / "x.h5", *argv)
    assert_one_line_error(rc, err, message)
    assert not (tmp_path / "x.h5").exists()


def test_prepare_missing_and_empty_folders(tmp_path, capsys):
    rc, _, err = _run(capsys, "--images", tmp_path / "nope", "--scale", 3, "--out", tmp_path / "x.h5")
    assert_one_line_error(rc, err, "no such directory")
    (tmp_path / "empty").mkdir()
    rc, _, err = _run(capsys, "--images", tmp_path / "empty", "--scale", 3, "--out", tmp_path / "x.h5")
    assert_one_line_error(rc, err, "no images")
    assert not (tmp_path / "x.h5").exists()


@pytest.mark.parametrize("bad", ["unreadable", "too-small"])
def test_prepare_bad_image_writes_nothing(tmp_path, images, capsys, bad):
    if bad == "unreadable":
        (images / "z.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
        message = "z.png"
    else:
        Image.fromarray(np.zeros((40, 32, 3), np.uint8)).save(images / "z.png")
        message = "z.png: 39x30 after modcrop to scale 3, smaller than one 33x33 patch"
    out = tmp_path / "train.h5"
    out.write_bytes(b"the user's old file")
    rc, _, err = _run(capsys, "--images", images, "--scale", 3, "--out", out, "--overwrite")
    assert_one_line_error(rc, err, message)
    assert out.read_bytes() == b"the user's old file"  # untouched, even with --overwrite
    assert sorted(p.name for p in tmp_path.iterdir()) == ["imgs", "train.h5"]  # no temporary left


def test_prepare_refuses_to_overwrite(tmp_path, images, capsys):
    out = tmp_path / "train.h5"
    out.write_bytes(b"keep me")
    rc, _, err = _run(capsys, "--images", images, "--scale", 3, "--out", out)
    assert_one_line_error(rc, err, "exists; pass --overwrite")
    assert out.read_bytes() == b"keep me"
    rc, _, _ = _run(capsys, "--images", images, "--scale", 3, "--out", out, "--overwrite")
    assert rc == 0 and h5py.is_hdf5(out)


def test_prepare_refuses_an_output_that_is_not_hdf5_or_not_writable(tmp_path, images, capsys, unwritable_dir):
    rc, _, err = _run(capsys, "--images", images, "--scale", 3, "--out", tmp_path / "p.txt")
    assert_one_line_error(rc, err, "--out " + str(tmp_path / "p.txt") + ": patch files are HDF5; name it .h5")
    rc, _, err = _run(capsys, "--images", images, "--scale", 3, "--out", unwritable_dir / "p.h5")
    assert_one_line_error(rc, err, f"output folder {unwritable_dir} is not writable")
    assert "npsrcnn-tmp" not in err and not (tmp_path / "p.txt").exists()


def test_prepare_refuses_patches_larger_than_patch_files_hold(tmp_path, images, capsys):
    rc, _, err = _run(capsys, "--images", images, "--scale", 3, "--out", tmp_path / "p.h5", "--input-size", 300)
    assert_one_line_error(rc, err, "--input-size must be between 1 and 256")


def test_t91_patch_count_is_the_authors(datasets):
    """generate_train.m's windows on T91: 21,884 at x3 (the same grid as ours, image by image)."""
    from npsrcnn.datasets.patches import list_images, modcrop

    counts = {2: 0, 3: 0, 4: 0}
    for path in list_images(datasets / "T91"):
        with Image.open(path) as im:
            W, H = im.size
        for s in counts:
            rows, cols = patch_grid(H - H % s, W - W % s)
            counts[s] += len(rows) * len(cols)
    assert counts == {2: 21910, 3: 21884, 4: 21772}


@pytest.mark.parametrize("flag", [[], ["--no-progress"]])
def test_progress_bar_unless_no_progress(tmp_path, images, capsys, flag):
    rc, _, err = _run(capsys, "--images", images, "--scale", 3, "--out", tmp_path / "t.h5", *flag)
    assert rc == 0 and ("patches:   0%" in err and "| 0/3 [" in err) == (not flag), err
