"""Loader workers do not change the numbers: 0 and 2 workers give identical batches and identical
trials; each sample's augmentation comes from (seed, epoch, index); the worker count resolves
from the trial's CPUs and is not part of the trial id; a trial leaves no worker process behind."""
from __future__ import annotations

import multiprocessing
import warnings

import pytest
import torch

from tiny import tiny_config
from harness.config import ConfigError, ScheduleConfig, loader_workers
from harness.data.build import build_dataset
from harness.trial import resolve_dataset, run_trial
from harness.trial.loaders import TrainLoader

CPU = torch.device("cpu")


def _dataset(twin_cache, kind: str, fraction: float):
    cfg = tiny_config(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_dataset(resolve_dataset(cfg.dataset, twin_cache), "train", cfg.model.input_size,
                             augment=True, location_fraction=fraction, seed=7)


def _epochs(dataset, workers: int, epochs=(1, 2), world=(0, 1)) -> list[list[dict]]:
    loader = TrainLoader(dataset, batch_size=4, seed=7, num_workers=workers, device=CPU, world=world)
    try:
        return [list(loader.batches(e)) for e in epochs]
    finally:
        loader.close()


def _same(a: list[dict], b: list[dict]) -> bool:
    return len(a) == len(b) and all(x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)
                                    for x, y in zip(a, b))


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("kind", "fraction"), [("coco", 0.0), ("mpii", 0.5)])  # MPII: half-body, heatmaps
def test_zero_and_two_workers_give_identical_batches(twin_cache, kind, fraction):
    ds = _dataset(twin_cache, kind, fraction)
    in_process = _epochs(ds, 0)
    with_workers = _epochs(ds, 2)
    assert len(in_process[0]) >= 3
    for a, b in zip(in_process, with_workers):
        assert _same(a, b)
    assert not _same(in_process[0], in_process[1])  # epochs differ: the comparison can fail
    if fraction:
        assert any("heatmaps" in b for b in in_process[0])


def test_a_samples_augmentation_depends_on_seed_epoch_and_index_only(twin_cache):
    ds = _dataset(twin_cache, "mpii", 0.5)
    a = ds[(3, 5)]
    ds[(3, 6)], ds[(1, 5)]  # other draws in between change nothing
    assert all(torch.equal(a[k], ds[(3, 5)][k]) for k in a)
    assert any(not torch.equal(ds[(e, 5)]["image"], a["image"]) for e in (1, 2, 4, 5))  # flip/scale vary


def test_data_parallel_ranks_share_each_epoch(twin_cache):
    ds = _dataset(twin_cache, "coco", 0.0)
    loader = TrainLoader(ds, batch_size=4, seed=7, num_workers=0, device=CPU, world=(0, 2))
    other = TrainLoader(ds, batch_size=4, seed=7, num_workers=0, device=CPU, world=(1, 2))
    for epoch in (1, 2):
        loader.sampler.set_epoch(epoch)
        other.sampler.set_epoch(epoch)
        keys, more = list(loader.sampler), list(other.sampler)
        assert {e for e, _ in keys + more} == {epoch}
        # every instance on one rank or the other; equal shares (DistributedSampler pads an odd count)
        assert {i for _, i in keys + more} == set(range(len(ds)))
        assert len(keys) == len(more) == (len(ds) + 1) // 2


@pytest.mark.timeout(600)
def test_worker_count_changes_neither_the_numbers_nor_the_trial_id(tmp_path, twin_cache):
    """The same trial with its data loaded in-process, then by 2 workers, in one process: the
    second forks after the first used OpenCV's and torch's thread pools, as a reused Ray worker
    does. Dropout is on (0.1), so a loader that drew from torch's global RNG would show."""
    results = {}
    for workers in (0, 2):
        cfg = tiny_config("coco", regime="semi", fraction=0.5, epochs=2)
        cfg.schedule.num_workers = workers
        assert cfg.model.dropout > 0
        results[workers] = run_trial(cfg, tmp_path / f"w{workers}", twin_cache=twin_cache)
        assert multiprocessing.active_children() == []  # the loader's workers are gone
    a, b = results[0], results[2]
    assert a["metrics"] == b["metrics"] and a["readouts"] == b["readouts"]
    assert [r["losses"] for r in a["curve"]] == [r["losses"] for r in b["curve"]]
    assert a["cost"]["loader_workers"] == 0 and b["cost"]["loader_workers"] == 2
    for r in (a, b):
        assert 0.0 <= r["cost"]["data_wait_fraction"] < 1.0
        assert r["cost"]["data_wait_fraction"] == pytest.approx(r["timings"]["data_wait_s"] / r["timings"]["train_s"])
    ids = {tiny_config("coco", regime="semi", fraction=0.5, epochs=2).trial_id()}
    for workers in (0, 2, None):
        cfg = tiny_config("coco", regime="semi", fraction=0.5, epochs=2)
        cfg.schedule.num_workers = workers
        ids.add(cfg.trial_id())
    assert len(ids) == 1


@pytest.mark.timeout(300)
def test_a_failed_trial_leaves_no_worker_process(tmp_path, twin_cache, monkeypatch):
    from test_trial import poison_from_epoch

    cfg = tiny_config("coco", epochs=1)
    cfg.schedule.num_workers = 2
    poison_from_epoch(monkeypatch, 1)  # fails inside the loop, with the workers running
    with pytest.raises(FloatingPointError):
        run_trial(cfg, tmp_path / "f", twin_cache=twin_cache)
    assert multiprocessing.active_children() == []


def test_loader_workers_from_the_trials_cpus():
    assert loader_workers(None, 4) == 3 and loader_workers(None, 6) == 5
    assert loader_workers(None, 1) == 0 and loader_workers(None, 0.5) == 0 and loader_workers(None, 2.5) == 1
    assert loader_workers(None, 8, ranks=2) == 3  # per rank: its 4 CPUs minus the one that trains
    assert loader_workers(None, 1, ranks=2) == 0
    assert loader_workers(2, 16) == 2 and loader_workers(0, 16) == 0  # an explicit value wins
    with pytest.raises(ConfigError, match="num_workers"):
        ScheduleConfig(num_workers=-1)


def test_each_seed_and_epoch_has_its_own_order():
    from harness.trial.loaders import EpochSampler

    def order(seed: int, epoch: int) -> list[int]:
        sampler = EpochSampler(range(200), seed)
        sampler.set_epoch(epoch)
        return [i for _, i in sampler]

    assert sorted(order(0, 1)) == list(range(200)) and order(0, 1) == order(0, 1)
    orders = [order(s, e) for s in (0, 1) for e in (1, 2)]
    assert len({tuple(o) for o in orders}) == 4
    assert order(1, 1) != order(0, 2)  # not seed + epoch, as torch's DistributedSampler seeds it
