"""The check's wall-clock ceiling: tasks run while time is left, and a watchdog ends the run at it.

- `Budget.run(name, need_s, fn)`: runs `fn()` if at least `need_s` seconds of the budget are left,
  else records it as skipped; an exception is recorded (its last line and a short traceback) and
  the run goes on with the next task: on a machine lent for minutes, one broken piece must not
  lose the others' figures. `Budget.log` is the JSON's `tasks` list (name, status, seconds,
  cpu_s, and the reason or the error).
- `Watchdog`: at the ceiling itself (a compile or a kernel that hangs does not return to the
  task loop) it calls `on_expiry` (the script writes what it has and the summary) and ends the
  process with `CEILING_EXIT`.
"""
from __future__ import annotations

import os
import threading
import time
import traceback
from typing import Any, Callable

CEILING_EXIT = 3
OK, FAILED, SKIPPED = "ok", "failed", "skipped"


class Budget:
    def __init__(self, seconds: float, start: float | None = None):
        """`start`: the `time.monotonic()` the ceiling counts from (default: now)."""
        self.seconds = seconds
        self.start = time.monotonic() if start is None else start
        self.log: list[dict[str, Any]] = []
        self.current: str | None = None  # the task running now (the watchdog names it)

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def left(self) -> float:
        return self.seconds - self.elapsed()

    def run(self, name: str, need_s: float, fn: Callable[[], Any]) -> Any:
        """`fn()`'s result, or None when it was skipped or failed (see the module docstring)."""
        if self.left() < need_s:
            self.log.append({"name": name, "status": SKIPPED, "seconds": 0.0, "cpu_s": 0.0,
                             "reason": f"{self.left():.0f} s of the budget left, the task needs ~{need_s:.0f} s"})
            return None
        self.current = name
        t0, c0 = time.monotonic(), time.process_time()
        try:
            result = fn()
        except Exception as exc:  # noqa: BLE001 -- recorded; the remaining tasks still run
            self.log.append({"name": name, "status": FAILED, **_spent(t0, c0),
                             "error": f"{type(exc).__name__}: {exc}".splitlines()[0],
                             "traceback": traceback.format_exc(limit=6)})
            return None
        finally:
            self.current = None
        self.log.append({"name": name, "status": OK, **_spent(t0, c0)})
        return result

    def skip(self, name: str, reason: str) -> None:
        """Record a task that cannot run (what it needs was not produced)."""
        self.log.append({"name": name, "status": SKIPPED, "seconds": 0.0, "cpu_s": 0.0, "reason": reason})

    def statuses(self) -> set[str]:
        return {entry["status"] for entry in self.log}


def _spent(t0: float, c0: float) -> dict[str, float]:
    """Wall seconds since `t0`, and this process's CPU seconds since `c0` (all its threads, not
    its loader workers): on a shared machine the two together say how much of the wall time the
    task had the CPU."""
    return {"seconds": time.monotonic() - t0, "cpu_s": time.process_time() - c0}


class Watchdog:
    """Ends the process `seconds` after it starts (see the module docstring); `cancel()` when done."""

    def __init__(self, seconds: float, on_expiry: Callable[[], None]):
        self.on_expiry = on_expiry
        self.timer = threading.Timer(max(0.0, seconds), self._fire)
        self.timer.daemon = True

    def start(self) -> None:
        self.timer.start()

    def cancel(self) -> None:
        self.timer.cancel()

    def _fire(self) -> None:
        try:
            self.on_expiry()
        finally:
            # os._exit, not sys.exit: the main thread may be inside a compile or a kernel, and
            # the loader's worker processes notice their parent's end and stop by themselves.
            os._exit(CEILING_EXIT)
