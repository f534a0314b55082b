"""One line per trial of a readings round: what sets it apart from the round's other trials (its
non-literal readings that not every trial shares, and every other config value that varies across
the round: the epochs, the CAM pooling's r, the modules), each read-out's location metric, the cnn
head's gain and the decoder's diagnostics, then the main effect of each factor that takes two
values in the round (mean with one value - mean with the other, on each read-out).

    python experiments/readings/summary.py results/run_matrix/screen

The report (`harness report --results <run folder>`) shows the same figures with intervals; this is
the compact view the round's log (experiments/readings/README.md) quotes.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.config.identity import flatten
from harness.paper.readings import departures
from harness.record import READOUTS

SHOWN = ("attention_entropy", "prototype_cos", "part_feature_cos", "response_cam_agreement",
         "response_cam_agreement_shuffled")


@dataclass
class Row:
    trial: str
    readings: dict[str, str]  # passage name -> the non-literal choice
    flat: dict[str, object]  # the trial's config, flattened
    reads: dict[str, float | None]  # read-out -> location metric
    gain: float
    diagnostics: dict[str, float]
    metric: str


def load_rows(run: Path) -> list[Row]:
    """The round's completed trials, in trial-id order."""
    rows = []
    for path in sorted(run.glob("*/metrics.json")):
        m = json.loads(path.read_text())
        if m.get("status") != "completed":
            continue
        flat = flatten(m["config"])
        metric = next(iter(m["readouts"]["responses"]))
        rows.append(Row(path.parent.name, {p.name: str(v) for p, _, v in departures(flat)}, flat,
                        {r: m["readouts"].get(r, {}).get(metric) for r in READOUTS},
                        m["classification"]["cnn"]["gain"], m.get("diagnostics", {}), metric))
    return rows


def shared_readings(rows: list[Row]) -> set[tuple[str, str]]:
    """The (passage, choice) pairs every row reads."""
    return set.intersection(*(set(r.readings.items()) for r in rows)) if rows else set()


def factors(rows: list[Row]) -> dict[str, dict[str, str]]:
    """trial -> {factor: its value}: the readings not every row shares ("name": "choice", or
    "literal" where the row reads it literally) and the config keys whose values vary across rows
    ("epochs": "10"; the last part of the dotted key, in the config's order)."""
    shared = shared_readings(rows)
    named = sorted({k for r in rows for k in r.readings} - {k for k, _ in shared})
    keys = [k for k in (rows[0].flat if rows else {})
            if len({json.dumps(r.flat.get(k), sort_keys=True) for r in rows}) > 1]
    reading_keys = {p.key for r in rows for p, _, _ in departures(r.flat)}
    out = {}
    for r in rows:
        own = {name: r.readings.get(name, "literal") for name in named}
        own.update({k.split(".")[-1]: str(r.flat.get(k)) for k in keys if k not in reading_keys})
        out[r.trial] = own
    return out


def main_effects(rows: list[Row], by_trial: dict[str, dict[str, str]]) -> list[tuple[str, str, str, dict[str, float]]]:
    """[(factor, low value, high value, {read-out: mean at high - mean at low})] for every factor
    with exactly two values in the round (values ordered as numbers where they are, else as text)."""
    out = []
    names = sorted({k for f in by_trial.values() for k in f})
    for name in names:
        values = sorted({by_trial[r.trial][name] for r in rows}, key=_order)
        if len(values) != 2:
            continue
        low, high = values
        effects = {}
        for readout in READOUTS:
            a = [r.reads[readout] for r in rows if by_trial[r.trial][name] == high and r.reads[readout] is not None]
            b = [r.reads[readout] for r in rows if by_trial[r.trial][name] == low and r.reads[readout] is not None]
            if a and b:
                effects[readout] = sum(a) / len(a) - sum(b) / len(b)
        out.append((name, low, high, effects))
    return out


def _order(value: str) -> tuple[int, float, str]:
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, "" if value == "literal" else value)  # "literal" sorts first: the effect is choice - literal


def main(run: Path) -> None:
    rows = load_rows(run)
    if not rows:
        print(f"{run}: no completed trial")
        return
    shared = shared_readings(rows)
    refs = list((run / "references").glob("*.json"))
    mean_pose = json.loads(refs[0].read_text())["metrics"].get(rows[0].metric) if refs else None
    print(f"{len(rows)} trials; shared by all: {', '.join(f'{k}={v}' for k, v in sorted(shared)) or 'none'}"
          + (f"; mean pose {mean_pose:.3f}" if mean_pose is not None else ""))
    by_trial = factors(rows)
    for r in rows:
        own = ", ".join(f"{k}={v}" for k, v in by_trial[r.trial].items()) or "(the round's base)"
        figures = " ".join(f"{k} {v:.3f}" for k, v in r.reads.items() if v is not None)
        d = " ".join(f"{k} {r.diagnostics[k]:.2f}" for k in SHOWN if r.diagnostics.get(k) is not None)
        print(f"{r.trial}  {own}\n    {figures}  gain {r.gain:.2f}  {d}")
    for name, low, high, effects in main_effects(rows, by_trial):
        n_high = sum(by_trial[r.trial][name] == high for r in rows)
        print(f"main effect of {name} {low} -> {high} ({n_high} vs {len(rows) - n_high} trials): "
              + ", ".join(f"{k} {v:+.3f}" for k, v in effects.items()))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
