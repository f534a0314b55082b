"""Issue 22 (datasets declared once): the numbers before and after the change, compared.

    python experiments/datasets_spec/compare.py runs BEFORE_RUN_DIR AFTER_RUN_DIR
    python experiments/datasets_spec/compare.py twins BEFORE_TWIN_CACHE AFTER_TWIN_CACHE
    python experiments/datasets_spec/compare.py evaluate BEFORE_TREE AFTER_TREE WORK_DIR
    python experiments/datasets_spec/compare.py plans BEFORE_TREE AFTER_TREE MATRIX

`runs`: two run folders of the same matrix and scale (`<results>/<matrix>/<scale>/`): the same
trial ids, and in every metrics.json the same `metrics`, `readouts`, `classification`, `errors`,
`curve` (and `config`, `evaluation`, `response_stats`, `data`); the same predictions.json bytes and
per-image arrays; the same mean-pose references (json and arrays). Timings, cost, host and dates
are not compared: they differ from run to run.

`twins`: every file of every synthetic twin byte for byte (images, annotation files, twin.json).

`evaluate`: `harness evaluate` (the CLI, in a subprocess with PYTHONPATH=TREE) on the sample files
of tests/data/samples with predictions written here (the ground truth itself, seeded perturbations
with misses and false positives, MPII with and without a head-box .mat, bad input), and the
library beneath it (`evaluate`'s per-image arrays and error categories, `location_metrics` on a
subset of images, `build_results`' OKS-NMS): stdout, stderr and exit codes must be identical.

`plans`: `harness plan MATRIX --scale S --json` for every scale of the matrix (trial ids and
resolved configs) under both trees.

Prints one line per difference and a summary; exit code 1 when anything differs.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "tests" / "data" / "samples"
ANN = {"coco": "coco/test_coco.json", "crowdpose": "crowdpose/test_crowdpose.json", "mpii": "mpii/test_mpii.json"}
COMPARED = ("status", "config", "metrics", "readouts", "classification", "errors", "curve", "evaluation",
            "response_stats", "data")


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _same_arrays(a: Path, b: Path) -> list[str]:
    x, y = _arrays(a), _arrays(b)
    if set(x) != set(y):
        return [f"{b}: keys {sorted(x)} vs {sorted(y)}"]
    return [f"{b}: array {k} differs" for k in x
            if x[k].shape != y[k].shape or not np.array_equal(x[k], y[k], equal_nan=x[k].dtype.kind == "f")]


def compare_runs(before: Path, after: Path) -> tuple[list[str], str]:
    diffs: list[str] = []
    ids_b = {p.name for p in before.iterdir() if (p / "metrics.json").is_file()}
    ids_a = {p.name for p in after.iterdir() if (p / "metrics.json").is_file()}
    if ids_b != ids_a:
        diffs.append(f"trial ids differ: only before {sorted(ids_b - ids_a)}, only after {sorted(ids_a - ids_b)}")
    for tid in sorted(ids_b & ids_a):
        mb, ma = (json.loads((d / tid / "metrics.json").read_text()) for d in (before, after))
        diffs += [f"{tid}: metrics.json {key} differs" for key in COMPARED if mb.get(key) != ma.get(key)]
        if (before / tid / "predictions.json").read_bytes() != (after / tid / "predictions.json").read_bytes():
            diffs.append(f"{tid}: predictions.json differs")
        diffs += _same_arrays(before / tid / "per_image.npz", after / tid / "per_image.npz")
    refs_b = sorted(p.name for p in (before / "references").iterdir())
    refs_a = sorted(p.name for p in (after / "references").iterdir())
    if refs_b != refs_a:
        diffs.append(f"references differ: {refs_b} vs {refs_a}")
    for name in set(refs_b) & set(refs_a):
        b, a = before / "references" / name, after / "references" / name
        if name.endswith(".json") and json.loads(b.read_text()) != json.loads(a.read_text()):
            diffs.append(f"reference {name} differs")
        if name.endswith(".npz"):
            diffs += _same_arrays(b, a)
    index_b, index_a = (json.loads((d / "index.json").read_text()) for d in (before, after))
    if {k: v for k, v in index_b.items() if k != "source"} != {k: v for k, v in index_a.items() if k != "source"}:
        diffs.append("index.json differs")
    return diffs, f"{len(ids_b & ids_a)} trials, {len(refs_b)} reference files compared"


def compare_twins(before: Path, after: Path) -> tuple[list[str], str]:
    def digests(root: Path) -> dict[str, str]:
        return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".")}

    b, a = digests(before), digests(after)
    diffs = [f"twin file {k}: {'missing after' if k not in a else 'missing before' if k not in b else 'differs'}"
             for k in sorted(set(b) | set(a)) if b.get(k) != a.get(k)]
    return diffs, f"{len(b)} twin files compared"


# -- harness evaluate -----------------------------------------------------------------------------

def _coco_predictions(ann: dict, seed: int, noise: float) -> list[dict]:
    """Shifted keypoints, coarse scores (ties), one person missed, one false positive."""
    rng = np.random.default_rng(seed)
    out = []
    for n, a in enumerate(a for a in ann["annotations"] if a["num_keypoints"] > 0):
        if n == 1:
            continue
        kp = np.asarray(a["keypoints"], dtype=np.float64).reshape(-1, 3)
        kp[:, :2] += rng.normal(0.0, noise * (1 + n % 3), size=(len(kp), 2))
        kp[:, 2] = rng.uniform(0.0, 1.0, size=len(kp))
        out.append({"image_id": a["image_id"], "category_id": 1, "keypoints": kp.reshape(-1).tolist(),
                    "score": float(np.round(rng.uniform(0.2, 1.0), 1))})
        if n == 2:
            fp = kp.copy()
            fp[:, :2] += 120.0
            out.append({"image_id": a["image_id"], "category_id": 1, "keypoints": fp.reshape(-1).tolist(),
                        "score": 0.9})
    return out


def _mpii_predictions(ann: list, seed: int, noise: float) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for i, a in enumerate(ann):
        if i == 1:
            continue  # an annotation without a prediction is not scored
        xy = np.asarray(a["joints"], dtype=np.float64) + rng.normal(0.0, noise, size=(16, 2))
        out.append({"index": i, "keypoints": np.c_[xy, rng.uniform(0, 1, 16)].tolist()})
    return out


def write_cases(work: Path) -> list[tuple[str, list[str]]]:
    """The prediction files and a .mat under `work`; (case name, `harness evaluate` arguments)."""
    sys.path.insert(0, str(REPO / "tests"))
    from mat_files import write_gt_mat

    work.mkdir(parents=True, exist_ok=True)
    cases = []
    for kind in ("coco", "crowdpose"):
        ann_path = SAMPLES / ANN[kind]
        ann = json.loads(ann_path.read_text())
        exact = [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0}
                 for a in ann["annotations"] if a["num_keypoints"] > 0]
        for name, preds in [("exact", exact)] + [(f"noise{n}-seed{s}", _coco_predictions(ann, s, n))
                                                 for n in (1.0, 4.0, 12.0) for s in (0, 1)]:
            path = work / f"{kind}-{name}.json"
            path.write_text(json.dumps(preds))
            cases.append((f"{kind} {name}", ["--dataset", kind, "--ann", str(ann_path), "--pred", str(path)]))
    ann_path = SAMPLES / ANN["mpii"]
    ann = json.loads(ann_path.read_text())
    gt = np.array([a["joints"] for a in ann], dtype=np.float64)
    missing = np.array([a["joints_vis"] for a in ann]) == 0
    centre = 0.5 * (gt[:, 8] + gt[:, 9])
    half = np.random.default_rng(9).uniform(15.0, 40.0, size=(len(ann), 2))
    mat = write_gt_mat(work / "mpii_gt_val.mat", gt, missing, np.concatenate([centre - half, centre + half], 1))
    for n in (2.0, 8.0, 20.0):
        path = work / f"mpii-noise{n}.json"
        path.write_text(json.dumps(_mpii_predictions(ann, 3, n)))
        base = ["--dataset", "mpii", "--ann", str(ann_path), "--pred", str(path)]
        cases += [(f"mpii noise{n}", base), (f"mpii noise{n} mat", base + ["--head-boxes", str(mat)])]
    bad = work / "bad.json"
    bad.write_text(json.dumps([{"image_id": 1, "keypoints": [0.0] * 3}]))
    cases += [("coco with head boxes", ["--dataset", "coco", "--ann", str(SAMPLES / ANN["coco"]), "--pred",
                                        str(work / "coco-exact.json"), "--head-boxes", str(mat)]),
              ("coco bad predictions", ["--dataset", "coco", "--ann", str(SAMPLES / ANN["coco"]), "--pred", str(bad)]),
              ("mpii bad predictions", ["--dataset", "mpii", "--ann", str(ann_path), "--pred", str(bad)]),
              ("unknown dataset", ["--dataset", "lsp", "--ann", str(ann_path), "--pred", str(bad)])]
    return cases


# Run under each tree: `evaluate` and `location_metrics` in full, and `build_results` (either signature).
LIBRARY_PROBE = r"""
import inspect, json, sys
import numpy as np
from harness.data.specs import SPECS
from harness.evaluation.evaluator import evaluate, location_metrics
from harness.evaluation.results import build_results

