"""Feature study: derived features are what they claim, fitted transforms never see test rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA

from paper_lib.data.dataset import PairedDataset
from paper_lib.experiment import Config
from paper_lib.paper import load_reported
from paper_lib.report import feature_study as fs


def _toy(name: str = "toy", n_per_class: int = 8, n_classes: int = 3, sequences: bool = False,
         audio_dim: int = 6, visual_dim: int = 16) -> PairedDataset:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    n = labels.size
    seq = {}
    if sequences:
        seq_len = rng.integers(1, 6, n)
        valid = np.arange(5)[None, :] < seq_len[:, None]
        a_seq = rng.normal(size=(n, 5, audio_dim)) * valid[:, :, None]
        v_seq = rng.normal(size=(n, 5, visual_dim)) * valid[:, :, None]
        seq = {"audio_seq": a_seq, "visual_seq": v_seq, "seq_len": seq_len}
        audio, visual = a_seq.sum(1) / seq_len[:, None], v_seq.sum(1) / seq_len[:, None]
    else:
        audio = rng.normal(size=(n, audio_dim)) + labels[:, None]
        visual = rng.normal(size=(n, visual_dim)) + labels[:, None]
    return PairedDataset(name=name, audio=audio, visual=visual, labels=labels,
                         class_names=tuple(f"c{c}" for c in range(n_classes)),
                         clip_ids=np.array([f"id{i:03d}" for i in range(n)]),
                         folds=np.arange(n) % 3, **seq)


# --- the derived features -----------------------------------------------------------------------
def test_pool_images_equals_a_naive_loop():
    rng = np.random.default_rng(1)
    pixels = rng.random((3, 36))
    got = fs.pool_images(pixels, side=6)
    for n in range(3):
        img = pixels[n].reshape(6, 6)
        naive = [[img[2 * i:2 * i + 2, 2 * j:2 * j + 2].mean() for j in range(3)] for i in range(3)]
        np.testing.assert_allclose(got[n], np.ravel(naive))
    with pytest.raises(ValueError, match="pixels"):
        fs.pool_images(pixels, side=5)


def test_first_half_mean_equals_a_naive_loop():
    ds = _toy(sequences=True)
    got = fs.first_half_mean(ds.audio_seq, ds.seq_len)
    for i in range(ds.n_clips):
        half = int(np.ceil(ds.seq_len[i] / 2))
        np.testing.assert_allclose(got[i], ds.audio_seq[i, :half].mean(axis=0))


def test_avdigits_variants_slice_the_documented_layout():
    ds = _toy(name="avdigits", audio_dim=8, visual_dim=16)
    audio = {v.key: v for v in fs.audio_variants(ds)}
    visual = {v.key: v for v in fs.visual_variants(ds)}
    assert audio[fs.AS_BUILT].feature is ds.audio
    np.testing.assert_array_equal(audio["logmel_mean"].feature, ds.audio[:, :4])  # band means
    np.testing.assert_array_equal(visual["pooled_14x14"].feature, fs.pool_images(ds.visual, 4))
    assert isinstance(visual[f"pca{fs.PCA_COMPONENTS}"].feature, fs.TrainFitted)
    pairs = fs.feature_variants(ds)
    assert len(pairs) == len(audio) * len(visual)
    assert fs.setting(fs.AS_BUILT, fs.AS_BUILT) in pairs


def test_generic_variants_use_sequences_when_present():
    ds = _toy(sequences=True)
    audio = {v.key: v for v in fs.audio_variants(ds)}
    np.testing.assert_allclose(audio["first_half"].feature,
                               fs.first_half_mean(ds.audio_seq, ds.seq_len))
    assert [v.key for v in fs.visual_variants(ds)] == [fs.AS_BUILT, f"pca{fs.PCA_COMPONENTS}"]
    assert len(fs.feature_variants(ds)) == 4                       # the paper's 2 x 2 design
    no_seq = _toy()
    assert [v.key for v in fs.audio_variants(no_seq)] == [fs.AS_BUILT]
    assert [v.key for v in fs.visual_variants(no_seq)] == [fs.AS_BUILT,
                                                            f"pca{fs.PCA_COMPONENTS}"]


# --- fitted transforms see training rows only -----------------------------------------------------
class _SpyTransform:
    """Column 0 of the base holds the row index: record which rows ``fit`` sees."""

    seen: list[np.ndarray] = []

    def fit(self, X: np.ndarray) -> _SpyTransform:
        _SpyTransform.seen.append(np.sort(X[:, 0].astype(int)))
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return X[:, 1:]


def test_the_per_split_transform_never_sees_a_test_row(isolated_dirs):
    ds = _toy()
    base = np.column_stack([np.arange(ds.n_clips), ds.visual])     # row id | real features
    _SpyTransform.seen = []
    variants = {fs.setting(fs.AS_BUILT, "spy"): (ds.audio, fs.TrainFitted(base, _SpyTransform))}
    records = fs.run_feature_study(ds, variants, Config("cca", dim=2), folds=[0, 1, 2])
    splits = list(ds.splits([0, 1, 2]))
    assert len(_SpyTransform.seen) == len(splits)                  # one fit per split
    for seen, split in zip(_SpyTransform.seen, splits, strict=True):
        np.testing.assert_array_equal(seen, np.sort(split.train))
        assert not np.intersect1d(seen, split.test).size
    assert set(records["fold"]) == {0, 1, 2}
    assert set(records["setting"]) == set(variants)


def test_train_fitted_pca_equals_sklearn_fitted_on_the_training_rows_only():
    ds = _toy(visual_dim=12)
    split = next(ds.splits([1]))
    feature = fs.TrainFitted(ds.visual, fs.pca(3))
    got = fs.split_dataset(ds, ds.audio, feature, split).visual
    expected = PCA(n_components=3).fit(ds.visual[split.train]).transform(ds.visual)
    leaky = PCA(n_components=3).fit(ds.visual).transform(ds.visual)
    signs = np.sign(np.sum(got * expected, axis=0))                 # PCA signs are arbitrary
    np.testing.assert_allclose(got * signs, expected, atol=1e-10)
    assert not np.allclose(np.abs(got), np.abs(leaky), atol=1e-3)


def test_split_dataset_reuses_the_built_dataset_and_copies_otherwise():
    ds = _toy()
    split = next(ds.splits([0]))
    assert fs.split_dataset(ds, ds.audio, ds.visual, split) is ds
    sub = fs.split_dataset(ds, ds.audio[:, :2], ds.visual, split)
    np.testing.assert_array_equal(sub.audio, ds.audio[:, :2])
    np.testing.assert_array_equal(sub.labels, ds.labels)
    np.testing.assert_array_equal(sub.folds, ds.folds)
    assert sub.checksum() != ds.checksum()                          # its own cache entries


# --- tables -------------------------------------------------------------------------------------
def test_summary_equals_a_manual_groupby():
    rng = np.random.default_rng(2)
    rows = [{"dataset": "toy", "method": "c_dcca", "setting": fs.setting(a, v), "fold": f,
             "seed": 0, "dim": 10, "direction": d, "metric": m, "value": rng.random()}
            for a in ("as_built", "x") for v in ("as_built", "y", "z") for f in range(3)
            for d in ("a2v", "v2a") for m in ("map", "p@5")]
    records = pd.DataFrame(rows)
    labels = {"audio": {"as_built": "A0", "x": "A1"}, "visual": {"as_built": "V0"}}
    summary = fs.summarise_study(records, labels)
    manual = (records[records.metric == "map"].groupby(["setting", "direction"])["value"]
              .agg(["mean", lambda s: s.std(ddof=1)]))
    for r in summary.itertuples():
        a = {"A0": "as_built", "A1": "x"}[r.audio_features]
        v = {"V0": "as_built"}.get(r.visual_features, r.visual_features)
        mean, std = manual.loc[(fs.setting(a, v), r.direction)]
        assert r.mean == pytest.approx(mean) and r.std == pytest.approx(std) and r.n == 3
    assert len(summary) == 2 * 3 * 2


def test_paper_table_is_the_manifest_and_never_shares_a_column_with_ours():
    paper = fs.paper_table()
    rep = load_reported("vegas")
    rep = rep[rep.table == "forum_feature_study"]
    assert sorted(paper["value"]) == sorted(rep["value"])
    vgg_inc = paper[(paper.audio_features == "VGGish") & (paper.visual_features == "Inception V3")]
    assert dict(zip(vgg_inc.direction, vgg_inc.value, strict=True)) == pytest.approx(
        {"a2v": 0.7034, "v2a": 0.6927})
    view = fs.paper_view(paper)
    assert list(view.columns) == ["audio features", "visual features", "MAP A→V", "MAP V→A"]
    row = view[(view["audio features"] == "VGGish") & (view["visual features"] == "Inception V3")]
    assert (row["MAP A→V"].item(), row["MAP V→A"].item()) == pytest.approx((0.7034, 0.6927))


def test_study_view_reads_mean_std_on_one_line_with_the_best_in_bold():
    summary = pd.DataFrame({
        "audio_features": ["a1", "a1", "a1", "a1"], "visual_features": ["v1", "v1", "v2", "v2"],
        "direction": ["a2v", "v2a", "a2v", "v2a"], "mean": [0.5, 0.25, 0.4, 0.3],
        "std": [0.01, 0.02, 0.03, 0.04], "n": [3, 3, 3, 3]})
    view = fs.study_view(summary)
    assert list(view.columns) == ["audio features", "visual features", "MAP A→V", "MAP V→A"]
    assert list(view["visual features"]) == ["v1", "v2"]             # the study's order
    assert view["MAP A→V"].tolist() == ["**0.5000\u00a0±\u00a00.0100**", "0.4000\u00a0±\u00a00.0300"]
    assert view["MAP V→A"].tolist() == ["0.2500\u00a0±\u00a00.0200", "**0.3000\u00a0±\u00a00.0400**"]
    assert not any("\n" in c for c in view["MAP A→V"])
    labels = {"audio": {"as_built": "A0"}, "visual": {"as_built": "V0", "pca50": "V1"}}
    assert fs.features_view(labels).to_dict("list") == {"view": ["audio", "visual", "visual"],
                                                        "features": ["A0", "V0", "V1"]}


def test_study_figure_fits_the_page():
    summary = pd.DataFrame({
        "audio_features": ["a1"] * 4 + ["a2"] * 4,
        "visual_features": ["v1", "v1", "v2", "v2"] * 2,
        "direction": ["a2v", "v2a"] * 4, "mean": np.linspace(0.2, 0.6, 8)})
    fig = fs.plot_study(summary)
    assert fig.get_size_inches()[0] <= 8.0
    for ax in fig.axes[:2]:
        assert min(t.get_fontsize() for t in ax.get_xticklabels()) >= 10


def test_parse_setting_round_trips_and_rejects_garbage():
    assert fs.parse_setting(fs.setting("a_b", "pca50")) == ("a_b", "pca50")
    with pytest.raises(ValueError, match="audio=<key>"):
        fs.parse_setting("features=vggish_i3d")
