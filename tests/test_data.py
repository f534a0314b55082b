"""Loaders, crops and labels on the real samples (tests/data/samples) and on tiny twins.

Properties checked: every annotated instance is read and its joints come back to the json's
pixels through the crop and its inverse; cv2's warp agrees with our matrices; a flip mirrors the
image and moves a left joint into the right channel at the mirrored x; location-free samples and
batches hold no coordinates; labelled subsets are deterministic and of the right size; bad items
are skipped with a counted warning; bad paths are one-line `UserError`s naming the path.
"""
from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from harness.config import DatasetConfig
from harness.data.build import build_dataset
from harness.data.collate import collate_eval, collate_train
from harness.data.mean_pose import mean_pose
from harness.data.skips import DataSkipWarning
from harness.data.specs import SPECS
from harness.data.synth import TwinParams, ensure_twin
from harness.data.targets import gaussian_heatmaps
from harness.data.transforms import crop_to_image, flip_affine, get_affine, image_to_crop, warp_points
from harness.errors import UserError
from samples import SAMPLES

SAMPLE_FILES = {"coco": "coco/test_coco.json", "mpii": "mpii/test_mpii.json",
                "crowdpose": "crowdpose/test_crowdpose.json"}
SIZE = (256, 192)


@pytest.fixture(scope="module")
def sample_root() -> Path:
    return SAMPLES


def sample_config(root: Path, kind: str) -> DatasetConfig:
    folder, name = SAMPLE_FILES[kind].split("/")
    return DatasetConfig(name=f"{kind}_samples", kind=kind, root=str(root / folder), train_ann=name,
                         val_ann=name, train_images=".", val_images=".")


@pytest.fixture(scope="module")
def twin(tmp_path_factory) -> dict[str, DatasetConfig]:
    cache = tmp_path_factory.mktemp("data_twins")
    return {kind: DatasetConfig(name=f"{kind}_synth", kind=kind, **ensure_twin(TwinParams(kind, 12, 6, 0), cache))
            for kind in SPECS}


def quiet_build(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataSkipWarning)
        return build_dataset(*args, **kwargs)


def annotated_instances(kind: str, ann: Path) -> list[tuple[int, np.ndarray]]:
    """(index, K x 3 joints) of the annotations with a labelled joint, read straight from the json."""
    data = json.loads(ann.read_text())
    k = SPECS[kind].num_joints
    if kind == "mpii":
        return [(i, np.concatenate([np.asarray(a["joints"], float), np.asarray(a["joints_vis"], float)[:, None]], 1))
                for i, a in enumerate(data) if any(v > 0 for v in a["joints_vis"])]
    out = []
    for i, a in enumerate(data["annotations"]):
        kp = np.asarray(a["keypoints"], float).reshape(k, 3)
        if not a.get("iscrowd", 0) and (kp[:, 2] > 0).any():
            out.append((i, kp))
    return out


# -- the real samples ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["coco", "mpii", "crowdpose"])
def test_loaders_read_every_annotated_instance_and_joints_round_trip(sample_root, kind):
    cfg = sample_config(sample_root, kind)
    val = quiet_build(cfg, "val", SIZE, augment=False)
    expected = annotated_instances(kind, val.ann_path)
    assert [val.instance_meta(i)["index"] for i in range(len(val))] == [i for i, _ in expected]
    for i, (_, joints) in enumerate(expected):
        sample = val[i]
        meta = sample["meta"]
        assert sample["image"].shape == (3,) + SIZE and sample["image"].dtype == torch.float32
        labelled = joints[:, 2] > 0
        back = crop_to_image(meta["joints"][:, :2], meta["center"], meta["scale"], SIZE)
        np.testing.assert_allclose(back[labelled], joints[labelled, :2], atol=1e-3)
        np.testing.assert_array_equal(meta["joints"][:, 2], joints[:, 2])
        # the crop keeps the input aspect ratio and holds the padded box
        assert meta["scale"][0] / meta["scale"][1] == pytest.approx(SIZE[1] / SIZE[0])
        inside = (meta["joints"][:, 0] >= 0) & (meta["joints"][:, 0] < SIZE[1]) & \
                 (meta["joints"][:, 1] >= 0) & (meta["joints"][:, 1] < SIZE[0])
        np.testing.assert_array_equal(sample["labels"].numpy(), (labelled & inside).astype(np.float32))
    train = quiet_build(cfg, "train", SIZE, augment=True)
    assert len(train) == len(expected)
    assert val.spec is SPECS[kind] and val.ann_path.is_file()


