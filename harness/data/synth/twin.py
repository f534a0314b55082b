"""`write_twin`: a synthetic dataset in the real layout of its dataset (COCO, MPII, CrowdPose, ...).

What differs between datasets is the spec's: the scene and the image naming (`spec.twin`), the
annotation writer (`spec.files.twin_writer`), the file layout (`spec.layout`).

Image i of a split is drawn from its own generator, seeded by (seed, split, i) (the validation
split's own seed where `TwinParams.val_seed` is given), so a file depends
only on the parameters (byte-identical on rerun; generating in any order gives the same twin).
JPEG quality is fixed and the json has no time stamps. `synth_main` is the `harness synth` command.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from harness.atomic import atomic_write
from harness.data.specs import SPECS, spec_of
from harness.data.synth.params import JPEG_QUALITY, TwinParams
from harness.data.synth.scene import render_scene
from harness.errors import UserError

_SPLIT_CODE = {"train": 0, "val": 1}
Progress = Callable[[int, int], None]


def layout_paths(kind: str, root: Path) -> dict[str, str]:
    """DatasetConfig kwargs: the absolute root and the spec's standard relative paths."""
    layout = SPECS[kind].layout
    return {"root": str(root), "train_ann": layout.train_ann, "val_ann": layout.val_ann,
            "train_images": layout.train_images, "val_images": layout.val_images}


def write_twin(params: TwinParams, out_dir: Path, progress: Progress | None = None) -> dict[str, str]:
    """Write the twin `params` describes (its training and validation images with their
    annotations) under `out_dir`; return the DatasetConfig path kwargs (root absolute).

    Also writes `twin.json` (parameters and counts). `progress(done, total)` is called every
    250 images and at the end.
    """
    kind, num_images, num_val = params.kind, params.num_images, params.num_val
    spec = spec_of(kind)
    if num_images < 1:
        raise UserError(f"a twin needs at least one training image, got {num_images}")
    if num_val < 1:
        raise UserError(f"a twin needs at least one validation image, got {num_val}")
    out_dir = Path(out_dir).resolve()
    style = spec.twin
    paths = layout_paths(kind, out_dir)
    total, done = num_images + num_val, 0
    stats: dict[str, dict[str, int]] = {}
    for split, count in (("train", num_images), ("val", num_val)):
        image_dir = out_dir / paths[f"{split}_images"]
        image_dir.mkdir(parents=True, exist_ok=True)
        writer = spec.files.twin_writer(spec)
        instances = 0
        for i in range(count):
            image, people = render_scene(np.random.default_rng((params.split_seed(split), _SPLIT_CODE[split], i)),
                                         style.scene)
            image_id, name = style.image_name(_SPLIT_CODE[split], i)
            ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            if not ok:
                raise RuntimeError(f"cannot encode synthetic image {name}")
            (image_dir / name).write_bytes(encoded.tobytes())
            instances += writer.add(image_id, name, style.scene.size, people)
            done += 1
            if progress is not None and (done % 250 == 0 or done == total):
                progress(done, total)
        stats[split] = {"images": count, "instances": instances, "complete_instances": writer.complete}
        text = json.dumps(writer.document(), separators=(",", ":"))
        atomic_write(out_dir / paths[f"{split}_ann"], lambda fh, t=text: fh.write(t))
    manifest = {**params.manifest(), "splits": stats}
    atomic_write(out_dir / "twin.json", lambda fh: fh.write(json.dumps(manifest, indent=2)))
    return paths


def synth_main(dataset: str, out: str, num_images: int, num_val: int | None, seed: int) -> dict[str, str]:
    """`harness synth --dataset D --out DIR --num-images N [--num-val M] --seed S`."""
    if dataset not in SPECS:
        raise UserError(f"--dataset must be one of {', '.join(SPECS)}, got {dataset!r}")
    if num_val is not None and num_val < 1:
        raise UserError(f"--num-val must be >= 1, got {num_val}")
    out_dir = Path(out)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise UserError(f"{out_dir}: already exists and is not an empty folder (choose a new --out)")

    def report(done: int, total: int) -> None:
        print(f"synth {dataset}: {done}/{total} images", file=sys.stderr, flush=True)

    return write_twin(TwinParams(dataset, num_images, num_val or 0, seed), out_dir, progress=report)
