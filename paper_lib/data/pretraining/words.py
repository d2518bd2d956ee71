"""Spoken English words that are not digits: the audio network's pretraining corpus.

The paper's audio features come from VGGish, trained on YouTube audio with AudioSet-style labels
that have nothing to do with the spoken digits of avdigits. This corpus plays that role in the
build: 20 words, none of them a digit, rendered by :mod:`paper_lib.data.speech` exactly as
:mod:`paper_lib.data.avdigits` renders its digits (the same voices, rates, pitches, gains, noise
levels and random placement), so the network learns the acoustics of the avdigits recordings
without ever hearing a digit or seeing a digit label.

Per clip ``i`` of word ``w = words[labels[i]]`` (every draw from
``numpy.random.SeedSequence([seed, 18])``, a stream of its own, so no draw coincides with
avdigits', whose root is ``SeedSequence(seed)``):

1. :func:`paper_lib.data.speech.plan_clips` draws voice, rate, pitch, pitch range, gain, SNR and
   placement from the same ranges as avdigits; the clip length is always
   ``WORD_CLIP_SECONDS`` = 1 s;
2. :func:`paper_lib.data.speech.synthesise` (one fresh eSpeak process for the whole corpus) and
   :func:`paper_lib.data.speech.render_clips` make the int16 16 kHz clip;
3. :func:`paper_lib.data.pretraining.words.word_patches` computes the VGGish front-end
   (:func:`paper_lib.extract.logmel.log_mel`: 25 ms windows, 10 ms hop, 64 mel bands) and cuts the
   0.96 s x 64-band input patch (:func:`paper_lib.extract.logmel.frame_examples`): a 1 s clip has
   98 frames, hence exactly one patch, which covers the word and both of its 50 ms margins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from paper_lib.data import speech
from paper_lib.data.avdigits import DIGITS
from paper_lib.data.speech import (
    DEFAULT_VOICES,
    PITCH_RANGE,
    RATE_RANGE,
    SAMPLE_RATE,
    SNR_DB,
    synthesise,
)
from paper_lib.errors import DataError, ParamError, check_int
from paper_lib.extract.logmel import EXAMPLE_FRAMES, NUM_MEL_BINS, frame_examples, log_mel_many

# [choice] The ten Speech Commands command words that are not digits, plus ten of its auxiliary
# and v2 words (minus "tree", which sounds like "three", "forward", which starts with "four", and
# the names "marvin" and "sheila"): short, common words of one or two syllables with varied
# vowels, stops, fricatives and nasals; at the slowest rate (120 words/min) the longest lasts
# 0.84 s ("learn"; measured over the 12 default voices and the extreme pitches), so each fits in
# a 1 s clip with its two 50 ms margins.
WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go",
         "bed", "bird", "cat", "dog", "happy", "house", "wow", "learn", "follow", "visual")
#: the spoken digits of avdigits, "zero" .. "nine" (its ``DIGITS``)
DIGIT_WORDS: tuple[str, ...] = DIGITS
# [choice] Words that sound like a digit: exact homophones ("oh" for zero, "won", "to"/"too",
# "for"/"fore", "ate", "sicks"/"sics"), accent and radio variants ("tree"/"free" for three, "fife"
# for five, "niner"), and the German "nein". Spelling, not phonetics: a conservative check.
DIGIT_HOMOPHONES = ("oh", "o", "nought", "naught", "won", "to", "too", "for", "fore", "ate",
                    "sicks", "sics", "tree", "free", "fife", "nein", "niner")
#: forbidden words shorter than this are refused only as whole words ("to" must not refuse "stop")
MIN_SUBSTRING = 3
# [choice] 1 s clips: exactly one 0.96 s VGGish patch per clip, so every patch holds the word
WORD_CLIP_SECONDS = 1
DEFAULT_N_PER_WORD = 100                  # [choice] 20 x 100 = 2,000 clips, as many as avdigits.
#: the tag mixed into the seed: ``SeedSequence([seed, SEED_TAG])`` (18, the issue's number)
SEED_TAG = 18


def check_disjoint(words: Sequence[str]) -> None:
    """Refuse any word that is, contains or sounds like a digit.

    A word (lower-cased, stripped) is refused when it equals one of ``DIGIT_WORDS`` ("zero" ..
    "nine") or ``DIGIT_HOMOPHONES`` ("oh", "won", "to", "too", "for", "ate", "tree", ...), or
    contains one of them of at least ``MIN_SUBSTRING`` letters ("someone" contains "one", "forty"
    contains "for").

    Parameters
    ----------
    words : sequence of str
        The vocabulary to check.

    Raises
    ------
    paper_lib.errors.ParamError
        Naming the word and the digit word it equals or contains (or a word that is not a string).
    """
    for word in words:
        if not isinstance(word, str):
            raise ParamError(f"words: expected strings, got {word!r}")
        w = word.strip().lower()
        for digit in (*DIGIT_WORDS, *DIGIT_HOMOPHONES):
            if w == digit or (len(digit) >= MIN_SUBSTRING and digit in w):
                kind = "digit" if digit in DIGIT_WORDS else "digit homophone"
                relation = "is" if w == digit else "contains"
                raise ParamError(f"words: {word!r} {relation} the {kind} {digit!r}; pretraining "
                                 "words must not be, contain or sound like a digit (zero..nine)")


def _check_words(words: Sequence[str]) -> tuple[str, ...]:
    if isinstance(words, str) or len(words) < 2 \
            or any(not isinstance(w, str) or not w.strip() for w in words):
        raise ParamError(f"words must be a list of at least 2 non-empty words, got {words!r}")
    if len({w.strip().lower() for w in words}) != len(words):
        raise ParamError(f"words must be distinct, got {words!r}")
    check_disjoint(words)
    return tuple(words)




@dataclass(frozen=True, eq=False)
class WordCorpus:
    """Spoken words rendered into 1 s clips.

    Attributes
    ----------
    waveforms : list of numpy.ndarray
        One (16000,) int16 waveform at 16 kHz per clip.
    labels : numpy.ndarray
        (N,) int64 index into ``words`` of each clip's word.
    words : tuple of str
        The vocabulary; ``words[labels[i]]`` is said in clip ``i``.
    """

    waveforms: list[np.ndarray]
    labels: np.ndarray
    words: tuple[str, ...]


def make_word_corpus(seed: int = 0, n_per_word: int = DEFAULT_N_PER_WORD,
                     voices: Sequence[str] = DEFAULT_VOICES,
                     rate_range: tuple[int, int] = RATE_RANGE,
                     pitch_range: tuple[int, int] = PITCH_RANGE,
                     snr_db: tuple[float, float] = SNR_DB,
                     words: Sequence[str] = WORDS) -> WordCorpus:
    """Render ``n_per_word`` clips of every word (see the module docstring); no cache.

    Parameters
    ----------
    seed : int, default=0
        Root of every draw (``numpy.random.SeedSequence([seed, 18])``); same seed, same clips.
    n_per_word : int, default=100
        Clips per word; the labels are balanced (``n_per_word`` of each word, in word order).
    voices, rate_range, pitch_range, snr_db
        As :func:`paper_lib.data.avdigits.make_avdigits` (checked by
        :func:`paper_lib.data.speech.check_rendering_args`).
    words : sequence of str, default=WORDS
        The vocabulary, at least 2 distinct words, checked by
        :func:`paper_lib.data.pretraining.words.check_disjoint`.

    Returns
    -------
    WordCorpus
        ``len(words) * n_per_word`` clips of exactly 1 s.

    Raises
    ------
    paper_lib.errors.ParamError
        A bad argument (named), a digit among the words, or a word too long for a 1 s clip at
        the slowest rate of ``rate_range``.
    paper_lib.data.speech.EspeakError
        eSpeak NG cannot synthesise (e.g. an unknown voice, named).
    """
    seed = check_int(seed, "seed", 0)
    n_per_word = check_int(n_per_word, "n_per_word", 1)
    words = _check_words(words)
    speech.check_rendering_args(voices, rate_range, pitch_range, snr_db, (WORD_CLIP_SECONDS,))
    plan_rng, noise_rng = (np.random.default_rng(s)
                           for s in np.random.SeedSequence([seed, SEED_TAG]).spawn(2))
    labels = np.repeat(np.arange(len(words), dtype=np.int64), n_per_word)
    plan = speech.plan_clips(plan_rng, words, labels, tuple(voices), rate_range, pitch_range,
                             snr_db, (WORD_CLIP_SECONDS,))
    raw, native_rate = synthesise(plan.utterances)
    waveforms = speech.render_clips(plan, raw, native_rate, noise_rng)
    clip_samples = WORD_CLIP_SECONDS * SAMPLE_RATE
    for wave, utt in zip(waveforms, plan.utterances, strict=True):
        if wave.size != clip_samples:
            raise ParamError(f"rate_range: {utt.text!r} said by {utt.voice!r} at {utt.rate} "
                             f"words/min does not fit in a {WORD_CLIP_SECONDS} s clip with "
                             f"{speech.MARGIN_SECONDS * 1000:.0f} ms margins; raise the slowest "
                             f"rate (got {rate_range}) or choose shorter words")
    return WordCorpus(waveforms=waveforms, labels=labels, words=words)


def word_patches(corpus: WordCorpus) -> tuple[np.ndarray, np.ndarray]:
    """VGGish input patches of every clip and their labels.

    The VGGish front-end: :func:`paper_lib.extract.logmel.log_mel_many` (log-mel, 64 bands, 10 ms
    hop) cut into 96-frame patches by :func:`paper_lib.extract.logmel.frame_examples`; a 1 s clip
    gives exactly one patch.

    Parameters
    ----------
    corpus : WordCorpus
        From :func:`paper_lib.data.pretraining.words.make_word_corpus`.

    Returns
    -------
    patches : numpy.ndarray
        (M, 96, 64) float32 log-mel patches, clip after clip (M = number of clips for 1 s clips).
    labels : numpy.ndarray
        (M,) int64 word index of each patch (its clip's label).

    Raises
    ------
    paper_lib.errors.DataError
        The corpus is empty, its labels do not match its clips, or a clip is shorter than one patch.
    """
    labels = np.asarray(corpus.labels)
    if not corpus.waveforms or labels.shape != (len(corpus.waveforms),):
        raise DataError(f"corpus: expected one label per clip and at least one clip, got "
                        f"{len(corpus.waveforms)} clips and labels of shape {labels.shape}")
    per_clip = [frame_examples(lm) for lm in log_mel_many(corpus.waveforms, SAMPLE_RATE)]
    counts = np.array([p.shape[0] for p in per_clip])
    if (counts == 0).any():
        short = int(np.flatnonzero(counts == 0)[0])
        raise DataError(f"corpus: clip {short} ({corpus.waveforms[short].size} samples) is "
                        f"shorter than one {EXAMPLE_FRAMES}-frame patch")
    patches = np.concatenate(per_clip).astype(np.float32)
    assert patches.shape[1:] == (EXAMPLE_FRAMES, NUM_MEL_BINS)
    return patches, np.repeat(labels.astype(np.int64), counts)
