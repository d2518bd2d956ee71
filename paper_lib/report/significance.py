"""Per-class AP and a paired statistical comparison of two methods.

Per-class AP: mean AP of the test queries of each class
(:func:`~paper_lib.metrics.retrieval.per_class_ap`), per fit, then averaged over folds and seeds.

Paired comparison of method A against method B (same folds, so the same test queries). Within a
fold, each method's values are first averaged over its seeds: the seeds of one fold share their
training and test rows, so they are not independent evidence, and a closed-form method has a single
fit per fold anyway ([choice]).

1. **Fit level** (one pair per fold): the difference of MAP (each averaged over its seeds).

   - Wilcoxon signed-rank test (``scipy.stats.wilcoxon``, two-sided). With n pairs and no ties its
     smallest attainable p-value is 2 / 2^n: 0.0625 for the paper's 5 folds, so it can never
     reach 0.05, whatever the numbers.
   - Paired t-test (``scipy.stats.ttest_rel``, two-sided): assumes roughly normal differences.

2. **Query level** (pooled over folds; one pair per test query): the difference of per-query AP
   (each averaged over its method's seeds) between the two methods for the same query.

   - Sign test (exact binomial test of #(A > B) against #(A < B), ties dropped, two-sided).
   - Percentile bootstrap 95 % CI of the mean per-query difference (queries resampled).

   [choice] Both treat queries as independent given the fitted models: they measure how
   consistently A ranks better over queries, not the variability of training (that is the fit
   level's job). Queries of one fold share one fit, so the query-level p-values are optimistic
   about generalisation to a new training set; they are reported beside the fit-level tests,
   never instead of them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from paper_lib._optional import require
from paper_lib.experiment import DIRECTIONS, SplitResult
from paper_lib.methods.registry import get_method
from paper_lib.metrics.cross_modal import DIRECTION_LABELS
from paper_lib.metrics.retrieval import average_precision, per_class_ap
from paper_lib.paper import SOTA_BASELINES
from paper_lib.report.tables import MISSING, p_value

#: the methods of the per-class heat map (CCA, C-CCA, S-DCCA, TNN-C-CCA)
PER_CLASS_METHODS: tuple[str, ...] = ("cca", "c_cca", "c_dcca", "tnn_c_cca")
#: the comparisons: (method A, method B), A - B: TNN-C-CCA against the C-CCA it is built on,
#: the strongest CCA-based baseline (S-DCCA) and each of the four state-of-the-art baselines
COMPARISONS: tuple[tuple[str, str], ...] = (
    ("tnn_c_cca", "c_cca"), ("tnn_c_cca", "c_dcca"),
    *(("tnn_c_cca", baseline) for baseline in SOTA_BASELINES))
#: every method whose fits the per-class map and the comparisons read (heat map's first)
FITTED_METHODS: tuple[str, ...] = tuple(dict.fromkeys(
    (*PER_CLASS_METHODS, *(m for pair in COMPARISONS for m in pair))))
#: the columns of :func:`compare`'s table
SIGNIFICANCE_COLUMNS = ["method_a", "method_b", "direction", "test", "unit", "n", "statistic",
                        "p_value", "mean_diff", "ci_low", "ci_high", "note"]
# [choice] 10,000 bootstrap resamples (Monte-Carlo error of a 95 % percentile bound ~0.2 % of the
# CI width), 95 % level, a fixed seed so the CI is reproducible.
N_BOOTSTRAP = 10_000
CI_LEVEL = 0.95
_BOOT_CELLS = 4_000_000   # resample indices drawn per block (memory ~32 MB)


# -- per-class AP -------------------------------------------------------------------------------
def per_class_records(results: Sequence[SplitResult], class_names: Sequence[str],
                      directions: Sequence[str] = DIRECTIONS) -> pd.DataFrame:
    """Tidy per-class AP of every fit: method, fold, seed, direction, class_id, class_name, ap."""
    rows = []
    for r in results:
        for d in directions:
            for c, ap in per_class_ap(r.scores(d), r.labels, r.labels).items():
                rows.append({"method": r.method, "fold": r.split.fold, "seed": r.seed,
                             "direction": d, "class_id": c, "class_name": class_names[c],
                             "ap": ap})
    if not rows:
        raise ValueError("results: no fitted splits")
    return pd.DataFrame(rows)


def per_class_summary(per_fit: pd.DataFrame) -> pd.DataFrame:
    """Mean and std (ddof = 1; 0 for one fit) of per-class AP over folds and seeds."""
    def std(v: pd.Series) -> float:
        return float(np.std(v, ddof=1)) if len(v) > 1 else 0.0

    return (per_fit.groupby(["method", "direction", "class_id", "class_name"], sort=False)["ap"]
            .agg(ap_mean="mean", ap_std=std, n="count").reset_index())


def plot_per_class(summary: pd.DataFrame, dataset: str) -> plt.Figure:
    """Heat map of mean per-class AP: methods x classes (in class order), one panel per
    direction, each cell's value printed on it; 8 inches wide, 10-point text."""
    methods = list(dict.fromkeys(summary["method"]))
    classes = (summary[["class_id", "class_name"]].drop_duplicates().sort_values("class_id"))
    sns = require("seaborn", extra="book")
    height = 1.3 + 0.36 * len(methods)                   # per panel: room for every method row
    fig, axes = plt.subplots(2, 1, figsize=(8.0, 2 * height))
    for ax, d in zip(axes, DIRECTIONS, strict=True):
        grid = (summary[summary["direction"] == d]
                .pivot(index="method", columns="class_id", values="ap_mean")
                .reindex(index=methods, columns=classes["class_id"]))
        grid.index = [get_method(m).paper_name for m in methods]
        grid.columns = list(classes["class_name"])
        # seaborn's annotated heat map: each cell's value printed in a colour readable on it
        sns.heatmap(grid, ax=ax, vmin=0, vmax=1, cmap="viridis", annot=True, fmt=".2f",
                    annot_kws={"fontsize": 10}, cbar_kws={"label": "AP", "pad": 0.02})
        ax.set_xticklabels(ax.get_xticklabels(), rotation=45, ha="right", fontsize=10)
        ax.set_yticklabels(ax.get_yticklabels(), fontsize=10)
        ax.collections[0].colorbar.ax.tick_params(labelsize=10)
        ax.set_title(f"{DIRECTION_LABELS[d]}: mean AP of each query class ({dataset})",
                     fontsize=11)
    fig.tight_layout()
    return fig


