"""``python -m recur``: the same command as ``recur``."""

from recur.cli import main

raise SystemExit(main())
