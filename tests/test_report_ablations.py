"""paper_lib.report.ablations: settings, configs, summaries, the paper's reference, the rank fact
behind the d ablation, and the figures (on tiny hand-made data)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from paper_lib.data.dataset import PairedDataset
from paper_lib.experiment import RECORD_COLUMNS, Config
from paper_lib.methods._linalg import numerical_rank
from paper_lib.methods.cluster_cca import ClusterCCA
from paper_lib.methods.registry import get_method
from paper_lib.methods.tnn import TNNCCCA
from paper_lib.paper import load_reported, reference
from paper_lib.report import ablations as ab
from paper_lib.report.spectrum import NONZERO_RTOL, canonical_spectrum
from paper_lib.report.tables import markdown_table


# -- hand-made records -----------------------------------------------------------------------------
def _records(values: dict[tuple[str, str, str], list[float]],
             times: dict[tuple[str, str], list[float]] | None = None) -> pd.DataFrame:
    """Tidy records: ``values[(method, setting, direction)]`` = one MAP per fold."""
    rows = []
    for (method, setting, direction), maps in values.items():
        for fold, v in enumerate(maps):
            rows.append({"dataset": "toy", "method": method, "setting": setting, "fold": fold,
                         "seed": 0, "dim": 10, "direction": direction, "metric": "map",
                         "value": v})
            rows.append({"dataset": "toy", "method": method, "setting": setting, "fold": fold,
                         "seed": 0, "dim": 10, "direction": direction, "metric": "p@1",
                         "value": 1.0})
    for (method, setting), secs in (times or {}).items():
        for fold, s in enumerate(secs):
            rows.append({"dataset": "toy", "method": method, "setting": setting, "fold": fold,
                         "seed": 0, "dim": 10, "direction": "fit", "metric": "wall_time_s",
                         "value": s})
    return pd.DataFrame(rows, columns=RECORD_COLUMNS)


RNG = np.random.default_rng(7)
TOY = {("tnn_c_cca", s, d): list(RNG.uniform(0.2, 0.8, size=3))
       for s in ("margin=0.5", "margin=0.1", "margin=1.0") for d in ("a2v", "v2a")}
TOY_TIMES = {("tnn_c_cca", s): [1.0, 2.0, 4.5] for s in ("margin=0.5", "margin=0.1", "margin=1.0")}


# -- settings --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("knob", "value", "label", "level"), [
    ("d", 10, "d=10", 10), ("margin", 0.5, "margin=0.5", 0.5), ("margin", 1.0, "margin=1.0", 1.0),
    ("margin", np.float64(0.1), "margin=0.1", 0.1), ("batch_number", np.int64(300),
                                                     "batch_number=300", 300),
    ("mining", "batch_hard", "mining=batch_hard", "batch_hard"),
    ("shared_branch", True, "shared_branch=True", "True")])
def test_setting_label_round_trip(knob, value, label, level) -> None:
    assert ab.setting_label(knob, value) == label
    assert ab.parse_setting(label) == (knob, level)


def test_setting_labels_match_the_papers_tables() -> None:
    """Our labels join the paper's rows: every setting of the three sweeps is spelled alike."""
    ref = load_reported("vegas")
    for table, knob, values in (("ablation_margin", "margin", [0.1 * k for k in range(1, 12)]),
                                ("ablation_d", "d", [10, 20, 30, 40, 50]),
                                ("ablation_batch_number", "batch_number",
                                 [300, 350, 400, 450, 500, 550, 600, 650, 700, 800, 900])):
        ours = {ab.setting_label(knob, v) for v in values}
        assert ours == set(ref.loc[ref["table"] == table, "setting"])


def test_bad_levels_and_knobs_are_rejected() -> None:
    with pytest.raises(ValueError, match="knob"):
        ab.setting_label("a=b", 1)
    with pytest.raises(ValueError, match="level"):
        ab.setting_label("mining", "")
    with pytest.raises(ValueError, match="level"):
        ab.setting_label("mining", [1])


# -- configs ---------------------------------------------------------------------------------------
def _effective(config: Config) -> dict:
    est = get_method(config.method).build(config.dim, 0, config.epochs, **dict(config.hyper))
    return {"estimator": type(est).__name__, **est.get_params()}


