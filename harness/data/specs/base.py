"""The `KeypointSpec` dataclass: everything the harness knows of one dataset -- its keypoints
(names, symmetry, graph), its metric family, its file format and layout, its synthetic twin."""
from __future__ import annotations

from dataclasses import dataclass, field

from harness.data.specs.evaluators import Evaluator
from harness.data.specs.formats import AnnotationFormat
from harness.data.specs.twin import TwinStyle


@dataclass(frozen=True)
class DatasetLayout:
    """Where a dataset's files sit under its root, as distributed (defaults for empty config paths)."""

    train_ann: str
    val_ann: str
    train_images: str
    val_images: str


@dataclass(frozen=True)
class KeypointSpec:
    """Facts about one dataset: the only place that says how datasets differ.

    Attributes:
        name: dataset kind, its key in `SPECS` (``DatasetConfig.kind``, ``--dataset``).
        title: the dataset's name as the report and notes write it (``COCO``, ``MPII``).
        joints: joint names, index = channel of every K-sized tensor in the harness.
        flip_pairs: (left, right) index pairs swapped by a horizontal flip.
        skeleton: 0-based undirected edges of the kinematic tree (RePPG's graph, drawing).
        sigmas: OKS sigmas per joint (COCO-style datasets), ``None`` for MPII.
        evaluator: the metric family that scores it, with the dataset's parameters
            (`harness/data/specs/evaluators.py`: `OksAP`, `Pckh`).
        files: the annotation file format (`harness/data/specs/formats.py`: `CocoJson`, `MpiiJson`):
            its reader, and the writer of its synthetic twin.
        twin: how the synthetic twin looks and names its images (`harness/data/specs/twin.py`).
        primary_metric: the metric name that the tables and the runner's progress show.
        location_metric: the metric that decides whether a model localises better than the
            mean-pose reference (the report's "not above the mean pose" warning). COCO-style
            datasets use box PCK@0.1 because OKS AP is 0 for every model at 64 x 48 crops.
        response_groups: Table 7's joint groups (Ear, Eye, Nose, Head, Sho, ...), only the
            groups the dataset has.
        pckh_groups: MPII's Table 2 groups (Head, Shoulder, ...), empty for other datasets.
        table_columns: the metric columns (header, metric name) of a study table on this dataset
            when the table declares none of its own for it (`harness/tables/`).
        published_train_instances: training instances of the real dataset, for `harness plan`'s
            estimate when the annotation file is not on disk.
        layout: the standard file layout under the dataset root (annotation files, image folders).
        upper_body: joints of the upper body for half-body augmentation (the rest is the lower
            body); empty where the paper does not use half-body augmentation.
    """

    name: str
    title: str
    joints: tuple[str, ...]
    flip_pairs: tuple[tuple[int, int], ...]
    skeleton: tuple[tuple[int, int], ...]
    sigmas: tuple[float, ...] | None
    evaluator: Evaluator
    files: AnnotationFormat
    twin: TwinStyle
    primary_metric: str
    location_metric: str
    response_groups: dict[str, tuple[int, ...]] = field(default_factory=dict)
    pckh_groups: dict[str, tuple[int, ...]] = field(default_factory=dict)
    table_columns: tuple[tuple[str, str], ...] = ()
    published_train_instances: int = 0
    layout: DatasetLayout | None = None
    upper_body: tuple[int, ...] = ()

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    def flip_permutation(self) -> list[int]:
        """Index permutation that maps joint i to its mirror joint (identity for centre joints)."""
        perm = list(range(self.num_joints))
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm

    def __post_init__(self) -> None:
        k = len(self.joints)
        for a, b in self.flip_pairs + self.skeleton:
            if not (0 <= a < k and 0 <= b < k):
                raise ValueError(f"{self.name}: joint index out of range in {(a, b)}")
        if any(not 0 <= j < k for j in self.upper_body):
            raise ValueError(f"{self.name}: upper_body joint index out of range")
        if self.sigmas is not None and len(self.sigmas) != k:
            raise ValueError(f"{self.name}: {len(self.sigmas)} sigmas for {k} joints")
        self.evaluator.check(self)
