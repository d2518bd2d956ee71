"""The fast fits equal straightforward references written here (issue 13, items 3b and 3c).

- Cluster-CCA: the streamed / Gram-centred covariances and the Cholesky whitening against
  explicit pair expansion + textbook CCA ("rasiwasia") and plain numpy ("beta"), also on
  features with a large common offset (round-off of the Gram centring);
- TNN-C-CCA's batch-all loss, reduced from the (B, B) distance matrix, against the naive
  (B, B, B) computation (values and gradients).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from paper_lib.methods import _linalg
from paper_lib.methods._linalg import centred_product, centred_scatter, whitening
from paper_lib.methods.cca import cca_from_covariances
from paper_lib.methods.cluster_cca import ClusterCCA
from paper_lib.methods.triplet import (
    BatchAllMiner,
    TripletMarginLoss,
    mean_over_active,
    triplet_hinge,
)


# -- references ----------------------------------------------------------------------------------
def views(n: int = 90, d_a: int = 6, d_v: int = 9, n_classes: int = 4, offset: float = 0.0,
          seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unbalanced classes with distinct means, plus noise and a common ``offset``."""
    rng = np.random.default_rng(seed)
    y = rng.choice(np.arange(n_classes), size=n, p=np.linspace(1, 2, n_classes) / np.linspace(
        1, 2, n_classes).sum())
    Xa = rng.normal(size=(n_classes, d_a))[y] + 0.7 * rng.normal(size=(n, d_a)) + offset
    Xv = rng.normal(size=(n_classes, d_v))[y] + 0.7 * rng.normal(size=(n, d_v)) + offset
    return Xa, Xv, y