def test_default_cells_share_the_main_tables_estimator() -> None:
    """The default cell of every sweep builds exactly the main table's estimator (cache hit)."""
    main_tnn = _effective(Config("tnn_c_cca", epochs=10))
    main_ccca = _effective(Config("c_cca", epochs=10))
    margin = {c.setting: c for c in ab.margin_configs([0.1, 0.5, 1.1], epochs=10)}
    mining = {c.setting: c for c in ab.mining_configs(epochs=10)}
    variant = {(c.method, c.setting): c for c in ab.ccca_variant_configs([0.0, 0.2], epochs=10)}
    arch, _ = ab.architecture_configs(epochs=10, audio_dim=4, visual_dim=6)
    dims = {(c.method, c.setting): c for c in ab.dims_configs([10, 20], epochs=10)}
    for cell in (margin["margin=0.5"], mining["mining=batch_all"],
                 variant[("tnn_c_cca", "beta=0.2")], arch[0], dims[("tnn_c_cca", "d=10")]):
        assert _effective(cell) == main_tnn, cell.setting
    assert _effective(variant[("c_cca", "beta=0.2")]) == main_ccca
    assert _effective(mining["mining=random"]) == _effective(Config("tnn_c_cca_random",
                                                                     epochs=10))
    # and a non-default cell differs in exactly its knob
    diff = {k for k, v in _effective(margin["margin=0.1"]).items() if main_tnn[k] != v}
    assert diff == {"margin"}


def test_dims_configs_change_only_the_ccca_stage_of_the_tnn() -> None:
    cfgs = {(c.method, c.setting): c for c in ab.dims_configs([10, 30], epochs=3)}
    assert {m for m, _ in cfgs} == {"cca", "c_cca", "c_cca_rasiwasia", "c_dcca", "tnn_c_cca"}
    tnn = get_method("tnn_c_cca").build(30, 0, 3, **cfgs[("tnn_c_cca", "d=30")].hyper)
    assert isinstance(tnn, TNNCCCA)
    assert (tnn.n_components, tnn.out_dim) == (30, 10)  # [choice] output stays 10-d
    assert all(c.dim == int(s.split("=")[1]) for (_, s), c in cfgs.items())


def test_clips_per_batch_maps_the_papers_batch_number() -> None:
    bns = [300, 350, 400, 450, 500, 550, 600, 650, 700, 800, 900]
    sizes = [ab.clips_per_batch(bn) for bn in bns]
    assert sizes[0] == 75 and sizes[-1] == 25 and ab.clips_per_batch(562) == 40
    assert all(a >= b for a, b in zip(sizes, sizes[1:], strict=False))   # monotone
    assert all(abs(s * bn - ab.VEGAS_TRAIN_CLIPS) <= bn / 2 for s, bn in zip(sizes, bns,
                                                                              strict=True))
    cfgs = ab.batch_number_configs([300, 900], epochs=2)
    assert [c.hyper["batch_size"] for c in cfgs] == [75, 25]
    assert [c.setting for c in cfgs] == ["batch_number=300", "batch_number=900"]
    np.testing.assert_allclose(ab.vegas_clips_per_batch_axis(np.array([300.0, 900.0])),
                               [22483 / 300, 22483 / 900])
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="batch_number"):
            ab.clips_per_batch(bad)


def test_sweep_configs_validates() -> None:
    with pytest.raises(ValueError, match="method"):
        ab.sweep_configs("nope", "margin", [0.1], epochs=1)
    with pytest.raises(ValueError, match="distinct"):
        ab.sweep_configs("tnn_c_cca", "margin", [0.1, 0.1], epochs=1)
    with pytest.raises(ValueError, match="at least one"):
        ab.sweep_configs("tnn_c_cca", "margin", [], epochs=1)
    c = ab.sweep_configs("tnn_c_cca", "margin", [0.3], epochs=4, base_hyper={"margin": 9,
                                                                              "symmetric": True})
    assert c[0].hyper == {"margin": 0.3, "symmetric": True} and c[0].epochs == 4


