"""Pins the VGGish front-end (paper_lib.extract.logmel) against an independent, loop-by-loop
computation of VGGish's mel_features.py on a synthetic two-tone signal."""

from __future__ import annotations

import math

import numpy as np
import pytest

from paper_lib.extract.logmel import frame_examples, log_mel

SR = 16_000
WINDOW, HOP, N_FFT = 400, 160, 512          # 25 ms, 10 ms, next power of two
N_MELS, F_LO, F_HI = 64, 125.0, 7_500.0
PATCH = 96


def two_tones(seconds: float) -> np.ndarray:
    t = np.arange(int(round(seconds * SR))) / SR
    return 0.5 * np.sin(2 * np.pi * 1_000 * t) + 0.25 * np.sin(2 * np.pi * 3_000 * t)


def mel(f: float) -> float:
    return 1127.0 * math.log(1.0 + f / 700.0)


def mel_edges() -> list[float]:
    lo, hi = mel(F_LO), mel(F_HI)
    return [lo + (hi - lo) * i / (N_MELS + 1) for i in range(N_MELS + 2)]


def reference_log_mel(x: np.ndarray) -> np.ndarray:
    """The VGGish recipe written out: frames, periodic Hann, |DFT|, HTK triangles, log(+0.01)."""
    hann = np.array([0.5 - 0.5 * math.cos(2 * math.pi * n / WINDOW) for n in range(WINDOW)])
    edges = mel_edges()
    filters = np.zeros((N_MELS, N_FFT // 2 + 1))
    for j in range(N_MELS):                                   # one triangle at a time
        for k in range(1, N_FFT // 2 + 1):                    # DC bin stays 0
            m = mel(k * SR / N_FFT)
            rise = (m - edges[j]) / (edges[j + 1] - edges[j])
            fall = (edges[j + 2] - m) / (edges[j + 2] - edges[j + 1])
            filters[j, k] = max(0.0, min(rise, fall))
    rows = []
    start = 0
    while start + WINDOW <= len(x):                           # complete frames only
        spectrum = np.abs(np.fft.fft(x[start:start + WINDOW] * hann, n=N_FFT))[: N_FFT // 2 + 1]
        rows.append([math.log(float(filters[j] @ spectrum) + 0.01) for j in range(N_MELS)])
        start += HOP
    return np.array(rows)


def test_log_mel_equals_the_independent_computation() -> None:
    x = two_tones(2.0)
    ours, ref = log_mel(x, SR), reference_log_mel(x)
    assert ours.shape == ref.shape == (198, 64)
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-9)


def test_loudest_band_holds_one_kilohertz() -> None:
    lm = log_mel(two_tones(2.0), SR)
    edges = mel_edges()
    target = mel(1_000.0)
    for j in np.argmax(lm, axis=1):                           # band j spans edges j .. j + 2
        assert edges[j] < target < edges[j + 2]
    # and the 3 kHz tone is the next peak, further up
    second = np.argsort(lm[0])[::-1]
    assert any(edges[j] < mel(3_000.0) < edges[j + 2] for j in second[:4])


@pytest.mark.parametrize(("seconds", "frames", "patches"), [(2.0, 198, 2), (0.95, 93, 0),
                                                            (0.975, 96, 1), (0.974, 95, 0)])
def test_frame_and_patch_counts(seconds: float, frames: int, patches: int) -> None:
    n = int(round(seconds * SR))
    assert 1 + (n - WINDOW) // HOP == frames                 # mel_features.frame's count
    lm = log_mel(two_tones(seconds), SR)
    assert lm.shape == (frames, N_MELS)
    examples = frame_examples(lm)
    assert examples.shape == (patches, PATCH, N_MELS)
    assert max(0, 1 + (frames - PATCH) // PATCH) == patches  # 0.96 s windows, 0.96 s hop
    for p in range(patches):
        np.testing.assert_array_equal(examples[p], lm[p * PATCH:(p + 1) * PATCH])
