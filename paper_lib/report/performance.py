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
    agreement with ours and the note."""
    rows = df[df["question"] == question]
    if rows.empty:
        raise ValueError(f"no benchmark rows for question {question!r}")
    size = size_column(rows)
    out = pd.DataFrame({
        "implementation": rows["implementation"],
        "size": rows[size].map(lambda v: f"{int(v):,}" if pd.notna(v) else ""),
        "median (s)": rows["median_s"].round(4),
        "peak memory (MB)": rows["peak_mb"].round(1),
        "× ours": rows["ratio_to_ours"].round(2),
        "agrees with ours": rows["agrees"].map(_agreement),
        "note": rows["note"].fillna(""),
    })
    if "threads" in rows.columns:
        out.insert(2, "threads", rows["threads"].map(lambda v: "" if pd.isna(v) else int(v)))
    return out.reset_index(drop=True)


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


def plot_growth(frames: dict[str, pd.DataFrame]) -> Any:
    """One log-log panel per (benchmark, question) with growth series: median time against n,
    each implementation with its fitted slope in the legend."""
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
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(6.2 * n_cols, 4.2 * n_rows), squeeze=False)
    for ax, ((name, question), series) in zip(axes.flat, panels.items(), strict=False):
        for impl, rows, size in series:
            slope = growth_slope(rows[size], rows["median_s"])
            ax.loglog(rows[size], rows["median_s"], marker="o", label=f"{impl} (slope {slope:.2f})")
        ax.set_title(f"{name}: {question}", fontsize=11)
        ax.set_xlabel("n (log scale)")
        ax.set_ylabel("median wall time, s (log scale)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8.5, loc="upper left")
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.tight_layout()
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
        row: dict[str, Any] = {"target": t.what, "bound": f"{t.op} {t.bound:g} {t.unit}"}
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
