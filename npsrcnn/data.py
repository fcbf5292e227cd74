"""Fetch and verify the benchmark sets and the authors' weights: ``npsrcnn data fetch | verify | list``.

How files are checked, resumed and never half-written: :mod:`npsrcnn.datasets.sets`.

Examples::

    python -m npsrcnn.data fetch                                # the four sets into $NPSRCNN_DATA or ./data
    python -m npsrcnn.data fetch --sets Set5 Set14 --dest /tmp/sr
    python -m npsrcnn.data fetch --from ../shared/datasets      # offline copy, same checks
    python -m npsrcnn.data fetch --sets srcnn-weights           # the authors' .mat weights, data/srcnn-weights/
    python -m npsrcnn.data verify                               # check what is there
    python -m npsrcnn.data list                                 # sets, file counts, bytes, sources
"""
import json
import shlex
import sys
from collections import Counter
from pathlib import Path

from .datasets import sets
from .util.cli import ArgumentParser, command
from .util.files import human
from .util.errors import UserError

# verify names this many files per set and kind of failure (--verbose: all of them).
BRIEF_NAMES = 5

# The summary table's column titles.
TITLES = {"files": "files", "ok": "ok", "tried": "tried", "fetched": "fetched", "failed": "failed",
          "not_attempted": "not attempted"}


def _print_summary(summary):
    width = max(map(len, sets.ALL_SETS)) + 1
    widths = {k: max(7, len(TITLES[k])) for k in summary.columns}
    print(f"{'set':{width}}" + "".join(f" {TITLES[k]:>{widths[k]}}" for k in summary.columns))
    for s, c in summary.counts().items():
        print(f"{s:{width}}" + "".join(f" {c[k]:{widths[k]}d}" for k in summary.columns))


def fetch_command(args, sets_=None, source=True):
    """The ``fetch`` command line for `sets_` (default: those of `args`) and the --dest of `args`, and
    its --base-url / --from if `source`.

    Printed in hints for the user to run as it stands: the program name as they called it, options
    left out where they are the defaults, paths quoted for the shell.
    """
    words, sets_ = ["fetch"], list(args.sets if sets_ is None else sets_)
    if sets_ != list(sets.SETS):
        words += ["--sets", *sets_]
    if Path(args.dest) != sets.default_dest():
        words += ["--dest", args.dest]
    if source and getattr(args, "base_url", None):
        words += ["--base-url", args.base_url]
    if source and getattr(args, "source_dir", None):
        words += ["--from", args.source_dir]
    return f"{args.prog} {shlex.join(words)}"


def _detail(failures):
    return ", ".join(f"{k}: {v}" for k, v in Counter(r.category for r in failures).items())


def _report_verify(summary, args):
    """The files that do not verify on stderr, then a UserError naming the counts per category.

    Without ``--verbose``, one line per set and kind of failure naming its first :data:`BRIEF_NAMES`
    files (a missing set is 91 files).
    """
    failures = summary.failures
    groups = {}
    for r in failures:
        groups.setdefault((r.set, r.category), []).append(r)
    for (s, category), rs in groups.items():
        if args.verbose:
            for r in rs:
                print(f"{r.set}/{r.file}: {r.message}", file=sys.stderr)
            continue
        names = ", ".join(r.file for r in rs[:BRIEF_NAMES])
        more = f" and {len(rs) - BRIEF_NAMES} more (--verbose lists them)" if len(rs) > BRIEF_NAMES else ""
        print(f"{s}: {len(rs)} of {summary.counts()[s]['files']} {category}: {names}{more}", file=sys.stderr)
    cats = {r.category for r in failures}
    command = fetch_command(args, [s for s in args.sets if any(r.set == s for r in failures)], source=False)
    hint = ""
    if cats == {"missing"}:
        hint = f"; `{command}` gets them"
    elif "not a file" not in cats:  # fetch replaces a copy that does not verify, but never a link or a folder
        hint = f"; `{command}` fetches them again, replacing the copies that do not verify"
    raise UserError(f"{len(failures)} of {len(summary.results)} files do not verify ({_detail(failures)}) "
                    f"in {summary.dest}{hint}")


def _report_fetch(summary, args):
    """One line per failed file on stderr, then a UserError: what was tried, failed and not attempted."""
    failures = summary.failures
    for r in failures:
        print(f"{r.set}/{r.file}: {r.message}", file=sys.stderr)
    t = summary.totals()
    words = f"{t['failed']} of {t['tried']} files tried failed ({_detail(failures)}) in {summary.dest}"
    if t["not_attempted"]:
        words += (f"; {t['not_attempted']} not attempted after {sets.MAX_NETWORK_FAILURES_IN_A_ROW} "
                  "network failures in a row")
    if t["not_attempted"] or any(r.category == "network error" for r in failures):
        words += f"; rerun `{fetch_command(args)}` to resume, or add --from DIR to copy a local copy"
    raise UserError(words)


