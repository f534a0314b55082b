"""Speed of the data layer: the training pipeline against bare JPEG decoding, and synthetic twins.

- Pipeline: iterating a `harness.data.build_dataset` training set (decode + augmented affine crop
  + labels, and heatmaps in the `full` regime) at 256x192 over a synthetic COCO twin (JPEG files
  of 288x384, quality 92), and over the real COCO images of ../shared/data/samples (skipped
  without them; 4 images of ~640x480, whose decode costs more beside the same crop work),
  against `cv2.imread` (the flags `harness.data.images.read_image` uses) of the image of every
  instance. The two alternate instance by instance (decode image i, then produce
  sample i), each timed by hand, so that load from other processes on this machine hits both
  alike; pytest-benchmark's round time is the sum of both, the rates come from the split
  timers (wall and CPU time). Target: pipeline / decode >= 0.7.
- Twins: `write_twin` per dataset layout at its own image size (COCO 288x384, MPII and CrowdPose
  256x320), and a twin image at 256x192 (a scene in the COCO style on a 256x192 canvas, JPEG
  encoded as `write_twin` does), on one thread (cv2 and torch). Target: >= 300 img/s on one core
  at 256x192, checked on img/s per CPU second of this process (`time.process_time`): what one
  core does while the machine's cores are shared; the wall-clock img/s is recorded beside it.
"""
from __future__ import annotations

import dataclasses
import time
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from harness.config import DatasetConfig
from harness.data.build import build_dataset
from harness.data.specs import SPECS
from harness.data.synth import TwinParams, ensure_twin, write_twin
from harness.data.synth.scene import render_scene
from harness.data.synth.twin import JPEG_QUALITY

INPUT = (256, 192)
TWIN_IMAGES = 60  # a COCO twin of 60 images holds ~100 person instances
ROUNDS = 5
TARGET_PIPELINE_RATIO = 0.7
TARGET_TWIN_IMG_PER_S = 300.0


@pytest.fixture(scope="module")
def coco_twin(twin_cache) -> DatasetConfig:
    paths = ensure_twin(TwinParams("coco", TWIN_IMAGES, 4, 0), twin_cache)
    return DatasetConfig(name="coco_synth", kind="coco", **paths)


@pytest.fixture
def coco_samples(samples) -> DatasetConfig:
    """The 4 real COCO val2017 images (14 people) of ../shared/data/samples (skips without them)."""
    return DatasetConfig(name="coco_samples", kind="coco", root=str(samples / "coco"), train_ann="test_coco.json",
                         val_ann="test_coco.json", train_images=".", val_images=".")


@pytest.mark.parametrize(("source", "regime"), [("twin", "location_free"), ("twin", "full"),
                                                ("samples", "location_free")])
