"""lstm_C-CCA: per-modality LSTM clip summaries followed by Cluster-CCA.

The paper's figure data list an "lstm_C-CCA" baseline: clips padded or cut to 10 s, an LSTM per
modality over the per-second features, then Cluster-CCA. How the LSTMs are trained is not
specified. [choice] Each LSTM is trained as a clip classifier (LSTM -> linear -> class logits,
cross-entropy, Adam) on the training clips only; its last valid hidden state h_T (the state after
the clip's final real second) is the clip feature, and ``ClusterCCA`` is fitted on those
features. The classifier head is discarded after training.

Inputs are sequences: ``X_audio`` (N, T, d_a) and ``X_visual`` (N, T, d_v), zero-padded in time,
with ``lengths`` (N,) valid seconds per clip passed as a keyword. Seconds beyond ``max_seconds``
are cut; padding beyond ``lengths`` never reaches the LSTM (``pack_padded_sequence``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from paper_lib.methods._torch_utils import (
    Standardizer,
    check_seed,
    minibatch_indices,
    resolve_batch_size,
    seeded,
    to_numpy,
    to_tensor,
)
from paper_lib.methods._validation import check_views
from paper_lib.methods.base import CrossModalEstimator


# -- sequences -----------------------------------------------------------------------------------
def check_lengths(lengths: np.ndarray | None, n_clips: int, n_steps: int) -> np.ndarray:
    """Valid seconds per clip as int64 (N,); ``None`` = every clip uses all ``n_steps`` steps."""
    if lengths is None:
        return np.full(n_clips, n_steps, dtype=np.int64)
    L = np.asarray(lengths)
    if L.ndim != 1 or L.shape[0] != n_clips:
        raise ValueError(f"lengths must be a 1-d array of length {n_clips} (one per clip), "
                         f"got shape {L.shape}.")
    if not np.issubdtype(L.dtype, np.integer):
        raise ValueError(f"lengths must hold integers (seconds), got dtype {L.dtype}.")
    if L.min() < 1 or L.max() > n_steps:
        raise ValueError(f"lengths must be in 1..{n_steps} (the sequences' time axis), got values "
                         f"in {L.min()}..{L.max()}.")
    return L.astype(np.int64)


def cut_to(X: np.ndarray, lengths: np.ndarray, max_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep the first ``max_steps`` seconds: X[:, :max_steps], lengths clipped to max_steps."""
    return X[:, :max_steps], np.minimum(lengths, max_steps)


def valid_mask(lengths: np.ndarray, n_steps: int) -> np.ndarray:
    """(N, T) bool: True for the real seconds t < lengths[i]."""
    return np.arange(n_steps)[None, :] < lengths[:, None]


def standardize_valid(X: np.ndarray, lengths: np.ndarray, scaler: Standardizer) -> np.ndarray:
    """z-score the real seconds with training statistics; padding set to 0 (never read anyway)."""
    mask = valid_mask(lengths, X.shape[1])[:, :, None]  # (N, T, 1)
    return np.where(mask, scaler.transform(np.where(mask, X, 0.0)), 0.0)


