"""A small results folder written by hand in the results-folder contract (no training).

- study "table5" on an MPII-kind twin: the eight rows of Table 5, three seeds each, per-image
  results in the evaluator's format (so the bootstrap runs), row 3 seed 2 failed, row 5 seed 1
  missing, the baseline below the mean-pose reference; every trial records the localisation ladder
  (classification, readouts, errors, the ladder in its curve, each read-out's per-image counts),
  and the mean-pose reference keeps its per-image arrays (references/mpii_twin.npz);
- study "datasets" on a dataset whose name is a <script> tag (one seed, a failed trial whose error
  holds HTML too; no ladder recorded, as in results from before it);
- study "factorial" on a second twin: 16 cells × 2 seeds, metric 0.3 + 0.1 spe + 0.05 reppg·pdc
  ± 0.01 by seed, so the cell means are exact.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from harness.config import DatasetConfig, ScheduleConfig, SupervisionConfig, TrialConfig
from harness.data.specs import MPII
from harness.evaluation.per_image import pckh_mean, save_per_image
from models.config import LOFRConfig

SCRIPT = "<script>alert(1)</script>"
N_IMAGES = 40
TABLE5_P = [0.25, 0.55, 0.27, 0.35, 0.26, 0.50, 0.40, 0.60]  # P(joint correct) per row
TABLE5_CAMS_P = [0.20, 0.50, 0.22, 0.28, 0.20, 0.45, 0.20, 0.50]  # the same for the cams read-out
TABLE5_GAIN = [0.30, 0.70, 0.60, 0.60, 0.60, 0.65, 0.55, 0.80]  # the cnn head's gain over chance
CHANCE_MAP = 0.7
MPII_MEAN_JOINTS = np.array(MPII.evaluator.mean_joints(MPII.num_joints))  # all but pelvis and thorax
SWITCH_ROWS = [(0, 0, 0, 0), (1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1), (1, 1, 0, 0), (0, 0, 1, 1),
               (1, 1, 1, 1)]
FAILED = (3, 2)  # (row number, seed)
MISSING = (5, 1)
REFERENCE_P = 0.30  # P(joint correct) of the mean pose
FAIL_ERROR = "RuntimeError: CUDA out of memory <b>x</b>\nTraceback (most recent call last): second line"


def config(dataset: str, switches, seed: int, scale: str = "smoke", kind: str = "mpii", **model) -> dict:
    spe, ms, reppg, pdc = (bool(s) for s in switches)
    spec = MPII if kind == "mpii" else None
    m = dict(backbone="resnet18", input_size=(64, 48), d_model=32, nhead=4, dim_feedforward=64, enc_layers=1,
             dec_layers=1, spe=spe, multi_scale=ms, reppg=reppg, pdc=pdc)
    if spec is not None:
        m.update(num_keypoints=spec.num_joints, skeleton=spec.skeleton)
    m.update(model)
    synthetic = scale != "full"
    cfg = TrialConfig(
        dataset=DatasetConfig(name=dataset, kind=kind, synthetic=synthetic, synth_images=16 if synthetic else 0,
                              val_ann="" if synthetic else "annotations/person_keypoints_val2017.json"),
        model=LOFRConfig(**m), supervision=SupervisionConfig(),
        schedule=ScheduleConfig(epochs=2, batch_size=8, lr_steps=()), seed=seed, scale=scale, device="cpu")
    return cfg.to_dict()


def trial_id(cfg: dict) -> str:
    return TrialConfig.from_dict(cfg).trial_id()


def mpii_per_image(rng: np.random.Generator, visible: np.ndarray, p: float) -> dict:
    correct = visible & (rng.random(visible.shape) < p)
    return {"kind": np.array("mpii"), "image_ids": np.arange(len(visible)), "correct": correct,
            "correct01": correct & (rng.random(visible.shape) < 0.5), "visible": visible}


def location_counts(per_image: dict, rng: np.random.Generator, p_cams: float, p_product: float) -> dict:
    """The location metric's per-image counts (MPII's Mean: no pelvis, thorax) as the evaluator keeps
    them, and those of the cams and product read-outs (correct with probability p_cams, p_product)."""
    visible = per_image["visible"][:, MPII_MEAN_JOINTS]
    out = dict(per_image, loc_correct=(per_image["correct"][:, MPII_MEAN_JOINTS] & visible).sum(axis=1),
               loc_visible=visible.sum(axis=1))
    for name, p in (("cams", p_cams), ("product", p_product)):
        out[f"{name}_loc_correct"] = (visible & (rng.random(visible.shape) < p)).sum(axis=1)
    return out


def ladder_fields(per_image: dict, gain: float, rng: np.random.Generator) -> dict:
    """classification / readouts / errors of a trial whose per-image counts are `per_image`."""
    visible = per_image["loc_visible"].sum()
    readouts = {"responses": {"Mean": float(per_image["loc_correct"].sum() / visible)}}
    for name in ("cams", "product"):
        readouts[name] = {"Mean": float(per_image[f"{name}_loc_correct"].sum() / visible)}
    classification = {}
    for head, g in (("cnn", gain), ("encoder", gain / 2), ("decoder", gain - 0.1)):
        classification[head] = {"mAP": CHANCE_MAP + g * (1 - CHANCE_MAP), "accuracy": 0.8, "chance_mAP": CHANCE_MAP,
                                "chance_accuracy": 0.75, "gain": g, "joints_scored": 16}
    good = readouts["responses"]["Mean"]
    rest = rng.dirichlet(np.ones(4)) * (1 - good)
    errors = {"overall": {"good": good, **dict(zip(("jitter", "inversion", "swap", "miss"), map(float, rest)))},
              "joints": {}}
    return {"classification": classification, "readouts": readouts, "errors": errors}


def with_ladder(result: dict, fields: dict) -> dict:
    """A completed result with the ladder's fields, and the ladder in each evaluated epoch of its curve."""
    result = dict(result, **fields)
    for entry in result["curve"]:
        e = entry["epoch"] / len(result["curve"])
        entry["val"] = {"Mean": fields["readouts"]["responses"]["Mean"] * e}
        entry["ladder"] = {"mAP": {h: c["mAP"] * e for h, c in fields["classification"].items()},
                           "readouts": {r: v["Mean"] * e for r, v in fields["readouts"].items()}}
    return result


