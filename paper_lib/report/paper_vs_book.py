"""Every number the paper reports, beside the number this build computed for the same cell.

The paper's numbers come from the data manifest (:func:`paper_lib.paper.load_reported`)
with their provenance; ours from the results the artefact notebooks of this build wrote. They are
never mixed: ``paper_*`` columns hold the paper's, ``ours_*`` columns ours. On a dataset the paper
did not use, the paper's VEGAS numbers are the reference; differences in *value* are then
meaningless, so the comparison is about *shape*: does the ordering of methods or settings agree?

The reader's view is one table per paper artefact (:func:`comparison_view`, with its caption
from :func:`comparison_caption`): every cell the paper reports, the paper's number, ours and their
difference, the long source string once in the caption.

Why the *ordering* of the main comparison differs from the paper's (the main-table page states the
short version, the paper-vs-book page the full one; both from the same functions):
:func:`order_findings` compares the pairs of methods the pages discuss (:data:`KEY_PAIRS`: does
the paper's order of the two hold in this build? with the MAPs of each side), :func:`order_reversals`
lists every pair of methods whose order in this build is the reverse of the paper's, each with a
reason key (:data:`REASONS`), :func:`order_glue` turns all of it into glue values, and
:func:`kernel_separability` measures the claim behind the kernel methods' rise.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from paper_lib.data.dataset import PairedDataset
from paper_lib.errors import UserError
from paper_lib.experiment import DIRECTIONS
from paper_lib.experiment.evaluate import build_estimator
from paper_lib.experiment.knobs import EPOCHS
from paper_lib.methods.registry import METHODS
from paper_lib.metrics.cross_modal import DIRECTION_LABELS
from paper_lib.paper import PAPER_DATASETS
from paper_lib.report.tables import MISSING, mean_std, p_value

#: paper table -> (our artefact folder, our file)
OUR_SOURCES: dict[str, tuple[str, str]] = {
    "main_comparison": ("main_table", "main_table.csv"),
    "forum_comparison": ("main_table", "main_table.csv"),
    "ablation_d": ("ablation_dims", "summary.csv"),
    "ablation_margin": ("ablation_margin", "summary.csv"),
    "ablation_batch_number": ("ablation_batch_number", "summary.csv"),
}
#: every table the data manifest holds numbers of: (title, the paper artefact it is, as
#: ``reproduces=`` of :meth:`~paper_lib.pipeline.notebook.NotebookRun.table` words it)
ARTEFACTS: dict[str, tuple[str, str]] = {
    "main_comparison": ("Main comparison", "main comparison of MAP A→V and V→A of every method"),
    "ablation_d": ("Ablation over the number of correlation components k",
                   "ablation over the number of correlation components k"),
    "ablation_margin": ("Ablation over the triplet margin", "ablation over the triplet margin"),
    "ablation_batch_number": ("Ablation over the batch number", "ablation over the batch number"),
    "forum_feature_study": ("S-DCCA feature study (forum paper)",
                            "S-DCCA feature study, from the authors' forum paper"),
    "forum_comparison": ("Comparison with other methods (forum paper)",
                         "comparison with other methods, from the authors' forum paper"),
}
COLUMNS = ["table", "method", "setting", "direction", "paper_value", "paper_dataset",
           "paper_source", "ours_mean", "ours_std", "ours_dataset", "ours_file"]
_NUMBER = re.compile(r"^([a-z_]+)=([-+0-9.eE]+)$")


def _setting_key(setting: object) -> str:
    """Normalise ``margin=0.50`` / ``margin=0.5`` / ``d=10`` to one spelling; '' stays ''."""
    text = "" if setting is None or (isinstance(setting, float) and np.isnan(setting)) \
        else str(setting)
    m = _NUMBER.match(text)
    return f"{m.group(1)}={float(m.group(2)):g}" if m else text


def _main_table_long(table: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _, r in table.iterrows():
        for d in DIRECTIONS:
            rows.append({"method": r["method"], "setting": "", "direction": d,
                         "ours_mean": r[f"ours_map_{d}_mean"], "ours_std": r[f"ours_map_{d}_std"]})
    return pd.DataFrame(rows)


def _summary_long(summary: pd.DataFrame) -> pd.DataFrame:
    out = summary[["method", "setting", "direction", "mean", "std"]].rename(
        columns={"mean": "ours_mean", "std": "ours_std"})
    return out


def load_ours(results_root: Path, table: str) -> tuple[pd.DataFrame, str]:
    """Our numbers for a paper table (empty when that artefact has not run), and the file."""
    if table not in OUR_SOURCES:
        return pd.DataFrame(columns=["method", "setting", "direction", "ours_mean", "ours_std"]), ""
    folder, name = OUR_SOURCES[table]
    path = results_root / folder / name
    if not path.is_file():
        return pd.DataFrame(columns=["method", "setting", "direction", "ours_mean", "ours_std"]), ""
    df = pd.read_csv(path)
    long = _main_table_long(df) if name == "main_table.csv" else _summary_long(df)
    return long, f"{folder}/{name}"


def comparison(reported: pd.DataFrame, results_root: Path, ours_dataset: str) -> pd.DataFrame:
    """One row per number the paper reports, with ours for the same (method, setting, direction)
    where this build computed it (NaN where it did not)."""
    rows = []
    for table, rep in reported.groupby("table", sort=False):
        ours, file = load_ours(results_root, str(table))
        ours = ours.assign(key=ours["setting"].map(_setting_key))
        for _, r in rep.iterrows():
            match = ours[(ours["method"] == r["method"]) & (ours["direction"] == r["direction"])
                         & (ours["key"] == _setting_key(r["setting"]))]
            rows.append({"table": table, "method": r["method"],
                         "setting": "" if pd.isna(r["setting"]) else r["setting"],
                         "direction": r["direction"], "paper_value": float(r["value"]),
                         "paper_dataset": r["dataset"], "paper_source": r["source"],
                         "ours_mean": float(match["ours_mean"].iloc[0]) if len(match) else np.nan,
                         "ours_std": float(match["ours_std"].iloc[0]) if len(match) else np.nan,
                         "ours_dataset": ours_dataset if len(match) else "",
                         "ours_file": file if len(match) else ""})
    return pd.DataFrame(rows, columns=COLUMNS)


def shape_agreement(comp: pd.DataFrame) -> pd.DataFrame:
    """Per (table, direction): how many cells both have, and the Spearman rank correlation
    between the paper's values and ours over those cells (NaN with fewer than 3 cells)."""
    out = []
    for (table, direction), g in comp.groupby(["table", "direction"], sort=False):
        both = g.dropna(subset=["ours_mean"])
        rho, p = (stats.spearmanr(both["paper_value"], both["ours_mean"])
                  if len(both) >= 3 else (np.nan, np.nan))
        out.append({"table": table, "direction": direction, "cells_reported": len(g),
                    "cells_matched": len(both), "spearman_rho": float(rho),
                    "spearman_p": float(p)})
    return pd.DataFrame(out)


