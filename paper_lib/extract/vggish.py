"""VGGish, the paper's audio network, in PyTorch: log-mel patches -> 128-d embeddings.

VGGish (Hershey et al., ICASSP 2017; the AudioSet release ``vggish_slim.py`` /
``vggish_params.py`` / ``vggish_postprocess.py``) is a VGG-like CNN on 96 x 64 log-mel patches
(0.96 s x 64 mel bands, :func:`paper_lib.extract.logmel.frame_examples`). Layer by layer, as
``define_vggish_slim``:

==============================  =====================================  ===================
TF-Slim scope                   this module (torchvggish names)        output (N, C, H, W)
==============================  =====================================  ===================
input                           ``patches``                            (N, 1, 96, 64)
conv1 (64), pool1               ``features.0``, ReLU, pool             (N, 64, 48, 32)
conv2 (128), pool2              ``features.3``, ReLU, pool             (N, 128, 24, 16)
conv3/conv3_{1,2} (256), pool3  ``features.6``, ``.8``, ReLUs, pool    (N, 256, 12, 8)
conv4/conv4_{1,2} (512), pool4  ``features.11``, ``.13``, ReLUs, pool  (N, 512, 6, 4)
flatten (NHWC)                  permute to (N, 6, 4, 512), flatten     (N, 12288)
fc1/fc1_{1,2} (4096)            ``embeddings.0``, ``.2``, ReLUs        (N, 4096)
fc2 (the embedding)             ``embeddings.4``, no ReLU              (N, 128)
==============================  =====================================  ===================

All convolutions are 3 x 3, stride 1, SAME padding (``padding=1``); all max-pools 2 x 2,
stride 2 (SAME = VALID here: every size is even). Parameter names are those of
harritaylor/torchvggish (``features.{0,3,6,8,11,13}``, ``embeddings.{0,2,4}``), so its ported
state dict ``vggish-10086976.pth`` loads with ``strict=True`` (:func:`load_vggish`).

Flatten order: TensorFlow flattens the last feature map in NHWC order (height, width, channel),
PyTorch's ``view`` would flatten NCHW. The ported ``fc1_1`` weights expect TF's order, so
:meth:`VGGish.forward` permutes to (N, H, W, C) before flattening, as torchvggish does with its two
transposes.

[choice] The embedding layer follows the TF original: ``fc2`` has ``activation_fn=None`` in
``vggish_slim.py`` (the output is "the pre-activation values of a 128-D embedding layer"), while
torchvggish appends a ``ReLU`` after it. The released AudioSet features, and the PCA parameters
of ``vggish_postprocess.py`` (means, whitening), were computed on the pre-activation values, so a
ReLU would clip every negative coordinate to 0 before a PCA whose means assume otherwise.
``VGGish(final_relu=True)`` reproduces torchvggish's output; the ReLU has no parameters, so the
state dict is the same either way.

Post-processing (:func:`load_vggish_pca`): ``vggish_postprocess.py`` computes
``(embedding - pca_means) @ pca_eigen_vectors.T`` (the whitening is folded into the matrix), then
quantises with truncation (:func:`paper_lib.extract.postprocess.quantize_uint8`).

Random mode (no pretrained files, always the case on build machines): :func:`vggish_random` is a
seeded network; [choice] He-normal weights (``fan_in``, ReLU gain) and zero biases, drawn from a
``torch.Generator`` (never the global RNG), not VGGish's own ``N(0, 0.01)`` training
initialisation, whose activations shrink 3-7x per layer (measured: embeddings of rms ~1e-5 for
log-mel patches of standard deviation ~1.4), far below the whitening's epsilon (1e-4 on the
variance), so that every code would be ~127.

:func:`vggish_pca_random` is the PCA stand-in: fitted (whitening, 128 -> 128) on that network's
embeddings of a fixed calibration batch made from the seed alone (256 log-mel patches of
synthetic sounds through the project's own front-end: tones, some amplitude-modulated, over a
white-noise floor, with silences; see :func:`calibration_patches`), never on user data, so the
extracted features do not depend on the corpus or on how it is sharded. Whitened, the quantised
codes spread over 0..255 instead of saturating. [choice] The whitening's eigenvalues are
estimated out of sample (8-fold cross-fitting, ``PcaProjection.fit(n_folds=8)``): with 256
vectors of 128 dimensions the in-sample variances of the trailing components are biased low (up
to ~10x), and whitening by them left these components with a standard deviation of ~3.5 on new
patches, ~40 % of their codes at 0 or 255 (17 % overall); with held-out variances every
component has a standard deviation of ~1 on new patches and ~6 % of the codes saturate
(measured for seed 0 on 128 fresh patches; a standard normal has 4.6 % beyond ±2).
"""