def test_architecture_skips_exactly_the_cell_the_estimator_rejects() -> None:
    cfgs, skipped = ab.architecture_configs(epochs=1, audio_dim=4, visual_dim=6)
    assert [c.setting for c in cfgs] == ["order=ccca_first_separate", "order=tnn_first_separate",
                                         "order=ccca_first_shared"]
    assert len(skipped) == 1 and "tnn_first_shared" in skipped[0]
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 8)
    Xa, Xv = rng.normal(size=(24, 4)), rng.normal(size=(24, 6))
    with pytest.raises(ValueError, match="equal input widths"):
        TNNCCCA(n_components=2, order="tnn_first", shared_branch=True, epochs=1).fit(Xa, Xv, y)
    cfgs_eq, skipped_eq = ab.architecture_configs(epochs=1, audio_dim=5, visual_dim=5)
    assert len(cfgs_eq) == 4 and skipped_eq == []


def test_valid_dims_drops_d_beyond_the_narrower_view() -> None:
    ds = _toy_dataset(d_a=12, d_v=30)
    kept, dropped = ab.valid_dims([10, 12, 20], ds)
    assert kept == [10, 12] and len(dropped) == 1 and dropped[0].startswith("d=20")


# -- summaries -------------------------------------------------------------------------------------
def test_summary_equals_a_manual_groupby_and_keeps_run_order() -> None:
    out = ab.summarise_sweep(_records(TOY, TOY_TIMES))
    assert list(out.columns) == ab.SUMMARY_COLUMNS
    # run order (0.5, 0.1, 1.0), not sorted
    assert list(dict.fromkeys(out["setting"])) == ["margin=0.5", "margin=0.1", "margin=1.0"]
    for _, r in out.iterrows():
        maps = np.array(TOY[(r["method"], r["setting"], r["direction"])])
        assert r["mean"] == pytest.approx(maps.mean())
        assert r["std"] == pytest.approx(np.std(maps, ddof=1))
        assert r["n"] == 3 and r["fit_s"] == pytest.approx(2.5)
        assert (r["knob"], r["level"]) == ab.parse_setting(r["setting"])


def test_summary_rejects_records_without_map() -> None:
    with pytest.raises(ValueError, match="columns"):
        ab.summarise_sweep(pd.DataFrame({"method": []}))
    recs = _records(TOY)
    with pytest.raises(ValueError, match="no 'ndcg'"):
        ab.summarise_sweep(recs, metric="ndcg")


# -- the paper's numbers ---------------------------------------------------------------------------
def paper_reference(table: str, dataset: str) -> tuple[pd.DataFrame, str]:
    """The paper's rows of ``table`` and their label, by the one rule (paper_lib.paper)."""
    ref = reference(table, dataset)
    return ref.rows, ref.label


def test_paper_and_ours_never_share_a_column() -> None:
    summary = ab.summarise_sweep(_records(TOY, TOY_TIMES))
    paper, label = paper_reference("ablation_margin", "avdigits")
    out = ab.attach_paper(summary, paper, label)
    assert len(out) == len(summary)
    pd.testing.assert_frame_equal(out[summary.columns], summary)       # ours untouched
    for _, r in out.iterrows():
        match = paper[(paper["method"] == r["method"]) & (paper["setting"] == r["setting"])
                      & (paper["direction"] == r["direction"])]
        assert r["paper_map"] == pytest.approx(float(match["value"].iloc[0]))
        assert r["paper_dataset"] == "paper, VEGAS" and r["paper_source"]
    # a cell the paper does not have gets no paper value
    extra = _records({("tnn_c_cca", "margin=7.0", "a2v"): [0.1, 0.2]})
    out2 = ab.attach_paper(ab.summarise_sweep(extra), paper, label)
    assert out2["paper_map"].isna().all() and (out2["paper_dataset"] == "").all()
    with pytest.raises(ValueError, match="more than one"):
        ab.attach_paper(summary, pd.concat([paper, paper]), label)


