"""One writer per run directory: the ``.lock`` file a training holds while it writes there.

The lock is an ``flock`` on ``RUN/.lock``, so the system drops it when its process ends, even by
``kill -9``: a lock left by a dead process is taken over, never a reason to refuse. The file
holds the writer's process id, host and start time, so a second training into the same --out is
told which process holds it.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
import weakref
from pathlib import Path

from recur.errors import RecurError

LOCK = ".lock"


class RunLock:
    """A held lock; ``release()`` (or the end of the process) lets it go."""

    def __init__(self, path: Path, descriptor: int, previous: dict, created: bool):
        self.path, self.previous = path, previous  # previous: the dead holder taken over, or {}
        self._finalizer = weakref.finalize(self, _release, path, descriptor, created)

    def release(self) -> None:
        self._finalizer()


def acquire(run_dir) -> RunLock:
    """Lock ``run_dir`` (creating it) for this process, or say which process holds it."""
    run_dir = Path(run_dir)
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(descriptor)
            os.close(descriptor)
            raise RecurError(
                f"{run_dir}: another training is writing there (process {holder.get('pid', '?')}"
                f" on {holder.get('host', '?')}, since {holder.get('started', '?')}); wait for "
                "it to finish or stop it, or choose another --out"
            ) from None
        try:
            same = os.fstat(descriptor).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:  # not a file its last holder unlinked while we opened it
            break
        os.close(descriptor)
    previous = _holder(descriptor)
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%c")}
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, json.dumps(me).encode(), 0)
    return RunLock(path, descriptor, previous, created)


def _holder(descriptor: int) -> dict:
    try:
        holder = json.loads(os.pread(descriptor, 4096, 0) or b"{}")
    except ValueError:
        return {}
    return holder if isinstance(holder, dict) else {}


def _release(path: Path, descriptor: int, created: bool) -> None:
    try:
        if os.stat(path).st_ino == os.fstat(descriptor).st_ino:
            path.unlink()
        if created:
            path.parent.rmdir()  # a run that failed before writing anything leaves no folder
    except OSError:  # gone already, or the folder holds something: keep it
        pass
    os.close(descriptor)
