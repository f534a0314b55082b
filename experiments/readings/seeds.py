"""Two rows of the readings study in several seeds: per seed, row B minus row A with versus.py's
paired image interval; across seeds, the mean gap with its t interval (n - 1 df; the report's
`seed_t_interval`, shown under its Δ cells) and each row's figure per seed.

    python experiments/readings/seeds.py \
        results/run_matrix/screen14/050cc2a43e89 results/run_matrix/screen14/88ffc1a477ee \
        results/run_matrix/screen14/08aa3d3c152d results/run_matrix/screen14/205d9390d037 \
        results/run_matrix/screen14/d3e39c633cc6 results/run_matrix/screen14/f710f55d32f2

Arguments come in pairs (A, B), one pair per seed, both trials of a pair trained with the same seed
(read from their metrics.json) and scored on the same validation images. The image interval says
what the validation images allow for one trained pair; the t interval over the seeds' gaps says
what training again with another seed allows, which is what a claim about a module needs (the
harness's guide: a difference of a few hundredths needs seeds).

Then how many seeds a +-1-point t interval on the responses' gap would take at the gaps' SD
(`harness.report.bootstrap.seeds_for_half_width`) and at either end of that SD's 95 % interval
(`sd_interval`), and whether the seeds pair the rows at all
(their correlation over the seeds; the gap's SD beside an unpaired difference's). Last, epoch by
epoch from the trials' curves (`schedule.eval_every: 1`; curves.py's figures): the mean gap and the SD over the seeds of the gap and of each row, which says whether training longer
narrows training's spread (the next lever where the gap is smaller than that spread).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy import stats
from harness.record import READOUTS
from harness.report.bootstrap import sd_interval, seed_t_interval, seeds_for_half_width
from harness.report.mean_pose import correct_key

from curves import curves  # sibling scripts: `python <script>` puts this folder on sys.path
from versus import show


class AcrossSeeds(NamedTuple):
    """One read-out over the seeds: B - A per seed, their mean and its 95 % t interval (NaN for
    fewer than 2 seeds), and each row's figure per seed. (A NamedTuple, not a dataclass: the
    tests load this script by path, outside sys.modules, where dataclasses cannot resolve it.)"""
    readout: str
    gaps: tuple[float, ...]
    mean: float
    low: float
    high: float
    a: tuple[float, ...]
    b: tuple[float, ...]


def figure(folder: Path, readout: str) -> float | None:
    """The read-out's location metric of one trial: its correct joints over the visible ones."""
    data = np.load(folder / "per_image.npz")
    key = correct_key(readout)
    if key not in data.files:
        return None
    return float(data[key].sum() / data["loc_visible"].sum())


def seed_of(folder: Path) -> int | None:
    path = folder / "metrics.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text()).get("config", {}).get("seed")


def across(pairs: list[tuple[Path, Path]]) -> list[AcrossSeeds]:
    """Every read-out both rows recorded in every seed, summarised over the seeds."""
    rows = []
    for readout in READOUTS:
        a = [figure(pa, readout) for pa, _ in pairs]
        b = [figure(pb, readout) for _, pb in pairs]
        if any(v is None for v in a + b):
            continue
        gaps = np.asarray(b) - np.asarray(a)
        mean = float(gaps.mean())
        low, high = seed_t_interval(list(gaps)) or (float("nan"), float("nan"))
        rows.append(AcrossSeeds(readout, tuple(float(g) for g in gaps), mean, float(low), float(high),
                                tuple(a), tuple(b)))
    return rows


class EpochSpread(NamedTuple):
    """One epoch of one read-out over the seeds: the mean of B - A and the SDs (n - 1) over the
    seeds of the gap, of A and of B."""
    epoch: int
    mean: float
    sd_gap: float
    sd_a: float
    sd_b: float


def by_epoch(pairs: list[tuple[Path, Path]], readout: str = "responses") -> list[EpochSpread]:
    """The read-out after each epoch every trial of `pairs` recorded (from its metrics.json's
    curve); empty where fewer than 2 pairs or a trial has no curve of it."""
    a_curves = [curves(json.loads((pa / "metrics.json").read_text())).get(readout) for pa, _ in pairs]
    b_curves = [curves(json.loads((pb / "metrics.json").read_text())).get(readout) for _, pb in pairs]
    if len(pairs) < 2 or any(c is None for c in a_curves + b_curves):
        return []
    out = []
    for epoch in range(min(len(c) for c in a_curves + b_curves)):
        a = [c[epoch] for c in a_curves]
        b = [c[epoch] for c in b_curves]
        if any(v is None for v in a + b):
            continue
        gaps = np.asarray(b) - np.asarray(a)
        out.append(EpochSpread(epoch + 1, float(gaps.mean()), float(gaps.std(ddof=1)),
                               float(np.std(a, ddof=1)), float(np.std(b, ddof=1))))
    return out


