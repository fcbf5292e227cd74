"""The authors' released weights as the fetchable set ``srcnn-weights`` (npsrcnn/datasets/WEIGHTS.tsv).

Offline, from the reference copy (``ref_weights``: ``$NPSRCNN_REF_WEIGHTS``), and over HTTP from the
local server of tests/test_data.py serving the same files at their pinned paths. The fetched .mat
files are loaded with ``load_model`` and converted with ``python -m npsrcnn.convert``.
"""
import csv

import numpy as np
import pytest
from conftest import assert_one_line_error, run_python
from test_data import _dead_url, _no_proxy, _printed_command, _serve, run_printed_in_a_shell, server  # noqa: F401

from npsrcnn import data
from npsrcnn.datasets import sets
from npsrcnn.model.pretrained import load_model
from npsrcnn.model.srcnn import SRCNN

PINNED = ("WangDequan/SRCNN", "85679e2ef74e058a1f1e79fe6ba349e93f1ee8ea")


def _weights():
    return [e for e in sets.manifest() if e.set == sets.WEIGHTS_SET]


def _fetch_from(ref_weights, dest, *more):
    return data.main(["fetch", "--sets", "srcnn-weights", "--from", str(ref_weights), "--dest", str(dest),
                      "--no-progress", *more])


def test_weights_manifest_pins_the_authors_model_folder():
    es = _weights()
    assert len(es) == 8 and {e.bytes for e in es} <= set(range(30_000, 300_000))
    assert {(e.source_repo, e.source_commit) for e in es} == {PINNED}
    assert all(e.source_path == f"model/{e.file}" for e in es)
    assert sorted(e.file.split("/")[0] for e in es) == sorted(
        ["9-1-5(91 images)"] * 3 + ["9-1-5(ImageNet)", "9-3-5(ImageNet)"] + ["9-5-5(ImageNet)"] * 3)
    assert es[0].url() == ("https://raw.githubusercontent.com/WangDequan/SRCNN/"
                           "85679e2ef74e058a1f1e79fe6ba349e93f1ee8ea/model/9-1-5%2891%20images%29/x2.mat")


def test_weights_manifest_matches_the_reference_copy(ref_weights):
    """WEIGHTS.tsv = the .mat rows of the reference copy's SOURCES.tsv, and the files hash to it."""
    with open(ref_weights / "SOURCES.tsv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["file"].endswith(".mat")]
    keys = ("file", "sha256", "bytes", "source_repo", "source_path", "source_commit")
    assert [tuple(str(getattr(e, k)) for k in keys) for e in _weights()] == [tuple(r[k] for k in keys) for r in rows]
    for e in _weights():
        assert sets.sha256_file(ref_weights / e.file) == e.sha256 and (ref_weights / e.file).stat().st_size == e.bytes


def test_weights_fetched_from_the_reference_copy_verify_and_load(ref_weights, tmp_path, capsys):
    pytest.importorskip("scipy")
    dest = tmp_path / "data"
    assert _fetch_from(ref_weights, dest) == 0
    assert capsys.readouterr().out.endswith("all 8 files verify against the manifest\n")
    landed = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert landed == sorted(f"srcnn-weights/{e.file}" for e in _weights())  # the authors' layout, nothing else
    assert data.main(["verify", "--sets", "srcnn-weights", "--dest", str(dest)]) == 0

    mat = dest / "srcnn-weights" / "9-5-5(ImageNet)" / "x3.mat"
    model, want = load_model(mat, 3), SRCNN.from_npz(ref_weights / "9-5-5(ImageNet)" / "x3.npz")
    assert model.arch == "9-5-5" and model.scale == 3
    for k in want.params:
        np.testing.assert_array_equal(model.params[k], want.params[k], err_msg=k)

    done = run_python("-m", "npsrcnn.convert", mat, "-o", tmp_path / "w.h5", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"convert: {mat} (9-5-5, x3) -> {tmp_path / 'w.h5'}\n"
    converted = SRCNN.load(tmp_path / "w.h5")
    for k in want.params:
        np.testing.assert_array_equal(converted.params[k], want.params[k], err_msg=k)


def test_weights_from_a_folder_holding_srcnn_weights(ref_weights, tmp_path):
    assert _fetch_from(ref_weights, tmp_path / "a") == 0
    assert _fetch_from(tmp_path / "a", tmp_path / "b") == 0  # DIR/srcnn-weights/{file}, like the image sets
    assert sets.verify([sets.WEIGHTS_SET], tmp_path / "b").ok


def test_weights_are_not_fetched_by_default(ref_weights, tmp_path, capsys):
    assert sets.WEIGHTS_SET not in {e.set for e in sets.select(sets.manifest())}
    dest = tmp_path / "data"
    rc = data.main(["fetch", "--from", str(ref_weights), "--dest", str(dest), "--no-progress"])
    assert_one_line_error(rc, capsys.readouterr().err,
                          f"--from {ref_weights} holds the authors' weights, none of T91/, Set5/, Set14/, BSD100/; "
                          "add --sets srcnn-weights to copy them")
    assert not dest.exists()
    rc = data.main(["fetch", "--from", str(ref_weights), "--dest", str(dest), "--no-progress",
                    "--sets", "srcnn-weights"])  # the flag the error names, added
    assert rc == 0 and sets.verify([sets.WEIGHTS_SET], dest).ok


def test_weights_from_one_model_folder_points_at_its_parent(ref_weights, tmp_path, capsys):
    src = ref_weights / "9-5-5(ImageNet)"
    assert _fetch_from(src, tmp_path / "data") == 2
    assert_one_line_error(2, capsys.readouterr().err,
                          f"--from {src} is a folder inside the authors' weights; pass the folder that holds it, "
                          f"--from {ref_weights}")
    assert not (tmp_path / "data").exists()
    assert _fetch_from(ref_weights, tmp_path / "data") == 0  # the folder it names


def test_offline_weights_fetch_leaves_no_folders(tmp_path, capsys):
    dest = tmp_path / "data"
    dest.mkdir()
    rc = data.main(["fetch", "--sets", "srcnn-weights", "--dest", str(dest), "--base-url", _dead_url(),
                    "--retries", "0", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "error: 3 of 3 files tried failed (network error: 3) in " in err
    assert "; 5 not attempted after 3 network failures in a row; " in err
    assert list(dest.iterdir()) == []  # neither srcnn-weights/ nor its 9-1-5(91 images)/


def test_weights_over_http_then_the_verify_hint_as_printed(ref_weights, server, tmp_path, capsys, monkeypatch):
    pytest.importorskip("scipy")
    for e in _weights():
        _serve(server, e, (ref_weights / e.file).read_bytes())
    dest = tmp_path / "data"
    assert data.main(["verify", "--sets", "srcnn-weights", "--dest", str(dest)]) == 2
    command = _printed_command(capsys.readouterr().err)
    assert command == f"python -m npsrcnn.data fetch --sets srcnn-weights --dest {dest}"

    monkeypatch.setenv("NPSRCNN_FETCH_BASE_URL", server.base_url)
    done = run_printed_in_a_shell(command, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("all 8 files verify against the manifest\n")
    assert sorted(name for name, _ in server.requests) == sorted(e.file.split("/")[1] for e in _weights())
    assert data.main(["verify", "--sets", "srcnn-weights", "--dest", str(dest)]) == 0
    assert load_model(dest / "srcnn-weights" / "9-1-5(91 images)" / "x2.mat").scale == 2