def test_summary_view_labels_the_papers_columns_and_keeps_mean_std_on_one_line() -> None:
    summary = ab.summarise_sweep(_records(TOY, TOY_TIMES))
    paper, label = paper_reference("ablation_margin", "avdigits")
    table = ab.summary_view(ab.attach_paper(summary, paper, label))
    # key columns first; the method and the fits (the same for every cell) left to the caption
    assert list(table.columns) == ["setting", "MAP A→V (ours)", "MAP A→V (paper, VEGAS)",
                                   "MAP V→A (ours)", "MAP V→A (paper, VEGAS)", "d",
                                   "fit time (s)"]
    assert ab.common_fits(summary) == "3 folds × 1 seed"
    assert list(table["setting"]) == ["margin=0.5", "margin=0.1", "margin=1.0"]  # run order
    r = table[table["setting"] == "margin=0.1"].iloc[0]
    maps = np.array(TOY[("tnn_c_cca", "margin=0.1", "a2v")])
    cell = f"{maps.mean():.4f}\u00a0±\u00a0{np.std(maps, ddof=1):.4f}"
    assert r["MAP A→V (ours)"].strip("*") == cell
    assert "\n" not in "".join(table["MAP A→V (ours)"])                       # one line each
    ref = paper[(paper["setting"] == "margin=0.1") & (paper["direction"] == "a2v")]
    assert r["MAP A→V (paper, VEGAS)"] == f"{float(ref['value'].iloc[0]):.4f}"
    assert r["fit time (s)"] == pytest.approx(np.mean(TOY_TIMES[("tnn_c_cca", "margin=0.1")]))
    # the markdown table prints every row on one line per row, without an index column
    md = markdown_table(table, digits=ab.VIEW_DIGITS)
    assert len(md.splitlines()) == 2 + len(table) and md.startswith("| setting |")


def test_summary_view_sets_our_best_per_method_and_direction_in_bold() -> None:
    summary = ab.summarise_sweep(_records(TOY, TOY_TIMES))
    table = ab.summary_view(summary)
    for d, column in (("a2v", "MAP A→V (ours)"), ("v2a", "MAP V→A (ours)")):
        sub = summary[summary["direction"] == d].reset_index(drop=True)
        bold = [str(c).startswith("**") for c in table[column]]
        assert bold == list(sub["mean"] == sub["mean"].max())
    # no paper column where the paper has no value; a method with one cell has no best
    assert not [c for c in table.columns if "paper" in c]
    one = _records({("cca", "d=10", "a2v"): [0.3, 0.4], ("cca", "d=10", "v2a"): [0.3, 0.4],
                    ("c_cca", "d=10", "a2v"): [0.5, 0.6], ("c_cca", "d=10", "v2a"): [0.5, 0.6],
                    ("c_cca", "d=20", "a2v"): [0.2, 0.3], ("c_cca", "d=20", "v2a"): [0.7, 0.8]})
    s1 = ab.summarise_sweep(one)
    assert ab.best_cells(s1) == {("c_cca", "d=10", "a2v"), ("c_cca", "d=20", "v2a")}
    assert ab.best_cells(s1, across_methods=True) == {("c_cca", "d=10", "a2v"),
                                                      ("c_cca", "d=20", "v2a")}
    view = ab.summary_view(s1)
    assert list(view["method"]) == ["CCA", "C-CCA (β = 0.2)", "C-CCA (β = 0.2)"]  # display names
    assert not view.loc[view["method"] == "CCA", "MAP A→V (ours)"].iloc[0].startswith("**")
    renamed = ab.summary_view(s1, names={"c_cca": "C-CCA (β)"})
    assert list(renamed["method"]) == ["CCA", "C-CCA (β)", "C-CCA (β)"]
    assert "**C-CCA (β)**" in ab.describe_best(s1, names={"c_cca": "C-CCA (β)"})


def test_mining_cells_are_all_named_tnn_c_cca() -> None:
    recs = _records({(m, s, d): [0.4, 0.5] for m, s in (("tnn_c_cca_random", "mining=random"),
                                                       ("tnn_c_cca", "mining=batch_hard"))
                     for d in ("a2v", "v2a")})
    view = ab.summary_view(ab.summarise_sweep(recs), across_methods=True, names=ab.MINING_NAMES)
    assert "method" not in view and list(view["setting"]) == ["mining=random",
                                                              "mining=batch_hard"]


def test_summary_view_keeps_fits_when_cells_differ_and_shows_clips_per_batch() -> None:
    recs = _records({("tnn_c_cca", "batch_number=300", "a2v"): [0.5, 0.6],
                     ("tnn_c_cca", "batch_number=300", "v2a"): [0.5, 0.6],
                     ("tnn_c_cca", "batch_number=900", "a2v"): [0.4, 0.5, 0.6],
                     ("tnn_c_cca", "batch_number=900", "v2a"): [0.4, 0.5, 0.6]})
    summary = ab.with_clips_per_batch(ab.summarise_sweep(recs))
    assert ab.common_fits(summary) == ""
    view = ab.summary_view(summary)
    assert list(view.columns[:2]) == ["setting", "clips per batch"]
    assert list(view["clips per batch"]) == [ab.clips_per_batch(300), ab.clips_per_batch(900)]
    assert list(view["fits"]) == ["2 folds × 1 seed", "3 folds × 1 seed"]