def mpii_metrics(per_image: dict) -> dict:
    idx = np.arange(len(per_image["image_ids"]))
    out = {}
    for group, joints in MPII.pckh_groups.items():
        vis = per_image["visible"][:, list(joints)]
        out[group] = float((per_image["correct"][:, list(joints)] & vis).sum() / vis.sum())
    out["Mean"] = pckh_mean(per_image, idx, MPII_MEAN_JOINTS)
    out["Mean@0.1"] = pckh_mean(per_image, idx, MPII_MEAN_JOINTS, key="correct01")
    return out


def _arrays(path: Path, arrays: dict) -> None:
    np.savez_compressed(path, **arrays)


def maps_arrays(rng: np.random.Generator, k: int = 16) -> dict:
    s = 3
    gt = np.concatenate([rng.uniform(4, 44, (s, k, 1)), rng.uniform(4, 60, (s, k, 1)),
                         (rng.random((s, k, 1)) < 0.8).astype(np.float64)], axis=2)
    pred = gt.copy()
    pred[..., :2] += rng.normal(0, 3, (s, k, 2))
    pred[..., 2] = rng.random((s, k))
    return {"images": rng.integers(0, 255, (s, 64, 48, 3), dtype=np.uint8),
            "cams": rng.random((s, k, 4, 3)).astype(np.float32),
            "responses": rng.random((s, k, 16, 12)).astype(np.float32),
            "pred": pred.astype(np.float32), "gt": gt.astype(np.float32), "sample_index": np.array([0, 1, 2])}


def completed(cfg: dict, metrics: dict, rng: np.random.Generator, wall_s: float) -> dict:
    base = metrics.get("Mean", metrics.get("AP", 0.3))
    curve = [{"epoch": e, "losses": {"cls": 1.0 / e + base, "pdc": 0.5 / e}, "weighted": {"cls": 1.0 / e},
              "total": 1.5 / e + base, "val": {"Mean": base * e / 2}} for e in (1, 2)]
    return {"status": "completed", "config": cfg, "metrics": metrics, "curve": curve,
            "timings": {"train_s": wall_s * 0.8, "eval_s": wall_s * 0.1, "wall_s": wall_s},
            "cost": {"params": 1234567, "gmacs": 0.42, "train_img_per_s": 55.5, "data_wait_fraction": 0.125,
                     "infer_img_per_s": 123.4, "peak_mem_mb": 321.0, "device": "cpu"},
            "response_stats": {g: float(rng.random()) for g in MPII.response_groups}}