def test_coco_skips_annotations_without_keypoints_with_a_counted_warning(sample_root):
    cfg = sample_config(sample_root, "coco")
    data = json.loads((sample_root / SAMPLE_FILES["coco"]).read_text())
    empty = sum(1 for a in data["annotations"] if a["num_keypoints"] == 0)
    assert empty > 0  # the sample has some; the check below could fail
    with pytest.warns(DataSkipWarning, match=rf"skipped {empty} item\(s\): {empty} annotations without keypoints"):
        ds = build_dataset(cfg, "val", SIZE, augment=False)
    assert ds.skipped == empty


def test_detection_crops_carry_scores_and_no_joints(sample_root):
    cfg = sample_config(sample_root, "coco")
    cfg.detections = "test_coco_det_AP_H_56.json"
    dets = json.loads((sample_root / "coco" / "test_coco_det_AP_H_56.json").read_text())
    val = quiet_build(cfg, "val", SIZE, augment=False)
    assert val.detections is not None and len(val) == len(dets)
    for i in (0, len(val) - 1):
        meta = val[i]["meta"]
        x, y, w, h = dets[meta["index"]]["bbox"]
        assert meta["score"] == pytest.approx(dets[meta["index"]]["score"])
        assert meta["image_id"] == dets[meta["index"]]["image_id"]
        assert meta["center"][0] == pytest.approx(x + w / 2, abs=1.0)  # box clipped to the image
        assert not meta["joints"].any() and not val[i]["labels"].any()


def test_mpii_scale_convention(sample_root):
    """MPII: centre moved down by 15 s, a square 200 s box padded by 1.25, then fixed to the aspect."""
    cfg = sample_config(sample_root, "mpii")
    ann = json.loads((sample_root / SAMPLE_FILES["mpii"]).read_text())
    val = quiet_build(cfg, "val", SIZE, augment=False)
    for i, a in enumerate(ann):
        meta = val.instance_meta(i)
        s = a["scale"]
        np.testing.assert_allclose(meta["center"], [a["center"][0], a["center"][1] + 15 * s])
        np.testing.assert_allclose(meta["scale"], [200 * s * 1.25, 200 * s * 1.25 * SIZE[0] / SIZE[1]])
    assert val.head_boxes is None  # no .mat given: the evaluator derives head sizes


# -- crops -----------------------------------------------------------------------------------------

def test_image_crop_image_round_trip_is_within_half_a_pixel():
    rng = np.random.default_rng(0)
    for _ in range(50):
        center = rng.uniform(0, 1000, 2)
        scale = rng.uniform(20, 800, 2)
        rot = float(rng.uniform(-40, 40))
        pts = rng.uniform(-200, 1200, (17, 2))
        crop = image_to_crop(pts, center, scale, SIZE, rot)
        back = crop_to_image(crop, center, scale, SIZE, rot)
        assert np.abs(back - pts).max() < 0.5
        np.testing.assert_allclose(back, pts, atol=1e-6)
    # the box maps onto the crop: its centre to the crop centre, its corners to the crop corners
    m = get_affine((100.0, 50.0), (96.0, 128.0), SIZE)
    np.testing.assert_allclose(warp_points(np.array([[100.0, 50.0]]), m), [[(192 - 1) / 2, (256 - 1) / 2]])
    np.testing.assert_allclose(warp_points(np.array([[148.0, 114.0]]), m) - warp_points(np.array([[52.0, -14.0]]), m),
                               [[192.0, 256.0]])