def best_method(comp: pd.DataFrame, column: str, table: str = "main_comparison",
                direction: str = "a2v") -> str:
    """The method with the highest value in ``column`` (``paper_value`` or ``ours_mean``)."""
    g = comp[(comp["table"] == table) & (comp["direction"] == direction)].dropna(subset=[column])
    return "" if g.empty else str(g.loc[g[column].idxmax(), "method"])


# -- the reader's view ---------------------------------------------------------------------------
def method_name(method: str) -> str:
    """A method key as the paper prints it ("tnn_c_cca" -> "TNN-C-CCA (batch-all)"); the key
    itself when it is not registered, "" for ""."""
    spec = METHODS.get(method) if method else None
    return spec.paper_name if spec is not None else method


def artefact_title(table: str) -> str:
    """The title of a paper table (its key when :data:`ARTEFACTS` does not know it)."""
    return ARTEFACTS[table][0] if table in ARTEFACTS else table.replace("_", " ")


def artefact_reproduces(table: str) -> str:
    """How the caption ties a paper table to the paper (``reproduces=``)."""
    return ARTEFACTS[table][1] if table in ARTEFACTS else table.replace("_", " ")


def artefact_order(comp: pd.DataFrame) -> list[str]:
    """The paper tables of ``comp`` in the order of :data:`ARTEFACTS`, unknown ones after."""
    present = list(dict.fromkeys(comp["table"]))
    return [t for t in ARTEFACTS if t in present] + [t for t in present if t not in ARTEFACTS]


def _split_setting(setting: str) -> tuple[str, str]:
    """``"batch_number=300"`` -> ``("batch number", "300")``; ``""`` -> ``("", "")``."""
    if not setting:
        return "", ""
    name, _, value = setting.partition("=")
    return (name.replace("_", " "), value) if value else ("setting", setting)


