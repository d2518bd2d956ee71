"""scikit-learn compatibility of every registered method, and of the one-array adapter.

Every estimator is a ``sklearn.base.BaseEstimator``: ``get_params``/``set_params`` come from the
constructor's signature, ``clone`` gives an unfitted copy, an unfitted ``transform`` raises
scikit-learn's ``NotFittedError``. ``StackedViews`` presents a two-view estimator to
``GridSearchCV`` and ``Pipeline`` as one array ``X = [X_audio | X_visual]``.

Which of scikit-learn's estimator checks run, and why the others cannot:

* **Directly, on every registered method** (they need no data): ``check_estimator_cloneable``,
  ``check_estimator_repr``, ``check_no_attributes_set_in_init``,
  ``check_parameters_default_constructible``, ``check_get_params_invariance``,
  ``check_set_params``, ``check_do_not_raise_errors_in_init_or_set_params``,
  ``check_estimator_tags_renamed``, ``check_valid_tag_types``, ``check_mixin_order``.
* **Every check that fits or transforms cannot apply directly**: they call ``fit(X, y)`` and
  ``transform(X)`` with ONE array, while a cross-modal estimator takes two views
  (``fit(X_audio, X_visual, y)``). The estimators say so (``input_tags.two_d_array = False``),
  so ``check_estimator`` skips them with a ``SkipTestWarning`` instead of failing.
* **Through ``StackedViews``, the whole ``check_estimator`` suite** runs for every clip-level
  registered method (each wrapped with ``n_features_audio=1``: the checks' data has as few as two
  columns) and passes, except
  - ``check_array_api_input``: skipped, the methods compute with NumPy and PyTorch, not through
    the array API (``array_api_support`` is False);
  - for the deep methods (float32 PyTorch networks), ``check_methods_sample_order_invariance``
    and ``check_methods_subset_invariance`` may fail and are marked expected to: a row's output
    can move by one float32 rounding (~1e-7 relative) with its position in the batch (the BLAS
    blocking), while the checks allow ~1e-9 absolute. That a row's embedding depends on no other
    row is tested here with a float32 tolerance instead.
  Not generated for the adapter, by design: the classifier, regressor, clusterer and outlier
  checks (it is a transformer, scored by cross-modal MAP, and predicts nothing), the
  ``sample_weight`` checks (no method takes sample weights), the ``get_feature_names_out`` and
  ``set_output`` checks (the embedding's columns are not named). Sparse input is refused with
  the ``TypeError`` the sparse checks ask for.
* **``lstm_c_cca``** (per-second sequences) gets only the direct checks: its ``fit`` and
  ``transform`` need per-clip ``lengths``, which scikit-learn does not carry to ``transform``
  and ``score``, and the checks' data is 2-d, so ``StackedViews`` refuses sequence methods.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sklearn.exceptions
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_checks as ec
from sklearn.utils.validation import check_is_fitted

from paper_lib.errors import UserError
from paper_lib.methods.base import NotFittedError
from paper_lib.methods.cca import CCA
from paper_lib.methods.cluster_cca import ClusterCCA
from paper_lib.methods.lstm import LSTMClusterCCA
from paper_lib.methods.registry import METHODS, get_method
from paper_lib.methods.sklearn_adapter import StackedViews
from paper_lib.metrics.cross_modal import cross_modal_map

#: small networks for the deep methods, so that every test here stays fast
TINY: dict[str, dict] = {
    "dcca": {"hidden": (4,), "out_dim": 2}, "c_dcca": {"hidden": (4,), "out_dim": 2},
    "ucal": {"hidden": (4,), "disc_hidden": (4,)}, "acmr": {"hidden": (4,)},
    "ugach": {"hidden": 4, "n_bits": 16}, "agah": {"emb_dim": 4, "hidden": 4, "n_bits": 16},
    "lstm_c_cca": {"hidden": 4}, "vm_net": {"hidden": (4,)},
    "ave_net": {"audio_channels": (4,), "visual_channels": (4,), "embedding_dim": 8,
                "batch_size": 8},
    "tnn_c_cca": {"hidden": 4, "n_hidden_layers": 1, "out_dim": 2},
    "tnn_c_cca_random": {"hidden": 4, "n_hidden_layers": 1, "out_dim": 2},
}
NAMES = list(METHODS)
MEAN_INPUT = [n for n in NAMES if METHODS[n].build(2, 0, 1).input_kind == "mean"]


def tiny(name: str, dim: int = 2):
    """A fresh estimator of a registered method: d = ``dim``, one epoch, small networks."""
    return get_method(name).build(dim, 0, 1, **TINY.get(name, {}))


def views(n: int = 48, d_audio: int = 6, d_visual: int = 5, n_classes: int = 3, seed: int = 0):
    """Class-structured paired views (C-contiguous float64) and integer labels."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    Xa = rng.normal(size=(n_classes, d_audio))[y] + rng.normal(size=(n, d_audio))
    Xv = rng.normal(size=(n_classes, d_visual))[y] + rng.normal(size=(n, d_visual))
    return Xa, Xv, y


