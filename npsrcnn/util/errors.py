"""The error meant for the user: a library function raises it, a command prints it as one line."""


class UserError(Exception):
    """Bad input from the user (missing file, wrong shape, ...): one line on stderr, exit code 2."""
