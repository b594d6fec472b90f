"""One process at a time per run: an exclusive lock on `<run>/run.lock` while a run goes.

Without it, `agentos run --resume ID` started twice would run the same nodes twice into one
journal. The lock is an OS file lock, so it is released when the process dies, even by SIGKILL,
and a crashed run can always be resumed.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from agentos.errors import UserError

LOCK_NAME = "run.lock"


class RunLock:
    def __init__(self, run_dir: Path, run_id: str):
        self.path = run_dir / LOCK_NAME
        self.run_id = run_id
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise UserError(f"run {self.run_id} is running right now (process {holder}); "
                            "wait for it to finish, or stop it, before resuming it") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def is_running(run_dir: Path) -> bool:
    """Whether some process holds the run's lock now; a `running` run without it was killed."""
    path = run_dir / LOCK_NAME
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock we may have taken
    return False
