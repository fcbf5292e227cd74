"""npsrcnn.data: manifest, verified atomic fetch over HTTP (against a local server), resume, --from.

A ThreadingHTTPServer on 127.0.0.1 serves ``{root}/{repo}/{commit}/{path}`` with optional Range
support and misbehaviours (corrupt bytes, early close, 503s) chosen per file name; it records every
request and stops in the fixture finalizer. Most tests use a small fake manifest (random bytes,
parsed by ``parse_manifest``) so they run without the datasets; the real-file tests use the
``datasets`` fixture and skip without it.
"""
import hashlib
import http.server
import json
import re
import shlex
import socket
import threading
import urllib.parse
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, assert_one_line_error, run_python

from npsrcnn import data
from npsrcnn.datasets import sets

HEADER = "set\tfile\tsha256\tbytes\twidth\theight\tmode\tsource_repo\tsource_path\tsource_commit\n"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


# ------------------------------------------------------------------------------------------ helpers

class _Handler(http.server.BaseHTTPRequestHandler):
    """GET with optional ``Range: bytes=n-``; misbehaves per file name as `server.behaviour` says."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        st = self.server.state
        rel = urllib.parse.unquote(self.path.lstrip("/"))
        name = rel.rsplit("/", 1)[-1]
        with st.lock:
            st.requests.append((name, self.headers.get("Range")))
            how = st.behaviour.get(name, {})
            statuses = how.get("statuses", [])
            status = statuses.pop(0) if statuses else None
            truncate = how.get("truncate", 0) > 0
            if truncate:
                how["truncate"] -= 1
        if status:
            return self.send_error(status)
        f = st.root / rel
        if not f.is_file():
            return self.send_error(404)
        body = bytearray(f.read_bytes())
        if how.get("corrupt"):
            body[len(body) // 2] ^= 0xFF
        if how.get("extra"):
            body += b"x" * 100
        m = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if m and st.ranges:
            start = int(m.group(1))
            if start >= len(body):
                return self.send_error(416)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            start = 0
            self.send_response(200)
        payload = bytes(body[start:])
        self.send_header("Content-Length", str(len(payload)))  # the full length, also when we then stop early
        self.end_headers()
        sent = payload[: len(payload) // 2] if truncate else payload
        self.wfile.write(sent)
        with st.lock:
            st.sent.append((name, len(sent)))


class _State:
    def __init__(self, root):
        self.root, self.requests, self.sent, self.behaviour = root, [], [], {}
        self.ranges, self.lock = True, threading.Lock()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.delenv("NPSRCNN_FETCH_BASE_URL", raising=False)


@pytest.fixture
def server(tmp_path):
    """A local HTTP server over ``tmp_path/www``; ``.base_url``, ``.root``, ``.requests``, ``.behaviour``."""
    root = tmp_path / "www"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.state = _State(root)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    httpd.state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd.state
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)
    assert not thread.is_alive()


def _serve(server, entry, content):
    f = server.root / entry.source_repo / entry.source_commit / entry.source_path
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_bytes(content)


@pytest.fixture
def fake(monkeypatch, server):
    """Five random files of 'Set5' in a fake manifest (one name with a space), served by `server`."""
    rng = np.random.default_rng(0)
    files = {f"f{i}{' x' if i == 4 else ''}.bmp": rng.bytes(int(rng.integers(20_000, 90_000))) for i in range(5)}
    lines = [f"Set5\t{n}\t{hashlib.sha256(b).hexdigest()}\t{len(b)}\t1\t1\tRGB\tfake/repo\timgs/{n}\t{COMMIT}\n"
             for n, b in files.items()]
    entries = sets.parse_manifest(HEADER + "".join(lines))
    monkeypatch.setattr(sets, "manifest", lambda: entries)
    for e in entries:
        _serve(server, e, files[e.file])
    return entries, files


def _fetch(server, dest, **kw):
    return sets.fetch(["Set5"], dest, base_url=server.base_url, retries=kw.pop("retries", 2), backoff=0,
                      timeout=5, **kw)


def _status(summary):
    return {r.file: r.status for r in summary.results}


def _counts(files, ok=0, fetched=0, failed=0, not_attempted=0):
    return {"files": files, "ok": ok, "tried": fetched + failed, "fetched": fetched, "failed": failed,
            "not_attempted": not_attempted}


def _printed_command(err):
    """The command between backticks on the error line of `err` (a hint printed for the user to run)."""
    (line,) = [line for line in err.splitlines() if ": error: " in line]
    (command,) = re.findall(r"`([^`]+)`", line)
    return command


def run_printed(command):
    """Run `command` as printed, in this process: ``python -m npsrcnn.data ARGS`` -> ``data.main(ARGS)``.

    In-process, so that the monkeypatched manifest of the `fake` fixture is the one it reads.
    """
    words = shlex.split(command)
    assert words[:3] == ["python", "-m", "npsrcnn.data"], command
    return data.main(words[3:])


def run_printed_in_a_shell(command, cwd):
    """Run `command` as printed in a new process (``python`` is this interpreter); returns the CompletedProcess."""
    words = shlex.split(command)
    assert words[0] == "python", command
    return run_python(*words[1:], cwd=cwd)


# ----------------------------------------------------------------------------------------- manifest

def test_shipped_manifests_have_the_four_sets_and_the_weights():
    entries = sets.manifest()
    counts = {s: sum(e.set == s for e in entries) for s in sets.ALL_SETS}
    assert counts == {"T91": 91, "Set5": 5, "Set14": 14, "BSD100": 100, "srcnn-weights": 8}
    assert len({e.name for e in entries}) == 218
    assert [e.set for e in sets.select(entries)] == [e.set for e in entries if e.set in sets.SETS]  # default: images
    assert all(e.width and e.height and e.mode for e in entries if e.set in sets.SETS)
    assert all(re.fullmatch(r"[0-9a-f]{64}", e.sha256) and e.bytes > 0 for e in entries)
    assert all(re.fullmatch(r"[0-9a-f]{40}", e.source_commit) for e in entries)


def test_shipped_manifest_equals_the_datasets_copy(datasets):
    """The manifest shipped in the package is the one beside the datasets ($NPSRCNN_DATA/MANIFEST.tsv)."""
    theirs = datasets / "MANIFEST.tsv"
    if not theirs.is_file():
        pytest.skip(f"{theirs} not found (a folder made by `data fetch` has no manifest beside the sets)")
    shipped = (REPO / "npsrcnn" / "datasets" / "MANIFEST.tsv").read_bytes()
    assert shipped == theirs.read_bytes()
    # the weights are in a second manifest, WEIGHTS.tsv, beside it
    assert [e for e in sets.manifest() if e.set in sets.SETS] == sets.parse_manifest(theirs.read_text())


@pytest.mark.parametrize("name", ["../x.bmp", "/etc/x.bmp", "a/../../x.bmp", "a\\x.bmp", "./x.bmp"])
def test_parse_manifest_rejects_a_file_outside_its_set(name):
    with pytest.raises(ValueError, match="not a relative path inside its set"):
        sets.parse_manifest(HEADER + f"Set5\t{name}\t{'0' * 64}\t1\t1\t1\tRGB\tr/r\tp\t{COMMIT}\n")


def test_parse_manifest_rejects_missing_columns():
    with pytest.raises(ValueError, match="line 2"):
        sets.parse_manifest("set\tfile\tsha256\nSet5\ta.bmp\tabc\n")


def test_url_is_the_pinned_raw_file(monkeypatch):
    e = next(e for e in sets.manifest() if e.name == "Set5/baby_GT.bmp")
    assert e.url() == ("https://raw.githubusercontent.com/WangDequan/SRCNN/"
                       "85679e2ef74e058a1f1e79fe6ba349e93f1ee8ea/Set5/baby_GT.bmp")
    monkeypatch.setenv("NPSRCNN_FETCH_BASE_URL", "http://mirror/x/")
    assert e.url() == "http://mirror/x/WangDequan/SRCNN/85679e2ef74e058a1f1e79fe6ba349e93f1ee8ea/Set5/baby_GT.bmp"


def test_dest_defaults_to_npsrcnn_data(monkeypatch, tmp_path):
    monkeypatch.setenv("NPSRCNN_DATA", str(tmp_path))
    assert sets.default_dest() == tmp_path
    monkeypatch.delenv("NPSRCNN_DATA")
    assert sets.default_dest() == Path("data")


# ---------------------------------------------------------------------------------------- over HTTP

def test_clean_fetch_then_rerun_makes_no_requests(fake, server, tmp_path):
    entries, files = fake
    dest = tmp_path / "dest"
    s = _fetch(server, dest)
    assert s.ok and s.counts() == {"Set5": _counts(5, fetched=5)}
    for n, b in files.items():
        assert (dest / "Set5" / n).read_bytes() == b
    assert sorted(p.name for p in (dest / "Set5").iterdir()) == sorted(files)  # no .part left behind
    assert len(server.requests) == 5 and all(r is None for _, r in server.requests)

    s = _fetch(server, dest)
    assert s.ok and set(_status(s).values()) == {"ok"}
    assert len(server.requests) == 5  # nothing downloaded again


@pytest.mark.parametrize("how", ["corrupt", "extra"])
def test_bad_bytes_on_server_are_rejected(fake, server, tmp_path, how, capsys):
    entries, files = fake
    server.behaviour["f1.bmp"] = {how: True}
    dest = tmp_path / "dest"
    rc = data.main(["fetch", "--sets", "Set5", "--dest", str(dest), "--base-url", server.base_url,
                    "--backoff", "0", "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert not (dest / "Set5" / "f1.bmp").exists() and not (dest / "Set5" / "f1.bmp.part").exists()
    assert all((dest / "Set5" / n).read_bytes() == b for n, b in files.items() if n != "f1.bmp")
    assert len(err) == 2 and err[0].startswith("Set5/f1.bmp: ")
    assert ("checksum mismatch (got " if how == "corrupt" else "wrong size") in err[0]
    category = {"corrupt": "checksum mismatch", "extra": "wrong size"}[how]
    assert err[1] == f"python -m npsrcnn.data: error: 1 of 5 files tried failed ({category}: 1) in {dest}"
    assert sum(name == "f1.bmp" for name, _ in server.requests) == 1  # a bad file is not a transient error


def test_truncated_download_is_retried_then_rejected(fake, server, tmp_path):
    server.ranges = False
    server.behaviour["f2.bmp"] = {"truncate": 99}
    dest = tmp_path / "dest"
    s = _fetch(server, dest, retries=2)
    (bad,) = s.failures
    assert bad.file == "f2.bmp" and bad.category == "truncated" and "after 3 attempts" in bad.message
    assert sum(name == "f2.bmp" for name, _ in server.requests) == 3  # bounded: 1 + retries
    assert not (dest / "Set5" / "f2.bmp").exists()
    assert _status(s) == {**{e.file: "fetched" for e in fake[0]}, "f2.bmp": "failed"}


def test_connection_closed_early_resumes_with_range(fake, server, tmp_path):
    entries, files = fake
    server.behaviour["f3.bmp"] = {"truncate": 1}
    s = _fetch(server, tmp_path)
    assert s.ok
    assert (tmp_path / "Set5" / "f3.bmp").read_bytes() == files["f3.bmp"]
    half = len(files["f3.bmp"]) // 2
    assert [r for name, r in server.requests if name == "f3.bmp"] == [None, f"bytes={half}-"]


def test_partial_file_is_resumed_with_range(fake, server, tmp_path):
    entries, files = fake
    b = files["f0.bmp"]
    (tmp_path / "Set5").mkdir()
    (tmp_path / "Set5" / "f0.bmp.part").write_bytes(b[:1000])
    s = _fetch(server, tmp_path)
    r = next(r for r in s.results if r.file == "f0.bmp")
    assert r.status == "fetched" and "resumed a partial download at byte 1000" in r.note
    assert (tmp_path / "Set5" / "f0.bmp").read_bytes() == b
    assert not (tmp_path / "Set5" / "f0.bmp.part").exists()
    assert [x for x in server.requests if x[0] == "f0.bmp"] == [("f0.bmp", "bytes=1000-")]
    assert ("f0.bmp", len(b) - 1000) in server.sent  # only the rest came over the wire


def test_partial_file_when_range_is_ignored(fake, server, tmp_path):
    entries, files = fake
    server.ranges = False  # the server answers 200 with the whole file
    (tmp_path / "Set5").mkdir()
    (tmp_path / "Set5" / "f0.bmp.part").write_bytes(files["f0.bmp"][:1000])
    assert _fetch(server, tmp_path).ok
    assert (tmp_path / "Set5" / "f0.bmp").read_bytes() == files["f0.bmp"]


def test_partial_file_with_wrong_bytes_starts_over(fake, server, tmp_path):
    entries, files = fake
    (tmp_path / "Set5").mkdir()
    (tmp_path / "Set5" / "f0.bmp.part").write_bytes(b"\0" * 1000)  # not a prefix of the file
    s = _fetch(server, tmp_path)
    assert s.ok
    assert (tmp_path / "Set5" / "f0.bmp").read_bytes() == files["f0.bmp"]
    assert [r for name, r in server.requests if name == "f0.bmp"] == ["bytes=1000-", None]


@pytest.mark.parametrize("extra, requests", [(0, []), (10, [None])])
def test_complete_or_too_long_partial_file(fake, server, tmp_path, extra, requests):
    entries, files = fake
    (tmp_path / "Set5").mkdir()
    (tmp_path / "Set5" / "f0.bmp.part").write_bytes(files["f0.bmp"] + b"x" * extra)
    assert _fetch(server, tmp_path).ok
    assert (tmp_path / "Set5" / "f0.bmp").read_bytes() == files["f0.bmp"]
    assert [r for name, r in server.requests if name == "f0.bmp"] == requests


def test_transient_http_errors_are_retried_but_404_is_not(fake, server, tmp_path):
    entries, files = fake
    server.behaviour["f0.bmp"] = {"statuses": [503, 502]}
    server.behaviour["f1.bmp"] = {"statuses": [404]}
    s = _fetch(server, tmp_path, retries=3)
    assert _status(s)["f0.bmp"] == "fetched"
    assert (tmp_path / "Set5" / "f0.bmp").read_bytes() == files["f0.bmp"]
    assert sum(name == "f0.bmp" for name, _ in server.requests) == 3
    (bad,) = s.failures
    assert bad.file == "f1.bmp" and bad.category == "HTTP error" and "404" in bad.message
    assert sum(name == "f1.bmp" for name, _ in server.requests) == 1


def test_wrong_existing_copy_is_replaced_and_strays_are_kept(fake, server, tmp_path):
    entries, files = fake
    (tmp_path / "Set5").mkdir()
    (tmp_path / "Set5" / "f0.bmp").write_bytes(b"old")
    (tmp_path / "Set5" / "mine.txt").write_bytes(b"not in the manifest")
    lines = []
    s = _fetch(server, tmp_path, log=lines.append)
    assert s.ok and "replaced" in next(r.note for r in s.results if r.file == "f0.bmp")
    assert (tmp_path / "Set5" / "f0.bmp").read_bytes() == files["f0.bmp"]
    assert (tmp_path / "Set5" / "mine.txt").read_bytes() == b"not in the manifest"
    assert lines == ["Set5/f0.bmp: existing copy does not verify (truncated (3 bytes, expected "
                     f"{len(files['f0.bmp'])})); replacing it"]


def test_wrong_existing_copy_is_kept_when_the_download_fails(fake, server, tmp_path):
    server.behaviour["f0.bmp"] = {"corrupt": True}
    (tmp_path / "Set5").mkdir()
    (tmp_path / "Set5" / "f0.bmp").write_bytes(b"old")
    assert not _fetch(server, tmp_path).ok
    assert (tmp_path / "Set5" / "f0.bmp").read_bytes() == b"old"


def _dead_url():
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_unreachable_server_stops_after_three_files_and_leaves_no_folder(fake, tmp_path, capsys):
    dest, url = tmp_path / "data", _dead_url()
    rc = data.main(["fetch", "--sets", "Set5", "--dest", str(dest), "--base-url", url,
                    "--retries", "1", "--backoff", "0", "--no-progress"])
    out, err = capsys.readouterr()
    err = err.strip().splitlines()
    assert rc == 2
    assert len(err) == 4 and all("network error: cannot reach 127.0.0.1" in line for line in err[:3])
    assert "(after 2 attempts); not written" in err[0]
    assert err[3] == (f"python -m npsrcnn.data: error: 3 of 3 files tried failed (network error: 3) in {dest}; "
                      "2 not attempted after 3 network failures in a row; "
                      f"rerun `python -m npsrcnn.data fetch --sets Set5 --dest {dest} --base-url {url}` to resume, "
                      "or add --from DIR to copy a local copy")
    assert "Traceback" not in "".join(err)
    assert "Set5                 5       0       3       0       3             2" in out
    assert not dest.exists()  # the folders it made for files that never landed are gone


def test_offline_fetch_of_all_sets_leaves_no_empty_set_folder(tmp_path, capsys):
    """The report: offline, `data fetch` left empty T91/ Set5/ Set14/ BSD100/ and said 210 failed."""
    dest = tmp_path / "data"
    (dest / "mine").mkdir(parents=True)
    rc = data.main(["fetch", "--dest", str(dest), "--base-url", _dead_url(), "--retries", "0", "--no-progress"])
    out, err = capsys.readouterr()
    assert rc == 2
    assert sorted(p.name for p in dest.iterdir()) == ["mine"]  # dest existed: kept, with what was in it
    assert "T91                 91       0       3       0       3            88" in out
    assert "BSD100             100       0       0       0       0           100" in out
    assert "error: 3 of 3 files tried failed (network error: 3) in " in err
    assert "; 207 not attempted after 3 network failures in a row; rerun " in err


def test_fetch_counts_tried_failed_and_not_attempted_per_set(monkeypatch, server, tmp_path, capsys):
    """A server failing three files in a row: per set, what was there, tried, failed and left; then the hint."""
    rng = np.random.default_rng(1)
    files = {("Set5", f"a{i}.bmp"): rng.bytes(3000 + i) for i in range(5)}
    files.update({("Set14", f"b{i}.bmp"): rng.bytes(4000 + i) for i in range(4)})
    lines = [f"{s}\t{n}\t{hashlib.sha256(b).hexdigest()}\t{len(b)}\t1\t1\tRGB\tfake/repo\timgs/{n}\t{COMMIT}\n"
             for (s, n), b in files.items()]
    entries = sets.parse_manifest(HEADER + "".join(lines))
    monkeypatch.setattr(sets, "manifest", lambda: entries)
    for e in entries:
        _serve(server, e, files[e.set, e.file])
    dest = tmp_path / "data"
    (dest / "Set5").mkdir(parents=True)
    (dest / "Set5" / "a1.bmp").write_bytes(files["Set5", "a1.bmp"])  # already there: asks nothing of the network
    for n in ("a0.bmp", "a2.bmp", "a3.bmp"):
        server.behaviour[n] = {"statuses": [503]}
    argv = ["fetch", "--sets", "Set5", "Set14", "--dest", str(dest), "--base-url", server.base_url, "--json"]
    assert data.main(argv + ["--retries", "0"]) == 2
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert summary["sets"] == {"Set5": _counts(5, ok=1, failed=3, not_attempted=1),
                               "Set14": _counts(4, not_attempted=4)}
    assert summary["totals"] == _counts(9, ok=1, failed=3, not_attempted=5)
    assert [f["file"] for f in summary["failures"]] == ["a0.bmp", "a2.bmp", "a3.bmp"]
    assert {f["category"] for f in summary["failures"]} == {"network error"}
    assert "error: 3 of 3 files tried failed (network error: 3) in " in err and "; 5 not attempted after 3 " in err
    assert sorted(name for name, _ in server.requests) == ["a0.bmp", "a2.bmp", "a3.bmp"]
    assert sorted(p.name for p in dest.iterdir()) == ["Set5"] and not (dest / "Set14").exists()

    command = _printed_command(err)  # the server works again: the hint, run as printed, finishes the job
    assert command == (f"python -m npsrcnn.data fetch --sets Set5 Set14 --dest {dest} "
                       f"--base-url {server.base_url}")
    assert run_printed(command) == 0
    assert "all 9 files verify against the manifest" in capsys.readouterr().out
    assert all((dest / s / n).read_bytes() == b for (s, n), b in files.items())
    assert sorted(name for name, _ in server.requests).count("a1.bmp") == 0


def test_a_set_with_nothing_fetched_leaves_no_partial_download(fake, server, tmp_path):
    """Every file cut short: the .part files and the folder made for them go; with one file in, they stay."""
    server.ranges = False
    for e in fake[0]:
        server.behaviour[e.file] = {"truncate": 1}
    dest = tmp_path / "data"
    s = _fetch(server, dest, retries=0)
    assert {r.category for r in s.failures} == {"truncated"} and len(s.failures) == 5
    assert not dest.exists()

    server.behaviour["f0.bmp"] = {"truncate": 0}
    for e in fake[0][1:]:
        server.behaviour[e.file] = {"truncate": 1}
    s = _fetch(server, dest, retries=0)
    assert _status(s)["f0.bmp"] == "fetched" and len(s.failures) == 4
    assert sorted(p.name for p in (dest / "Set5").iterdir()) == sorted(
        ["f0.bmp"] + [e.file + ".part" for e in fake[0][1:]])  # kept for the next run to resume


def test_real_set5_over_http_then_verify(datasets, server, tmp_path, capsys, monkeypatch):
    for e in sets.select(sets.manifest(), ["Set5"]):
        _serve(server, e, (datasets / e.set / e.file).read_bytes())
    dest = tmp_path / "dest"
    rc = data.main(["fetch", "--sets", "Set5", "--dest", str(dest), "--base-url", server.base_url, "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0 and "all 5 files verify against the manifest" in out
    assert sorted(name for name, _ in server.requests) == sorted(e.file for e in sets.manifest() if e.set == "Set5")
    assert data.main(["verify", "--sets", "Set5", "--dest", str(dest)]) == 0
    (dest / "Set5" / "bird_GT.bmp").write_bytes(b"BM")
    assert data.main(["verify", "--sets", "Set5", "--dest", str(dest)]) == 2
    assert "Set5: 1 of 5 truncated: bird_GT.bmp\n" in capsys.readouterr().err
    assert data.main(["verify", "--sets", "Set5", "--dest", str(dest), "--verbose"]) == 2
    err = capsys.readouterr().err
    assert "Set5/bird_GT.bmp: truncated (2 bytes, expected 248886)\n" in err

    command = _printed_command(err)  # run as printed, in a shell of its own, against the same server
    assert command == f"python -m npsrcnn.data fetch --sets Set5 --dest {dest}"
    monkeypatch.setenv("NPSRCNN_FETCH_BASE_URL", server.base_url)
    done = run_printed_in_a_shell(command, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Set5/bird_GT.bmp: existing copy does not verify (truncated (2 bytes, expected 248886)); replacing it" \
        in done.stderr
    assert data.main(["verify", "--sets", "Set5", "--dest", str(dest)]) == 0


def test_verify_hint_run_as_printed_replaces_and_gets_the_files(fake, server, tmp_path, capsys, monkeypatch):
    entries, files = fake
    dest = tmp_path / "my data"
    assert _fetch(server, dest).ok
    with open(dest / "Set5" / "f2.bmp", "ab") as fh:
        fh.write(b"x")
    (dest / "Set5" / "f3.bmp").unlink()
    assert data.main(["verify", "--sets", "Set5", "--dest", str(dest)]) == 2
    err = capsys.readouterr().err
    assert "Set5: 1 of 5 wrong size: f2.bmp\nSet5: 1 of 5 missing: f3.bmp\n" in err
    command = _printed_command(err)
    assert err.endswith(f"; `{command}` fetches them again, replacing the copies that do not verify\n")
    assert command == f"python -m npsrcnn.data fetch --sets Set5 --dest '{dest}'"  # quoted for the shell
    monkeypatch.setenv("NPSRCNN_FETCH_BASE_URL", server.base_url)
    assert run_printed(command) == 0
    assert all((dest / "Set5" / n).read_bytes() == b for n, b in files.items())
    assert data.main(["verify", "--sets", "Set5", "--dest", str(dest)]) == 0


def test_an_interrupted_first_fetch_leaves_no_folder(fake, tmp_path):
    entries, files = fake
    (tmp_path / "src" / "Set5").mkdir(parents=True)
    for n, b in files.items():
        (tmp_path / "src" / "Set5" / n).write_bytes(b)

    def ctrl_c(n):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # in the middle of writing f0.bmp.part
        sets.fetch(["Set5"], tmp_path / "data", source_dir=tmp_path / "src", progress=ctrl_c)
    assert not (tmp_path / "data").exists()


def test_a_folder_something_else_wrote_into_is_kept_whole(fake, server, tmp_path):
    server.ranges = False
    for e in fake[0]:
        server.behaviour[e.file] = {"truncate": 1}
    dest = tmp_path / "data"

    def someone_writes(n):
        if (dest / "Set5").is_dir() and not (dest / "Set5" / "mine.txt").exists():
            (dest / "Set5" / "mine.txt").write_bytes(b"not ours")

    s = _fetch(server, dest, retries=0, progress=someone_writes)
    assert len(s.failures) == 5
    assert (dest / "Set5" / "mine.txt").read_bytes() == b"not ours"
    assert sorted(p.name for p in (dest / "Set5").iterdir()) == sorted(
        ["mine.txt"] + [e.file + ".part" for e in fake[0]])


# ------------------------------------------------------------------------------------ symbolic links

def test_a_partial_download_that_is_a_link_is_not_written_through(fake, server, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"the user's file")
    (tmp_path / "d" / "Set5").mkdir(parents=True)
    part = tmp_path / "d" / "Set5" / "f0.bmp.part"
    part.symlink_to(victim)
    s = _fetch(server, tmp_path / "d")
    (bad,) = s.failures
    assert bad.file == "f0.bmp" and bad.category == "not a file"
    assert bad.message == f"{part} is a symbolic link; not written through it"
    assert victim.read_bytes() == b"the user's file" and part.is_symlink()
    assert not (tmp_path / "d" / "Set5" / "f0.bmp").exists()
    assert all(name != "f0.bmp" for name, _ in server.requests)


def test_a_target_that_is_a_link_is_used_when_it_verifies_and_never_replaced(fake, server, tmp_path):
    entries, files = fake
    good, wrong = tmp_path / "good.bmp", tmp_path / "wrong.bmp"
    good.write_bytes(files["f0.bmp"])
    wrong.write_bytes(b"another version")
    (tmp_path / "d" / "Set5").mkdir(parents=True)
    (tmp_path / "d" / "Set5" / "f0.bmp").symlink_to(good)
    (tmp_path / "d" / "Set5" / "f1.bmp").symlink_to(wrong)
    s = _fetch(server, tmp_path / "d")
    assert _status(s) == {"f0.bmp": "ok", "f1.bmp": "failed", "f2.bmp": "fetched", "f3.bmp": "fetched",
                          "f4 x.bmp": "fetched"}
    n = len(files["f1.bmp"])
    assert s.failures[0].message == (f"{tmp_path / 'd' / 'Set5' / 'f1.bmp'} is a symbolic link to a file that does "
                                     f"not verify (truncated (15 bytes, expected {n})); not replaced")
    assert (tmp_path / "d" / "Set5" / "f1.bmp").is_symlink() and wrong.read_bytes() == b"another version"
    assert not any(name in ("f0.bmp", "f1.bmp") for name, _ in server.requests)


def test_open_part_refuses_a_link_put_in_its_place(tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    (tmp_path / "x.part").symlink_to(victim)
    for append in (False, True):
        with pytest.raises(OSError):
            sets._open_part(tmp_path / "x.part", append)
    assert victim.read_bytes() == b"keep"


# -------------------------------------------------------------------------------------------- --from

def test_from_dir_imports_and_rejects_a_corrupted_copy(fake, tmp_path):
    entries, files = fake
    src = tmp_path / "src" / "Set5"
    src.mkdir(parents=True)
    for n, b in files.items():
        (src / n).write_bytes(b)
    (src / "f2.bmp").write_bytes(b"\0" + files["f2.bmp"][1:])
    (src / "f3.bmp").unlink()
    s = sets.fetch(["Set5"], tmp_path / "dest", source_dir=tmp_path / "src")
    assert {r.file: r.category for r in s.failures} == {"f2.bmp": "checksum mismatch", "f3.bmp": "missing in source"}
    for n, b in files.items():
        out = tmp_path / "dest" / "Set5" / n
        assert out.read_bytes() == b if n not in ("f2.bmp", "f3.bmp") else not out.exists()
    assert not list((tmp_path / "dest" / "Set5").glob("*.part"))


def test_from_full_shared_datasets_verifies_all_210(datasets, tmp_path):
    s = sets.fetch(None, tmp_path, source_dir=datasets)
    assert s.ok
    assert s.counts() == {"T91": _counts(91, fetched=91), "Set5": _counts(5, fetched=5),
                          "Set14": _counts(14, fetched=14), "BSD100": _counts(100, fetched=100)}
    assert sets.verify(None, tmp_path).ok


# ------------------------------------------------------------------------------------- CLI errors

@pytest.mark.parametrize("argv, needle", [
    (["fetch", "--from", "{tmp}/nope"], "--from folder"),
    (["fetch", "--sets", "Set6"], "invalid choice: 'Set6'"),
    (["fetch", "--from", "{tmp}/src", "--dest", "{tmp}/file/sub"], "cannot create {tmp}/file/sub: {tmp}/file is not"),
    (["fetch", "--retries", "-1"], "--retries"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, needle):
    (tmp_path / "file").write_bytes(b"")
    (tmp_path / "src" / "Set5").mkdir(parents=True)
    argv = [a.format(tmp=tmp_path) for a in argv]
    rc = data.main(argv + (["--dest", str(tmp_path / "d")] if "--dest" not in argv else []))
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and needle.format(tmp=tmp_path) in err and "Traceback" not in err
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("name", ["Set5", "set5", "my_copy"])
def test_from_a_set_folder_itself_points_at_its_parent(fake, tmp_path, capsys, name):
    entries, files = fake
    src = tmp_path / "sets" / name
    src.mkdir(parents=True)
    for n, b in files.items():
        (src / n).write_bytes(b)
    rc = data.main(["fetch", "--sets", "Set5", "--from", str(src), "--dest", str(tmp_path / "dest"), "--no-progress"])
    assert_one_line_error(rc, capsys.readouterr().err,
                          f"--from {src} is the Set5 folder itself; pass the folder that holds it, --from {src.parent}")
    assert not (tmp_path / "dest").exists()
    if name == "Set5":  # the folder it points at is the one to pass
        assert data.main(["fetch", "--sets", "Set5", "--from", str(src.parent), "--dest", str(tmp_path / "dest")]) == 0


def test_from_a_folder_without_sets_is_one_line(tmp_path, capsys):
    rc = data.main(["fetch", "--from", str(tmp_path), "--dest", str(tmp_path / "dest"), "--no-progress"])
    assert_one_line_error(rc, capsys.readouterr().err, "holds none of T91/, Set5/, Set14/, BSD100/")


def test_verify_summarises_per_set_and_verbose_lists_every_file(tmp_path, capsys):
    dest = tmp_path / "d"
    assert data.main(["verify", "--dest", str(dest)]) == 2
    out, err = capsys.readouterr()
    assert "T91                 91       0      91" in out
    lines = err.splitlines()
    more = " (--verbose lists them)"
    assert lines[0] == "T91: 91 of 91 missing: t1.bmp, t2.bmp, t3.bmp, t4.bmp, t5.bmp and 86 more" + more
    assert lines[2].startswith("Set14: 14 of 14 missing: baboon.bmp, ") and lines[2].endswith(" and 9 more" + more)
    assert len(lines) == 5
    assert_one_line_error(2, err, f"210 of 210 files do not verify (missing: 210) in {dest}; "
                                  f"`python -m npsrcnn.data fetch --dest {dest}` gets them")
    assert data.main(["verify", "--dest", str(dest), "--sets", "Set5", "T91", "--verbose"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 97 and lines[0] == "Set5/baby_GT.bmp: missing" and lines[95] == "T91/tt27.bmp: missing"


def test_list_json(capsys):
    assert data.main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["set"], r["files"], r["default"]) for r in rows] == [
        ("T91", 91, True), ("Set5", 5, True), ("Set14", 14, True), ("BSD100", 100, True), ("srcnn-weights", 8, False)]
    assert sum(r["bytes"] for r in rows) == sum(e.bytes for e in sets.manifest())


def test_list_marks_the_weights_as_not_fetched_by_default(capsys):
    assert data.main(["list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[5] == "srcnn-weights      8    1074559  WangDequan/SRCNN@85679e2e  (only with --sets)"
    assert out[6] == "total            218   55232498"


def test_fetch_json_summary(fake, server, tmp_path, capsys):
    rc = data.main(["fetch", "--sets", "Set5", "--dest", str(tmp_path), "--base-url", server.base_url, "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["ok"] is True and out["failures"] == []
    assert out["sets"] == {"Set5": _counts(5, fetched=5)} and out["totals"] == _counts(5, fetched=5)


def test_header_names_the_folders_as_given(fake, tmp_path, capsys, monkeypatch):
    entries, files = fake
    (tmp_path / "src" / "Set5").mkdir(parents=True)
    for n, b in files.items():
        (tmp_path / "src" / "Set5" / n).write_bytes(b)
    monkeypatch.chdir(tmp_path)
    assert data.main(["fetch", "--sets", "Set5", "--from", "src", "--dest", "out", "--no-progress"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("fetch Set5 (5 files, ") and first.endswith(" from src (local copy) into out")
    assert data.main(["verify", "--sets", "Set5", "--dest", "out"]) == 0
    assert capsys.readouterr().out.startswith("verify Set5 in out\n")


def test_both_manifests_ship_as_package_data():
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    shipped = [name.strip() for name in cfg["options.package_data"]["npsrcnn.datasets"].split(",")]
    assert sorted(shipped) == sorted(sets.MANIFESTS)
    assert all((REPO / "npsrcnn" / "datasets" / name).is_file() for name in shipped)