def comparison_view(comp: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """The rows of one paper table of :func:`comparison` for reading: one row per method and
    setting (in the paper's order, methods by their printed names; the setting column named
    after the setting, e.g. "margin", and absent for a plain table), then per direction (A→V,
    V→A) the paper's number, ours (``mean ± std`` on one line, :data:`~paper_lib.report.tables.MISSING` where this build
    has none) and their difference Δ = ours − paper (NaN where there is no ours)."""
    tables = set(comp["table"])
    if len(tables) > 1:
        raise ValueError(f"comp: one paper table at a time, got {sorted(tables)}")
    settings = [_split_setting(str(v)) for v in comp["setting"].fillna("")]
    names = {n for n, _ in settings if n}
    keys = list(dict.fromkeys(zip(comp["method"], comp["setting"].fillna(""), strict=True)))
    methods = list(dict.fromkeys(m for m, _ in keys))
    keys.sort(key=lambda k: methods.index(k[0]))     # stable: settings keep the paper's order
    indexed = comp.assign(setting=comp["setting"].fillna("")).set_index(
        ["method", "setting", "direction"])
    out = pd.DataFrame({"method": [method_name(m) for m, _ in keys]})
    if names:
        header = names.pop() if len(names) == 1 else "setting"
        out[header] = [_split_setting(st)[1] if header != "setting" else st for _, st in keys]
    for d in [d for d in DIRECTIONS if d in set(comp["direction"])]:
        label = DIRECTION_LABELS[d]
        paper, ours, delta = [], [], []
        for m, st in keys:
            if (m, st, d) not in indexed.index:
                paper.append(np.nan)
                ours.append(MISSING)
                delta.append(np.nan)
                continue
            r = indexed.loc[(m, st, d)]
            paper.append(float(r["paper_value"]))
            ours.append(mean_std(float(r["ours_mean"]), float(r["ours_std"]), digits))
            delta.append(float(r["ours_mean"]) - float(r["paper_value"]))
        out[f"paper {label}"] = paper
        out[f"ours {label}"] = ours
        out[f"Δ {label}"] = delta
    return out


def comparison_caption(comp: pd.DataFrame) -> str:
    """The caption of one paper table's view: what it shows, the dataset of each side, the
    paper's source (once) and the file our numbers come from."""
    table = str(comp["table"].iloc[0])
    paper_ds = ", ".join(dict.fromkeys(PAPER_DATASETS.get(str(v).lower(), str(v))
                                       for v in comp["paper_dataset"]))
    ours_ds = ", ".join(dict.fromkeys(str(v) for v in comp["ours_dataset"] if v))
    sources = "; ".join(dict.fromkeys(str(v).strip().rstrip(".") for v in comp["paper_source"]))
    files = ", ".join(dict.fromkeys(str(v) for v in comp["ours_file"] if v))
    text = (f"{artefact_title(table)}: every number the paper reports for it (on {paper_ds}) "
            f"beside this build's for the same method, setting and direction (ours: mean ± "
            f"standard deviation over this build's fits); Δ = ours − paper, and a dash where this "
            f"build has no number for the cell. Source of the paper's numbers: {sources}.")
    if files:
        return text + f" Ours ({ours_ds}) from {files}."
    return text + " This build computed none of these cells."


def agreement_view(agreement: pd.DataFrame) -> pd.DataFrame:
    """:func:`shape_agreement` for reading: the paper table's title, the direction's label,
    readable headers, ρ as a number and its p-value via :func:`~paper_lib.report.tables.p_value`
    (a dash below three matched cells)."""
    return pd.DataFrame({
        "paper table": [artefact_title(str(t)) for t in agreement["table"]],
        "direction": [DIRECTION_LABELS.get(str(d), str(d)) for d in agreement["direction"]],
        "cells reported": agreement["cells_reported"].astype(int),
        "cells matched": agreement["cells_matched"].astype(int),
        "Spearman ρ": agreement["spearman_rho"].astype(float),
        "p-value": [p_value(float(v)) for v in agreement["spearman_p"]]})


# -- why the order of the methods differs from the paper's ---------------------------------------
#: the epochs of every deep method in the paper (and in this book's full profile)
PAPER_EPOCHS: int = int(EPOCHS.default)
#: the kernel methods of the main comparison
KERNEL_METHODS: tuple[str, ...] = ("kcca", "c_kcca")
#: why two methods may swap places: the reason keys of :func:`order_reversals` and
#: :class:`PairFinding`, each with the short statement the reversal table prints (the pages give
#: the full reasons)
REASONS: dict[str, str] = {
    "kernel": "an RBF kernel on this build's features separates the classes (KCCA, C-KCCA)",
    "dcca": "this book's DCCA network and training, not the authors'",
    "lstm_supervised": "this book trains lstm_C-CCA's LSTMs as supervised classifiers",
    "short_training": "deep methods trained for fewer epochs than the paper's",
    "regime": "this build's clips and features, not VEGAS's videos through VGGish/Inception",
}
#: the pairs both pages discuss, (method, other): the two the paper's claims rest on (C-CCA
#: (β = 0.2) over CCA, TNN-C-CCA (batch-all) over its C-CCA input), then the reversals a student
#: notices first (the kernel methods, DCCA, lstm_C-CCA)
KEY_PAIRS: tuple[tuple[str, str], ...] = (
    ("c_cca", "cca"), ("tnn_c_cca", "c_cca"), ("kcca", "cca"), ("c_kcca", "c_cca"),
    ("dcca", "cca"), ("lstm_c_cca", "tnn_c_cca"))
#: the methods whose MAPs :func:`order_glue` glues one by one
KEY_METHODS: tuple[str, ...] = tuple(dict.fromkeys(m for pair in KEY_PAIRS for m in pair)) + (
    "c_cca_rasiwasia",)
#: the verdicts, as the prose quotes them
HOLDS, DOES_NOT_HOLD = "holds", "does not hold in this build"


def _is_trained(method: str) -> bool:
    """Whether a registered method trains for a number of epochs (the deep methods)."""
    try:
        return "epochs" in build_estimator(method, 10, 0, 1).get_params()
    except (KeyError, UserError):
        return False


def relation(gap: float) -> str:
    """How a MAP difference (method − other) reads: "above", "below" or "level with"."""
    return "above" if gap > 0 else "below" if gap < 0 else "level with"


def reversal_reason(upper: str, lower: str, epochs: int | None = None) -> str:
    """The reason key (:data:`REASONS`) of a pair whose order in this build is the reverse of
    the paper's, ``upper`` being the method the paper puts above ``lower``.

    The method that rose decides first (a kernel method, DCCA, lstm_C-CCA: the book's own
    choices for it); else, when this build trained the deep methods for fewer than
    :data:`PAPER_EPOCHS` epochs and the method that fell is one of them, "short_training"; else
    "regime" (the data and features)."""
    if lower in KERNEL_METHODS:
        return "kernel"
    if lower == "dcca":
        return "dcca"
    if lower == "lstm_c_cca":
        return "lstm_supervised"
    if epochs is not None and epochs < PAPER_EPOCHS and _is_trained(upper):
        return "short_training"
    return "regime"


@dataclass(frozen=True)
class PairFinding:
    """One pair of methods, here and in the paper: is ``method`` above or below ``other``?

    ``ours`` and ``paper`` map each direction to (MAP of ``method``, MAP of ``other``): this
    build's means and the paper's numbers. ``reason`` is "" when the paper's order of the two
    holds in both directions, else the key (:data:`REASONS`) of why it does not."""

    method: str
    other: str
    ours: dict[str, tuple[float, float]]
    paper: dict[str, tuple[float, float]]
    reason: str

    @property
    def key(self) -> str:
        """``"<method>_vs_<other>"``: the finding's name in glue keys."""
        return f"{self.method}_vs_{self.other}"

    def gap(self, side: str, direction: str) -> float:
        """MAP of ``method`` minus MAP of ``other`` in ``direction``, ``side`` "ours" or
        "paper"."""
        a, b = (self.ours if side == "ours" else self.paper)[direction]
        return a - b

    def kept(self, direction: str) -> bool:
        """Whether the paper's order of the two holds in this build in ``direction``."""
        return bool(np.sign(self.gap("ours", direction)) == np.sign(self.gap("paper", direction)))

    @property
    def verdict(self) -> str:
        """"holds" (the paper's order holds in both directions), "does not hold in this build",
        or "holds for A→V only" / "holds for V→A only"."""
        kept = [d for d in DIRECTIONS if self.kept(d)]
        if len(kept) == len(DIRECTIONS):
            return HOLDS
        if not kept:
            return DOES_NOT_HOLD
        return f"holds for {DIRECTION_LABELS[kept[0]]} only"


def _maps(table: pd.DataFrame, method: str) -> tuple[dict[str, float], dict[str, float]]:
    """(ours, paper) MAP of ``method`` per direction from the main table (NaN where absent)."""
    rows = table[table["method"] == method]
    nan = float("nan")
    if rows.empty:
        return {d: nan for d in DIRECTIONS}, {d: nan for d in DIRECTIONS}
    r = rows.iloc[0]
    return ({d: float(r[f"ours_map_{d}_mean"]) for d in DIRECTIONS},
            {d: float(r[f"paper_map_{d}"]) for d in DIRECTIONS})


def order_findings(table: pd.DataFrame, epochs: int | None = None,
                   pairs: tuple[tuple[str, str], ...] = KEY_PAIRS) -> list[PairFinding]:
    """The pairs of methods the pages discuss, compared here and in the paper.

    ``table`` is the main table (:func:`paper_lib.report.main_table.main_table`, or its CSV):
    columns ``method``, ``ours_map_{a2v,v2a}_mean`` and ``paper_map_{a2v,v2a}``. ``epochs`` is
    the number the deep methods were trained for in this build (it decides the
    "short_training" reason). A pair is left out when either side lacks a number."""
    out = []
    for method, other in pairs:
        (o_m, p_m), (o_o, p_o) = _maps(table, method), _maps(table, other)
        values = [*o_m.values(), *p_m.values(), *o_o.values(), *p_o.values()]
        if not np.all(np.isfinite(values)):
            continue
        ours = {d: (o_m[d], o_o[d]) for d in DIRECTIONS}
        paper = {d: (p_m[d], p_o[d]) for d in DIRECTIONS}
        finding = PairFinding(method, other, ours, paper, "")
        if all(finding.kept(d) for d in DIRECTIONS):
            out.append(finding)
            continue
        paper_mean = np.mean([finding.gap("paper", d) for d in DIRECTIONS])
        upper, lower = (method, other) if paper_mean >= 0 else (other, method)
        out.append(PairFinding(method, other, ours, paper, reversal_reason(upper, lower, epochs)))
    return out


def common_scores(table: pd.DataFrame) -> pd.DataFrame:
    """The methods with a MAP on both sides, with the mean of A→V and V→A of each side and its
    rank (1 = highest) among them: columns ``method``, ``ours``, ``paper``, ``rank_ours``,
    ``rank_paper``, in the table's order."""
    ours = table[[f"ours_map_{d}_mean" for d in DIRECTIONS]].astype(float).mean(axis=1,
                                                                                skipna=False)
    paper = table[[f"paper_map_{d}" for d in DIRECTIONS]].astype(float).mean(axis=1, skipna=False)
    out = pd.DataFrame({"method": table["method"].astype(str), "ours": ours, "paper": paper})
    out = out.dropna(subset=["ours", "paper"]).reset_index(drop=True)
    out["rank_ours"] = out["ours"].rank(ascending=False, method="min").astype(int)
    out["rank_paper"] = out["paper"].rank(ascending=False, method="min").astype(int)
    return out


REVERSAL_COLUMNS = ["upper", "lower", "paper_upper", "paper_lower", "ours_upper", "ours_lower",
                    "reason"]


def order_reversals(table: pd.DataFrame, epochs: int | None = None) -> pd.DataFrame:
    """Every pair of methods (with a MAP on both sides) whose order in this build is the reverse
    of the paper's, by the mean of A→V and V→A.

    Columns: ``upper`` and ``lower`` (the method the paper puts above, and below), their MAPs in
    the paper (``paper_upper``, ``paper_lower``) and here (``ours_upper``, ``ours_lower``), and
    the ``reason`` key (:func:`reversal_reason`); the largest swing (how far the order moved,
    ours − paper of lower − upper) first. Pairs the paper ties are left out."""
    s = common_scores(table)
    rows = []
    for i, j in combinations(range(len(s)), 2):
        a, b = s.iloc[i], s.iloc[j]
        if a["paper"] == b["paper"]:
            continue
        up, lo = (a, b) if a["paper"] > b["paper"] else (b, a)
        if up["ours"] > lo["ours"]:
            continue
        rows.append({"upper": up["method"], "lower": lo["method"],
                     "paper_upper": float(up["paper"]), "paper_lower": float(lo["paper"]),
                     "ours_upper": float(up["ours"]), "ours_lower": float(lo["ours"]),
                     "reason": reversal_reason(str(up["method"]), str(lo["method"]), epochs)})
    out = pd.DataFrame(rows, columns=REVERSAL_COLUMNS)
    if out.empty:
        return out
    swing = (out["ours_lower"] - out["ours_upper"]) - (out["paper_lower"] - out["paper_upper"])
    return out.iloc[np.argsort(-swing.to_numpy(), kind="stable")].reset_index(drop=True)


def reversals_view(reversals: pd.DataFrame) -> pd.DataFrame:
    """:func:`order_reversals` for reading: the methods' printed names, readable headers, the
    reason in words."""
    return pd.DataFrame({
        "upper in the paper": [method_name(str(m)) for m in reversals["upper"]],
        "lower in the paper": [method_name(str(m)) for m in reversals["lower"]],
        "paper MAP, upper": reversals["paper_upper"].astype(float),
        "paper MAP, lower": reversals["paper_lower"].astype(float),
        "ours MAP, upper": reversals["ours_upper"].astype(float),
        "ours MAP, lower": reversals["ours_lower"].astype(float),
        "reason": [REASONS.get(str(r), str(r)) for r in reversals["reason"]]})


def reversals_caption(n_pairs: int) -> str:
    """The caption of :func:`reversals_view` (``n_pairs``: the pairs compared)."""
    return (f"Every pair of methods, out of the {n_pairs} pairs of methods with a MAP in the paper "
            "and in this build, whose order in this build is the reverse of the paper's: the "
            "method the paper puts above and the one it puts below, their MAP (the mean of A→V "
            "and V→A) in the paper and in this build, and the reason this book gives for the "
            "swap (the book's own choice for the method that rose where it made one, else a "
            "short training budget when the method that fell is a deep one trained for fewer "
            "epochs than the paper's, else the data and features); the largest swing first.")


def order_glue(table: pd.DataFrame, epochs: int | None, prefix: str) -> dict[str, float | int | str]:
    """Every number and word the "why the order differs" prose quotes, under ``<prefix>_...``.

    - ``<prefix>_<m>_<d>_ours`` / ``_paper``: the MAP of each method of :data:`KEY_METHODS`
      (``_paper`` only where the paper has one);
    - per finding of :func:`order_findings` (``<k>`` = ``<prefix>_<method>_vs_<other>``):
      ``<k>_verdict`` ("holds", ...), ``<k>_<side>_<d>`` the MAP difference method − other and
      ``<k>_<side>_<d>_rel`` the word ("above", "below", "level with"), side "ours" or "paper";
    - ``<prefix>_<m>_rank_ours`` / ``_rank_paper`` for each of :data:`KEY_METHODS` with a MAP on
      both sides, and ``<prefix>_n_common``: ranks (1 = highest) among those methods; ``<prefix>_best``:
      the printed name of the highest of them here, ``<prefix>_paper_best`` in the paper;
    - ``<prefix>_n_pairs``, ``<prefix>_n_reversed``: pairs of those methods, and how many swap;
    - ``<prefix>_epochs`` (when known), ``<prefix>_paper_epochs``, and ``<prefix>_epochs_vs``:
      "fewer than", "as many as" or "more than" the paper's.
    """
    out: dict[str, float | int | str] = {}
    for m in KEY_METHODS:
        ours, paper = _maps(table, m)
        for d in DIRECTIONS:
            if np.isfinite(ours[d]):
                out[f"{prefix}_{m}_{d}_ours"] = ours[d]
            if np.isfinite(paper[d]):
                out[f"{prefix}_{m}_{d}_paper"] = paper[d]
    for f in order_findings(table, epochs):
        k = f"{prefix}_{f.key}"
        out[f"{k}_verdict"] = f.verdict
        for side in ("ours", "paper"):
            for d in DIRECTIONS:
                out[f"{k}_{side}_{d}"] = f.gap(side, d)
                out[f"{k}_{side}_{d}_rel"] = relation(f.gap(side, d))
    s = common_scores(table).set_index("method")
    out[f"{prefix}_n_common"] = len(s)
    for m in KEY_METHODS:
        if m in s.index:
            out[f"{prefix}_{m}_rank_ours"] = int(s.loc[m, "rank_ours"])
            out[f"{prefix}_{m}_rank_paper"] = int(s.loc[m, "rank_paper"])
    if len(s):
        out[f"{prefix}_best"] = method_name(str(s["ours"].idxmax()))
        out[f"{prefix}_paper_best"] = method_name(str(s["paper"].idxmax()))
    out[f"{prefix}_n_pairs"] = len(s) * (len(s) - 1) // 2
    out[f"{prefix}_n_reversed"] = len(order_reversals(table, epochs))
    out[f"{prefix}_paper_epochs"] = PAPER_EPOCHS
    if epochs is not None:
        out[f"{prefix}_epochs"] = int(epochs)
        out[f"{prefix}_epochs_vs"] = ("fewer than" if epochs < PAPER_EPOCHS else
                                      "as many as" if epochs == PAPER_EPOCHS else "more than")
    return out


def load_main_table(results_root: Path) -> tuple[pd.DataFrame, int | None]:
    """The main table this build wrote (``main_table/main_table.csv``) and the epochs its deep
    methods were trained for (from the page's provenance; None when not recorded)."""
    folder = results_root / "main_table"
    path = folder / "main_table.csv"
    if not path.is_file():
        raise UserError(f"{path} does not exist: run the main table first "
                        f"(paper-lib reproduce --only 02_main_table).")
    epochs = None
    prov = folder / "provenance.json"
    if prov.is_file():
        value = json.loads(prov.read_text()).get("parameters", {}).get("epochs")
        epochs = int(value) if value is not None else None
    return pd.read_csv(path), epochs


# -- the claim behind the kernel methods ---------------------------------------------------------
def linear_vs_rbf_accuracy(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray,
                           y_test: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """Test accuracy of one linear classifier on the raw features and on the RBF feature map
    the book's KCCA builds from the same training rows: (raw, RBF).

    The map is KCCA's (:mod:`paper_lib.methods.kcca`): the "scale" bandwidth
    γ = 1/(d·Var(X)) of the training rows, the exact kernel map up to ``AUTO_EXACT_MAX_N``
    training rows and Nyström with KCCA's default landmarks beyond. [choice] The classifier is a
    ridge classifier (α = 1) on z-scored features, the same for both: a linear read-out, like
    the linear (Cluster-)CCA that KCCA runs in the feature space."""
    from sklearn.linear_model import RidgeClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from paper_lib.methods.kcca import (
        AUTO_EXACT_MAX_N,
        KCCA,
        ExactKernelMap,
        NystromKernelMap,
        scale_gamma,
    )

    gamma = scale_gamma(X_train)
    fmap: ExactKernelMap | NystromKernelMap
    if len(X_train) <= AUTO_EXACT_MAX_N:
        fmap = ExactKernelMap("rbf", gamma)
    else:
        fmap = NystromKernelMap("rbf", gamma, int(KCCA().n_landmarks), seed)
    F_train = fmap.fit_transform(X_train)
    F_test = fmap.transform(X_test)

    def accuracy(A: np.ndarray, B: np.ndarray) -> float:
        clf = make_pipeline(StandardScaler(), RidgeClassifier(alpha=1.0)).fit(A, y_train)
        return float(clf.score(B, y_test))

    return accuracy(X_train, X_test), accuracy(F_train, F_test)


def kernel_separability(ds: PairedDataset, fold: int = 0, seed: int = 0) -> pd.DataFrame:
    """:func:`linear_vs_rbf_accuracy` for each view of ``ds`` on one split (fold ``fold``, or
    the fixed split): columns ``view`` ("audio", "visual"), ``raw``, ``rbf``, ``n_train``,
    ``n_test``."""
    split = next(ds.splits(None if ds.is_test is not None else [fold]))
    y = np.asarray(ds.labels)
    rows = []
    for view, X in (("audio", ds.audio), ("visual", ds.visual)):
        X = np.asarray(X, dtype=float)
        raw, rbf = linear_vs_rbf_accuracy(X[split.train], y[split.train], X[split.test],
                                          y[split.test], seed)
        rows.append({"view": view, "raw": raw, "rbf": rbf, "n_train": len(split.train),
                     "n_test": len(split.test)})
    return pd.DataFrame(rows)


def separability_view(sep: pd.DataFrame) -> pd.DataFrame:
    """:func:`kernel_separability` for reading."""
    return pd.DataFrame({"view": sep["view"].astype(str),
                         "accuracy, raw features": sep["raw"].astype(float),
                         "accuracy, RBF feature map": sep["rbf"].astype(float)})