cases = json.loads(sys.argv[1])
def plain(x):
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, np.ndarray) and x.dtype.kind in "biuf":
        return [str(x.dtype), list(x.shape), np.nan_to_num(x.astype(float), nan=-7.5).ravel().tolist()]
    if isinstance(x, np.ndarray):
        return [str(x.dtype), x.tolist()]
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    return x
out = {}
for name, kind, ann, pred, mat in cases:
    ev = evaluate(kind, ann, pred, head_boxes=mat)
    out[name] = {"metrics": ev.metrics, "errors": plain(ev.errors), "details": ev.details,
                 "per_image": plain(ev.per_image)}
    gt = json.load(open(ann))
    ids = sorted(i["id"] for i in gt["images"])[::2] if isinstance(gt, dict) else None
    loc = location_metrics(kind, ann, pred, head_boxes=mat, image_ids=ids)
    out[name]["location"] = {"metrics": loc.metrics, "per_image": plain(loc.per_image)}
    if ids is not None:
        out[name]["subset"] = evaluate(kind, ann, pred, image_ids=ids).metrics
    preds = json.load(open(pred))
    spec = SPECS[kind]
    instances = []
    for i, p in enumerate(preds):
        kp = np.asarray(p["keypoints"], dtype=np.float64).reshape(spec.num_joints, 3)
        for dup in range(2):  # every person twice, the copy shifted by 1 px: OKS-NMS must drop it
            instances.append({"image_id": p.get("image_id", 0), "index": p.get("index", i) + 1000 * dup,
                              "keypoints": kp + [dup, dup, 0], "box_score": 0.5 + 0.1 * dup, "area": 5000.0,
                              "center": np.zeros(2), "scale": np.ones(2)})
    new = list(inspect.signature(build_results).parameters)[0] == "instances"
    out[name]["results"] = build_results(instances, spec) if new else build_results(kind, instances, spec)
