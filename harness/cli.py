"""The `harness` command line: run, plan, report, readings, evaluate, synth, trial.

This is the only place that turns exceptions into exit codes: a `UserError` (bad input the user
must fix) is printed as one line on stderr with exit code 2; anything else is a bug or a failed
computation and keeps its traceback.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness.data.specs import SPECS
from harness.errors import UserError


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (exit 2), not usage + error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def seed_list(text: str) -> list[int]:
    """'0,1,2', '0 1 2', ranges with both ends included ('0-39': forty seeds, what a claim of a
    ~1-point effect needs at screen14) or both mixed; each seed at most once, in the order given."""
    seeds: list[int] = []
    for token in text.replace(",", " ").split():
        low, dash, high = token.partition("-")
        try:
            span = list(range(int(low), int(high) + 1)) if dash else [int(token)]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"seeds must be non-negative integers or ranges like 0-39, got {text!r}") from None
        if not span:
            raise argparse.ArgumentTypeError(f"the range {token!r} ends before it starts")
        seeds.extend(span)
    if not seeds or any(s < 0 for s in seeds):
        raise argparse.ArgumentTypeError(f"seeds must be non-negative integers, got {text!r}")
    twice = sorted({s for s in seeds if seeds.count(s) > 1})
    if twice:
        raise argparse.ArgumentTypeError(f"seed {twice[0]} given twice in {text!r}")
    return seeds


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="harness", description=(
        "Benchmarking and ablation harness for Location-Free Human Pose Estimation (LOFR). "
        "Typical use: 'harness run run_matrix.yaml --scale smoke' then 'harness report'."))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("run", help="run every trial of a matrix file as Ray Tune trials",
                       description="Expand MATRIX and run its trials with Ray Tune; finished trials "
                                   "(metrics.json status completed) are never redone.")
    p.add_argument("matrix", help="matrix file (YAML), e.g. run_matrix.yaml")
    p.add_argument("--scale", default="full",
                   help="a scale of the matrix file: full (the paper's settings on real data), synthetic "
                        "(synthetic twins, resnet18, <= 60 min on a 2-core CPU), smoke (tiny, minutes on "
                        "CPU), or any other scale the file defines (default: full)")
    p.add_argument("--results", default="results",
                   help="results root (default: results/); this run goes to <results>/<matrix>/<scale>/")
    p.add_argument("--address", default=None,
                   help="join an existing Ray cluster ('auto' or 'ray://host:port'); default: start a local Ray")
    p.add_argument("--gpus-per-trial", type=float, default=None,
                   help="GPUs per trial (0.5 packs two trials on a GPU; >1 trains data-parallel)")
    p.add_argument("--cpus-per-trial", type=float, default=None, help="CPUs per trial")
    p.add_argument("--max-failures", type=int, default=None, help="retries of a failing trial before it is recorded as failed")
    p.add_argument("--max-concurrent", type=int, default=None, help="at most this many trials at once (0 = no limit)")
    p.add_argument("--seeds", type=seed_list, default=None, help="seeds, e.g. '0,1,2' or '0-39' (default: the matrix's)")
    p.add_argument("--only", default=None,
                   help="run only the trials of this study (index.json keeps what earlier runs recorded)")
    p.add_argument("--num-gpus", type=float, default=None,
                   help="logical GPUs for a local Ray (testing scheduling without CUDA)")
    p.add_argument("--device", choices=("auto", "cpu"), default=None,
                   help="override every trial's device (cpu: train on CPU even where Ray assigned a GPU)")
    p.add_argument("--report", action="store_true", help="also write the HTML report (as 'harness report') at the end")

    p = sub.add_parser("plan", help="list the trials of a matrix file without running them",
                       description="Expand MATRIX into deduplicated trials; works without the datasets on disk.")
    p.add_argument("matrix")
    p.add_argument("--scale", default="full", help="a scale defined in the matrix file (default: full)")
    p.add_argument("--seeds", type=seed_list, default=None, help="seeds, e.g. '0,1,2' or '0-39'")
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per trial")
    p.add_argument("--results", default="results",
                   help="results root whose finished trials' measured speeds the estimate uses (read only; "
                        "default: results/)")

    p = sub.add_parser("report", help="render a results folder as HTML",
                       description="Read a results folder (no Ray, no training) and write index.html "
                                   "plus one page per study.")
    p.add_argument("--results", default="results",
                   help="the results root 'harness run --results' took (default: results/), holding one run "
                        "folder <matrix>/<scale>/, or that run folder itself")
    p.add_argument("--out", default="reports", help="output folder (default: reports/)")

    p = sub.add_parser("readings", help="list the paper's ambiguous passages and their declared readings",
                       description="Print every passage of the paper that admits several readings: its "
                                   "quote, its config key, its choices tagged literal / reading / beyond the "
                                   "paper, and the default (harness/paper/readings.py). Needs no dataset.")
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per passage")

    p = sub.add_parser("evaluate", help="evaluate a results file with the dataset's evaluator",
                       description="Evaluate PRED against GT as it is (no rescoring, no NMS) and print "
                                   "one JSON object of metrics (fractions in [0, 1]).")
    p.add_argument("--dataset", choices=sorted(SPECS), required=True)
    p.add_argument("--ann", required=True, help="ground-truth annotation file")
    p.add_argument("--pred", required=True, help="predictions (COCO results json, or the MPII list form)")
    p.add_argument("--head-boxes", default=None,
                   help="MPII: mpii_gt_val.mat, for the standard PCKh (without it, head sizes are estimated "
                        "from the joints and the numbers are not comparable with published ones)")

    p = sub.add_parser("synth", help="write a synthetic twin of a dataset",
                       description="Write N training and M validation images with annotations in the "
                                   "real layout of the dataset.")
    p.add_argument("--dataset", choices=sorted(SPECS), required=True)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--num-images", type=int, required=True, help="training images")
    p.add_argument("--num-val", type=int, default=None, help="validation images (default: N/4, at least 4)")
    p.add_argument("--seed", type=int, default=0)

    p = sub.add_parser("trial", help="run one trial from a trial config file (debugging)",
                       description="Train and evaluate one trial config (YAML or JSON: a TrialConfig "
                                   "mapping, or a metrics.json whose 'config' is used) into --out.")
    p.add_argument("config", help="trial config file")
    p.add_argument("--out", required=True, help="trial folder (resumes from its checkpoint)")
    p.add_argument("--twin-cache", default=None, help="where synthetic twins are cached (default: <out>/../.twins)")
    p.add_argument("--reference", action="store_true",
                   help="also score the mean-pose reference on the trial's validation instances "
                        "(written to <out>/reference.json, as 'harness run' writes references/)")
    return parser


def _cmd_plan(args: argparse.Namespace) -> int:
    from harness.matrix import expand
    from harness.matrix.plan_view import plan_table

    plan = expand(args.matrix, args.scale, args.seeds)
    if args.json:
        print(json.dumps([t.to_json(plan.resources) for t in plan.trials], indent=2))
    else:
        print(plan_table(plan, Path(args.results)))
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from harness.runner import RunOptions, run_matrix

    opts = RunOptions(
        scale=args.scale, results_root=Path(args.results), address=args.address,
        gpus_per_trial=args.gpus_per_trial, cpus_per_trial=args.cpus_per_trial,
        max_failures=args.max_failures, max_concurrent=args.max_concurrent, seeds=args.seeds,
        only=args.only, num_gpus=args.num_gpus, device=args.device, report=args.report,
    )
    summary = run_matrix(Path(args.matrix), opts)
    return 0 if summary.failed == 0 else 1


def _cmd_report(args: argparse.Namespace) -> int:
    from harness.report import build_report

    from harness.layout import pick_run_dir

    index = build_report(pick_run_dir(Path(args.results)), Path(args.out))
    print(f"report: {index}")
    return 0


def _cmd_readings(args: argparse.Namespace) -> int:
    from harness.paper import readings_view

    print(json.dumps(readings_view.as_json(), indent=2) if args.json else readings_view.as_text(), end="\n" if args.json else "")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from harness.evaluation.evaluator import evaluate_command

    metrics = evaluate_command(args.dataset, args.ann, args.pred, args.head_boxes)
    spec = SPECS[args.dataset]
    for note in spec.evaluator.command_notes(spec, args.head_boxes):
        print(f"harness evaluate: note: {note}", file=sys.stderr)
    print(json.dumps(metrics))
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    from harness.data.synth import synth_main

    if args.num_images < 1:
        raise UserError(f"--num-images must be >= 1, got {args.num_images}")
    paths = synth_main(args.dataset, args.out, args.num_images, args.num_val, args.seed)
    print(json.dumps(paths))
    return 0


def _cmd_trial(args: argparse.Namespace) -> int:
    from harness.trial import load_trial_config, run_trial

    cfg = load_trial_config(Path(args.config))
    out = Path(args.out)
    twin_cache = Path(args.twin_cache) if args.twin_cache else out.parent / ".twins"
    result = run_trial(cfg, out, twin_cache=twin_cache, progress=print)
    print(json.dumps(result["metrics"]))
    if args.reference:
        from harness.reference import write_reference
        from harness.trial import resolve_dataset

        ref = write_reference(resolve_dataset(cfg.dataset, twin_cache), cfg.model.input_size,
                              out / "reference.json", cfg.schedule.max_val_instances)
        print(json.dumps({"mean_pose": ref["metrics"]}))
    return 0


COMMANDS = {"run": _cmd_run, "plan": _cmd_plan, "report": _cmd_report, "readings": _cmd_readings,
            "evaluate": _cmd_evaluate, "synth": _cmd_synth, "trial": _cmd_trial}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except UserError as exc:
        print(f"harness {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"harness {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
