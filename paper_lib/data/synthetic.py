r"""A VEGAS-shaped synthetic dataset from a documented, class-structured, non-linear latent model.

Shapes follow VEGAS: per-second audio (128-d, like VGGish) and visual (1024-d, like Inception V3
after PCA) features for clips of 3..10 s, zero-padded to ``max_seconds``, with ``seq_len``; the
clip-level feature is the mean over the valid seconds, as in the paper.

Generative model
----------------
Symbols: :math:`C` classes, :math:`M = 3` modes (sub-clusters) per class, a shared latent space of
:math:`k = 16` dimensions, a private nuisance space of :math:`k_u = 8` dimensions per modality,
:math:`h_a = 64` / :math:`h_v = 128` hidden units, difficulty :math:`\delta \in [0, 1]`.

Structure, drawn once from ``seed`` (the same for any number of clips):

.. math::

    a_c \sim \mathcal N(0, I_k),\quad b_{c,m} \sim \mathcal N(0, I_k),\quad
    \mu_{c,m} = s(\delta)\,(a_c + \rho\, b_{c,m}),\ \rho = 1.5

    (W^a_1)_{jl} \sim \mathcal N(0, 1/k),\ (U^a)_{jl} \sim \mathcal N(0, 1/k_u),\
    c^a_j \sim \mathcal N(0, 0.5^2),\ (W^a_2)_{jl} \sim \mathcal N(0, 1/h_a)
    \quad\text{(visual likewise, with } h_v, d_v)

Clip :math:`i` of class :math:`y_i`, with :math:`T_i \sim \mathcal U\{T_{min}..T_{max}\}` seconds:

.. math::

    m_i \sim \mathcal U\{1..M\},\quad z_i = \mu_{y_i, m_i} + \sigma_w \varepsilon_i,\quad
    u^a_i,\ u^v_i \sim \mathcal N(0, I_{k_u})\ \text{independent}

    e_{i,1} \sim \mathcal N(0, I_k),\quad e_{i,t} = \phi\, e_{i,t-1} + \sqrt{1-\phi^2}\,\eta_{i,t},
    \quad z_{i,t} = z_i + \sigma_t\, e_{i,t}

    x^a_{i,t} = W^a_2 \tanh\!\big(g\,(W^a_1 z_{i,t} + \lambda(\delta)\, U^a u^a_i) + c^a\big)
                + \sigma_n(\delta)\, \xi^a_{i,t}

    x^v_{i,t} = W^v_2\, \mathrm{relu}\!\big(g\,(W^v_1 z_{i,t} + \lambda(\delta)\, U^v u^v_i)
                + c^v\big) + \nu\,\sigma_n(\delta)\, \xi^v_{i,t}

    \bar x_i = \tfrac{1}{T_i} \textstyle\sum_{t \le T_i} x_{i,t},\qquad x_{i,t} = 0 \text{ for } t > T_i

with :math:`\varepsilon, \eta, \xi \sim \mathcal N(0, I)`. The pair shares only :math:`z_{i,t}`
(class, mode, clip and per-second variation); each modality also sees a nuisance :math:`u` that its
partner never sees, passed through the same non-linearity (so it cannot be removed by a linear
projection alone). The class is multi-modal (three sub-clusters), so a class mean is a poor
summary, and the two views use different non-linearities (tanh, relu).

Difficulty (all monotone in :math:`\delta`): class/mode separation
:math:`s(\delta) = 1.5\,(1 - 0.5\,\delta)`, nuisance strength :math:`\lambda(\delta) = 1 +
2\,\delta`, observation noise :math:`\sigma_n(\delta) = 0.5 + 2\,\delta`. Fixed:
:math:`\sigma_w = 0.7`, :math:`\sigma_t = 0.3`, :math:`\phi = 0.7`, :math:`g = 0.6`, and
:math:`\nu = 2` (the visual view has 8x the dimensions; without the larger noise it would be
far easier than the audio view).
Every constant is a [choice] of this book, picked so that nearest-class-mean accuracy on the raw
features falls steadily with :math:`\delta` while a non-linear classifier keeps an edge.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from paper_lib.data import folds as folds_module
from paper_lib.data.cache import load_cached
from paper_lib.data.dataset import PairedDataset
from paper_lib.data.folds import make_folds
from paper_lib.errors import ParamError
from paper_lib.fingerprint import modules_fingerprint

# [choice] fixed constants of the generative model (see the module docstring)
N_MODES = 3            # M: sub-clusters per class
K_SHARED = 16          # k: shared latent dimensions
K_NUISANCE = 8         # k_u: private nuisance dimensions per modality
HIDDEN_AUDIO = 64      # h_a
HIDDEN_VISUAL = 128    # h_v
MODE_SPREAD = 1.5      # rho: mode offsets relative to the class anchor
SIGMA_WITHIN = 0.7     # sigma_w: within-mode spread of z_i
SIGMA_TIME = 0.3       # sigma_t: per-second variation of z_{i,t}
AR_COEF = 0.7          # phi: AR(1) coefficient of the per-second variation
GAIN = 0.6             # g: pre-activation gain (how far into the non-linearity)
VISUAL_NOISE = 2.0     # visual noise relative to audio (8x the dims would otherwise be far easier)
MIN_SECONDS = 3        # shortest clip (VEGAS clips are up to 10 s)

GENERATOR = "synthetic"


@dataclass(frozen=True)
class Difficulty:
    """The three knobs driven by ``difficulty`` in [0, 1]."""

    separation: float      # s(delta)
    nuisance: float        # lambda(delta)
    noise: float           # sigma_n(delta)

    @classmethod
    def from_level(cls, delta: float) -> Difficulty:
        return cls(separation=1.5 * (1.0 - 0.5 * delta), nuisance=1.0 + 2.0 * delta,
                   noise=0.5 + 2.0 * delta)


@dataclass(frozen=True)
class _ViewMap:
    """The random two-layer map of one modality: x = W2 f(g (W1 z + lam U u) + c)."""

    W1: np.ndarray         # (h, k)
    U: np.ndarray          # (h, k_u)
    c: np.ndarray          # (h,)
    W2: np.ndarray         # (d, h)
    activation: str        # "tanh" or "relu"


def _draw_view_map(rng: np.random.Generator, d_out: int, hidden: int,
                   activation: str) -> _ViewMap:
    return _ViewMap(W1=rng.normal(0.0, 1.0 / np.sqrt(K_SHARED), (hidden, K_SHARED)),
                    U=rng.normal(0.0, 1.0 / np.sqrt(K_NUISANCE), (hidden, K_NUISANCE)),
                    c=rng.normal(0.0, 0.5, hidden),
                    W2=rng.normal(0.0, 1.0 / np.sqrt(hidden), (d_out, hidden)),
                    activation=activation)


def _class_structure(rng: np.random.Generator, n_classes: int) -> np.ndarray:
    """(C, M, k) unscaled mode centres a_c + rho b_{c,m}."""
    anchors = rng.standard_normal((n_classes, 1, K_SHARED))             # a_c
    offsets = rng.standard_normal((n_classes, N_MODES, K_SHARED))       # b_{c,m}
    return anchors + MODE_SPREAD * offsets


def _shared_latents(rng: np.random.Generator, centres: np.ndarray, labels: np.ndarray,
                    n_seconds: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, T, k) per-second shared latents z_{i,t} and the (N,) mode of each clip."""
    n = int(labels.shape[0])
    modes = rng.integers(0, N_MODES, n)                                  # m_i
    z = centres[labels, modes] + SIGMA_WITHIN * rng.standard_normal((n, K_SHARED))   # z_i
    e = np.empty((n, n_seconds, K_SHARED))
    e[:, 0] = rng.standard_normal((n, K_SHARED))                         # e_{i,1}
    innovations = rng.standard_normal((n, n_seconds, K_SHARED))
    for t in range(1, n_seconds):                                        # AR(1) over seconds
        e[:, t] = AR_COEF * e[:, t - 1] + np.sqrt(1.0 - AR_COEF ** 2) * innovations[:, t]
    return z[:, None, :] + SIGMA_TIME * e, modes                         # z_{i,t}


