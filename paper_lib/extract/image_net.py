"""A small image network for 28 x 28 grey images, the visual feature stage of the pretrained regime.

The paper describes each video frame by the pool features of Inception V3 pretrained on ImageNet
(:mod:`paper_lib.extract.inception`): a network trained on *other* images and *other* labels, whose
penultimate layer is then used as a generic image descriptor. Issue 18 mirrors that stage at the
scale of the AV-digits images (MNIST's 28 x 28 convention, :mod:`paper_lib.data.avdigits`):
:class:`paper_lib.extract.image_net.ImageNet` is trained in the build on rendered letters
(:mod:`paper_lib.data.pretraining.letters`), never on digits, and
:func:`paper_lib.extract.image_net.embed_images` returns its penultimate layer for the MNIST
digits.

Architecture (a LeNet-style CNN; every convolution 3 x 3, stride 1, ``padding=1``; every pool a
2 x 2 max-pool, stride 2):

=========================  ===============================  ======================
modules                    what                             output (N, C, H, W)
=========================  ===============================  ======================
input                      pixels / 255, white on black     (N, 1, 28, 28)
``features.0``, ``.1``     conv 32, ReLU                    (N, 32, 28, 28)
``features.2``, ``.3``     conv 32, ReLU                    (N, 32, 28, 28)
``features.4``             max-pool                         (N, 32, 14, 14)
``features.5``, ``.6``     conv 64, ReLU                    (N, 64, 14, 14)
``features.7``             max-pool                         (N, 64, 7, 7)
flatten (C, H, W order)                                     (N, 3136)
``embedding.0``, ``.1``    linear ``embed_dim``, ReLU       (N, ``embed_dim``)
``classifier``             linear ``n_classes``: logits     (N, ``n_classes``)
=========================  ===============================  ======================

The embedding (after its ReLU) is the "penultimate layer", as the paper takes Inception V3's
pool features (themselves non-negative, the output of a ReLU and an average pool) rather than its
logits.

[choice] No dropout and no batch normalisation: the network is deterministic in both modes, an
image's embedding does not depend on the other images of its batch nor on running statistics, and
``train()`` / ``eval()`` give the same function (measured: it still reaches high held-out accuracy
on the letter corpus within a few epochs, see ``tests/test_pretrain_letters.py``).

[choice] Initialisation as :func:`paper_lib.extract.vggish.vggish_random`: He-normal weights
(``fan_in``, ReLU gain) for every layer followed by a ReLU, zero biases; the classifier He-normal
with gain 1 (``nonlinearity="linear"``), so the initial logits have unit-order scale. Every draw
comes from a ``torch.Generator`` seeded with ``seed``; the tensors are allocated on the ``meta``
device first, so building the network never touches torch's global RNG.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import Tensor, nn

from paper_lib.errors import ParamError, check_int

IMAGE_SIDE = 28                         # MNIST's 28 x 28 frame
DEFAULT_EMBED_DIM = 128                 # [choice] as VGGish's 128-d embedding
CONV_CHANNELS = (32, 32, 64)            # [choice] output channels of the three convolutions
FLAT_DIM = CONV_CHANNELS[-1] * (IMAGE_SIDE // 4) ** 2    # 64 x 7 x 7 = 3136
DEFAULT_BATCH_SIZE = 512






class ImageNet(nn.Module):
    """A seeded LeNet-style CNN: (N, 1, 28, 28) images in [0, 1] -> logits, or embeddings.

    Parameters
    ----------
    n_classes : int
        Number of classes of the classifier (at least 2).
    embed_dim : int, default=128
        Width of the embedding layer (the penultimate layer, see
        :meth:`paper_lib.extract.image_net.ImageNet.embed`).
    seed : int, default=0
        Seed of the ``torch.Generator`` the initial weights are drawn from; the same seed gives
        bit-identical weights.

    Raises
    ------
    paper_lib.errors.ParamError
        If ``n_classes`` is not an integer >= 2, ``embed_dim`` not a positive integer or ``seed``
        not a non-negative integer.

    Notes
    -----
    The layers are listed in the module docstring of :mod:`paper_lib.extract.image_net`. The
    network is returned in training mode (the usual ``nn.Module`` default); having neither dropout
    nor batch normalisation, it computes the same function in ``eval()`` mode.
    """

    def __init__(self, n_classes: int, embed_dim: int = DEFAULT_EMBED_DIM, seed: int = 0) -> None:
        super().__init__()
        n_classes = check_int(n_classes, "n_classes", 2)
        embed_dim = check_int(embed_dim, "embed_dim", 1)
        seed = check_int(seed, "seed", 0)
        self.n_classes, self.embed_dim, self.seed = int(n_classes), embed_dim, seed
        c1, c2, c3 = CONV_CHANNELS
        with torch.device("meta"):         # allocate without the default (global-RNG) init
            self.features = nn.Sequential(
                nn.Conv2d(1, c1, kernel_size=3, padding=1), nn.ReLU(),
                nn.Conv2d(c1, c2, kernel_size=3, padding=1), nn.ReLU(),
                nn.MaxPool2d(kernel_size=2, stride=2),
                nn.Conv2d(c2, c3, kernel_size=3, padding=1), nn.ReLU(),
                nn.MaxPool2d(kernel_size=2, stride=2),
            )
            self.embedding = nn.Sequential(nn.Linear(FLAT_DIM, embed_dim), nn.ReLU())
            self.classifier = nn.Linear(embed_dim, self.n_classes)
        self.to_empty(device="cpu")
        self._initialise(seed)

    def _initialise(self, seed: int) -> None:
        """He-normal weights and zero biases from a generator seeded with ``seed`` ([choice],
        see the module docstring)."""
        generator = torch.Generator(device="cpu").manual_seed(seed)
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, nn.Conv2d | nn.Linear):
                    nn.init.kaiming_normal_(
                        module.weight, mode="fan_in", generator=generator,
                        nonlinearity="linear" if module is self.classifier else "relu")
                    assert module.bias is not None
                    module.bias.zero_()

    @staticmethod
    def _check_input(x: Tensor) -> Tensor:
        if x.ndim == 3:
            x = x.unsqueeze(1)
        if x.ndim != 4 or tuple(x.shape[1:]) != (1, IMAGE_SIDE, IMAGE_SIDE):
            raise ParamError(f"x: expected shape (N, {IMAGE_SIDE}, {IMAGE_SIDE}) or "
                             f"(N, 1, {IMAGE_SIDE}, {IMAGE_SIDE}), got {tuple(x.shape)}")
        return x

    def embed(self, x: Tensor) -> Tensor:
        """The penultimate layer: (N, 1, 28, 28) or (N, 28, 28) float images in [0, 1] ->
        (N, ``embed_dim``) non-negative embeddings (after the embedding layer's ReLU)."""
        maps = self.features(self._check_input(x))
        return self.embedding(maps.flatten(1))

    def forward(self, x: Tensor) -> Tensor:
        """(N, 1, 28, 28) or (N, 28, 28) float images in [0, 1] -> (N, ``n_classes``) logits."""
        return self.classifier(self.embed(x))


def embed_images(net: ImageNet, images: ArrayLike,
                 batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """Embeddings of uint8 images by ``net``'s penultimate layer
    (:meth:`paper_lib.extract.image_net.ImageNet.embed`).

    Parameters
    ----------
    net : ImageNet
        The (trained) network. It is run in eval mode without gradients; its previous mode is
        restored afterwards.
    images : array-like of uint8, shape (N, 28, 28)
        Grey images, white on black, 0..255 (MNIST's convention, as
        :func:`paper_lib.data.avdigits.load_mnist_images` returns them); scaled by 1/255 here.
    batch_size : int, default=512
        Images per forward pass (memory only: the result does not depend on it beyond float
        rounding).

    Returns
    -------
    numpy.ndarray
        (N, ``net.embed_dim``) float32.

    Raises
    ------
    paper_lib.errors.ParamError
        If ``images`` is not a uint8 array of shape (N, 28, 28) or ``batch_size`` is not a
        positive integer.
    """
    batch_size = check_int(batch_size, "batch_size", 1)
    arr = np.asarray(images)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise ParamError(f"images: expected a uint8 array of shape (N, {IMAGE_SIDE}, "
                         f"{IMAGE_SIDE}) with pixels 0..255, got dtype {arr.dtype} and shape "
                         f"{arr.shape}")
    out = np.empty((arr.shape[0], net.embed_dim), dtype=np.float32)
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            for start in range(0, arr.shape[0], batch_size):
                batch = torch.from_numpy(arr[start:start + batch_size].astype(np.float32) / 255.0)
                out[start:start + batch.shape[0]] = net.embed(batch).numpy()
    finally:
        net.train(was_training)
    return out
