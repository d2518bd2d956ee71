"""Chapter 21 (``paper_lib.report.teach_cluster_cca``) and the canonical spectrum
(``paper_lib.report.spectrum``): the nuisance toy really fools CCA and not Cluster-CCA, and
each computation equals an independent one (explicit pairs, scikit-learn, a direct fit, the
experiment runner)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from paper_lib.methods.registry import get_method
from paper_lib.metrics.retrieval import mean_average_precision
from paper_lib.report import teach_cluster_cca as T
from paper_lib.report.spectrum import ESTIMATORS, NONZERO_RTOL, canonical_spectrum


@pytest.fixture(scope="module")
def nuisance_toy():
    world = T.make_nuisance_world(seed=0)
    return world, T.sample_views(world, 100, seed=1), T.sample_views(world, 100, seed=2)


def test_cca_follows_the_nuisance_and_cluster_cca_the_classes(nuisance_toy):
    _, train, test = nuisance_toy
    fits, diag, maps = T.compare_cca_and_ccca(train, test, n_components=2)
    first = diag[diag.component == 1].set_index("method")
    ras = T.RASIWASIA_NAME
    assert ras == "C-CCA (Rasiwasia)"
    assert first.loc["CCA", "nuisance_r"] > 0.9 and first.loc["CCA", "class_eta"] < 0.3
    assert first.loc[ras, "class_eta"] > 0.8 and first.loc[ras, "nuisance_r"] < 0.3
    m = maps.set_index(["method", "direction"])["map"]
    for d in ("a2v", "v2a"):
        assert m[ras, d] > m["CCA", d] + 0.3
    # the table is the cosine MAP of the fitted model's test embeddings
    S = fits[1].Z_audio @ fits[1].Z_visual.T / np.outer(
        np.linalg.norm(fits[1].Z_audio, axis=1), np.linalg.norm(fits[1].Z_visual, axis=1))
    assert m[ras, "a2v"] == pytest.approx(mean_average_precision(S, test.labels, test.labels))


def test_nuisance_r_and_class_eta_equal_independent_computations():
    rng = np.random.default_rng(4)
    U = rng.normal(size=(50, 2))
    y = rng.integers(0, 3, 50)
    z = U @ [1.0, -0.5] + y + rng.normal(size=50)
    r2 = LinearRegression().fit(U, z).score(U, z)
    assert T.nuisance_r(z, U) == pytest.approx(np.sqrt(r2), abs=1e-12)
    assert T.nuisance_r(z, U[:, :1]) == pytest.approx(abs(np.corrcoef(z, U[:, 0])[0, 1]))
    total = ((z - z.mean()) ** 2).sum()
    between = sum((y == c).sum() * (z[y == c].mean() - z.mean()) ** 2 for c in range(3))
    assert T.class_eta(z, y) == pytest.approx(np.sqrt(between / total), abs=1e-12)


def test_class_sum_cross_covariance_equals_the_explicit_pairs_and_has_rank_c_minus_1():
    rng = np.random.default_rng(5)
    for sizes in ([4, 4, 4], [3, 7, 2, 5]):          # balanced and unbalanced classes
        y = np.repeat(np.arange(len(sizes)), sizes)
        Xa, Xv = rng.normal(size=(y.size, 6)), rng.normal(size=(y.size, 7))
        C = T.cluster_cross_covariance(Xa, Xv, y)
        np.testing.assert_allclose(C, T.explicit_pair_cross_covariance(Xa, Xv, y), atol=1e-12)
        assert T.within_class_pairs(y) == sum(n * n for n in sizes)
        assert T.matrix_rank(C) == len(sizes) - 1
        assert T.matrix_rank(C) == np.linalg.matrix_rank(C, tol=T.RANK_RTOL * np.linalg.norm(C, 2))
    with pytest.raises(ValueError, match="max_pairs"):
        T.explicit_pair_cross_covariance(Xa, Xv, y, max_pairs=10)


def test_rasiwasia_correlations_vanish_beyond_c_minus_1(nuisance_toy):
    _, train, _ = nuisance_toy
    spec = canonical_spectrum(train.audio, train.visual, train.labels, d=5)
    table = spec.table
    assert list(table.columns) == ["estimator", "component", "correlation"]
    assert list(dict.fromkeys(table.estimator)) == list(ESTIMATORS)
    ras = table[table.estimator == "C-CCA, Rasiwasia"].correlation.to_numpy()
    assert (ras[:2] > 0.5).all() and np.abs(ras[2:]).max() < 1e-6
    beta = table[table.estimator == "C-CCA, β = 0.2"].correlation.to_numpy()
    assert beta[2] > 1e-3      # the paired term of the β variant lifts the rank limit
    # the count of non-zero correlations: C − 1 = 2 for Rasiwasia, all 5 for the others
    assert spec.n_nonzero == {"CCA (pairs)": 5, "C-CCA, β = 0.2": 5, "C-CCA, Rasiwasia": 2}
    assert spec.n_nonzero["C-CCA, Rasiwasia"] == int(np.sum(ras > NONZERO_RTOL * ras.max()))


def test_spectrum_equals_direct_fits_of_the_registry_estimators(nuisance_toy):
    _, train, _ = nuisance_toy
    spec = canonical_spectrum(train.audio, train.visual, train.labels, d=4)
    for name, method in ESTIMATORS.items():
        direct = get_method(method).build(4, 0, 1).fit(train.audio, train.visual, train.labels)
        rho = spec.table[spec.table.estimator == name].correlation.to_numpy()
        # the registry's estimator drops the numerically-zero directions; the spectrum keeps
        # them (to show them): the kept ones are the same
        k = direct.n_components_
        assert k == spec.n_nonzero[name]
        np.testing.assert_allclose(rho[:k], direct.correlations_, atol=1e-12)
        np.testing.assert_allclose(spec.models[name].weights_audio_[:, :k],
                                   direct.weights_audio_, atol=1e-12)
        assert spec.table[spec.table.estimator == name].component.tolist() == [1, 2, 3, 4]


def test_leading_components_equal_a_smaller_fit_and_the_experiment_runner():
    from paper_lib.data.dataset import PairedDataset
    from paper_lib.experiment import evaluate_split

    world = T.make_nuisance_world(n_classes=4, n_features=8, seed=3)
    views = T.sample_views(world, 30, seed=4)
    ds = PairedDataset(name="toy", audio=views.audio, visual=views.visual, labels=views.labels,
                       class_names=tuple("abcd"), clip_ids=np.array([f"c{i}" for i in range(120)]),
                       folds=np.arange(120) % 3)
    split = next(ds.splits([0]))
    Xa, Xv, y = ds.audio[split.train], ds.visual[split.train], ds.labels[split.train]
    models = canonical_spectrum(Xa, Xv, y, d=6).models
    table = T.leading_components_map(models, ds.audio[split.test], ds.visual[split.test],
                                     ds.labels[split.test], d=3)
    ours = table.set_index(["method", "direction"])["map"]
    small = canonical_spectrum(Xa, Xv, y, d=3).models
    for name, method in ESTIMATORS.items():
        np.testing.assert_allclose(models[name].weights_audio_[:, :3], small[name].weights_audio_,
                                   atol=1e-10)
        res = evaluate_split(ds, method, split, dim=3)
        for d in ("a2v", "v2a"):
            assert ours[T.display_name(name), d] == pytest.approx(res.metrics[d]["map"],
                                                                  abs=1e-10)


def test_beta_one_is_plain_cca_on_the_toy(nuisance_toy):
    _, train, test = nuisance_toy
    sweep = T.beta_sweep(train, test, [0.0, 1.0], n_components=2)
    _, _, maps = T.compare_cca_and_ccca(train, test, n_components=2)
    cca = maps[maps.method == "CCA"].set_index("direction")["map"]
    assert sweep.a2v.iloc[1] == pytest.approx(cca["a2v"], abs=1e-9)
    assert sweep.nuisance_r.iloc[1] > 0.9 and sweep.class_eta.iloc[0] > 0.8


def test_simplex_vertices_are_equidistant_and_centred():
    V = T.simplex_vertices(4, 2.0)
    assert V.shape == (4, 3)
    np.testing.assert_allclose(V.sum(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(V, axis=1), 2.0)
    d = np.linalg.norm(V[:, None] - V[None], axis=-1)[np.triu_indices(4, 1)]
    np.testing.assert_allclose(d, d[0])


# -- what the chapter shows: readable tables and figures ------------------------------------------
def test_chapter_figures_fit_the_text_column(nuisance_toy):
    import matplotlib.pyplot as plt

    from paper_lib.report._teaching_common import figure_problems

    _, train, test = nuisance_toy
    fits, diag, _ = T.compare_cca_and_ccca(train, test, n_components=2)
    sweep = T.beta_sweep(train, test, [0.0, 0.2, 1.0], n_components=2)
    sv = T.singular_values(T.cluster_cross_covariance(train.audio, train.visual, train.labels))
    spectrum = canonical_spectrum(train.audio, train.visual, train.labels, d=4).table
    for fig in (T.plot_toy_embeddings(fits, test), T.plot_component_diagnostics(diag),
                T.plot_beta_sweep(sweep), T.plot_rank_limit(sv, 3, spectrum, 3, "toy")):
        assert figure_problems(fig) == []
        plt.close(fig)


def test_tables_for_reading(nuisance_toy):
    from paper_lib.report.tables import MISSING, markdown_table

    _, train, test = nuisance_toy
    _, diag, maps = T.compare_cca_and_ccca(train, test, n_components=2)
    dv = T.diagnostics_view(diag)
    assert list(dv.columns) == ["method", "component", "nuisance φ", "class η"]
    mv = T.map_view(maps)
    assert list(mv.columns) == ["method", T.MAP_A2V, T.MAP_V2A]
    assert mv.method.tolist() == ["CCA", "C-CCA (Rasiwasia)"]      # the table's order
    m = maps.set_index(["method", "direction"])["map"]
    assert mv[T.MAP_V2A].tolist() == [m["CCA", "v2a"], m["C-CCA (Rasiwasia)", "v2a"]]
    sweep = T.beta_sweep(train, test, [0.0, 1.0], n_components=2)
    sv = T.beta_sweep_view(sweep)
    assert list(sv.columns)[:3] == ["β", T.MAP_A2V, T.MAP_V2A]
    assert set(T.BETA_SWEEP_DIGITS) <= set(sv.columns)
    spectrum = canonical_spectrum(train.audio, train.visual, train.labels, d=4).table
    wide = T.spectrum_view(spectrum)
    # the estimators by their display names, in the spectrum's order
    assert list(wide.columns) == ["component", "CCA", "C-CCA (β = 0.2)", "C-CCA (Rasiwasia)"]
    assert wide.component.tolist() == [1, 2, 3, 4]
    assert "-0.0000" not in markdown_table(wide, digits=4)
    ras = "C-CCA, Rasiwasia"
    assert T.spectrum_at(spectrum, T.RASIWASIA_NAME, 2) == T.spectrum_at(spectrum, ras, 2)
    assert T.spectrum_at(spectrum, ras, 2) == pytest.approx(wide[T.display_name(ras)].iloc[1],
                                                            abs=1e-4)
    with pytest.raises(KeyError):
        T.spectrum_at(spectrum, ras, 99)
    counts = T.pair_counts({"small": np.array([0, 0, 1]), "big": np.repeat([0, 1], 5)},
                           {"small": 1.5e-16})
    assert counts.within_class_pairs.tolist() == [5, 50]
    cv = T.pair_counts_view(counts)
    assert cv.iloc[0, -1] == "1.5e-16" and cv.iloc[1, -1] == MISSING


# -- one display name per Cluster-CCA variant, everywhere in the chapter --------------------------
#: "C-CCA" not followed by one of the two variant qualifiers, and not part of a longer name
#: (TNN-C-CCA, lstm_C-CCA)
BARE_CCCA = r"(?<![\w-])C-CCA(?! \((?:Rasiwasia|β = 0\.2)\))"


def _figure_texts(fig) -> list[str]:
    from matplotlib.text import Text

    fig.canvas.draw()
    return [t.get_text() for t in fig.findobj(Text) if t.get_text().strip()]


def test_variant_labels_are_display_names_everywhere(nuisance_toy):
    import re
    from pathlib import Path

    import matplotlib.pyplot as plt

    assert (T.CCA_NAME, T.RASIWASIA_NAME, T.BETA_NAME) == (
        "CCA", "C-CCA (Rasiwasia)", "C-CCA (β = 0.2)")
    _, train, test = nuisance_toy
    fits, diag, maps = T.compare_cca_and_ccca(train, test, n_components=2)
    spec = canonical_spectrum(train.audio, train.visual, train.labels, d=4)
    fold = T.leading_components_map(spec.models, test.audio, test.visual, test.labels, d=2)
    assert fold.method.tolist()[::2] == ["CCA", "C-CCA (β = 0.2)", "C-CCA (Rasiwasia)"]
    texts = [*T.map_view(maps).method, *T.diagnostics_view(diag).method,
             *T.map_view(fold).method, *T.spectrum_view(spec.table).columns]
    sv = T.singular_values(T.cluster_cross_covariance(train.audio, train.visual, train.labels))
    for fig in (T.plot_toy_embeddings(fits, test), T.plot_component_diagnostics(diag),
                T.plot_rank_limit(sv, 3, spec.table, 3, "toy")):
        texts += _figure_texts(fig)
        plt.close(fig)
    assert "C-CCA (Rasiwasia)" in texts and "C-CCA (β = 0.2)" in texts
    assert [t for t in texts if re.search(BARE_CCCA, t)] == []
    # the notebook's prose and captions: no bare "C-CCA", no retired symbol names
    source = (Path(__file__).parents[1] / "notebooks" / "21_teach_cluster_cca.py").read_text()
    source = re.sub(r"[ \t]*\n#[ \t]*", " ", source)      # markdown lines joined, as rendered
    assert re.findall(BARE_CCCA, source) == []
    for retired in ("nuisance R", r"\kappa", r"\mu_", "Sigma_{xy}^{\\text", "$d$ ="):
        assert retired not in source, retired


def test_the_toy_follows_its_knobs():
    import matplotlib.pyplot as plt

    from paper_lib.errors import ParamError
    from paper_lib.experiment.knobs import known_knobs
    from paper_lib.report._teaching_common import figure_problems

    # the knobs' defaults are the toy's: the chapter's default run is the toy of the tests above
    world, train, test = T.make_toy(
        n_classes=T.CCCA_N_CLASSES.default, nuisance_scale=T.CCCA_NUISANCE_SCALE.default,
        class_scale=T.CCCA_CLASS_SCALE.default, n_per_class=T.CCCA_N_PER_CLASS.default, seed=0)
    default = T.make_nuisance_world(seed=0)
    np.testing.assert_array_equal(world.mixing_x, default.mixing_x)
    np.testing.assert_array_equal(train.audio, T.sample_views(default, 100, seed=1).audio)
    for knob in (T.CCCA_N_CLASSES, T.CCCA_NUISANCE_SCALE, T.CCCA_CLASS_SCALE,
                 T.CCCA_N_PER_CLASS):
        assert knob.name.startswith("ccca_") and known_knobs()[knob.name] is knob
        assert knob.resolve("quick") == knob.resolve("full") == knob.default
    with pytest.raises(ParamError, match="ccca_n_classes"):
        T.CCCA_N_CLASSES.resolve("quick", 2)
    with pytest.raises(ParamError, match="ccca_nuisance_scale"):
        T.CCCA_NUISANCE_SCALE.resolve("quick", -1)
    # five classes: wider views, C − 1 = 4 components, the rank limit moves, figures still fit
    world, train, test = T.make_toy(n_classes=5, nuisance_scale=1.0, class_scale=2.5,
                                    n_per_class=20, seed=0)
    assert train.audio.shape == (100, 6) and world.n_classes == 5
    sigma = T.cluster_cross_covariance(train.audio, train.visual, train.labels)
    assert T.matrix_rank(sigma) == 4
    fits, diag, _ = T.compare_cca_and_ccca(train, test, n_components=4)
    assert diag.component.max() == 4
    for fig in (T.plot_toy_embeddings(fits, test), T.plot_component_diagnostics(diag)):
        assert figure_problems(fig) == []
        plt.close(fig)
    wide = T.make_nuisance_world(n_classes=8, seed=0)       # d_h + C − 1 = 9 latent factors
    assert wide.mixing_x.shape == (9, 9)
