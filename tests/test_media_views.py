"""media_views: the raw-media views (log-mel spectrograms, images) of a dataset for AVE-Net."""

from __future__ import annotations

import numpy as np
import pytest

from paper_lib.data.dataset import PairedDataset
from paper_lib.data.media import media_views
from paper_lib.data.registry import load_dataset
from paper_lib.errors import DataError
from paper_lib.extract.logmel import log_mel


def avdigits_subset(rows: np.ndarray) -> PairedDataset:
    """The avdigits clips ``rows`` as a dataset of their own (media included)."""
    ds = load_dataset("avdigits")
    assert ds.media is not None
    media = {key: (value[rows] if isinstance(value, np.ndarray) and value.ndim >= 1
                   and value.shape[0] == ds.n_clips else value)
             for key, value in ds.media.items()}
    assert ds.folds is not None
    return PairedDataset(name=ds.name, audio=ds.audio[rows], visual=ds.visual[rows],
                         labels=ds.labels[rows], class_names=ds.class_names,
                         clip_ids=ds.clip_ids[rows], folds=ds.folds[rows], media=media,
                         source=ds.source)


@pytest.fixture(scope="module")
def small() -> PairedDataset:
    return avdigits_subset(np.arange(0, 2000, 97))        # 21 clips of every class


def test_shapes_dtypes_and_ranges(small):
    audio, visual = media_views(small)
    n = small.n_clips
    assert audio.shape == (n, 198, 64) and audio.dtype == np.float32      # 2 s: 198 frames
    assert visual.shape == (n, 28, 28) and visual.dtype == np.float32
    assert np.isfinite(audio).all()
    assert visual.min() >= 0.0 and visual.max() <= 1.0
    np.testing.assert_array_equal(visual, small.media["images"].astype(np.float32) / 255)


def test_rows_are_the_log_mel_of_each_waveform(small):
    audio, _ = media_views(small)
    for i in (0, small.n_clips - 1):
        expected = log_mel(small.media["waveforms"][i] / 32768.0, 16000)
        np.testing.assert_allclose(audio[i], expected, rtol=1e-6, atol=1e-5)
    # a clip shorter than the padded 2 s ends in silence: log(0 + 0.01)
    short = int(np.argmin(small.media["waveform_lengths"]))
    assert small.media["waveform_lengths"][short] < 32000
    np.testing.assert_allclose(audio[short, -1], np.log(0.01), rtol=1e-6)


def test_a_dataset_without_media_is_a_data_error():
    ds = load_dataset("synthetic", n_classes=3, n_per_class=20, d_audio=8, d_visual=12,
                      max_seconds=3, use_cache=False)
    message = (f"dataset {ds.name!r} keeps no media (waveforms and images), which AVE-Net "
               f"needs; it runs on the embedded avdigits dataset")
    with pytest.raises(DataError) as info:
        media_views(ds)
    assert str(info.value) == message


def test_media_missing_a_key_is_a_data_error(small):
    no_images = {k: v for k, v in small.media.items() if k != "images"}
    ds = PairedDataset(name="partial", audio=small.audio, visual=small.visual,
                       labels=small.labels, class_names=small.class_names,
                       clip_ids=small.clip_ids, folds=small.folds, media=no_images)
    with pytest.raises(DataError, match="'partial' keeps no media"):
        media_views(ds)


def test_the_views_are_computed_once_per_dataset_and_cannot_be_changed(small):
    """A fit asks for the views twice and a notebook fits fold after fold: the second call
    returns the same (read-only) arrays; another dataset object gets its own views."""
    audio, visual = media_views(small)
    again = media_views(small)
    assert again[0] is audio and again[1] is visual
    with pytest.raises(ValueError, match="read-only"):
        audio[0, 0, 0] = 1.0
    other = avdigits_subset(np.arange(1, 2000, 97))
    other_audio, _ = media_views(other)
    assert other_audio is not audio and not np.array_equal(other_audio, audio)
    assert np.array_equal(media_views(small)[0], audio)    # recomputed, same numbers
