"""Chapter 22's exercises: every numeric answer the page shows (computed by
``paper_lib.report.teach_triplets``) against an independent computation (enumeration, a naive
loop, finite differences, a closed form, the library's loss); the page's visible numpy lines
against the library; and the course furniture of the notebook's source."""

from __future__ import annotations

import re
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from paper_lib.report import teach_triplets as T

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "22_teach_triplets.py"


def _enumerate_triplets(labels: np.ndarray) -> list[tuple[int, int, int]]:
    """Every (anchor i, positive j, negative k) by brute force: y_j == y_i != y_k."""
    B = labels.size
    return [(i, j, k) for i, j, k in product(range(B), repeat=3)
            if labels[j] == labels[i] and labels[k] != labels[i]]


def _naive_hinges(za: np.ndarray, zv: np.ndarray, labels: np.ndarray,
                  margin: float) -> np.ndarray:
    za, zv = np.atleast_2d(za.T).T, np.atleast_2d(zv.T).T
    return np.array([max(0.0, float(((za[i] - zv[j]) ** 2).sum() - ((za[i] - zv[k]) ** 2).sum())
                         + margin) for i, j, k in _enumerate_triplets(labels)])


# -- exercise 1: counting ------------------------------------------------------------------------
def test_exercise_1_batch_all_count_equals_enumeration():
    rng = np.random.default_rng(0)
    for counts in (T.EX_CLASS_COUNTS, (1, 1), (5,), (2, 2, 2), tuple(rng.integers(1, 5, 4))):
        labels = T.labels_from_counts(counts)
        assert T.exercise_batch_all_count(counts) == len(_enumerate_triplets(labels))
    assert T.exercise_batch_all_count(T.EX_CLASS_COUNTS) == 200           # 96 + 63 + 32 + 9


# -- exercise 2: active triplets of a hand-sized batch -------------------------------------------
def test_exercise_2_active_count_equals_a_triple_loop():
    za, zv = np.array(T.EX_TOY_AUDIO), np.array(T.EX_TOY_VISUAL)
    labels = np.array(T.EX_TOY_LABELS)
    table = T.exercise_triplet_table(za, zv, labels, T.EX_TOY_MARGIN)
    naive = _naive_hinges(za, zv, labels, T.EX_TOY_MARGIN)
    assert len(table) == naive.size == 16
    np.testing.assert_allclose(table.ell, naive, atol=1e-12)
    assert int(table.active.sum()) == int((naive > 0).sum()) == 8
    # the library's miners and loss count the same active triplets
    counts = T.mined_counts(za[:, None], zv[:, None], labels, T.EX_TOY_MARGIN).set_index("miner")
    assert counts.loc["batch-all", "active"] == 8
    view = T.triplet_table_view(table)
    assert view["anchor i"].min() == 1 and set(view["active"]) == {"yes", "no"}


# -- exercise 3: the gradient --------------------------------------------------------------------
def test_exercise_3_gradient_matches_finite_differences():
    def ell(a, p, n, m):
        return max(0.0, float(((a - p) ** 2).sum() - ((a - n) ** 2).sum()) + m)

    rng = np.random.default_rng(1)
    cases = [(T.EX_GRAD_A, T.EX_GRAD_P, T.EX_GRAD_N, T.EX_GRAD_MARGIN)]
    cases += [tuple(rng.normal(size=(3, 3))) + (0.5,) for _ in range(3)]
    cases += [((0.0, 0.0), (0.1, 0.0), (3.0, 0.0), 0.5)]                  # inactive: all 0
    for a, p, n, m in cases:
        table = T.exercise_gradient(a, p, n, m).set_index("variable")
        args = {"a": np.asarray(a, float), "p": np.asarray(p, float), "n": np.asarray(n, float)}
        for name in ("a", "p", "n"):
            fd = np.zeros_like(args[name])
            for d in range(fd.size):
                step = np.zeros_like(fd)
                step[d] = 1e-6
                hi = {**args, name: args[name] + step}
                lo = {**args, name: args[name] - step}
                fd[d] = (ell(hi["a"], hi["p"], hi["n"], m) - ell(lo["a"], lo["p"], lo["n"], m)) / 2e-6
            np.testing.assert_allclose(table.loc[name, "autograd"], fd, atol=1e-5)
            np.testing.assert_allclose(table.loc[name, "closed_form"], fd, atol=1e-5)
        assert table.difference.max() < 1e-12
    answer = T.exercise_gradient(T.EX_GRAD_A, T.EX_GRAD_P, T.EX_GRAD_N, T.EX_GRAD_MARGIN)
    assert T.gradient_view(answer)["closed form"].tolist() == ["(-1, 1)", "(2, 0)", "(-1, -1)"]


