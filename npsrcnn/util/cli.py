"""What every npsrcnn command shares: argparse with one-line errors, and exit codes.

A command is ``main(argv, prog) -> int`` decorated with :func:`command`, which makes it
``main(argv=None, prog=...)``. ``prog`` is how the user called it: ``python -m npsrcnn.train`` (the
default, what the module's ``__main__`` block runs) or ``npsrcnn train`` (what the ``npsrcnn``
dispatcher passes); usage lines and error prefixes name it. Bad input raises
:class:`~npsrcnn.util.errors.UserError`; the decorator prints ``prog: error: message`` on stderr and
returns 2, never a traceback.
"""
import argparse
import functools
import sys

from .errors import UserError


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2 (no usage dump)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def command(default_prog):
    """Decorate ``main(argv, prog)``: UserError, OSError from user paths and Ctrl-C become exit codes."""

    def wrap(main):
        @functools.wraps(main)
        def run(argv=None, prog=default_prog):
            try:
                return main(argv, prog) or 0
            except UserError as exc:
                print(f"{prog}: error: {exc}", file=sys.stderr)
                return 2
            except OSError as exc:  # a path of the user's that cannot be read or written
                where = f"{exc.filename}: " if exc.filename else ""
                print(f"{prog}: error: {where}{exc.strerror or exc}", file=sys.stderr)
                return 2
            except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
                return exc.code if isinstance(exc.code, int) else 2
            except KeyboardInterrupt:
                print(f"{prog}: interrupted", file=sys.stderr)
                return 130

        return run

    return wrap
