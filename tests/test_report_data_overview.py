"""The dataset overview's reader views: classes in their natural order (0…9, never alphabetical),
one column per fold, readable headers; its figures fit the page's text column. How avdigits is
made: the rendering table reads the generator, the pairing study splits Σ_xy into its between-
and within-class parts, and the front-end recomputed from its definition matches the library
and the stored features."""

from __future__ import annotations

import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from paper_lib.data import avdigits
from paper_lib.data.avdigits import make_avdigits
from paper_lib.data.registry import load_dataset
from paper_lib.errors import ParamError
from paper_lib.extract.logmel import clip_level, log_mel, pool_per_second
from paper_lib.report import data_overview as ov

#: digit names: their alphabetical order (eight, five, four, ...) is not their natural one
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@pytest.fixture(scope="module")
def ds():
    return load_dataset("synthetic", n_per_class=6, d_audio=16, d_visual=24, use_cache=False)


def _folds(names=DIGITS, n_folds=3) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame([{"part": f"fold{k}", "class_name": n, "clips": int(rng.integers(1, 9))}
                         for k in range(n_folds) for n in names])


def test_fold_view_keeps_the_classes_natural_order_and_the_folds_order():
    folds = _folds()
    view = ov.fold_view(folds, DIGITS)
    assert list(view["name"]) == list(DIGITS)            # zero … nine, not eight, five, four …
    assert list(view["class"]) == list(range(10))
    assert list(view.columns) == ["class", "name", "fold0", "fold1", "fold2", "total"]
    for _, row in view.iterrows():
        mine = folds[folds["class_name"] == row["name"]].set_index("part")["clips"]
        assert [row[f"fold{k}"] for k in range(3)] == list(mine)
        assert row["total"] == mine.sum()
    shuffled = folds.sample(frac=1.0, random_state=1)    # the classes' order is the names' order
    assert list(ov.fold_view(shuffled, DIGITS)["name"]) == list(DIGITS)
    with pytest.raises(ValueError, match="not in class_names"):
        ov.fold_view(folds, DIGITS[:5])


def test_fold_view_of_a_dataset_matches_its_fold_table(ds):
    view = ov.fold_view(ov.fold_table(ds), ds.class_names)
    assert list(view["name"]) == list(ds.class_names)
    assert list(view.columns[2:-1]) == [f"fold{k}" for k in range(ds.n_folds)]
    assert list(view["total"]) == list(ds.class_counts())


def test_class_counts_and_feature_stats_views(ds):
    counts = ov.class_counts(ds)
    view = ov.class_counts_view(counts)
    assert list(view.columns) == ["class", "name", "clips", "share (%)"]
    assert list(view["class"]) == list(range(ds.n_classes))
    assert view["share (%)"].sum() == pytest.approx(100.0)
    stats = ov.feature_stats_view(ov.feature_stats(ds))
    assert list(stats.columns[:3]) == ["features", "clips", "dimensions"]
    assert not any("_" in c for c in stats.columns)
    assert list(stats["features"][:2]) == ["audio", "visual"]


def test_figures_fit_the_text_column(ds):
    for fig in (ov.plot_class_counts(ds), ov.plot_feature_means(ds)):
        assert fig.get_figwidth() <= 8
        for ax in fig.axes[:1]:
            assert all(t.get_fontsize() >= 10 for t in ax.get_yticklabels())
        plt.close(fig)
    means = ov.plot_feature_means(ds)
    labels = [t.get_text() for t in means.axes[0].get_yticklabels()]
    assert labels == list(ds.class_names)                # natural order, top to bottom
    plt.close(means)
    assert ov.plot_examples(ds, ov.example_rows(ds)[:3]) is None  # no media: no figure


