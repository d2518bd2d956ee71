"""Per-class AP vs an independent implementation (scikit-learn), the paired tests vs scipy and
closed forms, the Wilcoxon floor with 5 pairs, the bootstrap vs a naive loop, pairing checks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import average_precision_score

from paper_lib.data.dataset import Split
from paper_lib.experiment import SplitResult
from paper_lib.metrics.retrieval import retrieval_report
from paper_lib.metrics.similarity import similarity
from paper_lib.report import significance as sig


def _result(method: str, fold: int, seed: int, noise: float, n: int = 12) -> SplitResult:
    """A fake fit on a fixed test fold (rows depend on the fold only); metrics from the embeddings."""
    rng = np.random.default_rng(100 * fold + 10 * seed + int(noise * 7))
    labels = np.arange(n) % 3
    centres = np.eye(3, 4) * 2.0
    Za = centres[labels] + noise * rng.normal(size=(n, 4))
    Zv = centres[labels] + noise * rng.normal(size=(n, 4))
    S = similarity(Za, Zv)
    metrics = {"a2v": retrieval_report(S, labels, labels), "v2a": retrieval_report(S.T, labels, labels)}
    split = Split(f"fold{fold}", fold, np.arange(100, 120) + fold, np.arange(n) + 50 * fold)
    return SplitResult(method, split, seed, Za, Zv, labels, metrics, 0.0, 0.0, None)  # type: ignore[arg-type]


def _results() -> list[SplitResult]:
    out = []
    for f in range(3):
        for s in (0, 1):
            out += [_result("tnn_c_cca", f, s, 0.8), _result("c_cca", f, s, 1.6),
                    _result("c_dcca", f, s, 1.2)]
    return out


def test_per_class_ap_matches_scikit_learn_per_query():
    results = _results()
    names = ["zero", "one", "two"]
    per_fit = sig.per_class_records(results, names)
    assert len(per_fit) == len(results) * 2 * 3
    r = results[0]
    S = similarity(r.Z_audio, r.Z_visual)
    for d, M in (("a2v", S), ("v2a", S.T)):
        ap = np.array([average_precision_score(r.labels == r.labels[i], M[i])
                       for i in range(len(r.labels))])
        for c in range(3):
            got = per_fit[(per_fit["method"] == r.method) & (per_fit["fold"] == 0) &
                          (per_fit["seed"] == 0) & (per_fit["direction"] == d) &
                          (per_fit["class_id"] == c)]
            assert got["ap"].item() == pytest.approx(ap[r.labels == c].mean())
            assert got["class_name"].item() == names[c]


def test_per_class_summary_equals_a_manual_mean_and_std():
    per_fit = sig.per_class_records(_results(), ["a", "b", "c"])
    summary = sig.per_class_summary(per_fit)
    for _, row in summary.iterrows():
        v = per_fit[(per_fit["method"] == row["method"]) & (per_fit["direction"] == row["direction"])
                    & (per_fit["class_id"] == row["class_id"])]["ap"].to_numpy()
        assert row["ap_mean"] == pytest.approx(v.mean())
        assert row["ap_std"] == pytest.approx(v.std(ddof=1))
        assert row["n"] == 6
    import matplotlib.pyplot as plt

    fig = sig.plot_per_class(summary, "toy")
    assert len(fig.axes) == 4  # two heat maps and their colour bars
    plt.close(fig)


def test_wilcoxon_with_five_pairs_cannot_go_below_0_0625():
    a = np.array([0.70, 0.72, 0.69, 0.75, 0.71])
    b = a - np.array([0.05, 0.01, 0.02, 0.04, 0.03])   # A better on every fold
    row = sig.wilcoxon_row(a, b)
    ref = stats.wilcoxon(a, b)
    assert row["p_value"] == pytest.approx(ref.pvalue) == pytest.approx(2 / 2**5)
    assert row["statistic"] == ref.statistic == 0.0
    assert row["n"] == 5 and row["mean_diff"] == pytest.approx(0.03)
    assert "0.0625" in row["note"]
    zero = sig.wilcoxon_row(a, a)
    assert np.isnan(zero["p_value"]) and zero["mean_diff"] == 0.0


def test_paired_t_matches_scipy_and_the_textbook_formula():
    rng = np.random.default_rng(5)
    a, b = rng.uniform(size=6), rng.uniform(size=6)
    row = sig.paired_t_row(a, b)
    d = a - b
    t = d.mean() / (d.std(ddof=1) / math.sqrt(d.size))
    assert row["statistic"] == pytest.approx(t)
    assert row["p_value"] == pytest.approx(stats.ttest_rel(a, b).pvalue)
    half = stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size)
    assert row["ci_low"] == pytest.approx(d.mean() - half)
    assert row["ci_high"] == pytest.approx(d.mean() + half)
    assert np.isnan(sig.paired_t_row(a[:1], b[:1])["p_value"])
    assert np.isnan(sig.paired_t_row(a, a - 0.1)["p_value"])   # constant differences


def test_sign_test_is_the_exact_binomial_and_drops_ties():
    a = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.5, 0.5])
    b = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.5, 0.5])   # 5 better, 1 worse, 2 ties
    row = sig.sign_test_row(a, b)
    n, k = 6, 5
    p = min(1.0, 2 * sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n)
    assert row["p_value"] == pytest.approx(p)
    assert row["statistic"] == 5 and row["n"] == 8
    assert "2 ties" in row["note"]


def test_bootstrap_equals_a_naive_loop_and_brackets_the_mean(monkeypatch):
    rng = np.random.default_rng(6)
    d = rng.normal(0.1, 1.0, size=57)
    monkeypatch.setattr(sig, "_BOOT_CELLS", 57 * 7)   # blocks of 7 resamples: several blocks
    low, high = sig.bootstrap_mean_ci(d, n_boot=200, seed=3)
    gen = np.random.default_rng(3)
    means = [d[gen.integers(0, d.size, size=d.size)].mean() for _ in range(200)]
    ref_low, ref_high = np.quantile(means, [0.025, 0.975])
    assert (low, high) == pytest.approx((ref_low, ref_high))
    assert low < d.mean() < high
    assert sig.bootstrap_mean_ci(np.full(10, 0.3), n_boot=50) == pytest.approx((0.3, 0.3))
    with pytest.raises(ValueError, match="non-empty"):
        sig.bootstrap_mean_ci(np.array([]))


def test_pair_results_pairs_folds_each_averaged_over_its_seeds():
    results = _results()
    p = sig.pair_results(results, "tnn_c_cca", "c_cca", "a2v")
    assert p.fit_a.shape == (3,) and p.query_a.shape == (3 * 12,)
    by_fold: dict[int, list[float]] = {}
    for r in results:
        if r.method == "tnn_c_cca":
            by_fold.setdefault(r.split.fold, []).append(r.metrics["a2v"]["map"])
    np.testing.assert_allclose(p.fit_a, [np.mean(by_fold[f]) for f in sorted(by_fold)])
    # MAP of a fold is the mean of its queries' AP (each averaged over the seeds)
    np.testing.assert_allclose(p.query_a.reshape(3, 12).mean(axis=1), p.fit_a)
    # a closed-form method fitted once per fold pairs with a seeded one fitted twice
    once = [r for r in results if not (r.method == "c_cca" and r.seed == 1)]
    q = sig.pair_results(once, "tnn_c_cca", "c_cca", "a2v")
    np.testing.assert_allclose(q.fit_a, p.fit_a)
    np.testing.assert_allclose(q.fit_b, [r.metrics["a2v"]["map"] for r in once
                                         if r.method == "c_cca"])
    with pytest.raises(ValueError, match="different"):
        sig.pair_results([r for r in results if not (r.method == "c_dcca" and r.split.fold == 2)],
                         "tnn_c_cca", "c_dcca", "a2v")
    moved = _result("c_cca", 0, 0, 1.6)
    moved.split.test[:] += 1
    others = [r for r in results if not (r.method == "c_cca" and r.split.fold == 0
                                         and r.seed == 0)] + [moved]
    with pytest.raises(ValueError, match="test rows"):
        sig.pair_results(others, "tnn_c_cca", "c_cca", "a2v")


def test_tnn_c_cca_is_compared_with_its_input_the_best_cca_baseline_and_the_state_of_the_art():
    assert sig.COMPARISONS == (("tnn_c_cca", "c_cca"), ("tnn_c_cca", "c_dcca"),
                               ("tnn_c_cca", "ugach"), ("tnn_c_cca", "ucal"),
                               ("tnn_c_cca", "acmr"), ("tnn_c_cca", "agah"))
    assert sig.FITTED_METHODS == ("cca", "c_cca", "c_dcca", "tnn_c_cca", "ugach", "ucal", "acmr",
                                  "agah")


TWO = (("tnn_c_cca", "c_cca"), ("tnn_c_cca", "c_dcca"))


def test_significance_table_and_glue_keys():
    table = sig.significance_table(_results(), TWO)
    assert list(table.columns) == sig.SIGNIFICANCE_COLUMNS
    assert len(table) == 2 * 2 * 4
    p = sig.pair_results(_results(), "tnn_c_cca", "c_dcca", "v2a")
    rows = table[(table["method_b"] == "c_dcca") & (table["direction"] == "v2a")]
    fit_rows = rows[rows["unit"] == "fold (mean over seeds)"]
    assert np.allclose(fit_rows["mean_diff"], (p.fit_a - p.fit_b).mean())
    q_rows = rows[rows["unit"] == "query (pooled over folds)"]
    assert np.allclose(q_rows["mean_diff"], (p.query_a - p.query_b).mean())
    glued = sig.glue_values(table)
    assert len(glued) == 2 * 2 * (2 + 4 + 2 + 3)   # wilcoxon 2, ttest 4, sign 2, bootstrap 3
    assert glued["per_class_significance_tnn_c_cca_vs_c_dcca_v2a_ttest_diff"] == pytest.approx(
        (p.fit_a - p.fit_b).mean())
    # the key set does not depend on the numbers: a test that cannot run is glued as NaN
    nan_table = table.assign(p_value=np.nan, ci_low=np.nan, ci_high=np.nan)
    assert set(sig.glue_values(nan_table)) == set(glued)
    assert isinstance(table, pd.DataFrame)


def test_the_tables_as_read_split_fit_and_query_level_with_key_columns_first():
    table = sig.significance_table(_results(), TWO)
    fit, query = sig.fit_level_view(table), sig.query_level_view(table)
    assert list(fit.columns) == ["TNN-C-CCA (batch-all) minus", "direction", "mean Δ MAP",
                                 "95 % CI (t)", "p, paired t", "p, Wilcoxon", "folds"]
    assert list(query.columns) == ["TNN-C-CCA (batch-all) minus", "direction", "mean Δ AP",
                                   "95 % CI (bootstrap)", "p, sign test",
                                   "better / worse / tied", "queries"]
    assert len(fit) == len(query) == 2 * 2                 # comparisons x directions
    assert list(fit["direction"]) == ["A→V", "V→A", "A→V", "V→A"]
    t = table[(table.test == "paired t-test")].iloc[0]
    assert fit.loc[0, "mean Δ MAP"] == t["mean_diff"]
    assert fit.loc[0, "95 % CI (t)"] == f"[{t['ci_low']:.4f},\u00a0{t['ci_high']:.4f}]"
    sign = table[(table.test == "sign test")].iloc[0]
    better, worse, tied = (int(v) for v in query.loc[0, "better / worse / tied"].split(" / "))
    assert better == sign["statistic"] and better + worse + tied == sign["n"]


def test_p_values_are_never_printed_as_zero():
    table = sig.significance_table(_results(), TWO)
    tiny = table.assign(p_value=np.where(table["test"] == "sign test", 8.3e-58, 0.0312))
    query = sig.query_level_view(tiny)
    assert set(query["p, sign test"]) == {"8.3e-58"}
    fit = sig.fit_level_view(tiny)
    assert set(fit["p, paired t"]) == {"0.031"}
    assert not any("0.0000" in str(v) for v in [*fit.to_numpy().ravel(), *query.to_numpy().ravel()])
    nan = sig.fit_level_view(table.assign(p_value=np.nan, ci_low=np.nan))
    assert set(nan["p, Wilcoxon"]) == {"—"} and set(nan["95 % CI (t)"]) == {"—"}


def test_per_class_figure_fits_the_page():
    import matplotlib.pyplot as plt

    summary = sig.per_class_summary(sig.per_class_records(_results(), ["a", "b", "c"]))
    fig = sig.plot_per_class(summary, "toy")
    assert fig.get_size_inches()[0] <= 8.0
    heat = fig.axes[0]
    assert [t.get_text() for t in heat.get_xticklabels()] == ["a", "b", "c"]   # class order
    assert min(t.get_fontsize() for t in heat.texts) >= 10
    plt.close(fig)
