"""PR-curve aggregation: step interpolation on a recall grid vs a naive loop, curve endpoints vs
their closed forms, the fold average vs a manual mean over folds of different sizes."""

from __future__ import annotations

import numpy as np
import pytest

from paper_lib.data.dataset import Split
from paper_lib.experiment import SplitResult
from paper_lib.metrics.retrieval import interpolated_pr_11, pr_curve, precision_at_k
from paper_lib.metrics.similarity import similarity
from paper_lib.report import pr_curves as pr


def _result(method: str, n: int, fold: int, seed: int, rng: np.random.Generator) -> SplitResult:
    """A fake fit: random embeddings with some class signal, ``n`` test clips of 3 classes."""
    labels = np.arange(n) % 3
    centres = rng.normal(size=(3, 4))
    Za = centres[labels] + rng.normal(size=(n, 4))
    Zv = centres[labels] + rng.normal(size=(n, 4))
    split = Split(f"fold{fold}", fold, np.arange(n, 2 * n), np.arange(n))
    return SplitResult(method, split, seed, Za, Zv, labels, {}, 0.0, 0.0, None)  # type: ignore[arg-type]


def _naive_grid(precision, recall, grid):
    out = []
    for r in grid:
        k = next(i for i, rec in enumerate(recall) if rec >= r - 1e-12)
        out.append(precision[k])
    return np.array(out)


def test_precision_on_grid_equals_a_naive_loop_with_flat_recall_segments():
    rng = np.random.default_rng(0)
    recall = np.sort(np.concatenate([rng.uniform(size=30), [0.5, 0.5, 0.5, 1.0]]))
    precision = rng.uniform(size=recall.size)
    grid = np.linspace(0, 1, 37)
    np.testing.assert_array_equal(pr.precision_on_grid(precision, recall, grid),
                                  _naive_grid(precision, recall, grid))
    # at a flat segment the first cut-off reaching the level is used
    got = pr.precision_on_grid(precision, recall, np.array([0.5]))
    assert got[0] == precision[np.argmax(recall >= 0.5)]


def test_precision_on_grid_rejects_bad_curves():
    with pytest.raises(ValueError, match="non-decreasing"):
        pr.precision_on_grid(np.ones(3), np.array([0.2, 0.1, 1.0]))
    with pytest.raises(ValueError, match="beyond"):
        pr.precision_on_grid(np.ones(3), np.array([0.1, 0.2, 0.9]))
    with pytest.raises(ValueError, match="one length"):
        pr.precision_on_grid(np.ones(3), np.ones(2))


def test_split_curves_endpoints_are_p_at_1_and_class_prevalence():
    rng = np.random.default_rng(1)
    res = _result("m", 13, 0, 0, rng)
    for d in ("a2v", "v2a"):
        S = similarity(res.Z_audio, res.Z_visual)
        S = S if d == "a2v" else S.T
        c = pr.split_curves(res, d)
        assert c["raw"].shape == pr.RECALL_GRID.shape
        # recall 0 -> the first rank: P@1
        assert c["raw"][0] == pytest.approx(precision_at_k(S, res.labels, res.labels, 1))
        # recall 1 -> the first cut-off k where every query has all its R_i relevant items:
        # precision there = mean_i R_i / k >= the prevalence mean_i R_i / n (equal iff k = n)
        order = np.argsort(-S, axis=1, kind="stable")
        rel = res.labels[order] == res.labels[:, None]
        last_hit = max(np.flatnonzero(row)[-1] for row in rel) + 1
        R = np.bincount(res.labels)[res.labels]
        assert c["raw"][-1] == pytest.approx(R.mean() / last_hit)
        assert c["raw"][-1] >= R.mean() / res.labels.size - 1e-12
        np.testing.assert_allclose(c["11pt"], interpolated_pr_11(S, res.labels, res.labels)[1])
        # every grid value is a point of the fold's own curve
        precision, _ = pr_curve(S, res.labels, res.labels)
        assert np.isin(c["raw"], precision).all()


def test_average_curves_equals_a_manual_mean_over_folds_of_different_sizes():
    rng = np.random.default_rng(2)
    results = [_result("a", 10, 0, 0, rng), _result("a", 11, 1, 0, rng),
               _result("a", 10, 2, 0, rng), _result("b", 10, 0, 0, rng),
               _result("b", 11, 1, 0, rng), _result("b", 10, 2, 0, rng)]
    curves = pr.average_curves(results)
    assert list(curves.columns) == pr.PR_COLUMNS
    assert set(curves["kind"]) == {"raw", "11pt"}
    assert len(curves) == 2 * 2 * (pr.RECALL_GRID.size + 11)
    for m in ("a", "b"):
        fits = [r for r in results if r.method == m]
        for d in ("a2v", "v2a"):
            for kind in ("raw", "11pt"):
                manual = np.stack([pr.split_curves(r, d)[kind] for r in fits])
                got = curves[(curves["method"] == m) & (curves["direction"] == d) &
                             (curves["kind"] == kind)]
                np.testing.assert_allclose(got["precision"], manual.mean(axis=0))
                np.testing.assert_allclose(got["precision_std"], manual.std(axis=0, ddof=1))
                assert (got["n_curves"] == 3).all()
    eleven = curves[curves["kind"] == "11pt"]
    # 11-point curves are non-increasing in recall, also after averaging
    for _, g in eleven.groupby(["method", "direction"]):
        assert (np.diff(g["precision"].to_numpy()) <= 1e-12).all()


def test_single_fit_has_zero_std_and_endpoints_table():
    rng = np.random.default_rng(3)
    curves = pr.average_curves([_result("a", 9, 0, 0, rng)])
    assert (curves["precision_std"] == 0).all()
    ends = pr.endpoints(curves)
    assert len(ends) == 2
    raw = curves[(curves["kind"] == "raw") & (curves["direction"] == "a2v")]
    assert ends.loc[ends["direction"] == "a2v", "precision_at_r0"].item() == raw["precision"].iloc[0]
    assert ends.loc[ends["direction"] == "a2v", "precision_at_r1"].item() == raw["precision"].iloc[-1]
    with pytest.raises(ValueError, match="no fitted"):
        pr.average_curves([])


def test_plot_has_two_panels_with_one_line_per_method():
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(4)
    curves = pr.average_curves([_result("cca", 9, 0, 0, rng), _result("tnn_c_cca", 9, 0, 0, rng)])
    for kind in ("raw", "11pt"):
        fig = pr.plot_pr_curves(curves, "toy", kind=kind)
        assert [len(ax.lines) for ax in fig.axes] == [2, 2]
        plt.close(fig)
    with pytest.raises(ValueError, match="kind"):
        pr.plot_pr_curves(curves, "toy", kind="smooth")