def test_plot_examples_titles_each_image_with_class_and_clip(ds):
    rows = ov.example_rows(ds)[:3]
    with_images = dataclasses.replace(ds, media={"images": np.zeros((ds.n_clips, 4, 4))})
    fig = ov.plot_examples(with_images, rows)
    assert fig is not None and len(fig.axes) == 3 and fig.get_figwidth() <= 8
    for ax, row in zip(fig.axes, rows, strict=True):
        assert ds.clip_ids[row] in ax.get_title()
        assert ds.class_names[ds.labels[row]] in ax.get_title()
        assert ax.title.get_fontsize() >= 10
    plt.close(fig)


# --- how a pair is formed ---------------------------------------------------------------------
def _views(rng: np.random.Generator, counts=(7, 12, 5, 9), d_a=6, d_v=8, instance=0.0):
    """Class-structured views; ``instance`` > 0 adds a latent shared by x_i and y_i only."""
    labels = np.repeat(np.arange(len(counts)), counts)
    n = labels.size
    shared = rng.normal(size=(n, 2))
    X = rng.normal(size=(len(counts), d_a))[labels] + rng.normal(size=(n, d_a))
    Y = rng.normal(size=(len(counts), d_v))[labels] + rng.normal(size=(n, d_v))
    X[:, :2] += instance * shared
    Y[:, :2] += instance * shared
    return X, Y, labels


def test_cross_covariance_parts_add_up_to_the_paired_cross_covariance():
    X, Y, labels = _views(np.random.default_rng(0))
    sigma, between, within = ov.cross_covariance_parts(X, Y, labels)
    d_a = X.shape[1]
    joint = np.cov(np.hstack([X, Y]), rowvar=False, bias=True)       # a second library path
    np.testing.assert_allclose(sigma, joint[:d_a, d_a:], atol=1e-12)
    np.testing.assert_allclose(between + within, sigma, atol=1e-12)
    # brute force over the clips: every clip contributes its class means' outer product
    x_bar, y_bar = X.mean(0), Y.mean(0)
    brute = np.zeros_like(sigma)
    for c in labels:
        brute += np.outer(X[labels == c].mean(0) - x_bar, Y[labels == c].mean(0) - y_bar)
    np.testing.assert_allclose(between, brute / labels.size, atol=1e-12)
    C = np.unique(labels).size
    assert np.linalg.matrix_rank(between) <= C - 1
    assert ov.numerical_rank(between, rtol=1e-8) == C - 1
    assert ov.numerical_rank(np.zeros((3, 4))) == 0


def test_repair_within_classes_is_a_permutation_inside_every_class():
    labels = np.array([2, 0, 1, 2, 2, 0, 1, 1, 0, 2])
    perm = ov.repair_within_classes(labels, np.random.default_rng(3))
    assert sorted(perm) == list(range(labels.size))
    assert np.array_equal(labels[perm], labels)


def test_a_repairing_keeps_the_between_part_and_moves_the_within_part():
    X, Y, labels = _views(np.random.default_rng(1))
    _, between, within = ov.cross_covariance_parts(X, Y, labels)
    perm = ov.repair_within_classes(labels, np.random.default_rng(2))
    _, between2, within2 = ov.cross_covariance_parts(X, Y[perm], labels)
    np.testing.assert_allclose(between2, between, atol=1e-12)
    assert not np.allclose(within2, within)


def test_pairing_study_tells_a_class_only_pairing_from_an_instance_pairing():
    rng = np.random.default_rng(4)
    X, Y, labels = _views(rng, counts=(60, 60, 60), instance=0.0)
    plain = ov.pairing_study(X, Y, labels, n_repairings=40, seed=0)
    assert abs(plain.within_z) < 3 and plain.verdict().startswith("inside")
    X, Y, labels = _views(rng, counts=(60, 60, 60), instance=2.0)
    shared = ov.pairing_study(X, Y, labels, n_repairings=40, seed=0)
    assert shared.within_z > 3 and shared.verdict().startswith("outside")
    table = shared.table()
    assert list(table.columns) == ["part", "pairing", "frobenius_norm", "frobenius_norm_std",
                                   "rank"]
    assert table.loc[1, "rank"] == 2                       # between: C - 1 = 2
    view = ov.pairing_view(table)
    assert list(view.columns) == ["part", "pairing", "Frobenius norm", "rank"]
    assert view["part"].notna().all() and view["pairing"].notna().all()
    assert "±" in view.loc[3, "Frobenius norm"] and "\n" not in view.loc[3, "Frobenius norm"]
    assert "±" not in view.loc[0, "Frobenius norm"]


