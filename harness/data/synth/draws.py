"""`Draws`: random numbers taken from pre-drawn blocks of a NumPy Generator.

A Generator call costs a microsecond or more; a synthetic image needs a few hundred scalars, so
one call per scalar would cost more than the drawing. Blocks of normals and uniforms are drawn
at once and handed out in order -- still fully determined by the Generator's seed.
"""
from __future__ import annotations

import numpy as np

BLOCK = 256


class Draws:
    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self._normals: list[float] = []
        self._uniforms: list[float] = []

    def _next_normal(self) -> float:
        if not self._normals:
            self._normals = self.rng.standard_normal(BLOCK).tolist()[::-1]
        return self._normals.pop()

    def _next_uniform(self) -> float:
        if not self._uniforms:
            self._uniforms = self.rng.random(BLOCK).tolist()[::-1]
        return self._uniforms.pop()

    def normal(self, sigma: float = 1.0, mean: float = 0.0) -> float:
        return mean + sigma * self._next_normal()

    def uniform(self, lo: float = 0.0, hi: float = 1.0) -> float:
        return lo + (hi - lo) * self._next_uniform()

    def chance(self, p: float) -> bool:
        return self._next_uniform() < p

    def integer(self, lo: int, hi: int) -> int:
        """Uniform in [lo, hi)."""
        return min(lo + int(self._next_uniform() * (hi - lo)), hi - 1)

    def choice(self, probabilities) -> int:
        u, total = self._next_uniform(), 0.0
        for i, p in enumerate(probabilities):
            total += p
            if u < total:
                return i
        return len(probabilities) - 1
