"""Which link fails, for each screened combination whose records are kept: the report's ladder
(`harness.report.ladder`) on every trial of one or more records folders, grouped into combinations
(one config, seed aside), with the diagnostics that flag link 3 and, for a combination with a
module on, its gap to the baseline under the same readings (the moonshot's second half).

    python experiments/readings/links.py experiments/readings/records/screen14 \
        experiments/readings/records/confirm14

A records folder (experiments/readings/records/README.md) holds trial folders (metrics.json,
per_image.npz) and `references/` with the one mean-pose reference its trials were scored on; a run
folder (`results/<matrix>/<scale>/`) reads the same. Its name is the matrix scale whose studies the
trials came from (`harness plan`'s expansion names each trial's studies; a trial no study of that
scale declares for seeds 0-9 reads "?").

A folder name with a suffix (`050cc2a43e89-r30`: a trial trained again on another machine) is a
combination of its own, tagged with the suffix. Each seed's gap to the baseline pairs records
trained with the same arithmetic (`paired_seeds`: the same `machine` numerics digest, else, where
that is unknown, the same tag); a seed without such a pair is left out: a gap between machines
mixes their arithmetic with the rows' difference (0.038 PCK at one seed, readings round 30).

Per combination, as the report decides them (each link on the seeds' mean, against the mean pose
by the 95 % paired image interval pooled over the seeds): the three links, held by how many of its
trials alone, the first link to fail, the diagnostics that flag link 3 where it fails (`flags`:
collapsed attention, indistinct prototypes, responses not following the CAMs), the responses minus
the mean pose, and where a module is on the gap to the baseline over the seeds both have (the
report's Δ: a paired image interval, and a t interval over the seeds from 2 seeds on). Last, a
count of the combinations by first failing link, and of those with no failing link, how many beat
their baseline with the seeds' interval above zero.
"""
from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from harness.data.specs import SPECS
from harness.errors import UserError
from harness.matrix.expand import expand
from harness.paper.modules import modules
from harness.report.bootstrap import Delta, PerImageCache
from harness.report.ladder import LINKS, RowLadder, row_ladders
from harness.report.loading import Reference, TrialRecord, load_reference, load_trial, read_json
from harness.report.mean_pose import location_delta
from harness.report.rows import IGNORED_KEYS, Row, flatten, reference_row, row_key
from harness.tables.labels import method_label
from harness.tables.readings import READINGS

MATRIX = Path(__file__).resolve().parents[2] / "run_matrix.yaml"
COMPARISON = READINGS.comparison  # the report's: the baseline under the same readings
PLAN_SEEDS = list(range(10))  # the seeds whose trial ids name a study (the study's ids differ by seed)


@dataclass
class Combination:
    """One config (seed aside) of one folder and one machine tag, its trials and their ladders."""

    tag: str  # "" for the trials' own records; the folder suffix of a rerun or rescored record
    row: Row
    ladder: RowLadder  # on the seeds' mean, as the report decides
    alone: list[RowLadder]  # each trial's own ladder
    studies: list[str]
    baseline: "Combination | None" = None
    gap: Delta | None = None  # responses: this combination minus its baseline, over the seeds both have


def studies_by_trial(scale: str) -> dict[str, list[str]]:
    """trial id -> the studies of `scale` that declare it (seeds 0-9); {} for a scale the matrix lacks."""
    try:
        plan = expand(MATRIX, scale=scale, seeds=PLAN_SEEDS)
    except UserError:
        return {}
    return {t.id: list(t.studies) for t in plan.trials}


def load_folder(folder: Path) -> tuple[list[TrialRecord], Reference, dict[str, str], list[str]]:
    """The folder's completed trials, its one mean-pose reference, each trial's machine tag, and the
    records not read ("<folder> (<status>)": a rescored record holds no ladder of its training)."""
    refs = sorted((folder / "references").glob("*.json"))
    if len(refs) != 1:
        raise UserError(f"{folder / 'references'}: holds {len(refs)} mean-pose references, one expected")
    ref = load_reference(folder, refs[0].stem)
    studies = studies_by_trial(folder.name)
    trials, tags, skipped = [], {}, []
    for d in sorted(p for p in folder.iterdir() if (p / "metrics.json").is_file()):
        data = read_json(d / "metrics.json")
        if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
            raise UserError(f"{d / 'metrics.json'}: holds no 'config' mapping")
        base, _, tag = d.name.partition("-")
        t = load_trial(d.name, {"config": data["config"], "studies": studies.get(base, ["?"]),
                                "reference": refs[0].stem}, folder)
        if t.completed:
            trials.append(t)
            tags[t.id] = tag
        else:
            skipped.append(f"{d.name} ({t.status})")
    return trials, ref, tags, skipped