def fit_inputs(est, Xa, Xv, y):
    """Positional and keyword inputs of fit/transform (sequences for a sequence method, small
    spectrogram- and image-like arrays for a method on raw media)."""
    if est.input_kind == "media":
        rng = np.random.default_rng(0)
        return (rng.normal(size=(y.size, 12, 8)), rng.uniform(size=(y.size, 8, 8))), {}
    if est.input_kind == "sequence":
        T = 3
        return (np.repeat(Xa[:, None, :], T, axis=1), np.repeat(Xv[:, None, :], T, axis=1)), \
            {"lengths": np.full(y.size, T)}
    return (Xa, Xv), {}


def legacy_params(est) -> dict:
    """``get_params`` as it was before BaseEstimator: public attributes not ending in ``_``. The
    experiment cache keys hash it, so it must equal scikit-learn's for every unfitted estimator."""
    return {k: v for k, v in vars(est).items() if not k.startswith("_") and not k.endswith("_")}


# -- parameters, clone, set_params ---------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_params_are_the_constructor_arguments_stored_unchanged(name):
    est = get_method(name).build(10, 0, 10)              # the runner's defaults
    params = est.get_params()
    assert params == legacy_params(est)                  # the cache keys do not change
    sentinels = {k: object() for k in params}            # each argument stored as it came
    rebuilt = type(est)(**sentinels).get_params()
    assert all(rebuilt[k] is v for k, v in sentinels.items())


@pytest.mark.parametrize("name", NAMES)
def test_clone_and_set_params_round_trip(name):
    est = get_method(name).build(3, 7, 2)
    copy = clone(est)
    assert copy is not est and type(copy) is type(est)
    assert copy.get_params() == est.get_params()
    assert clone(est).set_params(**est.get_params()).get_params() == est.get_params()
    assert copy.set_params(random_state=123) is copy and copy.random_state == 123
    assert copy.get_params() == {**est.get_params(), "random_state": 123}
    with pytest.raises(ValueError, match="Invalid parameter"):
        copy.set_params(no_such_parameter=1)


@pytest.mark.parametrize("name", NAMES)
def test_clone_of_a_fitted_estimator_is_unfitted(name):
    Xa, Xv, y = views(n=24)
    est = tiny(name)
    (A, V), kw = fit_inputs(est, Xa, Xv, y)
    with pytest.raises(sklearn.exceptions.NotFittedError):
        check_is_fitted(est)
    est.fit(A, V, y, **kw)
    check_is_fitted(est)
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    with pytest.raises(sklearn.exceptions.NotFittedError):
        check_is_fitted(copy)
    with pytest.raises(NotFittedError, match="not fitted"):
        copy.transform(A, V, **kw)
    with pytest.raises(NotFittedError):
        copy.transform_view(V, "visual", **kw)
    assert est.transform(A, V, **kw)[0] is not None      # the original stays fitted


def test_not_fitted_error_is_scikit_learns_and_still_a_runtime_error():
    assert issubclass(NotFittedError, sklearn.exceptions.NotFittedError)
    assert issubclass(NotFittedError, RuntimeError)      # what it was before: old handlers work
    Xa, Xv, _ = views()
    for error in (sklearn.exceptions.NotFittedError, RuntimeError, ValueError, AttributeError):
        with pytest.raises(error):
            CCA(n_components=2).transform(Xa, Xv)


def test_repr_names_the_parameters_that_differ_from_their_defaults():
    assert repr(ClusterCCA(n_components=3, variant="beta")) == \
        "ClusterCCA(n_components=3, variant='beta')"
    assert repr(CCA()) == "CCA()"


