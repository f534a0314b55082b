"""Main effects and two-way interactions of the 2^4 factorial study (SPE × MS × RePPG × PDC).

Standard factorial contrasts on the 16 cell means ybar_c (each the mean over the cell's seeds),
with x = -1 (off) / +1 (on):
- main effect of A = mean(ybar | A on) - mean(ybar | A off) = (1/8) sum_c x_A ybar_c;
- interaction AB = (1/8) sum_c x_A x_B ybar_c, which is half of (effect of A with B on - effect of
  A with B off); both conditional effects are reported too, since they answer "does A still help
  when B is on?".
With replicates (seeds), the within-cell variance pooled over cells, s^2 with
df = sum_c (r_c - 1), gives Var(sum_c w_c ybar_c) = s^2 sum_c w_c^2 / r_c and a t interval.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

FACTORS = ("SPE", "MS", "RePPG", "PDC")
CELLS = tuple(itertools.product((False, True), repeat=4))


@dataclass(frozen=True)
class Effect:
    """A contrast of the cell means, in the metric's units, with a 95 % interval if replicated."""

    name: str
    estimate: float
    lo: float | None = None
    hi: float | None = None

    @property
    def excludes_zero(self) -> bool:
        return self.lo is not None and self.hi is not None and (self.lo > 0 or self.hi < 0)


@dataclass(frozen=True)
class Conditional:
    """Effect of `factor` with `given` off and with `given` on."""

    factor: str
    given: str
    when_off: Effect
    when_on: Effect


@dataclass
class FactorialResult:
    main: list[Effect]
    interactions: list[Effect]
    conditionals: list[Conditional]
    replicates: tuple[int, int]  # fewest and most seeds in a cell
    df: int


def _contrast(name: str, weights: dict[tuple[bool, ...], float], means: dict, counts: dict,
              s2: float | None, df: int) -> Effect:
    estimate = float(sum(w * means[c] for c, w in weights.items()))
    if s2 is None or df < 1:
        return Effect(name, estimate)
    se = math.sqrt(s2 * sum(w * w / counts[c] for c, w in weights.items()))
    half = float(stats.t.ppf(0.975, df)) * se
    return Effect(name, estimate, estimate - half, estimate + half)


def factorial_effects(cells: dict[tuple[bool, bool, bool, bool], list[float]],
                      min_seeds_for_interval: int = 2) -> FactorialResult:
    """Effects from {(spe, ms, reppg, pdc): [metric of each seed]}; every one of the 16 cells needed.

    Intervals need at least `min_seeds_for_interval` seeds in every cell.
    """
    missing = [c for c in CELLS if not cells.get(c)]
    if missing:
        raise ValueError(f"{len(missing)} of the 16 cells have no completed trial")
    means = {c: float(np.mean(cells[c])) for c in CELLS}
    counts = {c: len(cells[c]) for c in CELLS}
    df = sum(n - 1 for n in counts.values())
    s2 = None
    if min(counts.values()) >= min_seeds_for_interval and df >= 1:
        s2 = sum(float(np.sum((np.asarray(cells[c]) - means[c]) ** 2)) for c in CELLS) / df
    sign = {c: tuple(1.0 if on else -1.0 for on in c) for c in CELLS}
    main = [_contrast(FACTORS[i], {c: sign[c][i] / 8 for c in CELLS}, means, counts, s2, df) for i in range(4)]
    interactions, conditionals = [], []
    for i, j in itertools.combinations(range(4), 2):
        interactions.append(_contrast(f"{FACTORS[i]} × {FACTORS[j]}",
                                      {c: sign[c][i] * sign[c][j] / 8 for c in CELLS}, means, counts, s2, df))
    for i, j in itertools.permutations(range(4), 2):
        off = {c: sign[c][i] / 4 for c in CELLS if not c[j]}
        on = {c: sign[c][i] / 4 for c in CELLS if c[j]}
        conditionals.append(Conditional(
            FACTORS[i], FACTORS[j],
            _contrast(f"{FACTORS[i]} | {FACTORS[j]} off", off, means, counts, s2, df),
            _contrast(f"{FACTORS[i]} | {FACTORS[j]} on", on, means, counts, s2, df)))
    return FactorialResult(main, interactions, conditionals,
                           (min(counts.values()), max(counts.values())), df if s2 is not None else 0)
