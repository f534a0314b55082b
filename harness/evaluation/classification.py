"""The ladder's first link: how well an image-level logit head predicts which joints are visible.

Pure functions on arrays. `labels` N x K in {0, 1} (the image-level labels of the validation
crops: joint labelled and inside the crop, as in training), `probs` N x K in [0, 1].

- `mAP`: the mean over joints of the average precision of the labels under the scores
  (scikit-learn's `average_precision_score`); a joint whose validation labels are all one class
  has no precision-recall curve and is left out; `joints_scored` says how many were scored;
- `accuracy`: the fraction of the N x K labels that `probs >= 0.5` gets right;
- `chance_mAP`: the mean positive rate of the scored joints (the AP of a scorer that knows
  nothing: precision equals the positive rate at every recall);
- `chance_accuracy`: the accuracy of always answering each joint's majority label;
- `gain`: (mAP - chance_mAP) / (1 - chance_mAP), the share of the possible improvement over
  chance that the head reached (None when nothing can be gained).
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score

THRESHOLD = 0.5


def classification_metrics(labels: np.ndarray, probs: np.ndarray) -> dict[str, float | int | None]:
    """{mAP, accuracy, chance_mAP, chance_accuracy, gain, joints_scored} (None where undefined)."""
    labels = np.asarray(labels, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    if labels.shape != probs.shape or labels.ndim != 2:
        raise ValueError(f"labels {labels.shape} and probs {probs.shape} must both be N x K")
    positive = labels > 0.5
    n = labels.shape[0]
    if n == 0:
        return {"mAP": None, "accuracy": None, "chance_mAP": None, "chance_accuracy": None, "gain": None,
                "joints_scored": 0}
    rate = positive.mean(axis=0)
    scored = np.flatnonzero((rate > 0) & (rate < 1))
    aps = [average_precision_score(positive[:, j], probs[:, j]) for j in scored]
    m_ap = float(np.mean(aps)) if aps else None
    chance_map = float(rate[scored].mean()) if scored.size else None
    gain = None
    if m_ap is not None and chance_map is not None and chance_map < 1.0:
        gain = (m_ap - chance_map) / (1.0 - chance_map)
    return {
        "mAP": m_ap,
        "accuracy": float(((probs >= THRESHOLD) == positive).mean()),
        "chance_mAP": chance_map,
        "chance_accuracy": float(np.maximum(rate, 1.0 - rate).mean()),
        "gain": gain,
        "joints_scored": int(scored.size),
    }
