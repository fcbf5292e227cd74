"""The error meant for the user: a library function raises it, a command prints it as one line."""


class UserError(Exception):
    """Bad input from the user (missing file, wrong shape, ...): one line on stderr, exit code 2."""


def shown(path):
    """`path` as one printable line for a message: control characters escaped (a newline as \\n), bytes
    that are not UTF-8 (kept by the OS's surrogate escapes) as \\xNN; anything else as it is."""
    out = []
    for c in str(path):
        if 0xDC80 <= ord(c) <= 0xDCFF:  # os.fsdecode's escape of an undecodable byte
            out.append(f"\\x{ord(c) - 0xDC00:02x}")
        elif c.isprintable():
            out.append(c)
        else:
            out.append(c.encode("unicode_escape").decode("ascii"))
    return "".join(out)
