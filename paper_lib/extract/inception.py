"""Inception V3, the paper's visual network, in PyTorch: frames -> 2,048-d pool features.

YouTube-8M (and so the VEGAS release the paper uses) describes each frame by the 2,048-d output of
Inception V3's global average pool (``pool_3`` of the TensorFlow graph), then a PCA with whitening
to 1,024-d and 8-bit quantisation (:mod:`paper_lib.extract.postprocess`).

torchvision cannot be imported next to this project's CPU build of torch, so the network is
written here, following the architecture of torchvision's ``Inception3`` (Szegedy et al.,
"Rethinking the Inception Architecture for Computer Vision", CVPR 2016) with *exactly* its module
names (``Conv2d_1a_3x3.conv.weight``, ``Conv2d_1a_3x3.bn.running_mean``,
``Mixed_5b.branch1x1.conv.weight``, ..., ``fc.weight``, ``AuxLogits.*``), so that torchvision's
published state dict ``inception_v3_google-0cc3c7bd.pth`` loads with ``strict=True``.

Architecture (input N x 3 x 299 x 299; every convolution is a ``ConvBN``: conv without bias,
BatchNorm with eps 0.001, ReLU):

=============================  ====================================  =====================
modules                        what                                  output (C x H x W)
=============================  ====================================  =====================
``Conv2d_1a_3x3`` (stride 2)   3x3 conv                              32 x 149 x 149
``Conv2d_2a_3x3``, ``2b``      3x3 convs (the second padded)         64 x 147 x 147
``maxpool1``                   3x3 max-pool, stride 2                64 x 73 x 73
``Conv2d_3b_1x1``, ``4a_3x3``  1x1 then 3x3 conv                     192 x 71 x 71
``maxpool2``                   3x3 max-pool, stride 2                192 x 35 x 35
``Mixed_5b``, ``5c``, ``5d``   :class:`InceptionA` (1x1, 5x5, 3x3)   256/288/288 x 35 x 35
``Mixed_6a``                   :class:`InceptionB` (grid reduction)  768 x 17 x 17
``Mixed_6b`` .. ``6e``         :class:`InceptionC` (1x7 and 7x1)     768 x 17 x 17
``AuxLogits`` (optional)       :class:`InceptionAux` on Mixed_6e     num_classes
``Mixed_7a``                   :class:`InceptionD` (grid reduction)  1280 x 8 x 8
``Mixed_7b``, ``7c``           :class:`InceptionE` (1x3 and 3x1)     2048 x 8 x 8
``avgpool``                    global average pool                   2048: the features
``dropout``, ``fc``            classifier                            num_classes
=============================  ====================================  =====================

Input convention: ``transform_input=True`` (the google weights' convention, and torchvision's
for them): the network receives ImageNet-normalised images ``(x - mean) / std`` with ``x`` in
``[0, 1]`` (:func:`preprocess_frames`) and maps them back to Google's ``(x - 0.5) / 0.5`` scale
inside ``InceptionV3._transform_input``.

Frames (:func:`preprocess_frames`): YouTube-8M's extractor feeds each whole decoded frame to the
TF graph, which resizes it to 299 x 299 without cropping; here the whole frame is resized with
``torch.nn.functional.interpolate`` (bilinear, [choice] ``antialias=True`` so that downscaling
large frames does not alias), scaled to ``[0, 1]`` and ImageNet-normalised.

Random mode (no pretrained files, always the case on build machines): :func:`inception_random`
is a seeded network ([choice] He-normal convolutions, BatchNorm as the identity: weight 1, bias
0, running mean 0, variance 1; the classifiers N(0, 0.01)), drawn from a ``torch.Generator``.
:func:`inception_pca_random` is the YouTube-8M PCA stand-in (2048 -> 1024, whitening), fitted
on the network's outputs for a fixed calibration batch made from the seed alone
(:func:`calibration_frames`), never on user data, so the features do not depend on the corpus
or on sharding. [choice] 1,024 whitened components need more than 1,024 calibration vectors;
one pool feature per calibration image would cost ~1,000 forward passes, so each of the
``CALIBRATION_IMAGES`` = 32 images contributes the 2,048-d features of the 64 positions of its
last 8 x 8 map (the vectors the global pool averages): the PCA mean and directions are fitted on
these 2,048 position vectors, and the whitening's eigenvalue of each direction is the variance of
the 32 images' *pooled* features along it (what the projection is applied to; a position's
feature varies more than the average of 64 of them). Measured for seed 0 on 16 fresh synthetic
frames: whitened values with a standard deviation of ~0.8 (0.6-1.0 across the components) and
~3 % of the codes at 0 or 255.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike
from torch import Tensor, nn

from paper_lib.errors import DataError, ParamError
from paper_lib.extract.postprocess import PcaProjection
from paper_lib.extract.weights import (
    load_checked_state_dict,
    read_torch_file,
    yt8m_pca_files,
)

POOL_DIM = 2048
INPUT_SIZE = 299
NUM_CLASSES = 1000
#: YouTube-8M's PCA width
YT8M_PCA_DIM = 1024
#: ImageNet normalisation of torchvision's pretrained weights
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: BatchNorm epsilon of the TF-ported weights
BN_EPS = 0.001
#: the random mode's calibration batch: images, and their size before the 299 x 299 resize
CALIBRATION_IMAGES = 32
CALIBRATION_SHAPE = (240, 320)


# --- building blocks (torchvision's names) -------------------------------------------------------
class ConvBN(nn.Module):
    """Conv2d (no bias) -> BatchNorm2d (eps 0.001) -> ReLU: torchvision's ``BasicConv2d``
    (sub-modules ``conv`` and ``bn``)."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int | tuple[int, int],
                 stride: int = 1, padding: int | tuple[int, int] = 0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding,
                              bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=BN_EPS)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