def test_cv2_warp_puts_an_image_point_where_the_matrix_says():
    """A bright blob at a sub-pixel image point lands at image_to_crop(point) in the warped crop."""
    h, w = 300, 400
    point = np.array([231.3, 117.8])
    yy, xx = np.mgrid[0:h, 0:w]
    blob = np.exp(-((xx - point[0]) ** 2 + (yy - point[1]) ** 2) / (2 * 4.0**2))
    image = (np.repeat(blob[..., None], 3, axis=2) * 255).astype(np.float32)
    for center, scale, flip in [((200.0, 150.0), (150.0, 200.0), False), ((250.0, 100.0), (75.0, 100.0), True)]:
        m = get_affine(center, scale, SIZE)
        expected = warp_points(point[None], m)[0]
        if flip:
            m = flip_affine(m, SIZE[1])
            expected[0] = SIZE[1] - 1 - expected[0]
        crop = cv2.warpAffine(image, m, (SIZE[1], SIZE[0]), flags=cv2.INTER_LINEAR)[..., 0]
        cy, cx = np.mgrid[0:SIZE[0], 0:SIZE[1]]
        centroid = np.array([(crop * cx).sum(), (crop * cy).sum()]) / crop.sum()
        assert np.abs(centroid - expected).max() < 0.5


def test_flip_mirrors_the_image_and_swaps_left_and_right(sample_root, monkeypatch):
    import harness.data.dataset as dataset_module

    cfg = sample_config(sample_root, "coco")
    spec = SPECS["coco"]
    plain = quiet_build(cfg, "train", SIZE, augment=True, location_fraction=1.0)
    flipped = quiet_build(cfg, "train", SIZE, augment=True, location_fraction=1.0)
    monkeypatch.setattr(dataset_module, "sample_crop", lambda c, s, aspect, aug, joints, rng: (c, s, False))
    a = plain[0]
    monkeypatch.setattr(dataset_module, "sample_crop", lambda c, s, aspect, aug, joints, rng: (c, s, True))
    b = flipped[0]
    # the flipped crop is the mirror image (the flip is folded into the one warp; cv2's fixed-point
    # interpolation may round a rare pixel the other way: one grey level)
    one_level = 1.5 / 255 / 0.224
    torch.testing.assert_close(b["image"], torch.flip(a["image"], dims=[2]), rtol=0, atol=one_level)
    joints = plain.instance_meta(0)["joints"]
    for left, right in spec.flip_pairs:
        assert b["labels"][right] == a["labels"][left] and b["labels"][left] == a["labels"][right]
        if a["labels"][left] > 0:
            # the left joint appears in the right channel at the mirrored x
            hy, hx = np.unravel_index(b["heatmaps"][right].argmax().item(), b["heatmaps"][right].shape)
            assert abs(hx * 4 - (SIZE[1] - 1 - joints[left, 0])) <= 2.0
            assert abs(hy * 4 - joints[left, 1]) <= 2.0


def test_heatmap_peaks_at_the_joint():
    joints = np.array([[40.0, 100.0, 2.0], [13.0, 7.0, 1.0], [50.0, 60.0, 0.0]])
    maps = gaussian_heatmaps(joints, np.array([1.0, 1.0, 0.0]), SIZE, 2.0)
    assert maps.shape == (3, 64, 48) and maps.dtype == np.float32
    assert maps[0, 25, 10] == pytest.approx(1.0) and maps[0].max() == pytest.approx(1.0)
    # sub-cell centre: x = 13 / 4 = 3.25, y = 1.75 -> value at (3, 2) is exp(-(0.25^2 + 0.25^2) / 8)
    assert maps[1, 2, 3] == pytest.approx(np.exp(-(0.0625 + 0.0625) / 8.0), rel=1e-5)
    assert not maps[2].any()


# -- supervision regimes ---------------------------------------------------------------------------

def test_location_free_samples_and_batches_carry_no_coordinates(twin):
    for kind, cfg in twin.items():
        train = quiet_build(cfg, "train", SIZE, augment=True, location_fraction=0.0)
        samples = [train[i] for i in range(len(train))]
        for s in samples:
            assert set(s) == {"image", "labels"}
            assert s["labels"].shape == (SPECS[kind].num_joints,)
            assert set(s["labels"].unique().tolist()) <= {0.0, 1.0}
        batch = collate_train(samples)
        assert set(batch) == {"image", "labels"}
        assert batch["image"].shape == (len(samples), 3) + SIZE


