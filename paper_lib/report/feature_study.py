"""Table I of Zeng 2019 (the S-DCCA forum paper, seed 004): its feature study, redone with the
features at hand.

The forum paper (by the TNN-C-CCA paper's authors) trained S-DCCA (= C-DCCA here) on every
pairing of two audio features (SoundNet, VGGish) and two visual features (I3D, Inception) of
VEGAS and reported the MAP of each pairing.
We cannot extract those CNN features here, so we keep the **study design** (one method, every
audio x visual feature pairing, the same folds) and derive alternative features from what the
built dataset holds:

* ``avdigits``: audio = the log-mel clip vector as built ([mean | std] of 64 bands, 128-d) vs its
  first half (the band means only, 64-d; layout in :mod:`paper_lib.data.avdigits`); visual = the
  784 pixels as built vs 2x2-average-pooled 14x14 images (196-d) vs PCA-50 of the pixels;
* other datasets: audio = the clip vector as built (mean over seconds) vs the mean over the first
  half of each clip's seconds (where per-second sequences exist); visual = as built vs PCA-50.

Row-wise derivations (slicing, pooling, a partial mean) use no other clip, so they can be computed
once for the whole dataset. A **fitted** transform (PCA) must never see the test fold: it is a
:class:`TrainFitted` feature, fitted on the training rows of each split and applied to all rows of
that split (:func:`split_dataset`), so each split gets its own dataset and its own cache entries.
"""

from __future__ import annotations

import itertools
import re
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from paper_lib.data.dataset import PairedDataset, Split
from paper_lib.experiment import Config, run_configs, summarise
from paper_lib.metrics.cross_modal import DIRECTION_LABELS
from paper_lib.paper import reference
from paper_lib.report.tables import MISSING, mean_std

# [choice] 50 principal components for the visual PCA variant (the brief's suggestion; a tenth of
# the pixel width, the usual size of a compact image code); the audio view is already small.
PCA_COMPONENTS = 50
AS_BUILT = "as_built"
#: the paper's feature names, for its table
PAPER_FEATURES = {"soundnet": "SoundNet", "vggish": "VGGish", "i3d": "I3D",
                  "inception": "Inception V3"}


