"""The report's pages as plain data: one per study, the index, the cost page, Table 7.

A study's trials are split by dataset (metrics differ between datasets); each dataset group gets
its results table, its sections (`harness/report/sections.py`: the table's own, such as Table 4's
pivot and the factorial analysis, and every page's: the paper's numbers at full scale or the
not-comparable statement, Table 7, the localisation ladder), the list of its trials and its
figures. Each group's ladder is measured once here; the index shows its `LadderSummary`.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from harness.report.bootstrap import PerImageCache
from harness.report.cells import Cell, FigureView, Format, TableView, percent_format, response_format
from harness.report.ladder import LadderSummary, row_ladders, summarise
from harness.report.loading import ResultsFolder, StudyIndex, TrialRecord
from harness.report.notes import dataset_notes
from harness.report.response_tables import TABLE7_TITLE, response_table
from harness.report.rows import Row, group_rows, order_rows, varying_keys
from harness.report.sections import BlockView, GroupInput, build_sections
from harness.report.study_figures import (FigureWriter, curves_figure, map_figures, prototypes_figure,
                                          skeleton_figures)
from harness.report.study_tables import study_table, trials_table
from harness.tables import LOCATION, metric_name, table_for
from harness.tables.labels import method_label, value_label


def slug(name: str) -> str:
    """A file-name-safe, deterministic stand-in for a study name (hashed when lossy)."""
    s = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-").lower()[:40] or "study"
    if s != name:
        s += "-" + hashlib.sha1(name.encode()).hexdigest()[:8]
    return s


@dataclass
class GroupView:
    anchor: str
    heading: str
    subheading: str
    tables: list[TableView]
    notes: list[str]
    figures: list[FigureView]
    skeletons: list[tuple[str, list[FigureView]]]
    trials: TableView
    blocks: list[BlockView] = field(default_factory=list)  # headed sections (`harness/report/sections.py`)
    ladder: LadderSummary = field(default_factory=LadderSummary)
    ladder_anchor: str = ""  # the id of the group's ladder table, where it has one


@dataclass
class StudyPage:
    filename: str
    name: str
    title: str
    subtitle: str
    table: str
    groups: list[GroupView]
    counts: dict[str, int]


def _counts(trials: list[TrialRecord]) -> dict[str, int]:
    out = {"completed": 0, "failed": 0, "missing": 0, "unfinished": 0}
    for t in trials:
        out[t.status if t.status in out else "unfinished"] += 1
    return out


def _by_dataset(trials: list[TrialRecord]) -> list[list[TrialRecord]]:
    groups: dict[str, list[TrialRecord]] = {}
    for t in trials:
        groups.setdefault(t.dataset_name, []).append(t)
    return list(groups.values())


def _group(folder: ResultsFolder, study: StudyIndex, number: int, trials: list[TrialRecord], stem: str,
           writer: FigureWriter, cache: PerImageCache, fmt: Format, rfmt: Format, bootstrap_n: int) -> GroupView:
    table = table_for(study.table)
    rows = order_rows(group_rows(trials), table)
    first = rows[0]
    name, kind = first.dataset_name, first.kind
    ref = folder.references.get(trials[0].reference_name)
    st = study_table(table, rows, ref, fmt, cache, f"{table.title or study.title} — {name}", bootstrap_n=bootstrap_n)
    location = metric_name(LOCATION, kind) or st.located
    ladder = row_ladders(rows, ref, location, cache, bootstrap_n)
    more, notes, blocks = build_sections(GroupInput(table, rows, st, ref, cache, name, folder.scale, fmt, rfmt,
                                                    writer, stem, location, ladder, bootstrap_n))
    notes = dataset_notes(kind, trials) + notes
    group = GroupView(anchor=f"g{number}", heading=f"Dataset {name}",
                      subheading=f"kind {kind}" + (", synthetic twin" if first.flat.get("dataset.synthetic") else "")
                      + f"; primary metric {st.primary or '?'}",
                      tables=[st.view] + more, notes=notes, figures=[], skeletons=[],
                      trials=trials_table(rows, st.located, fmt, ref, cache, bootstrap_n, table.comparison),
                      blocks=blocks,
                      ladder=summarise(ladder))
    anchor = f"{stem}-ladder"
    group.ladder_anchor = anchor if any(t.anchor == anchor for b in blocks for t in b.tables) else ""
    figures = [curves_figure(writer, stem, rows, table, st.primary), prototypes_figure(writer, rows, table)]
    group.figures = [f for f in figures if f is not None] + map_figures(writer, stem, rows, table)
    group.skeletons = skeleton_figures(writer, rows, table)
    return group


def study_page(folder: ResultsFolder, study: StudyIndex, writer: FigureWriter, cache: PerImageCache,
               bootstrap_n: int = 1000) -> StudyPage:
    fmt, rfmt = percent_format(folder.scale), response_format(folder.scale)
    trials = [folder.trials[tid] for tid in study.trial_ids]
    page_slug = slug(study.name)
    groups = [_group(folder, study, i + 1, group, f"{page_slug}-g{i + 1}", writer, cache, fmt, rfmt, bootstrap_n)
              for i, group in enumerate(_by_dataset(trials))]
    title = table_for(study.table).title or study.title
    return StudyPage(filename=f"study-{page_slug}.html", name=study.name, title=title,
                     subtitle=f"study “{study.name}” of the matrix: {study.title}", table=study.table,
                     groups=groups, counts=_counts(trials))


def _describe(row: Row, keys: list[str]) -> str:
    parts = [method_label(row.flat)] + [f"{k.split('.')[-1]}={value_label(row.flat.get(k))}" for k in keys]
    return " · ".join(parts)


def table7_page(folder: ResultsFolder) -> list[tuple[str, TableView]]:
    """Location-free baseline and full-model rows of every dataset that have response statistics."""
    rfmt = response_format(folder.scale)
    out = []
    for trials in _by_dataset(list(folder.trials.values())):
        rows = [r for r in group_rows(trials)
                if sum(r.switches()) in (0, 4) and r.flat.get("supervision.regime") == "location_free"
                and any(t.response_stats for t in r.completed)]
        if not rows:
            continue
        keys = [k for k in varying_keys(rows) if not k.startswith("model.") or k in
                ("model.backbone", "model.input_size", "model.enc_layers", "model.dec_layers")]
        keys = [k for k in keys if k not in ("dataset.name",)]
        view = response_table(rows, lambda r: _describe(r, keys), rfmt,
                              f"{TABLE7_TITLE} — {rows[0].dataset_name}: baseline vs LOFR")
        if view is not None:
            out.append((rows[0].dataset_name, view))
    return out


def _hours(seconds) -> float | None:
    return None if not isinstance(seconds, (int, float)) else float(seconds) / 3600.0


def _is_gpu(device) -> bool | None:
    if not device:
        return None
    return not str(device).lower().startswith("cpu")


def cost_table(folder: ResultsFolder) -> tuple[TableView, str]:
    """Per trial: parameters, GMACs, throughput, data wait, device-hours, peak memory, device; and the totals."""
    header = ["trial", "studies", "config", "seed", "status", "params (M)", "GMACs", "train img/s",
              "data wait (%)", "infer img/s", "GPU-h", "CPU-h", "peak mem (MB)", "device", "note"]
    body = []
    gpu_h = cpu_h = 0.0
    for t in folder.trials.values():
        flat = group_rows([t])[0].flat
        cost, hours = t.cost, _hours(t.timings.get("wall_s"))
        gpu = _is_gpu(cost.get("device"))

        def num(key, scale=1.0, digits=2):
            v = cost.get(key)
            return Cell("" if not isinstance(v, (int, float)) else f"{v * scale:,.{digits}f}", cls="num")

        if hours is not None and gpu is True:
            gpu_h += hours
        elif hours is not None and gpu is False:
            cpu_h += hours
        config = " · ".join([t.dataset_name, f"{value_label(flat.get('model.backbone'))}",
                             value_label(flat.get("model.input_size")), method_label(flat),
                             f"En{flat.get('model.enc_layers')}/De{flat.get('model.dec_layers')}",
                             str(flat.get("supervision.regime"))])
        status_cls = "" if t.completed else ("failed" if t.status == "failed" else "missing")
        body.append([
            Cell(t.id, cls="mono"), Cell(", ".join(t.studies)), Cell(config), Cell(str(t.seed)),
            Cell(t.status, cls=status_cls), num("params", 1e-6, 2), num("gmacs", 1.0, 2),
            num("train_img_per_s", 1.0, 1), num("data_wait_fraction", 100.0, 1), num("infer_img_per_s", 1.0, 1),
            Cell(f"{hours:.4f}" if hours is not None and gpu else "", cls="num"),
            Cell(f"{hours:.4f}" if hours is not None and gpu is False else "", cls="num"),
            num("peak_mem_mb", 1.0, 0), Cell(str(cost.get("device") or "")),
            Cell(t.error or "", cls=f"wrap {status_cls}".strip()),
        ])
    counts = _counts(list(folder.trials.values()))
    summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    foot = [[Cell(f"matrix total: {len(folder.trials)} trials ({summary})", colspan=10, cls="label"),
             Cell(f"{gpu_h:.4f}", cls="num"), Cell(f"{cpu_h:.4f}", cls="num"), Cell("", colspan=3)]]
    notes = ["GPU-h / CPU-h: the trial's wall time (timings.wall_s) on its device; a trial that shared a GPU "
             "(fractional GPUs) is counted whole. Failed and missing trials have no cost record.",
             "Data wait: the share of the training time its loop waited for the next batch "
             "(cost.data_wait_fraction); a GPU trial with a high one needs more loader workers."]
    total = (f"Matrix total: {len(folder.trials)} trials ({summary}); {gpu_h:.3f} GPU-hours and {cpu_h:.3f} "
             f"CPU-hours of wall time.")
    return TableView("Cost per trial", header, body, foot, css="cost", notes=notes), total
