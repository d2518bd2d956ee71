"""A small VGGish-style audio network, pretrained in the build to classify spoken words.

The paper's audio features are VGGish embeddings (:mod:`paper_lib.extract.vggish`): a VGG-like
CNN trained on YouTube audio, applied to 0.96 s x 64-band log-mel patches
(:func:`paper_lib.extract.logmel.frame_examples`). :class:`AudioNet` keeps VGGish's design and
input, scaled down so that it trains in seconds on two CPU cores (on the spoken words of
:mod:`paper_lib.data.pretraining.words`):

=================================  =========================  ===================
VGGish (``define_vggish_slim``)    AudioNet                   output (N, C, H, W)
=================================  =========================  ===================
input: log-mel patch               fixed affine               (N, 1, 96, 64)
conv1 (64), pool1                  ``features.0`` (16), pool  (N, 16, 48, 32)
conv2 (128), pool2                 ``features.3`` (32), pool  (N, 32, 24, 16)
conv3/conv3_{1,2} (256), pool3     ``features.6`` (64), pool  (N, 64, 12, 8)
conv4/conv4_{1,2} (512), pool4     ``features.9`` (64), pool  (N, 64, 6, 4)
flatten (NHWC)                     flatten (NHWC)             (N, 1536)
fc1/fc1_{1,2} (4096), fc2 (128)    ``embedding`` (128)        (N, 128)
(AudioSet classifier, unreleased)  ReLU, ``classifier``       (N, n_classes)
=================================  =========================  ===================

The input is normalised by a fixed affine, ``(x - LOGMEL_CENTRE) / LOGMEL_SCALE`` = (x + 1) / 1.1
(VGGish takes the log-mel values as they are; the constants are explained where defined). As in VGGish
every convolution is 3 x 3, stride 1, SAME padding, followed by a ReLU, and every
max-pool is 2 x 2, stride 2; the last feature map is flattened in TF's NHWC order (as
:class:`paper_lib.extract.vggish.VGGish` does). [choice] One convolution per block instead of
VGGish's two in blocks 3 and 4, channels 16-32-64-64 instead of 64-128-256-512 and one fully
connected layer instead of three: 46x fewer multiply-adds (19 M per patch instead of 864 M), so
that an epoch of 1,600 training patches takes a few seconds on two cores.

The features are the penultimate layer (:meth:`AudioNet.embed`), the 128 units of the embedding
layer. [choice] By default its pre-activation values, as VGGish's released embeddings are the
pre-activation values of its ``fc2`` layer: after the ReLU many units are 0 on every patch
(measured, seed 0: 19 of 128 at initialisation, 52-69 after 8-10 epochs of Adam on the 2,000 word
patches), constant columns that carry no information into CCA; before it they still vary.
``embed(..., relu=True)`` gives the post-ReLU activations the classifier sees.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import Tensor, nn

from paper_lib.errors import ParamError, check_int
from paper_lib.extract.logmel import EXAMPLE_FRAMES, NUM_MEL_BINS, check_patches

#: output channels of the four 3x3 convolutions, each followed by a ReLU and a 2x2 max-pool
CHANNELS = (16, 32, 64, 64)
#: the last feature map (C, H, W): four halvings of the (96, 64) patch
FINAL_MAP = (CHANNELS[-1], EXAMPLE_FRAMES // 16, NUM_MEL_BINS // 16)
#: its flattened size, the input of the embedding layer
FLAT_DIM = FINAL_MAP[0] * FINAL_MAP[1] * FINAL_MAP[2]
DEFAULT_EMBED_DIM = 128                   # [choice] VGGish's embedding width (EMBEDDING_SIZE)
# [choice] Input normalisation: a fixed affine (x - LOGMEL_CENTRE) / LOGMEL_SCALE on the
# log(mel + 0.01) values, not BatchNorm (no batch statistics: the same patch always gives the same
# output, in training and in eval mode). The values are round numbers near the measured mean and
# standard deviation of the log-mel values: -0.99 and 1.14 on the word corpus (seed 0, 2,000
# patches), -1.09 and 1.11 on avdigits clips; the range runs from log(0.01) = -4.6 to about 3.6.
LOGMEL_CENTRE = -1.0
LOGMEL_SCALE = 1.1




class AudioNet(nn.Module):
    """VGGish-style CNN: (N, 96, 64) log-mel patches -> logits over ``n_classes`` words.

    Parameters
    ----------
    n_classes : int
        Number of output classes (at least 2).
    embed_dim : int, default=128
        Width of the embedding (penultimate) layer, the features of :meth:`embed`.
    seed : int, default=0
        Seed of the ``torch.Generator`` that draws the initial weights; same seed, same weights.

    Notes
    -----
    [choice] Initialisation as :func:`paper_lib.extract.vggish.vggish_random`: He-normal weights
    (``fan_in``, ReLU gain) and zero biases, drawn from a seeded ``torch.Generator`` (never the
    global RNG); the tensors are allocated on the meta device first, so constructing the network
    draws nothing from torch's global generator. [choice] No dropout and no BatchNorm: the
    forward pass draws nothing at random and does not depend on the batch, so training is
    deterministic given the order of the batches, and eval mode equals training mode.
    """

    def __init__(self, n_classes: int, embed_dim: int = DEFAULT_EMBED_DIM, seed: int = 0) -> None:
        n_classes = check_int(n_classes, "n_classes", 2)
        embed_dim = check_int(embed_dim, "embed_dim", 1)
        seed = check_int(seed, "seed", 0)
        super().__init__()
        with torch.device("meta"):
            layers: list[nn.Module] = []
            channels = 1
            for width in CHANNELS:
                layers += [nn.Conv2d(channels, width, kernel_size=3, padding=1), nn.ReLU(),
                           nn.MaxPool2d(kernel_size=2, stride=2)]
                channels = width
            self.features = nn.Sequential(*layers)
            self.embedding = nn.Linear(FLAT_DIM, embed_dim)
            self.classifier = nn.Linear(embed_dim, n_classes)
        self.to_empty(device="cpu")
        self.n_classes, self.embed_dim, self.seed = n_classes, embed_dim, seed
        generator = torch.Generator(device="cpu").manual_seed(seed)
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, nn.Conv2d | nn.Linear):
                    nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu",
                                            generator=generator)
                    assert module.bias is not None
                    module.bias.zero_()

    def _maps(self, patches: Tensor) -> Tensor:
        if patches.ndim == 3:
            patches = patches.unsqueeze(1)
        if patches.ndim != 4 or tuple(patches.shape[1:]) != (1, EXAMPLE_FRAMES, NUM_MEL_BINS):
            raise ParamError(f"patches: expected shape (N, {EXAMPLE_FRAMES}, {NUM_MEL_BINS}) or "
                             f"(N, 1, {EXAMPLE_FRAMES}, {NUM_MEL_BINS}), got "
                             f"{tuple(patches.shape)}")
        maps = self.features((patches - LOGMEL_CENTRE) / LOGMEL_SCALE)     # (N, 64, 6, 4)
        return maps.permute(0, 2, 3, 1).reshape(maps.shape[0], -1)           # TF's NHWC flatten

    def embed(self, patches: Tensor, relu: bool = False) -> Tensor:
        """The penultimate layer: the embedding layer's values.

        Parameters
        ----------
        patches : torch.Tensor
            (N, 96, 64) or (N, 1, 96, 64) float32 log-mel patches.
        relu : bool, default=False
            Return the post-ReLU activations (what the classifier sees) instead of the
            pre-activation values (VGGish's convention, see the module docstring).

        Returns
        -------
        torch.Tensor
            (N, embed_dim) embeddings.
        """
        values = self.embedding(self._maps(patches))
        return torch.relu(values) if relu else values

    def forward(self, patches: Tensor) -> Tensor:
        """Class scores.

        Parameters
        ----------
        patches : torch.Tensor
            (N, 96, 64) or (N, 1, 96, 64) float32 log-mel patches.

        Returns
        -------
        torch.Tensor
            (N, n_classes) logits (no softmax; train with ``nn.CrossEntropyLoss``).
        """
        return self.classifier(self.embed(patches, relu=True))


def embed_patches(net: AudioNet, patches: ArrayLike, batch_size: int = 256,
                  relu: bool = False) -> np.ndarray:
    """Embeddings of log-mel patches (:meth:`AudioNet.embed`), in eval mode under
    ``torch.no_grad()``.

    Parameters
    ----------
    net : AudioNet
        The (trained) network; its training/eval mode is restored afterwards.
    patches : array_like
        (N, 96, 64) or (N, 1, 96, 64) float log-mel patches (finite).
    batch_size : int, default=256
        Patches per forward pass (the result does not depend on it beyond float rounding).
    relu : bool, default=False
        Post-ReLU activations instead of the pre-activation values.

    Returns
    -------
    numpy.ndarray
        (N, net.embed_dim) float32 embeddings.

    Raises
    ------
    paper_lib.errors.ParamError
        ``patches`` of the wrong shape or dtype, with NaN or inf, or a bad ``batch_size``.
    """
    batch_size = check_int(batch_size, "batch_size", 1)
    arr = check_patches(patches)
    out = np.empty((arr.shape[0], net.embed_dim), dtype=np.float32)
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            for start in range(0, arr.shape[0], batch_size):
                chunk = torch.from_numpy(np.ascontiguousarray(arr[start:start + batch_size],
                                                              dtype=np.float32))
                out[start:start + batch_size] = net.embed(chunk, relu=relu).numpy()
    finally:
        net.train(was_training)
    return out