from __future__ import annotations

import functools
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import Tensor, nn

from paper_lib.errors import DataError, ParamError
from paper_lib.extract.logmel import (
    EXAMPLE_FRAMES,
    HOP_SAMPLES,
    NUM_MEL_BINS,
    SAMPLE_RATE,
    WINDOW_SAMPLES,
    check_patches,
    log_mel_many,
)
from paper_lib.extract.postprocess import PcaProjection
from paper_lib.extract.weights import load_checked_state_dict, read_torch_file

EMBEDDING_DIM = 128                     # vggish_params.EMBEDDING_SIZE
NUM_FRAMES = EXAMPLE_FRAMES             # 96 (vggish_params.NUM_FRAMES)
NUM_BANDS = NUM_MEL_BINS                # 64 (vggish_params.NUM_BANDS)
#: the VGG stack: output channels of each 3x3 convolution, "M" = 2x2 max-pool
LAYERS: tuple[int | str, ...] = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M")
FINAL_MAP = (512, NUM_FRAMES // 16, NUM_BANDS // 16)        # (C, H, W) = (512, 6, 4)
FLAT_DIM = FINAL_MAP[0] * FINAL_MAP[1] * FINAL_MAP[2]       # 12288
FC_DIM = 4096
#: keys of the PCA parameter files (vggish_params.PCA_EIGEN_VECTORS_NAME / PCA_MEANS_NAME)
PCA_EIGEN_VECTORS = "pca_eigen_vectors"
PCA_MEANS = "pca_means"
#: size of the random mode's calibration batch, and its folds for the whitening's eigenvalues
CALIBRATION_PATCHES = 256
CALIBRATION_FOLDS = 8


class VGGish(nn.Module):
    """The VGGish CNN: (N, 96, 64) or (N, 1, 96, 64) log-mel patches -> (N, 128) embeddings.

    Parameters
    ----------
    final_relu : bool, default=False
        Append torchvggish's ReLU after the embedding layer (the TF original has none; see the
        module docstring).
    """

    def __init__(self, final_relu: bool = False) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 1
        for spec in LAYERS:
            if spec == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                assert isinstance(spec, int)
                layers += [nn.Conv2d(channels, spec, kernel_size=3, padding=1), nn.ReLU()]
                channels = spec
        self.features = nn.Sequential(*layers)
        head: list[nn.Module] = [
            nn.Linear(FLAT_DIM, FC_DIM), nn.ReLU(),           # fc1/fc1_1
            nn.Linear(FC_DIM, FC_DIM), nn.ReLU(),             # fc1/fc1_2
            nn.Linear(FC_DIM, EMBEDDING_DIM),                 # fc2: the embedding, no ReLU
        ]
        if final_relu:
            head.append(nn.ReLU())
        self.embeddings = nn.Sequential(*head)
        self.final_relu = final_relu

    def forward(self, patches: Tensor) -> Tensor:
        """(N, 96, 64) or (N, 1, 96, 64) float32 log-mel patches -> (N, 128) embeddings; the last
        feature map is flattened in TF's NHWC order."""
        if patches.ndim == 3:
            patches = patches.unsqueeze(1)
        if patches.ndim != 4 or tuple(patches.shape[1:]) != (1, NUM_FRAMES, NUM_BANDS):
            raise ParamError(f"patches: expected shape (N, {NUM_FRAMES}, {NUM_BANDS}) or "
                             f"(N, 1, {NUM_FRAMES}, {NUM_BANDS}), got {tuple(patches.shape)}")
        maps = self.features(patches)                          # (N, 512, 6, 4)
        flat = maps.permute(0, 2, 3, 1).reshape(maps.shape[0], -1)   # TF's NHWC flatten
        return self.embeddings(flat)


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ParamError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _empty_model(**kwargs: bool) -> VGGish:
    """A VGGish whose tensors are allocated but not initialised (no global-RNG draw)."""
    with torch.device("meta"):
        model = VGGish(**kwargs)
    return model.to_empty(device="cpu")


def vggish_random(seed: int, *, final_relu: bool = False) -> VGGish:
    """A seeded random VGGish in eval mode: He-normal weights, zero biases ([choice], see the
    module docstring), drawn from a ``torch.Generator`` seeded with ``seed``."""
    generator = torch.Generator(device="cpu").manual_seed(_check_seed(seed))
    model = _empty_model(final_relu=final_relu)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu",
                                        generator=generator)
                assert module.bias is not None
                module.bias.zero_()
    return model.eval()


