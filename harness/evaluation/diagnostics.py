"""Why link 3 fails: diagnostics of the decoder, pure functions on arrays (issue 20).

Per validation instance, from the network's outputs; reduced over the validation set by `summarise`:

- `attention_entropy`: each response map's entropy H over its L memory positions divided by
  log L (1 = uniform), mean over the visible joints; `uniform_fraction`: the share of those maps
  with 1 - H / log L <= `UNIFORM_TOL` (attention that has collapsed to uniform);
- `prototype_cos`: the mean pairwise |cos| of the K prototypes entering the decoder (i != j), mean
  over instances; `part_feature_cos`: the same for the part features F^p;
- `response_cam_agreement`: the share of visible joints whose response peak lies within one CAM
  cell (Chebyshev distance <= the CAM's stride in crop pixels) of the same joint's CAM peak;
  `response_cam_agreement_shuffled`: the same against the CAM peak of another joint, averaged
  over every non-identity cyclic shift of the joints (chance for these poses: exact, no draws);
- `decoder_weight_norm`: the L2 norm of every decoder parameter together (the trial adds it).

`flags` turns them into the names the report prints beside a failing row.
"""
from __future__ import annotations

import numpy as np

UNIFORM_TOL = 1e-3
# Where a diagnostic flags a failure (the report's words, in the order the mechanism runs):
COLLAPSED_UNIFORM_FRACTION = 0.5  # half the visible joints' maps are uniform
INDISTINCT_COS = 0.9  # prototypes (or part features) nearly parallel
FOLLOW_MARGIN = 0.05  # agreement with the CAMs no better than chance plus this
FLAG_NAMES = ("collapsed attention", "indistinct prototypes", "responses not following the CAMs")


def normalised_entropy(attention: np.ndarray) -> np.ndarray:
    """... x L distributions -> ... entropies H / log L (1 = uniform; 0 = one position)."""
    p = np.asarray(attention, np.float64)
    p = p / np.clip(p.sum(axis=-1, keepdims=True), 1e-300, None)
    logs = np.log(np.clip(p, 1e-300, None))
    h = -(p * logs).sum(axis=-1)
    return h / np.log(p.shape[-1])


def mean_abs_cos(vectors: np.ndarray) -> np.ndarray:
    """N x K x d -> N: mean |cos| over the K (K - 1) ordered pairs i != j of each instance."""
    v = np.asarray(vectors, np.float64)
    v = v / np.clip(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12, None)
    cos = np.abs(np.einsum("nkd,njd->nkj", v, v))
    k = v.shape[1]
    return (cos.sum(axis=(1, 2)) - np.trace(cos, axis1=1, axis2=2)) / (k * (k - 1))


def peak_positions(maps: np.ndarray, stride: int) -> np.ndarray:
    """N x K x h x w -> N x K x 2 (x, y) crop pixels of each map's argmax (grid point j at j * stride)."""
    m = np.asarray(maps)
    n, k, _, w = m.shape
    idx = m.reshape(n, k, -1).argmax(axis=-1)
    return np.stack([idx % w, idx // w], axis=-1).astype(np.float64) * stride


def peak_agreement(response_peaks: np.ndarray, cam_peaks: np.ndarray, visible: np.ndarray,
                   cell: float) -> tuple[np.ndarray, np.ndarray]:
    """N x K x 2 peaks (px), N x K visible -> per joint: agrees with its own CAM peak (N x K bool),
    and the share of the other joints' CAM peaks it agrees with, over the cyclic shifts (N x K)."""
    def near(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.abs(a - b).max(axis=-1) <= cell

    own = near(response_peaks, cam_peaks)
    k = response_peaks.shape[1]
    others = np.mean([near(response_peaks, np.roll(cam_peaks, -s, axis=1)) for s in range(1, k)], axis=0)
    return own & visible, others * visible


def summarise(entropy: np.ndarray, visible: np.ndarray, prototype_cos: np.ndarray, part_cos: np.ndarray,
              agree: np.ndarray, agree_shuffled: np.ndarray) -> dict[str, float | None]:
    """The diagnostics of one validation pass from the per-instance arrays (N x K for the joint
    ones, N for the cosines); a figure with nothing to average is None."""
    vis = np.asarray(visible, bool)
    n_vis = int(vis.sum())

    def over_visible(x: np.ndarray) -> float | None:
        return float(np.asarray(x, np.float64)[vis].mean()) if n_vis else None

    return {
        "attention_entropy": over_visible(entropy),
        "uniform_fraction": over_visible(1.0 - entropy <= UNIFORM_TOL),
        "prototype_cos": float(np.mean(prototype_cos)) if len(prototype_cos) else None,
        "part_feature_cos": float(np.mean(part_cos)) if len(part_cos) else None,
        "response_cam_agreement": over_visible(agree),
        "response_cam_agreement_shuffled": over_visible(agree_shuffled),
    }


def flags(d: dict) -> list[str]:
    """The names of the diagnostics that flag a failure (`FLAG_NAMES` order); [] where none does or
    the figures are missing."""
    def num(key: str) -> float | None:
        v = d.get(key)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    out = []
    if (num("uniform_fraction") or 0.0) >= COLLAPSED_UNIFORM_FRACTION:
        out.append(FLAG_NAMES[0])
    if max(num("prototype_cos") or 0.0, num("part_feature_cos") or 0.0) >= INDISTINCT_COS:
        out.append(FLAG_NAMES[1])
    agree, chance = num("response_cam_agreement"), num("response_cam_agreement_shuffled")
    if agree is not None and chance is not None and agree <= chance + FOLLOW_MARGIN:
        out.append(FLAG_NAMES[2])
    return out