def test_semi_subset_is_deterministic_and_sized(twin):
    cfg = twin["coco"]
    full = quiet_build(cfg, "train", SIZE, augment=False, location_fraction=1.0, seed=3)
    n = len(full)
    assert n >= 12 and full.labelled.all()
    for fraction in (0.05, 0.1, 0.25):
        a = quiet_build(cfg, "train", SIZE, augment=True, location_fraction=fraction, seed=3)
        b = quiet_build(cfg, "train", SIZE, augment=True, location_fraction=fraction, seed=3)
        assert a.labelled.sum() == max(1, round(fraction * n))
        np.testing.assert_array_equal(a.labelled, b.labelled)
        carried = [i for i in range(n) if "heatmaps" in a[i]]
        assert carried == list(np.flatnonzero(a.labelled))
    picks = {tuple(np.flatnonzero(quiet_build(cfg, "train", SIZE, augment=False, location_fraction=0.25,
                                              seed=s).labelled)) for s in range(4)}
    assert len(picks) > 1  # the subset depends on the seed
    # a labelled sample's targets: weights = labels, heatmap peaks at its joints
    semi = quiet_build(cfg, "train", SIZE, augment=False, location_fraction=0.25, seed=3)
    i = int(np.flatnonzero(semi.labelled)[0])
    s = semi[i]
    torch.testing.assert_close(s["target_weight"], s["labels"])
    joints = full.crop_joints(i, get_affine(full.center[i], full.scale[i], SIZE), False)
    for k in np.flatnonzero(s["labels"].numpy()):
        hy, hx = np.unravel_index(s["heatmaps"][k].argmax().item(), s["heatmaps"][k].shape)
        assert abs(hx - joints[k, 0] / 4) <= 0.5 and abs(hy - joints[k, 1] / 4) <= 0.5
    assert not s["heatmaps"][s["labels"] == 0].any()


def test_labelled_only_keeps_exactly_the_labelled_instances(twin):
    cfg = twin["mpii"]
    semi = quiet_build(cfg, "train", SIZE, augment=False, location_fraction=0.25, seed=1)
    only = quiet_build(cfg, "train", SIZE, augment=True, location_fraction=0.25, labelled_only=True, seed=1)
    assert len(only) == semi.labelled.sum() and only.labelled.all()
    np.testing.assert_array_equal(only.table.index, semi.table.index[semi.labelled])
    assert all({"heatmaps", "target_weight"} <= set(only[i]) for i in range(len(only)))


def test_collate_fills_unlabelled_rows_with_zeros_and_masks_them(twin):
    ds = quiet_build(twin["crowdpose"], "train", SIZE, augment=True, location_fraction=0.25, seed=0)
    samples = [ds[i] for i in range(len(ds))]
    batch = collate_train(samples)
    k = SPECS["crowdpose"].num_joints
    assert batch["heatmaps"].shape == (len(ds), k, 64, 48) and batch["target_weight"].shape == (len(ds), k)
    np.testing.assert_array_equal(batch["location_mask"].numpy(), ds.labelled)
    for i, s in enumerate(samples):
        if "heatmaps" in s:
            torch.testing.assert_close(batch["heatmaps"][i], s["heatmaps"])
        else:
            assert not batch["heatmaps"][i].any() and not batch["target_weight"][i].any()


def test_max_instances_subsets(twin):
    cfg = twin["crowdpose"]
    all_train = quiet_build(cfg, "train", SIZE, augment=False)
    small = quiet_build(cfg, "train", SIZE, augment=False, max_instances=7, seed=5)
    again = quiet_build(cfg, "train", SIZE, augment=False, max_instances=7, seed=5)
    assert len(small) == 7 and set(small.table.index) <= set(all_train.table.index)
    np.testing.assert_array_equal(small.table.index, again.table.index)
    # validation subsets hold whole images: an image comes with all of its people or none
    all_val = quiet_build(cfg, "val", SIZE, augment=False)
    val = quiet_build(cfg, "val", SIZE, augment=False, max_instances=6)
    assert 0 < len(val) <= 6
    for image_id in set(val.table.image_id):
        assert (val.table.image_id == image_id).sum() == (all_val.table.image_id == image_id).sum()
    batch = collate_eval([val[i] for i in range(len(val))])
    assert batch["meta"]["joints"].shape == (len(val), 14, 3) and batch["meta"]["image_id"].dtype == torch.int64
    np.testing.assert_array_equal(batch["meta"]["index"].numpy(), val.table.index)