def load_vggish(path: str | Path, *, final_relu: bool = False) -> VGGish:
    """VGGish with the torchvggish state dict at ``path`` (``torch.load(weights_only=True)``,
    ``strict=True``), in eval mode. A corrupt file, wrong keys or wrong shapes raise a DataError
    naming the file."""
    state = read_torch_file(path)
    model = _empty_model(final_relu=final_relu)
    load_checked_state_dict(model, state, path)
    return model.eval()


def _pca_array(params: Mapping[str, Any], key: str, path: Path) -> np.ndarray:
    if key not in params:
        raise DataError(f"{path}: no {key!r} in the VGGish PCA parameters (expected keys "
                        f"{PCA_EIGEN_VECTORS!r} and {PCA_MEANS!r})")
    value = params[key]
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if not np.issubdtype(arr.dtype, np.number):
        raise DataError(f"{path}: {key!r} is not numeric (dtype {arr.dtype})")
    return arr.astype(np.float64)


def load_vggish_pca(path: str | Path) -> PcaProjection:
    """VGGish's PCA post-processor from torchvggish's ``.pth`` or the TF release's ``.npz``.

    Both hold ``pca_eigen_vectors`` (128, 128) and ``pca_means`` (128,) or (128, 1); the
    projection is ``(emb - pca_means) @ pca_eigen_vectors.T`` with no separate whitening
    (``vggish_postprocess.py``).
    """
    path = Path(path)
    if path.suffix.lower() == ".npz":
        if not path.is_file():
            raise DataError(f"{path}: no such file")
        try:
            with np.load(path, allow_pickle=False) as npz:
                params: Any = {k: npz[k] for k in npz.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise DataError(f"{path}: not a readable .npz file ({exc})") from exc
    else:
        params = read_torch_file(path, allow_numpy=True)
    if not isinstance(params, Mapping):
        raise DataError(f"{path}: expected a mapping with {PCA_EIGEN_VECTORS!r} and "
                        f"{PCA_MEANS!r}, got {type(params).__name__}")
    vectors = _pca_array(params, PCA_EIGEN_VECTORS, path)
    means = _pca_array(params, PCA_MEANS, path)
    if means.ndim == 2 and means.shape[1] == 1:
        means = means[:, 0]
    if vectors.shape != (EMBEDDING_DIM, EMBEDDING_DIM):
        raise DataError(f"{path}: {PCA_EIGEN_VECTORS!r} has shape {vectors.shape}, expected "
                        f"({EMBEDDING_DIM}, {EMBEDDING_DIM})")
    if means.shape != (EMBEDDING_DIM,):
        raise DataError(f"{path}: {PCA_MEANS!r} has shape {means.shape}, expected "
                        f"({EMBEDDING_DIM},) or ({EMBEDDING_DIM}, 1)")
    if not (np.isfinite(vectors).all() and np.isfinite(means).all()):
        raise DataError(f"{path}: the PCA parameters contain NaN or inf")
    return PcaProjection(mean=means, components=vectors, eigenvalues=None)


# --- random mode ---------------------------------------------------------------------------------
def calibration_patches(seed: int, n: int = CALIBRATION_PATCHES) -> np.ndarray:
    """(n, 96, 64) float32 log-mel patches of seeded synthetic sounds (the random mode's
    calibration batch).

    Each 0.975 s sound (exactly one patch) at 16 kHz is a sum of 0-3 tones (log-uniform
    100-7,000 Hz, some amplitude-modulated) and a white-noise floor, with log-uniform levels and
    a random on/off envelope (silence before and after), passed through
    :func:`paper_lib.extract.logmel.log_mel_many`.
    """
    rng = np.random.default_rng([_check_seed(seed), 0x56474769])     # a stream of its own
    n_samples = WINDOW_SAMPLES + (NUM_FRAMES - 1) * HOP_SAMPLES       # 15,600: one patch
    t = np.arange(n_samples) / SAMPLE_RATE
    sounds = []
    for _ in range(n):
        x = 10 ** rng.uniform(-4.5, -1.5) * rng.standard_normal(n_samples)
        for _ in range(rng.integers(0, 4)):
            freq = 10 ** rng.uniform(np.log10(100.0), np.log10(7_000.0))
            tone = np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
            if rng.random() < 0.5:
                tone *= 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.5, 8.0) * t)
            x += 10 ** rng.uniform(-3.0, -0.5) * tone
        on, off = np.sort(rng.uniform(0.0, t[-1], size=2))
        if rng.random() < 0.7:                                       # most sounds fill the patch
            on, off = 0.0, t[-1]
        x *= (t >= on) & (t <= off)
        sounds.append(x)
    return np.stack(log_mel_many(sounds, SAMPLE_RATE)).astype(np.float32)