def test_the_repairings_knob():
    assert ov.REPAIRINGS.resolve("quick") < ov.REPAIRINGS.resolve("full")
    with pytest.raises(ParamError):
        ov.REPAIRINGS.resolve("quick", 1)


# --- the audio front-end ----------------------------------------------------------------------
def _naive_front_end(pcm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The front-end written from its definition, with loops and the HTK mel formula (a path
    independent of paper_lib.extract.logmel and of the page's numpy)."""
    rate, W, H, n_fft, n_mels = 16000, 400, 160, 512, 64
    x = pcm.astype(np.float64) / 32768.0
    mel = lambda f: 1127.0 * np.log(1.0 + f / 700.0)         # noqa: E731
    edges = np.linspace(mel(125.0), mel(7500.0), n_mels + 2)
    bins = mel(np.arange(n_fft // 2 + 1) * rate / n_fft)
    bank = np.zeros((n_fft // 2 + 1, n_mels))
    for j in range(n_mels):
        for k in range(1, n_fft // 2 + 1):                   # the DC bin stays 0
            up = (bins[k] - edges[j]) / (edges[j + 1] - edges[j])
            down = (edges[j + 2] - bins[k]) / (edges[j + 2] - edges[j + 1])
            bank[k, j] = max(0.0, min(up, down))
    rows = []
    t = 0
    while t + W <= x.size:
        frame = x[t:t + W] * (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(W) / W))
        spectrum = np.abs(np.fft.fft(frame, n_fft))[: n_fft // 2 + 1]
        rows.append(np.log(spectrum @ bank + 0.01))
        t += H
    log_mel = np.array(rows)
    n_seconds = max(1, int(np.floor(log_mel.shape[0] / 100 + 0.5)))
    per_second = np.array([np.concatenate([w.mean(0), w.std(0)])
                           for w in (log_mel[100 * s:100 * (s + 1)] for s in range(n_seconds))])
    return per_second, per_second.mean(0)


@pytest.mark.parametrize("seconds", [2.0, 1.3])
def test_front_end_cross_check_naive_numpy_against_the_library(seconds):
    rng = np.random.default_rng(5)
    n = int(seconds * 16000)
    t = np.arange(n) / 16000
    pcm = np.round(8000 * np.sin(2 * np.pi * 440 * t) * (t > 0.2) + 300 * rng.normal(size=n))
    pcm = pcm.astype(np.int16)
    per_second, clip = _naive_front_end(pcm)
    library = pool_per_second(log_mel(pcm, 16000))
    assert np.abs(library - per_second).max() < 1e-9
    assert np.abs(clip_level(library) - clip).max() < 1e-9


def test_front_end_table_shapes_follow_the_constants():
    pcm = (1000 * np.random.default_rng(0).normal(size=32000)).astype(np.int16)   # 2 s
    table = ov.front_end_table(pcm, 16000)
    assert list(table.columns) == ["step", "setting (code)", "output shape"]
    assert list(table["step"]) == ["waveform", "frames", "spectrum", "mel bands", "log-mel",
                                   "per second", "clip vector"]
    n_frames = 1 + (32000 - 400) // 160
    assert list(table["output shape"]) == ["32000", f"{n_frames} × 400", f"{n_frames} × 257",
                                           f"{n_frames} × 64", f"{n_frames} × 64", "2 × 128",
                                           "128"]
    resampled = ov.front_end_table(np.zeros(22050, dtype=np.int16), 22050)   # 1 s at 22.05 kHz
    assert resampled["output shape"].iloc[0] == "16000"
    assert resampled["output shape"].iloc[5] == "1 × 128"
    recipe = ov.rendering_recipe()
    assert recipe["window_samples"] == 400 and recipe["hop_samples"] == 160
    assert recipe["fft_bins"] == 257 and recipe["second_dims"] == 2 * recipe["mel_bands"]


def test_front_end_figure_fits_the_text_column():
    pcm = (1000 * np.random.default_rng(0).normal(size=32000)).astype(np.int16)
    fig = ov.plot_front_end(pcm, 16000, "a clip")
    assert fig.get_figwidth() <= 8 and len(fig.axes) >= 4
    for ax in fig.axes:
        assert all(t.get_fontsize() >= 10 for t in ax.get_xticklabels() + ax.get_yticklabels())
        assert ax.title.get_fontsize() >= 10
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    assert len(legends) == 1 and all(t.get_fontsize() >= 10 for t in legends[0].get_texts())
    plt.close(fig)


@pytest.fixture(scope="module")
def tiny_avdigits(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("PAPER_LIB_CACHE", str(tmp_path_factory.mktemp("cache")))
    try:
        yield make_avdigits(seed=0, n_per_class=5, use_cache=False)
    finally:
        mp.undo()


def test_front_end_check_recomputes_the_stored_avdigits_features(tiny_avdigits):
    ds = tiny_avdigits
    for row in (0, int(np.argmax(ds.seq_len))):
        media = ov.clip_media(ds, row)
        assert media.waveform is not None
        per_second, clip = _naive_front_end(media.waveform)
        assert ov.front_end_check(ds, row, per_second, clip) < 1e-4   # float32 storage
        assert ov.front_end_check(ds, row, per_second + 0.1, clip) >= 0.1


def test_rendering_table_reads_the_generator_and_the_dataset(tiny_avdigits, ds):
    table = ov.rendering_table(tiny_avdigits)
    assert list(table.columns) == ["draw", "drawn from (code)", "in this dataset"]
    drawn = dict(zip(table["draw"], table["drawn from (code)"], strict=True))
    held = dict(zip(table["draw"], table["in this dataset"], strict=True))
    lo, hi = avdigits.RATE_RANGE
    assert f"{lo} to {hi}" in drawn["speaking rate (words/min)"]
    rates = tiny_avdigits.media["rate"]
    assert held["speaking rate (words/min)"] == f"{rates.min()} to {rates.max()}"
    assert f"{tiny_avdigits.n_clips} distinct images" in held["image"]
    assert sum(int(p.split(": ")[1].split()[0]) for p in held["clip length (s)"].split(", ")) \
        == tiny_avdigits.n_clips
    assert held["peak gain (dB)"] == "not stored"
    assert set(ov.rendering_table(ds)["in this dataset"]) == {"—"}       # no media


def test_seconds_counts_and_split_sizes(ds, tiny_avdigits):
    text = ov.seconds_counts_text(tiny_avdigits)
    assert sum(int(part.split()[0]) for part in text.split(", ")) == tiny_avdigits.n_clips
    splits = ov.split_sizes(ds)
    assert list(splits["split"]) == [f"fold{k}" for k in range(ds.n_folds)]
    assert (splits["train"] + splits["test"] == ds.n_clips).all()
    assert (splits[["in_both", "in_neither"]] == 0).all().all()
    assert splits["test"].sum() == ds.n_clips                 # every clip is tested once
    view = ov.split_sizes_view(splits)
    assert not any("_" in c for c in view.columns)
    assert ov.count_span(np.array([4, 4])) == "4"
    assert ov.count_span(np.array([3, 5, 4])) == "3 to 5"
