"""The Performance chapter's reading of the benchmark CSVs: slopes, comparisons and targets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paper_lib.report import performance as perf


def _rows() -> dict[str, pd.DataFrame]:
    metrics = pd.DataFrame([
        {"question": "map+pr+p@k", "implementation": "ours: ranking_summary", "n_queries": 5620,
         "median_s": 0.30, "peak_mb": 6.0, "ratio_to_ours": 1.0, "agrees": True, "note": "",
         "machine_cpu": "test cpu"},
        {"question": "map+pr+p@k", "implementation": "scikit-learn loop", "n_queries": 5620,
         "median_s": 6.0, "peak_mb": 0.5, "ratio_to_ours": 20.0, "agrees": True, "note": "x",
         "machine_cpu": "test cpu"},
    ] + [{"question": "growth", "implementation": "ours", "n_queries": n,
          "median_s": 1e-8 * n ** 2, "peak_mb": 0.01 * n, "ratio_to_ours": 1.0, "agrees": True,
          "note": "", "machine_cpu": "test cpu"} for n in (100, 1000, 10000)])
    return {"metrics": metrics}


def test_growth_slope_recovers_the_exponent():
    n = np.array([10.0, 100.0, 1000.0])
    assert perf.growth_slope(n, 3 * n ** 1.5) == pytest.approx(1.5)


def test_growth_table_fits_time_and_memory_slopes():
    table = perf.growth_table(_rows())
    assert len(table) == 1
    row = table.iloc[0]
    assert row["time slope"] == pytest.approx(2.0) and row["memory slope"] == pytest.approx(1.0)
    assert (row["n from"], row["n to"]) == (100, 10000)


def test_targets_met_missed_and_not_measured():
    table = perf.targets(_rows()).set_index("target")
    first, ratio = table.iloc[0], table.iloc[1]
    assert first["met"] == "yes" and first["measured"] == "0.3 s"
    # 6.0 / 0.3 = 20x against a bound of >= 40x: missed by 2x
    assert ratio["met"] == "NO" and ratio["missed by"] == "2.00×"
    assert set(table.iloc[2:]["measured"]) == {"not measured"}   # no cluster_cca / tnn CSV


def test_comparison_is_readable_and_refuses_an_unknown_question():
    table = perf.comparison(_rows()["metrics"], "map+pr+p@k")
    assert list(table["implementation"]) == ["ours: ranking_summary", "scikit-learn loop"]
    assert list(table["size"]) == ["5,620", "5,620"] and list(table["agrees with ours"]) == [
        "yes", "yes"]
    with pytest.raises(ValueError, match="no benchmark rows"):
        perf.comparison(_rows()["metrics"], "nothing")


def test_load_benchmarks_reads_every_csv(tmp_path):
    _rows()["metrics"].to_csv(tmp_path / "bench_metrics.csv", index=False)
    frames = perf.load_benchmarks(tmp_path)
    assert list(frames) == ["metrics"]
    assert perf.machine(frames).iloc[0]["cpu"] == "test cpu"
    assert perf.load_benchmarks(tmp_path / "none") == {}


def test_comparisons_cover_the_measured_questions_only():
    frames = _rows()
    assert [q for q, _ in perf.comparisons(frames, "metrics")] == ["map+pr+p@k", "growth"]
    assert [q for q, _ in perf.comparisons(frames, "metrics", ("nothing", "growth"))] == [
        "growth"]
    assert perf.comparisons(frames, "tnn") == []


def test_comparison_view_puts_key_columns_first_and_drops_what_does_not_vary():
    table = perf.comparison(_rows()["metrics"], "map+pr+p@k")
    view = perf.comparison_view(table)
    assert list(view.columns) == ["implementation", "median (s)", "× ours", "peak memory (MB)",
                                  "agrees with ours", "note"]   # one size: said in the caption
    assert perf.view_best(view) == {"median (s)": "min", "peak memory (MB)": "min"}
    growth = perf.comparison_view(perf.comparison(_rows()["metrics"], "growth"))
    assert list(growth.columns)[:2] == ["implementation", "size"]
    assert perf.view_best(growth) is None                       # sizes differ: no "best"
    assert perf.constants(_rows()["metrics"], "map+pr+p@k") == ""
    frames = _rows()
    frames["metrics"]["n_gallery"] = frames["metrics"]["n_queries"]
    assert perf.constants(frames["metrics"], "map+pr+p@k") == "5,620 queries × 5,620 gallery items"
    caption = perf.question_caption(frames, "metrics", "map+pr+p@k")
    assert caption.endswith(".") and "5,620 queries" in caption and "in bold" in caption
    assert "in bold" not in perf.question_caption(frames, "metrics", "growth")


def test_machine_and_growth_views_read_as_display_names():
    frames = _rows()
    machine = perf.machine_view(frames)
    assert list(machine.columns) == ["machine", "bench_metrics.csv"]
    assert machine.set_index("machine").loc["CPU", "bench_metrics.csv"] == "test cpu"
    growth = perf.growth_view(perf.growth_table(frames))
    assert list(growth.columns) == ["implementation", "benchmark: question", "n",
                                    "time at largest n (s)", "time slope", "memory slope"]
    assert growth.loc[0, "n"] == "100–10,000"
    assert growth.loc[0, "benchmark: question"] == "metrics: growth"


def test_growth_figure_fits_the_page():
    fig = perf.plot_growth(_rows())
    assert fig.get_size_inches()[0] <= 8.0
    ax = fig.axes[0]
    assert min(t.get_fontsize() for t in ax.get_legend().get_texts()) >= 10
    assert [perf.compact(v) for v in (500, 2000, 2e5, 1.5e6, 0.02)] == [
        "500", "2k", "200k", "1.5M", "0.02"]
