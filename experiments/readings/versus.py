"""Two trials of the readings study against each other: each read-out's location metric, row B minus
row A, with its 95 % paired bootstrap interval over the validation images both were scored on.

    python experiments/readings/versus.py results/run_matrix/screen5/3973afc45e5f \
        results/run_matrix/screen6/662a780b570f

The report pairs every row with the mean pose, and the confirmation's rows with their baseline; the
rounds' rows live in different studies (one results folder per round), so this is how the log
(experiments/readings/README.md) compares a row with one of an earlier round. Both trials must have
been scored on the same validation twin (the same image ids); one seed each, so an interval here
says what the validation images allow, not what another seed would do.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from harness.evaluation.per_image import location_vs_reference
from harness.record import READOUTS, other_machine
from harness.report.mean_pose import correct_key


def compare(a: Path, b: Path) -> list[tuple[str, float, float, float]]:
    """[(read-out, B - A, low, high)] for the read-outs both trials recorded."""
    pa, pb = np.load(a / "per_image.npz"), np.load(b / "per_image.npz")
    if not np.array_equal(pa["image_ids"], pb["image_ids"]):
        raise ValueError(f"{a} and {b} were scored on different validation images")
    if not np.array_equal(pa["loc_visible"], pb["loc_visible"]):
        raise ValueError(f"{a} and {b} count different visible joints on the same images")
    keys = [(name, correct_key(name)) for name in READOUTS]
    return [(name, *location_vs_reference(pb[key], pa[key], pa["loc_visible"]))
            for name, key in keys if key in pa.files and key in pb.files]


def machine_of(folder: Path) -> dict:
    """The trial's metrics.json `machine` ({} where absent: a trial from before 2026-12-05)."""
    path = folder / "metrics.json"
    machine = json.loads(path.read_text()).get("machine") if path.is_file() else None
    return machine if isinstance(machine, dict) else {}


def shared_epochs(a: Path, b: Path) -> int:
    """How many leading epochs of the two trials' recorded curves agree bit for bit (losses, total,
    validation, ladder, diagnostics). Only the same seed and the same training up to there, in the
    same arithmetic, reproduce every float: what shows that two trials without a recorded machine
    shared one (round 32: a 10-epoch trial and the 5-epoch trial it extends, equal through epoch 4)."""
    def epochs(folder: Path) -> list[dict]:
        path = folder / "metrics.json"
        curve = json.loads(path.read_text()).get("curve") if path.is_file() else None
        # "lr" is left out: a trial records the lr after the epoch's scheduler step, so two schedules
        # that drop it at different epochs record different lrs for an epoch trained alike
        return [{k: v for k, v in e.items() if k != "lr"} for e in curve or [] if isinstance(e, dict)]
    n = 0
    for ea, eb in zip(epochs(a), epochs(b)):
        if ea != eb:
            break
        n += 1
    return n


def machine_line(a: Path, b: Path) -> str:
    """Whether the two trials were trained with the same arithmetic (`harness.record.other_machine`):
    a gap between machines holds the machines' difference too (0.038 at one seed, round 30)."""
    ma, mb = machine_of(a), machine_of(b)
    if other_machine(ma, mb):
        return (f"  ⚠ another machine: numerics {ma['numerics']} vs {mb['numerics']} ({ma.get('cpu', '?')}, "
                f"{ma.get('threads', '?')} threads vs {mb.get('cpu', '?')}, {mb.get('threads', '?')}): "
                "the gap holds the machines' difference as well")
    unknown = [f.name for f, m in ((a, ma), (b, mb)) if "numerics" not in m]
    if unknown:
        shared = shared_epochs(a, b)
        if shared:
            return (f"  machine unknown for {', '.join(unknown)} (trained before metrics.json recorded it), "
                    f"but their curves agree bit for bit through epoch {shared}: one arithmetic")
        return (f"  machine unknown for {', '.join(unknown)} (trained before metrics.json recorded it): "
                "pair only trials trained in one session")
    return f"  one machine's arithmetic (numerics {ma['numerics']})"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: versus.py <trial folder A> <trial folder B>  (prints B - A)", file=sys.stderr)
        return 2
    a, b = (Path(x) for x in argv)
    return show(a, b, f"{b.name} - {a.name} (PCK, 95 % paired bootstrap over the images)")


def show(a: Path, b: Path, heading: str) -> int:
    """Print B - A per read-out under `heading`: 0, or 2 with one line on stderr where the two
    folders cannot be paired (not completed trials, or scored on different images)."""
    for path in (a, b):
        if not (path / "per_image.npz").is_file():
            print(f"{path}: no per_image.npz (not a completed trial folder)", file=sys.stderr)
            return 2
    try:
        rows = compare(a, b)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    print(heading)
    for name, point, low, high in rows:
        print(f"  {name:<13} {point:+.3f} [{low:+.3f}, {high:+.3f}]")
    print(machine_line(a, b))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
