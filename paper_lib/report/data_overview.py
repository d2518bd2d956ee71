"""Tables and figures describing a dataset: class counts, feature statistics, folds, examples.

The tidy tables (:func:`class_counts`, :func:`feature_stats`, :func:`fold_table`) are the CSV
files; the ``*_view`` functions are the reader's view of them (readable headers, classes in their
natural order 0…9, one column per fold).
"""

from __future__ import annotations

import io
import wave

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from paper_lib.data.dataset import PairedDataset


def class_counts(ds: PairedDataset) -> pd.DataFrame:
    """Tidy table: one row per class with its clip count and share."""
    counts = ds.class_counts()
    return pd.DataFrame({"class_id": np.arange(ds.n_classes), "class_name": list(ds.class_names),
                         "clips": counts, "share": counts / counts.sum()})


def feature_stats(ds: PairedDataset) -> pd.DataFrame:
    """Per view: width, value range, mean, std, and the mean per-dimension std (clip level)."""
    rows = []
    for view, X in (("audio", ds.audio), ("visual", ds.visual)):
        rows.append({"view": view, "clips": X.shape[0], "dims": X.shape[1],
                     "min": float(X.min()), "max": float(X.max()), "mean": float(X.mean()),
                     "std": float(X.std()), "mean_dim_std": float(X.std(axis=0).mean())})
    if ds.has_sequences:
        assert ds.seq_len is not None
        rows.append({"view": "seconds per clip", "clips": ds.n_clips, "dims": 1,
                     "min": float(ds.seq_len.min()), "max": float(ds.seq_len.max()),
                     "mean": float(ds.seq_len.mean()), "std": float(ds.seq_len.std()),
                     "mean_dim_std": float("nan")})
    return pd.DataFrame(rows)


def fold_table(ds: PairedDataset) -> pd.DataFrame:
    """Tidy table: clips of every class in every fold (or in the fixed train/test split)."""
    if ds.folds is not None:
        part, names = ds.folds, [f"fold{k}" for k in range(ds.n_folds)]
    else:
        assert ds.is_test is not None
        part, names = ds.is_test.astype(int), ["train", "test"]
    rows = [{"part": names[p], "class_name": ds.class_names[c],
             "clips": int(np.sum((part == p) & (ds.labels == c)))}
            for p in range(len(names)) for c in range(ds.n_classes)]
    return pd.DataFrame(rows)


def class_counts_view(counts: pd.DataFrame) -> pd.DataFrame:
    """:func:`class_counts` for reading: class id and name, clips, and the share in percent."""
    return pd.DataFrame({"class": counts["class_id"].astype(int), "name": counts["class_name"],
                         "clips": counts["clips"].astype(int),
                         "share (%)": 100.0 * counts["share"].astype(float)})


def feature_stats_view(stats: pd.DataFrame) -> pd.DataFrame:
    """:func:`feature_stats` for reading: human column headers, the same rows."""
    return stats.rename(columns={"view": "features", "dims": "dimensions",
                                 "mean_dim_std": "mean std of a dimension"})


