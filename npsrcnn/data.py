"""Fetch and verify the benchmark sets (T91, Set5, Set14, BSD100): ``npsrcnn data fetch | verify | list``.

How files are checked, resumed and never half-written: :mod:`npsrcnn.datasets.sets`.

Examples::

    python -m npsrcnn.data fetch                                # all four sets into $NPSRCNN_DATA or ./data
    python -m npsrcnn.data fetch --sets Set5 Set14 --dest /tmp/sr
    python -m npsrcnn.data fetch --from ../shared/datasets      # offline copy, same checks
    python -m npsrcnn.data verify                               # check what is there
    python -m npsrcnn.data list                                 # sets, file counts, bytes, sources
"""
import json
import sys
from collections import Counter
from pathlib import Path

from .datasets import sets
from .util.cli import ArgumentParser, command
from .util.errors import UserError


def _human(n):
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000


def _print_summary(summary, columns):
    print(f"{'set':8}" + "".join(f" {c:>7}" for c in columns))
    for s, c in summary.counts().items():
        print(f"{s:8}" + "".join(f" {c[k]:7d}" for k in columns))


def _report_failures(summary, prog_action, dest, brief=False):
    """The failed files on stderr, then a UserError naming the counts per category.

    One line per file, or with `brief` one line per set and kind of failure naming its first
    :data:`BRIEF_NAMES` files (``verify`` without ``--verbose``: a missing set is 91 files).
    """
    failures = summary.failures
    groups = {}
    for r in failures:
        if r.category != "not attempted":
            groups.setdefault((r.set, r.category), []).append(r)
    for (s, category), rs in groups.items():
        if not brief:
            for r in rs:
                print(f"{r.set}/{r.file}: {r.message}", file=sys.stderr)
            continue
        names = ", ".join(r.file for r in rs[:BRIEF_NAMES])
        more = f" and {len(rs) - BRIEF_NAMES} more (--verbose lists them)" if len(rs) > BRIEF_NAMES else ""
        print(f"{s}: {len(rs)} of {summary.counts()[s]['files']} {category}: {names}{more}", file=sys.stderr)
    cats = Counter(r.category for r in failures)
    detail = ", ".join(f"{k}: {v}" for k, v in cats.items())
    hint = ""
    if "network error" in cats or "not attempted" in cats:
        hint = "; rerun to resume, or use --from DIR with a local copy"
    elif set(cats) == {"missing"}:
        hint = "; `npsrcnn data fetch" + ("" if Path(dest) == sets.default_dest() else f" --dest {dest}") + "` gets them"
    raise UserError(f"{len(failures)} of {len(summary.results)} files {prog_action} ({detail}) in {dest}{hint}")


def _cmd_list(args):
    entries = sets.manifest()
    rows = []
    for s in sets.SETS:
        es = [e for e in entries if e.set == s]
        sources = sorted({f"{e.source_repo}@{e.source_commit[:8]}" for e in es})
        rows.append({"set": s, "files": len(es), "bytes": sum(e.bytes for e in es), "sources": sources})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'set':8} {'files':>5} {'bytes':>10}  source (repo@commit)")
    for r in rows:
        print(f"{r['set']:8} {r['files']:5d} {r['bytes']:10d}  {', '.join(r['sources'])}")
    print(f"{'total':8} {sum(r['files'] for r in rows):5d} {sum(r['bytes'] for r in rows):10d}")
    return 0


def _cmd_verify(args):
    summary = sets.verify(args.sets, args.dest)
    if args.json:
        print(json.dumps(summary.to_json(), indent=2))
    else:
        print(f"verify {' '.join(args.sets)} in {summary.dest}")
        _print_summary(summary, ("files", "ok", "failed"))
    if not summary.ok:
        _report_failures(summary, "do not verify", summary.dest, brief=not args.verbose)
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
        print(f"fetch {' '.join(args.sets)} ({len(entries)} files, {_human(total)}) from {source} "
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
        _print_summary(summary, ("files", "ok", "fetched", "failed"))
    if not summary.ok:
        _report_failures(summary, "failed", dest)
    if not args.json:
        print(f"all {len(summary.results)} files verify against the manifest")
    return 0


PROG = "python -m npsrcnn.data"


@command(PROG)
def main(argv, prog):
    parser = ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="{fetch,verify,list}")

    def common(p):
        p.add_argument("--sets", nargs="+", choices=sets.SETS, default=list(sets.SETS), metavar="SET",
                       help=f"which sets, from {', '.join(sets.SETS)} (default: all)")
        p.add_argument("--dest", default=str(sets.default_dest()),
                       help="folder holding {set}/{file} (default: $NPSRCNN_DATA, else ./data)")
        p.add_argument("--json", action="store_true", help="print the summary as JSON")

    p = sub.add_parser("fetch", help="download (or copy --from) and verify the sets")
    common(p)
    p.add_argument("--from", dest="source_dir", metavar="DIR", default=None,
                   help="copy from a local folder laid out as DIR/{set}/{file} instead of downloading")
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
    if args.cmd != "list":
        args.sets = list(dict.fromkeys(args.sets))
    if args.cmd == "fetch" and (args.retries < 0 or args.backoff < 0 or args.timeout <= 0):
        raise UserError("--retries and --backoff must be >= 0 and --timeout > 0")
    return {"fetch": _cmd_fetch, "verify": _cmd_verify, "list": _cmd_list}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())

# verify names this many files per set and kind of failure (--verbose: all of them).
BRIEF_NAMES = 5
