"""A study's results table in the paper's layout, Table 4's pivot, and the list of its trials.

Rows are the study's distinct configs (seed aside), in the table's order; the columns that name
a row are the table's own (check marks for Table 5, D_En / D_De for Table 6, ...: its declaration
in `harness/tables/`) plus any other setting that differs between rows, so that no two rows look
alike; the metric columns are the table's on the row's dataset. Every metric cell is mean ±
std over the completed seeds with n. The mean-pose reference of the dataset is the table's foot.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from harness import tables
from harness.data.specs import SPECS
from harness.paper.modules import Module, unread_by
from harness.paper.readings import describe, describe_items
from harness.report.bootstrap import MIN_SEEDS_FOR_INTERVAL, Delta, PerImageCache, crossed_seeds, row_delta
from harness.report.cells import Cell, Format, TableView
from harness.report.loading import Reference
from harness.report.mean_pose import VsMeanPose, location_delta, vs_cell, vs_mean_pose
from harness.report.rows import Row, module_step, reference_row, varying_keys
from harness.report.stats import Summary, summarize_rows
from harness.tables.declaration import Comparison, LabelColumn, Table, keys_of
from harness.tables.labels import backbone_label, fraction_label, method_label, value_label
from harness.tables.readings import READING_KEYS, READINGS_COLUMN


def _seen(rows: list[Row]) -> list[str]:
    """Every metric name of the rows' completed trials, sorted (the columns of an unknown dataset kind)."""
    return sorted({m for r in rows for t in r.completed for m in t.metrics})


def metric_columns(kind: str, table: Table, rows: list[Row]) -> list[tuple[str, str]]:
    """[(header, metric name)] of `table` on a dataset of `kind`; every metric seen, for an unknown kind."""
    columns = tables.metric_columns(table, kind)
    return columns if columns is not None else [(m, m) for m in _seen(rows)]


def primary_metric(kind: str, rows: list[Row]) -> str | None:
    if kind in SPECS:
        return SPECS[kind].primary_metric
    seen = _seen(rows)
    return seen[0] if seen else None


def location_metric(kind: str, ref: Reference | None, rows: list[Row]) -> str | None:
    """The metric compared with the mean-pose reference: the dataset's location metric when the
    reference has it (older references lack PCK@0.1), else the primary metric."""
    name = SPECS[kind].location_metric if kind in SPECS else None
    if name is not None and ref is not None and ref.metrics.get(name) is not None:
        return name
    return primary_metric(kind, rows)


def label_columns(table: Table, rows: list[Row]) -> list[tuple[str, Callable[[dict], str]]]:
    """The table's own label columns, then the readings of the paper that differ from the literal
    ones where rows differ in them (`harness.tables.readings.READINGS_COLUMN`, with their tags),
    then one per other differing setting."""
    own = list(table.label_columns)
    varying = varying_keys(rows)
    if READINGS_COLUMN not in own and any(k in READING_KEYS for k in varying):
        own.append(READINGS_COLUMN)
    if READINGS_COLUMN in own:  # what every row shares is said once, in a note (`shared_readings_note`)
        shared = _shared_readings(rows)
        own[own.index(READINGS_COLUMN)] = LabelColumn(READINGS_COLUMN.header,
                                                      lambda f: describe(f, shared) or "as every row",
                                                      READINGS_COLUMN.keys)
    covered = {k for c in own for k in keys_of(c.keys)}
    if READINGS_COLUMN in own:
        covered |= READING_KEYS
    extra = [k for k in varying if k not in covered and k != "dataset.name"]
    return [(c.header, c.label) for c in own] + [(k, (lambda key: lambda f: _setting_label(f, key))(k))
                                                 for k in extra]


def _setting_label(flat: dict, key: str) -> str:
    """A differing setting's value; a module's parameter in a row with that module off is marked
    unread rather than shown at its default (readings_seeds32 showed beta 0.1 beside rows without PDC)."""
    off = unread_by(flat, key)
    return f"– ({off.name} off)" if off is not None else value_label(flat.get(key))


def _shared_readings(rows: list[Row]) -> frozenset[str]:
    """The non-literal readings (`describe_items`) that every row takes."""
    sets = [set(describe_items(r.flat)) for r in rows]
    return frozenset(set.intersection(*sets)) if sets else frozenset()


def shared_readings_note(rows: list[Row]) -> str | None:
    """The non-literal readings every row takes, with their tags (the readings column, where rows
    differ, shows only the rest)."""
    shared = _shared_readings(rows)
    if not shared:
        return None
    order = describe_items(rows[0].flat)
    return (f"Every row reads these of the paper's ambiguous passages otherwise than literally ('harness "
            f"readings' lists them): {', '.join(i for i in order if i in shared)}.")


