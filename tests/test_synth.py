"""Synthetic twins: reproducible files, the real layouts (same loaders, same evaluators), the
statistics the issue asks for (incomplete people, varied labels, COCO areas, CrowdPose crowd
levels), and the cache (generated once, never half-written)."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import harness.data.synth.cache as cache_module
from harness.config import DatasetConfig
from harness.data.build import build_dataset
from harness.data.skips import DataSkipWarning
from harness.data.specs import SPECS
from harness.data.synth import TwinParams, ensure_twin, synth_main, write_twin
from harness.data.transforms import crop_to_image
from harness.errors import UserError

SIZE = (256, 192)


def files_of(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def load(paths: dict, kind: str, split: str = "val"):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataSkipWarning)  # a twin has no bad items
        return build_dataset(DatasetConfig(name=f"{kind}_twin", kind=kind, **paths), split, SIZE,
                             augment=split == "train")


@pytest.fixture(scope="module")
def twins(tmp_path_factory) -> dict[str, dict]:
    """A 48-image twin of each dataset: enough for the statistics, well under a second each."""
    root = tmp_path_factory.mktemp("synth")
    return {kind: write_twin(TwinParams(kind, 48, 16, 7), root / kind) for kind in SPECS}


def annotations(paths: dict, split: str = "train"):
    data = json.loads((Path(paths["root"]) / paths[f"{split}_ann"]).read_text())
    return data


def joints_of(kind: str, data) -> np.ndarray:
    """N x K x 3 joints straight from a twin's json (MPII: joints_vis as v)."""
    k = SPECS[kind].num_joints
    if kind == "mpii":
        return np.array([np.concatenate([np.asarray(a["joints"]), np.asarray(a["joints_vis"])[:, None]], 1)
                         for a in data])
    return np.array([np.asarray(a["keypoints"], float).reshape(k, 3) for a in data["annotations"]])


@pytest.mark.parametrize("kind", ["coco", "mpii", "crowdpose"])
def test_same_seed_same_bytes_other_seed_other_files(tmp_path, kind):
    a = write_twin(TwinParams(kind, 6, 4, 3), tmp_path / "a")
    b = write_twin(TwinParams(kind, 6, 4, 3), tmp_path / "b")
    c = write_twin(TwinParams(kind, 6, 4, 4), tmp_path / "c")
    fa, fb, fc = files_of(Path(a["root"])), files_of(Path(b["root"])), files_of(Path(c["root"]))
    assert fa == fb
    assert set(fa) == set(fc)
    assert fa[a["train_ann"]] != fc[c["train_ann"]]
    images = [name for name in fa if name.endswith(".jpg")]
    assert len(images) == 10
    assert all(fa[name] != fc[name] for name in images)


def test_layouts_are_the_real_ones(twins):
    coco = Path(twins["coco"]["root"])
    assert (coco / "annotations" / "person_keypoints_train2017.json").is_file()
    assert (coco / "annotations" / "person_keypoints_val2017.json").is_file()
    assert len(list((coco / "train2017").glob("*.jpg"))) == 48 and len(list((coco / "val2017").glob("*.jpg"))) == 16
    mpii = annotations(twins["mpii"])
    assert isinstance(mpii, list) and set(mpii[0]) == {"image", "center", "scale", "joints", "joints_vis"}
    crowd = annotations(twins["crowdpose"])
    assert all("crowdIndex" in im for im in crowd["images"])
    assert crowd["categories"][0]["keypoints"] == list(SPECS["crowdpose"].joints)
    for kind, paths in twins.items():
        assert set(paths) == {"root", "train_ann", "val_ann", "train_images", "val_images"}
        manifest = json.loads((Path(paths["root"]) / "twin.json").read_text())
        assert manifest["num_images"] == 48 and manifest["num_val"] == 16 and manifest["seed"] == 7


def test_default_validation_size(tmp_path):
    paths = write_twin(TwinParams("mpii", 20), tmp_path / "t")
    assert json.loads((Path(paths["root"]) / "twin.json").read_text())["num_val"] == 5  # max(4, 20 // 4)
    paths = write_twin(TwinParams("mpii", 3), tmp_path / "u")
    assert json.loads((Path(paths["root"]) / "twin.json").read_text())["num_val"] == 4


