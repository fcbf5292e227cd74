"""List or clear the patch cache: ``npsrcnn cache [list | clear]``.

Training on images cuts them into patches once and keeps the HDF5 file in one cache folder for every
later run (:mod:`npsrcnn.datasets.cache`): ``--cache-dir``, else ``$NPSRCNN_CACHE``, else the user's
cache directory (``~/.cache/npsrcnn/patches`` on Linux). T91 at x3 is about 100 MB, with the fast
recipe's downscaled copies about 300 MB. Clearing is always safe: a run that needs a file cuts it again.

Examples::

    npsrcnn cache                       # where it is, each file and its size
    npsrcnn cache list --json
    npsrcnn cache clear                 # delete the patch files (nothing else in the folder)
"""
import json
import shlex
import sys

from .datasets import cache
from .util.cli import ArgumentParser, command
from .util.files import human

PROG = "python -m npsrcnn.cache"


ACTIONS = {"list": "the folder, its files and their sizes (the default)",
           "clear": "delete the patch files (nothing else in the folder)"}


@command(PROG)
def main(argv, prog):
    parser = ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("action", nargs="?", choices=tuple(ACTIONS), default="list",
                        help="; ".join(f"{k}: {v}" for k, v in ACTIONS.items()))
    parser.add_argument("--cache-dir", metavar="DIR",
                        help="the cache folder (default: $NPSRCNN_CACHE, else the user's cache)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    folder = cache.cache_dir(args.cache_dir)
    if args.action == "clear":
        n, size = cache.clear(folder)
        if args.json:
            print(json.dumps({"folder": str(folder), "removed_files": n, "removed_bytes": size}))
        else:
            print(f"removed {n} patch file{'' if n == 1 else 's'} ({human(size)}) from {folder}")
        return 0
    files = [{"file": p.name, "bytes": p.stat().st_size} for p in cache.cached_files(folder)]
    total = sum(f["bytes"] for f in files)
    if args.json:
        print(json.dumps({"folder": str(folder), "files": files, "bytes": total}, indent=2))
        return 0
    print(f"patch cache: {folder} ({len(files)} file{'' if len(files) == 1 else 's'}, {human(total)})")
    for f in files:
        print(f"  {f['file']}  {human(f['bytes'])}")
    if files:
        where = f" --cache-dir {shlex.quote(args.cache_dir)}" if args.cache_dir else ""
        print(f"`{prog} clear{where}` deletes them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