# -- exercise 4: L, the mean hinge and the active fraction ---------------------------------------
def test_exercise_4_mean_hinge_is_loss_times_active_fraction():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 3, 12)
    za, zv = rng.random((12, 3)), rng.random((12, 3))
    naive = _naive_hinges(za, zv, labels, 0.3)
    lib = T.batch_all_library(za, zv, labels, 0.3)
    assert lib.loss == pytest.approx(naive[naive > 0].mean(), abs=1e-12)
    assert lib.mean_hinge == pytest.approx(naive.mean(), abs=1e-12)
    assert lib.loss * lib.active_fraction == pytest.approx(naive.mean(), abs=1e-12)
    toy = T.batch_all_numpy(np.array(T.EX_TOY_AUDIO)[:, None], np.array(T.EX_TOY_VISUAL)[:, None],
                            np.array(T.EX_TOY_LABELS), T.EX_TOY_MARGIN)
    assert toy.loss == pytest.approx(1.98 / 8) and toy.mean_hinge == pytest.approx(1.98 / 16)
    assert toy.active_fraction == 0.5


def test_exercise_4_epoch_identity_is_exact_with_one_minibatch_per_epoch():
    from paper_lib.methods.tnn import TNNCCCA

    rng = np.random.default_rng(3)
    y = np.repeat(np.arange(3), 10)
    Xa, Xv = rng.normal(size=(30, 6)) + y[:, None], rng.normal(size=(30, 5)) - y[:, None]
    one = TNNCCCA(n_components=2, epochs=3, batch_size=30, random_state=0).fit(Xa, Xv, y)
    table = T.exercise_loss_identity(T.history_frame(one.history_))
    np.testing.assert_allclose(table.loss, table.hinge_over_fraction, rtol=1e-6)
    many = TNNCCCA(n_components=2, epochs=2, batch_size=8, random_state=0).fit(Xa, Xv, y)
    hist = T.history_frame(many.history_)
    table = T.exercise_loss_identity(hist)
    assert list(table.columns) == ["epoch", "loss", "hinge_over_fraction"]
    np.testing.assert_allclose(table.hinge_over_fraction,
                               hist.mean_hinge / hist.active_fraction)


# -- exercise 5: the margin ----------------------------------------------------------------------
def test_exercise_5_active_fraction_grows_with_the_margin_as_the_library_counts():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 4, 16)
    za, zv = rng.random((16, 3)), rng.random((16, 3))
    table = T.exercise_active_by_margin(za, zv, labels, T.EX_MARGINS)
    assert table.margin.tolist() == list(T.EX_MARGINS)
    assert table.active.is_monotonic_increasing and table.mean_hinge.is_monotonic_increasing
    for row in table.itertuples():
        lib = T.mined_counts(za, zv, labels, row.margin).set_index("miner").loc["batch-all"]
        assert row.active == lib.active
        assert row.mean_hinge == pytest.approx(lib.mean_hinge, abs=1e-12)
        assert row.loss == pytest.approx(T.batch_all_library(za, zv, labels, row.margin).loss)
    view = T.active_by_margin_view(table)
    assert set(T.ACTIVE_BY_MARGIN_DIGITS) <= set(view.columns)


# -- exercise 6: scaling without the hinge -------------------------------------------------------
def test_exercise_6_hingeless_loss_scales_with_s_squared():
    toy = T.make_hinge_toy(seed=0)
    margin = 0.5
    table = T.exercise_scaling(toy, 1.0, margin, T.EX_SCALES)
    at_one = table.set_index("scale").loc[1.0]
    for row in table.itertuples():
        assert row.hingeless == pytest.approx(row.scale ** 2 * (at_one.hingeless - margin)
                                              + margin, rel=1e-10)
        assert row.violated_fraction == at_one.violated_fraction
    # scale 1 is the landscape's value at the same direction (a second code path, via torch)
    landscape = T.projection_loss_landscape(toy, margin, angles=np.array([1.0]))
    assert at_one.hingeless == pytest.approx(landscape.hingeless.iloc[0], rel=1e-10)
    assert at_one.hinge == pytest.approx(landscape.hinge.iloc[0], rel=1e-10)
    assert table.hinge.is_monotonic_increasing                 # violated triplets grow like s²


