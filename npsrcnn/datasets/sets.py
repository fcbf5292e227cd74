"""The benchmark sets pinned by the manifest: verifying and fetching them (T91, Set5, Set14, BSD100) against the manifest in the package.

Every file in ``npsrcnn/datasets/MANIFEST.tsv`` names its public source pinned to a commit (``source_repo``,
``source_commit``, ``source_path``) and its sha256 and size. ``fetch`` downloads
``{base_url}/{source_repo}/{source_commit}/{source_path}`` (``base_url`` defaults to
https://raw.githubusercontent.com) or copies ``{--from}/{set}/{file}``, and a file lands at
``{dest}/{set}/{file}`` only after its size and sha256 match:

- each file is written to ``{file}.part`` beside its target, checked, fsynced, then ``os.replace``-d,
  so the target is either absent, the old file, or the verified new one;
- a target that already verifies is skipped (no request), so a rerun after an interruption resumes
  where it stopped; a leftover ``.part`` is continued with an HTTP ``Range`` request and checked
  like any other download (on a non-206 answer or a checksum failure it starts over);
- transient network errors (timeouts, resets, HTTP 408/429/5xx, connections closed early) are
  retried with exponential backoff, a bounded number of times;
- a download with the wrong checksum or size is never moved into place: it is reported, exit code 2;
- a target that exists with the wrong checksum is the manifest's file gone bad (truncated copy,
  another version): it is reported and replaced by the verified file. Nothing that is not in the
  manifest is ever touched.

Examples::

    python -m npsrcnn.data fetch                                # all four sets into $NPSRCNN_DATA or ./data
    python -m npsrcnn.data fetch --sets Set5 Set14 --dest /tmp/sr
    python -m npsrcnn.data fetch --from ../shared/datasets      # offline copy, same checks
    python -m npsrcnn.data verify                               # check what is there
    python -m npsrcnn.data list                                 # sets, file counts, bytes, sources
"""
import csv
import dataclasses
import hashlib
import http.client
import importlib.resources
import io
import os
import re
import socket
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .. import __version__
from ..util.errors import UserError
from ..util.files import fsync_dir

SETS = ("T91", "Set5", "Set14", "BSD100")


DEFAULT_BASE_URL = "https://raw.githubusercontent.com"


CHUNK = 1 << 16


# HTTP statuses worth retrying: the server or something between us is busy, not "this URL is wrong".
_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}


# After this many files in a row fail on the network, stop: 200 more timeouts tell the user nothing.
_MAX_NETWORK_FAILURES_IN_A_ROW = 3


@dataclasses.dataclass(frozen=True)
class Entry:
    """One row of MANIFEST.tsv: a file of a benchmark set, its checksum and its pinned source."""

    set: str
    file: str
    sha256: str
    bytes: int
    width: int
    height: int
    mode: str
    source_repo: str
    source_path: str
    source_commit: str

    @property
    def name(self):
        return f"{self.set}/{self.file}"

    def url(self, base_url=None):
        base = (base_url or default_base_url()).rstrip("/")
        return f"{base}/{self.source_repo}/{self.source_commit}/{urllib.parse.quote(self.source_path)}"


@dataclasses.dataclass
class FileResult:
    """What happened to one file: status "ok" (already there), "fetched" or "failed"."""

    set: str
    file: str
    status: str
    category: str = ""  # for failures: "checksum mismatch", "truncated", "network error", ...
    message: str = ""
    note: str = ""  # e.g. "replaced a copy with the wrong checksum", "resumed at byte 1234"


@dataclasses.dataclass
class Summary:
    """Per-file results of ``fetch`` or ``verify``, in manifest order."""

    dest: Path
    results: list

    @property
    def ok(self):
        return all(r.status != "failed" for r in self.results)

    @property
    def failures(self):
        return [r for r in self.results if r.status == "failed"]

    def counts(self):
        """{set: {"files": n, "ok": n, "fetched": n, "failed": n}} in the order the sets were asked for."""
        out = {}
        for r in self.results:
            c = out.setdefault(r.set, {"files": 0, "ok": 0, "fetched": 0, "failed": 0})
            c["files"] += 1
            c[r.status] += 1
        return out

    def to_json(self):
        return {"dest": str(self.dest), "ok": self.ok, "sets": self.counts(),
                "failures": [dataclasses.asdict(r) for r in self.failures]}


