"""The exceptions users see: a one-line message saying what is wrong and what to do.

``RecurError`` is a data or run error (the CLI exits 1); ``UsageError``, a bad option value or
command line (the CLI exits 2, as argparse does for a malformed one).
"""


class RecurError(Exception):
    """Bad input or a bad request. The CLI prints ``error: <message>`` and exits with status 1."""

    exit_code = 1


class UsageError(RecurError):
    """An option value out of range or malformed, wherever it was given: the CLI exits with 2."""

    exit_code = 2
