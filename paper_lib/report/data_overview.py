"""Tables and figures describing a dataset: how ``avdigits`` is made (the rendering draws, the
pairing, the audio front-end), class counts, feature statistics, folds, examples.

The tidy tables (:func:`class_counts`, :func:`feature_stats`, :func:`fold_table`) are the CSV
files; the ``*_view`` functions are the reader's view of them (readable headers, classes in their
natural order 0…9, one column per fold).
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from paper_lib.data import avdigits
from paper_lib.data.dataset import PairedDataset
from paper_lib.experiment.knobs import Knob, integer
from paper_lib.extract import logmel
from paper_lib.report.tables import mean_std


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


# --- how avdigits is made: the rendering draws, read from the generator's code -----------------
#: how many times the images are re-paired within their classes to size the noise of Σ_xy
REPAIRINGS = Knob("data_overview_repairings", 50, quick=20, check=integer(minimum=2))


def _span(lo: float, hi: float, digits: int = 0) -> str:
    return f"{lo:.{digits}f} to {hi:.{digits}f}"


def rendering_recipe() -> dict[str, Any]:
    """The constants of :mod:`paper_lib.data.avdigits` and :mod:`paper_lib.extract.logmel` the
    data chapter quotes (each a glue value: the prose never types them)."""
    return {
        "n_voices": len(avdigits.DEFAULT_VOICES),
        "rate_lo": avdigits.RATE_RANGE[0], "rate_hi": avdigits.RATE_RANGE[1],
        "pitch_lo": avdigits.PITCH_RANGE[0], "pitch_hi": avdigits.PITCH_RANGE[1],
        "gain_lo": avdigits.GAIN_DB[0], "gain_hi": avdigits.GAIN_DB[1],
        "snr_lo": avdigits.SNR_DB[0], "snr_hi": avdigits.SNR_DB[1],
        "clip_seconds": " or ".join(str(s) for s in avdigits.CLIP_SECONDS),
        "margin_ms": int(round(1000 * avdigits.MARGIN_SECONDS)),
        "n_per_class_default": avdigits.DEFAULT_N_PER_CLASS,
        "image_side": avdigits.IMAGE_SIDE,
        "image_pixels": avdigits.IMAGE_SIDE ** 2,
        "sample_rate": logmel.SAMPLE_RATE,
        "window_ms": int(round(1000 * logmel.WINDOW_SECONDS)),
        "window_samples": logmel.WINDOW_SAMPLES,
        "hop_ms": int(round(1000 * logmel.HOP_SECONDS)),
        "hop_samples": logmel.HOP_SAMPLES,
        "frames_per_second": int(round(1.0 / logmel.HOP_SECONDS)),
        "fft_length": logmel.FFT_LENGTH,
        "fft_bins": logmel.FFT_LENGTH // 2 + 1,
        "mel_bands": logmel.NUM_MEL_BINS,
        "mel_lo_hz": int(logmel.MEL_MIN_HZ), "mel_hi_hz": int(logmel.MEL_MAX_HZ),
        "log_offset": logmel.LOG_OFFSET,
        "second_dims": 2 * logmel.NUM_MEL_BINS,
        "vggish_frames": logmel.EXAMPLE_FRAMES,
    }


def rendering_table(ds: PairedDataset) -> pd.DataFrame:
    """One row per random draw that makes an ``avdigits`` clip: the distribution the generator's
    code draws it from, and what this dataset holds (from ``ds.media``; "not stored" where the
    generator keeps no record of the draw, "—" for a dataset without media)."""
    media = ds.media or {}
    voices, rates, pitches, snr = (media.get(k) for k in ("voice", "rate", "pitch", "snr_db"))
    lengths = media.get("waveform_lengths")
    rate = int(media.get("sample_rate", logmel.SAMPLE_RATE))
    index = media.get("mnist_index")
    none = "—" if not media else "not stored"

    def observed(values: Any, digits: int = 0) -> str:
        if values is None:
            return none
        v = np.asarray(values, dtype=np.float64)
        return _span(float(v.min()), float(v.max()), digits)

    voice_text = none
    if voices is not None:
        names, counts = np.unique(np.asarray(voices), return_counts=True)
        voice_text = f"{names.size} voices, {counts.min()} to {counts.max()} clips each"
    seconds_text = none
    if lengths is not None:
        secs, counts = np.unique(np.ceil(np.asarray(lengths) / rate).astype(int),
                                 return_counts=True)
        seconds_text = ", ".join(f"{s} s: {c} clips" for s, c in zip(secs, counts, strict=True))
    image_text = none
    if index is not None:
        image_text = f"{np.unique(np.asarray(index)).size} distinct images for {ds.n_clips} clips"
    r = rendering_recipe()
    rows = [
        ("voice", f"uniform over {r['n_voices']} English eSpeak NG voices "
                  f"({', '.join(avdigits.DEFAULT_VOICES)})", voice_text),
        ("speaking rate (words/min)", f"uniform integer, {_span(r['rate_lo'], r['rate_hi'])}",
         observed(rates)),
        ("pitch (eSpeak scale 0 to 100)",
         f"uniform integer, {_span(r['pitch_lo'], r['pitch_hi'])}", observed(pitches)),
        ("pitch range (eSpeak scale 0 to 100)",
         f"uniform integer, {_span(r['pitch_lo'], r['pitch_hi'])}", none),
        ("peak gain (dB)", f"speech peak 0.5·10^(g/20), g uniform, "
                           f"{_span(r['gain_lo'], r['gain_hi'], 1)}", none),
        ("SNR of the white noise (dB)", f"uniform, {_span(r['snr_lo'], r['snr_hi'], 1)}",
         observed(snr, 1)),
        ("clip length (s)", f"{r['clip_seconds']} with equal chance, longer if the word does "
                            f"not fit", seconds_text),
        ("word position", f"uniform in the free space, at least {r['margin_ms']} ms from "
                          f"either end", none),
        ("image", "an MNIST image of the same digit, drawn without replacement", image_text),
    ]
    return pd.DataFrame(rows, columns=["draw", "drawn from (code)", "in this dataset"])


# --- how a pair is formed: what the one-to-one pairing carries --------------------------------
def cross_covariance_parts(X: np.ndarray, Y: np.ndarray, labels: np.ndarray
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(Σ_xy, between, within)``: the paired cross-covariance and its two parts,

    ``Σ_xy = Σ_c (n_c/N)(x̄_c − x̄)(ȳ_c − ȳ)ᵀ
    + (1/N) Σ_i (x_i − x̄_{c_i})(y_i − ȳ_{c_i})ᵀ``:
    the between-class part depends on the classes only (rank ≤ C − 1), the within-class part
    on which clip is paired with which clip of its class."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    labels = np.asarray(labels)
    classes, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
    n = labels.size
    x_means = np.stack([X[codes == k].mean(axis=0) for k in range(classes.size)])
    y_means = np.stack([Y[codes == k].mean(axis=0) for k in range(classes.size)])
    x_bar, y_bar = X.mean(axis=0), Y.mean(axis=0)
    sigma = (X - x_bar).T @ (Y - y_bar) / n
    between = ((x_means - x_bar).T * (counts / n)) @ (y_means - y_bar)
    within = (X - x_means[codes]).T @ (Y - y_means[codes]) / n
    return sigma, between, within


def repair_within_classes(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A permutation ``p`` of the rows that moves every row to a row of its own class: pairing
    clip ``i``'s audio with clip ``p[i]``'s image is another draw of the same pairing rule."""
    labels = np.asarray(labels)
    perm = np.arange(labels.size)
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        perm[rows] = rng.permutation(rows)
    return perm