def test_views_are_data_not_routed_metadata():
    assert CCA().get_metadata_routing().fit.requests == {}
    assert not hasattr(CCA(), "set_fit_request")


# -- scikit-learn's estimator checks -------------------------------------------------------------
DIRECT_CHECKS = [
    ec.check_estimator_cloneable, ec.check_estimator_repr, ec.check_no_attributes_set_in_init,
    ec.check_parameters_default_constructible, ec.check_get_params_invariance,
    ec.check_set_params, ec.check_do_not_raise_errors_in_init_or_set_params,
    ec.check_estimator_tags_renamed, ec.check_valid_tag_types, ec.check_mixin_order,
]


@pytest.mark.parametrize("name", NAMES)
def test_scikit_learn_api_checks_pass_on_the_two_view_estimator(name):
    est = tiny(name)
    for check in DIRECT_CHECKS:
        check(type(est).__name__, est)
    # the data checks cannot call fit(X, y) on two views: check_estimator skips them, openly
    with pytest.warns(sklearn.exceptions.SkipTestWarning, match="requires input"):
        results = ec.check_estimator(est, on_fail=None)
    assert [r["check_name"] for r in results] == ["check_estimator_cloneable"]


#: checks a float32 network can fail by one rounding (see the module docstring)
FLOAT32_ROUNDING = {
    check: "float32 network: a row's output may move by one rounding with its batch position"
    for check in ("check_methods_sample_order_invariance", "check_methods_subset_invariance")}


def is_deep(est) -> bool:
    return "epochs" in est.get_params()


@pytest.mark.parametrize("name", MEAN_INPUT)
def test_scikit_learn_estimator_checks_pass_through_the_adapter(name):
    est = tiny(name, dim=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                   # the checks' own convergence noise
        results = ec.check_estimator(StackedViews(est, n_features_audio=1), on_fail="raise",
                                     on_skip=None,
                                     expected_failed_checks=FLOAT32_ROUNDING if is_deep(est)
                                     else None)
    ran = {r["check_name"] for r in results if r["status"] == "passed"}
    assert {"check_transformer_general", "check_fit_idempotent", "check_estimators_pickle",
            "check_methods_subset_invariance", "check_n_features_in_after_fitting"} <= ran
    assert {r["check_name"] for r in results if r["status"] == "skipped"} <= \
        {"check_array_api_input"}


@pytest.mark.parametrize("name", [n for n in MEAN_INPUT if is_deep(tiny(n))])
def test_deep_embeddings_depend_on_no_other_row_up_to_float32_rounding(name):
    Xa, Xv, y = views()
    X = np.hstack([Xa, Xv])
    model = StackedViews(tiny(name), n_features_audio=Xa.shape[1]).fit(X, y)
    Z = model.transform(X)
    order = np.random.default_rng(1).permutation(y.size)
    np.testing.assert_allclose(model.transform(X[order]), Z[order], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.transform(X[:7]), Z[:7], rtol=1e-5, atol=1e-6)


# -- the adapter ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["cca", "c_cca", "kcca", "tnn_c_cca", "ugach"])
def test_adapter_gives_the_two_view_embeddings_bit_for_bit(name):
    Xa, Xv, y = views()
    direct = tiny(name).fit(Xa, Xv, y)
    Za, Zv = direct.transform(Xa, Xv)
    adapter = StackedViews(tiny(name), n_features_audio=Xa.shape[1]).fit(np.hstack([Xa, Xv]), y)
    assert np.array_equal(adapter.transform(np.hstack([Xa, Xv])), np.hstack([Za, Zv]))
    metric = direct.retrieval_metric or "cosine"          # Hamming for UGACH's codes
    maps = cross_modal_map(Za, Zv, y, metric)
    X = np.hstack([Xa, Xv])
    assert adapter.score(X, y) == pytest.approx(np.mean([maps["a2v"], maps["v2a"]]), abs=1e-15)
    assert adapter.set_params(direction="v2a").score(X, y) == maps["v2a"]
    assert adapter.estimator.__sklearn_is_fitted__() is False   # fit fitted a clone


def test_grid_search_tunes_cluster_cca_by_cross_modal_map():
    Xa, Xv, y = views(n=60, n_classes=4, seed=3)
    X = np.hstack([Xa, Xv])
    grid = {"estimator__beta": [0.0, 0.5, 1.0], "estimator__reg": [1e-4, 10.0]}
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(StackedViews(ClusterCCA(n_components=2, variant="beta"),
                                       n_features_audio=Xa.shape[1]), grid, cv=cv).fit(X, y)
    # the same folds by hand: fit on the training rows, MAP of the test rows, both directions
    expected = []
    for params in search.cv_results_["params"]:
        fold_maps = []
        for train, test in cv.split(X, y):
            est = ClusterCCA(n_components=2, variant="beta", beta=params["estimator__beta"],
                             reg=params["estimator__reg"]).fit(Xa[train], Xv[train], y[train])
            maps = cross_modal_map(*est.transform(Xa[test], Xv[test]), y[test])
            fold_maps.append((maps["a2v"] + maps["v2a"]) / 2)
        expected.append(np.mean(fold_maps))
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], expected, rtol=1e-12)
    assert np.ptp(expected) > 0.01                        # the grid matters on this data
    assert search.best_params_ == search.cv_results_["params"][int(np.argmax(expected))]
    best = search.best_estimator_.estimator_
    assert (best.beta, best.reg) == (search.best_params_["estimator__beta"],
                                     search.best_params_["estimator__reg"])