def _observe(rng: np.random.Generator, view: _ViewMap, z_seq: np.ndarray, nuisance: np.ndarray,
             knobs: Difficulty, noise_scale: float) -> np.ndarray:
    """(N, T, d) float32 x_{i,t} = W2 f(g (W1 z_{i,t} + lam U u_i) + c) + sigma_n xi."""
    pre = z_seq @ view.W1.T + knobs.nuisance * (nuisance @ view.U.T)[:, None, :]   # (N, T, h)
    pre = GAIN * pre + view.c
    hidden = np.tanh(pre) if view.activation == "tanh" else np.maximum(pre, 0.0)
    x = hidden.astype(np.float32) @ view.W2.T.astype(np.float32)         # (N, T, d) float32
    x += np.float32(noise_scale * knobs.noise) * rng.standard_normal(x.shape, dtype=np.float32)
    return x


def _resolve_class_sizes(n_classes: int | None, n_per_class: int,
                         class_sizes: Sequence[int] | None) -> np.ndarray:
    if class_sizes is None:
        sizes = np.full(10 if n_classes is None else n_classes, n_per_class)
    else:
        sizes = np.asarray(class_sizes)
        if sizes.ndim != 1 or not np.issubdtype(sizes.dtype, np.integer):
            raise ParamError(f"class_sizes must be a list of integers, got {class_sizes!r}")
        if n_classes is not None and n_classes != sizes.size:
            raise ParamError(f"n_classes={n_classes} but class_sizes has {sizes.size} entries")
    if sizes.size < 2:
        raise ParamError(f"n_classes must be at least 2, got {sizes.size}")
    if sizes.min() < 1:
        raise ParamError(f"every class needs at least one clip (n_per_class / class_sizes), got "
                         f"{sizes.tolist()}")
    return sizes.astype(np.int64)


