"""Every number the paper reports, beside the number this build computed for the same cell.

The paper's numbers come from the data manifest (:func:`paper_lib.paper.load_reported`)
with their provenance; ours from the results the artefact notebooks of this build wrote. They are
never mixed: ``paper_*`` columns hold the paper's, ``ours_*`` columns ours. On a dataset the paper
did not use, the paper's VEGAS numbers are the reference; differences in *value* are then
meaningless, so the comparison is about *shape*: does the ordering of methods or settings agree?

The reader's view is one table per paper artefact (:func:`comparison_view`, with its caption
from :func:`comparison_caption`): every cell the paper reports, the paper's number, ours and their
difference, the long source string once in the caption.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from paper_lib.experiment import DIRECTIONS
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
    "ablation_d": ("Ablation over the number of correlation components d",
                   "ablation over the number of correlation components d"),
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