print(json.dumps(out, sort_keys=True))
"""


def _run(tree: Path, args: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    p = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, cwd="/tmp")
    return {"rc": p.returncode, "out": p.stdout, "err": p.stderr}


def compare_evaluate(before: Path, after: Path, work: Path) -> tuple[list[str], str]:
    cases = write_cases(work)
    diffs = []
    for name, args in cases:
        b, a = (_run(tree, ["-m", "harness.cli", "evaluate", *args]) for tree in (before, after))
        if b != a:
            diffs.append(f"harness evaluate, {name}: before {b} / after {a}")
    library = [(name, a[1], a[3], a[5], a[7] if len(a) > 7 else None) for name, a in cases
               if name.split()[1].startswith(("exact", "noise"))]
    b, a = (_run(tree, ["-c", LIBRARY_PROBE, json.dumps(library)]) for tree in (before, after))
    if b["rc"] != 0 or a["rc"] != 0:
        diffs.append(f"library probe failed: before {b['err'][-500:]} / after {a['err'][-500:]}")
    else:
        lb, la = json.loads(b["out"]), json.loads(a["out"])
        diffs += [f"library, {name}, {key} differs" for name in lb for key in lb[name]
                  if lb[name][key] != la[name].get(key)]
    return diffs, f"{len(cases)} 'harness evaluate' runs and {len(library)} library cases compared"


def compare_plans(before: Path, after: Path, matrix: Path) -> tuple[list[str], str]:
    import yaml

    scales = list(yaml.safe_load(matrix.read_text())["scales"])
    diffs, trials = [], 0
    for scale in scales:
        args = ["-m", "harness.cli", "plan", str(matrix.resolve()), "--scale", scale, "--json"]
        b, a = (_run(tree, args) for tree in (before, after))
        if b != a:
            diffs.append(f"harness plan --scale {scale}: before rc {b['rc']} {b['err'][-300:]} / after rc {a['rc']} "
                         f"{a['err'][-300:]}")
        elif b["rc"] == 0:
            trials += len(json.loads(b["out"]))
    return diffs, f"{len(scales)} scales, {trials} planned trials compared"


def main(argv: list[str]) -> int:
    what = argv[0] if argv else ""
    if what == "runs" and len(argv) == 3:
        diffs, summary = compare_runs(Path(argv[1]), Path(argv[2]))
    elif what == "twins" and len(argv) == 3:
        diffs, summary = compare_twins(Path(argv[1]), Path(argv[2]))
    elif what == "plans" and len(argv) == 4:
        diffs, summary = compare_plans(Path(argv[1]), Path(argv[2]), Path(argv[3]))
    elif what == "evaluate" and len(argv) == 4:
        diffs, summary = compare_evaluate(Path(argv[1]), Path(argv[2]), Path(argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for line in diffs:
        print(line)
    print(f"{what}: {summary}; {'identical' if not diffs else f'{len(diffs)} differences'}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