@dataclass
class StudyTable:
    """The results table of one dataset group and what other parts reuse from it."""

    view: TableView
    summaries: dict[tuple[int, str], Summary]
    deltas: dict[int, tuple[Row, Delta]]
    primary: str | None
    not_learning: set[int]  # rows not above the mean pose (`harness.report.mean_pose`)
    located: str | None  # the metric compared with the mean pose (`location_metric`)
    against: dict[int, VsMeanPose | None]  # each row's `located` minus the mean pose's, with its interval


def _seeds_below(row: Row, ref: Reference | None, located: str | None, cache: PerImageCache,
                 n: int) -> int:
    """How many of a row's completed seeds are, each alone, not above the mean pose (their own
    interval, as the trials list judges them); 0 for a row of one seed (the row's mark says it)."""
    if len(row.completed) < 2:
        return 0
    judged = [vs_mean_pose([t], ref, "responses", located, cache, n) for t in row.completed]
    return sum(v is not None and not v.above for v in judged)


def _status(row: Row) -> tuple[str, str]:
    done = len(row.completed)
    failed = sum(t.status == "failed" for t in row.trials)
    missing = sum(t.status == "missing" for t in row.trials)
    other = len(row.trials) - done - failed - missing
    parts = [f"{done}/{len(row.trials)} seeds"]
    parts += [f"{n} {word}" for n, word in ((failed, "failed"), (missing, "missing"), (other, "unfinished")) if n]
    cls = "failed" if failed else "missing" if missing or other else ""
    return " · ".join(parts), cls