@functools.lru_cache(maxsize=4)
def _pca_random_arrays(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    model = vggish_random(seed)
    fitted = PcaProjection.fit(embed(model, calibration_patches(seed)), EMBEDDING_DIM,
                               whiten=True, n_folds=CALIBRATION_FOLDS)
    assert fitted.eigenvalues is not None
    return fitted.mean, fitted.components, fitted.eigenvalues


def vggish_pca_random(seed: int) -> PcaProjection:
    """The random mode's PCA stand-in (128 -> 128, whitening): fitted on
    ``vggish_random(seed)``'s embeddings of :func:`calibration_patches` ``(seed)``. Cached per
    seed in the process."""
    mean, components, eigenvalues = _pca_random_arrays(_check_seed(seed))
    return PcaProjection(mean=mean, components=components, eigenvalues=eigenvalues)


# --- inference -----------------------------------------------------------------------------------
def _check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) \
            or batch_size < 1:
        raise ParamError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def embed(model: VGGish, patches: ArrayLike, batch_size: int = 64) -> np.ndarray:
    """(N, 128) float32 embeddings of (N, 96, 64) or (N, 1, 96, 64) log-mel ``patches``, in
    batches of ``batch_size`` under ``torch.no_grad``."""
    batch_size = _check_batch_size(batch_size)
    arr = check_patches(patches)
    out = np.empty((arr.shape[0], EMBEDDING_DIM), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, arr.shape[0], batch_size):
            chunk = torch.from_numpy(np.ascontiguousarray(arr[start:start + batch_size],
                                                          dtype=np.float32))
            out[start:start + batch_size] = model(chunk).numpy()
    return out
