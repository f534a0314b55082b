"""A row's difference to its comparison row: the mean over seeds, and a paired-bootstrap interval.

Seeds are paired (row seed s with comparison seed s). With one pair this is exactly
`harness.evaluation.per_image.paired_bootstrap`. With several, each bootstrap draw resamples the
evaluation images once and uses that same resample for every seed pair, and the statistic is
the seed-averaged difference of the primary metric (`per_image.score_subset` on the resample);
its 2.5 and 97.5 percentiles are the 95 % interval. The interval is about which images were
evaluated; the spread over seeds is shown separately (mean ± std).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy import stats

from harness.evaluation.per_image import load_per_image, paired_bootstrap, score_subset
from harness.record import other_machine
from harness.report.loading import TrialRecord
from harness.report.rows import Row
from harness.report.stats import Summary

MIN_SEEDS_FOR_INTERVAL = 3


@dataclass(frozen=True)
class Delta:
    """Row minus comparison row on the primary metric (fractions), with its interval if any."""

    delta: float
    lo: float | None
    hi: float | None
    pairs: int
    note: str = ""
    # the spread over seeds: a 95 % t interval on the paired seeds' differences (n - 1 df), None
    # with fewer than 2 paired seeds; what training again would move, which `lo`/`hi` do not say
    seeds_lo: float | None = None
    seeds_hi: float | None = None

    @property
    def excludes_zero(self) -> bool:
        return self.lo is not None and self.hi is not None and (self.lo > 0 or self.hi < 0)

    @property
    def seeds_exclude_zero(self) -> bool:
        return self.seeds_lo is not None and self.seeds_hi is not None and (self.seeds_lo > 0 or self.seeds_hi < 0)


def seed_t_interval(gaps: list[float]) -> tuple[float, float] | None:
    """95 % t interval (n - 1 df) on the mean of paired per-seed differences; None under 2 seeds."""
    if len(gaps) < 2:
        return None
    values = np.asarray(gaps, dtype=np.float64)
    mean, sem = float(values.mean()), float(stats.sem(values))
    if sem == 0:
        return mean, mean
    lo, hi = stats.t.interval(0.95, len(values) - 1, loc=mean, scale=sem)
    return float(lo), float(hi)


def seeds_for_half_width(sd: float, half_width: float, most: int = 100_000) -> int | None:
    """The fewest seeds n (>= 2) whose 95 % t interval on a mean of per-seed gaps is at most
    `half_width` either side, t_{0.975, n-1} sd / sqrt(n) <= half_width, taking the gaps' SD `sd`
    as known (a planning figure: the SD measured on a few seeds is itself uncertain). None when
    even `most` seeds would not do; 2 for a zero SD."""
    if sd < 0 or half_width <= 0:
        raise ValueError(f"need sd >= 0 and half_width > 0, got {sd} and {half_width}")
    # t_{0.975,n-1}/sqrt(n) falls with n, so the first n that fits is the answer; start the search
    # at the normal approximation's bound (t > z), which no smaller n can meet.
    n = max(2, math.floor((stats.norm.ppf(0.975) * sd / half_width) ** 2))
    while n <= most:
        if stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n) <= half_width:
            return n
        n += 1
    return None


def sd_interval(sd: float, n: int) -> tuple[float, float]:
    """95 % interval of the true SD behind `sd`, the sample SD (n - 1) of `n` normal values: the
    chi-square one, sd * sqrt((n - 1) / chi2_{0.975, n-1}) to sd * sqrt((n - 1) / chi2_{0.025, n-1}).
    Why it is here: `seeds_for_half_width` takes an SD as known, and one measured on 3 seeds spans
    a factor of ~12 (0.52 sd to 6.3 sd); a seed count planned on it is as uncertain (readings_seeds35:
    0.009 over 3 seeds, 0.027 once a fourth seed came)."""
    if n < 2 or sd < 0:
        raise ValueError(f"need n >= 2 values and sd >= 0, got n={n} and sd={sd}")
    df = n - 1
    return (float(sd * math.sqrt(df / stats.chi2.ppf(0.975, df))),
            float(sd * math.sqrt(df / stats.chi2.ppf(0.025, df))))


def seeds_gap_interval(row: list[TrialRecord], ref: list[TrialRecord],
                       metric: str) -> tuple[float | None, float | None]:
    """`seed_t_interval` on `metric`'s per-seed differences, row trial minus the ref trial of the
    same seed (trials without the metric left out); (None, None) under 2 paired seeds. What
    training again with another seed would move, which an image interval does not say."""
    mine = {t.seed: t.metrics[metric] for t in row if t.metrics.get(metric) is not None}
    theirs = {t.seed: t.metrics[metric] for t in ref if t.metrics.get(metric) is not None}
    across = seed_t_interval([mine[s] - theirs[s] for s in sorted(mine.keys() & theirs.keys())])
    return across if across is not None else (None, None)


def crossed_seeds(row: list[TrialRecord], ref: list[TrialRecord]) -> list[int]:
    """The seeds whose pair (row trial, ref trial of the same seed) was trained on machines with
    different arithmetic (`harness.record.other_machine`): their gap mixes the rows' difference with
    the machines' (0.038 PCK between two machines at one seed, readings round 30)."""
    theirs = {t.seed: t for t in ref}
    return sorted({t.seed for t in row if t.seed in theirs and other_machine(t.machine, theirs[t.seed].machine)})


