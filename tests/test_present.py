"""The book's numbered figures and tables: the Markdown table a reader sees, the caption every
figure and table carries (setting and tie to the paper), the labels the prose cites, and the
MyST blocks a notebook displays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paper_lib.pipeline import present
from paper_lib.report.tables import MISSING, markdown_table, mean_std, number, p_value


def test_mean_std_stays_on_one_line_and_marks_a_missing_mean():
    assert mean_std(0.7, 0.01) == "0.700\u00a0±\u00a00.010"
    assert " " not in mean_std(0.71234, 0.0123, digits=4)
    assert mean_std(float("nan"), 0.1) == MISSING
    assert mean_std(0.5, float("nan")) == "0.500"


def test_p_values_are_never_printed_as_zero():
    assert p_value(8.3e-58) == "8.3e-58"
    assert p_value(0.0312) == "0.031"
    assert p_value(0.001) == "0.001"
    assert p_value(9.99e-4) == "1.0e-3"
    assert p_value(float("nan")) == MISSING
    assert p_value(0.0) == "0.0e+00"


def test_markdown_table_keeps_every_row_no_index_and_bolds_every_best_tie():
    df = pd.DataFrame({"method": ["a|b", "c", "d"], "MAP": [0.5, 0.7, 0.7],
                       "fits": [5, 15, 15], "p": [np.nan, 0.1, 0.2]}, index=[7, 8, 9])
    lines = markdown_table(df, best={"MAP": "max", "p": "min"}).splitlines()
    assert lines[0] == "| method | MAP | fits | p |"
    assert lines[1] == "|:--|--:|--:|--:|"              # text left, numbers right
    assert len(lines) == 2 + len(df)                      # every row, whatever its length
    assert lines[2] == f"| a\\|b | 0.500 | 5 | {MISSING} |"  # pipe escaped, NaN a dash
    assert lines[3].split(" | ")[1] == "**0.700**" and lines[4].split(" | ")[1] == "**0.700**"
    assert "**0.100**" in lines[3] and "7" not in lines[2].split(" | ")[0]
    long = pd.DataFrame({"x": range(500)})
    assert len(markdown_table(long).splitlines()) == 502


def test_markdown_table_refuses_what_it_cannot_show():
    with pytest.raises(ValueError, match="best\\['x'\\] must be 'max' or 'min'"):
        markdown_table(pd.DataFrame({"x": [1.0]}), best={"x": "high"})
    with pytest.raises(ValueError, match="duplicate column names"):
        markdown_table(pd.DataFrame([[1, 2]], columns=["a", "a"]))


def test_numbers_and_digits_per_column():
    df = pd.DataFrame({"a": [0.123456], "b": [0.123456]})
    assert markdown_table(df, digits={"a": 2}).splitlines()[2] == "| 0.12 | 0.123 |"
    assert number(True) == "yes" and number(None) == MISSING and number(3) == "3"


def test_captions_state_the_setting_and_the_tie_to_the_paper():
    text = present.caption_text("Precision against recall.", "avdigits, full profile, 5 folds",
                                "precision-recall curves")
    assert text == ("Precision against recall (avdigits, full profile, 5 folds). "
                    "Reproduces the paper's precision-recall curves.")
    assert present.caption_text("A toy.", "synthetic, quick profile", None).endswith(
        "Not in the paper.")
    with pytest.raises(ValueError, match="ending with a full stop"):
        present.caption_text("no full stop", "x", None)
    with pytest.raises(ValueError, match="name the paper's artefact"):
        present.caption_text("A.", "x", "  ")
    assert present.alt_text("Two curves. The second is dashed.") == "Two curves."


def test_labels_and_staged_paths_are_what_the_prose_and_the_staging_use():
    assert present.label("fig", "pr_curves", "pr_curves_11pt") == "fig-pr-curves-pr-curves-11pt"
    assert present.label("tbl", "main_table", "main_table") == "tbl-main-table-main-table"
    with pytest.raises(ValueError, match="kind"):
        present.label("figure", "a", "b")
    assert present.staged_path("avdigits-full", "pr_curves", "x.png") == \
        "../results/avdigits-full/pr_curves/x.png"


def test_blocks_are_colon_fenced_myst_with_name_and_links():
    fig = present.figure_block("../results/r/n/f.png", "fig-n-f", "Cap (s). Not in the paper.",
                               "Cap", [("PNG", "../results/r/n/f.png")])
    assert fig.startswith(":::{figure} ../results/r/n/f.png\n:name: fig-n-f\n:alt: Cap\n")
    assert "{download}`PNG <../results/r/n/f.png>`" in fig and fig.endswith(":::")
    tbl = present.table_block("| a |\n|--:|\n| 1 |", "tbl-n-t", "Cap.", [("CSV", "t.csv")])
    first = tbl.splitlines()[0]
    assert first.startswith(":::{table} Cap.") and "{download}`CSV <t.csv>`" in first
    assert "```" not in tbl            # a backtick fence cannot hold the roles of the caption


def test_the_parameters_line_shows_what_ran_and_no_machine_path():
    line = present.parameters_line({"dataset": "avdigits", "profile": "full", "folds": "all",
                                    "seeds": [0, 1, 2], "epochs": 10, "seed": 0,
                                    "data_dir": "/home/someone/data"})
    assert line == ("*Run with:* dataset **avdigits** · profile **full** · folds **all** · "
                    "seeds **0, 1, 2** · epochs **10**")
    assert "/home" not in line