# -- pairing ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Paired:
    """Paired values of method A and method B in one direction."""

    fit_a: np.ndarray      # (n_folds,) MAP of A per fold (mean over its seeds)
    fit_b: np.ndarray      # (n_folds,) MAP of B, same folds
    query_a: np.ndarray    # (n_queries,) per-query AP of A (mean over its seeds), all folds
    query_b: np.ndarray    # (n_queries,) per-query AP of B, same queries


def pair_results(results: Sequence[SplitResult], method_a: str, method_b: str,
                 direction: str) -> Paired:
    """Match A and B fold by fold (each averaged over its seeds) and their queries by test row.

    Raises ValueError if a fold is missing for one method or the test rows differ.
    """
    def by_fold(method: str) -> dict[int, list[SplitResult]]:
        out: dict[int, list[SplitResult]] = {}
        for r in results:
            if r.method == method:
                out.setdefault(r.split.fold, []).append(r)
        if not out:
            raise ValueError(f"results: no fits of method {method!r}")
        return out

    def seed_mean(fits: list[SplitResult]) -> tuple[float, np.ndarray]:
        """MAP and per-query AP (n_test,) of one method in one fold, averaged over its seeds."""
        aps = [average_precision(r.scores(direction), r.labels, r.labels) for r in fits]
        return (float(np.mean([r.metrics[direction]["map"] for r in fits])),
                np.mean(np.stack(aps), axis=0))

    a, b = by_fold(method_a), by_fold(method_b)
    if set(a) != set(b):
        raise ValueError(f"results: {method_a} and {method_b} were fitted on different "
                         f"folds: {sorted(set(a) ^ set(b))}")
    fit_a, fit_b, qa, qb = [], [], [], []
    for fold in sorted(a):
        tests = [r.split.test for r in a[fold] + b[fold]]
        if any(not np.array_equal(tests[0], t) for t in tests[1:]):
            raise ValueError(f"results: fold {fold} of {method_a} and {method_b} has "
                             f"different test rows")
        map_a, ap_a = seed_mean(a[fold])
        map_b, ap_b = seed_mean(b[fold])
        fit_a.append(map_a)
        fit_b.append(map_b)
        qa.append(ap_a)
        qb.append(ap_b)
    return Paired(np.asarray(fit_a), np.asarray(fit_b), np.concatenate(qa), np.concatenate(qb))


