"""One local Ray per machine: the lock a `harness run` takes before starting its own local Ray is
refused to a second process (named by its pid), freed when the holder closes it or exits, and a
run that finds it taken prints one warning line and starts anyway."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import ray

from harness.runner import local_ray, run as run_module
from harness.runner.local_ray import claim_local_ray, sharing_warning
from harness.runner.run import RunOptions


def test_second_claim_is_busy_and_names_the_holder(tmp_path):
    lock = tmp_path / "ray.lock"
    first = claim_local_ray(lock)
    assert first.state == "held"
    assert lock.read_text() == str(os.getpid())
    assert sharing_warning(first, lock) is None
    # A second open file description conflicts under flock even within one process.
    second = claim_local_ray(lock)
    assert second.state == "busy" and second.holder == first.holder
    line = sharing_warning(second, lock)
    assert line is not None and f"pid {first.holder}" in line and str(lock) in line and "\n" not in line
    first.release()
    third = claim_local_ray(lock)
    assert third.state == "held"
    third.release()


def test_a_lock_held_by_another_process_is_freed_when_it_exits(tmp_path):
    lock = tmp_path / "ray.lock"
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from harness.runner.local_ray import claim_local_ray
            claim = claim_local_ray({str(lock)!r})
            print(claim.state, flush=True)
            sys.stdin.readline()  # hold the lock until the parent says
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        busy = claim_local_ray(lock)
        assert busy.state == "busy" and busy.holder == str(child.pid)
    finally:
        child.communicate("go\n", timeout=60)
    after = claim_local_ray(lock)  # the child exited without releasing: the OS dropped its lock
    assert after.state == "held"
    after.release()


def test_init_ray_warns_when_another_run_holds_the_lock(tmp_path, monkeypatch):
    lock = tmp_path / "ray.lock"
    holder = claim_local_ray(lock)
    started = []
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", lambda **kw: started.append(kw))
    monkeypatch.setattr(local_ray, "default_lock_path", lambda: lock)
    said: list[str] = []
    try:
        run_module._init_ray(RunOptions(num_cpus=2), said.append)
        assert len(started) == 1 and started[0]["num_cpus"] == 2  # it warns and goes on
        assert len(said) == 1 and said[0].startswith("warning: another harness run") and f"pid {holder.holder}" in said[0]
        holder.release()
        said.clear()
        run_module._init_ray(RunOptions(num_cpus=2), said.append)
        assert said == [] and run_module._local_ray_claim.state == "held"
    finally:
        holder.release()
        if run_module._local_ray_claim is not None:
            run_module._local_ray_claim.release()
            run_module._local_ray_claim = None
