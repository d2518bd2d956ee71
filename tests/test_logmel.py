"""The VGGish-style log-mel front-end: mel scale, filterbank, STFT, framing, pooling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import get_window, spectrogram

from paper_lib.extract import logmel as L

SR = L.SAMPLE_RATE


def tone(freq: float, seconds: float, sr: int = SR, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    return amp * np.sin(2 * np.pi * freq * t)


# --- mel scale and filterbank ------------------------------------------------------------------
def test_htk_mel_scale_values_and_inverse() -> None:
    assert L.hertz_to_mel(0.0) == 0.0
    assert L.hertz_to_mel(700.0) == pytest.approx(1127.0 * np.log(2.0))
    f = np.array([0.0, 125.0, 1000.0, 7500.0])
    np.testing.assert_allclose(L.mel_to_hertz(L.hertz_to_mel(f)), f, atol=1e-9)


def naive_vggish_filterbank(n_mels: int, n_bins: int, sr: int, lo: float, hi: float) -> np.ndarray:
    """Element-by-element transcription of VGGish's spectrogram_to_mel_matrix."""
    mel = lambda f: 1127.0 * np.log(1.0 + f / 700.0)  # noqa: E731
    edges = [mel(lo) + (mel(hi) - mel(lo)) * i / (n_mels + 1) for i in range(n_mels + 2)]
    out = np.zeros((n_bins, n_mels))
    for k in range(1, n_bins):                      # DC row stays 0
        m = mel(k * (sr / 2) / (n_bins - 1))
        for j in range(n_mels):
            lower = (m - edges[j]) / (edges[j + 1] - edges[j])
            upper = (edges[j + 2] - m) / (edges[j + 2] - edges[j + 1])
            out[k, j] = max(0.0, min(lower, upper))
    return out


def test_filterbank_equals_naive_transcription() -> None:
    np.testing.assert_allclose(L.mel_filterbank(), naive_vggish_filterbank(64, 257, SR, 125, 7500),
                               atol=1e-12)
    np.testing.assert_allclose(L.mel_filterbank(n_mels=10, n_fft=256, sample_rate=8000,
                                                f_min=50, f_max=3500),
                               naive_vggish_filterbank(10, 129, 8000, 50, 3500), atol=1e-12)


def test_filterbank_partition_of_unity_and_support() -> None:
    M = L.mel_filterbank()                                   # (257, 64)
    bins_hz = np.linspace(0, SR / 2, 257)
    centres = L.mel_centre_frequencies()
    inside = (bins_hz >= centres[0]) & (bins_hz <= centres[-1])
    # adjacent triangles share edges, so each interior bin's weights sum to exactly one
    np.testing.assert_allclose(M[inside].sum(axis=1), 1.0, atol=1e-12)
    outside = (bins_hz <= L.MEL_MIN_HZ) | (bins_hz >= L.MEL_MAX_HZ)
    assert np.all(M[outside] == 0.0)
    assert M.min() >= 0.0 and M.max() <= 1.0
    assert np.all(M.sum(axis=0) > 0)                          # no empty band


def test_centre_frequencies_monotone_and_in_range() -> None:
    centres = L.mel_centre_frequencies()
    assert centres.shape == (64,)
    assert np.all(np.diff(centres) > 0)
    assert L.MEL_MIN_HZ < centres[0] and centres[-1] < L.MEL_MAX_HZ
    # equally spaced in mel
    np.testing.assert_allclose(np.diff(L.hertz_to_mel(centres)),
                               np.diff(L.hertz_to_mel(centres)).mean(), rtol=1e-10)
    # each band's peak weight sits at or next to its centre's FFT bin; peaks move up with j
    peaks = L.mel_filterbank().argmax(axis=0)
    assert np.all(np.diff(peaks) >= 0)
    assert np.all(np.abs(peaks - centres / (SR / L.FFT_LENGTH)) <= 1.0)


def test_filterbank_rejects_bad_band_limits() -> None:
    with pytest.raises(ValueError, match="f_min"):
        L.mel_filterbank(f_min=7600, f_max=7500)
    with pytest.raises(ValueError, match="Nyquist"):
        L.mel_filterbank(f_max=9000)


