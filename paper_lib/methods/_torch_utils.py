"""Small PyTorch helpers shared by the deep methods (TNN-C-CCA, DCCA, lstm_C-CCA).

Everything runs on the CPU (``DEVICE``). Each helper does one job: seeding, array <-> tensor
conversion, minibatch index generation, an MLP builder, input standardisation, a stratified
validation split, batched inference and the validation MAP. Nothing here sets thread counts: the
project's one thread policy is ``paper_lib.threads``, applied by the entry points.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import nn

from paper_lib.errors import UserError
from paper_lib.methods._validation import check_number, check_positive_int
from paper_lib.metrics.cross_modal import cross_modal_map

#: every deep method in this package trains and infers on the CPU
DEVICE = torch.device("cpu")
#: float32 for training speed; outputs are returned to callers as float64 numpy arrays
DTYPE = torch.float32


# -- seeding -------------------------------------------------------------------------------------
@contextlib.contextmanager
def seeded(seed: int) -> Iterator[torch.Generator]:
    """Seed torch's global RNG inside the block (restored afterwards) and yield a fresh generator.

    The global RNG drives weight initialisation and dropout; the yielded generator drives data
    order (shuffling) and random mining. ``torch.random.fork_rng`` keeps the caller's global RNG
    state untouched, so fitting an estimator has no side effect on other code. Thread counts are
    not touched (see ``paper_lib.threads``).
    """
    seed = int(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator = torch.Generator(device="cpu")
        generator.manual_seed(seed + 1)  # distinct stream from the global one
        yield generator


# -- conversion ----------------------------------------------------------------------------------
def to_tensor(X: np.ndarray) -> torch.Tensor:
    """numpy array -> float32 CPU tensor (a copy, contiguous)."""
    return torch.as_tensor(np.ascontiguousarray(X), dtype=DTYPE, device=DEVICE)


def to_numpy(T: torch.Tensor) -> np.ndarray:
    """tensor -> float64 numpy array (detached)."""
    return T.detach().cpu().numpy().astype(np.float64)


# -- minibatches ---------------------------------------------------------------------------------
def resolve_n_batches(n_samples: int, batch_size: int | None, n_batches: int | None) -> int:
    """Number of minibatches per epoch, from either ``batch_size`` or the paper's "batch number".

    ``n_batches`` (the paper's "batch number", the number of chunks the training set is cut
    into) overrides ``batch_size`` when given and is then exactly the number of batches (at most
    one per sample); otherwise it is ``ceil(N / batch_size)``. The authors cut the training set
    into ``batch_num`` chunks with ``np.array_split`` (``myGenerator`` in ``batch_all.py`` and
    ``triplet_ccca.py``), which this reproduces with :func:`minibatch_indices`.
    """
    if n_batches is not None:
        return min(check_positive_int(n_batches, "n_batches"), n_samples)
    size = min(check_positive_int(batch_size, "batch_size"), n_samples)
    return -(-n_samples // size)  # ceil


def largest_batch(n_samples: int, n_batches: int) -> int:
    """Size of the largest of ``n_batches`` near-equal chunks of ``n_samples`` rows."""
    return -(-n_samples // n_batches)  # ceil


def minibatch_indices(n_samples: int, n_batches: int, generator: torch.Generator,
                      shuffle: bool = True) -> list[torch.Tensor]:
    """Index tensors of exactly ``n_batches`` near-equal chunks of a seeded permutation.

    [choice] the chunks differ in size by at most one (``torch.tensor_split``, like the authors'
    ``np.array_split``) instead of leaving a small last remainder: no sample is dropped and no
    batch is tiny (a tiny batch would give a degenerate covariance in DCCA or a triplet-free batch
    in TNN). Call once per epoch: the permutation changes every epoch (the authors keep one fixed
    order) but is fully determined by the generator's seed. Get ``n_batches`` from
    :func:`resolve_n_batches`.
    """
    if not 1 <= n_batches <= n_samples:
        raise ValueError(f"minibatch_indices: n_batches={n_batches} must be in 1..{n_samples}.")
    order = (torch.randperm(n_samples, generator=generator) if shuffle
             else torch.arange(n_samples))
    return list(torch.tensor_split(order, n_batches))


# -- networks ------------------------------------------------------------------------------------
def mlp(in_dim: int, hidden: Sequence[int], out_dim: int, *, activation: type[nn.Module] = nn.Tanh,
        dropout: float = 0.0, out_activation: type[nn.Module] | None = None) -> nn.Sequential:
    """Linear -> activation -> dropout for each hidden width, then Linear (-> out_activation)."""
    layers: list[nn.Module] = []
    width = in_dim
    for h in hidden:
        layers += [nn.Linear(width, int(h)), activation()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = int(h)
    layers.append(nn.Linear(width, out_dim))
    if out_activation is not None:
        layers.append(out_activation())
    return nn.Sequential(*layers)


@torch.no_grad()
def predict(module: nn.Module, X: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """Run ``module`` in eval mode (dropout off) over all rows of ``X`` in chunks; float64 out.

    Chunks cover every row (the last partial chunk is kept); the module's train/eval mode is
    restored afterwards.
    """
    was_training = module.training
    module.eval()
    try:
        Xt = to_tensor(X)
        outs = [module(chunk) for chunk in torch.split(Xt, batch_size)]
    finally:
        module.train(was_training)
    return to_numpy(torch.cat(outs, dim=0))


def snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    """A deep copy of a module's parameters (for best-epoch model selection)."""
    return copy.deepcopy(module.state_dict())


# -- preprocessing -------------------------------------------------------------------------------
class Standardizer:
    """Column-wise z-scoring fitted on training rows only (``mean_``, ``scale_``).

    Works on (N, d) arrays and on (N, T, d) sequences, where only the valid frames (``mask``)
    contribute to the statistics.
    """

    def fit(self, X: np.ndarray, mask: np.ndarray | None = None) -> Standardizer:
        rows = X.reshape(-1, X.shape[-1]) if mask is None else X[mask]  # (n_rows, d)
        self.mean_ = rows.mean(axis=0)
        std = rows.std(axis=0)
        self.scale_ = np.where(std > 1e-12, std, 1.0)  # constant columns are left unscaled
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean_) / self.scale_


def stratified_holdout(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split row indices into (train, validation), taking ``fraction`` of every class.

    Every class keeps at least one training row; a class with one row gives none to validation.
    Used to carve a validation split out of the TRAINING data only (never from the test fold).
    """
    check_number(fraction, "validation_fraction", low=0.0, high=1.0, low_open=True,
                 high_open=True)
    rng = np.random.default_rng(seed)
    val: list[np.ndarray] = []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_val = min(int(round(fraction * idx.size)), idx.size - 1)
        val.append(idx[:n_val])
    val_idx = np.sort(np.concatenate(val))
    train_idx = np.setdiff1d(np.arange(y.size), val_idx)
    if val_idx.size == 0:
        raise UserError(
            f"validation_fraction={fraction} leaves no validation rows: use a larger fraction.")
    return train_idx, val_idx


# -- model selection -----------------------------------------------------------------------------
def validation_map(Z_audio: np.ndarray, Z_visual: np.ndarray, y: np.ndarray) -> float:
    """Mean of the A->V and V->A cosine MAP (full ranking) on a validation split.

    Uses the project's one cross-modal scoring rule, :func:`paper_lib.metrics.cross_modal.
    cross_modal_map`.
    """
    maps = cross_modal_map(Z_audio, Z_visual, y, metric="cosine")
    return 0.5 * (maps["a2v"] + maps["v2a"])
