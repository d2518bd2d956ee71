"""The Performance chapter: the benchmarks' CSVs (``make bench``) as tables, growth plots and the
list of targets, each met or missed by a stated margin.

``make bench`` (``python -m benchmarks``) writes ``results/bench_<question>.csv``: one row per
implementation measured on the same generated data in the same process (columns ``question``,
``implementation``, a size column ``n`` or ``n_queries``, ``median_s``, ``peak_mb``,
``ratio_to_ours``, ``agrees``, ``note``, and the machine's details ``machine_*``). This module
only reads them; it never measures.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: the size column of a benchmark row, in order of preference
SIZE_COLUMNS = ("n", "n_queries")
#: a question whose rows vary the size (same implementation at several n): drawn on log-log axes
MIN_GROWTH_POINTS = 3


def growth_slope(n: Any, values: Any) -> float:
    """Slope of log(value) against log(n) by least squares: cost ∝ n^slope."""
    x, y = np.log(np.asarray(n, float)), np.log(np.asarray(values, float))
    return float(np.polyfit(x, y, 1)[0])


def load_benchmarks(folder: Path) -> dict[str, pd.DataFrame]:
    """``{benchmark: rows}`` for every ``bench_<benchmark>.csv`` in ``folder`` (empty if none)."""
    return {p.stem.removeprefix("bench_"): pd.read_csv(p)
            for p in sorted(folder.glob("bench_*.csv"))}


def size_column(df: pd.DataFrame) -> str:
    """The column holding the problem size of a benchmark's rows."""
    for col in SIZE_COLUMNS:
        if col in df.columns:
            return col
    raise ValueError(f"benchmark rows have no size column (one of {SIZE_COLUMNS})")


