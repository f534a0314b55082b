"""Main effects and two-way interactions of the 2^n factorial study over the n declared modules
(`harness.paper.modules`: SPE × MS × RePPG × PDC, 16 cells).

Standard factorial contrasts on the 2^n cell means ybar_c (each the mean over the cell's seeds),
with x = -1 (off) / +1 (on):
- main effect of A = mean(ybar | A on) - mean(ybar | A off) = (1/2^(n-1)) sum_c x_A ybar_c;
- interaction AB = (1/2^(n-1)) sum_c x_A x_B ybar_c, which is half of (effect of A with B on -
  effect of A with B off); both conditional effects are reported too, since they answer "does A
  still help when B is on?".
With replicates (seeds), the within-cell variance pooled over cells, s^2 with
df = sum_c (r_c - 1), gives Var(sum_c w_c ybar_c) = s^2 sum_c w_c^2 / r_c and a t interval.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import stats



def cells_of(n: int) -> tuple[tuple[bool, ...], ...]:
    """The 2^n cells of n two-level factors."""
    return tuple(itertools.product((False, True), repeat=n))


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


def factorial_effects(cells: dict[tuple[bool, ...], list[float]], factors: tuple[str, ...],
                      min_seeds_for_interval: int = 2) -> FactorialResult:
    """Effects from {(on/off of each factor): [metric of each seed]}, `factors` naming the tuple's
    places; every one of the 2^n cells needed. Intervals need at least `min_seeds_for_interval`
    seeds in every cell.
    """
    n = len(factors)
    if n < 2:
        raise ValueError(f"a factorial analysis needs at least 2 factors, got {n}")
    every = cells_of(n)
    missing = [c for c in every if not cells.get(c)]
    if missing:
        raise ValueError(f"{len(missing)} of the {len(every)} cells have no completed trial")
    means = {c: float(np.mean(cells[c])) for c in every}
    counts = {c: len(cells[c]) for c in every}
    df = sum(k - 1 for k in counts.values())
    s2 = None
    if min(counts.values()) >= min_seeds_for_interval and df >= 1:
        s2 = sum(float(np.sum((np.asarray(cells[c]) - means[c]) ** 2)) for c in every) / df
    sign = {c: tuple(1.0 if on else -1.0 for on in c) for c in every}
    half, quarter = 2.0 ** (n - 1), 2.0 ** (n - 2)
    main = [_contrast(factors[i], {c: sign[c][i] / half for c in every}, means, counts, s2, df) for i in range(n)]
    interactions, conditionals = [], []
    for i, j in itertools.combinations(range(n), 2):
        interactions.append(_contrast(f"{factors[i]} × {factors[j]}",
                                      {c: sign[c][i] * sign[c][j] / half for c in every}, means, counts, s2, df))
    for i, j in itertools.permutations(range(n), 2):
        off = {c: sign[c][i] / quarter for c in every if not c[j]}
        on = {c: sign[c][i] / quarter for c in every if c[j]}
        conditionals.append(Conditional(
            factors[i], factors[j],
            _contrast(f"{factors[i]} | {factors[j]} off", off, means, counts, s2, df),
            _contrast(f"{factors[i]} | {factors[j]} on", on, means, counts, s2, df)))
    return FactorialResult(main, interactions, conditionals,
                           (min(counts.values()), max(counts.values())), df if s2 is not None else 0)
