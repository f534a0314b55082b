"""The one-screen summary of a GPU check's report (the JSON's figures, rounded for reading)."""
from __future__ import annotations

from typing import Any

TOP_LINES = 5  # operators / kernels shown of the profile


def _f(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def summary(report: dict[str, Any]) -> str:
    env = report["environment"]
    where = env.get("gpu") or f"CPU ({env['cpu_count']} cores)"
    lines = [f"GPU check ({report['mode']}): {where}, torch {env['torch']}, "
             f"{_f(report.get('wall_s'), '.0f')} s of a {report['settings']['max_seconds']:.0f} s ceiling"
             + (" -- CEILING HIT, the run was cut" if report.get("ceiling_hit") else "")]
    dtype = "bf16 autocast" if report["mode"] == "cuda" else "float32"
    lines.append(f"{'step (' + dtype + ')':<27}compiled    batch   img/s   TFLOP/s  peak%  mem MB  compile s")
    for r in report["step_throughput"]:
        name = f"{r['backbone']} {r['network']}"
        lines.append(f"  {name:<25}{(r['compile_backend'] or 'eager'):<12}{r['batch']:>5}{r['img_per_s']:>8.1f}"
                     f"{r['tflops']:>10.2f}{100 * r['peak_share']:>7.1f}{r['peak_mem_mb']:>8.0f}"
                     f"{_f(r['compile_s']):>11}")
    prof = report.get("profile")
    if prof:
        top = prof["top_kernels"] or prof["top_ops"]
        lines.append(f"top of one {prof['network']} step ({prof['sorted_by']}): "
                     + "; ".join(f"{e['name'][:40]} {_pct(e['share'])}" for e in top[:TOP_LINES]))
    for r in report["feeding"]:
        lines.append(f"  feed {r['dataset']:<8} {r['workers']} workers: loader {_f(r['loader_img_per_s'])} img/s, "
                     f"data wait {_pct(r['data_wait_fraction'])} of the step at batch {r['batch']}"
                     f" (model step {_f(r['model_step_img_per_s'])} img/s)")
    for run in report.get("training_runs") or []:
        losses = " -> ".join(f"{e['total']:.3f}" for e in run["losses"])
        reads = ", ".join(f"{k} {_f(v, '.3f')}" for k, v in run["readouts"].items())
        lines.append(f"training run ({run['regime']}, {run['steps']} steps, batch {run['batch']}): losses {losses} "
                     f"({'falling' if run['falling'] else 'NOT falling'}{'' if run['finite'] else ', NOT finite'})")
        lines.append(f"  {run['location_metric']} read-outs: {reads}; {_f(run['train_img_per_s'])} img/s, "
                     f"data wait {_pct(run['data_wait_fraction'])}")
    for t in report["tasks"]:
        if t["status"] != "ok":
            lines.append(f"  {t['status'].upper()}: {t['name']}: {t.get('error') or t.get('reason')}")
    lines.append(f"report: {report['json_path']}")
    return "\n".join(lines)
