"""A row (or one trial) against the mean pose: its location metric minus the mean pose's, with the
paired bootstrap 95 % interval over validation images, for any of the ladder's read-outs.

The interval is `harness.evaluation.per_image.location_vs_reference` on the per-image counts: the
trials' `loc_correct` (the paper's read-out, `responses`) or `<read-out>_loc_correct` (`cams`,
`product`), one line per seed, against `loc_correct` of the mean-pose reference
(`references/<dataset>.npz`), over the reference's `loc_visible`. It is about which images were
evaluated; the spread over seeds is the ± of the row's cells.

"Above the mean pose" is decided by the interval: a lower bound above 0. Where no interval can be
computed (results from before the per-image counts were kept, or counts that do not line up) the
point estimate decides, and `note` says why there is no interval.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.data.specs import SPECS
from harness.evaluation.per_image import location_vs_reference
from harness.record import READOUTS
from harness.report.bootstrap import Delta, PerImageCache, seeds_gap_interval
from harness.report.cells import Cell, Format
from harness.report.loading import Reference, TrialRecord

INTERVAL_SEED = 0  # the bootstrap's seed: the same results give the same report


@dataclass(frozen=True)
class VsMeanPose:
    """Location metric minus the mean pose's (fractions): mean over `seeds` seeds, and its 95 %
    paired-bootstrap interval over images (None with `note` saying why there is none)."""

    delta: float
    lo: float | None
    hi: float | None
    seeds: int
    note: str = ""

    @property
    def above(self) -> bool:
        """Above the mean pose: the interval's lower bound is above 0 (the point estimate without one)."""
        return self.lo > 0 if self.lo is not None else self.delta > 0

    @property
    def judged_by(self) -> str:
        return "the 95 % interval" if self.lo is not None else "the point estimate (no interval)"


def correct_key(readout: str) -> str:
    """The per-image array of a read-out's correct counts (per_image.npz)."""
    return "loc_correct" if readout == "responses" else f"{readout}_loc_correct"


def readout_value(t: TrialRecord, readout: str, metric: str) -> float | None:
    """A trial's location metric on a read-out; the paper's read-out is `metrics` itself."""
    if readout == "responses":
        return t.metrics.get(metric)
    return (t.readouts.get(readout) or {}).get(metric)


def vs_mean_pose(trials: list[TrialRecord], ref: Reference | None, readout: str, metric: str | None,
                 cache: PerImageCache, n: int = 1000) -> VsMeanPose | None:
    """The completed `trials` (the seeds of one row, or one trial) on `readout` against the mean pose;
    None where there is nothing to compare (no reference value, or no trial has the read-out)."""
    if ref is None or metric is None or ref.metrics.get(metric) is None:
        return None
    trials = [t for t in trials if t.completed and readout_value(t, readout, metric) is not None]
    if not trials:
        return None
    key = (tuple(t.id for t in trials), ref.dataset, readout, metric, n)
    if key not in cache.vs_reference:
        cache.vs_reference[key] = _compute(trials, ref, readout, metric, cache, n)
    return cache.vs_reference[key]


def _compute(trials: list[TrialRecord], ref: Reference, readout: str, metric: str, cache: PerImageCache,
             n: int) -> VsMeanPose:
    point = float(np.mean([readout_value(t, readout, metric) for t in trials])) - ref.metrics[metric]

    def without(why: str) -> VsMeanPose:
        return VsMeanPose(point, None, None, len(trials), f"no interval: {why}")

    if ref.kind not in SPECS or SPECS[ref.kind].location_metric != metric:
        return without(f"the per-image counts are of the location metric, not {metric}")
    ref_arrays = cache.get(ref.per_image) if ref.per_image is not None else None
    if ref_arrays is None or "loc_correct" not in ref_arrays or "loc_visible" not in ref_arrays:
        return without("the mean-pose reference has no per-image counts (its .npz beside it under references/)")
    ids, visible = np.asarray(ref_arrays["image_ids"]), np.asarray(ref_arrays["loc_visible"])
    lines = []
    for t in trials:
        arrays = cache.get(t.dir / "per_image.npz")
        if arrays is None or correct_key(readout) not in arrays:
            return without(f"trial {t.id} has no per-image counts of the {readout} read-out")
        if not np.array_equal(np.asarray(arrays["image_ids"]), ids) or \
                ("loc_visible" in arrays and not np.array_equal(np.asarray(arrays["loc_visible"]), visible)):
            return without(f"trial {t.id} was not evaluated on the mean pose's images and joints")
        lines.append(np.asarray(arrays[correct_key(readout)]))
    delta, lo, hi = location_vs_reference(np.stack(lines), ref_arrays["loc_correct"], visible, n=n,
                                          seed=INTERVAL_SEED)
    if np.isnan(lo) or np.isnan(hi):
        return without("no visible joint in any resample")
    return VsMeanPose(delta, lo, hi, len(trials))