def _check_args(d_audio: int, d_visual: int, max_seconds: int, difficulty: float) -> None:
    for name, value in (("d_audio", d_audio), ("d_visual", d_visual)):
        if value < 1:
            raise ParamError(f"{name} must be positive, got {value}")
    if max_seconds < 1:
        raise ParamError(f"max_seconds must be at least 1, got {max_seconds}")
    if not 0.0 <= difficulty <= 1.0:
        raise ParamError(f"difficulty must lie in [0, 1], got {difficulty}")


def build_synthetic(seed: int, sizes: np.ndarray, d_audio: int, d_visual: int,
                    max_seconds: int, difficulty: float, n_folds: int) -> PairedDataset:
    """Generate the dataset (no cache). See the module docstring for the model."""
    structure_rng, sample_rng = (np.random.default_rng(s)
                                 for s in np.random.SeedSequence(seed).spawn(2))
    knobs = Difficulty.from_level(difficulty)
    n_classes = sizes.size
    centres = knobs.separation * _class_structure(structure_rng, n_classes)   # mu_{c,m}
    audio_map = _draw_view_map(structure_rng, d_audio, HIDDEN_AUDIO, "tanh")
    visual_map = _draw_view_map(structure_rng, d_visual, HIDDEN_VISUAL, "relu")

    labels = np.repeat(np.arange(n_classes), sizes)                       # (N,)
    n = labels.size
    shortest = min(MIN_SECONDS, max_seconds)
    seq_len = sample_rng.integers(shortest, max_seconds + 1, n)           # T_i
    z_seq, _ = _shared_latents(sample_rng, centres, labels, max_seconds)
    nuisance_a = sample_rng.standard_normal((n, K_NUISANCE))              # u^a_i
    nuisance_v = sample_rng.standard_normal((n, K_NUISANCE))              # u^v_i
    audio_seq = _observe(sample_rng, audio_map, z_seq, nuisance_a, knobs, 1.0)
    visual_seq = _observe(sample_rng, visual_map, z_seq, nuisance_v, knobs, VISUAL_NOISE)
    valid = np.arange(max_seconds)[None, :] < seq_len[:, None]           # (N, T)
    audio_seq[~valid] = 0.0                                               # zero padding
    visual_seq[~valid] = 0.0

    class_names = tuple(f"class_{c:02d}" for c in range(n_classes))
    within = np.concatenate([np.arange(s) for s in sizes])
    clip_ids = np.array([f"{class_names[c]}_{j:05d}" for c, j in zip(labels, within, strict=True)])
    return PairedDataset(
        name=GENERATOR,
        audio=_mean_over_valid(audio_seq, seq_len), visual=_mean_over_valid(visual_seq, seq_len),
        labels=labels, class_names=class_names, clip_ids=clip_ids,
        folds=make_folds(labels, n_folds=n_folds, seed=seed),
        audio_seq=audio_seq, visual_seq=visual_seq, seq_len=seq_len.astype(np.int64),
        source=f"embedded:{GENERATOR}")


def _mean_over_valid(seq: np.ndarray, seq_len: np.ndarray) -> np.ndarray:
    """(N, d) float64 clip-level mean over the valid seconds (padding is zero, so sum / T_i)."""
    return seq.sum(axis=1, dtype=np.float64) / seq_len[:, None]


def make_synthetic(seed: int = 0, n_classes: int | None = None, n_per_class: int = 200,
                   class_sizes: Sequence[int] | None = None, d_audio: int = 128,
                   d_visual: int = 1024, max_seconds: int = 10, difficulty: float = 0.5,
                   n_folds: int = 5, use_cache: bool = True) -> PairedDataset:
    """The synthetic VEGAS-shaped dataset (cached under ``paths.cache_dir()/datasets``).

    ``n_classes`` defaults to 10 (or to ``len(class_sizes)``); ``class_sizes`` gives unequal
    classes. Same arguments -> identical arrays. Per-second views are float32 (N, max_seconds, d),
    clip-level views float64.

    Examples
    --------
    >>> ds = make_synthetic(seed=0, n_classes=3, n_per_class=10, d_audio=4, d_visual=6,
    ...                     max_seconds=3, use_cache=False)
    >>> ds.audio.shape, ds.visual.shape, ds.audio_seq.shape, ds.class_counts().tolist()
    ((30, 4), (30, 6), (30, 3, 4), [10, 10, 10])
    """
    sizes = _resolve_class_sizes(n_classes, n_per_class, class_sizes)
    _check_args(d_audio, d_visual, max_seconds, difficulty)
    params = {"seed": int(seed), "class_sizes": sizes.tolist(), "d_audio": int(d_audio),
              "d_visual": int(d_visual), "max_seconds": int(max_seconds),
              "difficulty": float(difficulty), "n_folds": int(n_folds)}
    version = modules_fingerprint(sys.modules[__name__], folds_module,
                             extra=f"numpy {np.__version__}")
    return load_cached(GENERATOR, params, lambda: build_synthetic(
        int(seed), sizes, int(d_audio), int(d_visual), int(max_seconds), float(difficulty),
        int(n_folds)), code_version=version, use_cache=use_cache)
