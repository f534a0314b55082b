"""The metric families a spec declares (`KeypointSpec.evaluator`): how its predictions are scored.

- `OksAP`: keypoint AP by OKS with the spec's sigmas, on COCO-format files (pycocotools' COCO
  protocol, or xtcocotools' CrowdPose protocol with `crowd`), and box PCK@0.1 as the location
  metric (`harness/evaluation/oks_family.py`);
- `Pckh`: MPII's PCKh, standard with the head boxes of `mpii_gt_val.mat`, else with head sizes
  estimated from two head joints (`harness/evaluation/pckh_family.py`).

A declaration holds the family's parameters and light facts (whether it takes head boxes, the
notes its results need); `scorer()` imports the implementation when called, because
`harness.data.specs` is read by `harness plan` and `harness report`, which load no evaluation
library.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Sequence

if TYPE_CHECKING:
    from harness.data.specs.base import KeypointSpec
    from harness.evaluation.scoring import Scorer


class Evaluator(Protocol):
    """What the harness asks of a dataset's metric family."""

    takes_head_boxes: ClassVar[bool]  # `DatasetConfig.head_boxes` / `--head-boxes` mean something to it
    by_image_ids: ClassVar[bool]  # a capped validation set is scored on its images' ids (else: on its predictions)

    def scorer(self) -> Scorer:
        """The implementation (`harness.evaluation.scoring.Scorer`)."""
        ...

    def check(self, spec: KeypointSpec) -> None:
        """ValueError when `spec` lacks what the family needs (called when the spec is made)."""
        ...

    def report_notes(self, spec: KeypointSpec, items: Sequence[Any]) -> list[str]:
        """Notes the report shows beside completed results of `spec`'s dataset (`TrialRecord`s or
        `Reference`s: their `.evaluation`, metrics.json's record of how they were computed)."""
        ...

    def command_notes(self, spec: KeypointSpec, head_boxes: str | None) -> list[str]:
        """Notes `harness evaluate` prints on stderr beside its metrics."""
        ...


@dataclass(frozen=True)
class OksAP:
    """Keypoint AP by OKS with the spec's `sigmas` on COCO-format files, and box PCK@0.1.

    `crowd`: CrowdPose's protocol (xtcocotools' 'keypoints_crowd': no area ranges; AP(E), AP(M),
    AP(H) by the images' `crowdIndex`, which the annotation file must carry) instead of COCO's
    (pycocotools' 'keypoints', whose area ranges read each annotation's `area`).
    """

    crowd: bool = False
    takes_head_boxes: ClassVar[bool] = False
    by_image_ids: ClassVar[bool] = True

    def scorer(self) -> Scorer:
        from harness.evaluation.oks_family import OksFamily  # numpy, pycocotools: not for `harness plan`

        return OksFamily(self)

    def check(self, spec: KeypointSpec) -> None:
        if spec.sigmas is None:
            raise ValueError(f"{spec.name}: OKS AP needs the joints' sigmas")

    def report_notes(self, spec: KeypointSpec, items: Sequence[Any]) -> list[str]:
        return []

    def command_notes(self, spec: KeypointSpec, head_boxes: str | None) -> list[str]:
        return []


@dataclass(frozen=True)
class Pckh:
    """MPII's PCKh (groups: `KeypointSpec.pckh_groups`; `Mean`, `Mean@0.1` over every joint but
    `mean_without`). Standard with the head boxes of `mpii_gt_val.mat`; without them each head
    size comes from the distance of the two joints `head` (top of the head, upper neck)."""

    head: tuple[int, int]
    mean_without: tuple[int, ...]
    takes_head_boxes: ClassVar[bool] = True
    by_image_ids: ClassVar[bool] = False  # PCKh scores the predicted annotations themselves

    def mean_joints(self, num_joints: int) -> tuple[int, ...]:
        """The joints that `Mean` (and the location metric) pools."""
        return tuple(j for j in range(num_joints) if j not in self.mean_without)

    def scorer(self) -> Scorer:
        from harness.evaluation.pckh_family import PckhFamily  # numpy, scipy.io: not for `harness plan`

        return PckhFamily(self)

    def check(self, spec: KeypointSpec) -> None:
        if any(not 0 <= j < spec.num_joints for j in self.head + self.mean_without):
            raise ValueError(f"{spec.name}: PCKh joint index out of range")

    def report_notes(self, spec: KeypointSpec, items: Sequence[Any]) -> list[str]:
        """One note when any of `items` has PCKh that is not the standard one (`head_size_source`
        "joints", or a folder written before the source was recorded); else none."""
        estimated = [x for x in items if (x.evaluation or {}).get("head_size_source") != "mat"]
        if not estimated:
            return []
        return [f"Non-standard PCKh: {len(estimated)} of {len(items)} {spec.title} results here use head sizes "
                "estimated from the joints (no mpii_gt_val.mat: set the dataset's head_boxes), or do not record "
                f"their head size source; they are not comparable with published {spec.title} PCKh."]

    def command_notes(self, spec: KeypointSpec, head_boxes: str | None) -> list[str]:
        if head_boxes is not None:
            return []
        return [f"PCKh head sizes estimated from the joints (not the standard {spec.title} evaluation; pass "
                "--head-boxes mpii_gt_val.mat)"]