def numerical_rank(A: np.ndarray, rtol: float = 1e-10) -> int:
    """Rank of ``A``: singular values above ``rtol`` times the largest."""
    s = np.linalg.svd(np.asarray(A, dtype=np.float64), compute_uv=False)
    return int(np.sum(s > rtol * s[0])) if s.size and s[0] > 0 else 0


@dataclass(frozen=True)
class PairingStudy:
    """The sizes (Frobenius norms) of Σ_xy's parts for the dataset's pairing and for
    ``n_repairings`` re-pairings of the images within their classes."""

    sigma: float
    between: float
    within: float
    rank_sigma: int
    rank_between: int
    rank_within: int
    n_classes: int
    repaired_sigma: np.ndarray       # (n_repairings,)
    repaired_within: np.ndarray      # (n_repairings,)

    @property
    def within_z(self) -> float:
        """How many re-pairing standard deviations the dataset's within-class part lies from
        their mean (about 0 to 2 in size when the pairing carries nothing beyond the class)."""
        spread = float(self.repaired_within.std(ddof=1))
        return (self.within - float(self.repaired_within.mean())) / spread

    def verdict(self, z_max: float = 3.0) -> str:
        """What the dataset's within-class part says about its pairing, read from
        :attr:`within_z`: inside the re-pairings' spread (``|z| <= z_max``) or outside it."""
        if abs(self.within_z) <= z_max:
            return ("inside the spread of the re-pairings, as it must be when the pairing "
                    "carries nothing beyond the class")
        return ("outside the spread of the re-pairings: this pairing carries more than the "
                "class")

    def table(self) -> pd.DataFrame:
        """Tidy rows: part (``sigma_xy``, ``between``, ``within``), pairing (``dataset``,
        ``repaired``, ``any``), Frobenius norm (mean and std over the re-pairings), rank."""
        rows = [("sigma_xy", "dataset", self.sigma, np.nan, self.rank_sigma),
                ("between", "any", self.between, np.nan, self.rank_between),
                ("within", "dataset", self.within, np.nan, self.rank_within),
                ("within", "repaired", float(self.repaired_within.mean()),
                 float(self.repaired_within.std(ddof=1)), self.rank_within),
                ("sigma_xy", "repaired", float(self.repaired_sigma.mean()),
                 float(self.repaired_sigma.std(ddof=1)), self.rank_sigma)]
        return pd.DataFrame(rows, columns=["part", "pairing", "frobenius_norm",
                                           "frobenius_norm_std", "rank"])


