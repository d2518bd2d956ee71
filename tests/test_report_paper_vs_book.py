"""The paper-vs-book comparison matches cells exactly and never mixes the two sources."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from paper_lib.methods.registry import get_method
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
    assert list(view["method"]) == [get_method(m).paper_name
                                    for m in ("cca", "c_cca", "tnn_c_cca", "kcca")]
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


# -- why the order differs -----------------------------------------------------------------------
def _main(rows: dict[str, tuple[float, float, float, float]]) -> pd.DataFrame:
    """A hand-made main table: method -> (ours A→V, ours V→A, paper A→V, paper V→A)."""
    return pd.DataFrame([{"method": m, "ours_map_a2v_mean": oa, "ours_map_v2a_mean": ov,
                          "paper_map_a2v": pa, "paper_map_v2a": pv}
                         for m, (oa, ov, pa, pv) in rows.items()])


_TABLE = {
    #              ours a2v, v2a   paper a2v, v2a
    "cca":        (0.40, 0.42,     0.32, 0.32),
    "kcca":       (0.66, 0.70,     0.29, 0.27),     # reversed against CCA: the kernel rose
    "c_cca":      (0.62, 0.64,     0.65, 0.64),     # kept above CCA
    "tnn_c_cca":  (0.45, 0.66,     0.72, 0.74),     # below C-CCA A→V only
    "lstm_c_cca": (0.70, 0.71,     0.67, 0.71),
    "ugach":      (0.30, 0.30,     np.nan, np.nan),  # no paper number: left out
}


def test_a_kept_order_holds_and_a_reversal_is_found_with_its_reason():
    table = _main(_TABLE)
    found = {f.key: f for f in pvb.order_findings(table, epochs=10)}
    kept = found["c_cca_vs_cca"]
    assert kept.verdict == pvb.HOLDS and kept.reason == ""
    assert kept.ours["a2v"] == (0.62, 0.40) and kept.paper["v2a"] == (0.64, 0.32)
    assert kept.gap("ours", "a2v") == pytest.approx(0.22)
    kernel = found["kcca_vs_cca"]
    assert kernel.verdict == pvb.DOES_NOT_HOLD and kernel.reason == "kernel"
    assert kernel.gap("paper", "a2v") == pytest.approx(-0.03)
    # the wording follows the numbers, direction by direction
    assert found["tnn_c_cca_vs_c_cca"].verdict == "holds for V→A only"
    assert found["lstm_c_cca_vs_tnn_c_cca"].reason == "lstm_supervised"
    # pairs with a method missing from the table (c_kcca, dcca) are left out
    assert not {"c_kcca_vs_c_cca", "dcca_vs_cca"} & set(found)


def test_verdicts_flip_with_the_numbers():
    rows = dict(_TABLE) | {"c_cca": (0.30, 0.31, 0.65, 0.64)}        # now below CCA both ways
    f = {f.key: f for f in pvb.order_findings(_main(rows))}["c_cca_vs_cca"]
    assert f.verdict == pvb.DOES_NOT_HOLD and f.reason == "regime"
    rows = dict(_TABLE) | {"tnn_c_cca": (0.70, 0.70, 0.72, 0.74)}    # now above both ways
    f = {f.key: f for f in pvb.order_findings(_main(rows))}["tnn_c_cca_vs_c_cca"]
    assert f.verdict == pvb.HOLDS and f.reason == ""


def test_short_training_is_the_reason_only_when_the_deep_methods_had_fewer_epochs():
    rows = dict(_TABLE) | {"tnn_c_cca": (0.45, 0.46, 0.72, 0.74)}
    short = {f.key: f for f in pvb.order_findings(_main(rows), epochs=2)}
    full = {f.key: f for f in pvb.order_findings(_main(rows), epochs=pvb.PAPER_EPOCHS)}
    assert short["tnn_c_cca_vs_c_cca"].reason == "short_training"
    assert full["tnn_c_cca_vs_c_cca"].reason == "regime"
    assert pvb.reversal_reason("cca", "c_kcca") == "kernel"
    assert pvb.reversal_reason("cca", "dcca", epochs=1) == "dcca"
    assert pvb.reversal_reason("c_cca", "cca", epochs=1) == "regime"    # CCA does not train


def test_order_reversals_lists_exactly_the_swapped_pairs_with_both_maps():
    table = _main(_TABLE)
    rev = pvb.order_reversals(table, epochs=10)
    assert list(rev.columns) == pvb.REVERSAL_COLUMNS
    scores = pvb.common_scores(table).set_index("method")
    assert "ugach" not in scores.index and len(scores) == 5
    expected = set()                                   # brute force over the pairs
    for a in scores.index:
        for b in scores.index:
            if scores.loc[a, "paper"] > scores.loc[b, "paper"] and \
                    scores.loc[a, "ours"] <= scores.loc[b, "ours"]:
                expected.add((a, b))
    assert set(zip(rev["upper"], rev["lower"], strict=True)) == expected
    row = rev[(rev["upper"] == "cca") & (rev["lower"] == "kcca")].iloc[0]
    assert row["paper_upper"] == pytest.approx(0.32) and row["paper_lower"] == pytest.approx(0.28)
    assert row["ours_upper"] == pytest.approx(0.41) and row["ours_lower"] == pytest.approx(0.68)
    assert row["reason"] == "kernel"
    swing = (rev["ours_lower"] - rev["ours_upper"]) - (rev["paper_lower"] - rev["paper_upper"])
    assert list(swing) == sorted(swing, reverse=True)  # the largest swing first
    view = pvb.reversals_view(rev)
    assert view.loc[0, "reason"] in pvb.REASONS.values()
    assert set(view["upper in the paper"]) <= {get_method(m).paper_name for m in scores.index}
    assert "5 methods" not in pvb.reversals_caption(10) and "10 pairs" in pvb.reversals_caption(10)


def test_order_glue_quotes_every_number_and_word_of_the_prose():
    table = _main(_TABLE)
    g = pvb.order_glue(table, 2, "x")
    assert g["x_c_cca_vs_cca_verdict"] == "holds"
    assert g["x_kcca_vs_cca_verdict"] == "does not hold in this build"
    assert g["x_kcca_vs_cca_ours_a2v_rel"] == "above" and g["x_kcca_vs_cca_paper_a2v_rel"] == "below"
    assert g["x_kcca_a2v_ours"] == 0.66 and g["x_kcca_a2v_paper"] == 0.29
    assert "x_ugach_a2v_paper" not in g and "x_c_kcca_a2v_ours" not in g
    assert g["x_n_common"] == 5 and g["x_n_pairs"] == 10
    assert g["x_n_reversed"] == len(pvb.order_reversals(table, 2))
    # ranks by the mean of both directions: lstm (0.705) first here, second in the paper
    assert g["x_lstm_c_cca_rank_ours"] == 1 and g["x_lstm_c_cca_rank_paper"] == 2
    assert g["x_tnn_c_cca_rank_paper"] == 1
    assert g["x_best"] == get_method("lstm_c_cca").paper_name
    assert g["x_epochs"] == 2 and g["x_epochs_vs"] == "fewer than" and g["x_paper_epochs"] == 10
    assert pvb.order_glue(table, 10, "x")["x_epochs_vs"] == "as many as"
    assert "x_epochs" not in pvb.order_glue(table, None, "x")
    assert pvb.relation(0.1) == "above" and pvb.relation(-0.1) == "below"
    assert pvb.relation(0.0) == "level with"


def test_load_main_table_reads_the_csv_and_the_epochs_of_its_provenance(tmp_path):
    import json

    from paper_lib.errors import UserError

    with pytest.raises(UserError, match="02_main_table"):
        pvb.load_main_table(tmp_path)
    (tmp_path / "main_table").mkdir()
    _main(_TABLE).to_csv(tmp_path / "main_table" / "main_table.csv", index=False)
    table, epochs = pvb.load_main_table(tmp_path)
    assert epochs is None and list(table["method"]) == list(_TABLE)
    (tmp_path / "main_table" / "provenance.json").write_text(
        json.dumps({"parameters": {"epochs": 3}}))
    assert pvb.load_main_table(tmp_path)[1] == 3


def test_an_rbf_map_separates_rings_a_linear_read_out_cannot():
    rng = np.random.default_rng(0)
    n = 400
    y = np.repeat([0, 1], n // 2)
    radius = np.where(y == 0, 1.0, 3.0) + 0.2 * rng.normal(size=n)
    angle = rng.uniform(0, 2 * np.pi, size=n)
    X = np.c_[radius * np.cos(angle), radius * np.sin(angle)]
    train, test = np.arange(n) % 2 == 0, np.arange(n) % 2 == 1
    raw, rbf = pvb.linear_vs_rbf_accuracy(X[train], y[train], X[test], y[test])
    assert raw < 0.7 and rbf > 0.95          # concentric rings: no line separates them


def test_kernel_separability_has_one_row_per_view():
    from paper_lib.data.registry import load_dataset

    ds = load_dataset("synthetic", n_per_class=12, d_audio=16, d_visual=24, use_cache=False)
    sep = pvb.kernel_separability(ds, fold=0)
    assert list(sep["view"]) == ["audio", "visual"]
    assert sep[["raw", "rbf"]].apply(lambda c: c.between(0, 1)).all().all()
    assert (sep["n_train"] + sep["n_test"] == ds.n_clips).all()
    view = pvb.separability_view(sep)
    assert list(view.columns) == ["view", "accuracy, raw features", "accuracy, RBF feature map"]
