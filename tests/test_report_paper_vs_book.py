"""The paper-vs-book comparison matches cells exactly and never mixes the two sources."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from paper_lib.report import paper_vs_book as pvb
from paper_lib.report.tables import MISSING, markdown_table, mean_std


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


def test_comparison_view_shows_every_cell_of_an_artefact_with_both_numbers_and_delta(tmp_path):
    _write_ours(tmp_path)
    comp = pvb.comparison(_reported(), tmp_path, "avdigits")
    main = comp[comp.table == "main_comparison"]
    view = pvb.comparison_view(main)
    assert list(view.columns) == ["method", "paper A→V", "ours A→V", "Δ A→V",
                                  "paper V→A", "ours V→A", "Δ V→A"]
    assert list(view["method"]) == ["CCA", "C-CCA", "TNN-C-CCA (batch-all)", "KCCA"]
    assert 2 * len(view) == len(main)                     # every reported number, none dropped
    c = view.iloc[1]
    assert c["paper V→A"] == 0.64 and c["Δ V→A"] == pytest.approx(0.52 - 0.64)
    assert c["ours V→A"] == mean_std(0.52, 0.02, 4)       # one line: no-break spaces
    k = view.iloc[3]                                      # not run: a dash, never the paper's
    assert k["ours A→V"] == MISSING and np.isnan(k["Δ A→V"]) and k["paper A→V"] == 0.28
    # one artefact at a time
    with pytest.raises(ValueError, match="one paper table"):
        pvb.comparison_view(comp)


def test_comparison_view_names_the_setting_column_and_keeps_the_papers_order(tmp_path):
    _write_ours(tmp_path)
    comp = pvb.comparison(_reported(), tmp_path, "avdigits")
    view = pvb.comparison_view(comp[comp.table == "ablation_margin"])
    assert list(view.columns) == ["method", "margin", "paper A→V", "ours A→V", "Δ A→V"]
    assert list(view["margin"]) == ["0.1", "0.5"]
    assert view.loc[0, "Δ A→V"] == pytest.approx(0.55 - 0.68)
    table = markdown_table(view, digits=4)
    assert "…" not in table and table.count("\n") == 1 + len(view)


def test_comparison_caption_gives_the_source_once_and_the_datasets(tmp_path):
    _write_ours(tmp_path)
    comp = pvb.comparison(_reported(), tmp_path, "avdigits")
    main = comp[comp.table == "main_comparison"]
    caption = pvb.comparison_caption(main)
    assert caption.startswith("Main comparison:") and caption.endswith(".")
    assert caption.count("paper.md: main") == 1 and "VEGAS" in caption
    assert "avdigits" in caption and "main_table/main_table.csv" in caption
    none = pvb.comparison(_reported(), tmp_path / "nothing", "avdigits")
    assert "computed none" in pvb.comparison_caption(none[none.table == "main_comparison"])
    assert pvb.artefact_order(comp) == ["main_comparison", "ablation_margin"]
    assert pvb.artefact_reproduces("main_comparison").startswith("main comparison")


def test_agreement_view_is_readable_and_p_values_are_never_zero(tmp_path):
    _write_ours(tmp_path)
    comp = pvb.comparison(_reported(), tmp_path, "avdigits")
    agr = pvb.shape_agreement(comp).assign(spearman_p=[1e-60, 0.0312, np.nan])
    view = pvb.agreement_view(agr)
    assert list(view.columns) == ["paper table", "direction", "cells reported", "cells matched",
                                  "Spearman ρ", "p-value"]
    assert list(view["paper table"]) == ["Main comparison", "Main comparison",
                                         "Ablation over the triplet margin"]
    assert list(view["direction"]) == ["A→V", "V→A", "A→V"]
    assert list(view["p-value"]) == ["1.0e-60", "0.031", MISSING]      # never "0.0000"
    assert pvb.method_name("tnn_c_cca") == "TNN-C-CCA (batch-all)"
    assert pvb.method_name("nope") == "nope" and pvb.method_name("") == ""
