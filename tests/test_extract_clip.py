"""The whole feature stage of one clip (paper_lib.extract.clip): its settings are checked, a bad
file becomes a failure record, and the random mode's PCA stand-ins are cached on disk and
recomputed when the cached file is unreadable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from paper_lib.errors import ParamError
from paper_lib.extract import clip as clip_module
from paper_lib.extract.clip import (
    ClipFailure,
    ExtractorSpec,
    FeatureExtractor,
    extract_clip,
    random_pca,
)
from paper_lib.extract.decode import MediaError


@pytest.mark.parametrize("kwargs, match", [
    ({"weights": "imagenet"}, "weights must be"),
    ({"max_seconds": 0.5}, "max_seconds must be at least 0.975"),
    ({"max_seconds": float("nan")}, "max_seconds"),
    ({"paths": (("resnet", "x.pth"),)}, "unknown weight file name"),
])
def test_bad_settings_are_refused(kwargs, match) -> None:
    with pytest.raises(ParamError, match=match):
        ExtractorSpec(**kwargs)


def test_audio_shorter_than_one_patch_is_a_media_error() -> None:
    fx = FeatureExtractor(ExtractorSpec(weights="random"))
    with pytest.raises(MediaError, match="too short: one 0.96 s VGGish patch needs 0.975 s"):
        fx.audio_features(np.zeros(15_599, np.float32))        # 95 frames of 10 ms
    assert fx.audio_features(np.zeros(15_600, np.float32)).shape == (1, 128)   # 96 frames


def test_a_bad_file_becomes_a_failure_record(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 500)
    out = extract_clip(ExtractorSpec(weights="random"), str(bad))
    assert isinstance(out, ClipFailure)
    assert "bad.mp4" in out.error


def test_random_pca_is_cached_and_an_unreadable_cache_is_recomputed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPER_LIB_CACHE", str(tmp_path))
    first = random_pca(0)
    cached = list((tmp_path / "extract").glob("random_pca_*.npz"))
    assert len(cached) == 1

    def must_not_run(seed: int):
        raise AssertionError("recomputed although cached")

    with monkeypatch.context() as m:
        m.setattr(clip_module.vggish, "vggish_pca_random", must_not_run)
        again = random_pca(0)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.components, b.components)
        np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)
        assert a.epsilon == b.epsilon
    cached[0].write_bytes(cached[0].read_bytes()[:100])        # truncated
    healed = random_pca(0)
    np.testing.assert_array_equal(healed[1].mean, first[1].mean)
    assert cached[0].stat().st_size > 1000
