"""Every number the paper reports, beside the number this build computed for the same cell.

The paper's numbers come from the data manifest (:func:`paper_lib.paper.load_reported`)
with their provenance; ours from the results the artefact notebooks of this build wrote. They are
never mixed: ``paper_*`` columns hold the paper's, ``ours_*`` columns ours. On a dataset the paper
did not use, the paper's VEGAS numbers are the reference; differences in *value* are then
meaningless, so the comparison is about *shape*: does the ordering of methods or settings agree?
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from paper_lib.experiment import DIRECTIONS

#: paper table -> (our artefact folder, our file)
OUR_SOURCES: dict[str, tuple[str, str]] = {
    "main_comparison": ("main_table", "main_table.csv"),
    "forum_comparison": ("main_table", "main_table.csv"),
    "ablation_d": ("ablation_dims", "summary.csv"),
    "ablation_margin": ("ablation_margin", "summary.csv"),
    "ablation_batch_number": ("ablation_batch_number", "summary.csv"),
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
