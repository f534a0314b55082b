"""The localisation ladder of a study's rows (issue 16): where localisation is lost, link by link.

Each trial records the ladder (`harness.record.MetricsRecord`: `classification`, `readouts`,
`errors`); a row's values are means over its completed seeds. The links, in order:

1. the classifier learns: the `cnn` head's gain (mAP − chance_mAP) / (1 − chance_mAP), mean over
   the seeds, is at least `CLASSIFIER_GAIN` (0.5, the issue's bar);
2. the CAMs localise: the `cams` read-out is above the mean pose (`harness.report.mean_pose`:
   decided by the 95 % interval over images, by the point estimate where there is none);
3. the paper's output localises: the `responses` read-out is above the mean pose.

A link is True (holds), False (fails) or None (undecided: its value was not recorded, or there is
no mean-pose reference). A row's first failing link is the first False. Rows trained with
locations (any supervision regime but `location_free`) are shown with their links but are not
counted as location-free evidence: they were given the locations.

For a study (one dataset group), `summarise` counts the location-free rows that pass each link
and names the first link to fail: the first link, in the ladder's order, that fails in at least
one location-free row; `first_fails` says at which link each row's chain breaks.

Why link 3 fails: each row's decoder diagnostics (`harness.evaluation.diagnostics`, means over its
seeds) and the ones that flag a failure (collapsed attention, indistinct prototypes, responses not
following the CAMs), named beside every location-free row whose link 3 fails.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from harness.evaluation import diagnostics as diag
from harness.evaluation.error_categories import CATEGORIES
from harness.record import HEADS, READOUTS
from harness.report.bootstrap import PerImageCache
from harness.report.loading import Reference, TrialRecord
from harness.report.mean_pose import VsMeanPose, readout_value, vs_mean_pose
from harness.report.rows import Row
from harness.report.stats import Summary, summarize_rows

CLASSIFIER_GAIN = 0.5
DIAGNOSTICS = ("attention_entropy", "uniform_fraction", "prototype_cos", "part_feature_cos",
               "response_cam_agreement", "response_cam_agreement_shuffled", "decoder_weight_norm")


@dataclass(frozen=True)
class Link:
    number: int
    name: str  # a few words: what fails when the link fails
    test: str  # how it is decided
    short: str  # the same, for a column header


LINKS = (Link(1, "the classifier", f"cnn gain ≥ {CLASSIFIER_GAIN:g}", f"gain ≥ {CLASSIFIER_GAIN:g}"),
         Link(2, "the CAMs", "cams above the mean pose", "cams > mean pose"),
         Link(3, "the paper's output", "responses above the mean pose", "responses > mean pose"))


@dataclass
class RowLadder:
    """One row's ladder: summaries over its completed seeds, the read-outs against the mean pose,
    the mean error-category fractions and its links."""

    row: Row
    recorded: bool  # a completed seed recorded the ladder (results from before it did not)
    location_free: bool
    heads: dict[str, dict[str, Summary]]  # head -> {"mAP", "chance_mAP", "gain"}
    readouts: dict[str, Summary]  # read-out -> its location metric
    against: dict[str, VsMeanPose | None]  # read-out -> minus the mean pose, with its interval
    errors: dict[str, float]  # category -> mean fraction over the seeds that recorded them
    links: tuple[bool | None, ...]
    diagnostics: dict[str, Summary] = field(default_factory=dict)  # name -> over the seeds that recorded it

    @property
    def flags(self) -> list[str]:
        """The diagnostics that flag why link 3 fails (on their means over the seeds); [] where link 3
        does not fail, the row was given locations or nothing was recorded."""
        if not self.location_free or self.links[2] is not False:
            return []
        return diag.flags({k: s.mean for k, s in self.diagnostics.items()})

    @property
    def first_fail(self) -> int | None:
        """The number of the first link that fails, or None."""
        return next((link.number for link, ok in zip(LINKS, self.links) if ok is False), None)


def _number(value: object) -> float | None:
    """A recorded number, or None (null, absent, or not a number: nothing to summarise)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _head_value(t: TrialRecord, name: str) -> float | None:
    head, key = name.split(".")
    values = t.classification.get(head)
    return _number(values.get(key)) if isinstance(values, dict) else None


def _diagnostic_value(t: TrialRecord, name: str) -> float | None:
    return _number(t.diagnostics.get(name))


def _category_value(t: TrialRecord, name: str) -> float | None:
    overall = t.errors.get("overall")
    return _number(overall.get(name)) if isinstance(overall, dict) else None