def textbook_cca(C_aa: np.ndarray, C_vv: np.ndarray, C_av: np.ndarray,
                 d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Σ^{-1/2} by eigh, SVD of Σ_aa^{-1/2} Σ_av Σ_vv^{-1/2}: (W_a, W_v, ρ)."""
    def inv_sqrt(C: np.ndarray) -> np.ndarray:
        lam, Q = np.linalg.eigh(C)
        return Q @ np.diag(lam ** -0.5) @ Q.T
    R_a, R_v = inv_sqrt(C_aa), inv_sqrt(C_vv)
    U, S, Vt = np.linalg.svd(R_a @ C_av @ R_v)
    return R_a @ U[:, :d], R_v @ Vt[:d].T, S[:d]


def expanded_pairs_covariances(Xa: np.ndarray, Xv: np.ndarray, y: np.ndarray,
                               reg: float) -> tuple[np.ndarray, ...]:
    """Rasiwasia's Cluster-CCA as CCA on the explicit list of all within-class pairs."""
    pairs = [(i, j) for c in np.unique(y) for i in np.flatnonzero(y == c)
             for j in np.flatnonzero(y == c)]
    Pa, Pv = Xa[[i for i, _ in pairs]], Xv[[j for _, j in pairs]]
    m_a, m_v = Pa.mean(axis=0), Pv.mean(axis=0)
    A, V, M = Pa - m_a, Pv - m_v, len(pairs)
    return (A.T @ A / M + reg * np.eye(Xa.shape[1]), V.T @ V / M + reg * np.eye(Xv.shape[1]),
            A.T @ V / M, m_a, m_v)


def beta_covariances_numpy(Xa: np.ndarray, Xv: np.ndarray, y: np.ndarray, reg: float,
                           beta: float) -> tuple[np.ndarray, ...]:
    """The authors' β blend in plain numpy: centred copies, class loops."""
    m_a, m_v = Xa.mean(axis=0), Xv.mean(axis=0)
    A, V, n = Xa - m_a, Xv - m_v, Xa.shape[0]
    within = sum(np.outer(A[y == c].sum(axis=0), V[y == c].sum(axis=0)) for c in np.unique(y))
    M = sum(int(np.sum(y == c)) ** 2 for c in np.unique(y))
    C_av = beta * A.T @ V / n + (1 - beta) * within / M
    return (A.T @ A / n + reg * np.eye(Xa.shape[1]), V.T @ V / n + reg * np.eye(Xv.shape[1]),
            C_av, m_a, m_v)


def assert_same_cca(model: ClusterCCA, reference: tuple[np.ndarray, ...], d: int,
                    Ta: np.ndarray, Tv: np.ndarray, rtol: float) -> None:
    """Correlations, Wᵀ Σ W = I, Wᵀ Σ_av W = diag(ρ) and the embeddings up to sign."""
    C_aa, C_vv, C_av, m_a, m_v = reference
    W_a, W_v, rho = textbook_cca(C_aa, C_vv, C_av, d)
    np.testing.assert_allclose(model.correlations_, rho, rtol=rtol)
    Fa, Fv = model.weights_audio_, model.weights_visual_
    np.testing.assert_allclose(Fa.T @ C_aa @ Fa, np.eye(d), atol=rtol)
    np.testing.assert_allclose(Fv.T @ C_vv @ Fv, np.eye(d), atol=rtol)
    np.testing.assert_allclose(Fa.T @ C_av @ Fv, np.diag(rho), atol=rtol)
    Za, Zv = model.transform(Ta, Tv)
    ref_a, ref_v = (Ta - m_a) @ W_a, (Tv - m_v) @ W_v
    signs = np.sign(np.sum(Za * ref_a, axis=0))          # one sign per direction, both views
    scale = np.abs(ref_a).max()
    np.testing.assert_allclose(Za, ref_a * signs, atol=rtol * scale)
    np.testing.assert_allclose(Zv, ref_v * signs, atol=rtol * np.abs(ref_v).max())


# -- Cluster-CCA against the references -----------------------------------------------------------
@pytest.mark.parametrize("offset", [0.0, 3.0, 1e6])
def test_rasiwasia_equals_cca_on_the_explicit_within_class_pairs(offset: float) -> None:
    Xa, Xv, y = views(offset=offset)
    Ta, Tv, _ = views(n=20, offset=offset, seed=1)
    reg, d = 1e-2, 3                                      # C - 1 = 3 non-zero correlations
    model = ClusterCCA(n_components=d, variant="rasiwasia", reg=reg).fit(Xa, Xv, y)
    assert_same_cca(model, expanded_pairs_covariances(Xa, Xv, y, reg), d, Ta, Tv, rtol=1e-8)


@pytest.mark.parametrize("offset", [0.0, 3.0, 1e6])
def test_beta_equals_the_plain_numpy_computation(offset: float) -> None:
    Xa, Xv, y = views(offset=offset, seed=2)
    Ta, Tv, _ = views(n=20, offset=offset, seed=3)
    reg, beta, d = 1e-2, 0.2, 5
    model = ClusterCCA(n_components=d, variant="beta", beta=beta, reg=reg).fit(Xa, Xv, y)
    assert_same_cca(model, beta_covariances_numpy(Xa, Xv, y, reg, beta), d, Ta, Tv, rtol=1e-8)


def test_uint8_scale_features_keep_their_accuracy() -> None:
    """Raw uint8-scale features (mean ~128, spread ~a few units) and the same features
    de-quantised, (x − 128)/256, give the same model up to the scaling of the ridge."""
    rng = np.random.default_rng(4)
    y = np.arange(600) % 5
    qa = np.clip(128 + 4 * rng.normal(size=(5, 16))[y] + 6 * rng.normal(size=(600, 16)), 0, 255)
    qv = np.clip(128 + 4 * rng.normal(size=(5, 24))[y] + 6 * rng.normal(size=(600, 24)), 0, 255)
    qa, qv = np.round(qa), np.round(qv)
    for variant in ("rasiwasia", "beta"):
        raw = ClusterCCA(n_components=4, variant=variant, reg=256.0 ** 2 * 1e-4).fit(qa, qv, y)
        deq = ClusterCCA(n_components=4, variant=variant, reg=1e-4).fit(
            (qa - 128) / 256, (qv - 128) / 256, y)
        np.testing.assert_allclose(raw.correlations_, deq.correlations_, rtol=1e-10)
        np.testing.assert_allclose(raw.weights_visual_ * 256, deq.weights_visual_, rtol=1e-7,
                                   atol=1e-9 * np.abs(deq.weights_visual_).max())


# -- the helpers ----------------------------------------------------------------------------------
@pytest.mark.parametrize("offset", [0.0, 1e6])
@pytest.mark.parametrize("weighted", [False, True])
def test_centred_scatter_equals_centred_copies(offset: float, weighted: bool) -> None:
    """Both paths (Gram centring, exact row blocks) against (X − m)ᵀ diag(w) (X − m); the offset
    1e6 must take the exact path: the Gram centring would lose ~12 digits there."""
    Xa, Xv, y = views(n=5000, offset=offset, seed=5)         # several blocks of BLOCK_ROWS
    m = [Xa.mean(axis=0), Xv.mean(axis=0)]
    w = np.bincount(y)[y].astype(float) if weighted else np.ones(y.size)
    G, S = centred_scatter([Xa, Xv], m, y, 4, row_weights=w if weighted else None)
    X = np.hstack([Xa - m[0], Xv - m[1]])
    np.testing.assert_allclose(G, (X * w[:, None]).T @ X, rtol=1e-11,
                               atol=1e-11 * np.abs(X).max() ** 2 * w.sum())
    np.testing.assert_allclose(S, np.stack([X[y == c].sum(axis=0) for c in range(4)]),
                               atol=1e-9 * np.abs(X).max() * y.size)
    assert np.array_equal(G, G.T)


def test_gram_centring_is_used_only_when_the_offset_is_small(monkeypatch) -> None:
    calls: list[str] = []
    blocks = _linalg._scatter_by_blocks
    monkeypatch.setattr(_linalg, "_scatter_by_blocks",
                        lambda *a, **k: calls.append("blocks") or blocks(*a, **k))
    for offset, path in ((0.5, []), (1e3, ["blocks"])):
        calls.clear()
        Xa, _, y = views(offset=offset)
        centred_scatter([Xa], [Xa.mean(axis=0)], y, 4)
        assert calls == path


def test_centred_product_equals_the_centred_copy() -> None:
    Xa, _, _ = views(n=4500, offset=7.0)
    W, m = np.random.default_rng(6).normal(size=(6, 3)), Xa.mean(axis=0)
    np.testing.assert_allclose(centred_product(Xa, m, W), (Xa - m) @ W, rtol=1e-12, atol=1e-12)


def test_cholesky_and_eigh_whitening_give_the_same_cca() -> None:
    rng = np.random.default_rng(7)
    A, V = rng.normal(size=(200, 5)), rng.normal(size=(200, 4))
    V[:, :2] += A[:, :2]
    C_aa, C_vv, C_av = A.T @ A / 200, V.T @ V / 200, A.T @ V / 200
    assert whitening(C_aa).triangular
    W_a, W_v, rho = cca_from_covariances(C_aa, C_vv, C_av, 4, zero_rtol=None)
    R_a, R_v, r = textbook_cca(C_aa, C_vv, C_av, 4)
    np.testing.assert_allclose(rho, r, rtol=1e-12)
    signs = np.sign(np.sum(W_a * R_a, axis=0))
    np.testing.assert_allclose(W_a, R_a * signs, atol=1e-12)
    np.testing.assert_allclose(W_v, R_v * signs, atol=1e-12)
    # a singular covariance (reg = 0, a repeated column) takes the clipped eigh instead
    S = np.hstack([A, A[:, :1]])
    assert not whitening(S.T @ S).triangular
    W_a, _, rho = cca_from_covariances(S.T @ S / 200, C_vv, np.vstack([C_av, C_av[:1]]), 2)
    assert np.isfinite(W_a).all() and np.isfinite(rho).all()


# -- TNN-C-CCA's batch-all loss --------------------------------------------------------------------
def naive_batch_all(za: torch.Tensor, zv: torch.Tensor, y: torch.Tensor, margin: float,
                    symmetric: bool) -> tuple[torch.Tensor, int, int]:
    """The (B, B, B) computation: every valid (i, j, k) by a boolean mask, mean over active."""
    S = y[:, None] == y[None, :]
    valid = S[:, :, None] & ~S[:, None, :]                  # (B, B, B): y_j = y_i ≠ y_k
    values = []
    for anchors, others in [(za, zv)] + ([(zv, za)] if symmetric else []):
        D = ((anchors[:, None, :] - others[None, :, :]) ** 2).sum(dim=-1)
        values.append(torch.relu(D[:, :, None] - D[:, None, :] + margin)[valid])
    allv = torch.cat(values)
    n_active = int((allv > 0).sum())
    return allv.sum() / max(n_active, 1), int(allv.numel()), n_active


@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize(("B", "n_classes", "margin"), [(40, 10, 0.5), (75, 10, 0.5),
                                                        (12, 3, 2.0), (9, 1, 0.5)])
def test_batch_all_loss_equals_the_naive_computation(B: int, n_classes: int, margin: float,
                                                     symmetric: bool) -> None:
    g = torch.Generator().manual_seed(B + n_classes)
    y = torch.randint(0, n_classes, (B,), generator=g)
    za0 = torch.rand(B, 10, generator=g, dtype=torch.float64)
    zv0 = torch.rand(B, 10, generator=g, dtype=torch.float64)
    grads = []
    for fast in (True, False):
        za, zv = za0.clone().requires_grad_(True), zv0.clone().requires_grad_(True)
        if fast:
            out = TripletMarginLoss(margin, symmetric=symmetric)(za, zv, y)
            loss, n_triplets, n_active = out.loss, out.n_triplets, out.n_active
        else:
            loss, n_triplets, n_active = naive_batch_all(za, zv, y, margin, symmetric)
        loss.backward()
        grads.append((float(loss.detach()), n_triplets, n_active, za.grad, zv.grad))
    (lf, tf, af, ga_f, gv_f), (ln, tn, an, ga_n, gv_n) = grads
    assert (tf, af) == (tn, an)
    assert lf == pytest.approx(ln, rel=1e-12, abs=1e-15)
    torch.testing.assert_close(ga_f, ga_n, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(gv_f, gv_n, rtol=1e-12, atol=1e-15)


def test_batch_all_loss_equals_the_mined_index_lists_in_float32() -> None:
    """The dense reduction and BatchAllMiner's triplet list (hinge_values) agree in the
    training dtype, to float32 round-off (the summation order differs)."""
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 10, (40,), generator=g)
    za, zv = torch.rand(40, 10, generator=g), torch.rand(40, 10, generator=g)
    dense = TripletMarginLoss(0.5)(za, zv, y)
    triplets = BatchAllMiner().mine(za, zv, y)
    listed, n_active = mean_over_active(triplet_hinge(za, zv, triplets, 0.5))
    assert (dense.n_triplets, dense.n_active) == (triplets.anchor.numel(), n_active)
    torch.testing.assert_close(dense.loss, listed, rtol=1e-6, atol=0.0)
