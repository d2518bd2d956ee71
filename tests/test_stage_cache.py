"""The in-process memo of fitted Cluster-CCA stages (paper_lib.methods._stage_cache)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from paper_lib.data.registry import load_dataset
from paper_lib.experiment import evaluate_split
from paper_lib.methods import _stage_cache as stage_cache
from paper_lib.methods.cluster_cca import ClusterCCA, make_cluster_cca


@pytest.fixture(autouse=True)
def empty_memo() -> Iterator[None]:
    stage_cache.clear()
    yield
    stage_cache.clear()


@pytest.fixture
def fit_count(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts ClusterCCA fits (a spy around ``ClusterCCA._fit``)."""
    calls: list[int] = []
    real_fit = ClusterCCA._fit

    def spy(self, *args, **kwargs):
        calls.append(1)
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(ClusterCCA, "_fit", spy)
    return calls


def labelled_views(seed: int = 0, n: int = 120) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 4
    Xa = rng.normal(size=(4, 7))[y] + rng.normal(size=(n, 7))
    Xv = rng.normal(size=(4, 5))[y] + rng.normal(size=(n, 5))
    return Xa, Xv, y


def stage(random_state: int | None = 0, beta: float = 0.2) -> ClusterCCA:
    return make_cluster_cca(3, "beta", beta, 1e-4, random_state)


def test_a_margin_sweep_fits_the_stage_once_and_gives_the_same_results(fit_count) -> None:
    ds = load_dataset("synthetic", n_classes=3, n_per_class=20, d_audio=8, d_visual=12,
                      max_seconds=3, use_cache=False)
    split = next(ds.splits([0]))

    def sweep() -> list:
        return [evaluate_split(ds, "tnn_c_cca", split, dim=2, epochs=1, hyper={"margin": m})
                for m in (0.3, 0.5, 0.7)]

    cached = sweep()
    assert len(fit_count) == 1                       # one stage fit for the three settings
    with stage_cache.disabled():
        fresh = sweep()
    assert len(fit_count) == 1 + 3                   # disabled: one fit per setting
    for a, b in zip(cached, fresh, strict=True):
        assert np.array_equal(a.Z_audio, b.Z_audio) and np.array_equal(a.Z_visual, b.Z_visual)
        assert a.metrics == b.metrics
        for name in ("weights_audio_", "weights_visual_", "correlations_", "mean_audio_"):
            assert np.array_equal(getattr(a.estimator.ccca_, name),
                                  getattr(b.estimator.ccca_, name))


def test_a_hit_copies_the_fitted_state_into_the_callers_estimator(fit_count) -> None:
    Xa, Xv, y = labelled_views()
    first = stage_cache.fit_cached(stage(), Xa, Xv, y)
    second = stage_cache.fit_cached(stage(random_state=7), Xa.copy(), Xv.copy(), y.copy())
    assert len(fit_count) == 1                       # closed form: random_state is not in the key
    assert second.random_state == 7                  # the caller's own hyper-parameters
    assert second is not first and second.weights_audio_ is not first.weights_audio_
    np.testing.assert_array_equal(second.weights_audio_, first.weights_audio_)
    # a caller changing its copy changes nobody else's
    second.weights_audio_[:] = 0.0
    third = stage_cache.fit_cached(stage(), Xa, Xv, y)
    np.testing.assert_array_equal(third.weights_audio_, first.weights_audio_)
    assert len(fit_count) == 1


def test_other_data_or_hyperparameters_fit_again(fit_count) -> None:
    Xa, Xv, y = labelled_views()
    stage_cache.fit_cached(stage(), Xa, Xv, y)
    changed = Xv.copy()
    changed[5, 2] = np.nextafter(changed[5, 2], np.inf)          # one value, one ulp
    stage_cache.fit_cached(stage(), Xa, changed, y)
    stage_cache.fit_cached(stage(), Xa, Xv, np.where(y == 3, 2, y))
    stage_cache.fit_cached(stage(beta=0.3), Xa, Xv, y)
    stage_cache.fit_cached(stage(), Xa[:60], Xv[:60], y[:60])
    assert len(fit_count) == 5
    stage_cache.fit_cached(stage(), Xa, Xv, y)
    assert len(fit_count) == 5


def test_the_memo_is_bounded_least_recently_used_first(fit_count) -> None:
    views = [labelled_views(seed) for seed in range(stage_cache.MAX_ENTRIES + 1)]
    for Xa, Xv, y in views:
        stage_cache.fit_cached(stage(), Xa, Xv, y)
    assert stage_cache.size() == stage_cache.MAX_ENTRIES
    stage_cache.fit_cached(stage(), *views[-1])                  # the newest: a hit
    assert len(fit_count) == stage_cache.MAX_ENTRIES + 1
    stage_cache.fit_cached(stage(), *views[0])                   # the oldest was dropped
    assert len(fit_count) == stage_cache.MAX_ENTRIES + 2


def test_clear_and_disabled(fit_count) -> None:
    Xa, Xv, y = labelled_views()
    stage_cache.fit_cached(stage(), Xa, Xv, y)
    with stage_cache.disabled():
        stage_cache.fit_cached(stage(), Xa, Xv, y)
        assert stage_cache.size() == 1                           # neither read nor filled
    stage_cache.clear()
    assert stage_cache.size() == 0
    stage_cache.fit_cached(stage(), Xa, Xv, y)
    assert len(fit_count) == 3


def test_a_bad_hyperparameter_raises_as_in_a_fit() -> None:
    Xa, Xv, y = labelled_views()
    with pytest.raises(ValueError, match="beta"):
        stage_cache.fit_cached(stage(beta=1.5), Xa, Xv, y)
    assert stage_cache.size() == 0