def fold_view(folds: pd.DataFrame, class_names: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """:func:`fold_table` for reading: one row per class in its natural order (``class_names``,
    0…9, not alphabetical), one column per fold (or train/test part) in its order, and the
    class total."""
    parts = list(dict.fromkeys(folds["part"]))
    names = list(class_names)
    unknown = sorted(set(folds["class_name"]) - set(names))
    if unknown:
        raise ValueError(f"folds: classes {unknown} are not in class_names {names}")
    wide = folds.pivot_table(index="class_name", columns="part", values="clips", aggfunc="sum")
    wide = wide.reindex(index=[n for n in names if n in wide.index], columns=parts)
    out = pd.DataFrame({"class": [names.index(n) for n in wide.index], "name": list(wide.index)})
    for part in parts:
        out[part] = wide[part].fillna(0).astype(int).to_numpy()
    out["total"] = out[parts].sum(axis=1)
    return out


def plot_class_counts(ds: PairedDataset) -> plt.Figure:
    """Bar chart of the number of clips of every class."""
    table = class_counts(ds)
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.bar(table["class_name"], table["clips"], color="#4c72b0")
    ax.set_ylabel("clips", fontsize=11)
    ax.set_title(f"{ds.name}: {ds.n_clips} clips in {ds.n_classes} classes", fontsize=11)
    ax.tick_params(axis="both", labelsize=10)
    ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    return fig


def plot_feature_means(ds: PairedDataset) -> plt.Figure:
    """Class-mean feature profiles of both views, stacked (audio above, visual below, one row per
    class in its natural order): does each view carry class structure?"""
    height = max(2.6, 0.22 * ds.n_classes + 1.2)
    fig, axes = plt.subplots(2, 1, figsize=(7.5, 2 * height))
    for ax, (view, X) in zip(axes, (("audio", ds.audio), ("visual", ds.visual)), strict=True):
        means = np.stack([X[ds.labels == c].mean(axis=0) for c in range(ds.n_classes)])
        im = ax.imshow(means, aspect="auto", cmap="viridis", interpolation="nearest")
        ax.set_yticks(range(ds.n_classes), labels=list(ds.class_names), fontsize=10)
        ax.tick_params(axis="x", labelsize=10)
        ax.set_xlabel(f"{view} feature dimension", fontsize=10)
        ax.set_title(f"class means, {view} ({X.shape[1]}-d)", fontsize=11)
        bar = fig.colorbar(im, ax=ax, fraction=0.04)
        bar.ax.tick_params(labelsize=10)
    fig.tight_layout()
    return fig


def example_rows(ds: PairedDataset, per_class: int = 1, seed: int = 0) -> np.ndarray:
    """Deterministic choice of example clips: ``per_class`` rows of every class."""
    rng = np.random.default_rng(seed)
    rows = [rng.choice(np.flatnonzero(ds.labels == c), size=per_class, replace=False)
            for c in range(ds.n_classes)]
    return np.concatenate(rows)


def wav_bytes(waveform: np.ndarray, sample_rate: int) -> bytes:
    """A 16-bit mono WAV file in memory (for an offline, embedded audio player)."""
    x = np.asarray(waveform, dtype=np.float64)
    if np.issubdtype(np.asarray(waveform).dtype, np.integer):
        x = x / 32768.0
    pcm = (np.clip(x, -1.0, 1.0) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


class ClipMedia:
    """The raw media of one clip, where the dataset keeps it (``avdigits`` does)."""

    def __init__(self, waveform: np.ndarray | None, sample_rate: int, image: np.ndarray | None):
        self.waveform = waveform
        self.sample_rate = sample_rate
        self.image = image


def clip_media(ds: PairedDataset, row: int) -> ClipMedia:
    """Waveform and image of one clip from ``ds.media`` (``None`` where absent)."""
    media = ds.media or {}
    wave_data = media.get("waveforms")
    waveform = None
    if wave_data is not None:
        waveform = np.asarray(wave_data[row])
        lengths = media.get("waveform_lengths")
        if lengths is not None:
            waveform = waveform[: int(lengths[row])]
    images = media.get("images")
    return ClipMedia(waveform, int(media.get("sample_rate", 16000)),
                     None if images is None else np.asarray(images[row]))


def plot_examples(ds: PairedDataset, rows: np.ndarray) -> plt.Figure | None:
    """The images of the example clips ``rows`` side by side, each titled with its class and
    clip id; ``None`` when the dataset keeps no images."""
    media = [clip_media(ds, int(r)) for r in rows]
    if not len(rows) or any(m.image is None for m in media):
        return None
    n = len(rows)
    fig, axes = plt.subplots(1, n, figsize=(min(7.5, 1.5 * n), 2.0), squeeze=False)
    for ax, row, m in zip(axes[0], rows, media, strict=True):
        ax.imshow(m.image, cmap="gray_r")
        ax.set_title(f"{ds.class_names[ds.labels[row]]}\n{ds.clip_ids[row]}", fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    return fig


def image_figure(image: np.ndarray, size: float = 1.2) -> plt.Figure:
    """A small closed figure showing one grey-level ``image`` (e.g. an ``avdigits`` digit)."""
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(image, cmap="gray_r")
    ax.axis("off")
    plt.close(fig)
    return fig
