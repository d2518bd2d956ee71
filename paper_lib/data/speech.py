"""Spoken words synthesised offline with eSpeak NG, rendered into noisy 16 kHz clips.

The one home of the speech machinery shared by the embedded avdigits dataset
(:mod:`paper_lib.data.avdigits`, spoken digits) and the spoken-word pretraining corpus
(:mod:`paper_lib.data.pretraining.words`, words that are not digits), so that both render their
clips the same way. The eSpeak NG library and its voice data ship inside the ``espeakng-loader``
wheel; no download is needed.

Per clip ``i`` with word ``words[labels[i]]`` (every draw from the caller's seeded generators):

1. :func:`plan_clips`: voice ~ U(``voices``), rate ~ U{``rate_range``} words/min, pitch and pitch
   range ~ U{``pitch_range``} (eSpeak's 0-100 scales), clip length ~ U{``clip_seconds``} whole
   seconds, gain ~ U[``GAIN_DB``] dB, SNR ~ U[``snr_db``] dB and a placement in [0, 1);
2. :func:`synthesise`: eSpeak synthesises the word at its native 22,050 Hz;
   :func:`render_clips` resamples it to 16 kHz (polyphase,
   :func:`paper_lib.extract.logmel.resample`);
3. :func:`render_clip`: the speech is scaled to a peak of ``0.5 * 10^(gain/20)`` and placed at the
   planned offset inside a clip of the planned length (longer if the word does not fit), with at
   least ``MARGIN_SECONDS`` of margin on each side; white Gaussian noise is added at the planned SNR
   relative to the speech's mean power; the clip is clipped to [-1, 1] and stored as 16-bit PCM.

eSpeak NG keeps internal synthesiser state between utterances (pitch-flutter phase, echo buffer,
automatic gain), so the same utterance comes out slightly differently depending on what was said
before in the same process, and its breath-noise generator starts from a different seed in every
process unless one is set. To make the clips bit-reproducible, the noise generator is seeded
before every utterance and :func:`synthesise` runs every batch of utterances in a fresh Python
process, where the same list of requests always gives the same samples.
"""

from __future__ import annotations

import ctypes
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

from paper_lib import paths
from paper_lib._optional import require
from paper_lib.errors import ParamError
from paper_lib.extract import logmel
from paper_lib.extract.logmel import resample

#: sample rate of the rendered clips: 16 kHz, the VGGish front-end's rate
SAMPLE_RATE = logmel.SAMPLE_RATE

# [choice] English voices shipped with espeak-ng-data, plain and with voice variants
# (m = male, f = female timbres from voices/!v/); every name is checked before synthesis.
DEFAULT_VOICES = ("en", "en-us", "en-gb-x-rp", "en-gb-scotland", "en-029", "en-us-nyc",
                  "en+f2", "en-us+f4", "en-gb-x-rp+m3", "en-us+m1", "en-029+f1", "en+m7")
RATE_RANGE = (120, 220)                   # [choice] words per minute (eSpeak default 175)
PITCH_RANGE = (20, 80)                    # [choice] eSpeak pitch and pitch-range, 0..100 (default 50)
SNR_DB = (5.0, 25.0)                      # [choice] white noise, dB below the speech power
CLIP_SECONDS = (1, 2)                     # [choice] clip length drawn from these whole seconds
GAIN_DB = (-10.0, 0.0)                    # [choice] speech peak = 0.5 * 10^(gain/20)
MARGIN_SECONDS = 0.05                     # silence kept before and after the word
RANDOM_SEED = 1                           # eSpeak's breath-noise generator, reset per utterance
#: eSpeak NG's speaking-rate limits, words per minute (``espeak_SetParameter``)
ESPEAK_RATE_LIMITS = (80, 450)

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
    """One synthesis request.

    Attributes
    ----------
    text : str
        What to say (one word here).
    voice : str
        eSpeak NG voice name, optionally with a variant (``"en+f2"``).
    rate : int
        Speaking rate in words per minute.
    pitch : int
        Base pitch, 0..100.
    pitch_range : int
        Pitch range (intonation), 0..100.
    """

    text: str
    voice: str = "en"
    rate: int = 175       # words per minute
    pitch: int = 50       # 0..100
    pitch_range: int = 50  # 0..100 (intonation)


