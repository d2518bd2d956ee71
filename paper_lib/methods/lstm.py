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

from paper_lib.errors import UserError
from paper_lib.methods._stage_cache import fit_cached
from paper_lib.methods._torch_utils import (
    Standardizer,
    minibatch_indices,
    resolve_n_batches,
    seeded,
    to_numpy,
    to_tensor,
)
from paper_lib.methods._validation import (
    check_lengths,
    check_nonnegative,
    check_positive,
    check_positive_int,
    check_seed,
    check_views,
)
from paper_lib.methods.base import CrossModalEstimator, View, by_view
from paper_lib.methods.cluster_cca import check_cluster_hyperparameters, make_cluster_cca


# -- sequences -----------------------------------------------------------------------------------
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
                     target: torch.Tensor, *, epochs: int, lr: float, n_batches: int,
                     generator: torch.Generator) -> list[float]:
    """Cross-entropy training with Adam over seeded reshuffled minibatches; per-epoch mean loss."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, foreach=True)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    history = []
    for _ in range(epochs):
        losses = []
        for idx in minibatch_indices(len(target), n_batches, generator):
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

    The "lstm_C-CCA" baseline of the paper's figure data: an LSTM per modality summarises a
    clip's per-second features (its last valid hidden state, the LSTM being trained as a clip
    classifier), then Cluster-CCA embeds the summaries. Takes sequences:
    ``fit(X_audio, X_visual, y, lengths=lengths)`` with ``X_audio`` (N, T, d_a) and ``X_visual``
    (N, T, d_v) zero-padded in time and ``lengths`` (N,) the valid seconds of each clip;
    ``transform(X_audio=None, X_visual=None, lengths=None)`` with the ``lengths`` of the given
    view(s). Supervised: ``fit`` needs the class labels ``y``.

    Parameters
    ----------
    n_components : int, default=10
        Cluster-CCA dimension d; must be <= ``hidden``.
    hidden : int, default=64
        LSTM state width (the clip feature size).
    max_seconds : int, default=10
        Clips are cut to this many seconds (10 in the paper).
    epochs : int, default=10
        Classifier training epochs (Adam, cross-entropy).
    lr : float, default=1e-3
        Adam learning rate.
    batch_size : int, default=64
        Clips per minibatch.
    ccca_variant : {"beta", "rasiwasia"}, default="beta"
        Passed to :class:`~paper_lib.methods.cluster_cca.ClusterCCA` as ``variant``.
    beta : float, default=0.2
        Passed to ``ClusterCCA``.
    reg : float, default=1e-4
        Passed to ``ClusterCCA``.
    random_state : int or None, default=0
        Seeds weights and data order.

    Attributes
    ----------
    lstm_audio_ : ClipLSTM
        The trained audio LSTM (its classifier head is not used to embed).
    lstm_visual_ : ClipLSTM
        The trained visual LSTM.
    ccca_ : ClusterCCA
        The Cluster-CCA stage, fitted on the LSTM summaries of the training clips.
    n_components_ : int
        The directions the Cluster-CCA stage kept, ≤ ``n_components``: the effective d.
    scaler_audio_ : Standardizer
        z-scoring of the audio seconds (statistics of the valid training seconds).
    scaler_visual_ : Standardizer
        z-scoring of the visual seconds.
    classes_ : ndarray
        The class labels seen by ``fit``.
    history_ : dict of str to list of float
        ``{"audio": [...], "visual": [...]}``: the training loss of each classifier per epoch.
    n_features_audio_ : int
        Width d_a of the audio seconds seen by ``fit``.
    n_features_visual_ : int
        Width d_v of the visual seconds seen by ``fit``.

    References
    ----------
    D. Zeng, Y. Yu, K. Oyama. Deep triplet neural networks with cluster-CCA for audio-visual
    cross-modal retrieval. ACM Transactions on Multimedia Computing, Communications, and
    Applications 16(3), 2020.

    N. Rasiwasia, D. Mahajan, V. Mahadevan, G. Aggarwal. Cluster canonical correlation
    analysis. AISTATS 2014, 823-831.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(3), 20)                  # 3 classes x 20 paired clips
    >>> lengths = rng.integers(2, 6, size=60)            # 2..5 valid seconds per clip
    >>> X_audio = 3 * rng.normal(size=(3, 1, 6))[y] + rng.normal(size=(60, 5, 6))   # (N, T, d_a)
    >>> X_visual = 3 * rng.normal(size=(3, 1, 8))[y] + rng.normal(size=(60, 5, 8))  # (N, T, d_v)
    >>> from paper_lib.methods.lstm import LSTMClusterCCA
    >>> model = LSTMClusterCCA(n_components=2, hidden=8, max_seconds=5, epochs=1)
    >>> model = model.fit(X_audio, X_visual, y, lengths=lengths)
    >>> Z_audio, Z_visual = model.transform(X_audio, X_visual, lengths=lengths)
    >>> Z_audio.shape, Z_visual.shape
    ((60, 2), (60, 2))
    """

    input_kind = "sequence"
    supervised = True
    _fitted_attribute = "ccca_"

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

    def _check_hyperparameters(self) -> None:
        n_components = check_positive_int(self.n_components, "n_components")
        for name in ("hidden", "max_seconds", "epochs", "batch_size"):
            check_positive_int(getattr(self, name), name)
        if n_components > int(self.hidden):
            raise UserError(f"n_components={self.n_components} must be <= hidden={self.hidden} "
                            f"(Cluster-CCA runs on the LSTM states).")
        check_positive(self.lr, "lr")
        check_cluster_hyperparameters(self.ccca_variant, self.beta, variant_name="ccca_variant")
        check_nonnegative(self.reg, "reg")
        check_seed(self.random_state)

    def _cut(self, X: np.ndarray, lengths: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Check ``lengths`` against X's time axis, then cut both to ``max_seconds``."""
        L = check_lengths(lengths, X.shape[0], X.shape[1])
        return cut_to(X, L, int(self.max_seconds))

    def _fit(self, X_audio: np.ndarray, X_visual: np.ndarray, y: np.ndarray | None,
             lengths: np.ndarray | None = None, **kwargs: Any) -> None:
        """Train one LSTM classifier per modality on the training clips, then Cluster-CCA."""
        Xa, Xv, labels = check_views(X_audio, X_visual, y, need_labels=True, ndim=3)
        assert labels is not None
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

        n_batches = resolve_n_batches(len(L), self.batch_size, None)
        Lt, Tt = torch.as_tensor(L), torch.as_tensor(target.reshape(-1))
        self.history_: dict[str, list[float]] = {}
        with seeded(seed) as generator:
            nets = []
            for name, X in (("audio", Xa), ("visual", Xv)):
                net = self._make_lstm(X.shape[2])
                self.history_[name] = train_classifier(
                    net, to_tensor(X), Lt, Tt, epochs=int(self.epochs), lr=float(self.lr),
                    n_batches=n_batches, generator=generator)
                nets.append(net)
        self.lstm_audio_, self.lstm_visual_ = nets
        H_audio = encode_clips(self.lstm_audio_, Xa, L)           # (N, hidden) clip features
        H_visual = encode_clips(self.lstm_visual_, Xv, L)
        self.ccca_ = fit_cached(make_cluster_cca(self.n_components, self.ccca_variant, self.beta,
                                                 self.reg, self.random_state),
                                H_audio, H_visual, labels)
        self.n_components_ = self.ccca_.n_components_

    def _make_lstm(self, in_dim: int) -> ClipLSTM:
        """One untrained per-modality LSTM classifier (needs ``classes_``)."""
        return ClipLSTM(in_dim, int(self.hidden), len(self.classes_))

    def _build_modules(self) -> dict[str, Any]:
        return {"lstm_audio_": self._make_lstm(self.n_features_audio_),
                "lstm_visual_": self._make_lstm(self.n_features_visual_)}

    def _transform_view(self, X: np.ndarray, view: View, lengths: np.ndarray | None = None,
                        **kwargs: Any) -> np.ndarray:
        """Cut to ``max_seconds`` -> z-score the real seconds -> this view's LSTM state ->
        Cluster-CCA; ``lengths`` (N,) are the given clips' lengths."""
        A, L = self._cut(X, lengths)
        model, scaler = by_view(view, (self.lstm_audio_, self.scaler_audio_),
                                (self.lstm_visual_, self.scaler_visual_))
        return self.ccca_.transform_view(encode_clips(model, standardize_valid(A, L, scaler), L),
                                         view)