class Transformer(Protocol):
    """What a fitted feature transform provides (scikit-learn style)."""

    def fit(self, X: np.ndarray) -> Any: ...

    def transform(self, X: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class TrainFitted:
    """A feature that needs fitting: ``make()`` gives a fresh transformer, fitted on the training
    rows of a split only, then applied to every row of that split."""

    base: np.ndarray                      # (N, d) the features it is computed from
    make: Callable[[], Transformer]

    def materialise(self, train_rows: np.ndarray) -> np.ndarray:
        """(N, d') features of every row, from a transformer fitted on ``base[train_rows]``."""
        model = self.make()
        model.fit(self.base[train_rows])   # the only place the transform sees data: train rows
        return np.asarray(model.transform(self.base), dtype=np.float64)


#: a feature is a fixed (N, d) array (row-wise derived, no fitting) or a train-fitted transform
Feature = np.ndarray | TrainFitted


@dataclass(frozen=True)
class Variant:
    """One feature choice of one view."""

    key: str          # machine name, used in the records' setting
    label: str        # human name, for tables
    feature: Feature


# ---------------------------------------------------------------------------------------------
# the variants
# ---------------------------------------------------------------------------------------------
def pca(n_components: int, seed: int = 0) -> Callable[[], Transformer]:
    """A factory of scikit-learn PCAs (components clipped to what the training rows allow)."""
    from sklearn.decomposition import PCA

    class _ClippedPCA:
        # [choice] the exact covariance eigensolver (deterministic, no randomised SVD); threads
        # follow the project's policy (paper_lib.threads): on a busy 2-core machine two spinning
        # BLAS threads took 5 s instead of 0.3 s for 1,600 x 1,024 (measured).
        def fit(self, X: np.ndarray) -> _ClippedPCA:
            k = min(n_components, X.shape[0], X.shape[1])
            self.model_ = PCA(n_components=k, svd_solver="covariance_eigh",
                              random_state=seed).fit(X)
            return self

        def transform(self, X: np.ndarray) -> np.ndarray:
            return self.model_.transform(X)

    return _ClippedPCA


def pool_images(pixels: np.ndarray, side: int, factor: int = 2) -> np.ndarray:
    """(N, (side/factor)²) average-pooled images from (N, side²) row-major pixels."""
    n = pixels.shape[0]
    if pixels.shape[1] != side * side or side % factor:
        raise ValueError(f"pixels: expected (N, {side}²) with side divisible by {factor}, "
                         f"got {pixels.shape}")
    small = side // factor
    blocks = pixels.reshape(n, small, factor, small, factor)     # (N, i, di, j, dj)
    return blocks.mean(axis=(2, 4)).reshape(n, small * small)


def first_half_mean(seq: np.ndarray, seq_len: np.ndarray) -> np.ndarray:
    """(N, d) mean over each clip's first ceil(T_i / 2) valid seconds of a (N, T, d) sequence."""
    half = (np.asarray(seq_len) + 1) // 2                          # (N,) ceil(T_i / 2) >= 1
    mask = np.arange(seq.shape[1])[None, :] < half[:, None]        # (N, T)
    sums = np.einsum("nt,ntd->nd", mask.astype(np.float64), seq.astype(np.float64))
    return sums / half[:, None]


def audio_variants(ds: PairedDataset) -> list[Variant]:
    """The audio feature choices of ``ds`` (the first is the clip vector as built)."""
    out = [Variant(AS_BUILT, _as_built_label(ds, "audio"), ds.audio)]
    if ds.name == "avdigits":
        # clip vector = mean over seconds of [mean(64 bands) | std(64 bands)] (avdigits.py, step 4)
        bands = ds.audio.shape[1] // 2
        out.append(Variant("logmel_mean", f"log-mel band means only ({bands}-d)",
                           ds.audio[:, :bands]))
    elif ds.has_sequences:
        assert ds.audio_seq is not None and ds.seq_len is not None
        out.append(Variant("first_half", f"first-half mean ({ds.audio.shape[1]}-d)",
                           first_half_mean(ds.audio_seq, ds.seq_len)))
    return out


def visual_variants(ds: PairedDataset, seed: int = 0) -> list[Variant]:
    """The visual feature choices of ``ds`` (the first is the clip vector as built)."""
    out = [Variant(AS_BUILT, _as_built_label(ds, "visual"), ds.visual)]
    side = int(round(np.sqrt(ds.visual.shape[1])))
    if ds.name == "avdigits" and side * side == ds.visual.shape[1]:
        out.append(Variant("pooled_14x14", f"2x2-pooled {side // 2}x{side // 2} image "
                           f"({(side // 2) ** 2}-d)", pool_images(ds.visual, side)))
    # [choice] other datasets: as built vs PCA-50 only, a 2 x 2 design like the paper's (a visual
    # first-half mean as well would add half again to the cost; the audio view already varies
    # the temporal summary)
    source = "pixels" if ds.name == "avdigits" else "clip mean"
    out.append(Variant(f"pca{PCA_COMPONENTS}", f"PCA-{PCA_COMPONENTS} of {source} (train-fitted)",
                       TrainFitted(ds.visual, pca(PCA_COMPONENTS, seed))))
    return out


def _as_built_label(ds: PairedDataset, view: str) -> str:
    width = getattr(ds, view).shape[1]
    if ds.name == "avdigits":
        return "log-mel mean + std (128-d)" if view == "audio" else f"pixels ({width}-d)"
    return f"clip mean, as built ({width}-d)"


def feature_variants(ds: PairedDataset, seed: int = 0) -> dict[str, tuple[Feature, Feature]]:
    """Every audio x visual pairing: ``{setting: (audio feature, visual feature)}``.

    A feature is an (N, d) array or a :class:`TrainFitted` transform (materialised per split by
    :func:`split_dataset`). The setting reads ``audio=<key>,visual=<key>``.
    """
    return {setting(a.key, v.key): (a.feature, v.feature)
            for a, v in itertools.product(audio_variants(ds), visual_variants(ds, seed))}


def setting(audio_key: str, visual_key: str) -> str:
    """The record label of one (audio, visual) feature pair: ``"audio=<a>,visual=<v>"``."""
    return f"audio={audio_key},visual={visual_key}"


_SETTING = re.compile(r"^audio=([^,]+),visual=([^,]+)$")


def parse_setting(text: str) -> tuple[str, str]:
    """``audio=<a>,visual=<v>`` -> (a, v)."""
    match = _SETTING.match(text)
    if not match:
        raise ValueError(f"setting {text!r} is not of the form 'audio=<key>,visual=<key>'")
    return match.group(1), match.group(2)


# ---------------------------------------------------------------------------------------------
# per-split datasets and the study
# ---------------------------------------------------------------------------------------------
def _materialise(feature: Feature, split: Split) -> np.ndarray:
    if isinstance(feature, TrainFitted):
        return feature.materialise(split.train)
    return np.asarray(feature, dtype=np.float64)


def split_dataset(ds: PairedDataset, audio: Feature, visual: Feature,
                  split: Split) -> PairedDataset:
    """The dataset one split of the study trains and tests on.

    The clip vectors as built give ``ds`` itself (so the fit is shared with the main table through
    the cache); otherwise a features-only copy (same labels, ids and folds, no sequences or media)
    whose train-fitted features were fitted on ``split.train`` only.
    """
    if audio is ds.audio and visual is ds.visual:
        return ds
    return PairedDataset(name=ds.name, audio=_materialise(audio, split),
                         visual=_materialise(visual, split), labels=ds.labels,
                         class_names=ds.class_names, clip_ids=ds.clip_ids, folds=ds.folds,
                         is_test=ds.is_test, source=f"{ds.source} [feature study variant]")


def run_feature_study(ds: PairedDataset, variants: dict[str, tuple[Feature, Feature]],
                      config: Config, folds: Iterable[int], seeds: Sequence[int] = (0,),
                      log: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Tidy records (:data:`~paper_lib.experiment.evaluate.RECORD_COLUMNS`) of ``config`` on every pairing.

    Each split of each pairing is run on its :func:`split_dataset` (cached like every fit); the
    record's ``setting`` names the pairing.
    """
    fold_list = list(folds)
    frames = []
    for name, (audio, visual) in variants.items():
        parse_setting(name)
        for split in ds.splits(fold_list):
            dsv = split_dataset(ds, audio, visual, split)
            df, _ = run_configs(dsv, [replace(config, setting=name)], folds=[split.fold],
                                seeds=seeds, cache=True, log=log)
            frames.append(df)
    return pd.concat(frames, ignore_index=True)


def summarise_study(records: pd.DataFrame, labels: dict[str, dict[str, str]] | None = None
                    ) -> pd.DataFrame:
    """MAP mean/std/n per pairing and direction, with the audio and visual feature named."""
    out = summarise(records, "map")
    keys = out["setting"].map(parse_setting)
    out.insert(1, "audio_features", [a for a, _ in keys])
    out.insert(2, "visual_features", [v for _, v in keys])
    if labels:
        out["audio_features"] = out["audio_features"].map(lambda k: labels["audio"].get(k, k))
        out["visual_features"] = out["visual_features"].map(lambda k: labels["visual"].get(k, k))
    return out.drop(columns="setting")


def variant_labels(ds: PairedDataset) -> dict[str, dict[str, str]]:
    """``{"audio": {key: label}, "visual": {key: label}}`` for the tables."""
    return {"audio": {v.key: v.label for v in audio_variants(ds)},
            "visual": {v.key: v.label for v in visual_variants(ds)}}


def features_view(labels: dict[str, dict[str, str]]) -> pd.DataFrame:
    """The feature choices of each view, for reading: view, features (in the study's order)."""
    return pd.DataFrame([{"view": view, "features": label}
                         for view, d in labels.items() for label in d.values()])


def _bold(cells: list[str], values: pd.Series) -> list[str]:
    """``cells`` with the one(s) of the largest value in bold."""
    top = values.max()
    return [f"**{c}**" if v == top and c != MISSING else c
            for c, v in zip(cells, values, strict=True)]


def study_view(summary: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """:func:`summarise_study` for reading: one row per pairing (audio, visual features in the
    study's order), MAP mean ± std over folds per direction, the best pairing of each direction
    in bold."""
    wide = summary.pivot_table(index=["audio_features", "visual_features"], columns="direction",
                               values=["mean", "std"], sort=False)
    out = pd.DataFrame({"audio features": wide.index.get_level_values(0),
                        "visual features": wide.index.get_level_values(1)})
    for d in ("a2v", "v2a"):
        means, stds = wide[("mean", d)].reset_index(drop=True), wide[("std", d)]
        cells = [mean_std(m, s, digits) for m, s in zip(means, stds, strict=True)]
        out[f"MAP {DIRECTION_LABELS[d]}"] = _bold(cells, means)
    return out


# ---------------------------------------------------------------------------------------------
# the paper's table
# ---------------------------------------------------------------------------------------------
def paper_table() -> pd.DataFrame:
    """The forum paper's S-DCCA feature study on VEGAS (its numbers, with provenance).

    Columns: audio_features, visual_features, direction, value, source.
    """
    rep = reference("forum_feature_study", "vegas").rows
    pairs = rep["setting"].str.removeprefix("features=").str.split("_", n=1)
    return pd.DataFrame({"audio_features": [PAPER_FEATURES.get(a, a) for a, _ in pairs],
                         "visual_features": [PAPER_FEATURES.get(v, v) for _, v in pairs],
                         "direction": rep["direction"], "value": rep["value"],
                         "source": rep["source"]})


def paper_view(paper: pd.DataFrame) -> pd.DataFrame:
    """:func:`paper_table` for reading: one row per pairing, the published MAP per direction
    (numbers: :meth:`~paper_lib.pipeline.notebook.NotebookRun.table` bolds the best)."""
    wide = paper.pivot_table(index=["audio_features", "visual_features"], columns="direction",
                             values="value", sort=False)
    return pd.DataFrame({"audio features": wide.index.get_level_values(0),
                         "visual features": wide.index.get_level_values(1),
                         **{f"MAP {DIRECTION_LABELS[d]}": wide[d].to_numpy()
                            for d in ("a2v", "v2a")}})


# ---------------------------------------------------------------------------------------------
# figure
# ---------------------------------------------------------------------------------------------
def plot_study(summary: pd.DataFrame) -> plt.Figure:
    """Heat maps of MAP (mean over folds) per pairing, A→V and V→A side by side on one colour
    scale; 8 inches wide, 10-point text, feature names wrapped under the columns."""
    audio = list(dict.fromkeys(summary["audio_features"]))
    visual = list(dict.fromkeys(summary["visual_features"]))
    lo, hi = float(summary["mean"].min()), float(summary["mean"].max())
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 1.0 * len(audio) + 2.6), sharey=True)
    for ax, d in zip(axes, ("a2v", "v2a"), strict=True):
        grid = (summary[summary.direction == d]
                .pivot_table(index="audio_features", columns="visual_features", values="mean")
                .reindex(index=audio, columns=visual))
        im = ax.imshow(grid.to_numpy(), cmap="viridis", vmin=lo, vmax=hi, aspect="auto")
        ax.set_xticks(range(len(visual)), labels=[textwrap.fill(v, 11) for v in visual],
                      fontsize=10)
        ax.set_yticks(range(len(audio)), labels=[textwrap.fill(a, 16) for a in audio],
                      fontsize=10)
        for (i, j), value in np.ndenumerate(grid.to_numpy()):
            bright = value > (lo + hi) / 2                 # viridis is light at the top
            ax.text(j, i, f"{value:.3f}", ha="center", va="center", fontsize=11,
                    color="black" if bright else "white")
        ax.set_xlabel("visual features", fontsize=10)
        ax.set_title(f"{DIRECTION_LABELS[d]} MAP", fontsize=11)
    axes[0].set_ylabel("audio features", fontsize=10)
    bar = fig.colorbar(im, ax=list(axes), fraction=0.04, pad=0.02)
    bar.ax.tick_params(labelsize=10)
    plt.close(fig)
    return fig
