"""Per seed: each row's paper output against the mean pose and against its baseline (every module
off, the same readings and seed), each with a 95 % paired bootstrap interval over validation images.

    python experiments/readings/seed_pairs.py results/run_matrix/confirm

The report gives the same comparisons over the seeds together (the study page's "Δ PCK@0.1" and
"− mean pose" columns) and each trial against the mean pose (its list of trials); the moonshot of
issue 21 asks for both intervals above zero in each seed, which this prints.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from harness.config.identity import flatten
from harness.paper.modules import switch_keys, switches_on
from harness.report.bootstrap import PerImageCache
from harness.report.loading import TrialRecord, load_results
from harness.report.mean_pose import location_delta, vs_mean_pose


def main(run: Path) -> None:
    results = load_results(run)
    trials = [t for t in results.trials.values() if t.completed]
    cache = PerImageCache()

    def setting(t: TrialRecord) -> str:  # everything but the switches and the seed
        flat = flatten(t.config)
        return json.dumps({k: v for k, v in flat.items() if k not in set(switch_keys()) | {"seed"}}, sort_keys=True)

    for t in trials:
        flat = flatten(t.config)
        if not any(switches_on(flat)):
            continue
        metric = next(m for m in ("PCK@0.1", "Mean") if m in t.metrics)
        ref = results.references[t.reference_name]
        vs = vs_mean_pose([t], ref, "responses", metric, cache)
        base = [b for b in trials if not any(switches_on(flatten(b.config))) and b.seed == t.seed
                and setting(b) == setting(t)]
        line = (f"{t.id} seed {t.seed}: {metric} {t.metrics[metric]:.4f}; vs mean pose {vs.delta:+.4f} "
                f"[{vs.lo:+.4f}, {vs.hi:+.4f}]")
        if base:
            d = location_delta([t], base, metric, cache)
            line += (f"; vs baseline {base[0].id} ({base[0].metrics[metric]:.4f}) {d.delta:+.4f} "
                     f"[{d.lo:+.4f}, {d.hi:+.4f}]")
        print(line)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