def seed_paired_bootstrap(pairs: list[tuple[dict, dict]], n: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """Seed-averaged b - a over paired runs on the same images, and its 95 % percentile interval."""
    if not pairs:
        raise ValueError("no pairs to bootstrap")
    if len(pairs) == 1:
        return paired_bootstrap(pairs[0][0], pairs[0][1], n=n, seed=seed)
    ids = np.asarray(pairs[0][0]["image_ids"])
    for a, b in pairs:
        for p in (a, b):
            if not np.array_equal(np.asarray(p["image_ids"]), ids):
                raise ValueError("paired bootstrap needs every run evaluated on the same images")
    n_img = len(ids)
    full = np.arange(n_img)
    delta = float(np.mean([score_subset(b, full) - score_subset(a, full) for a, b in pairs]))
    rng = np.random.default_rng(seed)
    draws = np.empty(n)
    for i in range(n):
        idx = rng.integers(0, n_img, size=n_img)
        draws[i] = np.mean([score_subset(b, idx) - score_subset(a, idx) for a, b in pairs])
    draws = draws[~np.isnan(draws)]
    if draws.size == 0:
        return delta, float("nan"), float("nan")
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return delta, float(lo), float(hi)


class PerImageCache:
    """Loads each trial's per_image.npz once (a broken file is a `UserError`); remembers deltas
    between rows and against the mean pose (`harness.report.mean_pose`)."""

    def __init__(self) -> None:
        self._data: dict[Path, dict] = {}
        self.deltas: dict[tuple, Delta | None] = {}
        self.vs_reference: dict[tuple, object] = {}

    def get(self, path: Path) -> dict | None:
        if not path.is_file():
            return None
        if path not in self._data:
            self._data[path] = load_per_image(path)
        return self._data[path]


def row_delta(row: Row, ref: Row, primary: str, mine: Summary, theirs: Summary, cache: PerImageCache,
              n: int = 1000, seed: int = 0) -> Delta | None:
    """`row` - `ref` on `primary`; with >= 3 paired seeds, a paired-bootstrap interval over images."""
    if mine.mean is None or theirs.mean is None:
        return None
    key = (tuple(t.id for t in row.completed), tuple(t.id for t in ref.completed), primary, n, seed)
    if key not in cache.deltas:
        # the seeds' t interval beside the image one, as the location Δ carries
        seeds_lo, seeds_hi = seeds_gap_interval(row.completed, ref.completed, primary)
        cache.deltas[key] = replace(_row_delta(row, ref, mine, theirs, cache, n, seed),
                                    seeds_lo=seeds_lo, seeds_hi=seeds_hi)
    return cache.deltas[key]


def _row_delta(row: Row, ref: Row, mine: Summary, theirs: Summary, cache: PerImageCache, n: int,
               seed: int) -> Delta:
    point = mine.mean - theirs.mean
    ref_by_seed = {t.seed: t for t in ref.completed}
    pairs_t = [(ref_by_seed[t.seed], t) for t in row.completed if t.seed in ref_by_seed]
    if len(pairs_t) < MIN_SEEDS_FOR_INTERVAL:
        return Delta(point, None, None, len(pairs_t),
                     f"no interval: {len(pairs_t)} paired seed(s), an interval needs {MIN_SEEDS_FOR_INTERVAL}")
    pairs = []
    for a, b in pairs_t:
        pa, pb = cache.get(a.dir / "per_image.npz"), cache.get(b.dir / "per_image.npz")
        if pa is None or pb is None:
            return Delta(point, None, None, len(pairs_t), "no interval: a trial has no per_image.npz")
        pairs.append((pa, pb))
    try:
        delta, lo, hi = seed_paired_bootstrap(pairs, n=n, seed=seed)
    except ValueError as exc:
        return Delta(point, None, None, len(pairs_t), f"no interval: {exc}")
    if np.isnan(lo) or np.isnan(hi):
        return Delta(delta, None, None, len(pairs_t), "no interval: the metric is undefined on every resample")
    note = ""
    if len(pairs_t) != len(row.completed) or len(pairs_t) != len(ref.completed):
        note = f"over the {len(pairs_t)} seeds both rows completed"
    return Delta(delta, lo, hi, len(pairs_t), note)