def test_relabel_paper_puts_main_table_rows_on_mining_cells() -> None:
    paper, _ = paper_reference("main_comparison", "avdigits")
    out = ab.relabel_paper(paper, ab.MINING_PAPER_ROWS)
    assert set(zip(out["method"], out["setting"], strict=True)) == set(
        ab.MINING_PAPER_ROWS.values())
    old = paper[(paper["method"] == "tnn_c_cca_random") & (paper["direction"] == "v2a")]
    new = out[(out["setting"] == "mining=random") & (out["direction"] == "v2a")]
    assert float(new["value"].iloc[0]) == float(old["value"].iloc[0])
    with pytest.raises(ValueError, match="no row"):
        ab.relabel_paper(paper, {("nope", ""): ("x", "y")})


def test_best_settings_and_glue_values() -> None:
    summary = ab.summarise_sweep(_records(TOY, TOY_TIMES))
    best = ab.best_settings(summary)
    for _, b in best.iterrows():
        sub = summary[(summary["method"] == b["method"]) & (summary["direction"] == b["direction"])]
        assert b["mean"] == sub["mean"].max()
        assert b["setting"] == sub.loc[sub["mean"].idxmax(), "setting"]
    glued = ab.glue_values(summary, "ablation_margin")
    assert glued["ablation_margin_tnn_c_cca_margin_0_1_a2v"] == round(
        float(np.mean(TOY[("tnn_c_cca", "margin=0.1", "a2v")])), 4)
    assert glued["ablation_margin_tnn_c_cca_best_v2a"] == best.loc[
        best["direction"] == "v2a", "setting"].iloc[0]
    assert all(k.replace("_", "").isalnum() for k in glued)
    across = ab.glue_values(summary, "ablation_mining", across_methods=True)
    assert "ablation_mining_best_a2v" in across
    assert ab.describe_best(summary).count("\n") == len(best) - 1


