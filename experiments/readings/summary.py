"""One line per trial of a readings round: its non-literal readings (besides those every trial of the
round shares), each read-out's location metric, the cnn head's gain and the decoder's diagnostics,
then the main effect of each reading that varies (mean with it - mean without, on each read-out).

    python experiments/readings/summary.py results/run_matrix/screen

The report (`harness report --results <run folder>`) shows the same figures with intervals; this is
the compact view the round's log (experiments/readings/README.md) quotes.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from harness.config.identity import flatten
from harness.paper.readings import departures

READOUTS = ("responses", "cams", "product", "token_scores")
SHOWN = ("attention_entropy", "prototype_cos", "part_feature_cos", "response_cam_agreement",
         "response_cam_agreement_shuffled")


def main(run: Path) -> None:
    rows = []
    for path in sorted(run.glob("*/metrics.json")):
        m = json.loads(path.read_text())
        if m.get("status") != "completed":
            continue
        flat = flatten(m["config"])
        chosen = {p.name: str(v) for p, _, v in departures(flat)}
        metric = next(iter(m["readouts"]["responses"]))
        rows.append((path.parent.name, chosen, {r: m["readouts"].get(r, {}).get(metric) for r in READOUTS},
                     m["classification"]["cnn"]["gain"], m.get("diagnostics", {}), metric))
    refs = list((run / "references").glob("*.json"))
    mean_pose = json.loads(refs[0].read_text())["metrics"].get(rows[0][5]) if refs and rows else None
    shared = set.intersection(*(set(c.items()) for _, c, *_ in rows)) if rows else set()
    print(f"{len(rows)} trials; shared by all: {', '.join(f'{k}={v}' for k, v in sorted(shared)) or 'none'}; "
          f"mean pose {mean_pose:.3f}" if mean_pose is not None else "")
    for tid, chosen, reads, gain, diag, _ in rows:
        own = ", ".join(f"{k}={v}" for k, v in chosen.items() if (k, v) not in shared) or "(the round's base)"
        figures = " ".join(f"{r} {v:.3f}" for r, v in reads.items() if v is not None)
        d = " ".join(f"{k} {diag[k]:.2f}" for k in SHOWN if diag.get(k) is not None)
        print(f"{tid}  {own}\n    {figures}  gain {gain:.2f}  {d}")
    varying = sorted({k for _, c, *_ in rows for k in c} - {k for k, _ in shared})
    for name in varying:
        on = [r for r in rows if name in r[1]]
        off = [r for r in rows if name not in r[1]]
        if not on or not off:
            continue
        effects = []
        for r in READOUTS:
            a = [x[2][r] for x in on if x[2][r] is not None]
            b = [x[2][r] for x in off if x[2][r] is not None]
            if a and b:
                effects.append(f"{r} {sum(a) / len(a) - sum(b) / len(b):+.3f}")
        print(f"main effect of {name} ({len(on)} vs {len(off)} trials): " + ", ".join(effects))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
