"""The pinned benchmark sets and the authors' weights: verifying and fetching them against the manifests.

Two manifests ship in this package, one row per file with its sha256, its size and its public source
pinned to a commit (``source_repo``, ``source_commit``, ``source_path``):

- ``MANIFEST.tsv``: the images of T91, Set5, Set14 and BSD100 (the sets :data:`SETS`, fetched and
  verified by default); the same file as the ``MANIFEST.tsv`` beside the datasets;
- ``WEIGHTS.tsv``: the set ``srcnn-weights``, the eight ``.mat`` files of the authors' SRCNN_v1
  ``model/`` folder in its own layout (``9-5-5(ImageNet)/x3.mat``); reference material, not training
  data, so only fetched or verified when named.

``fetch`` downloads ``{base_url}/{source_repo}/{source_commit}/{source_path}`` (``base_url`` defaults to
https://raw.githubusercontent.com) or copies ``{--from}/{set}/{file}`` (the weights also from
``{--from}/{file}``: the authors' ``model/`` folder itself), and a file lands at ``{dest}/{set}/{file}``
only after its size and sha256 match:

- each file is written to ``{file}.part`` beside its target, checked, fsynced, then ``os.replace``-d,
  so the target is either absent, the old file, or the verified new one;
- a set's folder is made only when one of its files is about to be written; a folder this run made is
  removed again at the end if nothing landed in it (with the partial downloads in it), so a failed
  run leaves no empty ``data/T91`` behind;
- a target that already verifies is skipped (no request), so a rerun after an interruption resumes
  where it stopped; a leftover ``.part`` is continued with an HTTP ``Range`` request and checked
  like any other download (on a non-206 answer or a checksum failure it starts over);
- transient network errors (timeouts, resets, HTTP 408/429/5xx, connections closed early) are
  retried with exponential backoff, a bounded number of times; after three files in a row fail on
  the network the rest are "not attempted", counted apart from the failures;
- a download with the wrong checksum or size is never moved into place: it is reported, exit code 2;
- a target that exists with the wrong checksum is the manifest's file gone bad (truncated copy,
  another version): it is reported and replaced by the verified file. Nothing that is not in the
  manifest is ever touched, nothing is written through a symbolic link: a target or ``.part`` that
  is a link (or not a regular file) is reported and left as it is.

Why this is a small HTTP client of our own and not pooch: docs/data.md.

Examples::

    python -m npsrcnn.data fetch                                # the four sets into $NPSRCNN_DATA or ./data
    python -m npsrcnn.data fetch --sets Set5 Set14 --dest /tmp/sr
    python -m npsrcnn.data fetch --from ../shared/datasets      # offline copy, same checks
    python -m npsrcnn.data fetch --sets srcnn-weights           # the authors' weights, data/srcnn-weights/
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

SETS = ("T91", "Set5", "Set14", "BSD100")  # the image sets: what fetch and verify take by default


WEIGHTS_SET = "srcnn-weights"  # the authors' released weights (WEIGHTS.tsv): only when asked for


ALL_SETS = SETS + (WEIGHTS_SET,)


MANIFESTS = ("MANIFEST.tsv", "WEIGHTS.tsv")


DEFAULT_BASE_URL = "https://raw.githubusercontent.com"


CHUNK = 1 << 16


# HTTP statuses worth retrying: the server or something between us is busy, not "this URL is wrong".
_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}


# After this many files in a row fail on the network, stop: 200 more timeouts tell the user nothing.
MAX_NETWORK_FAILURES_IN_A_ROW = 3


# O_NOFOLLOW: opening a .part that a symbolic link took the place of fails instead of writing through it.
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


_COLUMNS = ("set", "file", "sha256", "bytes", "source_repo", "source_path", "source_commit")
_IMAGE_COLUMNS = ("width", "height", "mode")


@dataclasses.dataclass(frozen=True)
class Entry:
    """One row of a manifest: a file of a set, its checksum and its pinned source (images: also its size)."""

    set: str
    file: str  # relative to the set's folder; the weights keep the authors' subfolders ("9-5-5(ImageNet)/x3.mat")
    sha256: str
    bytes: int
    source_repo: str
    source_path: str
    source_commit: str
    width: int = None  # width, height, mode: images only (MANIFEST.tsv)
    height: int = None
    mode: str = None

    @property
    def name(self):
        return f"{self.set}/{self.file}"

    def url(self, base_url=None):
        base = (base_url or default_base_url()).rstrip("/")
        return f"{base}/{self.source_repo}/{self.source_commit}/{urllib.parse.quote(self.source_path)}"


@dataclasses.dataclass
class FileResult:
    """What happened to one file: status "ok" (already there), "fetched", "failed" or "not attempted"."""

    set: str
    file: str
    status: str
    category: str = ""  # for failures: "checksum mismatch", "truncated", "network error", ...
    message: str = ""
    note: str = ""  # e.g. "replaced a copy with the wrong checksum", "resumed at byte 1234"


FETCH_COLUMNS = ("files", "ok", "tried", "fetched", "failed", "not_attempted")
VERIFY_COLUMNS = ("files", "ok", "failed")


@dataclasses.dataclass
class Summary:
    """Per-file results of ``fetch`` or ``verify``, in manifest order; `columns` are the counts it reports.

    Per set: ``ok`` were there and verify (no request), ``tried`` had to be fetched (``fetched`` +
    ``failed``), ``not_attempted`` were left after the network failed for several files in a row.
    """

    dest: Path
    results: list
    columns: tuple = FETCH_COLUMNS

    @property
    def ok(self):
        return all(r.status in ("ok", "fetched") for r in self.results)

    @property
    def failures(self):
        return [r for r in self.results if r.status == "failed"]

    def counts(self):
        """{set: {column: n}} in the order the sets were asked for."""
        out = {}
        for r in self.results:
            c = out.setdefault(r.set, dict.fromkeys(FETCH_COLUMNS, 0))
            c["files"] += 1
            c[r.status.replace(" ", "_")] += 1
            c["tried"] += r.status in ("fetched", "failed")
        return {s: {k: c[k] for k in self.columns} for s, c in out.items()}

    def totals(self):
        """{column: n} over all sets."""
        return {k: sum(c[k] for c in self.counts().values()) for k in self.columns}

    def to_json(self):
        return {"dest": str(self.dest), "ok": self.ok, "sets": self.counts(), "totals": self.totals(),
                "failures": [dataclasses.asdict(r) for r in self.failures]}


class _Failure(Exception):
    """One file could not be fetched; `category` groups failures in the report."""

    def __init__(self, category, message):
        super().__init__(message)
        self.category = category


def manifest():
    """The rows of the manifests shipped in the package (MANIFEST.tsv, then WEIGHTS.tsv), as :class:`Entry`."""
    folder = importlib.resources.files("npsrcnn.datasets")
    return [e for name in MANIFESTS for e in parse_manifest(folder.joinpath(name).read_text(encoding="utf-8"))]


def parse_manifest(text):
    """Parse manifest text (tab-separated, header row) into a list of :class:`Entry`.

    The columns are MANIFEST.tsv's (with ``width``, ``height``, ``mode``) or WEIGHTS.tsv's (without);
    a ``file`` is a relative path that stays inside its set's folder.
    """
    rows = list(csv.DictReader(io.StringIO(text), delimiter="\t"))
    for i, row in enumerate(rows, start=2):
        if set(row) not in (set(_COLUMNS), set(_COLUMNS + _IMAGE_COLUMNS)) or None in row.values():
            raise ValueError(f"manifest line {i}: expected the columns {list(_COLUMNS + _IMAGE_COLUMNS)}, "
                             f"the last three for images only")
        parts = row["file"].split("/")
        if "\\" in row["file"] or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"manifest line {i}: file {row['file']!r} is not a relative path inside its set")
    ints = ("bytes", "width", "height")
    return [Entry(**{k: int(v) if k in ints else v for k, v in row.items()}) for row in rows]


def select(entries, sets=None):
    """The entries of `sets` (default: the image sets, :data:`SETS`), grouped in the order the sets are given."""
    sets = _check_sets(sets)
    return [e for s in sets for e in entries if e.set == s]


def _check_sets(sets):
    sets = list(dict.fromkeys(SETS if sets is None else ([sets] if isinstance(sets, str) else sets)))
    unknown = [s for s in sets if s not in ALL_SETS]
    if unknown:
        raise UserError(f"unknown set {unknown[0]!r} (choose from {', '.join(ALL_SETS)})")
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
    return Summary(dest, results, VERIFY_COLUMNS)


def fetch(sets=None, dest=None, base_url=None, source_dir=None, *, retries=3, backoff=1.0, timeout=30.0,
          log=None, progress=None):
    """Download (or copy from `source_dir`) the files of `sets` into `dest`, verified; returns a Summary.

    Parameters
    ----------
    sets : iterable of str, default the image sets :data:`SETS`; ``"srcnn-weights"`` only when named
    dest : path, default ``$NPSRCNN_DATA`` or ``./data``; ``{dest}/{set}/{file}`` is written
    base_url : str, default ``$NPSRCNN_FETCH_BASE_URL`` or https://raw.githubusercontent.com; a file's
        URL is ``{base_url}/{source_repo}/{source_commit}/{source_path}``
    source_dir : path or None; when given, copy ``{source_dir}/{set}/{file}`` instead of downloading
        (for the weights, ``{source_dir}/{file}`` too: the authors' ``model/`` folder itself)
    retries : int, extra attempts per file after a transient network error (waits backoff * 2**k s)
    timeout : float, seconds a connection or read may stall before it counts as a transient error
    log : callable(str) or None; receives one line per notable event (a replaced file, a resumed .part)
    progress : callable(nbytes) or None; called with the bytes done (may be negative on a restart)

    Notes
    -----
    Raises UserError only for problems that stop the whole run (unknown set, missing `source_dir`,
    `dest` not creatable or writable); a file that fails is a ``"failed"`` result, and the others go
    on. After :data:`MAX_NETWORK_FAILURES_IN_A_ROW` files in a row fail on the network, the rest are
    ``"not attempted"``. Folders are made only for files about to be written; those this run made
    and nothing landed in are removed before it returns (also on an exception or Ctrl-C).
    """
    entries = select(manifest(), sets)
    dest = Path(dest) if dest is not None else default_dest()
    log = log or (lambda line: None)
    progress = progress or (lambda n: None)
    roots = {}
    if source_dir is not None:
        source_dir = Path(source_dir)
        if not source_dir.is_dir():
            raise UserError(f"--from folder {source_dir} does not exist")
        roots = _source_roots(source_dir, entries)
    _check_creatable(dest)

    results, network_failures_in_a_row, folders = [], 0, _Folders()
    try:
        for e in entries:
            if network_failures_in_a_row >= MAX_NETWORK_FAILURES_IN_A_ROW:
                results.append(FileResult(e.set, e.file, "not attempted", "not attempted",
                                          "not attempted (the network failed for the files before it)"))
                continue
            src = None if source_dir is None else roots.get(e.set, source_dir / e.set) / e.file
            r = _fetch_one(e, dest, base_url, src, retries, backoff, timeout, log, progress, folders)
            if r.status != "ok":  # a file already there asked nothing of the network
                network_failures_in_a_row = network_failures_in_a_row + 1 if r.category == "network error" else 0
            results.append(r)
    finally:
        folders.remove_unused({dest / e.set / (e.file + ".part") for e in entries})
    return Summary(dest, results, FETCH_COLUMNS)


def _holds_weights(folder):
    """Whether `folder` is laid out as the authors' model/ folder (holds one of WEIGHTS.tsv's files)."""
    return any((folder / e.file).is_file() for e in manifest() if e.set == WEIGHTS_SET)


def _source_roots(source_dir, entries):
    """{set: folder holding its files} for the asked sets `source_dir` holds; UserError if it holds none.

    A set is ``source_dir/{set}/``; the weights may also be ``source_dir`` itself (the authors'
    ``model/`` folder, or ``srcnn_matlab_weights/``). Sets not found are read from ``source_dir/{set}``
    and reported "missing in source".
    """
    asked = list(dict.fromkeys(e.set for e in entries))
    roots = {s: source_dir / s for s in asked if (source_dir / s).is_dir()}
    if WEIGHTS_SET in asked and WEIGHTS_SET not in roots and _holds_weights(source_dir):
        roots[WEIGHTS_SET] = source_dir
    if roots:
        return roots
    parent = source_dir.parent if str(source_dir.parent) != "." else source_dir.absolute().parent
    inside = [s for s in SETS if s.lower() == source_dir.name.lower()]
    inside = inside or sorted({e.set for e in manifest() if e.set in SETS and (source_dir / e.file).is_file()},
                              key=SETS.index)
    if WEIGHTS_SET in asked and _holds_weights(parent):
        raise UserError(f"--from {source_dir} is a folder inside the authors' weights; pass the folder that holds it, "
                        f"--from {parent}")
    if inside:
        raise UserError(f"--from {source_dir} is the {inside[0]} folder itself; pass the folder that holds it, "
                        f"--from {parent}")
    if WEIGHTS_SET not in asked and (_holds_weights(source_dir) or (source_dir / WEIGHTS_SET).is_dir()):
        raise UserError(f"--from {source_dir} holds the authors' weights, none of {', '.join(s + '/' for s in asked)}; "
                        f"add --sets {WEIGHTS_SET} to copy them")
    layout = "DIR/{set}/{file}" + (" (the weights: also the folder holding 9-5-5(ImageNet)/x3.mat ...)"
                                   if WEIGHTS_SET in asked else "")
    raise UserError(f"--from {source_dir} holds none of {', '.join(s + '/' for s in asked)}; "
                    f"pass a folder laid out as {layout}")


def _check_creatable(dest):
    """UserError unless `dest` is a folder or could be made: its nearest existing ancestor is a folder."""
    p = dest
    while not p.exists() and not p.is_symlink() and p != p.parent:
        p = p.parent
    if not p.is_dir():
        raise UserError(f"cannot create {dest}: {p} is not a folder")


class _Folders:
    """The folders a fetch makes, made only when a file is about to be written, and removed at the end if unused."""

    def __init__(self):
        self.made, self.writable = [], set()

    def make(self, folder):
        """Make `folder` and its missing parents (remembering them); UserError unless a file can be created in it."""
        missing = [p for p in (folder, *folder.parents) if not p.exists() and not p.is_symlink()]
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create {folder}: {exc.strerror or exc}") from None
        finally:
            self.made += [p for p in missing if p.is_dir() and p not in self.made]
        if folder not in self.writable:
            try:
                with tempfile.TemporaryFile(dir=folder):
                    pass
            except OSError as exc:
                raise UserError(f"cannot write to {folder}: {exc.strerror or exc}") from None
            self.writable.add(folder)

    def remove_unused(self, parts):
        """Remove, deepest first, each folder made here that holds nothing but our partial downloads `parts`.

        A folder that anything else landed in (a verified file, another program's) is kept, and so are
        the partial downloads beside such files, for the next run to resume.
        """
        for folder in sorted(self.made, key=lambda p: len(p.parts), reverse=True):
            try:
                inside = list(folder.iterdir())
                if all(p in parts and p.is_file() and not p.is_symlink() for p in inside):
                    for p in inside:
                        p.unlink()
                folder.rmdir()
            except OSError:  # not empty, or gone
                pass


def _fetch_one(e, dest, base_url, src, retries, backoff, timeout, log, progress, folders):
    target = dest / e.set / e.file
    part = target.with_name(target.name + ".part")
    problem = check_file(target, e)
    if problem is None:
        progress(e.bytes)
        return FileResult(e.set, e.file, "ok")
    if target.is_symlink():
        return FileResult(e.set, e.file, "failed", "not a file",
                          f"{target} is a symbolic link to a file that does not verify ({problem[1]}); not replaced")
    if problem[0] == "not a file":
        return FileResult(e.set, e.file, "failed", *problem)
    if part.is_symlink() or (part.exists() and not part.is_file()):
        return FileResult(e.set, e.file, "failed", "not a file",
                          f"{part} is {'a symbolic link' if part.is_symlink() else 'not a regular file'}; "
                          "not written through it")
    note = ""
    done = _Progress(progress)
    try:
        if src is not None:
            _check_source(src, e)  # before anything is made under dest
        if problem[0] != "missing":
            note = f"replaced a copy that did not verify ({problem[1]})"
            log(f"{e.name}: existing copy does not verify ({problem[1]}); replacing it")
        folders.make(target.parent)
        if src is not None:
            _copy(src, part, e, done)
        else:
            if part.exists():
                log(f"{e.name}: resuming from {part.name} ({part.stat().st_size} bytes)")
            resumed = _download(e.url(base_url), part, e, retries, backoff, timeout, done)
            if resumed:
                note = "; ".join(filter(None, [note, f"resumed a partial download at byte {resumed}"]))
        _install(part, target)
    except _Failure as exc:
        done.rewind()
        return FileResult(e.set, e.file, "failed", exc.category, str(exc), note)
    except OSError as exc:  # writing under dest: disk full, permissions, a link put in our way, ...
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


def _open_part(part, append=False):
    """`part` opened for writing (appending), refusing to follow a symbolic link put in its place."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC) | _NOFOLLOW
    return os.fdopen(os.open(part, flags, 0o666), "ab" if append else "wb")


def _install(part, target):
    """fsync the verified `part` and rename it onto `target` (atomic on POSIX)."""
    fd = os.open(part, os.O_RDONLY | _NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(part, target)
    fsync_dir(target.parent)


def _check_source(src, e):
    """_Failure unless `src` is a regular file of `e`'s size (checked before anything is written)."""
    if not src.is_file():
        raise _Failure("missing in source", f"missing in source ({src} not found)")
    size = src.stat().st_size
    if size != e.bytes:
        category = "truncated" if size < e.bytes else "wrong size"
        raise _Failure(category, f"{category} in source ({src}: {size} bytes, expected {e.bytes}); not copied")


def _copy(src, part, e, done):
    try:
        fin = open(src, "rb")
    except OSError as exc:
        raise _Failure("read error", f"cannot read {src}: {exc.strerror or exc}") from None
    with fin, _open_part(part) as fout:
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
                attempts = f"{attempt + 1} attempt{'s' if attempt else ''}"
                raise _Failure(exc.category, f"{exc} (after {attempts}); not written") from None
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
            with _open_part(part, append=bool(start)) as fh:
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
