"""The one exception type users see: a one-line message saying what is wrong and what to do."""


class RecurError(Exception):
    """Bad input or a bad request. The CLI prints ``error: <message>`` and exits with status 2."""