class _Failure(Exception):
    """One file could not be fetched; `category` groups failures in the report."""

    def __init__(self, category, message):
        super().__init__(message)
        self.category = category


def manifest():
    """The rows of the MANIFEST.tsv shipped in the package, as a list of :class:`Entry`."""
    text = importlib.resources.files("npsrcnn.datasets").joinpath("MANIFEST.tsv").read_text(encoding="utf-8")
    return parse_manifest(text)


def parse_manifest(text):
    """Parse MANIFEST.tsv text (tab-separated, header row) into a list of :class:`Entry`."""
    rows = list(csv.DictReader(io.StringIO(text), delimiter="\t"))
    fields = [f.name for f in dataclasses.fields(Entry)]
    entries = []
    for i, row in enumerate(rows, start=2):
        if set(row) != set(fields) or None in row.values():
            raise ValueError(f"MANIFEST.tsv line {i}: expected the columns {fields}")
        entries.append(Entry(**{**row, "bytes": int(row["bytes"]), "width": int(row["width"]),
                                "height": int(row["height"])}))
    return entries


def select(entries, sets=None):
    """The entries of `sets` (default: all), grouped in the order the sets are given."""
    sets = _check_sets(sets)
    return [e for s in sets for e in entries if e.set == s]


def _check_sets(sets):
    sets = list(dict.fromkeys(SETS if sets is None else ([sets] if isinstance(sets, str) else sets)))
    unknown = [s for s in sets if s not in SETS]
    if unknown:
        raise UserError(f"unknown set {unknown[0]!r} (choose from {', '.join(SETS)})")
    return sets


def default_dest():
    """``$NPSRCNN_DATA`` if set, else ``./data``."""
    return Path(os.environ.get("NPSRCNN_DATA") or "data")


def default_base_url():
    """``$NPSRCNN_FETCH_BASE_URL`` if set, else https://raw.githubusercontent.com."""
    return os.environ.get("NPSRCNN_FETCH_BASE_URL") or DEFAULT_BASE_URL


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_file(path, entry):
    """None if `path` is `entry`'s file (size, then sha256), else why not: (category, message)."""
    path = Path(path)
    if not path.exists():
        return "missing", "missing"
    if not path.is_file():
        return "not a file", f"{path} is not a regular file"
    size = path.stat().st_size
    if size != entry.bytes:
        category = "truncated" if size < entry.bytes else "wrong size"
        return category, f"{category} ({size} bytes, expected {entry.bytes})"
    digest = sha256_file(path)
    if digest != entry.sha256:
        return "checksum mismatch", f"checksum mismatch (got {digest}, expected {entry.sha256})"
    return None


def verify(sets=None, dest=None):
    """Check the files of `sets` under `dest` against the manifest; returns a :class:`Summary`."""
    dest = Path(dest) if dest is not None else default_dest()
    results = []
    for e in select(manifest(), sets):
        problem = check_file(dest / e.set / e.file, e)
        if problem is None:
            results.append(FileResult(e.set, e.file, "ok"))
        else:
            results.append(FileResult(e.set, e.file, "failed", *problem))
    return Summary(dest, results)


def fetch(sets=None, dest=None, base_url=None, source_dir=None, *, retries=3, backoff=1.0, timeout=30.0,
          log=None, progress=None):
    """Download (or copy from `source_dir`) the files of `sets` into `dest`, verified; returns a Summary.

    Parameters
    ----------
    sets : iterable of str, default all of ``SETS``
    dest : path, default ``$NPSRCNN_DATA`` or ``./data``; ``{dest}/{set}/{file}`` is written
    base_url : str, default ``$NPSRCNN_FETCH_BASE_URL`` or https://raw.githubusercontent.com; a file's
        URL is ``{base_url}/{source_repo}/{source_commit}/{source_path}``
    source_dir : path or None; when given, copy ``{source_dir}/{set}/{file}`` instead of downloading
    retries : int, extra attempts per file after a transient network error (waits backoff * 2**k s)
    timeout : float, seconds a connection or read may stall before it counts as a transient error
    log : callable(str) or None; receives one line per notable event (a replaced file, a resumed .part)
    progress : callable(nbytes) or None; called with the bytes done (may be negative on a restart)

    Notes
    -----
    Raises UserError only for problems that stop the whole run (unknown set, missing `source_dir`,
    `dest` not creatable); a file that fails is a ``"failed"`` result, and the others go on.
    """
    entries = select(manifest(), sets)
    dest = Path(dest) if dest is not None else default_dest()
    log = log or (lambda line: None)
    progress = progress or (lambda n: None)
    if source_dir is not None:
        source_dir = Path(source_dir)
        if not source_dir.is_dir():
            raise UserError(f"--from folder {source_dir} does not exist")
        _check_source_layout(source_dir, entries)
    for s in dict.fromkeys(e.set for e in entries):
        try:
            (dest / s).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create {dest / s}: {exc.strerror or exc}") from None

    results, network_failures_in_a_row, writable = [], 0, set()
    for e in entries:
        if network_failures_in_a_row >= _MAX_NETWORK_FAILURES_IN_A_ROW:
            results.append(FileResult(e.set, e.file, "failed", "not attempted",
                                      "not attempted (the network failed for the files before it)"))
            continue
        r = _fetch_one(e, dest, base_url, source_dir, retries, backoff, timeout, log, progress, writable)
        network_failures_in_a_row = network_failures_in_a_row + 1 if r.category == "network error" else 0
        results.append(r)
    return Summary(dest, results)


