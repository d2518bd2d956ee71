"""VGGish-style log-mel audio front-end in numpy/scipy, pooled per second and per clip.

The paper's audio features for VEGAS are VGGish embeddings (128-d per second). VGGish itself is a
CNN on log-mel patches; its input front-end is fully specified by the public ``vggish_params.py`` /
``mel_features.py`` of the AudioSet release, and this module follows it step by step:

1. mono (mean over channels), 16 kHz (polyphase resampling, ``scipy.signal.resample_poly``);
2. frames of 25 ms (``W = 400`` samples) every 10 ms (``H = 160``):
   ``n_frames = 1 + floor((n_samples - W) / H)`` (a trailing partial frame is dropped);
3. periodic Hann window ``w[n] = 0.5 - 0.5 cos(2 pi n / W)``, FFT of length ``N = 512`` (the next
   power of two), magnitude ``|X_t[k]|`` for ``k = 0..N/2`` (257 bins; magnitude, not power, as in
   VGGish);
4. 64 triangular mel filters spaced linearly on the HTK mel scale
   ``m(f) = 1127 ln(1 + f / 700)`` between 125 Hz and 7,500 Hz: with 66 equally spaced edges
   ``e_0 < ... < e_65`` (in mel), filter ``j`` is ``max(0, min((m - e_j)/(e_{j+1} - e_j),
   (e_{j+2} - m)/(e_{j+2} - e_{j+1})))`` evaluated at each FFT bin's mel value, with the DC bin
   zeroed;
5. ``log(mel + 0.01)``  (VGGish's ``LOG_OFFSET``).

VGGish then cuts 96-frame (0.96 s) patches (:func:`frame_examples`) and runs its CNN on them. The CNN
and its weights (and the Inception V3 visual extractor) are a later issue: they cannot be fetched in
this workplace. Until then the project's audio feature is a transparent pooling of the log-mel
frames (:func:`pool_per_second`): per second, the mean and standard deviation of each of the 64
bands (128-d, the width of a VGGish embedding), and per clip the mean over seconds (what the paper
does with VGGish embeddings).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import gcd

import numpy as np
from numpy.typing import ArrayLike
from scipy.signal import resample_poly

from paper_lib.errors import ParamError

# --- VGGish front-end constants (vggish_params.py) ---------------------------------------------
SAMPLE_RATE = 16_000          # Hz
WINDOW_SECONDS = 0.025        # STFT window, 25 ms -> 400 samples
HOP_SECONDS = 0.010           # STFT hop, 10 ms -> 160 samples (100 frames per second)
NUM_MEL_BINS = 64
MEL_MIN_HZ = 125.0
MEL_MAX_HZ = 7_500.0
LOG_OFFSET = 0.01             # log(mel + 0.01) keeps silence finite
EXAMPLE_FRAMES = 96           # VGGish patch: 0.96 s of 10 ms frames

WINDOW_SAMPLES = int(round(WINDOW_SECONDS * SAMPLE_RATE))   # 400
HOP_SAMPLES = int(round(HOP_SECONDS * SAMPLE_RATE))         # 160
FFT_LENGTH = 2 ** int(np.ceil(np.log2(WINDOW_SAMPLES)))     # 512
MAX_CHANNELS = 8              # a 2-d input with more "channels" is taken as a transposed array


# --- mel scale and filterbank ------------------------------------------------------------------
def hertz_to_mel(frequencies_hz: ArrayLike) -> np.ndarray:
    """HTK mel scale used by VGGish: ``m(f) = 1127 ln(1 + f / 700)``."""
    return 1127.0 * np.log1p(np.asarray(frequencies_hz, dtype=np.float64) / 700.0)


def mel_to_hertz(mels: ArrayLike) -> np.ndarray:
    """Inverse of :func:`hertz_to_mel`: ``f(m) = 700 (exp(m / 1127) - 1)``."""
    return 700.0 * np.expm1(np.asarray(mels, dtype=np.float64) / 1127.0)


def _band_edges_mel(n_mels: int, f_min: float, f_max: float) -> np.ndarray:
    """The ``n_mels + 2`` equally spaced mel edges ``e_0..e_{n+1}``; band j peaks at ``e_{j+1}``."""
    return np.linspace(hertz_to_mel(f_min), hertz_to_mel(f_max), n_mels + 2)


def mel_centre_frequencies(n_mels: int = NUM_MEL_BINS, f_min: float = MEL_MIN_HZ,
                           f_max: float = MEL_MAX_HZ) -> np.ndarray:
    """(n_mels,) centre frequency of each mel band in Hz (strictly increasing)."""
    return mel_to_hertz(_band_edges_mel(n_mels, f_min, f_max)[1:-1])


def mel_filterbank(n_mels: int = NUM_MEL_BINS, n_fft: int = FFT_LENGTH,
                   sample_rate: int = SAMPLE_RATE, f_min: float = MEL_MIN_HZ,
                   f_max: float = MEL_MAX_HZ) -> np.ndarray:
    """(n_fft // 2 + 1, n_mels) triangular mel weights, as VGGish's ``spectrogram_to_mel_matrix``.

    Column j is the triangle rising from edge ``e_j`` to 1 at ``e_{j+1}`` and falling to 0 at
    ``e_{j+2}`` (in mel); the FFT bins are taken at ``k * sr / n_fft`` Hz. The triangles are not
    area-normalised (peak 1), so between the first and the last centre the weights of each FFT bin
    sum to one.
    """
    nyquist = sample_rate / 2.0
    if not 0.0 <= f_min < f_max <= nyquist:
        raise ValueError(f"mel_filterbank: need 0 <= f_min < f_max <= Nyquist ({nyquist} Hz), got "
                         f"f_min={f_min}, f_max={f_max}")
    if n_mels < 1:
        raise ValueError(f"mel_filterbank: n_mels must be positive, got {n_mels}")
    bins_mel = hertz_to_mel(np.linspace(0.0, nyquist, n_fft // 2 + 1))[:, None]   # (K, 1)
    edges = _band_edges_mel(n_mels, f_min, f_max)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]                     # (n_mels,)
    rising = (bins_mel - lower) / (centre - lower)
    falling = (upper - bins_mel) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))                         # (K, n_mels)
    weights[0, :] = 0.0          # VGGish zeroes the DC bin
    return weights


# --- waveform preparation ----------------------------------------------------------------------
def _to_mono_float(waveform: ArrayLike) -> np.ndarray:
    """1-d float64 waveform in [-1, 1]: integers scaled by 2^(bits-1), channels averaged."""
    x = np.asarray(waveform)
    if x.dtype == bool or not (np.issubdtype(x.dtype, np.number)):
        raise ValueError(f"waveform: expected numeric samples, got dtype {x.dtype}")
    if np.issubdtype(x.dtype, np.unsignedinteger) or np.issubdtype(x.dtype, np.complexfloating):
        raise ValueError(f"waveform: dtype {x.dtype} is not supported (use signed integers, e.g. "
                         "int16 PCM, or floats in [-1, 1])")
    if np.issubdtype(x.dtype, np.signedinteger):
        x = x.astype(np.float64) / float(2 ** (8 * x.dtype.itemsize - 1))   # int16 -> /32768
    else:
        x = x.astype(np.float64)
    if x.ndim == 2:
        if x.shape[1] > MAX_CHANNELS:
            raise ValueError(f"waveform: shape {x.shape} - expected (samples, channels) with at most "
                             f"{MAX_CHANNELS} channels; transpose a (channels, samples) array")
        x = x.mean(axis=1)       # VGGish: stereo -> mono by averaging channels
    elif x.ndim != 1:
        raise ValueError(f"waveform: expected a 1-d (samples,) or 2-d (samples, channels) array, "
                         f"got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("waveform: contains NaN or inf samples")
    return x


def resample(waveform: np.ndarray, sample_rate: int, target_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling ``sample_rate -> target_rate`` (e.g. 44.1 kHz: up 160, down 441)."""
    sr = _check_rate(sample_rate)
    if sr == target_rate:
        return waveform
    g = gcd(sr, target_rate)
    return resample_poly(waveform, target_rate // g, sr // g)


def _check_rate(sample_rate: int | float) -> int:
    if isinstance(sample_rate, bool) or not float(sample_rate).is_integer() or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive whole number of Hz, got {sample_rate!r}")
    return int(sample_rate)


def frame(x: np.ndarray, window: int, hop: int) -> np.ndarray:
    """(1 + (len(x) - window) // hop, window, ...) overlapping frames (views, no copy)."""
    n = x.shape[0]
    if n < window:
        raise ValueError(f"frame: {n} rows are fewer than one window of {window}")
    windows = np.lib.stride_tricks.sliding_window_view(x, window, axis=0)[::hop]
    # sliding_window_view puts the window axis last; move it next to the frame axis
    return np.moveaxis(windows, -1, 1)


def periodic_hann(window: int) -> np.ndarray:
    """Periodic Hann window ``0.5 - 0.5 cos(2 pi n / W)``, n = 0..W-1 (VGGish's choice)."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi / window * np.arange(window))


# --- spectrogram, log-mel -----------------------------------------------------------------------
def stft_magnitude(waveform_16k: np.ndarray) -> np.ndarray:
    """(n_frames, 257) magnitude spectrogram ``|FFT_512(w * x_t)|`` of a 16 kHz mono waveform."""
    if waveform_16k.shape[0] < WINDOW_SAMPLES:
        seconds = waveform_16k.shape[0] / SAMPLE_RATE
        raise ValueError(f"waveform: {seconds:.4f} s is shorter than one {WINDOW_SECONDS * 1000:.0f}"
                         f" ms window ({WINDOW_SAMPLES} samples at {SAMPLE_RATE} Hz)")
    frames = frame(waveform_16k, WINDOW_SAMPLES, HOP_SAMPLES)          # (T, 400)
    return np.abs(np.fft.rfft(frames * periodic_hann(WINDOW_SAMPLES), n=FFT_LENGTH, axis=1))


def log_mel(waveform: ArrayLike, sample_rate: int) -> np.ndarray:
    """(n_frames, 64) VGGish log-mel spectrogram ``log(|X| M + 0.01)``.

    ``waveform`` is (samples,) or (samples, channels); int16 PCM is scaled to [-1, 1]. Any sample
    rate is resampled to 16 kHz first. ``n_frames = 1 + (n_16k - 400) // 160``.
    """
    x = resample(_to_mono_float(waveform), sample_rate)
    spectrogram = stft_magnitude(x)                                    # (T, 257)
    mel = spectrogram @ mel_filterbank()                               # (T, 64)
    return np.log(mel + LOG_OFFSET)


def log_mel_many(waveforms: Sequence[ArrayLike], sample_rate: int) -> list[np.ndarray]:
    """:func:`~paper_lib.extract.logmel.log_mel` of many waveforms, with one matrix product for all their frames.

    Equal to ``[log_mel(w, sample_rate) for w in waveforms]``; faster for many short clips
    because the (frames x 257) @ (257 x 64) products are batched into one BLAS call.
    """
    spectrograms = [stft_magnitude(resample(_to_mono_float(w), sample_rate)) for w in waveforms]
    if not spectrograms:
        return []
    mel = np.concatenate(spectrograms) @ mel_filterbank()             # (sum T_i, 64)
    splits = np.cumsum([s.shape[0] for s in spectrograms])[:-1]
    return np.split(np.log(mel + LOG_OFFSET), splits)


# --- pooling ------------------------------------------------------------------------------------
def _second_windows(n_frames: int, frames_per_second: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and end frame of each 1-s window.

    [choice] n_seconds = max(1, floor((n_frames + fps/2) / fps)): a trailing partial second is
    kept when it holds at least half a second of frames, otherwise dropped; a clip shorter than
    that is one window. A clip of exactly k seconds (100 k - 2 frames) gives k windows.
    """
    n_seconds = max(1, (n_frames + frames_per_second // 2) // frames_per_second)
    starts = np.arange(n_seconds) * frames_per_second
    ends = np.minimum(starts + frames_per_second, n_frames)
    return starts, ends


def pool_per_second(logmel: np.ndarray, hop_s: float = HOP_SECONDS,
                    window_s: float = 1.0) -> np.ndarray:
    """(n_seconds, 2 * n_bands) per-second features: [mean | std] of each band over each window.

    [choice] The stand-in for a VGGish embedding: for 64 bands this is 128-d, VGGish's width.
    The standard deviation is the population one (ddof = 0). See ``_second_windows`` for how
    a trailing partial second is handled.
    """
    logmel = np.asarray(logmel, dtype=np.float64)
    if logmel.ndim != 2 or logmel.shape[0] == 0:
        raise ValueError(f"logmel: expected a non-empty (frames, bands) array, got {logmel.shape}")
    if hop_s <= 0 or window_s < hop_s:
        raise ValueError(f"pool_per_second: need 0 < hop_s <= window_s, got {hop_s}, {window_s}")
    fps = int(round(window_s / hop_s))                                  # frames per window: 100
    starts, ends = _second_windows(logmel.shape[0], fps)
    used = logmel[: ends[-1]]
    counts = (ends - starts)[:, None]                                   # (S, 1)
    mean = np.add.reduceat(used, starts, axis=0) / counts               # (S, B)
    centred = used - np.repeat(mean, (ends - starts), axis=0)           # x_t - mean_s(t)
    std = np.sqrt(np.add.reduceat(centred ** 2, starts, axis=0) / counts)
    return np.concatenate([mean, std], axis=1)


def clip_level(per_second: np.ndarray, seq_len: np.ndarray | None = None) -> np.ndarray:
    """Mean over the valid seconds (the paper's clip-level feature).

    ``per_second`` is (S, d) for one clip, or (N, T, d) zero-padded with ``seq_len`` (N,) valid
    seconds per clip. The mean is accumulated in float64.
    """
    x = np.asarray(per_second)
    if x.ndim == 2:
        return x.mean(axis=0, dtype=np.float64)
    if x.ndim != 3 or seq_len is None:
        raise ValueError(f"clip_level: expected (S, d), or (N, T, d) with seq_len; got {x.shape}")
    seq_len = np.asarray(seq_len)
    if seq_len.shape != (x.shape[0],) or seq_len.min() < 1 or seq_len.max() > x.shape[1]:
        raise ValueError(f"clip_level: seq_len must be (N,) values in 1..{x.shape[1]}")
    mask = (np.arange(x.shape[1])[None, :] < seq_len[:, None])          # (N, T)
    sums = np.einsum("nt,ntd->nd", mask.astype(np.float64), x.astype(np.float64))
    return sums / seq_len[:, None]


def frame_examples(logmel: np.ndarray, n_frames: int = EXAMPLE_FRAMES,
                   hop: int | None = None) -> np.ndarray:
    """(n_examples, n_frames, bands) VGGish input patches (96 x 64 = 0.96 s), hop = n_frames.

    A clip shorter than one patch gives zero examples, as in VGGish's ``waveform_to_examples``.
    For the future VGGish extractor; the CNN is not part of this module.
    """
    logmel = np.asarray(logmel)
    if logmel.ndim != 2:
        raise ValueError(f"logmel: expected (frames, bands), got shape {logmel.shape}")
    hop = n_frames if hop is None else hop
    if n_frames < 1 or hop < 1:
        raise ValueError(f"frame_examples: n_frames and hop must be positive, got {n_frames}, {hop}")
    if logmel.shape[0] < n_frames:
        return np.zeros((0, n_frames, logmel.shape[1]), dtype=logmel.dtype)
    return np.ascontiguousarray(frame(logmel, n_frames, hop))


def check_patches(patches: ArrayLike) -> np.ndarray:
    """VGGish input patches as (N, 96, 64) floats: (N, 1, 96, 64) is accepted; a
    :class:`paper_lib.errors.ParamError` for another shape, a non-float dtype, NaN or inf. The
    check of every network that embeds them (:func:`paper_lib.extract.vggish.embed`,
    :func:`paper_lib.extract.audio_net.embed_patches`)."""
    arr = np.asarray(patches)
    if arr.ndim == 4 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 3 or arr.shape[1:] != (EXAMPLE_FRAMES, NUM_MEL_BINS):
        raise ParamError(f"patches: expected shape (N, {EXAMPLE_FRAMES}, {NUM_MEL_BINS}), got "
                         f"{arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        raise ParamError(f"patches: expected float log-mel values, got dtype {arr.dtype}")
    if not np.isfinite(arr).all():
        raise ParamError("patches: contains NaN or inf")
    return arr


def waveform_features(waveform: ArrayLike, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-second (S, 128) and clip-level (128,) features of one waveform."""
    per_second = pool_per_second(log_mel(waveform, sample_rate))
    return per_second, clip_level(per_second)
