"""One clip -> its per-second audio and visual features, the paper's feature stage.

The paper (Sec. 4.1, following the VEGAS release and YouTube-8M) describes each clip by

- **audio**: one 128-d VGGish embedding per 0.96 s patch of the 16 kHz log-mel spectrogram
  (:mod:`~paper_lib.extract.logmel` cuts the 96 x 64 patches, :mod:`~paper_lib.extract.vggish`
  embeds them), then VGGish's PCA post-processor and 8-bit quantisation (``truncate``, as
  ``vggish_postprocess.py``);
- **visual**: one frame per second (:mod:`~paper_lib.extract.decode`), Inception V3's 2,048-d
  average-pool output (:mod:`~paper_lib.extract.inception`), YouTube-8M's PCA whitening to
  1,024-d and 8-bit quantisation (``round``, as YouTube-8M's feature extractor).

Both are stored as uint8 ``(seconds, d)`` arrays, the per-clip layout the data layer reads
(:mod:`paper_lib.data.formats.clip_arrays`). The two views keep their own number of rows: a
clip of ``s`` seconds has ``floor(s / 0.96)`` audio patches (minus one when the last 10 ms frame
is missing) and ``ceil(s)`` frames, as in the released features.

Weights: ``weights="pretrained"`` loads the published files from local paths
(:mod:`~paper_lib.extract.weights` finds and verifies them; nothing is downloaded);
``weights="random"`` uses seeded random networks and PCA stand-ins: it runs the whole pipeline
anywhere and shows its shapes and costs, not the features' quality.

[choice] Inference is batched per clip (all of a clip's patches, all of its frames): a clip's
features then never depend on which other clips share its batch, so serial, sharded and
distributed runs give byte-identical files.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from paper_lib import paths
from paper_lib.atomic import atomic_path
from paper_lib.errors import ParamError
from paper_lib.extract import inception, logmel, postprocess, vggish
from paper_lib.extract.decode import MediaError, decode_clip
from paper_lib.extract.logmel import (
    EXAMPLE_FRAMES,
    HOP_SAMPLES,
    HOP_SECONDS,
    SAMPLE_RATE,
    WINDOW_SAMPLES,
    frame_examples,
    log_mel,
)
from paper_lib.extract.postprocess import PcaProjection, quantize_uint8
from paper_lib.extract.weights import WEIGHT_NAMES, locate, verify
from paper_lib.fingerprint import modules_fingerprint

Weights = Literal["pretrained", "random"]
AUDIO_DIM = vggish.EMBEDDING_DIM          # 128
VISUAL_DIM = 1024                         # YouTube-8M's PCA width
PATCH_SECONDS = EXAMPLE_FRAMES * HOP_SECONDS   # 0.96 s
#: the shortest audio that gives one patch: 96 frames of 25 ms every 10 ms = 15,600 samples
MIN_AUDIO_SAMPLES = WINDOW_SAMPLES + (EXAMPLE_FRAMES - 1) * HOP_SAMPLES
MIN_AUDIO_SECONDS = MIN_AUDIO_SAMPLES / SAMPLE_RATE               # 0.975 s


@dataclass(frozen=True)
class ExtractorSpec:
    """What a feature extractor is made of (small and picklable: sent to every worker).

    Attributes
    ----------
    weights : {"pretrained", "random"}, default="pretrained"
        Published weights from local files, or seeded random networks (a pipeline demo).
    seed : int, default=0
        Seed of the random mode.
    max_seconds : float, default=10.0
        Only the first ``max_seconds`` of each clip are used (the paper's clips are <= 10 s).
    paths : tuple of (name, path) pairs, default=()
        Explicit weight files (names from :data:`paper_lib.extract.weights.WEIGHT_NAMES`);
        others are found through their
        environment variables or ``$PAPER_LIB_WEIGHTS_DIR``.
    """

    weights: Weights = "pretrained"
    seed: int = 0
    max_seconds: float = 10.0
    paths: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.weights not in ("pretrained", "random"):
            raise ParamError(f"weights must be 'pretrained' or 'random', got {self.weights!r}")
        if not np.isfinite(self.max_seconds) or self.max_seconds < MIN_AUDIO_SECONDS:
            raise ParamError(f"max_seconds must be at least {MIN_AUDIO_SECONDS} (the audio of one "
                             f"0.96 s VGGish patch), got {self.max_seconds!r}")
        unknown = sorted({n for n, _ in self.paths} - set(WEIGHT_NAMES))
        if unknown:
            raise ParamError(f"unknown weight file name(s) {unknown}; allowed: "
                             f"{', '.join(WEIGHT_NAMES)}")


@dataclass(frozen=True)
class ClipFeatures:
    """The features of one clip (uint8, quantised as released) and what they came from."""

    audio: np.ndarray          # (n_patches, 128) uint8
    visual: np.ndarray         # (n_frames, 1024) uint8
    seconds: float             # decoded duration used
    frame_times: np.ndarray    # (n_frames,) presentation time of each frame (s)


@dataclass(frozen=True)
class ClipFailure:
    """A clip that could not be extracted, with the reason (one line naming the file)."""

    path: str
    error: str


class FeatureExtractor:
    """The four parts of the feature stage, built once and applied clip by clip.

    Examples
    --------
    >>> import numpy as np
    >>> fx = FeatureExtractor(ExtractorSpec(weights="random", seed=0))
    >>> t = np.arange(2 * 16_000) / 16_000
    >>> fx.audio_features(0.5 * np.sin(2 * np.pi * 440 * t)).shape     # 2 s -> 2 patches
    (2, 128)
    """

    def __init__(self, spec: ExtractorSpec) -> None:
        self.spec = spec
        self.weight_files: dict[str, dict[str, str]] = {}
        if spec.weights == "random":
            self.vggish: Any = vggish.vggish_random(spec.seed)
            self.inception: Any = inception.inception_random(spec.seed)
            self.vggish_pca, self.yt8m_pca = random_pca(spec.seed)
            return
        given = dict(spec.paths)
        found = {name: locate(name, given.get(name)) for name in WEIGHT_NAMES}
        for name, path in found.items():
            self.weight_files[name] = {"path": str(path), "sha256": verify(name, path)}
        self.vggish = vggish.load_vggish(found["vggish"])
        self.vggish_pca = vggish.load_vggish_pca(found["vggish_pca"])
        self.inception = inception.load_inception(found["inception_v3"])
        self.yt8m_pca = inception.load_yt8m_pca(found["yt8m_pca"])

    def audio_features(self, waveform_16k: np.ndarray) -> np.ndarray:
        """(n_patches, 128) uint8: log-mel patches -> VGGish -> PCA -> quantise (truncate)."""
        patches = frame_examples(log_mel(waveform_16k, SAMPLE_RATE))     # (P, 96, 64)
        if patches.shape[0] == 0:
            raise MediaError(f"{len(waveform_16k) / SAMPLE_RATE:.3f} s of audio is too short: one "
                             f"0.96 s VGGish patch needs {MIN_AUDIO_SECONDS} s (96 frames of "
                             f"25 ms every 10 ms)")
        embeddings = vggish.embed(self.vggish, patches, batch_size=len(patches))
        return quantize_uint8(self.vggish_pca.apply(embeddings), rounding="truncate")

    def visual_features(self, frames: np.ndarray) -> np.ndarray:
        """(n_frames, 1024) uint8: Inception V3 pool -> YouTube-8M PCA whitening -> quantise."""
        pooled = inception.embed_frames(self.inception, frames, batch_size=max(1, len(frames)))
        return quantize_uint8(self.yt8m_pca.apply(pooled), rounding="round")

    def extract(self, path: str | Path) -> ClipFeatures:
        """Decode one file and compute both views; a bad file raises MediaError naming it."""
        clip = decode_clip(path, self.spec.max_seconds)
        try:
            audio = self.audio_features(clip.audio)
        except MediaError as exc:
            raise MediaError(f"{path}: {exc}") from exc
        return ClipFeatures(audio=audio, visual=self.visual_features(clip.frames),
                            seconds=clip.seconds, frame_times=clip.frame_times)


def random_pca(seed: int) -> tuple[PcaProjection, PcaProjection]:
    """The random mode's two PCA stand-ins (VGGish's, YouTube-8M's), cached on disk.

    Fitting them runs both networks on their seeded calibration batches (about 15 s on one
    core); every process (each Dask worker, each notebook) would pay it again. They depend only
    on the seed and the code, which key the cache file, so a cached copy is the same
    computation's result.
    """
    key = modules_fingerprint(vggish, inception, postprocess, logmel, extra=f"seed={seed}")
    path = paths.cache_dir() / "extract" / f"random_pca_{key}.npz"
    if path.is_file():
        try:
            with np.load(path) as z:
                return _pca_from(z, "vggish"), _pca_from(z, "yt8m")
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            path.unlink(missing_ok=True)                 # unreadable: recompute below
    fitted = (vggish.vggish_pca_random(seed), inception.inception_pca_random(seed))
    arrays: dict[str, Any] = {}
    for name, pca in zip(("vggish", "yt8m"), fitted, strict=True):
        arrays |= {f"{name}_mean": pca.mean, f"{name}_components": pca.components,
                   f"{name}_eigenvalues": pca.eigenvalues, f"{name}_epsilon": pca.epsilon}
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
    return fitted


def _pca_from(z: Any, name: str) -> PcaProjection:
    return PcaProjection(mean=z[f"{name}_mean"], components=z[f"{name}_components"],
                         eigenvalues=z[f"{name}_eigenvalues"],
                         epsilon=float(z[f"{name}_epsilon"]))


_EXTRACTORS: dict[ExtractorSpec, FeatureExtractor] = {}


def extractor_for(spec: ExtractorSpec) -> FeatureExtractor:
    """The process's extractor for ``spec`` (built on first use: a worker loads weights once)."""
    if spec not in _EXTRACTORS:
        _EXTRACTORS.clear()                      # one model set per process at a time
        _EXTRACTORS[spec] = FeatureExtractor(spec)
    return _EXTRACTORS[spec]


def extract_clip(spec: ExtractorSpec, path: str) -> ClipFeatures | ClipFailure:
    """One extraction task: the clip's features, or a :class:`ClipFailure` for a bad file.

    Only per-file problems (:class:`MediaError`) become failures; anything else is a bug and
    propagates.
    """
    try:
        return extractor_for(spec).extract(path)
    except MediaError as exc:
        return ClipFailure(path=str(path), error=str(exc))