def test_pipeline_scales_each_view_then_embeds():
    Xa, Xv, y = views()
    pipe = make_pipeline(StandardScaler(), StackedViews(CCA(n_components=2), n_features_audio=6))
    Z = pipe.fit(np.hstack([Xa, Xv]), y).transform(np.hstack([Xa, Xv]))
    Sa, Sv = StandardScaler().fit_transform(Xa), StandardScaler().fit_transform(Xv)
    np.testing.assert_allclose(Z, np.hstack(CCA(n_components=2).fit(Sa, Sv).transform(Sa, Sv)),
                               rtol=1e-10, atol=1e-12)
    assert 0.0 <= pipe.score(np.hstack([Xa, Xv]), y) <= 1.0


def test_adapter_accepts_any_class_labels():
    Xa, Xv, y = views()
    X = np.hstack([Xa, Xv])
    model = StackedViews(ClusterCCA(n_components=2), n_features_audio=6)
    by_ids = clone(model).fit(X, y)
    for labels in (np.array(["ant", "bee", "cat"])[y], y.astype(float), y + 10):
        # sorted like y: the same class ids, so the same numbers
        assert np.array_equal(clone(model).fit(X, labels).transform(X), by_ids.transform(X))
        assert by_ids.score(X, labels) == by_ids.score(X, y)
    with pytest.raises(ValueError, match="Unknown label type"):
        clone(model).fit(X, y + 0.5)


def test_adapter_errors_name_the_argument():
    Xa, Xv, y = views()
    X = np.hstack([Xa, Xv])
    with pytest.raises(UserError, match="n_features_audio=11 leaves no visual column"):
        StackedViews(CCA(n_components=2), n_features_audio=11).fit(X, y)
    with pytest.raises(UserError, match="n_features_audio must be a positive integer"):
        StackedViews(CCA(n_components=2), n_features_audio=0).fit(X, y)
    with pytest.raises(UserError, match="estimator must be a CrossModalEstimator"):
        StackedViews(StandardScaler(), n_features_audio=6).fit(X, y)
    with pytest.raises(UserError, match="sequences"):
        StackedViews(LSTMClusterCCA(), n_features_audio=6).fit(X, y)
    with pytest.raises(UserError, match="requires y"):
        StackedViews(ClusterCCA(n_components=2), n_features_audio=6).fit(X)
    with pytest.raises(UserError, match="direction must be one of"):
        StackedViews(CCA(n_components=2), n_features_audio=6, direction="both").fit(X, y)
    fitted = StackedViews(CCA(n_components=2), n_features_audio=6).fit(X, y)
    with pytest.raises(ValueError, match="X has 10 features, but StackedViews is expecting 11"):
        fitted.transform(X[:, 1:])
    with pytest.raises(UserError, match="score needs the class labels"):
        fitted.score(X, None)
    with pytest.raises(NotFittedError):
        StackedViews(CCA(n_components=2), n_features_audio=6).transform(X)
