"""A trial's process state (harness/trial/process.py): whatever the last trial left, the next one
starts from the flags, RNGs, peak memory and threads a fresh process would give it, and a process
never takes a trial with other resources than its first."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from harness.cost import peak_memory_mb
from harness.trial import process
from harness.trial.process import WorkerMismatch, begin_trial, enter_worker, worker_facts

CPU = torch.device("cpu")


@pytest.fixture
def fresh_process(monkeypatch):
    """This test's own record of the process (trials begun, first resources)."""
    import cv2

    monkeypatch.setattr(process, "_PROCESS", {"resources": None, "trials": 0})
    threads, cv_threads = torch.get_num_threads(), cv2.getNumThreads()
    yield
    torch.set_num_threads(threads)
    cv2.setNumThreads(cv_threads)
    torch.use_deterministic_algorithms(False)


def _draws() -> tuple:
    return random.random(), float(np.random.random()), float(torch.rand(()))


def _fresh_draws(seed: int) -> tuple:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return _draws()


def test_a_trial_begins_from_a_clean_state_whatever_the_last_one_left(fresh_process):
    expected = _fresh_draws(11)
    # what a previous trial might leave behind
    torch.use_deterministic_algorithms(False)
    torch.backends.cudnn.benchmark = True
    torch.set_grad_enabled(False)
    torch.set_default_dtype(torch.float64)
    torch.set_autocast_enabled("cpu", True)
    _draws(), _draws()
    leftover = np.ones(300 * 2**20 // 8)  # a 300 MB peak
    del leftover
    before = peak_memory_mb(CPU)

    begin_trial(CPU, seed=11)

    assert torch.are_deterministic_algorithms_enabled()  # CPU trials run deterministic
    assert not torch.backends.cudnn.benchmark and not torch.backends.cudnn.deterministic
    assert torch.is_grad_enabled() and torch.get_default_dtype() == torch.float32
    assert not torch.is_autocast_enabled("cpu")
    assert _draws() == expected
    assert peak_memory_mb(CPU) < before - 200  # this trial's peak, not the last one's
    assert worker_facts()["trial_in_process"] == 1
    begin_trial(CPU, seed=11)
    assert worker_facts()["trial_in_process"] == 2


def test_a_worker_refuses_a_trial_with_other_resources(fresh_process):
    import cv2

    first = {"cpus": 1.0, "gpus": 0.0, "ranks": 1}
    enter_worker(first, threads=1)
    assert torch.get_num_threads() == 1 and cv2.getNumThreads() == 1
    enter_worker(dict(first), threads=1)  # the same resources: reused
    with pytest.raises(WorkerMismatch, match="never run in a worker that was started for other resources"):
        enter_worker({**first, "gpus": 0.5}, threads=1)
