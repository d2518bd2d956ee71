"""The raw-media views of a dataset, for methods of input kind ``"media"`` (AVE-Net).

A dataset's ``audio``/``visual`` arrays are clip-level features; a method that learns its own
features from the signals (``paper_lib.methods.ave_net.AVENet``) needs the media themselves.
:func:`media_views` turns what a dataset keeps in ``ds.media`` into two arrays:

- audio: the (N, T, 64) float32 VGGish-style log-mel spectrogram of every waveform
  (:func:`paper_lib.extract.logmel.log_mel_many`: 25 ms windows every 10 ms, 64 mel bands,
  ``log(mel + 0.01)``) of the int16 waveform scaled by 1/32768. All waveforms share the
  dataset's padded length (avdigits: 2 s of 16 kHz, zero-padded), so T is fixed:
  ``1 + (32000 - 400) // 160 = 198`` frames for 2 s; a shorter clip's padding is silence and
  shows as ``log(0.01)`` frames;
- visual: the (N, H, W) float32 images scaled by 1/255 to [0, 1] (avdigits: 28 x 28 MNIST).

The views of the last dataset asked for are kept (read-only) while that dataset object lives:
a fit asks for them twice (training and test rows) and a notebook fits fold after fold, and the
spectrograms of avdigits' 2,000 clips take about 4 s on one thread (a five-fold AVE-Net run
computed them ten times). The two arrays take about 110 MB.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from paper_lib.data.dataset import PairedDataset
from paper_lib.errors import DataError
from paper_lib.extract.logmel import SAMPLE_RATE, log_mel_many

#: the media keys a dataset must keep for :func:`media_views`
MEDIA_KEYS = ("waveforms", "images")
#: clips per batched log-mel call: bounds the float64 spectrograms held at once (~100 MB)
_CHUNK = 250
#: the last dataset's views: {"dataset": weak reference, "views": (audio, visual)}
_LAST: dict[str, Any] = {}


def _no_media(ds: PairedDataset) -> DataError:
    return DataError(f"dataset {ds.name!r} keeps no media (waveforms and images), which AVE-Net "
                     f"needs; it runs on the embedded avdigits dataset")


def media_views(ds: PairedDataset) -> tuple[np.ndarray, np.ndarray]:
    """The raw-media views of every clip: log-mel spectrograms and images.

    Parameters
    ----------
    ds : PairedDataset
        A dataset whose ``media`` holds ``"waveforms"`` (N, n_samples) int16 PCM, zero-padded
        to one length, (``"sample_rate"``, default 16 kHz) and ``"images"`` (N, H, W) or
        (N, H, W, C) uint8.

    Returns
    -------
    audio : ndarray of shape (N, T, 64), float32
        Log-mel spectrogram of each waveform / 32768 (T = 198 for 2 s at 16 kHz).
    visual : ndarray of shape (N, H, W) or (N, H, W, C), float32
        The images / 255, in [0, 1].

    Raises
    ------
    DataError
        When the dataset keeps no media, or the media do not have one row per clip.

    Examples
    --------
    >>> from paper_lib.data.registry import load_dataset
    >>> audio, visual = media_views(load_dataset("avdigits"))     # doctest: +SKIP
    >>> audio.shape, visual.shape                                  # doctest: +SKIP
    ((2000, 198, 64), (2000, 28, 28))
    """
    last = _LAST.get("dataset")
    if last is not None and last() is ds:
        return _LAST["views"]
    audio, visual = _compute_views(ds)
    for array in (audio, visual):
        array.flags.writeable = False          # shared between calls: nobody may change them
    _LAST.clear()                              # the previous dataset's views are released
    _LAST.update(dataset=weakref.ref(ds), views=(audio, visual))
    return audio, visual


def _compute_views(ds: PairedDataset) -> tuple[np.ndarray, np.ndarray]:
    media = ds.media
    if not media or any(media.get(key) is None for key in MEDIA_KEYS):
        raise _no_media(ds)
    waveforms = np.asarray(media["waveforms"])
    images = np.asarray(media["images"])
    n = ds.n_clips
    if waveforms.ndim != 2 or waveforms.shape[0] != n:
        raise DataError(f"dataset {ds.name!r}: media['waveforms'] must be (N={n}, n_samples) "
                        f"padded waveforms, got shape {waveforms.shape}")
    if images.ndim not in (3, 4) or images.shape[0] != n:
        raise DataError(f"dataset {ds.name!r}: media['images'] must be (N={n}, H, W) or "
                        f"(N, H, W, C) images, got shape {images.shape}")
    rate = int(media.get("sample_rate", SAMPLE_RATE))
    if np.issubdtype(waveforms.dtype, np.integer):
        scale = 1.0 / 32768.0            # int16 PCM -> [-1, 1]
    else:
        scale = 1.0                      # already float samples
    chunks: list[np.ndarray] = []
    for start in range(0, n, _CHUNK):
        rows = [w.astype(np.float64) * scale for w in waveforms[start:start + _CHUNK]]
        chunks.append(np.stack(log_mel_many(rows, rate)).astype(np.float32))
    audio = np.concatenate(chunks)
    visual = images.astype(np.float32) / np.float32(255.0)
    return audio, visual