def test_mean_pose_is_the_mean_of_visible_crop_joints(twin):
    cfg = twin["coco"]
    pose = mean_pose(cfg, SIZE)
    ds = quiet_build(cfg, "train", SIZE, augment=False)
    joints = np.stack([ds.crop_joints(i, get_affine(ds.center[i], ds.scale[i], SIZE), False) for i in range(len(ds))])
    seen = (joints[..., 2] > 0) & (joints[..., 0] >= 0) & (joints[..., 0] < SIZE[1]) & \
           (joints[..., 1] >= 0) & (joints[..., 1] < SIZE[0])
    for k in range(17):
        if seen[:, k].any():
            np.testing.assert_allclose(pose[k], joints[seen[:, k], k, :2].mean(axis=0), atol=1e-6)
        else:
            assert np.isnan(pose[k]).all()


def test_mean_pose_is_nan_for_a_joint_never_labelled(sample_root, tmp_path):
    data = json.loads((sample_root / SAMPLE_FILES["mpii"]).read_text())
    for a in data:
        a["joints_vis"][9] = 0  # head_top never labelled
    (tmp_path / "ann.json").write_text(json.dumps(data))
    cfg = DatasetConfig(name="m", kind="mpii", root=str(sample_root / "mpii"), train_ann=str(tmp_path / "ann.json"),
                        val_ann=str(tmp_path / "ann.json"), train_images=".", val_images=".")
    pose = mean_pose(cfg, SIZE)
    assert np.isnan(pose[9]).all() and not np.isnan(np.delete(pose, 9, axis=0)).any()


# -- bad items and bad paths -----------------------------------------------------------------------

def copy_samples(sample_root: Path, tmp_path: Path, kind: str) -> DatasetConfig:
    folder = SAMPLE_FILES[kind].split("/")[0]
    shutil.copytree(sample_root / folder, tmp_path / folder)
    return sample_config(tmp_path, kind)


def test_garbage_image_is_skipped_with_a_counted_warning(sample_root, tmp_path):
    cfg = copy_samples(sample_root, tmp_path, "coco")
    ann = json.loads((tmp_path / "coco" / "test_coco.json").read_text())
    victim = ann["images"][1]
    (tmp_path / "coco" / victim["file_name"]).write_bytes(b"this is not a jpeg" * 10)
    on_victim = sum(1 for a in ann["annotations"] if a["image_id"] == victim["id"] and a["num_keypoints"] > 0)
    assert on_victim > 0
    good = quiet_build(sample_config(sample_root, "coco"), "train", SIZE, augment=False)
    with pytest.warns(DataSkipWarning, match=rf"{on_victim} instances on missing or unreadable images"):
        ds = build_dataset(cfg, "train", SIZE, augment=True)
    assert len(ds) == len(good) - on_victim
    assert ds.skipped == good.skipped + on_victim
    assert victim["id"] not in set(ds.table.image_id)
    batch = collate_train([ds[i] for i in range(len(ds))])
    assert batch["image"].shape[0] == len(ds)


def test_image_that_fails_to_decode_is_skipped_at_load_time(sample_root, tmp_path):
    """A file with a JPEG header but a broken body passes the index and fails in cv2."""
    cfg = copy_samples(sample_root, tmp_path, "mpii")
    ann = json.loads((tmp_path / "mpii" / "test_mpii.json").read_text())
    victim = tmp_path / "mpii" / ann[0]["image"]
    victim.write_bytes(b"\xff\xd8\xff" + b"\x00" * 64)
    train = quiet_build(cfg, "train", SIZE, augment=False)
    assert train.skipped == 0 and len(train) == len(ann)
    with pytest.warns(DataSkipWarning, match=r"cannot decode the image, skipped \(1 unreadable"):
        first = train[0]
    # training: the next readable instance takes its place
    torch.testing.assert_close(first["image"], train[1]["image"])
    assert train.skipped == 1
    # evaluation: the instance keeps its meta (it is still predicted) with a black crop
    val = quiet_build(cfg, "val", SIZE, augment=False)
    with pytest.warns(DataSkipWarning):
        s = val[0]
    assert s["meta"]["index"] == 0 and val.skipped == 1
    black = (0.0 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225])
    torch.testing.assert_close(s["image"][:, 0, 0], black)