def pairing_study(X: np.ndarray, Y: np.ndarray, labels: np.ndarray, n_repairings: int,
                  seed: int = 0) -> PairingStudy:
    """Split Σ_xy into its between- and within-class parts (:func:`cross_covariance_parts`) for
    the given pairing and for ``n_repairings`` random re-pairings within the classes."""
    sigma, between, within = cross_covariance_parts(X, Y, labels)
    rng = np.random.default_rng(seed)
    rep_sigma, rep_within = [], []
    for _ in range(n_repairings):
        perm = repair_within_classes(labels, rng)
        s, _, w = cross_covariance_parts(X, np.asarray(Y)[perm], labels)
        rep_sigma.append(np.linalg.norm(s))
        rep_within.append(np.linalg.norm(w))
    return PairingStudy(sigma=float(np.linalg.norm(sigma)), between=float(np.linalg.norm(between)),
                        within=float(np.linalg.norm(within)), rank_sigma=numerical_rank(sigma),
                        rank_between=numerical_rank(between, rtol=1e-8),
                        rank_within=numerical_rank(within),
                        n_classes=int(np.unique(labels).size),
                        repaired_sigma=np.array(rep_sigma), repaired_within=np.array(rep_within))


#: the reader's names of :meth:`PairingStudy.table`'s parts and pairings
PAIRING_PARTS = {"sigma_xy": r"$\Sigma_{xy}$", "between": "between-class part",
                 "within": "within-class part"}
PAIRINGS = {"dataset": "this dataset's", "repaired": "images re-paired within their classes",
            "any": "any (depends on the classes only)"}