# -- tests --------------------------------------------------------------------------------------
def _row(test: str, unit: str, n: int, statistic: float, p: float, diff: float,
         low: float = float("nan"), high: float = float("nan"), note: str = ""
         ) -> dict[str, object]:
    return {"test": test, "unit": unit, "n": n, "statistic": statistic, "p_value": p,
            "mean_diff": diff, "ci_low": low, "ci_high": high, "note": note}


def wilcoxon_row(a: np.ndarray, b: np.ndarray) -> dict[str, object]:
    """Two-sided Wilcoxon signed-rank test of a - b (scipy), with its smallest attainable p."""
    d = np.asarray(a, float) - np.asarray(b, float)
    n = d.size
    nonzero = int(np.count_nonzero(d))
    floor = f"smallest attainable two-sided p with {nonzero} non-zero pairs: {2.0 / 2 ** nonzero:.4g}"
    if nonzero == 0:
        return _row("Wilcoxon signed-rank", "fold (mean over seeds)", n, float("nan"), float("nan"),
                    0.0, note="all differences are zero: no test")
    res = stats.wilcoxon(a, b, alternative="two-sided")
    return _row("Wilcoxon signed-rank", "fold (mean over seeds)", n, float(res.statistic),
                float(res.pvalue), float(d.mean()), note=floor)


def paired_t_row(a: np.ndarray, b: np.ndarray) -> dict[str, object]:
    """Two-sided paired t-test of a - b (scipy ``ttest_rel``) with a t-based 95 % CI of the mean."""
    d = np.asarray(a, float) - np.asarray(b, float)
    n = d.size
    # constant differences (up to rounding) have no variance: t is undefined
    if n < 2 or np.ptp(d) <= 1e-12 * max(1.0, float(np.abs(d).max())):
        return _row("paired t-test", "fold (mean over seeds)", n, float("nan"), float("nan"),
                    float(d.mean()) if n else float("nan"),
                    note="fewer than 2 pairs or constant differences: no test")
    res = stats.ttest_rel(a, b)
    ci = res.confidence_interval(CI_LEVEL)
    return _row("paired t-test", "fold (mean over seeds)", n, float(res.statistic), float(res.pvalue),
                float(d.mean()), float(ci.low), float(ci.high), note=f"df = {n - 1}")


def sign_test_row(a: np.ndarray, b: np.ndarray) -> dict[str, object]:
    """Exact two-sided sign test: #(a > b) among the untied pairs ~ Binomial(n, 1/2)."""
    d = np.asarray(a, float) - np.asarray(b, float)
    pos, neg = int((d > 0).sum()), int((d < 0).sum())
    note = f"{pos} queries better, {neg} worse, {d.size - pos - neg} ties (dropped)"
    if pos + neg == 0:
        return _row("sign test", "query (pooled over folds)", d.size, float("nan"), float("nan"), 0.0,
                    note=note)
    res = stats.binomtest(pos, pos + neg, 0.5, alternative="two-sided")
    return _row("sign test", "query (pooled over folds)", d.size, float(pos), float(res.pvalue),
                float(d.mean()), note=note)