def test_pipeline_against_bare_decode(benchmark, figures, one_core, request, source, regime):
    benchmark.group = "data-pipeline"
    dataset = request.getfixturevalue("coco_twin" if source == "twin" else "coco_samples")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = build_dataset(dataset, "train", INPUT, augment=True,
                           location_fraction=1.0 if regime == "full" else 0.0, seed=0)
    # the 14 real instances go round 4 times per round (a round of ~50 instances, as on the twin)
    order = list(range(len(ds))) * (4 if source == "samples" else 1)
    n = len(order) if not benchmark.disabled else 8
    paths = [str(ds.table.image_paths[ds.table.image_index[i]]) for i in order[:n]]
    decode_s: list[float] = []
    pipeline_s: list[float] = []
    decode_cpu: list[float] = []
    pipeline_cpu: list[float] = []

    def interleaved() -> list[dict]:
        # Why per instance: a burst of load from another process then hits both sides alike.
        np.random.seed(0)  # the augmentation draws from numpy's global generator
        out, wall, cpu = [], [0.0, 0.0], [0.0, 0.0]
        for i in range(n):
            t0, c0 = time.perf_counter(), time.process_time()
            cv2.imread(paths[i], cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
            t1, c1 = time.perf_counter(), time.process_time()
            out.append(ds[order[i]])
            t2, c2 = time.perf_counter(), time.process_time()
            wall[0], wall[1], cpu[0], cpu[1] = wall[0] + t1 - t0, wall[1] + t2 - t1, cpu[0] + c1 - c0, cpu[1] + c2 - c1
        decode_s.append(wall[0])
        pipeline_s.append(wall[1])
        decode_cpu.append(cpu[0])
        pipeline_cpu.append(cpu[1])
        return out

    samples = benchmark.pedantic(interleaved, rounds=ROUNDS, warmup_rounds=1, iterations=1)

    assert len(samples) == n
    h, w = INPUT
    for s in samples:
        assert s["image"].shape == (3, h, w) and s["labels"].shape == (ds.spec.num_joints,)
        assert set(s["labels"].unique().tolist()) <= {0.0, 1.0}
        if regime == "full":
            assert s["heatmaps"].shape == (ds.spec.num_joints, h // 4, w // 4)
            assert (s["target_weight"] == s["labels"]).all()
        else:
            assert "heatmaps" not in s and "meta" not in s  # location-free: no coordinates at all
    figures.record(benchmark, f"data/pipeline-{source}-{regime}", n, "items_per_s", seconds=pipeline_s[-ROUNDS:],
                   cpu_seconds=pipeline_cpu[-ROUNDS:], baseline="bare JPEG decode (cv2.imread)",
                   baseline_seconds=decode_s[-ROUNDS:], baseline_cpu_seconds=decode_cpu[-ROUNDS:],
                   target=("ratio", ">=", TARGET_PIPELINE_RATIO), input_size=list(INPUT), regime=regime,
                   images=dataset.name, image_sizes=sorted({tuple(cv2.imread(p).shape[:2]) for p in set(paths)}),
                   instances=n)


@pytest.mark.parametrize("kind", ["coco", "mpii", "crowdpose"])
def test_twin_generation(benchmark, figures, one_core, tmp_path, kind):
    benchmark.group = "synthetic-twins"
    num_images, num_val = (8, 1) if benchmark.disabled else (100, 4)
    cpu_s: list[float] = []
    folders = iter(range(10**6))

    def generate() -> Path:
        out = tmp_path / f"twin{next(folders)}"
        c0 = time.process_time()
        write_twin(TwinParams(kind, num_images, num_val, 0), out)
        cpu_s.append(time.process_time() - c0)
        return out

    out = benchmark.pedantic(generate, rounds=ROUNDS, warmup_rounds=0, iterations=1)

    files = sorted(p for p in out.rglob("*.jpg"))
    assert len(files) == num_images + num_val
    height, width = SPECS[kind].twin.scene.size
    first = cv2.imread(str(files[0]))
    assert first is not None and first.shape == (height, width, 3)
    figures.record(benchmark, f"twin/{kind}-{height}x{width}", num_images + num_val, "img_per_s",
                   cpu_seconds=cpu_s, target=("img_per_s_by_cpu_time", ">=", TARGET_TWIN_IMG_PER_S),
                   image_size=[height, width])


def test_twin_image_at_256x192(benchmark, figures, one_core):
    benchmark.group = "synthetic-twins"
    style = dataclasses.replace(SPECS["coco"].twin.scene, size=INPUT)
    count = 8 if benchmark.disabled else 200
    cpu_s: list[float] = []

    def images() -> list[bytes]:
        c0 = time.process_time()
        out = []
        for i in range(count):
            image, _ = render_scene(np.random.default_rng((0, 0, i)), style)
            ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            assert ok
            out.append(encoded.tobytes())
        cpu_s.append(time.process_time() - c0)
        return out

    encoded = benchmark.pedantic(images, rounds=ROUNDS, warmup_rounds=0, iterations=1)

    assert len(encoded) == count
    decoded = cv2.imdecode(np.frombuffer(encoded[0], np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (*INPUT, 3)
    assert len(set(encoded)) == count  # every image is its own scene
    figures.record(benchmark, f"twin/image-{INPUT[0]}x{INPUT[1]}", count, "img_per_s",
                   cpu_seconds=cpu_s, target=("img_per_s_by_cpu_time", ">=", TARGET_TWIN_IMG_PER_S),
                   image_size=list(INPUT))