# --- STFT and framing ---------------------------------------------------------------------------
def test_stft_magnitude_equals_scipy_spectrogram() -> None:
    x = np.random.default_rng(0).standard_normal(SR)         # 1 s of noise
    window = L.periodic_hann(400)
    np.testing.assert_allclose(window, get_window("hann", 400))
    _, _, S = spectrogram(x, fs=SR, window=window, nperseg=400, noverlap=400 - 160, nfft=512,
                          detrend=False, scaling="spectrum", mode="magnitude")
    ours = L.stft_magnitude(x)
    assert ours.shape == S.T.shape
    # scipy's "spectrum" scaling divides the FFT by sum(window)
    np.testing.assert_allclose(ours, S.T * window.sum(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("n", [400, 401, 559, 560, 561, 16_000, 16_161, 44_100])
def test_frame_count_formula(n: int) -> None:
    x = np.random.default_rng(n).standard_normal(n) * 0.1
    assert L.log_mel(x, SR).shape == (1 + (n - 400) // 160, 64)


def test_too_short_waveform_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="shorter than one 25 ms window"):
        L.log_mel(np.zeros(399), SR)


def test_silence_is_log_offset() -> None:
    np.testing.assert_allclose(L.log_mel(np.zeros(SR), SR), np.log(L.LOG_OFFSET))


# --- pure tones ---------------------------------------------------------------------------------
def nearest_band(freq: float) -> int:
    return int(np.argmin(np.abs(L.hertz_to_mel(L.mel_centre_frequencies()) - L.hertz_to_mel(freq))))


@pytest.mark.parametrize("freq", [200.0, 440.0, 1000.0, 2500.0, 5000.0, 7000.0])
def test_pure_tone_energy_lands_in_its_band(freq: float) -> None:
    profile = L.log_mel(tone(freq, 1.0), SR).mean(axis=0)     # (64,)
    peak = int(profile.argmax())
    expected = nearest_band(freq)
    # below ~500 Hz a band is about one FFT bin wide, so Hann leakage may tip the neighbour
    assert abs(peak - expected) <= (1 if freq < 500 else 0)
    far = np.abs(np.arange(64) - expected) >= 6
    assert profile[peak] - profile[far].max() > 4.0           # > 4 nats above every distant band


@pytest.mark.parametrize("sr", [44_100, 22_050, 48_000, 8_000])
@pytest.mark.parametrize("freq", [440.0, 1000.0, 3000.0])
def test_resampling_keeps_a_tone_in_its_band(sr: int, freq: float) -> None:
    if freq >= sr / 2:
        pytest.skip("tone above the source Nyquist")
    at_sr = L.log_mel(tone(freq, 1.5, sr=sr), sr)
    at_16k = L.log_mel(tone(freq, 1.5), SR)
    n16 = int(np.ceil(int(round(1.5 * sr)) * SR / sr))        # resample_poly output length
    assert at_sr.shape == (1 + (n16 - 400) // 160, 64)
    assert at_sr.mean(axis=0).argmax() == at_16k.mean(axis=0).argmax()
    band = int(at_16k.mean(axis=0).argmax())
    # away from the edges the two agree closely in the tone's band
    np.testing.assert_allclose(at_sr[5:-5, band], at_16k[5:at_sr.shape[0] - 5, band], atol=0.05)


def test_int16_and_channel_handling() -> None:
    x = tone(1000.0, 0.5)
    pcm = np.round(x * 32767).astype(np.int16)
    np.testing.assert_allclose(L.log_mel(pcm, SR), L.log_mel(pcm / 32768.0, SR), atol=1e-12)
    stereo = np.stack([x, 0.5 * x], axis=1)                    # (samples, 2)
    np.testing.assert_allclose(L.log_mel(stereo, SR), L.log_mel(0.75 * x, SR), atol=1e-12)
    with pytest.raises(ValueError, match="transpose"):
        L.log_mel(stereo.T, SR)


@pytest.mark.parametrize("bad_rate", [0, -16000, 1.5, True])
def test_bad_sample_rate(bad_rate: object) -> None:
    with pytest.raises(ValueError, match="sample_rate"):
        L.log_mel(np.zeros(1000), bad_rate)  # type: ignore[arg-type]


def test_bad_waveforms() -> None:
    with pytest.raises(ValueError, match="NaN"):
        L.log_mel(np.full(1000, np.nan), SR)
    with pytest.raises(ValueError, match="uint8"):
        L.log_mel(np.zeros(1000, dtype=np.uint8), SR)
    with pytest.raises(ValueError, match="shape"):
        L.log_mel(np.zeros((10, 10, 10)), SR)


# --- pooling -------------------------------------------------------------------------------------
def naive_pool(logmel: np.ndarray) -> np.ndarray:
    n = logmel.shape[0]
    n_sec = max(1, (n + 50) // 100)
    rows = []
    for s in range(n_sec):
        w = logmel[s * 100: min((s + 1) * 100, n)]
        rows.append(np.concatenate([w.mean(axis=0), w.std(axis=0)]))
    return np.array(rows)


@pytest.mark.parametrize(("n_frames", "n_seconds"),
                         [(998, 10), (149, 1), (150, 2), (30, 1), (1049, 10), (1050, 11), (98, 1)])
def test_pool_per_second_matches_loop(n_frames: int, n_seconds: int) -> None:
    lm = np.random.default_rng(n_frames).normal(size=(n_frames, 64))
    pooled = L.pool_per_second(lm)
    assert pooled.shape == (n_seconds, 128)
    np.testing.assert_allclose(pooled, naive_pool(lm), atol=1e-12)


def test_whole_seconds_of_audio_give_that_many_seconds() -> None:
    for k in (1, 3, 10):
        assert L.pool_per_second(L.log_mel(tone(500.0, k), SR)).shape == (k, 128)


def test_clip_level_ignores_padding() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 5, 3))
    seq_len = np.array([1, 5, 3, 2])
    x_padded = x.copy()
    for i, n in enumerate(seq_len):
        x_padded[i, n:] = 1e6                                  # garbage beyond seq_len
    expected = np.stack([x[i, :n].mean(axis=0) for i, n in enumerate(seq_len)])
    np.testing.assert_allclose(L.clip_level(x_padded, seq_len), expected, atol=1e-12)
    with pytest.raises(ValueError, match="seq_len"):
        L.clip_level(x, np.array([0, 1, 1, 1]))


def test_frame_examples_are_vggish_patches() -> None:
    lm = np.random.default_rng(2).normal(size=(300, 64))
    ex = L.frame_examples(lm)
    assert ex.shape == (3, 96, 64)
    for i in range(3):
        np.testing.assert_array_equal(ex[i], lm[96 * i: 96 * (i + 1)])
    assert L.frame_examples(lm, 96, hop=48).shape == (1 + (300 - 96) // 48, 96, 64)
    assert L.frame_examples(lm[:95]).shape == (0, 96, 64)


def test_waveform_features_clip_is_mean_of_seconds() -> None:
    per_second, clip = L.waveform_features(tone(1000.0, 3.0) + tone(300.0, 3.0, amp=0.1), SR)
    assert per_second.shape == (3, 128)
    np.testing.assert_allclose(clip, per_second.mean(axis=0))
    # a steady tone: per-second means identical up to edge effects, std small in the peak band
    band = nearest_band(1000.0)
    assert np.ptp(per_second[:, band]) < 0.05


def test_log_mel_many_equals_one_at_a_time() -> None:
    rng = np.random.default_rng(3)
    waves = [rng.standard_normal(n) * 0.1 for n in (400, 16_000, 23_456)]
    batched = L.log_mel_many(waves, SR)
    assert len(batched) == 3
    for w, b in zip(waves, batched, strict=True):
        np.testing.assert_allclose(b, L.log_mel(w, SR), rtol=1e-12, atol=1e-12)
    pcm = [np.round(tone(440.0, 0.5, sr=22_050) * 30_000).astype(np.int16)]
    np.testing.assert_allclose(L.log_mel_many(pcm, 22_050)[0], L.log_mel(pcm[0], 22_050),
                               atol=1e-12)
    assert L.log_mel_many([], SR) == []
