"""The losses of Sec. 3.5 (Eqs. 11-15) as a dict of unweighted terms, and their weights.

Terms (a term whose module or labels are absent is absent, not zero):
    cls_cnn, cls_encoder, cls_decoder  Eq. 12: BCE of each logit set against the image-level
                                       multi-hot labels, mean over keypoints and images
                                       (absent when `cls_losses` is False: Table 4's Sup-only)
    div                                Eq. 11: mean pairwise cosine similarity of the part
                                       features over i != j, mean over images (only with PDC);
                                       with `pdc_on="response_maps"` (a reading) of the response
                                       maps R_i over the memory's positions instead
    mirror                             beyond the paper (`mirror_pairs` given): the overlap of
                                       each left/right pair's class maps, mean over the pairs
                                       both labelled in an image (`mirror_overlap`)
    mse                                Eq. 14: only when the batch has heatmaps and some
                                       instance carries location labels (`location_mask`)
Weights (`weight_dict`): alpha, alpha1, alpha2, beta (Eq. 13), mse_weight (Eq. 15 has 1),
mirror_weight.
The total is `criterion.total(terms)`, one weighted sum.

Eq. 14 details: each response map is divided by its maximum (the targets are Gaussians of peak
1, attention maps are not); the squared error is summed over the grid cells of the map (the
squared L2 distance of the two maps), weighted by `target_weight` (0 for joints without a
location), and averaged over keypoints ((1/C) sum_c) and over the labelled instances only.

Why a sum over the grid, where "MSE" could also mean a mean over it: Eq. 15 adds the term to
L_weak with weight 1, and a per-cell mean makes it resolution-dependent and tiny (about 0.03 at
a 16 x 12 grid against ~0.4 for the weighted BCE terms). Measured on the COCO twin (64x48, 4,800
samples, baseline with classification losses): with the per-cell mean the BCE terms dominate the
shared parameters and PCK@0.1 stayed at 0.24, below the mean pose (0.40); with the sum it
reached that of the MSE-only model (PCK normalised by the crop height, a one-off script). The
per-cell mean is `mse_weight = 1 / (h * w)`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.choices import PDC_TARGETS


def classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Eq. 12: (1/K) sum_c BCE(o_c, o*_c), averaged over the batch."""
    return F.binary_cross_entropy_with_logits(logits.float(), labels.float())


def part_diversity(part_features: torch.Tensor) -> torch.Tensor:
    """Eq. 11 over i != j: mean pairwise cosine similarity of B x K x d part features (or of any
    B x K x n vectors: the response maps B x K x L under the "response_maps" reading), batch mean."""
    f = F.normalize(part_features.float(), dim=-1, eps=1e-8)
    k = f.shape[1]
    cos = torch.matmul(f, f.transpose(1, 2))
    off_diagonal = cos.sum(dim=(1, 2)) - cos.diagonal(dim1=1, dim2=2).sum(dim=1)
    return (off_diagonal / (k * (k - 1))).mean()


def mirror_overlap(class_maps: torch.Tensor, labels: torch.Tensor, pairs: tuple[tuple[int, int], ...],
                   r: float) -> torch.Tensor:
    """The cosine of the spatial softmaxes softmax_p(r S_a(p)) and softmax_p(r S_b(p)) of each
    left/right pair (a, b) of B x K x h x w class maps S, mean over the (image, pair) cases whose
    two labels are 1 (0, still on the graph, when there is none).

    Why the softmax at r: it is what the LSE pooling of sharpness r reads (d LSE / d S_p is
    softmax_p(r S)), so the term asks the two maps to be read at different places; 1 for two maps
    that peak alike, 0 for disjoint ones. Why only both labelled: a pair with a joint hidden has
    one map with nothing to find.
    """
    p = torch.softmax(r * class_maps.float().flatten(2), dim=2)  # B x K x L
    a, b = (torch.tensor(side, device=class_maps.device) for side in zip(*pairs))
    cos = F.cosine_similarity(p[:, a], p[:, b], dim=2, eps=1e-12)  # B x P
    both = (labels[:, a] > 0) & (labels[:, b] > 0)
    return (cos * both).sum() / both.sum().clamp_min(1)