def test_missing_root_or_annotation_is_a_one_line_user_error(sample_root, tmp_path):
    missing = tmp_path / "nowhere"
    cfg = DatasetConfig(name="c", kind="coco", root=str(missing))
    with pytest.raises(UserError) as err:
        build_dataset(cfg, "train", SIZE, augment=True)
    assert str(err.value).startswith(f"{missing}: not found") and "\n" not in str(err.value)
    cfg = DatasetConfig(name="c", kind="coco", root=str(sample_root / "coco"))  # standard layout absent
    with pytest.raises(UserError, match="annotations/person_keypoints_train2017.json: not found"):
        build_dataset(cfg, "train", SIZE, augment=True)
    cfg = sample_config(sample_root, "coco")
    cfg.detections = "no_such_detections.json"
    with pytest.raises(UserError, match="no_such_detections.json: not found"):
        build_dataset(cfg, "val", SIZE, augment=False)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    cfg = DatasetConfig(name="c", kind="coco", root=str(sample_root / "coco"), train_ann=str(broken),
                        train_images=".")
    with pytest.raises(UserError, match="broken.json: not valid JSON"):
        build_dataset(cfg, "train", SIZE, augment=True)


def test_mpii_head_boxes_are_read_from_the_mat_for_the_val_split(sample_root, tmp_path):
    from harness.data.mpii_mat import MpiiGroundTruth
    from mat_files import write_gt_mat

    cfg = sample_config(sample_root, "mpii")
    ann = json.loads((sample_root / SAMPLE_FILES["mpii"]).read_text())
    gt = np.array([a["joints"] for a in ann], dtype=np.float64)
    missing = np.array([a["joints_vis"] for a in ann]) == 0
    boxes = np.tile([10.0, 20.0, 40.0, 60.0], (len(ann), 1))
    cfg.head_boxes = str(write_gt_mat(tmp_path / "gt.mat", gt, missing, boxes))
    val = quiet_build(cfg, "val", SIZE, augment=False)
    assert isinstance(val.head_boxes, MpiiGroundTruth)
    np.testing.assert_array_equal(val.head_boxes.head_boxes, boxes)
    np.testing.assert_array_equal(val.head_boxes.joints, gt)
    assert quiet_build(cfg, "train", SIZE, augment=True).head_boxes is None  # evaluation only
    cfg.head_boxes = str(write_gt_mat(tmp_path / "short.mat", gt[:2], missing[:2], boxes[:2]))
    with pytest.raises(UserError, match=r"short.mat: 2 head boxes for the 5 annotations"):
        quiet_build(cfg, "val", SIZE, augment=False)


def test_sample_files_are_part_of_the_repository():
    """A fresh clone, with nothing beside it, has every sample file the tests read."""
    root = Path(__file__).resolve().parents[1]
    assert SAMPLES.is_relative_to(root) and (SAMPLES / "README.md").is_file()
    for kind, rel in SAMPLE_FILES.items():
        ann = json.loads((SAMPLES / rel).read_text())
        names = ({a["image"] for a in ann} if kind == "mpii" else {i["file_name"] for i in ann["images"]})
        assert names and all((SAMPLES / kind / n).is_file() for n in names), kind


def test_to_tensor_is_imagenet_normalised_rgb():
    from harness.data.images import to_tensor

    crop = np.random.default_rng(0).integers(0, 256, (6, 5, 3), dtype=np.uint8)
    rgb = torch.from_numpy(crop[:, :, ::-1].copy()).permute(2, 0, 1).float() / 255.0
    expected = (rgb - torch.tensor([0.485, 0.456, 0.406])[:, None, None]) / torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    torch.testing.assert_close(to_tensor(crop), expected, rtol=0, atol=1e-5)