def bootstrap_mean_ci(d: np.ndarray, n_boot: int = N_BOOTSTRAP, level: float = CI_LEVEL,
                      seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of ``d`` (resampling its entries with replacement)."""
    d = np.asarray(d, dtype=np.float64)
    if d.ndim != 1 or d.size == 0:
        raise ValueError(f"d must be a non-empty 1-d array, got shape {d.shape}")
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    block = max(1, _BOOT_CELLS // d.size)          # resamples per block, bounded memory
    for start in range(0, n_boot, block):
        stop = min(start + block, n_boot)
        idx = rng.integers(0, d.size, size=(stop - start, d.size))   # (b, n)
        means[start:stop] = d[idx].mean(axis=1)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return float(low), float(high)


def bootstrap_row(a: np.ndarray, b: np.ndarray, seed: int = 0) -> dict[str, object]:
    """Bootstrap 95 % CI of the mean per-query difference a - b (no p-value)."""
    d = np.asarray(a, float) - np.asarray(b, float)
    low, high = bootstrap_mean_ci(d, seed=seed)
    return _row("bootstrap CI of the mean", "query (pooled over folds)", d.size, float("nan"), float("nan"),
                float(d.mean()), low, high,
                note=f"percentile, {N_BOOTSTRAP} resamples, {CI_LEVEL:.0%}, seed {seed}")


def compare(results: Sequence[SplitResult], method_a: str, method_b: str,
            directions: Sequence[str] = DIRECTIONS, seed: int = 0) -> pd.DataFrame:
    """Every test of A against B (A - B) in each direction; columns :data:`SIGNIFICANCE_COLUMNS`."""
    rows = []
    for d in directions:
        p = pair_results(results, method_a, method_b, d)
        for row in (wilcoxon_row(p.fit_a, p.fit_b), paired_t_row(p.fit_a, p.fit_b),
                    sign_test_row(p.query_a, p.query_b),
                    bootstrap_row(p.query_a, p.query_b, seed=seed)):
            rows.append({"method_a": method_a, "method_b": method_b, "direction": d} | row)
    return pd.DataFrame(rows, columns=SIGNIFICANCE_COLUMNS)


def significance_table(results: Sequence[SplitResult],
                       comparisons: Sequence[tuple[str, str]] = COMPARISONS,
                       seed: int = 0) -> pd.DataFrame:
    """:func:`compare` for every comparison, stacked."""
    return pd.concat([compare(results, a, b, seed=seed) for a, b in comparisons],
                     ignore_index=True)


def glue_values(table: pd.DataFrame, prefix: str = "per_class_significance"
                ) -> dict[str, float]:
    """Mean differences, p-values and CI bounds under unique glue keys:
    ``<prefix>_<a>_vs_<b>_<dir>_<wilcoxon|ttest|sign|bootstrap>_<diff|p|low|high>``.

    The set of keys depends only on the tests, never on the numbers (a test that could not run
    is glued as NaN), so prose may quote any of them: ``_p`` for every test but the bootstrap,
    ``_low``/``_high`` for the t-test and the bootstrap.
    """
    short = {"Wilcoxon signed-rank": "wilcoxon", "paired t-test": "ttest", "sign test": "sign",
             "bootstrap CI of the mean": "bootstrap"}
    out: dict[str, float] = {}
    for _, r in table.iterrows():
        name = short[r["test"]]
        key = f"{prefix}_{r['method_a']}_vs_{r['method_b']}_{r['direction']}_{name}"
        out[f"{key}_diff"] = float(r["mean_diff"])
        if name != "bootstrap":
            out[f"{key}_p"] = float(r["p_value"])
        if name in ("ttest", "bootstrap"):
            out[f"{key}_low"] = float(r["ci_low"])
            out[f"{key}_high"] = float(r["ci_high"])
    return out


# -- the tables as read ----------------------------------------------------------------------------
_FIT_TESTS = ("Wilcoxon signed-rank", "paired t-test")
_QUERY_TESTS = ("sign test", "bootstrap CI of the mean")
_SIGN_NOTE = re.compile(r"^(\d+) queries better, (\d+) worse, (\d+) ties")


def interval(low: float, high: float, digits: int = 4) -> str:
    """A confidence interval on one line, ``[low, high]``, or :data:`~paper_lib.report.tables.MISSING`."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return MISSING
    return f"[{low:.{digits}f},\u00a0{high:.{digits}f}]"


def _comparisons(table: pd.DataFrame, tests: tuple[str, ...]
                 ) -> list[tuple[tuple[str, str, str], dict[str, pd.Series]]]:
    """``((a, b, direction), {test: row})`` in the table's order, for the given tests."""
    out: dict[tuple[str, str, str], dict[str, pd.Series]] = {}
    for _, r in table[table["test"].isin(tests)].iterrows():
        out.setdefault((r["method_a"], r["method_b"], r["direction"]), {})[r["test"]] = r
    return list(out.items())


def _against(a: str, b: str, table: pd.DataFrame) -> dict[str, str]:
    """The comparison's first column: the other method (the first method stated in the header
    when every row has the same one), else "A − B"."""
    firsts = table["method_a"].unique()
    if len(firsts) == 1:
        return {f"{get_method(a).paper_name} minus": get_method(b).paper_name}
    return {"comparison": f"{get_method(a).paper_name} − {get_method(b).paper_name}"}


def fit_level_view(table: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """The fit-level tests of :func:`significance_table` for reading, one row per comparison and
    direction: the mean MAP difference, its t-based 95 % CI, the p-values of the paired t-test
    and of the Wilcoxon test (:func:`~paper_lib.report.tables.p_value`), and the folds paired."""
    rows = []
    for (a, b, d), tests in _comparisons(table, _FIT_TESTS):
        t, w = tests.get("paired t-test"), tests.get("Wilcoxon signed-rank")
        first = t if t is not None else w
        assert first is not None
        rows.append({**_against(a, b, table), "direction": DIRECTION_LABELS[d],
                     "mean Δ MAP": float(first["mean_diff"]),
                     "95 % CI (t)": (interval(float(t["ci_low"]), float(t["ci_high"]), digits)
                                     if t is not None else MISSING),
                     "p, paired t": p_value(float(t["p_value"])) if t is not None else MISSING,
                     "p, Wilcoxon": p_value(float(w["p_value"])) if w is not None else MISSING,
                     "folds": int(first["n"])})
    return pd.DataFrame(rows)


def query_level_view(table: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """The query-level tests of :func:`significance_table` for reading, one row per comparison
    and direction: the mean per-query AP difference, its bootstrap 95 % CI, the sign test's
    p-value, and how many queries the first method ranks better, worse and equally well."""
    rows = []
    for (a, b, d), tests in _comparisons(table, _QUERY_TESTS):
        sign, boot = tests.get("sign test"), tests.get("bootstrap CI of the mean")
        first = boot if boot is not None else sign
        assert first is not None
        counts = _SIGN_NOTE.match(str(sign["note"])) if sign is not None else None
        rows.append({**_against(a, b, table), "direction": DIRECTION_LABELS[d],
                     "mean Δ AP": float(first["mean_diff"]),
                     "95 % CI (bootstrap)": (interval(float(boot["ci_low"]),
                                                      float(boot["ci_high"]), digits)
                                             if boot is not None else MISSING),
                     "p, sign test": p_value(float(sign["p_value"])) if sign is not None
                     else MISSING,
                     "better / worse / tied": (" / ".join(counts.groups()) if counts
                                               else MISSING),
                     "queries": int(first["n"])})
    return pd.DataFrame(rows)