# -- exercise 7: balanced batches ----------------------------------------------------------------
def test_exercise_7_balanced_count_is_cubic_in_the_batch_size():
    for B, C in ((6, 3), (8, 2), (12, 4)):
        labels = np.repeat(np.arange(C), B // C)
        assert T.exercise_balanced_count(B, C) == len(_enumerate_triplets(labels))
    for B in T.EX_BATCH_SIZES:
        labels = np.repeat(np.arange(T.EX_N_CLASSES), B // T.EX_N_CLASSES)
        assert T.exercise_balanced_count(B, T.EX_N_CLASSES) == T.valid_triplet_count(labels)
    b1, b2 = T.EX_BATCH_SIZES
    assert T.exercise_balanced_count(b2, 10) == 8 * T.exercise_balanced_count(b1, 10)
    with pytest.raises(ValueError, match="divisible"):
        T.exercise_balanced_count(41, 10)


# -- the page's numpy lines against the library --------------------------------------------------
def _cell(source: str, first_line: str) -> str:
    cells = re.split(r"^# %%.*$", source, flags=re.M)
    (cell,) = [c for c in cells if c.strip().startswith(first_line)]
    return cell


def test_the_pages_numpy_lines_equal_the_librarys_loss():
    cell = _cell(NOTEBOOK.read_text(), "za, zv, y, m =")
    code_lines = [line for line in cell.strip().splitlines() if line.strip()]
    assert 8 <= len(code_lines) <= 14                          # about ten visible lines
    rng = np.random.default_rng(5)
    for labels, spread in ((rng.integers(0, 4, 20), 1.0), (rng.integers(0, 3, 9), 0.05),
                           (np.zeros(5, dtype=int), 1.0)):
        B = labels.size
        env = {"np": np, "Za0": spread * rng.random((B, 10)), "Zv0": spread * rng.random((B, 10)),
               "y_batch": labels, "margin": 0.5}
        exec(cell, env)                                        # the page's own lines
        page = T.BatchAllStats(float(env["L"]), float(env["mean_ell"]), int(env["ell"].size),
                               int(env["n_active"]))
        lib = T.batch_all_library(env["Za0"], env["Zv0"], labels, 0.5)
        assert T.stats_difference(page, lib) < 1e-9
        assert T.stats_difference(T.batch_all_numpy(env["Za0"], env["Zv0"], labels, 0.5),
                                  lib) < 1e-9
    assert T.stats_difference(T.BatchAllStats(0.0, 0.0, 1, 0), T.BatchAllStats(0.0, 0.0, 2, 0)) \
        == float("inf")


# -- the course furniture of the page (its source; the built HTML is checked elsewhere) ----------
def test_the_page_has_overview_summary_and_at_least_five_exercises_with_solutions():
    text = NOTEBOOK.read_text()
    overview = text.index("## Overview")
    assert text.index("**Prerequisites.**") > overview and text.index("**You will learn.**") > \
        overview
    assert "{doc}`../book/notation`" in text
    assert text.index("## Summary") < text.index("## Exercises") < text.index("run.finish()")
    labels = re.findall(r"^# :label: (ex-teach-triplets-\d+)$", text, flags=re.M)
    assert len(labels) >= 5 and len(set(labels)) == len(labels)
    for label in labels:
        assert f"```{{solution-start}} {label}" in text
    assert text.count("```{solution-end}") == len(labels)
    assert text.count(":::{admonition} Try this") >= 3
    # the pipeline diagram is chapter 20's now; the dataset box and MAP are linked before use
    assert "plot_pipeline_diagram" not in text
    assert "{numref}`fig-teach-cca-2d-pipeline-diagram`" in text
    assert text.index("<teach-dataset-box>`", text.index("## Mining")) < text.index("ds.splits")
    first_map = text.index("MAP", text.index("## The geometry"))
    assert 0 < text.index("{doc}`23_teach_protocol`", first_map) - first_map < 400
    # the knobs of the parameter cell are the module's
    params = _cell(text, 'dataset = "avdigits-pretrained"')
    for knob in (T.TRIPLET_MARGIN, T.TRIPLET_MARGINS, T.TRIPLET_BATCH_SIZE,
                 T.TRIPLET_TOY_PER_CLASS, T.TRIPLET_TOY_FAR):
        assert f"{knob.name} = None" in params
    assert "C-CCA" not in re.sub(r"TNN-C-CCA|C-CCA \(β = 0\.2\)|C-CCA \(Rasiwasia\)", "", text)


def test_exercise_views_format_for_reading():
    table = T.exercise_scaling(T.make_hinge_toy(seed=0), 0.0, 0.5, T.EX_SCALES)
    assert set(T.SCALING_DIGITS) == set(T.scaling_view(table).columns)
    assert T.vector_text(np.array([-0.0, 1.5])) == "(0, 1.5)"
    assert isinstance(T.exercise_triplet_table([0.0], [0.0], [0], 0.5), pd.DataFrame)
