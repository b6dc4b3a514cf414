"""How the ``recur`` command ends: exit codes and the one line a user reads.

A usage error (a malformed command line, an option out of range) exits 2; a data or run error
exits 1; each prints one line, ``error: ...``. Anything else that escapes a command is a bug: it
is still one line, with what to do, unless ``--debug`` (or ``RECUR_DEBUG=1``) asks for the
traceback. Torch-free: it runs for every command.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Callable

from recur.errors import RecurError

DEBUG_FLAG = "--debug"
DEBUG_HELP = "print the full traceback of an error (as RECUR_DEBUG=1)"


class Parser(argparse.ArgumentParser):
    """argparse, with its usage errors as one line (the usage is one --help away)."""

    def error(self, message: str):
        self.exit(2, f"error: {message}; see {self.prog} --help\n")


def debug_wanted(argv: list[str]) -> tuple[bool, list[str]]:
    """Whether a traceback is wanted, and argv without ``--debug`` (accepted anywhere in it)."""
    wanted = DEBUG_FLAG in argv or os.environ.get("RECUR_DEBUG", "") not in ("", "0")
    return wanted, [arg for arg in argv if arg != DEBUG_FLAG]


def guarded(command: Callable, args, debug: bool) -> int:
    """Run ``command(args)``; every error becomes one line on stderr and an exit code."""
    try:
        command(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if debug:
            raise
        print(f"error: {describe(error)}", file=sys.stderr)
        return getattr(error, "exit_code", 1) if isinstance(error, RecurError) else 1
    return 0


def describe(error: BaseException) -> str:
    """The one line for ``error``."""
    if isinstance(error, RecurError):
        return str(error).strip().replace("\n", " ")
    if isinstance(error, OSError) and error.errno is not None:
        where = f"{error.filename}: " if error.filename else ""
        advice = {
            errno.ENOSPC: "free some space and run it again (a run continues with --resume)",
            errno.EACCES: "check the permissions",
            errno.EROFS: "write somewhere else",
        }.get(error.errno, "check the path and run it again")
        return f"{where}{error.strerror}; {advice}"
    if isinstance(error, MemoryError) or "out of memory" in str(error).lower():
        return "out of memory: lower --batch-size, --hidden-size or -n, or use a smaller input"
    first = (str(error).strip().splitlines() or [""])[0][:200]
    return (
        f"unexpected {type(error).__name__}: {first} (this is a bug in recur: rerun with "
        "--debug for the traceback and report it)"
    )