def _check_source_layout(source_dir, entries):
    """UserError unless `source_dir` holds at least one asked-for set as a subfolder ({set}/{file})."""
    sets = list(dict.fromkeys(e.set for e in entries))
    if any((source_dir / s).is_dir() for s in sets):
        return
    inside = [s for s in SETS if s.lower() == source_dir.name.lower()]
    inside = inside or sorted({e.set for e in manifest() if (source_dir / e.file).is_file()}, key=SETS.index)
    if inside:
        parent = source_dir.parent if str(source_dir.parent) != "." else source_dir.absolute().parent
        raise UserError(f"--from {source_dir} is the {inside[0]} folder itself; pass the folder that holds it, "
                        f"--from {parent}")
    raise UserError(f"--from {source_dir} holds none of {', '.join(s + '/' for s in sets)}; "
                    "pass a folder laid out as DIR/{set}/{file}")


def _check_writable(folder, writable):
    """Raise UserError unless a file can be created in `folder` (asked once per folder, before writing)."""
    if folder in writable:
        return
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise UserError(f"cannot write to {folder}: {exc.strerror or exc}") from None
    writable.add(folder)


def _fetch_one(e, dest, base_url, source_dir, retries, backoff, timeout, log, progress, writable):
    target = dest / e.set / e.file
    part = target.with_name(target.name + ".part")
    problem = check_file(target, e)
    if problem is None:
        progress(e.bytes)
        return FileResult(e.set, e.file, "ok")
    note = ""
    if problem[0] == "not a file":
        return FileResult(e.set, e.file, "failed", *problem)
    if problem[0] != "missing":
        note = f"replaced a copy that did not verify ({problem[1]})"
        log(f"{e.name}: existing copy does not verify ({problem[1]}); replacing it")
    _check_writable(target.parent, writable)
    if part.exists() and source_dir is None:
        log(f"{e.name}: resuming from {part.name} ({part.stat().st_size} bytes)")
    done = _Progress(progress)
    try:
        if source_dir is not None:
            _copy(source_dir / e.set / e.file, part, e, done)
        else:
            resumed = _download(e.url(base_url), part, e, retries, backoff, timeout, done)
            if resumed:
                note = "; ".join(filter(None, [note, f"resumed a partial download at byte {resumed}"]))
        _install(part, target)
    except _Failure as exc:
        done.rewind()
        return FileResult(e.set, e.file, "failed", exc.category, str(exc), note)
    except OSError as exc:  # writing under dest: disk full, permissions, ...
        done.rewind()
        return FileResult(e.set, e.file, "failed", "write error", f"write error: {exc}", note)
    return FileResult(e.set, e.file, "fetched", note=note)


class _Progress:
    """Turns "this file has n bytes so far" into increments for a progress bar."""

    def __init__(self, callback):
        self.callback, self.n = callback, 0

    def __call__(self, n):
        if n != self.n:
            self.callback(n - self.n)
            self.n = n

    def rewind(self):
        self(0)