def make_results(root: Path) -> Path:
    """Write the fixture results folder under `root` and return it."""
    rng = np.random.default_rng(0)
    index = {"matrix": "fixture", "scale": "smoke", "source": "fixture.yaml", "studies": {}, "trials": {}}
    root.mkdir(parents=True, exist_ok=True)
    (root / "references").mkdir()

    def add(study: str, table: str, title: str, cfg: dict) -> tuple[str, Path]:
        tid = trial_id(cfg)
        st = index["studies"].setdefault(study, {"table": table, "title": title, "trials": []})
        st["trials"].append(tid)
        entry = index["trials"].setdefault(tid, {"studies": [], "config": cfg})
        entry["studies"].append(study)
        return tid, root / tid

    visible = rng.random((N_IMAGES, 16)) < 0.8
    reference = location_counts(mpii_per_image(rng, visible, REFERENCE_P), rng, 0.0, 0.0)
    save_per_image(root / "references" / "mpii_twin.npz", reference)
    json.dump({"dataset": "mpii_twin", "kind": "mpii", "split": "val", "metrics": mpii_metrics(reference)},
              open(root / "references" / "mpii_twin.json", "w"))
    for r, (switches, p) in enumerate(zip(SWITCH_ROWS, TABLE5_P), start=1):
        for seed in range(3):
            cfg = config("mpii_twin", switches, seed)
            tid, tdir = add("table5", "table5", "Table 5: ablation (fixture)", cfg)
            if (r, seed) == MISSING:
                continue
            tdir.mkdir()
            if (r, seed) == FAILED:
                json.dump({"status": "failed", "error": FAIL_ERROR, "config": cfg}, open(tdir / "metrics.json", "w"))
                continue
            per_image = location_counts(mpii_per_image(rng, visible, p), rng, TABLE5_CAMS_P[r - 1], p * 0.9)
            save_per_image(tdir / "per_image.npz", per_image)
            result = completed(cfg, mpii_metrics(per_image), rng, 3600.0 * (r + seed) / 10)
            fields = ladder_fields(per_image, TABLE5_GAIN[r - 1] + 0.01 * seed, rng)
            json.dump(with_ladder(result, fields), open(tdir / "metrics.json", "w"))
            if seed == 0:
                _arrays(tdir / "maps.npz", maps_arrays(rng))
                _arrays(tdir / "prototypes.npz", {k: rng.normal(size=(16, 16)).astype(np.float32) for k in "abcd"})

    for switches, fail in (((0, 0, 0, 0), False), ((1, 1, 1, 1), False), ((1, 1, 1, 1), True)):
        cfg = config(SCRIPT, switches, 0, enc_layers=2 if fail else 1)
        tid, tdir = add("datasets", "datasets", f"Datasets {SCRIPT}", cfg)
        tdir.mkdir()
        if fail:
            json.dump({"status": "failed", "error": f"ValueError: bad {SCRIPT}", "config": cfg},
                      open(tdir / "metrics.json", "w"))
            continue
        per_image = mpii_per_image(rng, visible, 0.5)
        json.dump(completed(cfg, mpii_metrics(per_image), rng, 60.0), open(tdir / "metrics.json", "w"))
        _arrays(tdir / "maps.npz", maps_arrays(rng))

    for spe in (0, 1):
        for ms in (0, 1):
            for reppg in (0, 1):
                for pdc in (0, 1):
                    for seed, noise in ((0, 0.01), (1, -0.01)):
                        cfg = config("mpii_fact", (spe, ms, reppg, pdc), seed)
                        tid, tdir = add("factorial", "factorial", "Factorial (fixture)", cfg)
                        tdir.mkdir()
                        mean = 0.3 + 0.1 * spe + 0.05 * reppg * pdc + noise
                        json.dump(completed(cfg, {"Mean": mean, "Mean@0.1": mean / 2}, rng, 10.0),
                                  open(tdir / "metrics.json", "w"))
    (root / "index.json").write_text(json.dumps(index, indent=1))
    return root


def make_full_scale(root: Path) -> Path:
    """A full-scale COCO Table 1 folder: the HR48 256×192 LOFR row (AP unknown in the paper) and R50 baseline."""
    index = {"matrix": "full", "scale": "full", "source": "run_matrix.yaml",
             "studies": {"table1": {"table": "table1", "title": "Table 1", "trials": []}}, "trials": {}}
    rng = np.random.default_rng(1)
    for backbone, switches, ap in (("resnet50", (0, 0, 0, 0), 0.33), ("hrnet_w48", (1, 1, 1, 1), 0.55)):
        cfg = config("coco", switches, 0, scale="full", kind="coco", backbone=backbone, input_size=(256, 192),
                     enc_layers=4, dec_layers=6)
        tid = trial_id(cfg)
        index["studies"]["table1"]["trials"].append(tid)
        index["trials"][tid] = {"studies": ["table1"], "config": cfg}
        (root / tid).mkdir(parents=True)
        metrics = {"AP": ap, "AP .5": ap + 0.1, "AP .75": ap - 0.02, "AP (M)": ap - 0.03, "AP (L)": ap + 0.01,
                   "AR": ap + 0.05}
        result = completed(cfg, metrics, rng, 7200.0)
        result["cost"]["device"] = "NVIDIA H100 80GB HBM3"
        result["response_stats"] = {}
        json.dump(result, open(root / tid / "metrics.json", "w"))
    (root / "index.json").write_text(json.dumps(index))
    return root
