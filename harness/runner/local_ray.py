"""One local Ray per machine: the lock a `harness run` holds while its own local Ray runs.

Two `harness run` processes on one machine each start a local Ray that counts every core and GPU
as its own, so their trials share the hardware unseen (twice the trials at once, each slower, and
on GPUs a second trial where one fits). The process that starts a local Ray takes an exclusive
`flock` on one lock file per machine and keeps it until it exits (its Ray lives as long); a second
one finds the lock taken and is told, in one line, by whom. It warns and goes on rather than
refusing: running two matrices side by side can be meant (with `--max-concurrent`), and joining
one cluster (`--address`) is the way to share it properly.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: no lock, no warning
    fcntl = None

LOCK_NAME = "harness-local-ray.lock"


def default_lock_path() -> Path:
    """The machine's lock file, in the system temp folder (shared by every user's runs)."""
    return Path(tempfile.gettempdir()) / LOCK_NAME


class LocalRayClaim:
    """The outcome of `claim_local_ray`: `state` "held" (this process holds the lock, on `fd`),
    "busy" (another process holds it; `holder` is its pid, "" if it could not write it) or
    "unchecked" (no lock on this platform, or the file could not be opened)."""

    def __init__(self, state: str, fd: int | None = None, holder: str = ""):
        self.state, self.fd, self.holder = state, fd, holder

    def release(self) -> None:
        """Unlock and close (a process that exits releases it anyway)."""
        if self.fd is not None:
            os.close(self.fd)  # closing the only descriptor drops the flock
            self.fd, self.state = None, "unchecked"


def claim_local_ray(path: Path | None = None) -> LocalRayClaim:
    """Try to take the lock at `path` (default: `default_lock_path()`) without waiting.

    Held: this process's pid is written into the file for the next one to read.
    """
    path = Path(path) if path is not None else default_lock_path()
    if fcntl is None:
        return LocalRayClaim("unchecked")
    try:
        fd, writable = os.open(path, os.O_RDWR | os.O_CREAT, 0o666), True
    except PermissionError:  # another user's file: a read-only descriptor can still be locked
        try:
            fd, writable = os.open(path, os.O_RDONLY), False
        except OSError:
            return LocalRayClaim("unchecked")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        os.close(fd)
        return LocalRayClaim("busy", holder=holder)
    if writable:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
    return LocalRayClaim("held", fd, str(os.getpid()))


def sharing_warning(claim: LocalRayClaim, path: Path | None = None) -> str | None:
    """The one line to print when another process holds the lock, else None."""
    if claim.state != "busy":
        return None
    who = f"pid {claim.holder}" if claim.holder else "pid unknown"
    where = path if path is not None else default_lock_path()
    return (f"another harness run ({who}; lock {where}) has its own local Ray on this machine: the trials "
            "of both share its cores and GPUs; wait for it, cap this run with --max-concurrent, or start "
            "one cluster ('ray start --head') and join it with --address")