# -- the rank fact behind the d ablation -------------------------------------------------------------
def _toy_dataset(n_classes: int = 4, per_class: int = 15, d_a: int = 8, d_v: int = 9,
                 seed: int = 0) -> PairedDataset:
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), per_class)
    shared = rng.normal(size=(n_classes, 3))[y] + 0.3 * rng.normal(size=(y.size, 3))
    Xa = np.hstack([shared, rng.normal(size=(y.size, d_a - 3))])
    Xv = np.hstack([shared @ rng.normal(size=(3, 3)), rng.normal(size=(y.size, d_v - 3))])
    folds = np.tile(np.arange(5), y.size // 5 + 1)[: y.size]
    return PairedDataset("toy", Xa, Xv, y, tuple(f"c{k}" for k in range(n_classes)),
                         np.array([f"clip{i}" for i in range(y.size)]), folds=folds)


def test_within_class_correlations_are_at_most_c_minus_1() -> None:
    """Rasiwasia's Σ_xy has rank <= C − 1 (dependent centred class sums): only C − 1 non-zero
    canonical correlations; the paired term of the β variant (β > 0) adds the others."""
    ds = _toy_dataset(n_classes=4, d_a=8, d_v=9)
    split = next(ds.splits([0]))
    Xa, Xv, y = ds.audio[split.train], ds.visual[split.train], ds.labels[split.train]
    result = canonical_spectrum(Xa, Xv, y, 8)
    spec = result.table
    assert result.n_nonzero == {"C-CCA, Rasiwasia": 3,                # C − 1 = 3
                                "C-CCA, β = 0.2": 8, "CCA (pairs)": 8}
    # β = 0 has the same rank bound, β = 1 is CCA on the pairs
    rho0 = ClusterCCA(n_components=8, variant="beta", beta=0.0,
                      drop_zero_correlations=False).fit(Xa, Xv, y).correlations_
    assert numerical_rank(rho0, NONZERO_RTOL) == 3
    # balanced training classes: Rasiwasia's weights n_c are constant, so it equals β = 0 on
    # the C − 1 non-zero components (what the β notebook says)
    assert np.all(np.bincount(y) == np.bincount(y)[0])
    rho_r = ClusterCCA(n_components=8, variant="rasiwasia").fit(Xa, Xv, y).correlations_
    assert rho_r.size == 3  # the estimator keeps the C − 1 non-zero directions only
    np.testing.assert_allclose(rho_r[:3], rho0[:3], rtol=1e-10)
    # independent check: numerical rank of the explicit all-within-class-pairs cross-covariance
    pairs = [(i, j) for i in range(y.size) for j in range(y.size) if y[i] == y[j]]
    ia, iv = np.array(pairs).T
    A = Xa[ia] - Xa[ia].mean(axis=0)
    V = Xv[iv] - Xv[iv].mean(axis=0)
    assert np.linalg.matrix_rank(A.T @ V / len(pairs), tol=1e-8) == 3
    np.testing.assert_allclose(
        spec[spec["estimator"] == "C-CCA, Rasiwasia"]["correlation"],
        ClusterCCA(n_components=8, variant="rasiwasia",
                   drop_zero_correlations=False).fit(Xa, Xv, y).correlations_)


def test_numerical_rank_at_the_spectrum_tolerance() -> None:
    assert numerical_rank(np.array([0.9, 0.5, 1e-9, 0.0]), NONZERO_RTOL) == 2
    assert numerical_rank(np.array([]), NONZERO_RTOL) == 0
    assert numerical_rank(np.zeros(3), NONZERO_RTOL) == 0


# -- running (cheap closed-form methods on a toy dataset) ------------------------------------------
def test_run_sweep_records_every_cell_and_fold(isolated_dirs) -> None:
    ds = _toy_dataset()
    cfgs = ab.sweep_configs("c_cca", "beta", [0.0, 1.0], epochs=1, dim=2,
                            to_hyper=lambda b: {"variant": "beta", "beta": b})
    recs = ab.run_sweep(ds, cfgs, folds=[0, 1], seed=0)
    summary = ab.summarise_sweep(recs)
    assert set(summary["setting"]) == {"beta=0.0", "beta=1.0"} and set(summary["n"]) == {2}
    again = ab.run_sweep(ds, cfgs, folds=[0, 1], seed=0)                 # from the cache
    pd.testing.assert_frame_equal(recs[recs["metric"] == "map"], again[again["metric"] == "map"])
    with pytest.raises(ValueError, match="nothing to run"):
        ab.run_sweep(ds, [], folds=[0], seed=0)


# -- figures ---------------------------------------------------------------------------------------
def test_plot_sweep_draws_ours_and_the_paper_separately() -> None:
    summary = ab.summarise_sweep(_records(TOY, TOY_TIMES))
    paper, label = paper_reference("ablation_margin", "avdigits")
    out = ab.attach_paper(summary, paper, label)
    fig = ab.plot_sweep(out, xlabel="margin",
                        secondary=("clips", ab.vegas_clips_per_batch_axis,
                                   ab.vegas_clips_per_batch_axis))
    axes = fig.axes[:2]
    assert [a.get_title() for a in axes] == [ab.DIRECTION_TITLES["a2v"], ab.DIRECTION_TITLES["v2a"]]
    for ax, d in zip(axes, ("a2v", "v2a"), strict=True):
        lines = {ln.get_label(): ln for ln in ax.get_lines()}
        ours = lines["TNN-C-CCA (batch-all) (ours)"]
        theirs = lines["TNN-C-CCA (batch-all) (paper, VEGAS)"]
        sub = out[out["direction"] == d]
        np.testing.assert_allclose(ours.get_ydata(), sub["mean"])
        np.testing.assert_allclose(theirs.get_ydata(), sub["paper_map"])
        np.testing.assert_allclose(ours.get_xdata(), [0.5, 0.1, 1.0])
    # a categorical level becomes a horizontal reference line at our mean
    ref = _records({("tnn_c_cca", "beta=0.2", "a2v"): [0.4, 0.5],
                    ("tnn_c_cca", "beta=0.2", "v2a"): [0.4, 0.5],
                    ("tnn_c_cca", "variant=rasiwasia", "a2v"): [0.3, 0.3],
                    ("tnn_c_cca", "variant=rasiwasia", "v2a"): [0.2, 0.2]})
    fig2 = ab.plot_sweep(ab.summarise_sweep(ref), xlabel="β")
    lines = {ln.get_label(): ln for ln in fig2.axes[1].get_lines()}
    np.testing.assert_allclose(lines["TNN-C-CCA (batch-all), variant=rasiwasia (ours)"]
                               .get_ydata(), [0.2, 0.2])


def _legend_texts(fig) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def _assert_readable(fig) -> None:
    """Sized for the book's text column (<= 8 in wide), every text >= 10 pt, legends outside."""
    assert fig.get_size_inches()[0] <= 8
    for ax in fig.axes:
        assert ax.get_legend() is None                       # no legend over the data
        texts = [ax.title, ax.xaxis.label, ax.yaxis.label,
                 *ax.get_xticklabels(), *ax.get_yticklabels(), *ax.texts]
        assert all(t.get_fontsize() >= 10 for t in texts if t.get_text()), ax
    for legend in fig.legends:
        assert all(t.get_fontsize() >= 10 for t in legend.get_texts())


def test_plot_bars_heights_are_our_means() -> None:
    summary = ab.summarise_sweep(_records(TOY, TOY_TIMES))
    paper, label = paper_reference("ablation_margin", "avdigits")
    fig = ab.plot_bars(ab.attach_paper(summary, paper, label))
    for ax, d in zip(fig.axes[:2], ("a2v", "v2a"), strict=True):
        heights = [p.get_height() for p in ax.patches]
        np.testing.assert_allclose(heights, summary[summary["direction"] == d]["mean"])
        assert ax.collections
        # one knob: the ticks are its levels, the knob is the axis label
        assert [t.get_text() for t in ax.get_xticklabels()] == ["0.5", "0.1", "1.0"]
        assert ax.get_xlabel() == "margin"
    assert "paper, VEGAS" in _legend_texts(fig)
    _assert_readable(fig)
    assert ab.plot_bars(summary, xlabel="α").axes[1].get_xlabel() == "α"


def test_plot_bars_groups_repeated_settings_by_method() -> None:
    recs = _records({(m, f"adversarial={on}", d): [0.1 * k + (0.05 if on else 0), 0.3]
                     for k, m in enumerate(("acmr", "ucal"), start=1) for on in (True, False)
                     for d in ("a2v", "v2a")})
    summary = ab.summarise_sweep(recs)
    fig = ab.plot_bars(summary)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["ACMR", "UCAL"]
    centres = [p.get_x() + p.get_width() / 2 for p in ax.patches]
    assert centres[0] < 0 < centres[1] < centres[2] < 1 < centres[3]      # two bars per method
    np.testing.assert_allclose([p.get_height() for p in ax.patches],
                               summary[summary["direction"] == "a2v"]["mean"])
    assert _legend_texts(fig) == ["adversarial=True", "adversarial=False"]
    _assert_readable(fig)


def test_figures_fit_the_text_column() -> None:
    summary = ab.summarise_sweep(_records(TOY, TOY_TIMES))
    paper, label = paper_reference("ablation_margin", "avdigits")
    fig = ab.plot_sweep(ab.attach_paper(summary, paper, label), xlabel="margin",
                        secondary=("clips", ab.vegas_clips_per_batch_axis,
                                   ab.vegas_clips_per_batch_axis))
    _assert_readable(fig)
    assert _legend_texts(fig) == ["TNN-C-CCA (batch-all)", "ours (band: ± std)", "paper, VEGAS"]
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["0.1", "0.5", "1.0"]
    spectrum = pd.DataFrame({"estimator": ["CCA"] * 3 + ["C-CCA"] * 3,
                             "component": [1, 2, 3] * 2,
                             "correlation": [0.9, 0.8, 0.7, 0.9, 0.5, 0.0]})
    _assert_readable(ab.plot_spectrum(spectrum, n_classes=3))


def test_batch_numbers_cut_the_papers_data_into_exactly_bn_batches() -> None:
    exact = ab.batch_number_configs([600], epochs=1, exact=True)
    assert exact[0].hyper == {"n_batches": 600} and exact[0].setting == "batch_number=600"
    mapped = ab.batch_number_configs([600], epochs=1)
    assert mapped[0].hyper == {"batch_size": ab.clips_per_batch(600)}
