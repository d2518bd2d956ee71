"""The paper-vs-book comparison matches cells exactly and never mixes the two sources."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from paper_lib.report import paper_vs_book as pvb


def _reported() -> pd.DataFrame:
    rows = []
    for m, (a, v) in {"cca": (0.32, 0.31), "c_cca": (0.65, 0.64), "tnn_c_cca": (0.72, 0.73),
                      "kcca": (0.28, 0.27)}.items():
        rows += [{"dataset": "vegas", "table": "main_comparison", "method": m, "setting": "",
                  "direction": "a2v", "value": a, "source": "paper.md: main"},
                 {"dataset": "vegas", "table": "main_comparison", "method": m, "setting": "",
                  "direction": "v2a", "value": v, "source": "paper.md: main"}]
    for margin, val in ((0.1, 0.68), (0.5, 0.73)):
        rows.append({"dataset": "vegas", "table": "ablation_margin", "method": "tnn_c_cca",
                     "setting": f"margin={margin}", "direction": "a2v", "value": val,
                     "source": "paper.md: margin"})
    return pd.DataFrame(rows)


def _write_ours(root):
    (root / "main_table").mkdir(parents=True)
    pd.DataFrame({"method": ["cca", "c_cca", "tnn_c_cca"],
                  "ours_map_a2v_mean": [0.2, 0.5, 0.6], "ours_map_a2v_std": [0.01] * 3,
                  "ours_map_v2a_mean": [0.21, 0.52, 0.61], "ours_map_v2a_std": [0.02] * 3}
                 ).to_csv(root / "main_table" / "main_table.csv", index=False)
    (root / "ablation_margin").mkdir()
    pd.DataFrame({"method": ["tnn_c_cca"] * 2, "setting": ["margin=0.10", "margin=0.50"],
                  "direction": ["a2v"] * 2, "mean": [0.55, 0.6], "std": [0.0, 0.0]}
                 ).to_csv(root / "ablation_margin" / "summary.csv", index=False)


def test_cells_are_matched_by_method_setting_and_direction(tmp_path):
    _write_ours(tmp_path)
    comp = pvb.comparison(_reported(), tmp_path, "avdigits")
    assert list(comp.columns) == pvb.COLUMNS
    row = comp[(comp.method == "c_cca") & (comp.direction == "v2a")].iloc[0]
    assert row.paper_value == 0.64 and row.ours_mean == 0.52 and row.ours_dataset == "avdigits"
    # spelled differently ("margin=0.10" vs "margin=0.1"), same cell
    m = comp[(comp.table == "ablation_margin") & (comp.setting == "margin=0.1")].iloc[0]
    assert m.ours_mean == 0.55 and m.paper_value == 0.68
    # a method we did not run stays NaN, never filled with the paper's value
    k = comp[comp.method == "kcca"]
    assert k.ours_mean.isna().all() and (k.ours_dataset == "").all()


def test_shape_agreement_is_spearman_over_matched_cells(tmp_path):
    _write_ours(tmp_path)
    comp = pvb.comparison(_reported(), tmp_path, "avdigits")
    agr = pvb.shape_agreement(comp).set_index(["table", "direction"])
    both = comp[(comp.table == "main_comparison") & (comp.direction == "a2v")].dropna()
    expected = stats.spearmanr(both.paper_value, both.ours_mean)[0]
    assert agr.loc[("main_comparison", "a2v"), "spearman_rho"] == pytest.approx(expected)
    assert agr.loc[("main_comparison", "a2v"), "cells_matched"] == 3
    assert np.isnan(agr.loc[("ablation_margin", "a2v"), "spearman_rho"])  # only two cells
    assert pvb.best_method(comp, "paper_value") == "tnn_c_cca"


def test_missing_artefacts_give_no_numbers(tmp_path):
    comp = pvb.comparison(_reported(), tmp_path, "avdigits")
    assert comp.ours_mean.isna().all()