def study_table(table: Table, rows: list[Row], ref: Reference | None, fmt: Format, cache: PerImageCache,
                caption: str, bootstrap_n: int = 1000) -> StudyTable:
    kind = rows[0].kind
    labels = label_columns(table, rows)
    metrics = metric_columns(kind, table, rows)
    primary = primary_metric(kind, rows)
    located = location_metric(kind, ref, rows)
    names = [m for _, m in metrics]
    names += [m for m in (primary, located) if m and m not in names]
    summaries = summarize_rows(rows, names)
    comparison = table.comparison
    deltas: dict[int, tuple[Row, Delta]] = {}
    rows_by_number = {row.number: row for row in rows}
    if primary:
        for row in rows:
            other = reference_row(row, rows, comparison)
            if other is None:
                continue
            d = row_delta(row, other, primary, summaries[(row.number, primary)], summaries[(other.number, primary)],
                          cache, n=bootstrap_n)
            if d is not None:
                deltas[row.number] = (other, d)
    # where the primary metric is not the location metric (OKS AP, 0 at small crops), the
    # comparison on the location metric too, paired over images like the mean pose's
    located_deltas: dict[int, tuple[Row, Delta]] = {}
    if located and located != primary:
        for row in rows:
            other = reference_row(row, rows, comparison)
            d = None if other is None else location_delta(row.completed, other.completed, located, cache, bootstrap_n)
            if d is not None:
                located_deltas[row.number] = (other, d)
    # each row against the row one module fewer (`module_step`): a module's own effect in a chain
    # (Table 5's "+ RePPG" over "+ SPE"), which the baseline Δ sums with the modules above it; shown
    # only where some row's step is not its baseline comparison (else it repeats that column), and
    # its intervals bootstrapped only then
    pairs = {row.number: step for row in rows if (step := module_step(row, rows)) is not None} if located else {}
    steps: dict[int, tuple[Row, Delta, Module]] = {}
    if any(other is not reference_row(rows_by_number[number], rows, comparison)
           for number, (other, _) in pairs.items()):
        for number, (other, module) in pairs.items():
            d = location_delta(rows_by_number[number].completed, other.completed, located, cache, bootstrap_n)
            if d is not None:
                steps[number] = (other, d, module)
    show_steps = bool(steps)
    # the paper's read-out (responses) against the mean pose, decided by the interval
    against = {r.number: vs_mean_pose(r.completed, ref, "responses", located, cache, bootstrap_n) for r in rows}
    not_learning = {number for number, v in against.items() if v is not None and not v.above}
    # seeds whose pair was trained with other arithmetic than its comparison (results merged from
    # several machines): said in the Δ cell, as the pair's gap holds the machines' difference too
    crossed = {number: seeds for number, (other, _) in {**deltas, **located_deltas}.items()
               if (seeds := crossed_seeds(rows_by_number[number].completed, other.completed))}
    crossed_steps = {number: seeds for number, (other, _, _) in steps.items()
                     if (seeds := crossed_seeds(rows_by_number[number].completed, other.completed))}
    show_delta = bool(deltas)
    show_located_delta = bool(located_deltas)
    show_ref = any(v is not None for v in against.values())
    header = ["#"] + [h for h, _ in labels] + [h for h, _ in metrics]
    if show_delta:
        header.append(f"Δ {primary} [95% CI]")
    if show_located_delta:
        header.append(f"Δ {located} [95% CI]")
    if show_steps:
        header.append(f"Δ {located}, the row's own module [95% CI]")
    if show_ref:
        header.append(f"{located} − mean pose [95% CI]")
    header.append("seeds")
    body = []
    for row in rows:
        cells = [Cell(str(row.number), cls="label")] + [Cell(fn(row.flat), cls="label") for _, fn in labels]
        cells += [fmt.summary(summaries[(row.number, m)], len(row.completed)) for _, m in metrics]
        if show_delta:
            cells.append(_delta_cell(deltas.get(row.number), fmt, crossed.get(row.number, [])))
        if show_located_delta:
            cells.append(_delta_cell(located_deltas.get(row.number), fmt, crossed.get(row.number, [])))
        if show_steps:
            step = steps.get(row.number)
            cells.append(_delta_cell(None if step is None else step[:2], fmt, crossed_steps.get(row.number, []),
                                     lead="" if step is None else f"{step[2].name} over #{step[0].number}"))
        if show_ref:
            cells.append(vs_cell(against[row.number], fmt, located))
        status, cls = _status(row)
        if row.number in not_learning:
            cells.append(Cell(status, sub="⚠ not above the mean pose", cls=f"warn {cls}".strip(),
                              title=f"{located} does not beat the mean-pose reference by "
                                    f"{against[row.number].judged_by}: this model has not learned to localise"))
        elif below := _seeds_below(row, ref, located, cache, bootstrap_n):
            # the row's mark pools its seeds; a seed that alone only reads the mean pose is said here,
            # not only in the trials list (readings_seeds32: "5/5 seeds" beside a seed at 27.19)
            done = len(row.completed)
            cells.append(Cell(status, sub=f"⚠ seeds alone: {done - below} of {done} above the mean pose",
                              cls=f"warn {cls}".strip(),
                              title=f"the row's seeds together beat the mean pose; judged each by its own "
                                    f"interval, {below} of {done} do not: training again may not localise"))
        else:
            cells.append(Cell(status, cls=cls))
        body.append(cells)
    foot = []
    if ref is not None:
        cells = [Cell("mean-pose reference", cls="label ref", colspan=1 + len(labels),
                      title="the training set's mean pose predicted in every validation crop")]
        cells += [Cell(fmt.value(ref.metrics.get(m)), cls="num ref") for _, m in metrics]
        if show_delta:
            cells.append(Cell("", cls="ref"))
        if show_located_delta:
            cells.append(Cell("", cls="ref"))
        if show_steps:
            cells.append(Cell("", cls="ref"))
        if show_ref:
            cells.append(Cell("", cls="ref"))
        cells.append(Cell(f"split: {ref.split}", cls="ref"))
        foot.append(cells)
    notes = [note for note in (shared_readings_note(rows),) if note]
    if ref is None:
        notes.append("No mean-pose reference for this dataset (its file under references/ is absent).")
    if show_delta:
        notes.append(f"Δ: this row minus {comparison.label}, on {primary} (percentage points), mean over paired "
                     f"seeds. With {MIN_SEEDS_FOR_INTERVAL} or more paired seeds, a 95 % paired bootstrap interval "
                     f"over evaluation images ({bootstrap_n} resamples, the same resample for every seed pair); it "
                     "reflects which images were evaluated, not seed-to-seed variation (that is the ± of each cell). "
                     "* marks an interval that excludes zero. With 2 or more paired seeds, \"seeds [..]\" under "
                     "it: a 95 % t interval over the seeds' paired differences (n − 1 df), what training again "
                     "with another seed would move, starred on its own where it excludes zero.")
    if show_located_delta:
        notes.append(f"Δ {located}: this row's {located} minus that of {comparison.label} (percentage points, "
                     f"means over each row's seeds), with a 95 % paired bootstrap interval over validation images "
                     f"({bootstrap_n} resamples, the same for both rows); * marks an interval that excludes zero. "
                     "With 2 or more seeds in both rows, \"seeds [..]\" under it: a 95 % t interval over the seeds' "
                     "paired differences (n − 1 df), what training again with another seed would move, starred on "
                     "its own where it excludes zero; a claim about a module needs that one to exclude zero.")
    if show_steps:
        notes.append(STEP_NOTE.format(metric=located, n=bootstrap_n))
    if crossed or crossed_steps:
        notes.append(OTHER_MACHINE_NOTE)
    if show_ref:
        notes.append(MEAN_POSE_NOTE.format(metric=located, n=bootstrap_n))
    return StudyTable(TableView(caption, header, body, foot, css="results", notes=notes), summaries, deltas,
                      primary, not_learning, located, against)


