"""The dataset overview's reader views: classes in their natural order (0…9, never alphabetical),
one column per fold, readable headers; its figures fit the page's text column."""

from __future__ import annotations

import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from paper_lib.data.registry import load_dataset
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
