"""What every npsrcnn command shares: argparse with one-line errors, and exit codes.

A command is ``main(argv, prog) -> int`` decorated with :func:`command`, which makes it
``main(argv=None, prog=...)``. ``prog`` is how the user called it: ``python -m npsrcnn.train`` (the
default, what the module's ``__main__`` block runs) or ``npsrcnn train`` (what the ``npsrcnn``
dispatcher passes); usage lines and error prefixes name it. Bad input raises
:class:`~npsrcnn.util.errors.UserError`; the decorator prints ``prog: error: message`` on stderr and
returns 2, never a traceback.
"""
import argparse
import errno
import functools
import os
import sys

from .errors import UserError


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2 (no usage dump)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def one_line(text):
    """`text` as one line: control characters (a newline in a file name, a library's multi-line message)
    escaped, so an error is always exactly one line on stderr."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in str(text))


def _exit_now(code):
    """Leave without running the interpreter's teardown. After a write failed for lack of space, h5py's
    objects can be left in a state whose deallocation segfaults (exit 139); every file we write is
    atomic, so the temporary is gone and the user's previous file is intact: nothing is left to tidy."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _quiet_h5py_teardown(unraisable):
    """sys.unraisablehook: h5py's objects that fail to close after a failed write (no space left) report
    it while they are freed, in tracebacks no one can act on; the command's one line says it. Anything
    else goes to the default hook."""
    where = f"{unraisable.err_msg} {unraisable.object!r}"
    if "h5py" in where and isinstance(unraisable.exc_value, (OSError, RuntimeError)):
        return
    sys.__unraisablehook__(unraisable)


def command(default_prog):
    """Decorate ``main(argv, prog)``: UserError, OSError from user paths, running out of memory or disk,
    and Ctrl-C become one line on stderr and an exit code."""

    def wrap(main):
        @functools.wraps(main)
        def run(argv=None, prog=default_prog):
            previous, sys.unraisablehook = sys.unraisablehook, _quiet_h5py_teardown
            try:
                return main(argv, prog) or 0
            except UserError as exc:
                print(f"{prog}: error: {one_line(exc)}", file=sys.stderr)
                if getattr(exc, "disk_full", False):
                    _exit_now(2)
                return 2
            except MemoryError as exc:
                print(f"{prog}: error: out of memory{f' ({one_line(exc)})' if str(exc) else ''}; try a smaller "
                      "input or --band-rows, fewer --threads, or a machine with more memory", file=sys.stderr)
                return 2
            except OSError as exc:  # a path of the user's that cannot be read or written
                where = f"{exc.filename}: " if exc.filename else ""
                if exc.errno == errno.ENOSPC:
                    print(f"{prog}: error: {one_line(where)}no space left on device; free some space and rerun",
                          file=sys.stderr)
                    _exit_now(2)
                print(f"{prog}: error: {one_line(where)}{one_line(exc.strerror or exc)}", file=sys.stderr)
                return 2
            except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
                return exc.code if isinstance(exc.code, int) else 2
            except KeyboardInterrupt:
                print(f"{prog}: interrupted", file=sys.stderr)
                return 130
            finally:
                sys.unraisablehook = previous

        return run

    return wrap