def row_ladders(rows: list[Row], ref: Reference | None, metric: str | None, cache: PerImageCache,
                n: int = 1000) -> list[RowLadder]:
    """The ladder of every row (in the rows' order); `metric` is the dataset's location metric."""
    heads = summarize_rows(rows, [f"{h}.{k}" for h in HEADS for k in ("mAP", "chance_mAP", "gain")], _head_value)
    reads = summarize_rows(rows, READOUTS, lambda t, r: readout_value(t, r, metric) if metric else None)
    cats = summarize_rows(rows, CATEGORIES, _category_value)
    diags = summarize_rows(rows, DIAGNOSTICS, _diagnostic_value)
    out = []
    for row in rows:
        done = row.completed
        against = {r: vs_mean_pose(done, ref, r, metric, cache, n) for r in READOUTS}
        gain = heads[(row.number, "cnn.gain")].mean
        links = (None if gain is None else gain >= CLASSIFIER_GAIN,
                 None if against["cams"] is None else against["cams"].above,
                 None if against["responses"] is None else against["responses"].above)
        errors = {c: cats[(row.number, c)].mean for c in CATEGORIES}
        out.append(RowLadder(
            row=row, recorded=any(t.classification or t.readouts for t in done),
            location_free=row.flat.get("supervision.regime", "location_free") == "location_free",
            heads={h: {k: heads[(row.number, f"{h}.{k}")] for k in ("mAP", "chance_mAP", "gain")} for h in HEADS},
            readouts={r: reads[(row.number, r)] for r in READOUTS}, against=against,
            errors={c: v for c, v in errors.items() if v is not None}, links=links,
            diagnostics={d: diags[(row.number, d)] for d in DIAGNOSTICS if diags[(row.number, d)].mean is not None}))
    return out


@dataclass
class LadderSummary:
    """A study's ladder (one dataset group) as the index shows it."""

    rows: int = 0  # location-free rows that recorded the ladder
    passed: list[int] = field(default_factory=lambda: [0] * len(LINKS))  # rows that pass each link
    decided: list[int] = field(default_factory=lambda: [0] * len(LINKS))  # rows where it was decided
    first_fails: dict[int, int] = field(default_factory=dict)  # link number -> rows whose chain breaks there
    supervised: int = 0  # rows given locations (with the ladder recorded)
    supervised_above: int = 0  # ... whose responses are above the mean pose
    unrecorded: int = 0  # rows with completed seeds but no ladder
    link3_flags: dict[str, int] = field(default_factory=dict)  # diagnostic flag -> location-free rows it flags
    link3_unflagged: int = 0  # location-free rows whose link 3 fails with no diagnostic flagging it

    @property
    def first_fail(self) -> int | None:
        """The first link that fails in at least one location-free row."""
        return min(self.first_fails) if self.first_fails else None

    def link3_why(self) -> str:
        """The diagnostics that flag the rows whose link 3 fails, with their counts ("" if none failed)."""
        parts = [f"{name} ({n} row{'s' if n > 1 else ''})" for name, n in self.link3_flags.items()]
        if self.link3_unflagged:
            parts.append(f"no diagnostic flagging it ({self.link3_unflagged} row{'s' if self.link3_unflagged > 1 else ''})")
        return ", ".join(parts)

    def verdict(self) -> str:
        if not self.rows and not self.supervised:
            return "no ladder recorded"
        if not self.rows:
            return "no location-free row: every row was given locations"
        first = self.first_fail
        if first is not None:
            link = LINKS[first - 1]
            where = ", ".join(f"link {k} in {n} row{'s' if n > 1 else ''}"
                              for k, n in sorted(self.first_fails.items()))
            why = self.link3_why()
            return f"{first}: {link.name} ({link.test} fails). Each row's first failure: {where}" + (
                f". Link 3 fails with {why}" if why else "")
        if any(d < self.rows for d in self.decided):
            return "none failed, some undecided (values or the mean-pose reference missing)"
        return "none: every location-free row passes all three links"


def summarise(ladders: list[RowLadder]) -> LadderSummary:
    out = LadderSummary()
    for lad in ladders:
        if not lad.recorded:
            out.unrecorded += bool(lad.row.completed)
            continue
        if not lad.location_free:
            out.supervised += 1
            out.supervised_above += lad.links[2] is True
            continue
        out.rows += 1
        for i, ok in enumerate(lad.links):
            out.decided[i] += ok is not None
            out.passed[i] += ok is True
        if lad.first_fail is not None:
            out.first_fails[lad.first_fail] = out.first_fails.get(lad.first_fail, 0) + 1
        if lad.links[2] is False and lad.diagnostics:
            for name in lad.flags:
                out.link3_flags[name] = out.link3_flags.get(name, 0) + 1
            out.link3_unflagged += not lad.flags
    return out