def pairing_view(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """:meth:`PairingStudy.table` for reading: display names, the norm as "mean ± std" over the
    re-pairings."""
    norms = [f"{v:.{digits}f}" if not np.isfinite(sd) else mean_std(v, sd, digits)
             for v, sd in zip(table["frobenius_norm"], table["frobenius_norm_std"], strict=True)]
    return pd.DataFrame({"part": table["part"].map(PAIRING_PARTS),
                         "pairing": table["pairing"].map(PAIRINGS),
                         "Frobenius norm": norms, "rank": table["rank"].astype(int)})


# --- the audio front-end, step by step ----------------------------------------------------------
def pcm_to_float(waveform: np.ndarray) -> np.ndarray:
    """Samples in [-1, 1]: int16 PCM divided by 32768, floats unchanged."""
    x = np.asarray(waveform)
    return x / 32768.0 if np.issubdtype(x.dtype, np.integer) else x.astype(np.float64)


def front_end_table(waveform: np.ndarray, sample_rate: int) -> pd.DataFrame:
    """The front-end of :mod:`paper_lib.extract.logmel` run step by step on one clip: each
    step, its setting (from the module's constants) and the shape of what it outputs."""
    r = rendering_recipe()
    x = logmel.resample(pcm_to_float(waveform), sample_rate)
    frames = logmel.frame(x, logmel.WINDOW_SAMPLES, logmel.HOP_SAMPLES)
    spectrum = logmel.stft_magnitude(x)
    mel = spectrum @ logmel.mel_filterbank()
    log_mel = np.log(mel + logmel.LOG_OFFSET)
    per_second = logmel.pool_per_second(log_mel)
    clip = logmel.clip_level(per_second)

    def shape(a: np.ndarray) -> str:
        return " × ".join(str(n) for n in a.shape)

    rows = [
        ("waveform", f"mono, {r['sample_rate']} Hz (polyphase resampling if needed)", shape(x)),
        ("frames", f"{r['window_ms']} ms windows ({r['window_samples']} samples) every "
                   f"{r['hop_ms']} ms ({r['hop_samples']} samples); a partial last frame is "
                   f"dropped", shape(frames)),
        ("spectrum", f"periodic Hann window, {r['fft_length']}-point FFT, magnitude "
                     f"({r['fft_bins']} bins)", shape(spectrum)),
        ("mel bands", f"{r['mel_bands']} triangular filters on the HTK mel scale, "
                      f"{r['mel_lo_hz']} to {r['mel_hi_hz']} Hz", shape(mel)),
        ("log-mel", f"log(mel + {r['log_offset']})", shape(log_mel)),
        ("per second", f"mean and standard deviation of each band over each 1 s window "
                       f"({r['frames_per_second']} frames; a last part counts if at least half "
                       f"a second)", shape(per_second)),
        ("clip vector", "mean over the seconds", shape(clip)),
    ]
    return pd.DataFrame(rows, columns=["step", "setting (code)", "output shape"])


def front_end_check(ds: PairedDataset, row: int, per_second: np.ndarray,
                    clip_vector: np.ndarray) -> float:
    """Largest absolute difference between a recomputed clip's per-second features and clip
    vector and what the dataset stores for clip ``row`` (``audio_seq`` is float32)."""
    if ds.audio_seq is None or ds.seq_len is None:
        raise ValueError(f"dataset {ds.name!r} keeps no per-second audio features")
    stored = ds.audio_seq[row, : int(ds.seq_len[row])].astype(np.float64)
    if stored.shape != per_second.shape:
        raise ValueError(f"clip {row}: recomputed {per_second.shape} vs stored {stored.shape}")
    return float(max(np.abs(stored - per_second).max(),
                     np.abs(ds.audio[row] - clip_vector).max()))


def _second_bounds(n_frames: int, fps: int) -> np.ndarray:
    n_seconds = max(1, (n_frames + fps // 2) // fps)
    return np.minimum(np.arange(n_seconds + 1) * fps, n_frames)


def plot_front_end(waveform: np.ndarray, sample_rate: int, title: str) -> plt.Figure:
    """One clip through the front-end: (a) the waveform with the 1 s pooling windows, (b) four
    analysis frames around the loudest one (the Hann windows, their length and hop), (c) the
    log-mel spectrogram with the pooling windows, (d) the pooled per-second vectors
    ([mean, std] of every band) and their mean, the clip vector."""
    x = logmel.resample(pcm_to_float(waveform), sample_rate)
    rate = logmel.SAMPLE_RATE
    W, H = logmel.WINDOW_SAMPLES, logmel.HOP_SAMPLES
    log_mel = logmel.log_mel(x, rate)
    per_second = logmel.pool_per_second(log_mel)
    clip = logmel.clip_level(per_second)
    fps = int(round(1.0 / logmel.HOP_SECONDS))
    bounds_s = _second_bounds(log_mel.shape[0], fps) * logmel.HOP_SECONDS

    fig = plt.figure(figsize=(7.5, 8.2))
    grid = fig.add_gridspec(3, 3, height_ratios=[1.0, 1.3, 1.2], hspace=0.62, wspace=0.35)
    ax_wave = fig.add_subplot(grid[0, :2])
    t = np.arange(x.size) / rate
    ax_wave.plot(t, x, lw=0.5, color="#4c72b0")
    for b in bounds_s:
        ax_wave.axvline(b, color="k", ls="--", lw=0.8)
    ax_wave.set_xlabel("time (s)", fontsize=10)
    ax_wave.set_ylabel("amplitude", fontsize=10)
    ax_wave.set_title(f"(a) waveform, {rate} Hz; dashed: 1 s windows", fontsize=10)

    ax_zoom = fig.add_subplot(grid[0, 2])
    energy = log_mel.sum(axis=1)
    first = int(min(max(np.argmax(energy) - 1, 0), max(log_mel.shape[0] - 4, 0)))
    lo, hi = first * H, first * H + 3 * H + W
    seg = x[lo:hi]
    peak = max(float(np.abs(seg).max()), 1e-9)
    ms = 1000.0 * (np.arange(lo, hi) - lo) / rate
    ax_zoom.plot(ms, seg / peak, lw=0.6, color="#4c72b0")
    hann = logmel.periodic_hann(W)
    for j, colour in enumerate(("#dd8452", "#55a868", "#c44e52", "#8172b3")):
        start = j * H
        ax_zoom.plot(1000.0 * (start + np.arange(W)) / rate, hann, color=colour, lw=1.2)
    ax_zoom.set_xlabel("time (ms)", fontsize=10)
    ax_zoom.set_title(f"(b) 4 frames: {1000 * W / rate:.0f} ms\n"
                      f"windows, {1000 * H / rate:.0f} ms hop", fontsize=10)
    ax_zoom.set_yticks([])

    ax_mel = fig.add_subplot(grid[1, :])
    extent = (0.0, log_mel.shape[0] * logmel.HOP_SECONDS, -0.5, log_mel.shape[1] - 0.5)
    im = ax_mel.imshow(log_mel.T, origin="lower", aspect="auto", cmap="magma", extent=extent,
                       interpolation="nearest")
    for b in bounds_s:
        ax_mel.axvline(b, color="w", ls="--", lw=0.9)
    centres = logmel.mel_centre_frequencies()
    ticks = np.linspace(0, log_mel.shape[1] - 1, 5).round().astype(int)
    ax_mel.set_yticks(ticks, labels=[f"{centres[k]:.0f}" for k in ticks])
    ax_mel.set_ylabel("mel band centre (Hz)", fontsize=10)
    ax_mel.set_xlabel(f"time (s): one column per {logmel.HOP_SECONDS * 1000:.0f} ms frame",
                      fontsize=10)
    ax_mel.set_title(f"(c) log-mel spectrogram, {log_mel.shape[0]} frames × "
                     f"{log_mel.shape[1]} bands", fontsize=10)
    bar = fig.colorbar(im, ax=ax_mel, fraction=0.03, pad=0.01)
    bar.set_label(f"log(mel + {logmel.LOG_OFFSET})", fontsize=10)
    bar.ax.tick_params(labelsize=10)

    ax_vec = fig.add_subplot(grid[2, :])
    n_bands = log_mel.shape[1]
    for s, vec in enumerate(per_second):
        ax_vec.plot(np.arange(vec.size), vec, lw=1.0, label=f"second {s + 1}")
    ax_vec.plot(np.arange(clip.size), clip, color="k", ls="--", lw=1.2, label="clip vector (mean)")
    ax_vec.axvline(n_bands - 0.5, color="grey", lw=0.8)
    ax_vec.set_xlabel(f"feature dimension: 0 to {n_bands - 1} band means, {n_bands} to "
                      f"{2 * n_bands - 1} band standard deviations", fontsize=10)
    ax_vec.set_ylabel("value", fontsize=10)
    ax_vec.set_title(f"(d) pooled per second ({per_second.shape[1]}-d) and the clip vector",
                     fontsize=10)
    ax_vec.legend(fontsize=10, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.32),
                  frameon=False)
    for ax in (ax_wave, ax_zoom, ax_mel, ax_vec):
        ax.tick_params(labelsize=10)
    fig.suptitle(title, fontsize=11)
    return fig


# --- the folds ----------------------------------------------------------------------------------
def split_sizes(ds: PairedDataset) -> pd.DataFrame:
    """One row per evaluation split: training and test clips, the clips in both (must be 0) and
    the clips in neither (must be 0)."""
    rows = []
    for split in ds.splits():
        shared = np.intersect1d(split.train, split.test).size
        neither = ds.n_clips - np.union1d(split.train, split.test).size
        rows.append({"split": split.name, "train": int(split.train.size),
                     "test": int(split.test.size), "in_both": int(shared),
                     "in_neither": int(neither)})
    return pd.DataFrame(rows)


def split_sizes_view(splits: pd.DataFrame) -> pd.DataFrame:
    """:func:`split_sizes` for reading: human column headers, the splits in their order."""
    return splits.rename(columns={"split": "split (test fold)", "train": "training clips",
                                  "test": "test clips", "in_both": "clips in both",
                                  "in_neither": "clips in neither"})


def count_span(values: np.ndarray) -> str:
    """``"1600"`` when every value is the same, else ``"1599 to 1601"``."""
    values = np.asarray(values)
    lo, hi = int(values.min()), int(values.max())
    return f"{lo}" if lo == hi else f"{lo} to {hi}"


def seconds_counts_text(ds: PairedDataset) -> str:
    """How many clips have each number of seconds, e.g. ``"955 clips of 1 s, 1045 clips of
    2 s"``."""
    if ds.seq_len is None:
        return "this dataset keeps no per-second sequences"
    lengths, counts = np.unique(np.asarray(ds.seq_len), return_counts=True)
    return ", ".join(f"{c} clips of {s} s" for s, c in zip(lengths, counts, strict=True))