def machine(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The machine each benchmark ran on (one row per benchmark file)."""
    rows = []
    for name, df in frames.items():
        facts = {c.removeprefix("machine_"): df[c].iloc[0] for c in df.columns
                 if c.startswith("machine_")}
        rows.append({"benchmark": name, **facts})
    return pd.DataFrame(rows)


def comparison(df: pd.DataFrame, question: str) -> pd.DataFrame:
    """The rows of one question, for reading: implementation, size, time, memory, ratio to ours,
    agreement with ours and the note (numbers unrounded: the book's table formats them)."""
    rows = df[df["question"] == question]
    if rows.empty:
        raise ValueError(f"no benchmark rows for question {question!r}")
    size = size_column(rows)
    out = pd.DataFrame({
        "implementation": rows["implementation"],
        "size": rows[size].map(lambda v: f"{int(v):,}" if pd.notna(v) else ""),
        "median (s)": rows["median_s"].astype(float),
        "peak memory (MB)": rows["peak_mb"].astype(float),
        "× ours": rows["ratio_to_ours"].astype(float),
        "agrees with ours": rows["agrees"].map(_agreement),
        "note": rows["note"].fillna(""),
    })
    if "threads" in rows.columns:
        out.insert(2, "threads", rows["threads"].map(lambda v: "" if pd.isna(v) else int(v)))
    return out.reset_index(drop=True)


def comparison_view(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`comparison` narrowed for the page: the size and thread columns only where they
    vary within the question (else the caption states them, :func:`constants`), the key columns
    (implementation, time, ratio) first, the note last."""
    out = table.copy()
    for column in ("size", "threads"):
        if column in out.columns and out[column].nunique(dropna=False) <= 1:
            out = out.drop(columns=column)
    key = ["implementation", *(c for c in ("size", "threads") if c in out.columns),
           "median (s)", "× ours", "peak memory (MB)", "agrees with ours", "note"]
    return out[key]


def view_best(view: pd.DataFrame) -> dict[str, str] | None:
    """Which columns of a :func:`comparison_view` set their best in bold: the lowest time and
    memory when every row solves the same problem (one size), none when sizes differ."""
    if "size" in view.columns:
        return None
    return {"median (s)": "min", "peak memory (MB)": "min"}


def constants(df: pd.DataFrame, question: str) -> str:
    """What every row of one question shares, as a phrase: the problem size (both sizes for a
    query x gallery problem) and the threads, e.g. "5,620 queries × 5,620 gallery items, 1
    thread"; "" when they vary."""
    rows = df[df["question"] == question]
    parts = []
    if "n_queries" in rows.columns and "n_gallery" in rows.columns:
        if rows["n_queries"].nunique() == 1 and rows["n_gallery"].nunique() == 1:
            parts.append(f"{int(rows['n_queries'].iloc[0]):,} queries × "
                         f"{int(rows['n_gallery'].iloc[0]):,} gallery items")
    elif "n" in rows.columns and rows["n"].nunique() == 1:
        dims = ""
        if {"d_audio", "d_visual"} <= set(rows.columns) and rows["d_audio"].nunique() == 1:
            dims = (f", audio {int(rows['d_audio'].iloc[0]):,}-d, visual "
                    f"{int(rows['d_visual'].iloc[0]):,}-d")
        parts.append(f"N = {int(rows['n'].iloc[0]):,} clips{dims}")
    if "threads" in rows.columns and rows["threads"].nunique() == 1:
        t = int(rows["threads"].iloc[0])
        parts.append(f"{t} thread{'s' if t != 1 else ''}")
    return ", ".join(parts)


#: what each question of each benchmark compares, for its table's caption (one sentence)
QUESTIONS: dict[tuple[str, str], str] = {
    ("metrics", "map"):
        "MAP over the full ranking of a score matrix, computed by our kernel, by two plain "
        "sorts that compute no metric (the floor any ranking metric pays), by a naive numpy "
        "ranking, and by scikit-learn and torchmetrics called once per query",
    ("metrics", "map+pr+p@k"):
        "MAP, the precision-recall curve and P@10 together (what every evaluation of the book "
        "needs), from one value sort per row against three separate calls and against "
        "scikit-learn's per-query MAP alone",
    ("metrics", "report"):
        "the whole retrieval report of the book (MAP, MRR and precision, recall, nDCG and "
        "true-pair recall at several cut-offs) from one value sort per row",
    ("metrics", "growth"):
        "MAP of n × n score matrices of growing n, ours against scikit-learn's per-query loop",
    ("cluster_cca", "fit"):
        "the Cluster-CCA fit, both variants, against the two Gram matrices every such fit must "
        "form (the floor) and against a plain numpy version (the previous implementation)",
    ("cluster_cca", "pairs"):
        "Cluster-CCA against CCA on the explicit list of all within-class pairs (what its "
        "definition literally asks for), at growing N, while the pairs fit in memory",
    ("cluster_cca", "kcca"):
        "kernel CCA with the exact kernel map against its Nyström approximation, at growing N, "
        "while an exact fit stays affordable",
    ("cluster_cca", "paired_cca"):
        "plain paired CCA (not Cluster-CCA, which neither library has): ours against cca-zoo "
        "and, on a subsample, scikit-learn's iterative CCA",
    ("cluster_cca", "growth"):
        "our Cluster-CCA fit at growing N",
    ("tnn", "fit_10_epochs"):
        "training TNN-C-CCA for 10 epochs in the paper's setting (batch-all mining), with 1 and "
        "2 threads, against the previous loss path and against a fit whose Cluster-CCA stage "
        "comes from the in-process memo",
    ("tnn", "epoch_growth"):
        "the seconds per TNN-C-CCA epoch at growing N",
}


def question_caption(frames: dict[str, pd.DataFrame], benchmark: str, question: str) -> str:
    """The caption of one comparison table: what it compares, on what, and how to read it."""
    what = QUESTIONS.get((benchmark, question),
                         f"the implementations of benchmark {benchmark}, question {question}")
    shared = constants(frames[benchmark], question)
    rows = frames[benchmark][frames[benchmark]["question"] == question]
    varies = rows[size_column(rows)].nunique() > 1
    return (f"Benchmark {benchmark}, question {question}: {what}"
            f"{f' ({shared})' if shared else ''}. Median wall time, its ratio to ours "
            f"(× ours: above 1 is slower than ours), peak memory of one call, and whether the "
            f"result agrees with ours"
            f"{'; the fastest time and the lowest memory in bold' if not varies else ''}.")


def machine_view(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """:func:`machine` turned for the page: one row per fact (CPU, cores, versions, BLAS), one
    column per benchmark file."""
    facts = machine(frames).set_index("benchmark").T
    facts.index = [_FACT_NAMES.get(str(i), str(i).replace("_", " ")) for i in facts.index]
    facts.columns = [f"bench_{c}.csv" for c in facts.columns]
    return facts.rename_axis("machine").reset_index().astype(str)


_FACT_NAMES = {"cpu": "CPU", "cores_available": "cores available", "python": "Python",
               "numpy": "numpy", "torch": "torch", "torch_threads": "torch threads",
               "blas": "BLAS and OpenMP libraries (threads)"}


def comparisons(frames: dict[str, pd.DataFrame], benchmark: str,
                questions: tuple[str, ...] | None = None) -> list[tuple[str, pd.DataFrame]]:
    """``(question, table)`` of :func:`comparison` for every question of one benchmark (or the
    given ones, in that order), skipping those it did not measure; empty if it was not run."""
    df = frames.get(benchmark)
    if df is None:
        return []
    measured = list(dict.fromkeys(df["question"]))
    return [(q, comparison(df, q)) for q in (questions or measured) if q in measured]


def _agreement(value: Any) -> str:
    if pd.isna(value):
        return "—"
    return "yes" if str(value).lower() in ("true", "1", "1.0") else "NO"


def growth_series(df: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    """``(question, implementation, rows sorted by size)`` for every implementation measured at
    ``MIN_GROWTH_POINTS`` or more finite sizes within one question."""
    size = size_column(df)
    series = []
    for (question, impl), rows in df.groupby(["question", "implementation"], sort=False):
        rows = rows[np.isfinite(rows["median_s"].astype(float))].sort_values(size)
        if rows[size].nunique() >= MIN_GROWTH_POINTS:
            series.append((str(question), str(impl), rows))
    return series


def growth_table(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every growth series: sizes measured, time at the largest, and the fitted slopes of time
    and memory against n (cost ∝ n^slope)."""
    out = []
    for name, df in frames.items():
        size = size_column(df)
        for question, impl, rows in growth_series(df):
            out.append({"benchmark": name, "question": question, "implementation": impl,
                        "n from": int(rows[size].min()), "n to": int(rows[size].max()),
                        "time at largest (s)": round(float(rows["median_s"].iloc[-1]), 3),
                        "time slope": round(growth_slope(rows[size], rows["median_s"]), 2),
                        "memory slope": _memory_slope(rows, size)})
    return pd.DataFrame(out)


def _memory_slope(rows: pd.DataFrame, size: str) -> float:
    mem = rows["peak_mb"].astype(float)
    ok = np.isfinite(mem) & (mem > 0)
    if ok.sum() < MIN_GROWTH_POINTS:
        return float("nan")
    return round(growth_slope(rows[size][ok], mem[ok]), 2)


def growth_view(growth: pd.DataFrame) -> pd.DataFrame:
    """:func:`growth_table` for the page: implementation first, the question as "benchmark:
    question", the sizes as one range, then the time at the largest size and the slopes."""
    return pd.DataFrame({
        "implementation": growth["implementation"],
        "benchmark: question": growth["benchmark"] + ": " + growth["question"],
        "n": [f"{a:,}–{b:,}" for a, b in zip(growth["n from"], growth["n to"], strict=True)],
        "time at largest n (s)": growth["time at largest (s)"].astype(float),
        "time slope": growth["time slope"].astype(float),
        "memory slope": growth["memory slope"].astype(float)})


def compact(value: float) -> str:
    """A tick label of a log axis, short: 500, 2k, 200k, 1.5M, 0.02."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def _log_ticks(axis: Any, values: np.ndarray) -> None:
    """Labelled ticks at 1 (and 2, 5 when the data span at most two decades) × each power of
    ten, in :func:`compact` form; no minor labels (they collide)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    finite = values[np.isfinite(values) & (values > 0)]
    decades = np.log10(finite.max() / finite.min()) if finite.size else 0.0
    axis.set_major_locator(LogLocator(base=10, subs=(1.0,) if decades > 2 else (1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: compact(v)))
    axis.set_minor_formatter(NullFormatter())


def plot_growth(frames: dict[str, pd.DataFrame]) -> Any:
    """One log-log panel per (benchmark, question) with growth series, two per row and 8 inches
    wide: median time against n, each implementation with its fitted slope in a legend under
    its panel (10-point text)."""
    import textwrap

    import matplotlib.pyplot as plt

    panels: dict[tuple[str, str], list[tuple[str, pd.DataFrame, str]]] = {}
    for name, df in frames.items():
        size = size_column(df)
        for question, impl, rows in growth_series(df):
            panels.setdefault((name, question), []).append((impl, rows, size))
    if not panels:
        raise ValueError("no growth series in the benchmarks")
    n_cols = min(2, len(panels))
    n_rows = int(np.ceil(len(panels) / n_cols))
    longest = max(len(series) for series in panels.values())
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(8.0, (3.0 + 0.6 * longest) * n_rows),
                             squeeze=False)
    for ax, ((name, question), series) in zip(axes.flat, panels.items(), strict=False):
        for impl, rows, size in series:
            slope = growth_slope(rows[size], rows["median_s"])
            ax.loglog(rows[size], rows["median_s"], marker="o",
                      label=f"{textwrap.fill(impl, 34)}\nslope {slope:.2f}")
        ax.set_title(f"{name}: {question}", fontsize=11)
        ax.set_xlabel("n (log scale)", fontsize=10)
        ax.set_ylabel("median wall time (s)", fontsize=10)
        ax.tick_params(labelsize=10)
        for axis, values in ((ax.xaxis, np.concatenate([r[z] for _, r, z in series])),
                             (ax.yaxis, np.concatenate([r["median_s"] for _, r, _ in series]))):
            _log_ticks(axis, np.asarray(values, float))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=10, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False,
                  handlelength=1.5)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.tight_layout()
    plt.close(fig)
    return fig


@dataclass(frozen=True)
class Target:
    """One performance target of the companion: a value read from the benchmarks, compared with
    a bound."""

    what: str
    benchmark: str
    question: str
    value: Callable[[pd.DataFrame], float]
    bound: float
    op: str          # "<=" or ">="
    unit: str


_OPS = {"<=": operator.le, ">=": operator.ge}
_SYMBOLS = {"<=": "≤", ">=": "≥"}


def _row(df: pd.DataFrame, question: str, impl_prefix: str, threads: int | None = None
         ) -> pd.Series:
    rows = df[(df["question"] == question)
              & df["implementation"].astype(str).str.startswith(impl_prefix)]
    if threads is not None and "threads" in rows.columns:
        rows = rows[rows["threads"] == threads]
    rows = rows[np.isfinite(rows["median_s"].astype(float))]
    if rows.empty:
        raise KeyError(f"no row {question!r} / {impl_prefix!r}")
    return rows.iloc[0]


def _median(question: str, impl: str, threads: int | None = None
            ) -> Callable[[pd.DataFrame], float]:
    return lambda df: float(_row(df, question, impl, threads)["median_s"])


def _peak(question: str, impl: str) -> Callable[[pd.DataFrame], float]:
    return lambda df: float(_row(df, question, impl)["peak_mb"])


def _ratio(question: str, slow: str, fast: str, threads: int | None = None
           ) -> Callable[[pd.DataFrame], float]:
    return lambda df: (float(_row(df, question, slow, threads)["median_s"])
                       / float(_row(df, question, fast, threads)["median_s"]))


#: the targets of issue 13, as the benchmarks measure them
TARGETS: tuple[Target, ...] = (
    Target("MAP + PR curve + P@10, 5,620 × 5,620, one thread", "metrics", "map+pr+p@k",
           _median("map+pr+p@k", "ours: ranking_summary"), 0.35, "<=", "s"),
    Target("scikit-learn's per-query loop ÷ ours (MAP + PR + P@10)", "metrics", "map+pr+p@k",
           _ratio("map+pr+p@k", "scikit-learn", "ours: ranking_summary"), 40.0, ">=", "×"),
    Target("Cluster-CCA fit (β) ÷ its two Gram matrices, VEGAS size", "cluster_cca", "fit",
           _ratio("fit", "ours (beta)", "two Gram matrices"), 1.5, "<=", "×"),
    Target("Cluster-CCA fit (Rasiwasia) ÷ its two Gram matrices", "cluster_cca", "fit",
           _ratio("fit", "ours (rasiwasia)", "two Gram matrices"), 1.5, "<=", "×"),
    Target("Cluster-CCA fit (β), peak memory", "cluster_cca", "fit",
           _peak("fit", "ours (beta)"), 1024.0, "<=", "MB"),
    Target("TNN-C-CCA, 10 epochs at VEGAS size, 2 threads", "tnn", "fit_10_epochs",
           _median("fit_10_epochs", "ours", threads=2), 20.0, "<=", "s"),
)


def targets(frames: dict[str, pd.DataFrame], chosen: tuple[Target, ...] = TARGETS
            ) -> pd.DataFrame:
    """Each target with the measured value, whether it is met and by how much it is missed
    (measured ÷ bound for an upper bound, bound ÷ measured for a lower one); "not measured" when
    its benchmark has not been run."""
    rows = []
    for t in chosen:
        row: dict[str, Any] = {"target": t.what,
                               "bound": f"{_SYMBOLS[t.op]} {t.bound:g} {t.unit}"}
        df = frames.get(t.benchmark)
        try:
            value = t.value(df) if df is not None else None
        except KeyError:
            value = None
        if value is None:
            row.update({"measured": "not measured", "met": "—", "missed by": ""})
        else:
            met = _OPS[t.op](value, t.bound)
            factor = value / t.bound if t.op == "<=" else t.bound / value
            row.update({"measured": f"{value:.3g} {t.unit}", "met": "yes" if met else "NO",
                        "missed by": "" if met else f"{factor:.2f}×"})
        rows.append(row)
    return pd.DataFrame(rows)