@pytest.mark.parametrize("kind", ["coco", "mpii", "crowdpose"])
def test_twins_load_through_the_loaders_and_score_one_with_the_evaluators(twins, kind):
    from harness.evaluation.evaluator import evaluate

    paths = twins[kind]
    train, val = load(paths, kind, "train"), load(paths, kind, "val")
    n_train = len(joints_of(kind, annotations(paths, "train")))
    assert len(train) == n_train and len(val) == len(joints_of(kind, annotations(paths, "val")))
    # ground truth given back through the crops (crop -> image) is a perfect prediction
    spec = SPECS[kind]
    if kind == "mpii":
        preds = []
        for i in range(len(val)):
            m = val.instance_meta(i)
            xy = crop_to_image(m["joints"][:, :2], m["center"], m["scale"], SIZE)
            preds.append({"index": m["index"], "keypoints": [[x, y, 1.0] for x, y in xy]})
        metrics = evaluate(kind, val.ann_path, preds).metrics
        assert metrics["Mean"] == pytest.approx(1.0) and metrics["Mean@0.1"] == pytest.approx(1.0)
    else:
        preds = []
        for i in range(len(val)):
            m = val.instance_meta(i)
            xy = crop_to_image(m["joints"][:, :2], m["center"], m["scale"], SIZE)
            kp = np.concatenate([xy, np.ones((spec.num_joints, 1))], 1)
            preds.append({"image_id": m["image_id"], "category_id": 1, "keypoints": kp.ravel().tolist(), "score": 1.0})
        metrics = evaluate(kind, val.ann_path, preds).metrics
        assert metrics["AP"] == pytest.approx(1.0) and metrics["AR"] == pytest.approx(1.0)


@pytest.mark.parametrize("kind", ["coco", "mpii", "crowdpose"])
def test_fewer_than_half_complete_and_labels_vary(twins, kind):
    joints = joints_of(kind, annotations(twins[kind]))
    labelled = joints[..., 2] > 0
    complete = labelled.all(axis=1).mean()
    assert 0.05 < complete < 0.5
    # the image-level labels of the crops vary: many distinct vectors, every joint on somewhere and
    # most joints off somewhere (torso joints of a small twin may never be cut off)
    ds = load(twins[kind], kind, "val")
    labels = np.stack([ds[i]["labels"].numpy() for i in range(len(ds))])
    assert len({tuple(r) for r in labels}) >= len(labels) // 3
    train = load(twins[kind], kind, "train")
    train_labels = np.stack([train[i]["labels"].numpy() for i in range(len(train))])
    assert (train_labels.max(axis=0) == 1).all()
    assert (train_labels.min(axis=0) == 0).sum() >= SPECS[kind].num_joints // 2
    # visibility flags: 2 visible and 1 occluded-but-labelled both occur (MPII only stores 0/1)
    if kind != "mpii":
        assert {0, 1, 2} <= set(np.unique(joints[..., 2]).astype(int))


def test_coco_twin_has_medium_and_large_people(twins):
    areas = np.array([a["area"] for a in annotations(twins["coco"])["annotations"]])
    assert ((areas >= 32**2) & (areas < 96**2)).any() and (areas >= 96**2).any()


