"""The synthetic VEGAS-shaped dataset and the dataset cache."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.cluster import KMeans

from paper_lib.data import cache, synthetic
from paper_lib.data.dataset import DataError, PairedDataset
from paper_lib.data.synthetic import make_synthetic


@pytest.fixture(autouse=True)
def tmp_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PAPER_LIB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def small() -> PairedDataset:
    return make_synthetic(seed=3, n_per_class=30, d_visual=256, use_cache=False)


def arrays_equal(a: PairedDataset, b: PairedDataset) -> bool:
    """Every array identical, dtypes included (independent of PairedDataset.checksum)."""
    left, right = cache.dataset_to_arrays(a), cache.dataset_to_arrays(b)
    return left.keys() == right.keys() and all(
        left[k].dtype == right[k].dtype and np.array_equal(left[k], right[k]) for k in left)


def nearest_class_mean_accuracy(ds: PairedDataset, view: str) -> float:
    """Held-out accuracy of the nearest class mean on standardised raw features, over all folds."""
    X = getattr(ds, view)
    correct = 0
    for split in ds.splits():
        mu, sd = X[split.train].mean(0), X[split.train].std(0) + 1e-12
        Z = (X - mu) / sd
        means = np.stack([Z[split.train][ds.labels[split.train] == c].mean(0)
                          for c in range(ds.n_classes)])
        d2 = ((Z[split.test][:, None, :] - means[None]) ** 2).sum(-1)
        correct += int((d2.argmin(1) == ds.labels[split.test]).sum())
    return correct / ds.n_clips


# --- shapes, padding, names --------------------------------------------------------------------
def test_default_shapes_dtypes_and_speed() -> None:
    start = time.perf_counter()
    ds = make_synthetic(use_cache=False)
    elapsed = time.perf_counter() - start
    assert elapsed < 10.0
    assert (ds.n_clips, ds.n_classes, ds.n_folds) == (2000, 10, 5)
    assert ds.audio.shape == (2000, 128) and ds.visual.shape == (2000, 1024)
    assert ds.audio_seq.shape == (2000, 10, 128) and ds.visual_seq.shape == (2000, 10, 1024)
    assert ds.audio_seq.dtype == np.float32 and ds.audio.dtype == np.float64
    assert ds.seq_len.min() == 3 and ds.seq_len.max() == 10          # clips of 3..10 s
    assert ds.class_names == tuple(f"class_{c:02d}" for c in range(10))
    assert np.array_equal(ds.class_counts(), np.full(10, 200))


def test_padding_is_zero_and_clip_is_mean_over_valid_seconds(small: PairedDataset) -> None:
    for i in range(small.n_clips):
        n = small.seq_len[i]
        for seq, clip in ((small.audio_seq, small.audio), (small.visual_seq, small.visual)):
            assert not seq[i, n:].any()
            assert np.all(np.abs(seq[i, :n]).sum(axis=1) > 0)      # valid seconds carry signal
            np.testing.assert_allclose(clip[i], seq[i, :n].astype(np.float64).mean(0), rtol=1e-12,
                                       atol=1e-12)


def test_clip_ids_and_labels(small: PairedDataset) -> None:
    for cid, y in zip(small.clip_ids, small.labels, strict=True):
        assert re.fullmatch(rf"{small.class_names[y]}_\d{{5}}", str(cid))


def test_unequal_class_sizes_and_fold_balance() -> None:
    sizes = [23, 40, 57, 11]
    ds = make_synthetic(seed=1, class_sizes=sizes, d_visual=64, max_seconds=4, use_cache=False)
    assert np.array_equal(ds.class_counts(), sizes)
    assert ds.audio_seq.shape[1] == 4 and ds.seq_len.min() == 3
    for c, n_c in enumerate(sizes):
        per_fold = np.bincount(ds.folds[ds.labels == c], minlength=5)
        assert np.all(np.abs(per_fold - n_c / 5) < 1.0)             # within one of the ideal


def test_short_max_seconds_is_allowed() -> None:
    ds = make_synthetic(n_per_class=10, n_classes=3, d_visual=32, max_seconds=1, use_cache=False)
    assert np.all(ds.seq_len == 1)


# --- determinism and the cache ---------------------------------------------------------------
def test_same_seed_identical_different_seed_different(small: PairedDataset) -> None:
    again = make_synthetic(seed=3, n_per_class=30, d_visual=256, use_cache=False)
    assert arrays_equal(small, again) and small.checksum() == again.checksum()
    other = make_synthetic(seed=4, n_per_class=30, d_visual=256, use_cache=False)
    assert small.checksum() != other.checksum()
    assert not np.allclose(small.audio, other.audio)


def test_cache_round_trip_equals_regeneration(tmp_cache: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    kwargs = {"seed": 5, "n_per_class": 12, "d_visual": 96, "difficulty": 0.3}
    built = make_synthetic(**kwargs)
    files = list((tmp_cache / "datasets").glob("synthetic-*.npz"))
    assert len(files) == 1
    meta = cache.read_meta(files[0])
    assert meta["params"]["seed"] == 5 and meta["params"]["difficulty"] == 0.3
    assert meta["checksum"] == built.checksum()

    # the second call must read the file, not rebuild
    def fail(*args: object, **kw: object) -> None:
        raise AssertionError("rebuilt instead of loading the cache")

    monkeypatch.setattr(synthetic, "build_synthetic", fail)
    loaded = make_synthetic(**kwargs)
    monkeypatch.undo()
    monkeypatch.setenv("PAPER_LIB_CACHE", str(tmp_cache))
    regenerated = make_synthetic(**kwargs, use_cache=False)
    assert arrays_equal(loaded, regenerated)
    assert loaded.class_names == regenerated.class_names and loaded.source == regenerated.source
    # other parameters -> another file
    make_synthetic(**{**kwargs, "difficulty": 0.4})
    assert len(list((tmp_cache / "datasets").glob("synthetic-*.npz"))) == 2


def test_corrupt_cache_is_rebuilt_and_reported_once(tmp_cache: Path, caplog) -> None:
    kwargs = {"seed": 6, "n_per_class": 5, "d_visual": 16, "max_seconds": 3}
    first = make_synthetic(**kwargs)
    (path,) = (tmp_cache / "datasets").glob("synthetic-*.npz")
    path.write_bytes(b"not a zip file")
    with caplog.at_level("WARNING", logger="paper_lib.cache"):
        again = make_synthetic(**kwargs)
    (record,) = caplog.records
    assert str(path) in record.getMessage() and "not a readable dataset cache" in \
        record.getMessage()
    assert arrays_equal(first, again)
    assert arrays_equal(cache.load_npz(path), first)               # rewritten whole


def test_cache_rejects_unsafe_names_and_params() -> None:
    with pytest.raises(ValueError, match="generator_name"):
        cache.cache_path("../evil", {}, "v")
    with pytest.raises(ValueError, match="params"):
        cache.canonical_params({"x": object()})
    assert cache.cache_key({"a": 1, "b": [1, 2]}, "v") == cache.cache_key({"b": (1, 2), "a": 1}, "v")
    assert cache.cache_key({"a": 1}, "v1") != cache.cache_key({"a": 1}, "v2")


# --- the generative model ---------------------------------------------------------------------
def test_difficulty_lowers_class_separability_monotonically() -> None:
    acc = {view: [] for view in ("audio", "visual")}
    for delta in (0.0, 0.5, 1.0):
        ds = make_synthetic(seed=0, n_per_class=60, max_seconds=5, difficulty=delta,
                            use_cache=False)
        for view in acc:
            acc[view].append(nearest_class_mean_accuracy(ds, view))
    for view, values in acc.items():
        assert values[0] > values[1] > values[2], (view, values)
        assert values[0] > 0.85 and values[2] < 0.7, (view, values)
        assert values[2] > 0.15, (view, values)                     # still above chance (0.1)


def test_classes_have_sub_clusters() -> None:
    """Three modes per class: three k-means centres per class classify far better than one mean."""
    ds = make_synthetic(seed=0, n_per_class=60, max_seconds=5, d_visual=256, difficulty=0.25,
                        use_cache=False)
    for view in ("audio", "visual"):
        X = getattr(ds, view)
        one_mean = nearest_class_mean_accuracy(ds, view)
        correct = 0
        for split in ds.splits():
            mu, sd = X[split.train].mean(0), X[split.train].std(0)
            Z, y = (X - mu) / sd, ds.labels
            centres = np.concatenate([
                KMeans(3, n_init=3, random_state=0).fit(Z[split.train][y[split.train] == c])
                .cluster_centers_ for c in range(ds.n_classes)])              # (3C, d)
            owner = np.repeat(np.arange(ds.n_classes), 3)
            d2 = ((Z[split.test][:, None, :] - centres[None]) ** 2).sum(-1)
            correct += int((owner[d2.argmin(1)] == y[split.test]).sum())
        three_means = correct / ds.n_clips
        assert three_means > one_mean + 0.05, (view, three_means, one_mean)


def test_the_views_share_only_the_latent() -> None:
    """Audio and visual of the same clip are related beyond the class: within a class, the
    clip-level audio predicts the partner's visual better than a random same-class visual."""
    ds = make_synthetic(seed=2, n_per_class=100, n_classes=3, d_visual=64, difficulty=0.0,
                        use_cache=False)
    A = (ds.audio - ds.audio.mean(0)) / ds.audio.std(0)
    V = (ds.visual - ds.visual.mean(0)) / ds.visual.std(0)
    coef, *_ = np.linalg.lstsq(A, V, rcond=None)                    # linear map audio -> visual
    err_pair = ((A @ coef - V) ** 2).sum(1)
    rng = np.random.default_rng(0)
    shuffled = np.concatenate([rng.permutation(np.flatnonzero(ds.labels == c)) for c in range(3)])
    order = np.concatenate([np.flatnonzero(ds.labels == c) for c in range(3)])
    err_same_class = ((A[order] @ coef - V[shuffled]) ** 2).sum(1)
    assert err_pair.mean() < 0.8 * err_same_class.mean()


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="difficulty"):
        make_synthetic(difficulty=1.5, use_cache=False)
    with pytest.raises(ValueError, match="d_visual"):
        make_synthetic(d_visual=0, use_cache=False)
    with pytest.raises(ValueError, match="n_classes"):
        make_synthetic(n_classes=3, class_sizes=[10, 10], use_cache=False)
    with pytest.raises(ValueError, match="n_classes must be at least 2"):
        make_synthetic(n_classes=1, use_cache=False)
    with pytest.raises(DataError, match="fewer than"):
        make_synthetic(class_sizes=[10, 3], d_visual=8, use_cache=False)
