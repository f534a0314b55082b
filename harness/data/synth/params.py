"""`TwinParams`: every parameter that shapes a synthetic twin, as one object.

`write_twin` draws a twin from it, and the twin cache (`ensure_twin`) names its folder by a hash
of all of its fields plus the generator's version and JPEG quality (`cache_key`), so that no twin
is ever read as another's: a new knob added here is part of the key without further change.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from harness.data.specs import spec_of
from harness.data.synth import scene

GENERATOR_VERSION = 2  # bump when the drawing changes: cached twins are keyed by it
JPEG_QUALITY = 92


def default_num_val(num_images: int) -> int:
    return max(4, num_images // 4)


@dataclass(frozen=True)
class TwinParams:
    """A twin of dataset `kind`: `num_images` training and `num_val` validation images, `seed`
    (the validation images' own `val_seed` where given: same training images, other validation ones)."""

    kind: str
    num_images: int
    num_val: int = 0  # 0: default_num_val(num_images)
    seed: int = 0
    val_seed: int | None = None

    def __post_init__(self) -> None:
        if not self.num_val:
            object.__setattr__(self, "num_val", default_num_val(self.num_images))

    @classmethod
    def of(cls, dataset: Any) -> "TwinParams":
        """The twin a synthetic `DatasetConfig` describes."""
        return cls(kind=dataset.kind, num_images=dataset.synth_images, num_val=dataset.synth_val_images or 0,
                   seed=dataset.synth_seed, val_seed=dataset.synth_val_seed)

    def split_seed(self, split: str) -> int:
        """The seed that draws `split`'s images."""
        return self.val_seed if split == "val" and self.val_seed is not None else self.seed

    def manifest(self) -> dict[str, Any]:
        """Every parameter, with the generator's own (what twin.json records and the key hashes):
        the scene settings of the kind (its spec's `twin.scene`: sizes, people, truncation ranges,
        occluder rate) and the chance that an occluded joint is still annotated are in it, so a change of
        any of them makes another twin."""
        fields = dataclasses.asdict(self)
        if self.val_seed is None:
            del fields["val_seed"]  # twins without one keep the cache key they had before it existed
        return {**fields, "generator_version": GENERATOR_VERSION, "jpeg_quality": JPEG_QUALITY,
                "scene": dataclasses.asdict(spec_of(self.kind).twin.scene),
                "occluded_labelled": scene.OCCLUDED_LABELLED}

    def cache_key(self) -> str:
        """The twin's cache folder name: readable parameters and a hash of all of them."""
        digest = hashlib.sha256(json.dumps(self.manifest(), sort_keys=True).encode()).hexdigest()[:10]
        val = "" if self.val_seed is None else f"-vs{self.val_seed}"
        return f"{self.kind}-n{self.num_images}-v{self.num_val}-s{self.seed}{val}-{digest}"
