"""Compare two results folders trial by trial: same trial ids, same numbers.

    python scripts/compare_results.py BEFORE AFTER [--ignore-new]

BEFORE and AFTER are run folders (<results>/<matrix>/<scale>/) or results roots with one run
folder. For every trial id in either, the recorded numbers must be identical: `metrics`,
`readouts`, `classification`, `errors`, `response_stats`, `data`, `curve` (losses, lr, val,
ladder) and `cost.gmacs` / `cost.params`. Timings, throughput, hosts, dates and worker facts differ
from run to run and are not compared. Keys present in AFTER only (new figures, such as a read-out
or the diagnostics added later) are listed, and ignored with `--ignore-new`. Exit code 0 when
everything compared is identical, 1 otherwise (each difference printed).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

COMPARED = ("metrics", "readouts", "classification", "errors", "response_stats", "data", "curve")
COST = ("gmacs", "params")


def run_folder(path: Path) -> Path:
    if (path / "index.json").is_file():
        return path
    found = sorted(p.parent for p in path.glob("*/*/index.json"))
    if len(found) != 1:
        sys.exit(f"{path}: expected one run folder (with index.json), found {len(found)}")
    return found[0]


def trials(folder: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in folder.glob("*/metrics.json")}


def diff(a, b, where: str, new: list[str], out: list[str]) -> None:
    """Differences of `a` (before) and `b` (after) into `out`; keys only in `b` into `new`."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in b:
                out.append(f"{where}.{key}: missing after")
            elif key not in a:
                new.append(f"{where}.{key}")
            else:
                diff(a[key], b[key], f"{where}.{key}", new, out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{where}[{i}]", new, out)
    elif a != b:
        out.append(f"{where}: {a!r} -> {b!r}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--ignore-new", action="store_true", help="keys only AFTER has are not differences")
    args = ap.parse_args()
    before, after = trials(run_folder(args.before)), trials(run_folder(args.after))
    problems, new = [], []
    for tid in sorted(set(before) - set(after)):
        problems.append(f"{tid}: only before")
    for tid in sorted(set(after) - set(before)):
        problems.append(f"{tid}: only after")
    for tid in sorted(set(before) & set(after)):
        a, b = before[tid], after[tid]
        for key in COMPARED:
            diff(a.get(key), b.get(key), f"{tid}.{key}", new, problems)
        for key in COST:
            diff(a.get("cost", {}).get(key), b.get("cost", {}).get(key), f"{tid}.cost.{key}", new, problems)
    shared = len(set(before) & set(after))
    kinds = sorted({re.sub(r"\[\d+\]", "[]", n.split(".", 1)[1]) for n in new})
    print(f"{shared} trials in both; {len(problems)} differences; new keys after: " + (", ".join(kinds) or "none"))
    for line in problems[:50]:
        print("  " + line)
    if new and not args.ignore_new:
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
