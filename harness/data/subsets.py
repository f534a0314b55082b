"""Deterministic subsets (by seed): the instances of a smaller scale and the location-labelled ones.

Every choice is a seeded permutation (`numpy.random.default_rng((seed, purpose))`), so the same
seed gives the same subset on every machine, and the labelled subset does not depend on the
order in which anything else was drawn.
"""
from __future__ import annotations

import numpy as np

_PURPOSE = {"instances": 1, "labelled": 2}


def _rng(seed: int, purpose: str) -> np.random.Generator:
    return np.random.default_rng((int(seed) % 2**32, _PURPOSE[purpose]))


def pick_instances(n: int, count: int, seed: int) -> np.ndarray:
    """`count` of `n` rows, sorted (annotation order kept)."""
    if count >= n:
        return np.arange(n)
    return np.sort(_rng(seed, "instances").permutation(n)[:count])


def pick_images(image_index: np.ndarray, count: int, seed: int) -> np.ndarray:
    """At most `count` rows made of whole images (all instances of each chosen image), sorted.

    For evaluation subsets: an image is scored with all of its people or not at all. Images are
    taken in a seeded random order, skipping any that would overflow `count`.
    """
    n = len(image_index)
    if count >= n:
        return np.arange(n)
    images, inverse = np.unique(image_index, return_inverse=True)
    sizes = np.bincount(inverse, minlength=len(images))
    chosen = np.zeros(len(images), bool)
    total = 0
    for img in _rng(seed, "instances").permutation(len(images)):
        if total + sizes[img] <= count:
            chosen[img] = True
            total += sizes[img]
        if total == count:
            break
    if total == 0:  # every image alone is larger than count: part of the first one
        first = _rng(seed, "instances").permutation(len(images))[0]
        return np.flatnonzero(inverse == first)[:count]
    return np.flatnonzero(chosen[inverse])


def labelled_mask(n: int, fraction: float, seed: int) -> np.ndarray:
    """N bool: round(fraction * n) instances (at least one when fraction > 0) carry locations."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"location_fraction must be in [0, 1], got {fraction}")
    mask = np.zeros(n, bool)
    if fraction <= 0.0 or n == 0:
        return mask
    count = n if fraction >= 1.0 else max(1, int(round(fraction * n)))
    mask[_rng(seed, "labelled").permutation(n)[:count]] = True
    return mask