def _install(part, target):
    """fsync the verified `part` and rename it onto `target` (atomic on POSIX)."""
    with open(part, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(part, target)
    fsync_dir(target.parent)


def _copy(src, part, e, done):
    if not src.is_file():
        raise _Failure("missing in source", f"missing in source ({src} not found)")
    size = src.stat().st_size
    if size != e.bytes:
        category = "truncated" if size < e.bytes else "wrong size"
        raise _Failure(category, f"{category} in source ({src}: {size} bytes, expected {e.bytes}); not copied")
    try:
        fin = open(src, "rb")
    except OSError as exc:
        raise _Failure("read error", f"cannot read {src}: {exc.strerror or exc}") from None
    with fin, open(part, "wb") as fout:
        for block in iter(lambda: fin.read(CHUNK), b""):
            fout.write(block)
            done(fout.tell())
    problem = check_file(part, e)
    if problem is not None:
        part.unlink()
        raise _Failure(problem[0], f"{problem[1]} in {src}; not copied")


def _download(url, part, e, retries, backoff, timeout, done):
    """Download `url` into `part` until it verifies; returns the byte a resume started at, or 0.

    A `part` left by an earlier run is continued with ``Range: bytes=n-``. If the server does not
    answer 206 from byte n, or the result fails the checksum, the partial bytes are dropped and the
    file is downloaded from the start (once). Transient errors are retried `retries` times, waiting
    ``backoff * 2**k`` seconds; bytes already received are kept and the retry resumes after them.
    """
    attempt, restarted, resumed_at = 0, False, 0
    while True:
        have = part.stat().st_size if part.exists() else 0
        try:
            if have < e.bytes:
                try:
                    start = _get(url, part, have, e.bytes, timeout, done)
                except _Failure:
                    part.unlink(missing_ok=True)
                    raise
                resumed_at = resumed_at or start
            elif have:  # a complete (or too long) .part from an interrupted run: check it, no request
                resumed_at = resumed_at or have
            size = part.stat().st_size
            if size < e.bytes:
                raise _Transient("truncated", f"truncated: the server sent {size} of {e.bytes} bytes")
        except _Transient as exc:
            if attempt >= retries:
                raise _Failure(exc.category, f"{exc} (after {attempt + 1} attempts); not written") from None
            time.sleep(backoff * 2 ** attempt)
            attempt += 1
            continue
        problem = check_file(part, e)
        if problem is None:
            return resumed_at
        part.unlink()
        if resumed_at and not restarted:  # the old partial bytes were not a prefix of this file: start over
            restarted, resumed_at = True, 0
            continue
        raise _Failure(problem[0], f"{problem[1]} from {url}; not written")


class _Transient(Exception):
    """A network error worth retrying."""

    def __init__(self, category, message):
        super().__init__(message)
        self.category = category


def _get(url, part, have, expected, timeout, done):
    """One GET of `url` into `part`, asking for bytes ``have-`` when `have` > 0; returns the start byte.

    Raises _Transient for errors worth retrying, _Failure for the rest (HTTP 404, too many bytes).
    """
    headers = {"User-Agent": f"npsrcnn/{__version__}", "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and have:  # our partial bytes do not fit this file: start over
            part.unlink()
            return _get(url, part, 0, expected, timeout, done)
        if exc.code in _RETRY_STATUS:
            raise _Transient("network error", f"network error: HTTP {exc.code} {exc.reason} from {url}") from None
        raise _Failure("HTTP error", f"HTTP {exc.code} {exc.reason} from {url}") from None
    except (urllib.error.URLError, http.client.HTTPException, ConnectionError, socket.timeout) as exc:
        reason = getattr(exc, "reason", exc)
        host = urllib.parse.urlsplit(url).netloc
        raise _Transient("network error", f"network error: cannot reach {host} ({reason})") from None
    with response:
        start = have if have and response.status == 206 and _range_start(response) == have else 0
        try:
            with open(part, "ab" if start else "wb") as fh:
                done(start)
                while True:
                    block = response.read(CHUNK)
                    if not block:
                        break
                    if fh.tell() + len(block) > expected:
                        raise _Failure("wrong size", f"wrong size: {url} has more than {expected} bytes")
                    fh.write(block)
                    done(fh.tell())
        except (http.client.HTTPException, ConnectionError, socket.timeout) as exc:
            raise _Transient("truncated", f"truncated: connection lost ({exc!r})") from None
    return start


def _range_start(response):
    """The first byte of a 206 answer, from ``Content-Range: bytes a-b/n`` (None if absent)."""
    m = re.match(r"bytes\s+(\d+)-", response.headers.get("Content-Range", ""))
    return int(m.group(1)) if m else None