def response_mse(responses: torch.Tensor, heatmaps: torch.Tensor, target_weight: torch.Tensor,
                 location_mask: torch.Tensor) -> torch.Tensor:
    """Eq. 14 on the instances of `location_mask`: max-normalised responses vs Gaussian targets,
    squared error summed over the grid, mean over keypoints and instances (module docstring)."""
    if responses.shape != heatmaps.shape:
        raise ValueError(f"responses {tuple(responses.shape)} and heatmaps {tuple(heatmaps.shape)} differ")
    r = responses[location_mask].float()
    peak = r.flatten(2).amax(dim=2).clamp_min(1e-12)[..., None, None]
    err = ((r / peak - heatmaps[location_mask].float()) ** 2).sum(dim=(2, 3))  # n x K
    return (err * target_weight[location_mask].float()).mean()


class LOFRCriterion(nn.Module):
    def __init__(self, alpha: float, alpha1: float, alpha2: float, beta: float, mse_weight: float,
                 cls_losses: bool = True, pdc: bool = True, pdc_on: str = "part_features",
                 mirror_pairs: tuple[tuple[int, int], ...] | None = None, mirror_weight: float = 0.0,
                 mirror_r: float = 1.0):
        """pdc_on: what Eq. 11 compares, "part_features" (literal) or "response_maps" (the
        outputs' `attention`, B x K x L; harness/paper/readings.py, passage "pdc_on").
        mirror_pairs: the (left, right) joint pairs of the term `mirror` (beyond the paper; None:
        no such term), weighted by `mirror_weight`, its softmax at `mirror_r` (`mirror_overlap`)."""
        super().__init__()
        if pdc_on not in PDC_TARGETS:
            raise ValueError(f"pdc_on must be one of {PDC_TARGETS}, got {pdc_on!r}")
        if mirror_pairs is not None and not mirror_pairs:
            raise ValueError("mirror_pairs is empty: the dataset declares no left/right pairs")
        self.mirror_pairs, self.mirror_r = (tuple(tuple(p) for p in mirror_pairs) if mirror_pairs else None), mirror_r
        self.cls_losses, self.pdc = cls_losses, pdc
        self.pdc_source = "part_features" if pdc_on == "part_features" else "attention"
        self.weight_dict: dict[str, float] = {}
        if cls_losses:
            self.weight_dict.update(cls_cnn=alpha, cls_encoder=alpha1, cls_decoder=alpha2)
        if pdc:
            self.weight_dict["div"] = beta
        if self.mirror_pairs is not None:
            self.weight_dict["mirror"] = mirror_weight
        self.weight_dict["mse"] = mse_weight

    def forward(self, outputs: dict, targets: dict) -> dict[str, torch.Tensor]:
        """outputs: the model's dict; targets: `labels` B x K, optionally `heatmaps`
        B x K x H/4 x W/4, `target_weight` B x K, `location_mask` B (bool)."""
        terms: dict[str, torch.Tensor] = {}
        if self.cls_losses:
            labels = targets["labels"]
            for name in ("cnn", "encoder", "decoder"):
                terms[f"cls_{name}"] = classification_loss(outputs["logits"][name], labels)
        if self.pdc:
            terms["div"] = part_diversity(outputs[self.pdc_source])
        if self.mirror_pairs is not None:
            terms["mirror"] = mirror_overlap(outputs["class_maps"], targets["labels"], self.mirror_pairs, self.mirror_r)
        heatmaps = targets.get("heatmaps")
        if heatmaps is not None:
            mask = targets.get("location_mask")
            if mask is None:
                mask = torch.ones(heatmaps.shape[0], dtype=torch.bool, device=heatmaps.device)
            mask = mask.bool()
            if bool(mask.any()):
                weight = targets.get("target_weight")
                if weight is None:
                    weight = torch.ones(heatmaps.shape[:2], device=heatmaps.device)
                terms["mse"] = response_mse(outputs["responses"], heatmaps, weight, mask)
        return terms

    def total(self, terms: dict[str, torch.Tensor], weights: dict[str, float] | None = None) -> torch.Tensor:
        """Eqs. 13 / 15: the one weighted sum of the terms, by `weights` (default `weight_dict`; the
        training loop passes an epoch's own, e.g. PDC's weight 0 before a late onset)."""
        weights = self.weight_dict if weights is None else weights
        return sum(weights[name] * value for name, value in terms.items())
