"""The order in which `harness run` hands its trials to Ray Tune: longest first.

Ray Tune starts trials in the order it receives them, as slots free up. With a few slots and
trials of very different lengths (the multi-scale rows train about twice as slowly as the
baseline's), a long trial started last keeps one slot busy while the others idle; starting the
longest first (the LPT rule) bounds the idle tail by the shortest trial instead. A trial's length
is estimated by its training work (`harness.matrix.rates.training_work`: GMACs per image, counted on
the meta device and cached in the user's cache folder, times the images it trains on); ties keep
the matrix's order.
"""
from __future__ import annotations

from harness.matrix import PlannedTrial
from harness.matrix.rates import GmacsCache, training_work


def longest_first(trials: list[PlannedTrial], gmacs: GmacsCache | None = None) -> list[PlannedTrial]:
    """`trials` sorted by `training_work`, largest first (a stable sort: ties keep their order)."""
    gmacs = gmacs or GmacsCache()
    work = {t.id: training_work(t.config, gmacs) for t in trials}
    gmacs.save()
    return sorted(trials, key=lambda t: -work[t.id])
