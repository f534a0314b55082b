"""Keypoint error categories after Ronchi and Perona (the paper's [34]; coco-analyze), on arrays.

For each visible ground-truth joint j of an evaluated instance a, with the dataset's location
threshold t_a (the one its location metric uses: 0.1 x the box's longer side for COCO-style
PCK@0.1, 0.5 x the head size for MPII PCKh), the prediction p = pred[a, j] falls in the first
category that applies:

- `good`: ||p - gt[a, j]|| <= t_a (exactly the location metric's notion of correct);
- `jitter`: ||p - gt[a, j]|| <= 2 t_a (near the right joint, not near enough);
- `inversion`: within t_a of the same person's joint of the other side (j's flip partner, when
  labelled); a joint without a side cannot be inverted;
- `swap`: within t_a of joint j, or of its other-side counterpart, of another annotated person
  of the same image (their labelled joints);
- `miss`: anything else, including an instance that no prediction was matched to.

coco-analyze defines the categories by OKS bands; here the bands are the location metric's
threshold and twice it, so that `good` is the location metric itself on every dataset and the
other categories split its errors. Fractions are over the visible joints and sum to 1.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CATEGORIES = ("good", "jitter", "inversion", "swap", "miss")
NOT_COUNTED = -1


@dataclass
class MatchedJoints:
    """Annotations of the evaluated instances, each with the prediction matched to it.

    gt N x K x 2, labelled N x K (v > 0: a joint the annotation places), visible N x K (the joints
    that are scored), norm N (the threshold's unit: box side or head size; NaN = not scorable),
    image N (image id: who shares an image), pred N x K x 2 (NaN where no prediction matched).
    """

    gt: np.ndarray
    labelled: np.ndarray
    visible: np.ndarray
    norm: np.ndarray
    image: np.ndarray
    pred: np.ndarray


def categorise(m: MatchedJoints, thr: float, flip_pairs: tuple[tuple[int, int], ...]) -> np.ndarray:
    """N x K category codes (index into CATEGORIES), NOT_COUNTED where the joint is not visible."""
    n, k = m.visible.shape
    t = (thr * np.asarray(m.norm, dtype=np.float64))[:, None]  # N x 1
    pred = np.asarray(m.pred, dtype=np.float64)
    gt = np.asarray(m.gt, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        own = np.linalg.norm(pred - gt, axis=-1)  # N x K, NaN where unmatched
        good, jitter = own <= t, own <= 2 * t
    partner = np.arange(k)
    for a, b in flip_pairs:
        partner[a], partner[b] = b, a
    sided = partner != np.arange(k)
    with np.errstate(invalid="ignore"):
        to_partner = np.linalg.norm(pred - gt[:, partner], axis=-1)
        inversion = sided[None, :] & m.labelled[:, partner] & (to_partner <= t)
    swap = np.zeros((n, k), dtype=bool)
    images = np.asarray(m.image)
    for img in np.unique(images):
        rows = np.flatnonzero(images == img)
        if rows.size < 2:
            continue
        for a in rows:
            for b in rows:
                if a == b:
                    continue
                for target in (np.arange(k), partner):
                    with np.errstate(invalid="ignore"):
                        d = np.linalg.norm(pred[a] - gt[b, target], axis=-1)
                        swap[a] |= m.labelled[b, target] & (d <= t[a])
    codes = np.full((n, k), CATEGORIES.index("miss"), dtype=np.int64)
    # the first that applies wins: assign from the last category to the first
    for name, hit in (("swap", swap), ("inversion", inversion), ("jitter", jitter), ("good", good)):
        codes[hit] = CATEGORIES.index(name)
    codes[~np.asarray(m.visible, bool)] = NOT_COUNTED
    return codes


def summarise(codes: np.ndarray, joint_names: tuple[str, ...]) -> dict[str, dict]:
    """{"overall": {category: fraction}, "joints": {name: {category: fraction}}} (None: no joint)."""
    def fractions(c: np.ndarray) -> dict[str, float | None]:
        c = c[c != NOT_COUNTED]
        if c.size == 0:
            return {name: None for name in CATEGORIES}
        counts = np.bincount(c, minlength=len(CATEGORIES))
        return {name: float(counts[i] / c.size) for i, name in enumerate(CATEGORIES)}

    return {"overall": fractions(codes.ravel()),
            "joints": {name: fractions(codes[:, j]) for j, name in enumerate(joint_names)}}