HALF_WIDTH = 0.01  # one point of PCK: the size of the module effects measured so far


def seeds_line(sd_gap: float, n_seeds: int) -> str:
    """How many seeds a 95 % t interval of +-HALF_WIDTH on the responses' gap would take, were the
    gaps' SD over these seeds the true one (the planning figure behind "~40 seeds a row"), and the
    same count at either end of that SD's own 95 % interval (`sd_interval`): over a few seeds the
    SD is itself uncertain, so a count read from it alone is no plan (readings_seeds35 read "6
    seeds" from 3, and a fourth seed tripled the SD)."""
    def need(sd: float) -> str:
        n = seeds_for_half_width(sd, HALF_WIDTH)
        return f"{n}" if n is not None else "more than 100,000"
    low, high = sd_interval(sd_gap, n_seeds)
    return (f"responses: SD of the gap over the seeds {sd_gap:.3f}; a 95 % t interval of +-{HALF_WIDTH:.3f} "
            f"would take {need(sd_gap)} seeds at that SD (taken as known); the SD's 95 % interval over "
            f"{n_seeds} seeds, [{low:.3f}, {high:.3f}] (chi-square), puts it between {need(low)} and "
            f"{need(high)} seeds")


def pairing_line(row: AcrossSeeds) -> str:
    """Whether pairing the rows by seed narrows the gap's spread: the rows' Pearson correlation over
    the seeds and the gap's SD beside sqrt(sd_A^2 + sd_B^2), the SD of the difference of two
    unpaired trials. A seed fixes the data order and augmentations (harness/trial/loaders.py,
    harness/data/dataset.py) and the initial weights of the parts built before the rows' first
    difference (the backbone first; a module one row adds shifts the generator for the rest), so
    a pair need not train alike; where r <= 0 the pairing buys nothing and one row's seeds could
    serve several comparisons (on one machine)."""
    r = float(stats.pearsonr(row.a, row.b).statistic)
    unpaired = float(np.hypot(np.std(row.a, ddof=1), np.std(row.b, ddof=1)))
    return (f"responses: the rows' correlation over the seeds r = {r:+.2f}; SD of the gap "
            f"{np.std(row.gaps, ddof=1):.3f} against {unpaired:.3f} unpaired")


def main(argv: list[str]) -> int:
    if len(argv) < 2 or len(argv) % 2:
        print("usage: seeds.py <A seed s> <B seed s> [<A> <B> ...]  (pairs; prints B - A)", file=sys.stderr)
        return 2
    paths = [Path(x) for x in argv]
    pairs = list(zip(paths[::2], paths[1::2]))
    for a, b in pairs:
        if seed_of(a) != seed_of(b):
            print(f"{a} (seed {seed_of(a)}) and {b} (seed {seed_of(b)}): a pair must share its seed",
                  file=sys.stderr)
            return 2
    print("B - A per seed (PCK, 95 % paired bootstrap over the images)")
    for a, b in pairs:
        if show(a, b, f"seed {seed_of(a)}: {b.name} - {a.name}"):
            return 2
    print(f"across {len(pairs)} seeds (mean of B - A, 95 % t interval over the seeds)")
    summaries = across(pairs)
    for row in summaries:
        a = ", ".join(f"{v:.3f}" for v in row.a)
        b = ", ".join(f"{v:.3f}" for v in row.b)
        print(f"  {row.readout:<13} {row.mean:+.3f} [{row.low:+.3f}, {row.high:+.3f}]"
              f"  A {a} (mean {np.mean(row.a):.3f})  B {b} (mean {np.mean(row.b):.3f})")
    for row in summaries:
        if row.readout == "responses" and len(row.gaps) >= 2:
            print(seeds_line(float(np.std(row.gaps, ddof=1)), len(row.gaps)))
        if row.readout == "responses" and len(row.gaps) >= 3:
            print(pairing_line(row))
    spread = by_epoch(pairs)
    if spread:
        print("responses after each epoch (the trials' curves): mean B - A; SD over the seeds of B - A, A, B")
        for e in spread:
            print(f"  epoch {e.epoch}  {e.mean:+.3f}  SD gap {e.sd_gap:.3f}  A {e.sd_a:.3f}  B {e.sd_b:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
