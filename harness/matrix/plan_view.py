"""`harness plan`'s readable view: the studies and their tables, the trial table and a cost estimate.

Each study is listed with the report page that its table becomes (`harness/tables/`). The
estimate is trials x epochs x training instances / throughput. Training instances come from
the annotation file when it is on disk, else from the dataset's published size (its spec); throughput
comes from finished trials under the results root (`cost.train_img_per_s` in their metrics.json,
same device kind and model config: `harness/matrix/rates.py`) when there are any, else from the model's
GMACs at an assumed sustained rate. Every figure says which source it used. Nothing is written
into the project or the results folder (GMACs are cached in the user's cache folder).
"""
from __future__ import annotations

from pathlib import Path

from harness.config import to_dict
from harness.config.identity import flatten
from harness.matrix import Plan
from harness.paper.modules import modules, switches_on
from harness.paper.readings import departures as departures_of
from harness.paper.readings import describe
from harness.matrix.rates import GmacsCache, measured_rates, rate_key, train_instances, training_work
from harness.tables import TABLES

# Assumed sustained training rate when nothing was measured: 25 TFLOP/s on a GPU (bf16,
# V100/A100 class), 0.05 TFLOP/s on one CPU core; a training step ~ 3x the forward FLOPs.
ASSUMED_TFLOPS = {"gpu": 25.0, "cpu": 0.05}


def duration(seconds: float) -> str:
    """A wall time in hours below a day ("3.5 hours"), in days above."""
    if seconds < 86400:
        return f"{seconds / 3600:,.1f} hours"
    return f"{seconds / 86400:,.1f} days"


def _studies(plan: Plan) -> list[str]:
    """One line a study: its table, trials and report page, with the columns that name its rows."""
    studies = plan.studies.values()
    w = max(len("study"), *(len(s.name) for s in studies)), max(len("table"), *(len(s.table) for s in studies))
    lines = [f"{'study':{w[0]}}  {'table':{w[1]}}  trials  report page (rows named by)"]
    for name, ids in plan.study_trials().items():
        table = TABLES[plan.studies[name].table]
        lines.append(f"{name:{w[0]}}  {table.key:{w[1]}}  {len(ids):6}  {table.title} "
                     f"({', '.join(c.header for c in table.label_columns)})")
    return lines + [""]


def plan_table(plan: Plan, results_root: Path = Path("results")) -> str:
    lines = [f"{plan.source}: scale {plan.scale}, {len(plan.trials)} trials "
             f"({', '.join(f'{s}: {len(ids)}' for s, ids in plan.study_trials().items())})", ""]
    lines += _studies(plan)
    switches = [(m.name, max(3, len(m.name))) for m in modules()]  # one column per declared module
    header = f"{'id':12}  {'dataset':14} {'backbone':9} {'input':7} " \
             + "".join(f"{name:{w}} " for name, w in switches) + f"{'En/De':5} {'supervision':16} {'seed':4} {'rd':2}  studies"
    lines.append(header)
    lines.append("-" * len(header))
    device = "gpu" if plan.resources.gpus_per_trial > 0 else "cpu"
    rates = measured_rates(results_root)
    gmacs = GmacsCache()
    total_img, measured_s, assumed_flop, sources = 0.0, 0.0, 0.0, set()
    missing = set()
    departures: dict[str, list[str]] = {}  # the readings a trial takes that are not literal -> trial ids
    for t in plan.trials:
        c = t.config
        m = c.model
        yes = lambda b: "x" if b else "."  # noqa: E731
        flat = flatten(c.to_dict())
        marks_on = "".join(f"{yes(on):{w}} " for on, (_, w) in zip(switches_on(flat), switches))
        not_literal, n_readings = describe(flat), len(departures_of(flat))
        marks = f"{n_readings:<2}" if n_readings else ". "
        if not_literal:
            departures.setdefault(not_literal, []).append(t.id)
        lines.append(
            f"{t.id:12}  {c.dataset.name[:14]:14} {m.backbone:9} {m.input_size[0]}x{m.input_size[1]:<4} "
            f"{marks_on}{m.enc_layers}/{m.dec_layers:<3} {c.supervision.label[:16]:16} {c.seed:<4} {marks}  {','.join(t.studies)}")
        n, src = train_instances(c)
        sources.add(src)
        images = n * c.schedule.epochs
        total_img += images
        key = rate_key(to_dict(m), device)
        if key in rates:
            measured_s += images / rates[key]
        else:
            assumed_flop += training_work(c, gmacs) * 2 * 1e9
        missing.update(t.missing_data)
    gmacs.save()
    seconds = measured_s + assumed_flop / (ASSUMED_TFLOPS[device] * 1e12)
    slots = max(1.0, 1.0 / plan.resources.gpus_per_trial) if device == "gpu" else 1.0
    lines.append("")
    unit = "GPU" if device == "gpu" else "CPU-core"
    basis = "measured img/s of finished trials" if assumed_flop == 0 else (
        f"GMACs at an assumed {ASSUMED_TFLOPS[device]:g} TFLOP/s per {unit}"
        + (" and measured img/s" if measured_s else ""))
    lines.append(f"{len(plan.trials)} trials, {total_img:,.0f} training images in all "
                 f"({', '.join(sorted(sources))}), ~ {seconds / 3600 / slots:,.1f} {unit}-hours "
                 f"({basis}), ~ {duration(seconds / 4 / slots)} on 4 {unit}s")
    if departures:
        lines.append("")
        lines.append("rd: how many of the paper's ambiguous passages a trial reads otherwise than literally "
                     "('harness readings' lists them):")
        for text, ids in departures.items():
            lines.append(f"  {text}: {len(ids)} trial{'s' if len(ids) > 1 else ''} "
                         f"({', '.join(ids[:3])}{' ...' if len(ids) > 3 else ''})")
    if missing:
        lines.append(f"missing data ({len(missing)} paths): " + ", ".join(sorted(missing)[:4])
                     + (" ..." if len(missing) > 4 else ""))
    return "\n".join(lines)
