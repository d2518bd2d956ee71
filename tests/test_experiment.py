"""The experiment runner keeps the protocol: no test-fold row reaches fit, fresh estimators per
fold, per-view test embeddings, one metrics module, tidy records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paper_lib.data.dataset import PairedDataset
from paper_lib.data.folds import make_folds
from paper_lib.experiment import RECORD_COLUMNS, cross_validate, evaluate_split, summarise
from paper_lib.methods.base import CrossModalEstimator
from paper_lib.methods.cca import CCA
from paper_lib.metrics.retrieval import mean_average_precision
from paper_lib.metrics.similarity import similarity


def _toy(n_per_class: int = 12, n_classes: int = 3, seed: int = 0) -> PairedDataset:
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), n_per_class)
    centres_a, centres_v = rng.normal(size=(n_classes, 6)), rng.normal(size=(n_classes, 9))
    audio = centres_a[y] + 0.5 * rng.normal(size=(y.size, 6))
    visual = centres_v[y] + 0.5 * rng.normal(size=(y.size, 9))
    return PairedDataset(name="toy", audio=audio, visual=visual, labels=y,
                         class_names=tuple(f"c{k}" for k in range(n_classes)),
                         clip_ids=np.array([f"clip{i:03d}" for i in range(y.size)]),
                         folds=make_folds(y, 4, seed=0), source="test")


class SpyCCA(CrossModalEstimator):
    """Records every row it is fitted on and every row it transforms, view by view."""

    instances: list[SpyCCA] = []

    def __init__(self) -> None:
        self.inner = CCA(n_components=2)
        self.fit_rows: list[bytes] = []
        self.transform_calls: list[tuple[bool, bool]] = []
        SpyCCA.instances.append(self)

    def fit(self, X_audio, X_visual, y=None, **kw):
        assert not hasattr(self, "fitted_"), "an estimator was reused across folds"
        self.fit_rows = [r.tobytes() for r in np.asarray(X_audio)]
        self.inner.fit(X_audio, X_visual, y)
        self.fitted_ = True
        return self

    def transform(self, X_audio=None, X_visual=None, **kw):
        self.transform_calls.append((X_audio is not None, X_visual is not None))
        return self.inner.transform(X_audio, X_visual)


def test_no_test_fold_row_reaches_fit_and_views_are_embedded_separately():
    ds = _toy()
    for split in ds.splits():
        spy = SpyCCA()
        evaluate_split(ds, spy, split)
        test_rows = {r.tobytes() for r in ds.audio[split.test]}
        assert len(spy.fit_rows) == split.train.size
        assert not test_rows & set(spy.fit_rows)
        # each view embedded on its own: never both views in one transform call
        assert spy.transform_calls == [(True, False), (False, True)]


def test_metrics_come_from_the_metrics_module_on_the_whole_test_fold():
    ds = _toy()
    split = next(ds.splits([1]))
    res = evaluate_split(ds, "cca", split, dim=2)
    est = CCA(n_components=2).fit(ds.audio[split.train], ds.visual[split.train])
    Za, Zv = est.transform(ds.audio[split.test], ds.visual[split.test])
    S = similarity(Za, Zv)
    y = ds.labels[split.test]
    assert res.Z_audio.shape[0] == split.test.size  # no partial batch dropped
    assert res.metrics["a2v"]["map"] == pytest.approx(mean_average_precision(S, y, y), abs=1e-12)
    assert res.metrics["v2a"]["map"] == pytest.approx(mean_average_precision(S.T, y, y), abs=1e-12)


def test_cross_validate_gives_tidy_records_and_summary():
    ds = _toy()
    df = cross_validate(ds, ["cca", "kcca"], seeds=[0, 1], dim=2,
                        hyper={"kcca": {"approx": "nystrom", "n_landmarks": 20}})
    assert list(df.columns) == RECORD_COLUMNS
    maps = df[df.metric == "map"]
    assert set(maps.direction) == {"a2v", "v2a"} and set(maps.fold) == {0, 1, 2, 3}
    # a closed-form method ignores the seed: one fit per split, not one per seed (identical
    # fits would shrink the std and inflate paired tests); Nystroem KCCA draws its landmarks
    assert set(maps[maps.method == "cca"].seed) == {0}
    assert set(maps[maps.method == "kcca"].seed) == {0, 1}
    assert len(maps) == (4 * 1 + 4 * 2) * 2  # (folds x seeds) per method x directions
    assert {"p@10", "wall_time_s", "peak_rss_mb"} <= set(df.metric)
    summary = summarise(df)
    for method, n in (("cca", 4), ("kcca", 8)):
        row = summary[(summary.method == method) & (summary.direction == "a2v")].iloc[0]
        vals = maps[(maps.method == method) & (maps.direction == "a2v")].value
        assert row["mean"] == pytest.approx(vals.mean()) and row["std"] == pytest.approx(vals.std())
        assert row["n"] == n


def test_fresh_estimator_every_fold():
    SpyCCA.instances.clear()
    ds = _toy()
    for split in ds.splits():
        evaluate_split(ds, SpyCCA(), split)
    assert len({id(s) for s in SpyCCA.instances}) == 4


def test_unknown_method_fails_before_training():
    with pytest.raises(ValueError, match="method: unknown method 'nope'; allowed: cca"):
        cross_validate(_toy(), ["cca", "nope"])


def test_records_are_a_dataframe_of_floats():
    df = cross_validate(_toy(), ["cca"], folds=[0], dim=2)
    assert isinstance(df, pd.DataFrame) and df["value"].dtype == float


def test_cached_splits_equal_fresh_ones_and_keys_follow_the_inputs(isolated_dirs):
    from paper_lib.experiment import Config, run_configs
    from paper_lib.experiment.cache import cache_root

    ds = _toy()
    df1, res1 = run_configs(ds, [Config("cca", dim=2)], folds=[0], cache=True)
    assert len(list(cache_root().glob("*.npz"))) == 1
    df2, res2 = run_configs(ds, [Config("cca", dim=2)], folds=[0], cache=True)
    assert res2[0].estimator is None  # read back, not refitted
    np.testing.assert_array_equal(res1[0].Z_audio, res2[0].Z_audio)
    pd.testing.assert_series_equal(df1["value"], df2["value"])
    run_configs(ds, [Config("cca", dim=2, hyper={"reg": 1e-2})], folds=[0], cache=True)
    run_configs(ds, [Config("cca", dim=2)], folds=[1], cache=True)
    assert len(list(cache_root().glob("*.npz"))) == 3
    # a default given explicitly is the same experiment
    _, res3 = run_configs(ds, [Config("cca", dim=2, hyper={"reg": 1e-4})], folds=[0], cache=True)
    assert res3[0].estimator is None and len(list(cache_root().glob("*.npz"))) == 3


class KeepsTwo(CCA):
    """A CCA that reports keeping 2 directions whatever was asked (as a Cluster-CCA would when
    the other correlations are numerically zero)."""

    def _fit(self, X_audio, X_visual, y, **kwargs):
        super()._fit(X_audio, X_visual, y, **kwargs)
        self.n_components_ = 2


def test_the_effective_d_is_recorded_cached_and_labelled(isolated_dirs, monkeypatch):
    from paper_lib.experiment import Config, dim_label, records, run_configs
    from paper_lib.methods import registry

    ds = _toy()
    res = evaluate_split(ds, KeepsTwo(n_components=4), next(ds.splits([0])), dim=4)
    assert res.effective_dim == 2
    rows = pd.DataFrame(records(res, "toy", 4))
    assert rows[rows["metric"] == "effective_dim"]["value"].tolist() == [2.0]
    assert dim_label(rows) == "2 of 4"
    monkeypatch.setattr(registry, "METHODS", dict(registry.METHODS))
    registry.register_method(registry.MethodSpec(
        "keeps_two", "keeps two", "toy", lambda dim, seed, epochs, **hp: KeepsTwo(dim, **hp)))
    fresh, _ = run_configs(ds, [Config("keeps_two", dim=4)], folds=[0], cache=True)
    cached, results = run_configs(ds, [Config("keeps_two", dim=4)], folds=[0], cache=True)
    assert results[0].estimator is None and results[0].effective_dim == 2  # read back
    assert dim_label(cached) == dim_label(fresh) == "2 of 4"
    plain, _ = run_configs(ds, [Config("cca", dim=2)], folds=[0])
    assert dim_label(plain) == "2"


class SignCCA(CCA):
    """A toy hashing method: the signs of CCA directions, ranked as binary codes."""

    def _transform_view(self, X, view, **kwargs):
        return np.where(super()._transform_view(X, view, **kwargs) >= 0, 1.0, -1.0)

    @property
    def retrieval_metric(self):
        return "hamming"


def test_a_hashing_method_is_ranked_by_hamming_and_the_cache_keeps_that(isolated_dirs,
                                                                        monkeypatch):
    from paper_lib.experiment import Config, run_configs
    from paper_lib.methods import registry

    ds = _toy()
    split = next(ds.splits([0]))
    res = evaluate_split(ds, SignCCA(n_components=3), split, dim=3, metric="cosine")
    assert res.metric == "hamming"                       # the codes' own metric, not the run's
    S = similarity(res.Z_audio, res.Z_visual, "hamming")
    np.testing.assert_array_equal(res.scores("a2v"), S)
    assert res.metrics["a2v"]["map"] == pytest.approx(
        mean_average_precision(S, res.labels, res.labels), abs=1e-12)
    monkeypatch.setattr(registry, "METHODS", dict(registry.METHODS))
    registry.register_method(registry.MethodSpec(
        "sign_cca", "sign CCA", "toy", lambda dim, seed, epochs, **hp: SignCCA(dim, **hp)))
    run_configs(ds, [Config("sign_cca", dim=3)], folds=[0], cache=True)
    _, results = run_configs(ds, [Config("sign_cca", dim=3)], folds=[0], cache=True)
    assert results[0].estimator is None and results[0].metric == "hamming"  # read back
    np.testing.assert_array_equal(results[0].scores("v2a"), S.T)
    from paper_lib.experiment import dim_label, ranking_label, records

    rows = pd.DataFrame(records(res, "toy", 3))
    assert rows[rows["metric"] == "code_bits"]["value"].tolist() == [3.0]
    assert "effective_dim" not in set(rows["metric"])
    assert (dim_label(rows), ranking_label(rows)) == ("3 bits", "Hamming")


def _spied(build, fit_rows):
    """Wrap a registry builder so every estimator it builds records the rows it is fitted on."""
    def spy_build(dim, seed, epochs, **hp):
        est = build(dim, seed, epochs, **hp)
        inner_fit = est.fit

        def fit(X_audio, X_visual, y=None, **kw):
            fit_rows.extend(r.tobytes() for r in np.asarray(X_audio).reshape(len(X_audio), -1))
            return inner_fit(X_audio, X_visual, y, **kw)

        est.fit = fit
        return est
    return spy_build


@pytest.mark.parametrize("method", ["ugach", "ucal", "acmr", "agah", "tnn_c_cca", "c_dcca",
                                    "vm_net"])
def test_no_test_fold_row_reaches_the_fit_of_a_registered_method(method, monkeypatch):
    from dataclasses import replace

    from paper_lib.methods import registry

    ds = _toy(n_per_class=16)
    monkeypatch.setattr(registry, "METHODS", dict(registry.METHODS))
    fit_rows: list[bytes] = []
    spec = registry.METHODS[method]
    registry.register_method(replace(spec, build=_spied(spec.build, fit_rows)), replace=True)
    split = next(ds.splits([1]))
    res = evaluate_split(ds, method, split, dim=2, epochs=1)
    assert len(fit_rows) == split.train.size
    assert not {r.tobytes() for r in ds.audio[split.test]} & set(fit_rows)
    assert res.Z_audio.shape[0] == split.test.size         # the whole test fold is embedded


def test_no_test_fold_clip_reaches_the_fit_of_a_method_on_raw_media(monkeypatch):
    """AVE-Net learns from the raw media (log-mel spectrograms, images): the runner passes it the
    training clips' media only, and embeds the whole test fold from the media of each view."""
    from dataclasses import replace

    from paper_lib.methods import registry

    base = _toy(n_per_class=16)
    rng = np.random.default_rng(1)
    n = base.n_clips
    media = {"waveforms": (rng.normal(size=(n, 16_000)) * 3000).astype(np.int16),
             "waveform_lengths": np.full(n, 16_000), "sample_rate": 16_000,
             "images": rng.integers(0, 256, size=(n, 28, 28)).astype(np.uint8)}
    ds = replace(base, media=media)
    monkeypatch.setattr(registry, "METHODS", dict(registry.METHODS))
    fit_rows: list[bytes] = []
    spec = registry.METHODS["ave_net"]
    registry.register_method(replace(spec, build=_spied(spec.build, fit_rows)), replace=True)
    split = next(ds.splits([1]))
    res = evaluate_split(ds, "ave_net", split, epochs=1,
                         hyper={"audio_channels": (4,), "visual_channels": (4,),
                                "embedding_dim": 8, "batch_size": 8})
    from paper_lib.data.media import media_views

    audio, _ = media_views(ds)
    assert len(fit_rows) == split.train.size
    assert not {audio[i].tobytes() for i in split.test} & set(fit_rows)
    assert res.Z_audio.shape == (split.test.size, 8)
