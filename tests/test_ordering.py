"""`harness run` hands Ray Tune its trials longest first (GMACs x training images), ties in order."""
from __future__ import annotations

from dataclasses import replace

import pytest

from tiny import tiny_config

from harness.matrix import PlannedTrial
from harness.runner.ordering import longest_first
from harness.matrix.rates import GmacsCache, train_instances, training_work


def _planned(name: str, cfg) -> PlannedTrial:
    return PlannedTrial(name, cfg, ["s"])


def test_the_longest_trials_start_first_and_ties_keep_their_order(tmp_path):
    gmacs = GmacsCache(tmp_path / "gmacs.json")
    base = tiny_config("coco", spe=False, multi_scale=False, reppg=False, pdc=False)
    ms = tiny_config("coco", spe=False, multi_scale=True, reppg=False, pdc=False)
    longer = replace(base, schedule=replace(base.schedule, epochs=base.schedule.epochs * 3))
    trials = [_planned("a", base), _planned("b", ms), _planned("c", base), _planned("d", longer)]
    for t in trials:  # the estimate by hand: GMACs per image x 3 (a training step) x epochs x training images
        s = t.config.schedule
        assert train_instances(t.config) == (s.max_train_instances, "twin")  # 16 images ~ 24 people, capped
        assert training_work(t.config, gmacs) == pytest.approx(gmacs.gmacs(t.config.model) * 3 * s.epochs * s.max_train_instances)
    assert gmacs.gmacs(ms.model) > gmacs.gmacs(base.model)  # multi-scale attention costs more per image
    work = {t.id: training_work(t.config, gmacs) for t in trials}
    order = [t.id for t in longest_first(trials, gmacs)]
    assert order == sorted(work, key=lambda i: -work[i])
    assert order.index("a") < order.index("c")  # equal work: the matrix's order
    assert (tmp_path / "gmacs.json").is_file()  # counted once, kept in the cache