MEAN_POSE_NOTE = ("{metric} − mean pose: the row's {metric} minus the mean-pose reference's (percentage points, "
                  "mean over the row's seeds), with a 95 % paired bootstrap interval over validation images ({n} "
                  "resamples of the images, the same for the row and the mean pose). \"⚠ not above the mean "
                  "pose\": the interval's lower bound is not above 0 (where the per-image counts are missing, the "
                  "point estimate decides: \"no CI\"). \"⚠ seeds alone: k of n above the mean pose\": the row "
                  "beats it over its seeds together, but not every seed does on its own interval. A model that "
                  "does not beat the mean pose has not learned to localise.")


STEP_NOTE = ("Δ {metric}, the row's own module: this row's {metric} minus that of the row that differs from it by "
             "the module named under the value alone (of the modules this row switches on, the latest in the "
             "paper's order whose row is in the table; that module's own settings aside), in percentage points, "
             "means over each row's seeds: what the module adds to the rows above it, Table 5's reading of its "
             "chain, where the baseline's Δ sums every module on. Its intervals are those of the baseline's Δ: "
             "a 95 % paired bootstrap over validation images ({n} resamples; * where it excludes zero) and, with "
             "2 or more seeds in both rows, \"seeds [..]\", a 95 % t interval over the seeds' paired differences "
             "(n − 1 df); a claim about the module needs that one to exclude zero.")


OTHER_MACHINE_NOTE = ("\"⚠ another machine\" under a Δ: in the seeds it names, this row's trial and its comparison's "
                      "were trained on machines whose arithmetic differs (their metrics.json's machine.numerics, "
                      "the digest of a fixed computation's bits): that gap holds the machines' difference as well "
                      "as the rows' (0.038 PCK@0.1 between two machines at one seed, readings round 30). Train both "
                      "on one machine to compare them.")


def _delta_cell(item: tuple[Row, Delta] | None, fmt: Format, crossed: list[int] | None = None,
                lead: str = "") -> Cell:
    """A Δ cell; `lead` opens the line under the value (the step column names its module there)."""
    if item is None:
        return Cell("", cls="num")
    cell = _delta_value_cell(item, fmt)
    if lead:
        cell = replace(cell, sub=f"{lead}; {cell.sub}" if cell.sub else lead)
    if not crossed:
        return cell
    seeds = ", ".join(str(s) for s in crossed)
    mark = f"⚠ another machine (seed{'s' if len(crossed) > 1 else ''} {seeds})"
    return replace(cell, sub=f"{cell.sub}; {mark}" if cell.sub else mark, cls=f"{cell.cls} warn",
                   title=f"{cell.title}; seed(s) {seeds}: the two trials were trained on machines whose "
                         f"arithmetic differs (machine.numerics), so their gap is not the rows' alone")


def _delta_value_cell(item: tuple[Row, Delta], fmt: Format) -> Cell:
    other, d = item
    title = f"vs row #{other.number}"
    # the seeds' t interval under the image one: a star on the image interval alone read as a
    # module's effect where training again moves the row more (readings_seeds27); each interval
    # carries its own star, so a reader sees which one excludes zero (readings_seeds31's SPE row:
    # the image one only)
    sub = "" if d.seeds_lo is None else f"seeds [{fmt.signed(d.seeds_lo)}, {fmt.signed(d.seeds_hi)}]" + \
        (" *" if d.seeds_exclude_zero else "")
    if d.lo is None:
        return Cell(fmt.signed(d.delta), sub="no CI" + (f"; {sub}" if sub else ""), title=f"{title}; {d.note}",
                    cls="num")
    text = fmt.interval(d.delta, d.lo, d.hi)
    title += f"; {d.pairs} paired seeds" + (f"; {d.note}" if d.note else "")
    if d.excludes_zero:
        return Cell(text + " *", sub=sub, title=title + "; the interval excludes zero", cls="num sig")
    return Cell(text, sub=sub, title=title, cls="num")


FRACTIONS = ("5%", "10%", "25%", "ALL")