def test_crowdpose_crowd_index_is_its_definition_and_spreads(twins):
    data = annotations(twins["crowdpose"])
    by_image: dict[int, list] = {}
    for a in data["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a)
    index = np.array([im["crowdIndex"] for im in data["images"]])
    for im in data["images"]:
        people = by_image.get(im["id"], [])
        ratios = []
        for a in people:
            own = np.asarray(a["keypoints"]).reshape(-1, 3)
            x, y, w, h = a["bbox"]
            n_own = (own[:, 2] > 0).sum()
            inside = 0
            for b in people:
                if b is a:
                    continue
                kp = np.asarray(b["keypoints"]).reshape(-1, 3)
                kp = kp[kp[:, 2] > 0]
                inside += ((kp[:, 0] >= x) & (kp[:, 0] <= x + w) & (kp[:, 1] >= y) & (kp[:, 1] <= y + h)).sum()
            ratios.append(inside / n_own)
        assert im["crowdIndex"] == pytest.approx(np.mean(ratios) if ratios else 0.0, abs=0.006)
    assert (index < 0.1).any() and ((index >= 0.2) & (index <= 0.8)).any() and (index > 0.8).any()
    assert max(len(v) for v in by_image.values()) >= 3  # overlapping crowds occur


def test_ensure_twin_generates_once_and_reuses(tmp_path, monkeypatch):
    calls = []
    real = cache_module.write_twin
    monkeypatch.setattr(cache_module, "write_twin", lambda *a, **k: calls.append(a) or real(*a, **k))
    first = ensure_twin(TwinParams("coco", 5, 4, 1), tmp_path)
    ann = Path(first["root"]) / first["train_ann"]
    stamp = ann.stat().st_mtime_ns
    second = ensure_twin(TwinParams("coco", 5, 4, 1), tmp_path)
    assert second == first and len(calls) == 1 and ann.stat().st_mtime_ns == stamp
    other = ensure_twin(TwinParams("coco", 5, 4, 2), tmp_path)  # another seed is another twin
    assert other["root"] != first["root"] and len(calls) == 2
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
    cfg = DatasetConfig(name="coco_synth", kind="coco", synthetic=True, **first)
    assert len(build_dataset(cfg, "val", SIZE, augment=False)) > 0


def test_the_twin_cache_key_covers_every_parameter(monkeypatch):
    """Two twins that differ in any parameter (a field added later included) never share a folder."""
    import dataclasses

    import harness.data.synth.params as params_module

    base = TwinParams("coco", 8, 4, 0)
    changed = {"kind": "mpii", "val_seed": 3}
    for f in dataclasses.fields(TwinParams):
        value = changed.get(f.name, getattr(base, f.name) + 1 if isinstance(getattr(base, f.name), int) else None)
        assert value is not None, f"no changed value for {f.name}: extend this test"
        assert dataclasses.replace(base, **{f.name: value}).cache_key() != base.cache_key(), f.name
    key = base.cache_key()
    monkeypatch.setattr(params_module, "GENERATOR_VERSION", params_module.GENERATOR_VERSION + 1)
    assert base.cache_key() != key  # a new drawing is a new twin
    import harness.data.synth.scene as scene_module

    monkeypatch.undo()
    spec = SPECS["coco"]
    scene = dataclasses.replace(spec.twin.scene, occluder_prob=spec.twin.scene.occluder_prob / 2)
    monkeypatch.setitem(SPECS, "coco", dataclasses.replace(spec, twin=dataclasses.replace(spec.twin, scene=scene)))
    assert base.cache_key() != key  # another scene style is another twin
    monkeypatch.undo()
    monkeypatch.setattr(scene_module, "OCCLUDED_LABELLED", 0.25)
    assert base.cache_key() != key  # so is another annotation rule for occluded joints
    monkeypatch.undo()
    assert base.cache_key() == key
    assert TwinParams("coco", 8).num_val == 4 and TwinParams("coco", 100).num_val == 25


def test_an_interrupted_generation_leaves_no_twin(tmp_path, monkeypatch):
    def dies_halfway(kind, out_dir, *args, **kwargs):
        (Path(out_dir) / "annotations").mkdir(parents=True)
        (Path(out_dir) / "annotations" / "partial.json").write_text("[")
        raise KeyboardInterrupt

    monkeypatch.setattr(cache_module, "write_twin", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        ensure_twin(TwinParams("mpii", 5, 4, 0), tmp_path)
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []
    monkeypatch.undo()
    paths = ensure_twin(TwinParams("mpii", 5, 4, 0), tmp_path)
    assert (Path(paths["root"]) / "twin.json").is_file()


def test_synth_main_writes_the_twin_and_rejects_bad_input(tmp_path, capsys):
    paths = synth_main("crowdpose", str(tmp_path / "out"), 4, None, 0)
    assert (Path(paths["root"]) / paths["val_ann"]).is_file()
    assert "synth crowdpose: 8/8 images" in capsys.readouterr().err
    with pytest.raises(UserError, match="already exists"):
        synth_main("crowdpose", str(tmp_path / "out"), 4, None, 0)
    with pytest.raises(UserError, match="--dataset must be one of"):
        synth_main("posetrack", str(tmp_path / "x"), 4, None, 0)