def test_half_body_reads_keypoints_only_of_labelled_instances(twin, monkeypatch):
    import harness.data.dataset as dataset_module
    from harness.data.transforms import sample_crop

    seen: list[bool] = []

    def spy(center, scale, aspect, augment, joints, rng):
        seen.append(joints is not None)
        assert augment.half_body_joints == SPECS["mpii"].upper_body  # MPII uses half-body
        return sample_crop(center, scale, aspect, augment, joints, rng=rng)

    monkeypatch.setattr(dataset_module, "sample_crop", spy)
    free = quiet_build(twin["mpii"], "train", SIZE, augment=True, location_fraction=0.0)
    for i in range(len(free)):
        free[i]
    assert seen and not any(seen)
    seen.clear()
    semi = quiet_build(twin["mpii"], "train", SIZE, augment=True, location_fraction=0.25)
    for i in range(len(semi)):
        semi[i]
    assert seen == list(semi.labelled)
    coco = quiet_build(twin["coco"], "train", SIZE, augment=True)
    assert coco.augment.half_body_joints == ()  # the paper uses half-body on MPII only


def test_dataset_survives_pickling_for_worker_processes(twin):
    import pickle

    ds = quiet_build(twin["crowdpose"], "val", SIZE, augment=False)
    clone = pickle.loads(pickle.dumps(ds))
    a, b = ds[3], clone[3]
    torch.testing.assert_close(a["image"], b["image"])
    np.testing.assert_array_equal(a["meta"]["joints"], b["meta"]["joints"])


def test_crop_shift_moves_only_the_centre_within_its_box_fraction():
    """CropAugment.shift (beyond the paper): the centre moves by at most shift x the resized box per
    axis, the scale and flip drawn from the same generator are those without the shift, and with
    the shift off the crop is exactly the paper's (the shift is drawn last)."""
    from harness.data.transforms import CropAugment, sample_crop

    center, scale = np.array([100.0, 80.0]), np.array([60.0, 80.0])
    moved = []
    for seed in range(300):
        c0, s0, f0 = sample_crop(center, scale, 0.75, CropAugment(), rng=np.random.default_rng(seed))
        c1, s1, f1 = sample_crop(center, scale, 0.75, CropAugment(shift=0.3), rng=np.random.default_rng(seed))
        np.testing.assert_array_equal(c0, center)
        np.testing.assert_array_equal(s0, s1)
        assert f0 == f1
        offset = (c1 - center) / s1
        assert np.all(np.abs(offset) <= 0.3)
        moved.append(offset)
    moved = np.array(moved)
    assert np.abs(moved).max(axis=0).min() > 0.27 and abs(moved.mean()) < 0.05  # the range, both ways


def test_shifted_crops_push_joints_out_of_the_crop_without_reading_them(twin, monkeypatch):
    """On the location-free COCO twin (no instance carries coordinates for the augmentation), a
    shift of 0.3 of the box drops the share of joints the in-crop labels call present, and the
    augmentation is never handed the keypoints."""
    import harness.data.dataset as dataset_module
    from harness.data.transforms import sample_crop

    handed: list[bool] = []

    def spy(center, scale, aspect, augment, joints, rng):
        handed.append(joints is not None)
        return sample_crop(center, scale, aspect, augment, joints, rng=rng)

    monkeypatch.setattr(dataset_module, "sample_crop", spy)
    present = {}
    for shift in (0.0, 0.3):
        ds = quiet_build(twin["coco"], "train", SIZE, augment=True, location_fraction=0.0, crop_shift=shift)
        assert ds.augment.shift == shift
        present[shift] = np.mean([ds[(epoch, i)]["labels"].numpy().mean()
                                  for epoch in range(4) for i in range(len(ds))])
    assert handed and not any(handed)
    assert present[0.3] < present[0.0] - 0.02


def test_crop_shift_is_read_only_under_augment_shift():
    from harness.config import ConfigError, ScheduleConfig

    assert ScheduleConfig(augment="shift", crop_shift=0.25).crop_shift == 0.25
    with pytest.raises(ConfigError, match="crop_shift"):
        ScheduleConfig(augment="shift")
    with pytest.raises(ConfigError, match="crop_shift"):
        ScheduleConfig(crop_shift=0.25)