# -- network -------------------------------------------------------------------------------------
class ClipLSTM(nn.Module):
    """One-layer LSTM over a clip's seconds; ``encode`` = last valid hidden state, ``forward`` =
    class logits from it."""

    def __init__(self, in_dim: int, hidden: int, n_classes: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(in_dim, hidden, batch_first=True)
        self.head = nn.Linear(hidden, n_classes)

    def encode(self, X: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """X (B, T, d), lengths (B,) -> h (B, hidden): the state after step lengths[i] - 1."""
        packed = pack_padded_sequence(X, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.lstm(packed)  # h_n (1, B, hidden), in the original batch order
        return h_n[-1]

    def forward(self, X: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.head(self.encode(X, lengths))  # (B, n_classes)


def train_classifier(model: ClipLSTM, X: torch.Tensor, lengths: torch.Tensor,
                     target: torch.Tensor, *, epochs: int, lr: float, batch_size: int,
                     generator: torch.Generator) -> list[float]:
    """Cross-entropy training with Adam over seeded reshuffled minibatches; per-epoch mean loss."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, foreach=True)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    history = []
    for _ in range(epochs):
        losses = []
        for idx in minibatch_indices(len(target), batch_size, generator):
            loss = loss_fn(model(X[idx], lengths[idx]), target[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        history.append(float(np.mean(losses)))
    model.eval()
    return history


@torch.no_grad()
def encode_clips(model: ClipLSTM, X: np.ndarray, lengths: np.ndarray,
                 batch_size: int = 2048) -> np.ndarray:
    """Clip features h (N, hidden) for every clip (chunked, eval mode, float64)."""
    model.eval()
    Xt, Lt = to_tensor(X), torch.as_tensor(lengths)
    outs = [model.encode(Xt[s:s + batch_size], Lt[s:s + batch_size])
            for s in range(0, len(Lt), batch_size)]
    return to_numpy(torch.cat(outs))


# -- estimator -----------------------------------------------------------------------------------
class LSTMClusterCCA(CrossModalEstimator):
    """lstm_C-CCA: LSTM clip features (trained as classifiers) + Cluster-CCA.

    Parameters
    ----------
    n_components : Cluster-CCA dimension d (10); must be <= ``hidden``.
    hidden : LSTM state width (the clip feature size).
    max_seconds : clips are cut to this many seconds (10 in the paper).
    epochs, lr, batch_size : classifier training (Adam, cross-entropy).
    ccca_variant, beta, reg : passed to ``ClusterCCA``.
    random_state : seeds weights and data order.

    ``fit(X_audio (N, T, d_a), X_visual (N, T, d_v), y, lengths=(N,))``;
    ``transform(X_audio=None, X_visual=None, lengths=None)`` (``lengths`` of the given view(s)).
    Fitted: ``lstm_audio_``, ``lstm_visual_``, ``ccca_``, ``scaler_audio_``, ``scaler_visual_``,
    ``classes_``, ``history_`` ({"audio": [...], "visual": [...]} per-epoch training loss).
    """

    input_kind = "sequence"
    supervised = True

    # [choice] hidden 64, 10 epochs, batch 64, lr 1e-3: small enough to train in well under a
    # minute per fold on 2 CPU cores; ccca_variant "beta" as in TNN-C-CCA (the authors' C-CCA).
    def __init__(self, n_components: int = 10, hidden: int = 64, max_seconds: int = 10,
                 epochs: int = 10, lr: float = 1e-3, batch_size: int = 64,
                 ccca_variant: str = "beta", beta: float = 0.2, reg: float = 1e-4,
                 random_state: int | None = 0) -> None:
        self.n_components = n_components
        self.hidden = hidden
        self.max_seconds = max_seconds
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.ccca_variant = ccca_variant
        self.beta = beta
        self.reg = reg
        self.random_state = random_state

    def _check_params(self) -> None:
        for name in ("hidden", "max_seconds", "epochs"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}.")
        if int(self.n_components) > int(self.hidden):
            raise ValueError(f"n_components={self.n_components} must be <= hidden={self.hidden} "
                             f"(Cluster-CCA runs on the LSTM states).")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}.")

    def _cut(self, X: np.ndarray, lengths: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Check ``lengths`` against X's time axis, then cut both to ``max_seconds``."""
        L = check_lengths(lengths, X.shape[0], X.shape[1])
        return cut_to(X, L, int(self.max_seconds))


    def fit(self, X_audio: np.ndarray, X_visual: np.ndarray, y: np.ndarray | None = None,
            lengths: np.ndarray | None = None, **kwargs: Any) -> LSTMClusterCCA:
        """Train one LSTM classifier per modality on the training clips, then Cluster-CCA."""
        Xa, Xv, labels = check_views(X_audio, X_visual, y, need_labels=True, ndim=3)
        assert labels is not None
        if Xa.shape[1] != Xv.shape[1]:
            raise ValueError(f"X_audio and X_visual must share the time axis (padded to the same "
                             f"T), got {Xa.shape[1]} and {Xv.shape[1]}.")
        self._check_params()
        seed = check_seed(self.random_state)
        self.n_features_audio_, self.n_features_visual_ = Xa.shape[2], Xv.shape[2]
        self.classes_, target = np.unique(labels, return_inverse=True)

        Xa, L = self._cut(Xa, lengths)
        Xv, _ = self._cut(Xv, lengths)
        # [choice] per-second features z-scored with statistics of the valid training seconds
        mask = valid_mask(L, Xa.shape[1])
        self.scaler_audio_ = Standardizer().fit(Xa, mask)
        self.scaler_visual_ = Standardizer().fit(Xv, mask)
        Xa = standardize_valid(Xa, L, self.scaler_audio_)
        Xv = standardize_valid(Xv, L, self.scaler_visual_)

        batch_size = resolve_batch_size(len(L), self.batch_size, None)
        Lt, Tt = torch.as_tensor(L), torch.as_tensor(target.reshape(-1))
        self.history_: dict[str, list[float]] = {}
        with seeded(seed) as generator:
            nets = []
            for name, X in (("audio", Xa), ("visual", Xv)):
                net = ClipLSTM(X.shape[2], int(self.hidden), len(self.classes_))
                self.history_[name] = train_classifier(
                    net, to_tensor(X), Lt, Tt, epochs=int(self.epochs), lr=float(self.lr),
                    batch_size=batch_size, generator=generator)
                nets.append(net)
        self.lstm_audio_, self.lstm_visual_ = nets
        self.ccca_ = self._make_ccca().fit(encode_clips(self.lstm_audio_, Xa, L),
                                           encode_clips(self.lstm_visual_, Xv, L), labels)
        return self

    def _make_ccca(self) -> Any:
        from paper_lib.methods.cluster_cca import ClusterCCA  # lazy: a sibling module

        return ClusterCCA(n_components=self.n_components, variant=self.ccca_variant,
                          beta=self.beta, reg=self.reg, random_state=self.random_state)

    def _embed_view(self, X: np.ndarray, name: str, n_features: int, lengths: np.ndarray | None,
                    model: ClipLSTM, scaler: Standardizer) -> np.ndarray:
        A = np.asarray(X, dtype=np.float64)
        if A.ndim != 3 or A.shape[2] != n_features or A.shape[0] == 0:
            raise ValueError(f"{name} must be a non-empty (N, T, {n_features}) array, "
                             f"got shape {A.shape}.")
        A, L = self._cut(A, lengths)
        if not np.isfinite(A[valid_mask(L, A.shape[1])]).all():
            raise ValueError(f"{name} contains NaN or inf values within the clips' lengths.")
        return encode_clips(model, standardize_valid(A, L, scaler), L)

    def transform(self, X_audio: np.ndarray | None = None, X_visual: np.ndarray | None = None,
                  lengths: np.ndarray | None = None,
                  **kwargs: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Embed each given view from itself; ``lengths`` (N,) are the given clips' lengths."""
        self._check_fitted("ccca_")
        Ha = None if X_audio is None else self._embed_view(
            X_audio, "X_audio", self.n_features_audio_, lengths, self.lstm_audio_,
            self.scaler_audio_)
        Hv = None if X_visual is None else self._embed_view(
            X_visual, "X_visual", self.n_features_visual_, lengths, self.lstm_visual_,
            self.scaler_visual_)
        return self.ccca_.transform(Ha, Hv)