# --- eSpeak NG through ctypes ---------------------------------------------------------------
def default_espeak_paths() -> tuple[str, str]:
    """The eSpeak NG shipped in the ``espeakng-loader`` wheel.

    Returns
    -------
    tuple of str
        (library path, data path).
    """
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
_WORKER_COMMAND = "from paper_lib.data.speech import _worker_main; _worker_main()"


def synthesise(utterances: Sequence[Utterance], library_path: str | None = None,
               data_path: str | None = None) -> tuple[list[np.ndarray], int]:
    """Synthesise ``utterances`` with eSpeak NG in a fresh process.

    A fresh Python process per call (``python -c``, so no ``__main__`` guard is needed in the
    caller) makes the output a pure function of the request list (see the module docstring).

    Parameters
    ----------
    utterances : sequence of Utterance
        The requests, synthesised in this order by one eSpeak instance.
    library_path, data_path : str, optional
        The eSpeak NG library and its data folder; default
        :func:`paper_lib.data.speech.default_espeak_paths`.

    Returns
    -------
    waveforms : list of numpy.ndarray
        One (samples,) int16 waveform per utterance.
    sample_rate : int
        eSpeak's native rate (22,050 Hz).

    Raises
    ------
    EspeakError
        eSpeak cannot be loaded (the message names the library path), a voice is unknown (named),
        or the worker failed.
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


# --- clip rendering -------------------------------------------------------------------------
def check_rendering_args(voices: Sequence[str], rate_range: tuple[int, int],
                         pitch_range: tuple[int, int], snr_db: tuple[float, float],
                         clip_seconds: Sequence[int]) -> None:
    """Check the rendering arguments of :func:`paper_lib.data.speech.plan_clips`.

    Raises
    ------
    paper_lib.errors.ParamError
        Naming the argument and its allowed values: ``voices`` a non-empty list of voice names,
        ``rate_range`` within eSpeak's 80..450 words/min, ``pitch_range`` within 0..100,
        ``snr_db`` as (low, high), ``clip_seconds`` positive whole seconds.
    """
    if isinstance(voices, str) or not voices or any(not isinstance(v, str) or not v
                                                    for v in voices):
        raise ParamError(f"voices must be a non-empty list of eSpeak voice names, got {voices!r}")
    low, high = ESPEAK_RATE_LIMITS
    if not low <= rate_range[0] <= rate_range[1] <= high:
        raise ParamError(f"rate_range must lie within eSpeak's {low}..{high} words/min, "
                         f"got {rate_range}")
    if not 0 <= pitch_range[0] <= pitch_range[1] <= 100:
        raise ParamError(f"pitch_range must lie within 0..100, got {pitch_range}")
    if snr_db[0] > snr_db[1]:
        raise ParamError(f"snr_db must be (low, high), got {snr_db}")
    if not clip_seconds or min(clip_seconds) < 1:
        raise ParamError(f"clip_seconds must be positive whole seconds, got {clip_seconds}")


@dataclass(frozen=True)
class ClipPlan:
    """Random draws of every clip, made before synthesis (so they do not depend on its output).

    Attributes
    ----------
    utterances : list of Utterance
        What eSpeak says for each clip (word, voice, rate, pitch, pitch range).
    seconds : numpy.ndarray
        (N,) requested clip length in whole seconds.
    gain_db : numpy.ndarray
        (N,) speech peak gain in dB (peak ``0.5 * 10^(gain/20)``).
    snr_db : numpy.ndarray
        (N,) signal-to-noise ratio of the added white noise, in dB.
    placement : numpy.ndarray
        (N,) in [0, 1): where the word sits in the free space of its clip.
    """

    utterances: list[Utterance]
    seconds: np.ndarray
    gain_db: np.ndarray
    snr_db: np.ndarray
    placement: np.ndarray


def plan_clips(rng: np.random.Generator, words: Sequence[str], labels: np.ndarray,
               voices: Sequence[str], rate_range: tuple[int, int],
               pitch_range: tuple[int, int], snr_db: tuple[float, float],
               clip_seconds: Sequence[int]) -> ClipPlan:
    """Draw every random choice of the clips from ``rng`` (step 1 of the module docstring).

    Parameters
    ----------
    rng : numpy.random.Generator
        The seeded generator of the plan.
    words : sequence of str
        The vocabulary; the word of clip ``i`` is ``words[labels[i]]``.
    labels : numpy.ndarray
        (N,) integer class of each clip.
    voices, rate_range, pitch_range, snr_db, clip_seconds
        The ranges drawn from uniformly (see :func:`paper_lib.data.speech.check_rendering_args`).

    Returns
    -------
    ClipPlan
        The draws, in the order: voice, rate, pitch, pitch range (all N), then clip length,
        gain, SNR and placement.
    """
    n = labels.size
    voice_ix = rng.integers(0, len(voices), n)
    rates = rng.integers(rate_range[0], rate_range[1] + 1, n)
    pitches = rng.integers(pitch_range[0], pitch_range[1] + 1, n)
    ranges = rng.integers(pitch_range[0], pitch_range[1] + 1, n)
    utterances = [Utterance(words[y], voices[v], int(r), int(p), int(q))
                  for y, v, r, p, q in zip(labels, voice_ix, rates, pitches, ranges, strict=True)]
    return ClipPlan(utterances=utterances,
                    seconds=rng.choice(np.asarray(clip_seconds, dtype=np.int64), n),
                    gain_db=rng.uniform(*GAIN_DB, n), snr_db=rng.uniform(*snr_db, n),
                    placement=rng.uniform(0.0, 1.0, n))


def render_clip(speech: np.ndarray, seconds: int, gain_db: float, snr_db: float,
                placement: float, rng: np.random.Generator) -> np.ndarray:
    """One clip: the scaled word at its offset plus white noise (step 3 of the module docstring).

    Parameters
    ----------
    speech : numpy.ndarray
        (samples,) float speech at 16 kHz.
    seconds : int
        Requested clip length; the clip is longer (whole seconds) when the word and its two
        margins of ``MARGIN_SECONDS`` do not fit.
    gain_db : float
        The speech is scaled to a peak of ``0.5 * 10^(gain_db/20)``.
    snr_db : float
        Noise power = mean speech power / ``10^(snr_db/10)``.
    placement : float
        In [0, 1): the word starts ``margin + floor(placement * (free + 1))`` samples in, where
        ``free`` is the clip length minus the word and both margins.
    rng : numpy.random.Generator
        Draws the noise (one standard normal per sample).

    Returns
    -------
    numpy.ndarray
        (samples,) int16 16 kHz clip, ``round(clip(x, -1, 1) * 32767)``.
    """
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


def render_clips(plan: ClipPlan, raw: Sequence[np.ndarray], sample_rate: int,
                 rng: np.random.Generator) -> list[np.ndarray]:
    """Render every planned clip from its synthesised speech (steps 2-3 of the module docstring).

    Parameters
    ----------
    plan : ClipPlan
        The draws of :func:`paper_lib.data.speech.plan_clips`.
    raw : sequence of numpy.ndarray
        The int16 waveforms :func:`paper_lib.data.speech.synthesise` returned for
        ``plan.utterances``, in order.
    sample_rate : int
        Their sample rate; resampled to 16 kHz (:func:`paper_lib.extract.logmel.resample`).
    rng : numpy.random.Generator
        The noise generator, drawn from clip after clip.

    Returns
    -------
    list of numpy.ndarray
        One (samples,) int16 16 kHz clip per planned clip.
    """
    return [render_clip(resample(r / 32768.0, sample_rate), plan.seconds[i], plan.gain_db[i],
                        plan.snr_db[i], plan.placement[i], rng)
            for i, r in enumerate(raw)]
