"""A study's trials in many seeds, one after another on one machine, without Ray or pycocotools:
the readings study's seeds on a bare GPU machine, in one prepared command.

From the repository root, with nothing installed beyond what scripts/gpu_check.py needs (torch,
torchvision, timm, numpy, scipy, scikit-learn, OpenCV, PyYAML):

    python3 scripts/gpu_seeds.py run_matrix.yaml --scale screen14 --only readings_seeds39 \
        --seeds 0-19 --results $OUT/gpu_results --twin-cache /tmp/twins --results-only --max-seconds 480

Why: every module of Table 5 reads within +-4-6 points of zero over six CPU seeds, and a +-1-point
interval needs ~30-60 seeds a row (experiments/readings/README.md, "Which link fails"): a GPU's
job, lent a few minutes at a time. Each trial is `harness.trial.run_trial` as `harness run` runs
it (the same config and trial id, the matrix's seeds), with two differences that a reader of its
figures must know: every evaluation scores the location metric alone (box PCK@0.1 for COCO, no
OKS AP: `location_only`, recorded in metrics.json's `evaluation`), and the trial runs in this
process on the device `auto` picks (the GPU where there is one). A trial on a GPU does not give
the numbers the same trial gives on a CPU: pair trials of one machine only (metrics.json's
`machine`; the report and versus.py flag pairs across machines).

Layout as `harness run` writes it (`<results>/<matrix>/<scale>/<trial id>/`, index.json,
references/ with a location-only mean pose), so that `harness report` (AP cells empty, with a
note saying why), experiments/readings/seeds.py and versus.py read it. Trials go seed by seed (each seed's rows together), a completed trial
is skipped (a rerun resumes), and a trial starts only while `--max-seconds` leaves room for the
longest one run so far: a device lent for minutes returns whole trials. Progress: one line per
epoch. Exit 0 when every planned trial is completed, 3 when the ceiling left some unstarted,
2 on bad input (one line naming the file and the problem).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

# Why: the script runs from a plain checkout (no install); the project's packages come from it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from harness.cli import seed_list  # noqa: E402
from harness.errors import UserError  # noqa: E402
from harness.layout import merge_index, run_dir, twin_cache_dir  # noqa: E402
from harness.matrix import PlannedTrial, expand  # noqa: E402
from harness.reference import reference_name, write_reference  # noqa: E402
from harness.trial import resolve_dataset, run_trial  # noqa: E402
from harness.trial.run import is_completed  # noqa: E402

CEILING_CUT = 3
# what --results-only deletes from a completed trial (metrics.json, per_image.npz stay)
HEAVY = ("checkpoint.pt", "maps.npz", "predictions.json", "prototypes.npz")


def ordered(trials: list[PlannedTrial]) -> list[PlannedTrial]:
    """Seed by seed, the plan's row order within a seed: a cut run leaves whole pairs."""
    return sorted(trials, key=lambda t: t.config.seed)  # sorted() is stable: rows keep their order


def with_workers(trial: PlannedTrial, workers: int | None) -> PlannedTrial:
    """The trial with `schedule.num_workers` set (not part of the trial id: the same experiment)."""
    if workers is None:
        return trial
    cfg = trial.config
    return dataclasses.replace(trial, config=dataclasses.replace(
        cfg, schedule=dataclasses.replace(cfg.schedule, num_workers=workers)))


def default_workers() -> int | None:
    """On a GPU, the loader's workers: every CPU but the one that trains, at most 8 (the GPU
    check's largest count); on CPU, None (the config's own)."""
    if not torch.cuda.is_available():
        return None
    return max(0, min(8, (os.cpu_count() or 1) - 1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="gpu_seeds.py", description=__doc__.splitlines()[0])
    ap.add_argument("matrix", type=Path)
    ap.add_argument("--scale", required=True)
    ap.add_argument("--only", required=True, help="the study whose trials run")
    ap.add_argument("--seeds", type=seed_list, default=None, help="e.g. '0-19' (default: the matrix's)")
    ap.add_argument("--results", type=Path, default=Path("gpu_results"))
    ap.add_argument("--max-seconds", type=float, default=540.0,
                    help="start no trial that the longest one so far would carry past this (default 540)")
    ap.add_argument("--twin-cache", type=Path, default=None,
                    help="where synthetic twins are made and kept (default <results>/.twins): on a lent "
                         "device, outside the folder whose files come back (a 20,000-image twin is ~390 MB)")
    ap.add_argument("--results-only", action="store_true",
                    help="keep each completed trial's metrics.json and per_image.npz alone (what seeds.py "
                         "and versus.py read), deleting its checkpoint, maps and predictions: ~15 MB less a trial")
    ap.add_argument("--workers", type=int, default=None,
                    help="loader workers per trial (default: on a GPU min(8, CPUs - 1); on CPU the config's)")
    a = ap.parse_args(argv)
    started = time.monotonic()
    try:
        plan = expand(a.matrix, a.scale, a.seeds)
        study_order = list(plan.studies)
        plan = plan.only(a.only)
        missing = sorted({p for t in plan.trials for p in t.missing_data})
        if missing:
            raise UserError(f"{a.matrix}: dataset path not found: {missing[0]}")
    except UserError as err:  # MatrixError is one: the file, the key, the problem
        print(err, file=sys.stderr)
        return 2
    workers = a.workers if a.workers is not None else default_workers()
    trials = [with_workers(t, workers) for t in ordered(plan.trials)]
    folder = run_dir(a.results, plan.name, plan.scale)
    twins = a.twin_cache.resolve() if a.twin_cache is not None else twin_cache_dir(a.results)
    merge_index(plan, folder, {t.id: reference_name(t.config) for t in trials}, study_order)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"{plan.name} at scale {plan.scale}, study {a.only}: {len(trials)} trials on {device} "
          f"(loader workers {workers if workers is not None else 'as configured'}) -> {folder}", flush=True)
    longest, left = 0.0, []
    for i, t in enumerate(trials):
        if is_completed(folder / t.id):
            print(f"[{i + 1}/{len(trials)}] {t.id} seed {t.config.seed}: completed before", flush=True)
            continue
        elapsed = time.monotonic() - started
        if elapsed + longest > a.max_seconds:
            left = trials[i:]
            break
        ds = t.config.dataset
        write_reference(resolve_dataset(ds, twins), t.config.model.input_size,
                        folder / "references" / f"{reference_name(t.config)}.json",
                        t.config.schedule.max_val_instances, location_only=True)
        t0 = time.monotonic()
        result = run_trial(t.config, folder / t.id, twin_cache=twins, location_only=True,
                           progress=lambda msg, i=i, t=t: print(f"[{i + 1}/{len(trials)}] {t.id} {msg}", flush=True))
        longest = max(longest, time.monotonic() - t0)
        if a.results_only:
            for name in HEAVY:
                (folder / t.id / name).unlink(missing_ok=True)
        reads = ", ".join(f"{k} {v:.3f}" for k, r in result.get("readouts", {}).items()
                          for v in r.values() if isinstance(v, float))
        print(f"[{i + 1}/{len(trials)}] {t.id} seed {t.config.seed} {t.config.supervision.regime}: "
              f"{time.monotonic() - t0:.0f} s | {reads}", flush=True)
    left = [t for t in left if not is_completed(folder / t.id)]
    print(f"{len(trials) - len(left)} of {len(trials)} trials completed in {folder} "
          f"({time.monotonic() - started:.0f} s)" + (f"; {len(left)} not started (--max-seconds)" if left else ""))
    return CEILING_CUT if left else 0


if __name__ == "__main__":
    sys.exit(main())
