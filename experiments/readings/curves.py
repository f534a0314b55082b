"""Each trial's ladder read-outs epoch by epoch, as a table: the per-epoch figures the rounds'
write-ups quote (a CAM peaking after epoch 5 and drifting down), read from the `curve` a trial
records in its metrics.json when it evaluates every epoch (`schedule.eval_every: 1`).

    python experiments/readings/curves.py results/run_matrix/screen5            # every trial
    python experiments/readings/curves.py results/run_matrix/screen5 3973afc45e5f

One block per trial: a line per read-out (its location metric after each epoch, then the epoch and
value of its peak) and the CNN head's classification mAP. The report's ladder-curves figure draws
the same numbers.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from harness.record import READOUTS


def curves(metrics: dict) -> dict[str, list[float | None]]:
    """{read-out or "mAP cnn": [value after epoch 1, 2, ...]} from a metrics.json's curve (None
    where an epoch did not record it)."""
    out: dict[str, list[float | None]] = {}
    epochs = [e for e in metrics.get("curve", []) if "ladder" in e]
    for name in READOUTS:
        values = [e["ladder"].get("readouts", {}).get(name) for e in epochs]
        if any(v is not None for v in values):
            out[name] = values
    if epochs:
        out["mAP cnn"] = [e["ladder"].get("mAP", {}).get("cnn") for e in epochs]
    return out


def peak(values: list[float | None]) -> tuple[int, float] | None:
    """(epoch, counted from 1, of the highest value; the value); the first where several tie."""
    seen = [(v, -i) for i, v in enumerate(values) if v is not None]
    if not seen:
        return None
    value, neg = max(seen)
    return -neg + 1, value


def render(trial: str, table: dict[str, list[float | None]]) -> str:
    lines = [trial]
    for name, values in table.items():
        cells = " ".join("  -  " if v is None else f"{v:.3f}" for v in values)
        top = peak(values)
        lines.append(f"  {name:13s} {cells}" + (f"   peak {top[1]:.3f} after epoch {top[0]}" if top else ""))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python experiments/readings/curves.py <run folder> [trial id ...]", file=sys.stderr)
        return 2
    run, wanted = Path(argv[0]), set(argv[1:])
    paths = sorted(run.glob("*/metrics.json"))
    if not paths:
        print(f"{run}: no trial's metrics.json here", file=sys.stderr)
        return 2
    for path in paths:
        if wanted and path.parent.name not in wanted:
            continue
        table = curves(json.loads(path.read_text()))
        print(render(path.parent.name, table) if table else f"{path.parent.name}: no per-epoch curve recorded")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