def table4_pivot(rows: list[Row], summaries: dict[tuple[int, str], Summary], primary: str, fmt: Format,
                 caption: str) -> TableView:
    """The paper's Table 4 layout: (method, backbone) rows × labelled-fraction columns."""
    lines: dict[tuple[str, str], dict[str, Cell]] = {}
    fractions = list(FRACTIONS)
    for row in rows:
        f = fraction_label(row.flat)
        if f not in fractions:
            fractions.append(f)
        line = lines.setdefault((method_label(row.flat), backbone_label(row.flat)), {})
        line[f] = fmt.summary(summaries[(row.number, primary)], len(row.completed))
    used = [f for f in fractions if any(f in line for line in lines.values())]
    body = [[Cell(method, cls="label"), Cell(back, cls="label")] + [line.get(f, Cell("", cls="num")) for f in used]
            for (method, back), line in lines.items()]
    return TableView(caption, ["Method", "Back"] + used, body, css="pivot")


def trials_table(rows: list[Row], metric: str | None, fmt: Format, ref: Reference | None, cache: PerImageCache,
                 bootstrap_n: int = 1000, comparison: Comparison | None = None) -> TableView:
    """Every trial of the group: completed, failed (with the error's first line) and missing.

    `metric` is the one judged against the mean pose (`location_metric`); each completed trial is
    judged alone (its own interval over images, `harness.report.mean_pose`) and, where its row has
    a comparison row (`comparison`: the table's baseline under the same readings) with a completed
    trial of the same seed, against that trial too. Why per seed: a claim that a module helps "in
    each seed" (issue 21's moonshot) needs each seed's own interval, which the study table's pooled
    Δ does not give."""
    body = []
    show_ref = ref is not None and metric is not None and ref.metrics.get(metric) is not None
    same_seed: dict[str, tuple[Row, Delta]] = {}
    crossed: set[str] = set()  # trials whose same-seed comparison trained on another machine
    if comparison is not None and metric is not None:
        for row in rows:
            other = reference_row(row, rows, comparison)
            if other is None:
                continue
            for t in row.completed:
                mates = [b for b in other.completed if b.seed == t.seed]
                d = location_delta([t], mates, metric, cache, bootstrap_n) if mates else None
                if d is not None:
                    same_seed[t.id] = (other, d)
                    if crossed_seeds([t], mates):
                        crossed.add(t.id)
    for row in rows:
        for t in row.trials:
            value = t.metrics.get(metric) if (t.completed and metric) else None
            against = vs_mean_pose([t], ref, "responses", metric, cache, bootstrap_n) if t.completed else None
            note, cls = "", ""
            if t.status == "failed":
                note, cls = t.error or "", "failed"
            elif not t.completed:
                note, cls = t.error or "", "missing"
            elif against is not None and not against.above:
                note, cls = f"⚠ has not learned to localise (not above the mean pose by {against.judged_by})", "warn"
            cells = [Cell(t.id, cls="mono", title=_machine_title(t.machine)), Cell(str(row.number)), Cell(str(t.seed)),
                     Cell(t.status, cls=cls), Cell(fmt.value(value) if t.completed else "", cls="num")]
            if show_ref:
                cells.append(vs_cell(against, fmt, metric))
            if same_seed:
                cells.append(_delta_cell(same_seed.get(t.id), fmt, [t.seed] if t.id in crossed else None))
            body.append(cells + [Cell(note, cls=f"wrap {cls}".strip())])
    header = ["trial", "row", "seed", "status", metric or "primary metric"]
    if show_ref:
        header.append("− mean pose [95% CI]")
    notes = []
    if same_seed:
        header.append("− comparison row, same seed [95% CI]")
        notes.append(f"− comparison row, same seed: this trial's {metric} minus that of the trial of the same seed "
                     f"in {comparison.label} (percentage points), with a 95 % paired bootstrap interval over "
                     f"validation images ({bootstrap_n} resamples, the same for both); * marks an interval that "
                     "excludes zero.")
    if crossed:
        notes.append(OTHER_MACHINE_NOTE)
    return TableView("Trials (every seed; failed and missing ones with their error's first line)",
                     header + ["note"], body, css="trials", notes=notes)


def _machine_title(machine: dict) -> str:
    """The trial id's tooltip: whose arithmetic trained it (metrics.json's `machine`)."""
    if "numerics" not in machine:
        return "machine not recorded (a trial from before 2026-12-05)"
    return (f"trained on {machine.get('cpu', '?')} ({machine.get('device', '?')}, {machine.get('threads', '?')} "
            f"threads, torch {machine.get('torch', '?')}); numerics {machine['numerics']}")