def combinations(trials: list[TrialRecord], tags: dict[str, str], ref: Reference,
                 cache: PerImageCache) -> list[Combination]:
    """The folder's combinations in the order of their first trial, each with its baseline and gap."""
    groups: dict[tuple, Row] = {}
    tag_of: dict[tuple, str] = {}
    for t in trials:
        flat = flatten(t.config)
        key = (row_key(flat), tags[t.id])
        if key not in groups:
            groups[key] = Row(number=len(groups) + 1, flat=flat)
            tag_of[key] = tags[t.id]
        groups[key].trials.append(t)
    rows = list(groups.values())
    for r in rows:
        r.trials.sort(key=lambda t: (t.seed, t.id))
    metric = SPECS[ref.kind].location_metric if ref.kind in SPECS else None
    ladders = row_ladders(rows, ref, metric, cache)
    out = []
    for key, row, ladder in zip(groups, rows, ladders):
        alone = row_ladders([Row(number=0, flat=row.flat, trials=[t]) for t in row.trials], ref, metric, cache)
        studies = sorted({s for t in row.trials for s in t.studies})
        out.append(Combination(tag_of[key], row, ladder, alone, studies))
    for c in out:
        baselines = baselines_of(c, out)
        c.baseline = baselines[0] if baselines else None
        if baselines and metric is not None:
            mine, theirs = paired_seeds(c, baselines)
            c.gap = location_delta(mine, theirs, metric, cache) if mine else None
    return out


def _numerics(t: TrialRecord) -> str | None:
    value = (t.machine or {}).get("numerics")
    return value if isinstance(value, str) else None


def paired_seeds(c: Combination, baselines: list[Combination]) -> tuple[list[TrialRecord], list[TrialRecord]]:
    """Each trial of `c` beside the baseline's trial of its seed trained with the same arithmetic:
    among the baseline config's records of that seed (every tag), one with the same `machine`
    numerics digest (the same tag first), else, where that digest is unknown on either side, the
    one of the same tag; a seed with neither is left out (its gap would mix two machines')."""
    mine, theirs = [], []
    for t in c.row.trials:
        candidates = [(o.tag, b) for o in baselines for b in o.row.trials if b.seed == t.seed]
        same = [(tag, b) for tag, b in candidates if _numerics(t) is not None and _numerics(b) == _numerics(t)]
        same.sort(key=lambda tb: tb[0] != c.tag)
        if not same and (_numerics(t) is None or all(_numerics(b) is None for _, b in candidates)):
            same = [(tag, b) for tag, b in candidates if tag == c.tag and _numerics(b) is None]
        if same:
            mine.append(t)
            theirs.append(same[0][1])
    return mine, theirs


def baselines_of(c: Combination, every: list[Combination]) -> list[Combination]:
    """The combinations the report compares `c` with (`reference_row` under the readings table's
    comparison: Table 5's row 1 under the same readings, every module off), those of `c`'s tag
    first; [] for a baseline, or where the folders have none. Which of their records pair with
    `c`'s seeds is `paired_seeds`' to say."""
    found = [o for o in every if reference_row(c.row, [o.row], COMPARISON) is o.row]
    found.sort(key=lambda o: o.tag != c.tag)
    return found


def _interval(point: float, lo: float | None, hi: float | None) -> str:
    return f"{point:+.3f}" + (f" [{lo:+.3f}, {hi:+.3f}]" if lo is not None and hi is not None else "")


def _read_settings(flat: dict) -> dict:
    """The settings that tell combinations apart: every key but the seed, the device and the module
    switches (the method names those), and but the keys of a module that is off (read by nothing)."""
    off = {p for m in modules() if not flat.get(m.key) for p in m.params}
    return {k: v for k, v in flat.items() if k not in set(IGNORED_KEYS) | {m.key for m in modules()} | off}


