"""The main table: shared configs, our summary (vs a manual groupby), the paper's numbers beside
ours (never in the same column), the hashing rows, glue keys, secondary metrics and costs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paper_lib.data.dataset import Split
from paper_lib.experiment import RECORD_COLUMNS, SplitResult
from paper_lib.methods.registry import get_method
from paper_lib.paper import PAPER_METHODS, SOTA_BASELINES, load_reported, reference
from paper_lib.paths import REPO_ROOT
from paper_lib.pipeline.params import resolve
from paper_lib.report import main_table as mt
from paper_lib.report.tables import MISSING, markdown_table, mean_std

METRICS = ("map", "p@10", "ndcg@30", "mrr", "pair_r@10")


def _records(methods=mt.MAIN_METHODS, folds=(0, 1, 2), seeds=(0, 1), seed=0) -> pd.DataFrame:
    """Hand-made tidy records with random values (the runner's columns)."""
    rng = np.random.default_rng(seed)
    rows = []
    for m in methods:
        for f in folds:
            for s in seeds:
                base = {"dataset": "toy", "method": m, "setting": "", "fold": f, "seed": s,
                        "dim": 10}
                for d in ("a2v", "v2a"):
                    for metric in METRICS:
                        rows.append(base | {"direction": d, "metric": metric,
                                            "value": float(rng.uniform())})
                rows.append(base | {"direction": "fit", "metric": "wall_time_s",
                                    "value": float(rng.uniform(0, 10))})
                rows.append(base | {"direction": "fit", "metric": "peak_rss_mb",
                                    "value": float(rng.uniform(0, 100))})
                if m in ("ugach", "agah"):    # what the runner records for binary codes
                    rows.append(base | {"direction": "fit", "metric": "code_bits",
                                        "value": 64.0})
    return pd.DataFrame(rows, columns=RECORD_COLUMNS)


def test_main_configs_are_the_main_methods_in_order_and_identical_across_calls():
    configs = mt.main_configs(10)
    assert [c.method for c in configs] == [*PAPER_METHODS, "c_cca_rasiwasia"]
    assert all(c.dim == 10 and c.epochs == 10 and c.hyper == {} for c in configs)
    assert mt.main_configs(10) == configs  # two notebooks -> the same configs -> same cache keys
    sub = mt.main_configs(10, ["tnn_c_cca", "cca"])
    assert sub == [c for c in configs if c.method == "tnn_c_cca"] + [configs[0]]
    with pytest.raises(ValueError, match="methods: 'nope'"):
        mt.main_configs(10, ["nope"])


def test_main_configs_hit_the_same_cache_key(monkeypatch, tmp_path):
    from paper_lib.data.registry import load_dataset
    from paper_lib.experiment import cache as ec

    monkeypatch.setenv("PAPER_LIB_CACHE", str(tmp_path))
    ds = load_dataset("synthetic", n_per_class=6, d_audio=16, d_visual=24, use_cache=False)
    split = next(ds.splits([0]))
    a = mt.main_configs(2)[0]
    b = mt.main_configs(2, ["cca"])[0]
    key = ec.cache_key(ds, a.method, split, 0, a.dim, a.epochs, "cosine", a.hyper)
    assert key == ec.cache_key(ds, b.method, split, 0, b.dim, b.epochs, "cosine", b.hyper)
    assert key != ec.cache_key(ds, b.method, split, 0, b.dim, b.epochs, "euclidean", b.hyper)


def test_the_full_profiles_seeds_take_effect():
    assert resolve(dataset="synthetic", profile="full").seeds == [0, 1, 2]
    assert resolve(dataset="synthetic", profile="quick").seeds == [0]
    assert resolve(dataset="synthetic", profile="full", seeds=[0, 1]).seeds == [0, 1]
    source = (REPO_ROOT / "notebooks" / "02_main_table.py").read_text()
    assert "fit_seeds = p.seeds" in source


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_a_split_result_scores_with_the_metric_it_was_evaluated_with(metric):
    rng = np.random.default_rng(1)
    Za, Zv = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    res = SplitResult("cca", Split("fold0", 0, np.arange(5, 10), np.arange(5)), 0, Za, Zv,
                      np.zeros(5, int), {}, 0.0, 0.0, metric=metric)
    if metric == "cosine":
        naive = np.array([[a @ v / np.linalg.norm(a) / np.linalg.norm(v) for v in Zv] for a in Za])
    else:
        naive = np.array([[-np.linalg.norm(a - v) for v in Zv] for a in Za])
    np.testing.assert_allclose(res.scores("a2v"), naive)
    np.testing.assert_allclose(res.scores("v2a"), naive.T)
    with pytest.raises(ValueError, match="direction"):
        res.scores("a2a")


def test_evaluate_split_records_its_metric_and_pr_curves_follow_it():
    from paper_lib.data.registry import load_dataset
    from paper_lib.experiment import evaluate_split
    from paper_lib.metrics.retrieval import mean_average_precision

    ds = load_dataset("synthetic", n_per_class=8, d_audio=12, d_visual=10, use_cache=False)
    split = next(ds.splits([0]))
    res = evaluate_split(ds, "cca", split, dim=3, metric="euclidean")
    assert res.metric == "euclidean"
    for d in ("a2v", "v2a"):  # the matrix every curve and test uses gives the recorded MAP
        assert mean_average_precision(res.scores(d), res.labels, res.labels) == pytest.approx(
            res.metrics[d]["map"], abs=1e-12)


def test_main_table_equals_a_manual_groupby_and_keeps_the_paper_apart():
    records = _records()
    ref = reference("main_comparison", "avdigits")
    table = mt.main_table(records, ref)
    # rows: the paper's thirteen methods in its order, then the published Cluster-CCA
    assert list(table["method"]) == list(mt.MAIN_METHODS)
    assert (table["status"] == mt.STATUS_COMPUTED).all()
    m = records[records["metric"] == "map"]
    for _, row in table.iterrows():
        for d in ("a2v", "v2a"):
            v = m[(m["method"] == row["method"]) & (m["direction"] == d)]["value"].to_numpy()
            assert row[f"ours_map_{d}_mean"] == pytest.approx(v.mean())
            assert row[f"ours_map_{d}_std"] == pytest.approx(v.std(ddof=1))
        assert row["ours_n"] == 6
    # the paper's numbers are the manifest's, in their own columns
    vegas = load_reported("vegas")
    vegas = vegas[vegas["table"] == "main_comparison"]
    for _, r in vegas.iterrows():
        got = table.loc[table["method"] == r["method"], f"paper_map_{r['direction']}"].item()
        assert got == r["value"]
    ours_cols = {c for c in table.columns if c.startswith("ours_")}
    paper_cols = {c for c in table.columns if c.startswith("paper_") and c != "paper_name"}
    assert ours_cols and paper_cols and not ours_cols & paper_cols
    extra = table[table["method"] == "c_cca_rasiwasia"].iloc[0]
    assert not extra["in_paper"] and np.isnan(extra["paper_map_a2v"])
    assert extra["paper_dataset"] == "" and extra["paper_source"] == ""
    tnn = table[table["method"] == "tnn_c_cca"].iloc[0]
    assert tnn["paper_dataset"] == "VEGAS" and "main comparison" in tnn["paper_source"]


def test_the_four_baselines_are_computed_rows_and_hashing_rows_say_so():
    table = mt.main_table(_records(), reference("main_comparison", "vegas")).set_index("method")
    sota = table.loc[list(SOTA_BASELINES)]
    assert list(sota["paper_name"]) == ["UGACH", "UCAL", "ACMR", "AGAH"]
    assert sota[["ours_map_a2v_mean", "ours_map_v2a_mean"]].notna().all().all()
    assert (sota["ours_n"] == 6).all()
    # the briefing holds no number of the paper for them: blank, never invented
    assert sota[["paper_map_a2v", "paper_map_v2a"]].isna().all().all()
    assert list(sota["ranking"]) == ["Hamming", "cosine", "cosine", "Hamming"]
    assert list(sota["d"]) == ["64 bits", "10", "10", "64 bits"]
    assert (table.drop(index=list(SOTA_BASELINES))["ranking"] == "cosine").all()
    shown = mt.display_table(table.reset_index())
    assert "ranking" in shown.columns
    assert mt.best_of(table.reset_index(), SOTA_BASELINES)["method"] in SOTA_BASELINES


def test_main_table_refuses_records_without_a_method():
    records = _records(methods=("cca",))
    with pytest.raises(ValueError, match="c_cca"):
        mt.main_table(records, reference("main_comparison", "vegas"), methods=("cca", "c_cca"))


def test_display_table_formats_mean_pm_std():
    table = mt.main_table(_records(), reference("main_comparison", "vegas"))
    shown = mt.display_table(table)
    # key columns first, display names, no code names, no per-row source or dataset
    assert list(shown.columns[:5]) == ["method", "ours MAP A→V", "ours MAP V→A",
                                       "paper MAP A→V", "paper MAP V→A"]
    assert list(shown.columns[5:]) == ["fits", "k", "ranking", "Cluster-CCA variant"]
    assert list(shown["method"]) == list(table["paper_name"])
    assert not any("source" in c or "reported on" in c or "status" in c for c in shown.columns)
    r = table.iloc[0]
    cell = shown.iloc[0]["ours MAP V→A"].strip("*")
    assert cell == mean_std(r["ours_map_v2a_mean"], r["ours_map_v2a_std"], 4)
    assert "\n" not in cell and " ± " not in cell and "\u00a0±\u00a0" in cell  # one line
    assert shown.iloc[0]["paper MAP A→V"] == 0.3243  # CCA on VEGAS, from the manifest
    sota = shown[table["method"].isin(SOTA_BASELINES)]
    assert sota[["paper MAP A→V", "paper MAP V→A"]].isna().all().all()  # a dash, not a number
    assert "| — | — |" in markdown_table(shown, digits=4)


def test_display_table_sets_the_best_mean_of_each_direction_in_bold():
    table = mt.main_table(_records(), reference("main_comparison", "vegas"))
    shown = mt.display_table(table)
    for d, label in (("a2v", "A→V"), ("v2a", "V→A")):
        bold = [i for i, c in enumerate(shown[f"ours MAP {label}"]) if c.startswith("**")]
        assert bold == [int(table[f"ours_map_{d}_mean"].to_numpy().argmax())]
        assert shown[f"ours MAP {label}"].iloc[bold[0]].endswith("**")


def test_table_caption_names_the_paper_source_once():
    table = mt.main_table(_records(), reference("main_comparison", "vegas"))
    caption = mt.table_caption(table)
    source = mt.paper_sources(table)
    assert source and caption.count(source.rstrip(".")) == 1 and "VEGAS" in caption
    assert caption.endswith(".") and "A→V" in caption and "V→A" in caption
    none = table.assign(paper_dataset="", paper_source="")
    assert mt.paper_sources(none) == "" and "source" not in mt.table_caption(none)


def test_other_metrics_and_cost_views_use_display_names_and_readable_headers():
    records = _records()
    other = mt.other_metrics_table(records)
    view = mt.other_metrics_view(other)
    assert list(view.columns) == ["method", "P@10 A→V", "nDCG@30 A→V", "MRR A→V",
                                  "pair R@10 A→V", "P@10 V→A", "nDCG@30 V→A", "MRR V→A",
                                  "pair R@10 V→A"]
    assert list(view["method"]) == [get_method(m).paper_name for m in mt.MAIN_METHODS]
    tidy = other.set_index(["method", "direction"])
    assert view.loc[1, "MRR V→A"] == pytest.approx(tidy.loc[(mt.MAIN_METHODS[1], "v2a"), "mrr"])
    cost = mt.cost_table(records)
    cv = mt.cost_view(cost)
    assert list(cv.columns) == ["method", "fits", "wall time per fit (s)",
                                "wall time, all fits (s)", "peak memory (MB)"]
    assert list(cv["method"]) == [get_method(m).paper_name for m in cost["method"]]
    assert list(cv["wall time per fit (s)"]) == list(cost["wall_time_mean_s"])
    assert not any("_" in c for c in [*view.columns, *cv.columns])


def test_glue_values_cover_every_number_once():
    table = mt.main_table(_records(), reference("main_comparison", "vegas"))
    glued = mt.glue_values(table)
    assert glued["main_table_cca_a2v_mean"] == table.iloc[0]["ours_map_a2v_mean"]
    assert glued["main_table_tnn_c_cca_v2a_paper"] == 0.7376
    assert "main_table_c_cca_rasiwasia_a2v_paper" not in glued      # no paper number
    assert "main_table_ugach_a2v_mean" in glued
    assert not any(k.startswith(("main_table_ugach", "main_table_agah")) and k.endswith("_paper")
                   for k in glued)                                  # no paper number for them
    n_ours = 2 * 2 * len(mt.MAIN_METHODS)
    n_paper = 2 * (len(PAPER_METHODS) - len(SOTA_BASELINES))
    assert len(glued) == n_ours + n_paper


def test_other_metrics_and_cost_equal_manual_aggregates():
    records = _records()
    other = mt.other_metrics_table(records)
    assert list(other.columns) == ["method", "direction", *mt.OTHER_METRICS]
    assert list(other["method"][:2]) == ["cca", "cca"] and list(other["direction"][:2]) == [
        "a2v", "v2a"]
    for _, row in other.iterrows():
        for metric in mt.OTHER_METRICS:
            sel = records[(records["method"] == row["method"]) &
                          (records["direction"] == row["direction"]) &
                          (records["metric"] == metric)]["value"]
            assert row[metric] == pytest.approx(sel.mean())
    cost = mt.cost_table(records)
    assert list(cost["method"]) == list(mt.MAIN_METHODS)
    for _, row in cost.iterrows():
        t = records[(records["method"] == row["method"]) & (records["metric"] == "wall_time_s")]
        mem = records[(records["method"] == row["method"]) & (records["metric"] == "peak_rss_mb")]
        assert row["wall_time_total_s"] == pytest.approx(t["value"].sum())
        assert row["wall_time_mean_s"] == pytest.approx(t["value"].mean())
        assert row["peak_rss_max_mb"] == pytest.approx(mem["value"].max())
        assert row["fits"] == 6


def test_metric_summary_single_fit_has_zero_std_and_unknown_metric_fails():
    records = _records(methods=("cca",), folds=(0,), seeds=(0,))
    s = mt.metric_summary(records, ("map",))
    assert (s["std"] == 0).all() and (s["n"] == 1).all()
    with pytest.raises(ValueError, match="no rows"):
        mt.metric_summary(records, ("nope",))


def test_plot_main_table_draws_both_directions():
    import matplotlib.pyplot as plt

    table = mt.main_table(_records(), reference("main_comparison", "vegas"))
    fig = mt.plot_main_table(table, "toy")
    assert len(fig.axes) == 2
    assert len(fig.axes[0].patches) == len(mt.MAIN_METHODS)  # one bar per computed method
    assert fig.get_figwidth() <= 8                            # fits the text column
    assert all(t.get_fontsize() >= 10 for t in fig.axes[1].get_xticklabels())
    legend = fig.axes[0].get_legend()
    assert legend is not None and all(t.get_fontsize() >= 10 for t in legend.get_texts())
    plt.close(fig)


def test_the_table_says_how_many_splits_and_seeds_and_which_cluster_cca():
    table = mt.main_table(_records(), reference("main_comparison", "vegas"))
    row = table.set_index("method")
    assert row.loc["cca", "fits"] == "3 folds × 2 seeds"
    assert row.loc["c_cca", "ccca_variant"] == "beta"
    assert row.loc["c_cca_rasiwasia", "ccca_variant"] == "rasiwasia"
    assert row.loc["cca", "ccca_variant"] == "" and row.loc["tnn_c_cca", "ccca_variant"] == "beta"
    one = mt.main_table(_records(methods=("cca",), folds=(0,), seeds=(0,)),
                        reference("main_comparison", "vegas"), methods=("cca",))
    assert one.loc[0, "fits"] == "1 split × 1 seed"
    shown = mt.display_table(one)
    assert shown.loc[0, "fits"] == "1 split × 1 seed" and "Cluster-CCA variant" in shown.columns
    # the variants by the book's one name each, never the code's
    full = mt.display_table(table).set_index(table["method"])["Cluster-CCA variant"]
    assert full["c_cca"] == "β = 0.2" and full["c_cca_rasiwasia"] == "Rasiwasia"
    assert full["cca"] == MISSING
    assert full["c_cca"].split()[0] not in ("beta", "rasiwasia")
    caption = mt.table_caption(table)
    assert "C-CCA variant" not in caption and "Cluster-CCA variant" in caption


def test_the_why_the_order_differs_section_quotes_only_glued_keys():
    """Every {glue:text} key of the main-table page's prose is glued by the page: the section
    "Why the order differs from the paper's" reads its numbers and words from
    :func:`paper_lib.report.paper_vs_book.order_glue` on the main table."""
    import re

    from paper_lib.report import paper_vs_book as pvb

    source = (REPO_ROOT / "notebooks" / "02_main_table.py").read_text()
    assert "## Why the order differs from the paper's" in source
    assert "{doc}`30_paper_vs_book`" in source
    quoted = set(re.findall(r"\{glue:text\}`([a-z0-9_]+)", source))
    order = {k for k in quoted if k.startswith("main_table_order_")}
    assert len(order) >= 10
    table = mt.main_table(_records(), reference("main_comparison", "vegas"))
    glued = pvb.order_glue(table, 2, "main_table_order")
    assert order <= set(glued), sorted(order - set(glued))
    section = source.split("## Why the order differs from the paper's")[1].split("# %%")[0]
    bullets = [line for line in section.splitlines() if line.startswith("# - ")]
    assert 3 <= len(bullets) <= 6
    assert "C-CCA (β = 0.2)" in section
    # never a bare "C-CCA" (TNN-C-CCA and lstm_C-CCA are other methods' names)
    assert not re.findall(r"(?<![-\w])C-CCA(?! \()", section)