def _pool3(x: Tensor) -> Tensor:
    """3x3 average pool, stride 1, padding 1 (the pool branch of blocks A, C, E)."""
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)


class InceptionA(nn.Module):
    """35 x 35 block: 1x1 | 1x1 -> 5x5 | 1x1 -> 3x3 -> 3x3 | pool -> 1x1."""

    def __init__(self, c_in: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = ConvBN(c_in, 64, 1)
        self.branch5x5_1 = ConvBN(c_in, 48, 1)
        self.branch5x5_2 = ConvBN(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = ConvBN(c_in, 64, 1)
        self.branch3x3dbl_2 = ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = ConvBN(96, 96, 3, padding=1)
        self.branch_pool = ConvBN(c_in, pool_features, 1)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([
            self.branch1x1(x),
            self.branch5x5_2(self.branch5x5_1(x)),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            self.branch_pool(_pool3(x)),
        ], dim=1)


class InceptionB(nn.Module):
    """Grid reduction 35 -> 17: 3x3/2 | 1x1 -> 3x3 -> 3x3/2 | max-pool 3x3/2."""

    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch3x3 = ConvBN(c_in, 384, 3, stride=2)
        self.branch3x3dbl_1 = ConvBN(c_in, 64, 1)
        self.branch3x3dbl_2 = ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = ConvBN(96, 96, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([
            self.branch3x3(x),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            F.max_pool2d(x, kernel_size=3, stride=2),
        ], dim=1)


class InceptionC(nn.Module):
    """17 x 17 block with factorised 7x7 convolutions (1x7 and 7x1), ``c7`` inner channels."""

    def __init__(self, c_in: int, channels_7x7: int) -> None:
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = ConvBN(c_in, 192, 1)
        self.branch7x7_1 = ConvBN(c_in, c7, 1)
        self.branch7x7_2 = ConvBN(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = ConvBN(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = ConvBN(c_in, c7, 1)
        self.branch7x7dbl_2 = ConvBN(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = ConvBN(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = ConvBN(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = ConvBN(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = ConvBN(c_in, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        single = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        double = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4,
                      self.branch7x7dbl_5):
            double = layer(double)
        return torch.cat([self.branch1x1(x), single, double, self.branch_pool(_pool3(x))], dim=1)


class InceptionD(nn.Module):
    """Grid reduction 17 -> 8: 1x1 -> 3x3/2 | 1x1 -> 1x7 -> 7x1 -> 3x3/2 | max-pool 3x3/2."""

    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch3x3_1 = ConvBN(c_in, 192, 1)
        self.branch3x3_2 = ConvBN(192, 320, 3, stride=2)
        self.branch7x7x3_1 = ConvBN(c_in, 192, 1)
        self.branch7x7x3_2 = ConvBN(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = ConvBN(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = ConvBN(192, 192, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        tower = x
        for layer in (self.branch7x7x3_1, self.branch7x7x3_2, self.branch7x7x3_3,
                      self.branch7x7x3_4):
            tower = layer(tower)
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), tower,
                          F.max_pool2d(x, kernel_size=3, stride=2)], dim=1)


class InceptionE(nn.Module):
    """8 x 8 block with expanded filter banks: each 3x3 branch splits into 1x3 and 3x1."""

    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch1x1 = ConvBN(c_in, 320, 1)
        self.branch3x3_1 = ConvBN(c_in, 384, 1)
        self.branch3x3_2a = ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = ConvBN(c_in, 448, 1)
        self.branch3x3dbl_2 = ConvBN(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = ConvBN(c_in, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        a = self.branch3x3_1(x)
        b = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        return torch.cat([
            self.branch1x1(x),
            self.branch3x3_2a(a), self.branch3x3_2b(a),
            self.branch3x3dbl_3a(b), self.branch3x3dbl_3b(b),
            self.branch_pool(_pool3(x)),
        ], dim=1)


class InceptionAux(nn.Module):
    """Auxiliary classifier on Mixed_6e (training only; kept for the weights' names)."""

    def __init__(self, c_in: int, num_classes: int) -> None:
        super().__init__()
        self.conv0 = ConvBN(c_in, 128, 1)
        self.conv1 = ConvBN(128, 768, 5)
        self.fc = nn.Linear(768, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = F.avg_pool2d(x, kernel_size=5, stride=3)                  # 17 -> 5
        x = self.conv1(self.conv0(x))                                 # 5 -> 1
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# --- the network ---------------------------------------------------------------------------------
class InceptionV3(nn.Module):
    """Inception V3 with torchvision's module names.

    Parameters
    ----------
    num_classes : int, default=1000
        Width of the classifier ``fc`` (ImageNet's 1,000 for the published weights).
    aux_logits : bool, default=False
        Build the auxiliary classifier ``AuxLogits`` (feature extraction does not need it;
        :func:`load_inception` drops its weights).
    transform_input : bool, default=True
        Map ImageNet-normalised input to Google's ``(x - 0.5) / 0.5`` (the google weights'
        convention).
    dropout : float, default=0.5
        Dropout before ``fc`` (active in training mode only).
    """

    def __init__(self, num_classes: int = NUM_CLASSES, aux_logits: bool = False,
                 transform_input: bool = True, dropout: float = 0.5) -> None:
        super().__init__()
        self.transform_input = transform_input
        self.Conv2d_1a_3x3 = ConvBN(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = ConvBN(32, 32, 3)
        self.Conv2d_2b_3x3 = ConvBN(32, 64, 3, padding=1)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Conv2d_3b_1x1 = ConvBN(64, 80, 1)
        self.Conv2d_4a_3x3 = ConvBN(80, 192, 3)
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        self.AuxLogits = InceptionAux(768, num_classes) if aux_logits else None
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280)
        self.Mixed_7c = InceptionE(2048)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(POOL_DIM, num_classes)

    @property
    def aux_logits(self) -> bool:
        return self.AuxLogits is not None

    def _transform_input(self, x: Tensor) -> Tensor:
        """ImageNet normalisation -> Google's: ``x_g = (x * std + mean - 0.5) / 0.5``."""
        if not self.transform_input:
            return x
        std = x.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
        mean = x.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        return x * (std / 0.5) + (mean - 0.5) / 0.5

    def _check_input(self, x: Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ParamError(f"x: expected shape (N, 3, H, W) images, got {tuple(x.shape)}")

    def feature_map(self, x: Tensor) -> Tensor:
        """(N, 3, 299, 299) -> (N, 2048, 8, 8): Mixed_7c's output, before the global pool."""
        self._check_input(x)
        x = self._transform_input(x)
        x = self.maxpool1(self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x))))
        x = self.maxpool2(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)))
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b,
                      self.Mixed_6c, self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b,
                      self.Mixed_7c):
            x = block(x)
        return x

    def pool_features(self, x: Tensor) -> Tensor:
        """(N, 3, 299, 299) -> (N, 2048): the global average pool (YouTube-8M's ``pool_3``)."""
        return torch.flatten(self.avgpool(self.feature_map(x)), 1)

    def forward(self, x: Tensor) -> Tensor:
        """Class logits (N, num_classes). (The auxiliary head is not evaluated: inference only.)"""
        return self.fc(self.dropout(self.pool_features(x)))


# --- construction, weights -----------------------------------------------------------------------
def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ParamError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _empty_model(aux_logits: bool = False) -> InceptionV3:
    """An InceptionV3 whose tensors are allocated but not initialised (no global-RNG draw)."""
    with torch.device("meta"):
        model = InceptionV3(aux_logits=aux_logits)
    return model.to_empty(device="cpu")


def inception_random(seed: int) -> InceptionV3:
    """A seeded random Inception V3 in eval mode ([choice] init: see the module docstring)."""
    generator = torch.Generator(device="cpu").manual_seed(_check_seed(seed))
    model = _empty_model()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu",
                                        generator=generator)
            elif isinstance(module, nn.BatchNorm2d):
                module.reset_parameters()              # weight 1, bias 0, mean 0, var 1
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=0.01, generator=generator)
                module.bias.zero_()
    return model.eval()


def load_inception(path: str | Path) -> InceptionV3:
    """Inception V3 with torchvision's state dict at ``path`` (``torch.load(weights_only=True)``,
    ``strict=True``), in eval mode.

    ``AuxLogits.*`` keys (the published file has them) are dropped; BatchNorm
    ``num_batches_tracked`` counters missing from files saved by old torch versions are set to
    0 (they are unused in eval mode). Any other mismatch raises a DataError naming the file.
    """
    state = read_torch_file(path)
    model = _empty_model()
    if isinstance(state, dict):
        state = {k: v for k, v in state.items()
                 if not (isinstance(k, str) and k.startswith("AuxLogits."))}
        for key in model.state_dict():
            if key.endswith("num_batches_tracked") and key not in state:
                state[key] = torch.tensor(0, dtype=torch.long)
    load_checked_state_dict(model, state, path)
    return model.eval()


# --- frames --------------------------------------------------------------------------------------
def _check_frames(frames: ArrayLike) -> np.ndarray:
    arr = np.asarray(frames)
    if arr.dtype != np.uint8:
        raise ParamError(f"frames: expected uint8 RGB images, got dtype {arr.dtype}")
    if arr.ndim != 4 or arr.shape[3] != 3 or (arr.shape[0] and min(arr.shape[1:3]) < 1):
        raise ParamError(f"frames: expected shape (N, H, W, 3) RGB images, got {arr.shape}")
    return arr                     # no frame: any H and W (an audio-only clip's (0, 0, 0, 3))


def preprocess_frames(frames: ArrayLike) -> Tensor:
    """(N, H, W, 3) uint8 RGB -> (N, 3, 299, 299) float32 network input.

    The whole frame is resized to 299 x 299 (no crop, as YouTube-8M; bilinear with antialias),
    scaled to [0, 1] and ImageNet-normalised ``(x - mean) / std``.
    """
    arr = _check_frames(frames)
    if arr.shape[0] == 0:
        return torch.zeros((0, 3, INPUT_SIZE, INPUT_SIZE), dtype=torch.float32)
    x = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).to(torch.float32) / 255.0
    if tuple(x.shape[2:]) != (INPUT_SIZE, INPUT_SIZE):
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear",
                          align_corners=False, antialias=True)
    mean = x.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = x.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()


def _check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) \
            or batch_size < 1:
        raise ParamError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def embed_frames(model: InceptionV3, frames: ArrayLike, batch_size: int = 16) -> np.ndarray:
    """(N, 2048) float32 pool features of (N, H, W, 3) uint8 RGB ``frames``.

    Preprocessing and inference run in batches of ``batch_size`` frames, under
    ``torch.no_grad`` and in eval mode (the model's mode is restored afterwards).
    """
    batch_size = _check_batch_size(batch_size)
    arr = _check_frames(frames)
    out = np.empty((arr.shape[0], POOL_DIM), dtype=np.float32)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, arr.shape[0], batch_size):
                batch = preprocess_frames(arr[start:start + batch_size])
                out[start:start + batch_size] = model.pool_features(batch).numpy()
    finally:
        model.train(was_training)
    return out


# --- YouTube-8M PCA ------------------------------------------------------------------------------
def _load_npy(path: Path) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npy file ({exc})") from exc
    if not isinstance(arr, np.ndarray) or not np.issubdtype(arr.dtype, np.number):
        raise DataError(f"{path}: expected a numeric array")
    if not np.isfinite(arr).all():
        raise DataError(f"{path}: contains NaN or inf")
    return arr.astype(np.float64)


def load_yt8m_pca(folder: str | Path) -> PcaProjection:
    """YouTube-8M's PCA (2048 -> 1024, whitening, epsilon 1e-4) from the folder of the extracted
    ``yt8m_pca.tgz``.

    The release holds ``mean.npy`` (2048, 1), ``eigenvals.npy`` (>= 1024, 1) and
    ``eigenvecs.npy`` with one eigenvector per *row*; YouTube-8M's ``feature_extractor.py`` reads
    ``mean[:, 0]``, ``eigenvals[:1024, 0]`` and ``eigenvecs.T[:, :1024]``, and so does this
    function. The names ``pca_mean.npy``, ``pca_eigenvals.npy`` and ``pca_eigenvecs.npy`` are
    accepted too, with ``pca_eigenvecs`` either (2048, 1024) (one eigenvector per column, already
    transposed) or (K >= 1024, 2048) (per row, as the release).
    """
    files = yt8m_pca_files(folder)
    mean = _load_npy(files["mean"])
    eigenvals = _load_npy(files["eigenvals"])
    eigenvecs = _load_npy(files["eigenvecs"])
    if mean.ndim == 2 and mean.shape[1] == 1:
        mean = mean[:, 0]
    if mean.shape != (POOL_DIM,):
        raise DataError(f"{files['mean']}: shape {mean.shape}, expected ({POOL_DIM}, 1) or "
                        f"({POOL_DIM},)")
    if eigenvals.ndim == 2 and eigenvals.shape[1] == 1:
        eigenvals = eigenvals[:, 0]
    if eigenvals.ndim != 1 or eigenvals.shape[0] < YT8M_PCA_DIM:
        raise DataError(f"{files['eigenvals']}: shape {eigenvals.shape}, expected "
                        f"(K, 1) or (K,) with K >= {YT8M_PCA_DIM}")
    if eigenvecs.shape == (POOL_DIM, YT8M_PCA_DIM):
        columns = eigenvecs                                   # already one per column
    elif eigenvecs.ndim == 2 and eigenvecs.shape[1] == POOL_DIM \
            and eigenvecs.shape[0] >= YT8M_PCA_DIM:
        columns = eigenvecs.T[:, :YT8M_PCA_DIM]               # the release: one per row
    else:
        raise DataError(f"{files['eigenvecs']}: shape {eigenvecs.shape}, expected (K, {POOL_DIM})"
                        f" with K >= {YT8M_PCA_DIM} (one eigenvector per row) or "
                        f"({POOL_DIM}, {YT8M_PCA_DIM}) (one per column)")
    try:
        return PcaProjection.from_yt8m(mean, eigenvals[:YT8M_PCA_DIM], columns)
    except ParamError as exc:
        raise DataError(f"{Path(folder)}: {exc}") from exc


# --- random mode ---------------------------------------------------------------------------------
def calibration_frames(seed: int, n: int = CALIBRATION_IMAGES,
                       shape: tuple[int, int] = CALIBRATION_SHAPE) -> np.ndarray:
    """(n, H, W, 3) uint8 seeded synthetic images: the random mode's calibration batch.

    Each is a smooth random colour field (a coarse random grid of 2-12 cells a side, resized
    bilinearly), plus a few random axis-aligned rectangles of flat colour and mild pixel noise:
    large smooth regions and edges, like video frames, rather than white noise.
    """
    rng = np.random.default_rng([_check_seed(seed), 0x494E4333])    # a stream of its own
    h, w = shape
    images = np.empty((n, h, w, 3), dtype=np.uint8)
    for i in range(n):
        cells = int(rng.integers(2, 13))
        coarse = torch.from_numpy(rng.uniform(0, 255, size=(1, 3, cells, cells)))
        field = F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
        img = field[0].permute(1, 2, 0).numpy().copy()
        for _ in range(int(rng.integers(0, 6))):
            y0, y1 = np.sort(rng.integers(0, h, size=2))
            x0, x1 = np.sort(rng.integers(0, w, size=2))
            img[y0:y1 + 1, x0:x1 + 1] = rng.uniform(0, 255, size=3)
        img += rng.normal(0.0, rng.uniform(0.0, 8.0), size=img.shape)
        images[i] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return images


@functools.lru_cache(maxsize=2)
def _pca_random_arrays(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    model = inception_random(seed)
    frames = calibration_frames(seed)
    maps = []
    with torch.no_grad():
        for start in range(0, len(frames), 8):
            maps.append(model.feature_map(preprocess_frames(frames[start:start + 8])))
    fmap = torch.cat(maps).to(torch.float64)                        # (n, 2048, 8, 8)
    positions = fmap.permute(0, 2, 3, 1).reshape(-1, POOL_DIM).numpy()  # (64 n, 2048)
    pooled = fmap.mean(dim=(2, 3)).numpy()                          # (n, 2048)
    fitted = PcaProjection.fit(positions, YT8M_PCA_DIM, whiten=False)     # directions, mean
    projected = (pooled - fitted.mean) @ fitted.components.T               # (n, 1024)
    return fitted.mean, fitted.components, projected.var(axis=0, ddof=1)


def inception_pca_random(seed: int) -> PcaProjection:
    """The random mode's YouTube-8M PCA stand-in (2048 -> 1024, whitening), fitted on
    ``inception_random(seed)``'s outputs for :func:`calibration_frames` ``(seed)`` (see the
    module docstring). Cached per seed in the process."""
    mean, components, eigenvalues = _pca_random_arrays(_check_seed(seed))
    return PcaProjection(mean=mean, components=components, eigenvalues=eigenvalues)