def apart(every: list[Combination]) -> list[str]:
    """Per combination, what sets it apart: each setting whose value is not the most common one
    among the combinations that read it ("epochs=10"; the last part of the dotted key)."""
    settings = [_read_settings(c.row.flat) for c in every]
    keys = sorted({k for s in settings for k in s})
    common = {k: Counter(repr(s[k]) for s in settings if k in s).most_common(1)[0][0] for k in keys}
    return [", ".join(f"{k.split('.')[-1]}={s[k]}" for k in keys if k in s and repr(s[k]) != common[k]) or "-"
            for s in settings]


def line(c: Combination, sets_apart: str) -> str:
    """One markdown table row: the combination's links, first failing link, flags and gaps."""
    seeds = ",".join(str(t.seed) for t in c.row.trials)
    held = " ".join(f"{sum(a.links[i] is True for a in c.alone)}/{len(c.alone)}" for i in range(len(LINKS)))
    first = c.ladder.first_fail
    fails = "none" if first is None else f"{first} ({LINKS[first - 1].name})"
    vs = c.ladder.against.get("responses")
    mean_pose = "?" if vs is None else _interval(vs.delta, vs.lo, vs.hi)
    if c.gap is None:
        gap = ("(baseline)" if COMPARISON.is_reference(c.row.flat) else "no baseline here" if c.baseline is None
               else "no seed of its baseline trained on its machine")
    else:
        gap = _interval(c.gap.delta, c.gap.lo, c.gap.hi) + f", seeds {c.gap.pairs}" + (
            f" [{c.gap.seeds_lo:+.3f}, {c.gap.seeds_hi:+.3f}]" if c.gap.seeds_lo is not None else "")
    name = method_label(c.row.flat) + (f" ({c.tag})" if c.tag else "")
    # "none flags it": link 3 fails and no diagnostic says why; "-": link 3 holds (nothing to flag)
    flags = ", ".join(c.ladder.flags) or ("none flags it" if c.ladder.links[2] is False else "-")
    return (f"| {' '.join(c.studies)} | {c.row.trials[0].id.split('-')[0]} | {name} | {sets_apart} | {seeds} | "
            f"{held} | {fails} | "
            f"{flags} | {mean_pose} | {gap} |")


def tally(every: list[Combination]) -> list[str]:
    """The closing lines: combinations by first failing link; of those with a module on and no failing
    link, how many have a baseline here, and how many beat it with the image interval above zero and
    with the seeds' interval (2 or more seeds) above zero."""
    firsts = Counter(c.ladder.first_fail for c in every)
    out = [f"{len(every)} combinations; first link to fail: "
           + ", ".join(f"link {n}: {firsts[n]}" for n in sorted(k for k in firsts if k is not None))
           + f", none: {firsts[None]}"]
    whole = [c for c in every if c.ladder.first_fail is None and not COMPARISON.is_reference(c.row.flat)]
    paired = [c for c in whole if c.gap is not None]
    images = [c for c in paired if c.gap.lo is not None and c.gap.lo > 0]
    seeds = [c for c in paired if c.gap.seeds_lo is not None and c.gap.seeds_lo > 0]
    out.append(f"of the {len(whole)} with a module on and no failing link, {len(paired)} have their baseline "
               f"here; above it: {len(images)} by the image interval, {len(seeds)} by the seeds' interval "
               f"({sum(c.gap.seeds_lo is not None for c in paired)} with 2 or more seeds)")
    return out


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    cache = PerImageCache()
    folders = []
    try:
        for arg in argv:
            folder = Path(arg)
            if not folder.is_dir():
                raise UserError(f"{folder}: not a folder")
            trials, ref, tags, skipped = load_folder(folder)
            folders.append((folder, ref, len(trials), skipped, combinations(trials, tags, ref, cache)))
    except UserError as exc:
        print(f"links.py: {exc}", file=sys.stderr)
        return 2
    every = [c for *_, found in folders for c in found]
    labels = dict(zip(map(id, every), apart(every)))
    for folder, ref, n, skipped, found in folders:
        print(f"\n{folder} (mean pose {ref.label}, {n} completed trials"
              + (f"; not read: {', '.join(skipped)}" if skipped else "") + ")\n")
        print("| studies | first trial | method | sets it apart | seeds | links held by trials (1 2 3) | "
              "first link to fail | link 3's flags | responses - mean pose | - its baseline |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for c in found:
            print(line(c, labels[id(c)]))
    print()
    print("\n".join(tally(every)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