def _cmd_list(args):
    entries = sets.manifest()
    rows = []
    for s in sets.ALL_SETS:
        es = [e for e in entries if e.set == s]
        sources = sorted({f"{e.source_repo}@{e.source_commit[:8]}" for e in es})
        rows.append({"set": s, "files": len(es), "bytes": sum(e.bytes for e in es), "sources": sources,
                     "default": s in sets.SETS})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(map(len, sets.ALL_SETS)) + 1
    print(f"{'set':{width}} {'files':>5} {'bytes':>10}  source (repo@commit)")
    for r in rows:
        print(f"{r['set']:{width}} {r['files']:5d} {r['bytes']:10d}  {', '.join(r['sources'])}"
              + ("" if r["default"] else "  (only with --sets)"))
    print(f"{'total':{width}} {sum(r['files'] for r in rows):5d} {sum(r['bytes'] for r in rows):10d}")
    return 0


def _cmd_verify(args):
    summary = sets.verify(args.sets, args.dest)
    if args.json:
        print(json.dumps(summary.to_json(), indent=2))
    else:
        print(f"verify {' '.join(args.sets)} in {summary.dest}")
        _print_summary(summary)
    if not summary.ok:
        _report_verify(summary, args)
    if not args.json:
        print(f"all {len(summary.results)} files verify against the manifest")
    return 0


def _cmd_fetch(args):
    from tqdm import tqdm

    entries = sets.select(sets.manifest(), args.sets)
    dest = Path(args.dest)
    source = args.base_url or sets.default_base_url()
    if args.source_dir:
        source = f"{args.source_dir} (local copy)"
    total = sum(e.bytes for e in entries)
    if not args.json:
        print(f"fetch {' '.join(args.sets)} ({len(entries)} files, {human(total)}) from {source} "
              f"into {dest}")
    # The bar goes to stderr and only on a terminal (disable=None), so piped output stays clean.
    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, disable=None if args.progress else True,
              leave=False, dynamic_ncols=True) as bar:
        log = (lambda line: bar.write(line, file=sys.stderr)) if not args.json else None
        summary = sets.fetch(args.sets, dest, base_url=args.base_url, source_dir=args.source_dir,
                             retries=args.retries, backoff=args.backoff, timeout=args.timeout,
                             log=log, progress=bar.update)
    if args.json:
        print(json.dumps(summary.to_json(), indent=2))
    else:
        _print_summary(summary)
    if not summary.ok:
        _report_fetch(summary, args)
    if not args.json:
        print(f"all {len(summary.results)} files verify against the manifest")
    return 0


PROG = "python -m npsrcnn.data"


@command(PROG)
def main(argv, prog):
    parser = ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="{fetch,verify,list}")

    def common(p):
        p.add_argument("--sets", nargs="+", choices=sets.ALL_SETS, default=list(sets.SETS), metavar="SET",
                       help=f"which sets: {', '.join(sets.SETS)} (the default), or {sets.WEIGHTS_SET} "
                            "(the authors' released weights, only when named)")
        p.add_argument("--dest", default=str(sets.default_dest()),
                       help="folder holding {set}/{file} (default: $NPSRCNN_DATA, else ./data)")
        p.add_argument("--json", action="store_true", help="print the summary as JSON")

    p = sub.add_parser("fetch", help="download (or copy --from) and verify the sets")
    common(p)
    p.add_argument("--from", dest="source_dir", metavar="DIR", default=None,
                   help="copy from a local folder laid out as DIR/{set}/{file} instead of downloading "
                        f"({sets.WEIGHTS_SET}: also the authors' model/ folder itself)")
    p.add_argument("--base-url", default=None,
                   help="a server of {repo}/{commit}/{path} (default: $NPSRCNN_FETCH_BASE_URL, "
                        f"else {sets.DEFAULT_BASE_URL})")
    p.add_argument("--retries", type=int, default=3, help="extra attempts per file on a network error (default 3)")
    p.add_argument("--backoff", type=float, default=1.0, help="first wait before a retry, doubled each time (s)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds a connection or read may stall (default 30)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    p = sub.add_parser("verify", help="check the files under --dest against the manifest")
    common(p)
    p.add_argument("--verbose", action="store_true",
                   help="name every file that does not verify, with why (default: the first few per set)")
    p = sub.add_parser("list", help="the sets, their file counts, bytes and sources")
    p.add_argument("--json", action="store_true", help="print JSON")

    args = parser.parse_args(argv)
    args.prog = prog
    if args.cmd != "list":
        args.sets = list(dict.fromkeys(args.sets))
    if args.cmd == "fetch" and (args.retries < 0 or args.backoff < 0 or args.timeout <= 0):
        raise UserError("--retries and --backoff must be >= 0 and --timeout > 0")
    return {"fetch": _cmd_fetch, "verify": _cmd_verify, "list": _cmd_list}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