def vs_cell(v: VsMeanPose | None, fmt: Format, what: str) -> Cell:
    """`v` as a table cell: `+1.20 [+0.40, +2.00]` (percentage points), marked where not above."""
    if v is None:
        return Cell("", cls="num")
    text = fmt.signed(v.delta) if v.lo is None else fmt.interval(v.delta, v.lo, v.hi)
    title = f"{what} minus the mean pose's, mean over {v.seeds} seed(s)"
    title += "; 95 % paired bootstrap interval over validation images" if v.lo is not None else f"; {v.note}"
    if not v.above:
        return Cell(text, sub="not above" + ("" if v.lo is not None else " (no CI)"), cls="num warn",
                    title=f"{title}; not above the mean pose by {v.judged_by}: not learned to localise")
    return Cell(text, sub="" if v.lo is not None else "no CI", cls="num sig" if v.lo is not None else "num",
                title=f"{title}; above the mean pose by {v.judged_by}")


def location_delta(row: list[TrialRecord], other: list[TrialRecord], metric: str, cache: PerImageCache,
                   n: int = 1000) -> Delta | None:
    """The paper's read-out's location metric of `row` (its seeds' mean) minus `other`'s (its
    comparison row: the baseline under the same readings), with a 95 % paired bootstrap interval
    over the validation images (the same resample for both rows, as against the mean pose) and,
    with 2 or more seeds in both rows, a 95 % t interval over the seeds' paired differences; None
    where either row has no completed trial with the metric."""
    mine = [t for t in row if t.completed and t.metrics.get(metric) is not None]
    theirs = [t for t in other if t.completed and t.metrics.get(metric) is not None]
    if not mine or not theirs:
        return None
    point = float(np.mean([t.metrics[metric] for t in mine]) - np.mean([t.metrics[metric] for t in theirs]))
    seeds = len({t.seed for t in mine} & {t.seed for t in theirs})
    seeds_lo, seeds_hi = seeds_gap_interval(mine, theirs, metric)

    def counts(trials: list[TrialRecord]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        arrays = [cache.get(t.dir / "per_image.npz") for t in trials]
        if any(a is None or "loc_correct" not in a or "loc_visible" not in a for a in arrays):
            return None
        ids, visible = np.asarray(arrays[0]["image_ids"]), np.asarray(arrays[0]["loc_visible"])
        if any(not np.array_equal(np.asarray(a["image_ids"]), ids) or
               not np.array_equal(np.asarray(a["loc_visible"]), visible) for a in arrays):
            return None
        return np.stack([np.asarray(a["loc_correct"]) for a in arrays]), ids, visible

    a, b = counts(mine), counts(theirs)
    if a is None or b is None or not np.array_equal(a[1], b[1]) or not np.array_equal(a[2], b[2]):
        return Delta(point, None, None, seeds, "no interval: the rows' per-image counts are missing or differ",
                     seeds_lo, seeds_hi)
    delta, lo, hi = location_vs_reference(a[0], b[0].mean(axis=0), a[2], n=n, seed=INTERVAL_SEED)
    if np.isnan(lo) or np.isnan(hi):
        return Delta(delta, None, None, seeds, "no interval: no visible joint in any resample", seeds_lo, seeds_hi)
    return Delta(delta, lo, hi, seeds, seeds_lo=seeds_lo, seeds_hi=seeds_hi)
