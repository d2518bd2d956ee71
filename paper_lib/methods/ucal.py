"""UCAL: unsupervised cross-modal retrieval through adversarial learning (He, Xu, Lu, Yang, Shen,
Shen, IEEE ICME 2017).

The method (the paper's abstract and its Fig. 1): two *feature transforms* (projectors) f_a, f_v
map each modality into a common space. They are trained to "maximise the correlations between
modalities" of the paired items and, as "a regularisation on the statistical aspect of the feature
transforms", against a *modality classifier* D that predicts from a transformed feature which
modality it came from (binary cross-entropy): the projectors must make the two modalities'
transformed features statistically indistinguishable. No class label is used anywhere.

**Source status — read this.** The paper's full text could not be obtained for this
reproduction, so its equations are NOT copied here: the loss below is the closest faithful
reading of the evidence found, and the equation numbers are this module's, not the paper's.
The evidence: (i) the abstract (above); (ii) a reading note of the paper listing its four parts:
image transform, text transform, modality classifier trained with binary cross-entropy, and a
feature-correlation term written as an ℓ2 norm; (iii) the authors' group's public code, whose
README says it was "modified from the implementation of UCAL written by Li He"
(github.com/sunpeng981712364/ACMR_demo, ``models/adv_crossmodal_simple_wiki.py``; tagged [code]
below). In that code the correlation term is ``corr_loss = sqrt(2 * l2_loss(emb_v - emb_w))``
= ‖H_v − H_a‖_F over the minibatch; the modality classifier sits behind a gradient-reversal layer
(``flip_gradient``, Ganin & Lempitsky 2015) whose weight follows λ_p = 2 / (1 + exp(−10 p)) − 1;
``total_train_op`` minimises (embedding loss + modality loss) over all variables in one step;
Adam, lr 1e-4, β1 = 0.5, batch 64, 200 epochs. That file also defines separate ops for the
projectors and the classifier (its ACMR training loop runs those, and the ACMR paper describes
alternating steps), but the reversal layer and its λ schedule only act in the joint step, so
they are what the code carries over from UCAL. Reading: UCAL optimises its minimax by **gradient
reversal** in one joint step, not by alternating steps (an inference from the code, flagged).

Mapping of the modalities: the paper's image view is our **visual** view (clip-mean visual
features), its text view our **audio** view (clip-mean audio features). Everything is symmetric
in the two views, so the mapping only fixes names.

The objective. H_a = f_a(X_a), H_v = f_v(X_v) are the (m, d) outputs for a minibatch of m pairs::

    (1)  L_corr = (1/2m) ‖W(H_a) − W(H_v)‖_F² ,   W(H) = (H − 1μᵀ) L^{-T},  L Lᵀ = Σ_H + r·I

    (2)  L_adv  = −(1/2m) Σ_i [ log D(h_a,i) + log(1 − D(h_v,i)) ]     (audio = 1, visual = 0)

    (3)  min_{f_a, f_v} max_D  L_corr − λ_p L_adv     (D minimises L_adv; f_a, f_v maximise it)

    (4)  λ_p = adv_weight · (2 / (1 + exp(−10 p)) − 1),   p = progress through training ∈ [0, 1]

W whitens each view over the batch (μ, Σ_H: the batch mean and covariance of that view's outputs;
L its Cholesky factor; r = ``reg``). Because each W(H) has identity covariance (up to r), eq. (1)
equals d − tr(L_a^{-1} Σ_av L_v^{-T}): the ℓ2 distance of eq. (1) *is* a correlation, the sum of
the correlations of the paired whitened coordinates. L_a^{-1} Σ_av L_v^{-T} has the singular
values σ_i of the canonical-correlation matrix T = Σ_aa^{-1/2} Σ_av Σ_vv^{-1/2}, so eq. (1) is
bounded below by DCCA's objective d − Σ_i σ_i(T), with equality when the whitened coordinates of
the two views are paired (that matrix symmetric positive semi-definite).

(3) is optimised in ONE gradient step per minibatch, as the code's joint step does it: all
parameters descend L_corr + L_adv, while the reversal layer between H and D
(``paper_lib.methods._adversarial.reverse_gradient``) multiplies the gradient reaching the
projectors from L_adv by −λ_p. (4) is the code's schedule [code]; p advances per
minibatch here (per epoch in the code) [choice].

Why the whitening in eq. (1) [choice — the central adaptation, flagged]: the literal ℓ2 distance
‖H_a − H_v‖ alone is minimised by sending every item to one point (nothing unsupervised forbids
it, the adversary included: collapsed features are indistinguishable; the group's ACMR, built
from the same code, adds label terms that prevent it). Whitening each view over the batch turns
the ℓ2 distance into "maximise the correlations" and removes the collapse; whitening (rather than
z-scoring each dimension, ``correlation="standardized"``: eq. (1) is then Σ_k (1 − ρ_k), which
lets every dimension learn the same most-correlated feature) also keeps the d dimensions
distinct. The literal version stays available as ``correlation="raw"``,
L_corr = (1/m) ‖H_a − H_v‖_F² (squared and averaged [choice]); it can collapse.

What the adversary does here: eq. (1) is blind to part of each view's own coordinate system (an
offset, and a right-multiplication H → H M by any upper-triangular M with a positive diagonal,
leave W(H) unchanged), so the correlation term alone ties the two views together only up to
those maps. The modality
classifier sees the raw outputs H, the very embeddings used for retrieval, and drives their
distributions together (means, covariances and beyond); once the two views' outputs share their
first two moments, W is the same map for both, and eq. (1) then pulls paired raw outputs
together. Measured: with ``adversarial=False`` a logistic regression tells the modality of
held-out embeddings apart far better (``paper_lib.metrics.modality.modality_separability``).

Code ↔ equations: :func:`correlation_loss` eq. (1) (and its variants), :func:`whiten` W,
:func:`modality_loss` eq. (2), ``UCAL._step`` eq. (3), :func:`grl_lambda` eq. (4).

Hyper-parameters ([code] = the authors' group code named above; [choice] = given neither there
nor in what could be read of the paper, or adapted to our data):

- ``n_components`` d = 10 [choice: the runner's d, as for every method here; the code uses 40];
- ``hidden`` = (512, 100) [code: the image transform 4096 → 512 → 100 → d with tanh after every
  layer, the output included]; the same widths for both views [choice];
- ``disc_hidden`` = (64, 64), ReLU, one logit [choice: the code's classifier d → d/2 → d/4 → 2
  has no non-linearity, i.e. it is linear, and sees only mean differences];
- ``correlation`` = "whitened", ``reg`` r = 1e-4 (ridge of the batch covariances) [choice];
- ``adv_weight`` = 1 [code: the amplitude of eq. (4)]; ``adversarial=False`` removes the
  classifier (eq. (1) alone): the switch for ablations;
- Adam β1 = 0.5 [code]; ``lr`` = 2e-3 [choice; code 1e-4 over 200 epochs: with the runner's 10
  epochs, 1e-4 leaves the adversary no time to align the views];
- ``batch_size`` = 64 [code]: 25 minibatches per epoch, 250 steps in 10 epochs on 1,600 clips;
- ``epochs`` = 10 [choice: the runner's global value; the code trains 200];
- inputs z-scored with training statistics [choice].

Retrieval ranks by cosine similarity of the projector outputs H (``retrieval_metric`` is None,
i.e. the runner's cosine); each view is embedded from itself alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from paper_lib.errors import UserError
from paper_lib.methods._adversarial import reverse_gradient
from paper_lib.methods._torch_utils import (
    Standardizer,
    largest_batch,
    minibatch_indices,
    mlp,
    predict,
    resolve_n_batches,
    seeded,
    to_tensor,
)
from paper_lib.methods._validation import (
    check_bool,
    check_choice,
    check_positive,
    check_positive_int,
    check_seed,
    check_views,
)
from paper_lib.methods.base import CrossModalEstimator, View, by_view

#: eq. (1) with per-view batch whitening (default), with per-dimension z-scoring, or the literal
#: ℓ2 distance of the raw outputs
CORRELATIONS = ("whitened", "standardized", "raw")
#: Ganin & Lempitsky's schedule constant γ in λ_p = 2 / (1 + exp(−γ p)) − 1 [code]
GRL_GAMMA = 10.0
#: Adam β1 [code]
ADAM_BETA1 = 0.5
#: numerical floor on the batch variances of the "standardized" variant
_EPS = 1e-6


# -- the losses ---------------------------------------------------------------------------------
def _zscore_columns(H: torch.Tensor) -> torch.Tensor:
    """Every column of (m, d) ``H`` centred and scaled to unit (biased) variance over the rows."""
    Hc = H - H.mean(dim=0)
    return Hc / torch.sqrt(Hc.pow(2).mean(dim=0) + _EPS)


def whiten(H: torch.Tensor, reg: float) -> torch.Tensor:
    """(m, d) ``H`` centred and whitened over the rows: H̃ L^{-T} with L Lᵀ = H̃ᵀH̃/m + r·I."""
    Hc = H - H.mean(dim=0)
    S = Hc.T @ Hc / H.shape[0] + reg * torch.eye(H.shape[1], dtype=H.dtype, device=H.device)
    L = torch.linalg.cholesky(S)
    return torch.linalg.solve_triangular(L, Hc.T, upper=False).T


def correlation_loss(Ha: torch.Tensor, Hv: torch.Tensor, kind: str = "whitened",
                     reg: float = 1e-4) -> torch.Tensor:
    """Eq. (1): (1/2m)‖W(H_a) − W(H_v)‖_F², W = per-view batch whitening ("whitened"), column
    z-scoring ("standardized"), or none ("raw", then (1/m)‖H_a − H_v‖_F²)."""
    if kind == "raw":
        return (Ha - Hv).pow(2).sum(dim=1).mean()
    if kind == "standardized":
        diff = _zscore_columns(Ha) - _zscore_columns(Hv)
    else:
        diff = whiten(Ha.double(), reg) - whiten(Hv.double(), reg)
    return (0.5 * diff.pow(2).sum(dim=1).mean()).to(Ha.dtype)


def modality_loss(logits_audio: torch.Tensor, logits_visual: torch.Tensor) -> torch.Tensor:
    """Eq. (2): binary cross-entropy of the modality classifier, audio labelled 1, visual 0."""
    logits = torch.cat([logits_audio, logits_visual]).squeeze(-1)
    target = torch.cat([torch.ones(len(logits_audio)), torch.zeros(len(logits_visual))])
    return nn.functional.binary_cross_entropy_with_logits(logits, target.to(logits.dtype))


def grl_lambda(progress: float, weight: float = 1.0) -> float:
    """Eq. (4): weight · (2 / (1 + exp(−10 p)) − 1), rising from 0 (p = 0) to ≈ weight (p = 1)."""
    return float(weight) * (2.0 / (1.0 + math.exp(-GRL_GAMMA * float(progress))) - 1.0)


def _check_widths(widths: Any, name: str) -> None:
    if isinstance(widths, str | bytes) or not isinstance(widths, Sequence):
        raise UserError(f"{name} must be a sequence of layer widths, got {widths!r}.")
    for i, width in enumerate(widths):
        check_positive_int(width, f"{name}[{i}]")


# -- the estimator ------------------------------------------------------------------------------
class UCAL(CrossModalEstimator):
    """UCAL: correlation-maximising projectors regularised by an adversarial modality classifier.

    Unsupervised cross-modal retrieval through adversarial learning (He et al. 2017): two
    projectors maximise the correlation of the paired views' embeddings while a modality
    classifier, trained against them through a gradient-reversal layer, makes the two
    modalities indistinguishable (see the module docstring, which says what could and could not
    be read of the paper). One of the paper's four state-of-the-art baselines. Labels are never
    used: ``fit`` accepts ``y`` only for the common API and ignores it.

    Parameters
    ----------
    n_components : int, default=10
        d, the width of the common space.
    hidden : sequence of int, default=(512, 100)
        Hidden widths of each projector (tanh after every layer, the output included).
    disc_hidden : sequence of int, default=(64, 64)
        Hidden widths of the modality classifier (ReLU), which outputs one logit.
    epochs : int, default=10
        Training epochs.
    lr : float, default=2e-3
        Adam learning rate (β1 = 0.5).
    batch_size : int, default=64
        Minibatch size.
    correlation : {"whitened", "standardized", "raw"}, default="whitened"
        "whitened" (eq. (1)), "standardized" (z-scored dimensions: Σ_k (1 − ρ_k)) or "raw"
        (the literal ℓ2 distance; can collapse).
    reg : float, default=1e-4
        Ridge r added to each view's batch covariance before whitening.
    adversarial : bool, default=True
        False switches the modality classifier off (eq. (1) alone).
    adv_weight : float, default=1.0
        The amplitude of the gradient-reversal schedule, eq. (4).
    random_state : int or None, default=0
        Seeds weights and minibatch order.

    Attributes
    ----------
    projector_audio_ : torch.nn.Module
        The audio projector.
    projector_visual_ : torch.nn.Module
        The visual projector.
    classifier_ : torch.nn.Module or None
        The modality classifier (None when ``adversarial=False``).
    scaler_audio_ : Standardizer
        z-scoring of the audio inputs (training statistics).
    scaler_visual_ : Standardizer
        z-scoring of the visual inputs.
    n_components_ : int
        d, the width of the embedding.
    n_batches_ : int
        Minibatches per epoch.
    batch_size_ : int
        The largest minibatch.
    history_ : list of dict
        Per epoch, means over the minibatches: ``loss`` = ``corr`` + ``adv`` (eqs. (1), (2)),
        ``classifier_accuracy``; and ``lambda``, eq. (4) at the epoch's last step.
    n_features_audio_ : int
        Width d_a of the audio view seen by ``fit``.
    n_features_visual_ : int
        Width d_v of the visual view seen by ``fit``.

    References
    ----------
    L. He, X. Xu, H. Lu, Y. Yang, F. Shen, H. T. Shen. Unsupervised cross-modal retrieval
    through adversarial learning. IEEE ICME 2017, 1153-1158.

    Y. Ganin, V. Lempitsky. Unsupervised domain adaptation by backpropagation. ICML 2015,
    1180-1189.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(3), 20)                      # 3 classes x 20 paired clips
    >>> X_audio = 3 * rng.normal(size=(3, 6))[y] + rng.normal(size=(60, 6))    # (N, d_a)
    >>> X_visual = 3 * rng.normal(size=(3, 8))[y] + rng.normal(size=(60, 8))   # (N, d_v)
    >>> from paper_lib.methods.ucal import UCAL
    >>> ucal = UCAL(n_components=2, hidden=(16,), disc_hidden=(8,), epochs=1)
    >>> Z_audio, Z_visual = ucal.fit(X_audio, X_visual).transform(X_audio, X_visual)
    >>> Z_audio.shape, Z_visual.shape
    ((60, 2), (60, 2))
    """

    supervised = False
    _fitted_attribute = "projector_audio_"

    def __init__(self, n_components: int = 10, hidden: Sequence[int] = (512, 100),
                 disc_hidden: Sequence[int] = (64, 64), epochs: int = 10, lr: float = 2e-3,
                 batch_size: int = 64, correlation: str = "whitened", reg: float = 1e-4,
                 adversarial: bool = True, adv_weight: float = 1.0,
                 random_state: int | None = 0) -> None:
        self.n_components = n_components
        self.hidden = hidden
        self.disc_hidden = disc_hidden
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.correlation = correlation
        self.reg = reg
        self.adversarial = adversarial
        self.adv_weight = adv_weight
        self.random_state = random_state

    # -- checks --------------------------------------------------------------------------------
    def _check_hyperparameters(self) -> None:
        check_positive_int(self.n_components, "n_components")
        _check_widths(self.hidden, "hidden")
        _check_widths(self.disc_hidden, "disc_hidden")
        check_positive_int(self.epochs, "epochs")
        check_positive(self.lr, "lr")
        if check_positive_int(self.batch_size, "batch_size") < 2:
            raise UserError(f"batch_size must be at least 2 (eq. (1) normalises over the "
                            f"batch), got {self.batch_size!r}.")
        check_choice(self.correlation, "correlation", CORRELATIONS)
        check_positive(self.reg, "reg", reason="the whitening needs Σ + r·I invertible")
        check_bool(self.adversarial, "adversarial")
        check_positive(self.adv_weight, "adv_weight")
        check_seed(self.random_state)

    # -- fit -----------------------------------------------------------------------------------
    def _fit(self, X_audio: np.ndarray, X_visual: np.ndarray, y: np.ndarray | None,
             **kwargs: Any) -> None:
        """Train the projectors (and the classifier) on the paired training rows; y is ignored."""
        Xa, Xv, _ = check_views(X_audio, X_visual, y, n_components=self.n_components,
                                need_labels=False)
        if Xa.shape[0] < 2:
            raise UserError(f"UCAL needs at least 2 paired training rows, got {Xa.shape[0]}.")
        d = int(self.n_components)
        scaler_audio, scaler_visual = Standardizer().fit(Xa), Standardizer().fit(Xv)
        with seeded(check_seed(self.random_state)) as generator:
            proj_a, proj_v, clf = self._make_networks(Xa.shape[1], Xv.shape[1])
            history = self._train(proj_a, proj_v, clf, to_tensor(scaler_audio.transform(Xa)),
                                  to_tensor(scaler_visual.transform(Xv)), generator)
        self.scaler_audio_, self.scaler_visual_ = scaler_audio, scaler_visual
        self.classifier_ = clf
        self.history_ = history
        self.n_features_audio_, self.n_features_visual_ = Xa.shape[1], Xv.shape[1]
        self.n_components_ = d
        self.projector_visual_ = proj_v
        self.projector_audio_ = proj_a  # the fitted marker: set last

    def _make_networks(self, d_audio: int, d_visual: int
                       ) -> tuple[nn.Sequential, nn.Sequential, nn.Sequential | None]:
        """The untrained projectors (audio, then visual) and modality classifier (None when
        ``adversarial=False``), in the order of the seeded weight draws."""
        d = int(self.n_components)
        proj_a = mlp(d_audio, self.hidden, d, activation=nn.Tanh, out_activation=nn.Tanh)
        proj_v = mlp(d_visual, self.hidden, d, activation=nn.Tanh, out_activation=nn.Tanh)
        clf = mlp(d, self.disc_hidden, 1, activation=nn.ReLU) if self.adversarial else None
        return proj_a, proj_v, clf

    def _build_modules(self) -> dict[str, Any]:
        proj_a, proj_v, clf = self._make_networks(self.n_features_audio_,
                                                  self.n_features_visual_)
        return {"projector_audio_": proj_a, "projector_visual_": proj_v, "classifier_": clf}

    def _train(self, proj_a: nn.Module, proj_v: nn.Module, clf: nn.Module | None,
               A: torch.Tensor, V: torch.Tensor, generator: torch.Generator
               ) -> list[dict[str, float]]:
        """Minibatch Adam on eq. (3); returns the per-epoch history."""
        modules = [proj_a, proj_v] + ([] if clf is None else [clf])
        params = [p for m in modules for p in m.parameters()]
        optimizer = torch.optim.Adam(params, lr=float(self.lr), betas=(ADAM_BETA1, 0.999),
                                     foreach=True)
        n = A.shape[0]
        self.n_batches_ = resolve_n_batches(n, self.batch_size, None)
        self.batch_size_ = largest_batch(n, self.n_batches_)
        self._check_batch_rows(n // self.n_batches_)
        total_steps = int(self.epochs) * self.n_batches_
        history: list[dict[str, float]] = []
        step = 0
        for epoch in range(1, int(self.epochs) + 1):
            for m in modules:
                m.train()
            rows: list[tuple[float, float, float]] = []
            lam = 0.0
            for idx in minibatch_indices(n, self.n_batches_, generator):
                lam = grl_lambda(step / max(total_steps - 1, 1), float(self.adv_weight))
                rows.append(self._step(proj_a, proj_v, clf, A[idx], V[idx], lam, optimizer))
                step += 1
            corr, adv, acc = (float(np.mean(col)) for col in zip(*rows, strict=True))
            history.append({"epoch": epoch, "loss": corr + adv, "corr": corr, "adv": adv,
                            "classifier_accuracy": acc,
                            "lambda": lam if clf is not None else 0.0})
        for m in modules:
            m.eval()
        return history

    def _check_batch_rows(self, smallest: int) -> None:
        """The whitening of eq. (1) needs more rows per minibatch than output dimensions."""
        if self.correlation == "whitened" and smallest <= int(self.n_components):
            raise UserError(
                f"batch_size: the smallest minibatch has {smallest} rows, but the whitened "
                f"correlation (eq. (1)) needs more rows than n_components={self.n_components}: "
                f"use a larger batch_size (or more training rows).")

    def _step(self, proj_a: nn.Module, proj_v: nn.Module, clf: nn.Module | None,
              A: torch.Tensor, V: torch.Tensor, lam: float,
              optimizer: torch.optim.Optimizer) -> tuple[float, float, float]:
        """One gradient step on eq. (3); returns (L_corr, L_adv, classifier accuracy)."""
        Ha, Hv = proj_a(A), proj_v(V)
        corr = correlation_loss(Ha, Hv, str(self.correlation), float(self.reg))  # eq. (1)
        loss = corr
        adv_value, accuracy = 0.0, float("nan")  # no classifier: no L_adv
        if clf is not None:
            # the gradient-reversal layer: D descends L_adv, the projectors ascend λ·L_adv
            logits_a = clf(reverse_gradient(Ha, lam))
            logits_v = clf(reverse_gradient(Hv, lam))
            adv = modality_loss(logits_a, logits_v)  # eq. (2)
            loss = corr + adv
            adv_value = float(adv.detach())
            accuracy = 0.5 * (float((logits_a > 0).float().mean())
                              + float((logits_v <= 0).float().mean()))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return float(corr.detach()), adv_value, accuracy

    # -- transform -----------------------------------------------------------------------------
    def _transform_view(self, X: np.ndarray, view: View, **kwargs: Any) -> np.ndarray:
        """Standardise with the training statistics, then this view's projector: (n, d)."""
        net, scaler = by_view(view, (self.projector_audio_, self.scaler_audio_),
                              (self.projector_visual_, self.scaler_visual_))
        return predict(net, scaler.transform(X))
