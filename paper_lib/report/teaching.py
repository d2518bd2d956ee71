"""Logic of the four teaching chapters (notebooks 20-23): toys, computations and figures.

The chapters only call these functions, save what they return and glue the numbers:

- ``teach_cca_2d``       CCA from first principles on a two-dimensional toy with a known answer;
- ``teach_cluster_cca``  a toy where CCA follows a pair-level nuisance and Cluster-CCA the classes;
                         the class-sum formulas and the rank limit C − 1;
- ``teach_triplets``     triplet geometry, the hinge, mining counts, what a hinge-less loss
                         rewards, the TNN-C-CCA pipeline diagram and a short training run;
- ``teach_protocol``     what MAP counts, the truncated-MAP pitfall, ties, the query's own pair,
                         PR curves, the fold protocol and where each pitfall is guarded.

Every number of a chapter comes from the library (``paper_lib.methods`` for the models,
``paper_lib.metrics`` for every retrieval number); the only metric written here is the flawed
:func:`truncated_map_pitfall`, kept to show the inflation it causes.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle
from matplotlib.ticker import MaxNLocator

from paper_lib.methods._linalg import center, inv_sqrt_spd
from paper_lib.methods.base import CrossModalEstimator
from paper_lib.methods.cca import CCA
from paper_lib.methods.cluster_cca import ClusterCCA, rasiwasia_covariances
from paper_lib.metrics.retrieval import average_precision, mean_average_precision, relevance
from paper_lib.metrics.similarity import Metric, similarity

if TYPE_CHECKING:  # torch is imported lazily: only the triplet chapter needs it
    from torch import nn

    from paper_lib.methods.triplet import TripletMiner

CLASS_COLOURS = plt.get_cmap("tab10")


# =============================================================================================
# helpers shared by the chapters
# =============================================================================================
def _check_2d(X: np.ndarray, name: str) -> np.ndarray:
    A = np.asarray(X, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] < 2:
        raise ValueError(f"{name} must be a 2-d array with at least two rows, got shape {A.shape}.")
    return A


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two 1-d samples (0 when one of them is constant)."""
    a_c, b_c = a - a.mean(), b - b.mean()
    den = float(np.sqrt((a_c @ a_c) * (b_c @ b_c)))
    return float(a_c @ b_c) / den if den > 0 else 0.0


def cross_modal_map(Z_audio: np.ndarray, Z_visual: np.ndarray, labels: np.ndarray,
                    metric: Metric = "cosine") -> dict[str, float]:
    """A→V and V→A MAP (full ranking) of paired test embeddings, from ``paper_lib.metrics``."""
    S = similarity(Z_audio, Z_visual, metric)  # (n, n): audio queries x visual gallery
    return {"a2v": mean_average_precision(S, labels, labels),
            "v2a": mean_average_precision(S.T, labels, labels)}


# =============================================================================================
# chapter 20: CCA from first principles (teach_cca_2d)
# =============================================================================================
def rotation(degrees: float) -> np.ndarray:
    """2-d rotation matrix by ``degrees`` (counter-clockwise)."""
    t = np.radians(degrees)
    return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])


def unit_vector(degrees: float | np.ndarray) -> np.ndarray:
    """Unit vector(s) at angle ``degrees``: (2,) for a scalar, (2, n) for an array of angles."""
    t = np.radians(degrees)
    return np.stack([np.cos(t), np.sin(t)])


def direction_angle(w: np.ndarray) -> float:
    """Angle of a direction in degrees, in [0, 180) (a direction and its negative are the same)."""
    return float(np.degrees(np.arctan2(w[1], w[0])) % 180.0)


@dataclass(frozen=True)
class LatentToy:
    """Two views generated from one shared latent z ~ N(0, 1) plus view-specific Gaussian noise.

    x = a_x z + ε_x,  ε_x ~ N(0, Ψ_x);   y = a_y z + ε_y,  ε_y ~ N(0, Ψ_y)   (ε_x, ε_y, z independent)

    so Σ_xx = a_x a_xᵀ + Ψ_x, Σ_yy = a_y a_yᵀ + Ψ_y and Σ_xy = a_x a_yᵀ (rank one): there is exactly
    one canonical pair with non-zero correlation, known in closed form (:meth:`analytic_rho`).
    """

    load_x: np.ndarray    # a_x (p,)
    load_y: np.ndarray    # a_y (q,)
    noise_x: np.ndarray   # Ψ_x (p, p), symmetric positive definite
    noise_y: np.ndarray   # Ψ_y (q, q)

    def covariances(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Population (Σ_xx, Σ_yy, Σ_xy)."""
        return (np.outer(self.load_x, self.load_x) + self.noise_x,
                np.outer(self.load_y, self.load_y) + self.noise_y,
                np.outer(self.load_x, self.load_y))

    def signal_to_noise(self) -> tuple[float, float]:
        """s_x = a_xᵀ Ψ_x⁻¹ a_x and s_y = a_yᵀ Ψ_y⁻¹ a_y."""
        return (float(self.load_x @ np.linalg.solve(self.noise_x, self.load_x)),
                float(self.load_y @ np.linalg.solve(self.noise_y, self.load_y)))

    def analytic_rho(self) -> float:
        """ρ = √( s_x/(1+s_x) · s_y/(1+s_y) ).

        With Sherman-Morrison, a_xᵀ Σ_xx⁻¹ a_x = s_x / (1 + s_x), and for the rank-one
        Σ_xy = a_x a_yᵀ the top singular value of Σ_xx^{-1/2} Σ_xy Σ_yy^{-1/2} is
        √(a_xᵀ Σ_xx⁻¹ a_x · a_yᵀ Σ_yy⁻¹ a_y).
        """
        s_x, s_y = self.signal_to_noise()
        return float(np.sqrt(s_x / (1 + s_x) * s_y / (1 + s_y)))

    def analytic_directions(self) -> tuple[np.ndarray, np.ndarray]:
        """Unit canonical directions: w_x ∝ Σ_xx⁻¹ a_x ∝ Ψ_x⁻¹ a_x, w_y ∝ Ψ_y⁻¹ a_y."""
        w_x = np.linalg.solve(self.noise_x, self.load_x)
        w_y = np.linalg.solve(self.noise_y, self.load_y)
        return w_x / np.linalg.norm(w_x), w_y / np.linalg.norm(w_y)

    def sample(self, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``n`` paired draws: (X (n, p), Y (n, q), z (n,))."""
        if int(n) < 2:
            raise ValueError(f"n must be >= 2, got {n}.")
        rng = np.random.default_rng(seed)
        z = rng.normal(size=int(n))
        E_x = rng.multivariate_normal(np.zeros(self.load_x.size), self.noise_x, size=int(n))
        E_y = rng.multivariate_normal(np.zeros(self.load_y.size), self.noise_y, size=int(n))
        return z[:, None] * self.load_x + E_x, z[:, None] * self.load_y + E_y, z


def default_latent_toy() -> LatentToy:
    """The chapter's toy: signal along e₁ in x and e₂ in y, strong noise along other axes.

    [choice] loadings 1.2 and noise standard deviations 2.5 / 0.4 (x, long axis at 50°) and
    2.2 / 0.4 (y, long axis at −30°): the largest-variance (PCA) axis of each view is mostly
    noise, so PCA and CCA directions differ clearly; the canonical correlation is ≈ 0.86.
    """
    psi_x = rotation(50) @ np.diag([2.5 ** 2, 0.4 ** 2]) @ rotation(50).T
    psi_y = rotation(-30) @ np.diag([2.2 ** 2, 0.4 ** 2]) @ rotation(-30).T
    return LatentToy(np.array([1.2, 0.0]), np.array([0.0, 1.2]), psi_x, psi_y)


def projection_correlation(X: np.ndarray, Y: np.ndarray, w_x: np.ndarray,
                           w_y: np.ndarray) -> float:
    """corr(w_xᵀ x, w_yᵀ y) over the sample (Pearson; a direction's sign flips its sign)."""
    return _pearson(X @ w_x, Y @ w_y)


def pca_direction(X: np.ndarray) -> np.ndarray:
    """Unit top eigenvector of the sample covariance (the first principal axis)."""
    X_c, _ = center(_check_2d(X, "X"))
    eigval, eigvec = np.linalg.eigh(X_c.T @ X_c / X_c.shape[0])
    return eigvec[:, -1]


def compare_directions(X: np.ndarray, Y: np.ndarray, cca: CCA, n_random: int = 3,
                       seed: int = 0) -> pd.DataFrame:
    """|corr| of the 1-d projections for the CCA pair, the PCA pair and random pairs.

    Rows: kind ("CCA", "PCA", "random"), label, angle_x, angle_y (degrees in [0, 180)) and
    abs_correlation. CCA's first pair maximises the correlation, so every other row is <= it.
    """
    rng = np.random.default_rng(seed)
    pairs = [("CCA", "CCA", cca.weights_audio_[:, 0], cca.weights_visual_[:, 0]),
             ("PCA", "PCA", pca_direction(X), pca_direction(Y))]
    for r in range(int(n_random)):
        a_x, a_y = rng.uniform(0, 180, size=2)
        pairs.append(("random", f"random {r + 1}", unit_vector(a_x), unit_vector(a_y)))
    rows = [{"kind": kind, "label": label, "angle_x": direction_angle(w_x),
             "angle_y": direction_angle(w_y),
             "abs_correlation": abs(projection_correlation(X, Y, w_x, w_y))}
            for kind, label, w_x, w_y in pairs]
    return pd.DataFrame(rows)


def correlation_landscape(X: np.ndarray, Y: np.ndarray,
                          n_angles: int = 180) -> tuple[np.ndarray, np.ndarray]:
    """|corr(u(θ_x)ᵀx, u(θ_y)ᵀy)| for every pair of directions on a grid of angles in [0, 180).

    Returns (angles (n,), R (n, n)) with R[i, j] for θ_x = angles[i], θ_y = angles[j]. The
    maximum over the grid approaches the first canonical correlation from below.
    """
    X, Y = _check_2d(X, "X"), _check_2d(Y, "Y")
    if X.shape[1] != 2 or Y.shape[1] != 2:
        raise ValueError("correlation_landscape needs two 2-d views (X and Y with 2 columns).")
    angles = np.arange(int(n_angles)) * 180.0 / int(n_angles)
    U = unit_vector(angles)                                   # (2, n) one direction per column
    P_x, P_y = center(X)[0] @ U, center(Y)[0] @ U             # (N, n) projections
    P_x /= np.linalg.norm(P_x, axis=0)
    P_y /= np.linalg.norm(P_y, axis=0)
    return angles, np.abs(P_x.T @ P_y)                        # (n, n) |Pearson correlations|


def whiten(X: np.ndarray, reg: float = 0.0) -> np.ndarray:
    """x̃ = (Σ_xx + reg·I)^{-1/2} (x − m): the sample becomes white (identity covariance)."""
    X_c, _ = center(_check_2d(X, "X"))
    C = X_c.T @ X_c / X_c.shape[0] + reg * np.eye(X.shape[1])
    return X_c @ inv_sqrt_spd(C)


def variate_correlations(Z_x: np.ndarray, Z_y: np.ndarray) -> pd.DataFrame:
    """Correlation matrix of all canonical variates [Z_x | Z_y] (labelled x1.., y1..)."""
    d = Z_x.shape[1]
    names = [f"x{k + 1}" for k in range(d)] + [f"y{k + 1}" for k in range(d)]
    R = np.corrcoef(np.hstack([Z_x, Z_y]), rowvar=False)
    return pd.DataFrame(R, index=names, columns=names)


def max_off_diagonal(R: pd.DataFrame) -> float:
    """Largest |correlation| the canonical variates must not have: within a view between
    different variates, and across views between non-matching pairs (x_k, y_l), k != l."""
    A = R.to_numpy()
    d = A.shape[0] // 2
    keep = ~np.eye(2 * d, dtype=bool)
    keep[np.arange(d), np.arange(d) + d] = False    # (x_k, y_k) is the canonical correlation
    keep[np.arange(d) + d, np.arange(d)] = False
    return float(np.abs(A[keep]).max())


def ridge_path(X: np.ndarray, Y: np.ndarray, regs: Sequence[float]) -> pd.DataFrame:
    """First canonical correlation of ``CCA(reg=r)`` (the SVD value, shrunk by the ridge) and the
    sample correlation its directions actually reach, for every ridge ``r``."""
    rows = []
    for r in regs:
        m = CCA(n_components=1, reg=float(r)).fit(X, Y)
        rows.append({"reg": float(r), "rho_svd": float(m.correlations_[0]),
                     "sample_correlation": projection_correlation(
                         X, Y, m.weights_audio_[:, 0], m.weights_visual_[:, 0])})
    return pd.DataFrame(rows)


def per_component_correlation(Z_a: np.ndarray, Z_v: np.ndarray) -> np.ndarray:
    """corr(Z_a[:, k], Z_v[:, k]) for every component k, (d,)."""
    return np.array([_pearson(Z_a[:, k], Z_v[:, k]) for k in range(Z_a.shape[1])])


def train_test_canonical_correlations(Xa_tr: np.ndarray, Xv_tr: np.ndarray, Xa_te: np.ndarray,
                                      Xv_te: np.ndarray, n_components: int,
                                      regs: dict[str, float]) -> pd.DataFrame:
    """Fit CCA on training rows for each named ridge; per-component correlation of the variates
    on the training rows and on the held-out rows (columns ridge, reg, component, part, corr)."""
    rows = []
    for name, reg in regs.items():
        m = CCA(n_components=n_components, reg=float(reg)).fit(Xa_tr, Xv_tr)
        for part, (A, V) in (("train", (Xa_tr, Xv_tr)), ("test", (Xa_te, Xv_te))):
            corr = per_component_correlation(*m.transform(A, V))
            rows += [{"ridge": name, "reg": float(reg), "component": k + 1, "part": part,
                      "correlation": float(c)} for k, c in enumerate(corr)]
    return pd.DataFrame(rows)


def _arrow(ax: plt.Axes, origin: np.ndarray, w: np.ndarray, length: float, colour: str,
           label: str | None, lw: float = 2.5) -> None:
    """A double-headed line through ``origin`` along ``w`` (a direction has no sign)."""
    u = w / np.linalg.norm(w) * length
    ax.annotate("", xy=origin + u, xytext=origin - u,
                arrowprops={"arrowstyle": "<->", "color": colour, "lw": lw})
    if label:
        ax.plot([], [], color=colour, lw=lw, label=label)


def plot_views_with_directions(X: np.ndarray, Y: np.ndarray, z: np.ndarray, cca: CCA,
                               table: pd.DataFrame) -> plt.Figure:
    """Both 2-d views (coloured by the shared latent z) with the CCA, PCA and random directions."""
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.8))
    for ax, V, view, col in ((axes[0], X, "x", 0), (axes[1], Y, "y", 1)):
        sc = ax.scatter(V[:, 0], V[:, 1], c=z, cmap="coolwarm", s=8, alpha=0.7, rasterized=True)
        m = V.mean(axis=0)
        length = 2.2 * V.std(axis=0).max()
        weights = cca.weights_audio_ if col == 0 else cca.weights_visual_
        _arrow(ax, m, weights[:, 0], length, "black", "CCA direction", lw=3)
        angle = table.loc[table.kind == "PCA", f"angle_{view}"].iloc[0]
        _arrow(ax, m, unit_vector(angle), length, "#2ca02c", "PCA direction")
        for i, (_, row) in enumerate(table[table.kind == "random"].iterrows()):
            _arrow(ax, m, unit_vector(row[f"angle_{view}"]), length * 0.8, "0.55",
                   "random directions" if i == 0 else None, lw=1.2)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel(f"{view}$_1$")
        ax.set_ylabel(f"{view}$_2$")
        ax.set_title(f"view {view}: {V.shape[0]} points")
        ax.legend(loc="lower left", fontsize=8)
    fig.colorbar(sc, ax=axes, fraction=0.03, label="shared latent z")
    fig.suptitle("Two 2-d views of one latent variable, and three kinds of directions")
    return fig


def plot_projection_pairs(X: np.ndarray, Y: np.ndarray, z: np.ndarray, cca: CCA,
                          table: pd.DataFrame) -> plt.Figure:
    """Scatter of the 1-d projections (w_xᵀx against w_yᵀy) for each row of ``table``."""
    n = len(table)
    fig, axes = plt.subplots(1, n, figsize=(2.9 * n, 3.0), sharex=False, sharey=False)
    for ax, (_, row) in zip(np.atleast_1d(axes), table.iterrows(), strict=True):
        if row.kind == "CCA":
            w_x, w_y = cca.weights_audio_[:, 0], cca.weights_visual_[:, 0]
        else:
            w_x, w_y = unit_vector(row.angle_x), unit_vector(row.angle_y)
        p_x, p_y = center(X @ w_x[:, None])[0][:, 0], center(Y @ w_y[:, None])[0][:, 0]
        ax.scatter(p_x / p_x.std(), p_y / p_y.std(), c=z, cmap="coolwarm", s=5, alpha=0.6,
                   rasterized=True)
        ax.set_title(f"{row.label}: |ρ| = {row.abs_correlation:.3f}", fontsize=9)
        ax.set_xlabel("w$_x^T$x (standardised)", fontsize=8)
        ax.set_ylabel("w$_y^T$y (standardised)", fontsize=8)
        ax.set_aspect("equal", adjustable="datalim")
    fig.suptitle("The two 1-d projections against each other")
    fig.tight_layout()
    return fig


def plot_landscape(angles: np.ndarray, R: np.ndarray, table: pd.DataFrame) -> plt.Figure:
    """Heat map of |corr| over all direction pairs with the CCA, PCA and random pairs marked."""
    fig, ax = plt.subplots(figsize=(5.6, 4.6))
    step = angles[1] - angles[0]
    im = ax.imshow(R.T, origin="lower", cmap="viridis", vmin=0, vmax=1,
                   extent=(0, angles[-1] + step, 0, angles[-1] + step))
    styles = {"CCA": ("*", "white", 260), "PCA": ("o", "#2ca02c", 90), "random": ("x", "0.8", 70)}
    for kind, (marker, colour, size) in styles.items():
        sub = table[table.kind == kind]
        ax.scatter(sub.angle_x, sub.angle_y, marker=marker, c=colour, s=size, label=kind,
                   edgecolors="black" if kind != "random" else None)
    ax.set_xlabel("angle of w$_x$ (degrees)")
    ax.set_ylabel("angle of w$_y$ (degrees)")
    ax.set_title("|corr| of the projections for every pair of directions")
    ax.legend(loc="upper right", fontsize=8)
    fig.colorbar(im, ax=ax, label="|correlation|")
    fig.tight_layout()
    return fig


def plot_whitened(X: np.ndarray, Y: np.ndarray, z: np.ndarray) -> plt.Figure:
    """Both views after whitening, with the singular directions of T = Σ_xx^{-1/2}Σ_xyΣ_yy^{-1/2}."""
    X_w, Y_w = whiten(X), whiten(Y)
    T = X_w.T @ Y_w / X.shape[0]                 # the whitened cross-covariance
    U, S, Vt = np.linalg.svd(T)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.3))
    for ax, V, vec, view in ((axes[0], X_w, U[:, 0], "x"), (axes[1], Y_w, Vt[0], "y")):
        ax.scatter(V[:, 0], V[:, 1], c=z, cmap="coolwarm", s=6, alpha=0.6, rasterized=True)
        _arrow(ax, np.zeros(2), vec, 3.0, "black", f"top singular vector ({view})", lw=3)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel(f"whitened {view}$_1$")
        ax.set_ylabel(f"whitened {view}$_2$")
        ax.legend(loc="lower left", fontsize=8)
    fig.suptitle(f"After whitening every direction has unit variance; the SVD of T finds the "
                 f"pair with correlation {S[0]:.3f}")
    fig.tight_layout()
    return fig


def plot_ridge_path(path: pd.DataFrame, rho_unregularised: float) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.semilogx(path.reg, path.rho_svd, "o-", label="SVD value (shrunk by the ridge)")
    ax.semilogx(path.reg, path.sample_correlation, "s--", label="sample correlation reached")
    ax.axhline(rho_unregularised, color="0.4", lw=1, ls=":", label="reg = 0")
    ax.set_xlabel("ridge reg (added to Σ$_{xx}$ and Σ$_{yy}$)")
    ax.set_ylabel("first canonical correlation")
    ax.set_title("Ridge: shrinks the reported correlation, bends the directions towards PCA")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_train_test_correlations(table: pd.DataFrame, dataset: str) -> plt.Figure:
    ridges = list(dict.fromkeys(table.ridge))
    fig, axes = plt.subplots(1, len(ridges), figsize=(5 * len(ridges), 3.4), sharey=True)
    for ax, name in zip(np.atleast_1d(axes), ridges, strict=True):
        sub = table[table.ridge == name]
        for part, marker in (("train", "o-"), ("test", "s--")):
            s = sub[sub.part == part]
            ax.plot(s.component, s.correlation, marker, label=f"{part} rows")
        ax.set_xlabel("canonical component k")
        ax.set_title(f"{dataset}: CCA, ridge {name} (reg = {sub.reg.iloc[0]:.3g})", fontsize=10)
        ax.set_ylim(-0.05, 1.05)
        ax.legend(fontsize=8)
    np.atleast_1d(axes)[0].set_ylabel("corr of the k-th variates")
    fig.tight_layout()
    return fig


# =============================================================================================
# chapter 21: why Cluster-CCA (teach_cluster_cca)
# =============================================================================================
@dataclass(frozen=True)
class NuisanceWorld:
    """The fixed structure of the Cluster-CCA toy (same for the training and the test sample).

    Per pair i with class c_i and nuisance u_i ~ N(0, s_u² I_q) shared by both views:

        x_i = A_x [u_i ; μ_{c_i}] + ε_x,    y_i = A_y [u_i ; μ_{c_i}] + ε_y,   ε ~ N(0, σ² I)

    where μ_c (C − 1 dims) are the vertices of a regular simplex of radius ``class_scale`` and
    A_x, A_y are random matrices with orthonormal columns (each view mixes the latent factors
    differently). The nuisance is independent of the class.
    """

    mixing_x: np.ndarray      # A_x (d, q + C - 1)
    mixing_y: np.ndarray      # A_y (d, q + C - 1)
    class_means: np.ndarray   # μ (C, C - 1)
    nuisance_scale: float     # s_u
    noise: float              # σ

    @property
    def n_classes(self) -> int:
        return self.class_means.shape[0]

    @property
    def n_nuisance(self) -> int:
        return self.mixing_x.shape[1] - self.class_means.shape[1]

    def paired_correlations(self) -> dict[str, float]:
        """Population correlation of the paired views along a nuisance and along a class
        direction (balanced classes): λ / (λ + σ²), with λ = s_u² for the nuisance and
        λ = radius² / (C − 1) for the simplex class means (the columns of A are orthonormal, so
        these are the canonical correlations plain CCA sees)."""
        class_var = float(np.mean(np.sum(self.class_means ** 2, axis=1))) / (self.n_classes - 1)
        nuisance_var = self.nuisance_scale ** 2
        return {"nuisance": nuisance_var / (nuisance_var + self.noise ** 2),
                "class": class_var / (class_var + self.noise ** 2)}


@dataclass(frozen=True)
class ToyViews:
    """A paired sample: both views, the class labels and the hidden nuisance."""

    audio: np.ndarray      # (N, d)
    visual: np.ndarray     # (N, d)
    labels: np.ndarray     # (N,)
    nuisance: np.ndarray   # (N, q)


def simplex_vertices(n_classes: int, radius: float) -> np.ndarray:
    """C points in C − 1 dimensions, all at distance ``radius`` from their (zero) centroid and
    equidistant from each other: the most even class layout."""
    E = np.eye(n_classes) - 1.0 / n_classes                     # centred one-hot codes (C, C)
    basis = np.linalg.svd(E)[0][:, : n_classes - 1]              # (C, C-1) orthonormal
    V = E @ basis
    return V / np.linalg.norm(V[0]) * radius


def make_nuisance_world(n_classes: int = 3, n_nuisance: int = 2, n_features: int = 6,
                        nuisance_scale: float = 4.0, class_scale: float = 2.5,
                        noise: float = 1.0, seed: int = 0) -> NuisanceWorld:
    """The toy's structure. [choice] defaults: 3 classes (so C − 1 = 2 components and the
    embeddings are exactly 2-d), a 2-d nuisance 4× the noise, classes on a simplex of radius 2.5:
    per latent dimension the nuisance has variance 16 and the class 3.1, so the paired
    correlation of the nuisance (≈ 0.94) beats the class's (≈ 0.76)."""
    if n_classes < 2 or n_nuisance < 1:
        raise ValueError(f"need n_classes >= 2 and n_nuisance >= 1, got {n_classes}, "
                         f"{n_nuisance}.")
    n_latent = n_nuisance + n_classes - 1
    if n_features < n_latent:
        raise ValueError(f"n_features={n_features} must be >= n_nuisance + n_classes - 1 = "
                         f"{n_latent}.")
    rng = np.random.default_rng(seed)

    def mixing() -> np.ndarray:
        return np.linalg.qr(rng.normal(size=(n_features, n_features)))[0][:, :n_latent]

    return NuisanceWorld(mixing(), mixing(), simplex_vertices(n_classes, class_scale),
                         float(nuisance_scale), float(noise))


def sample_views(world: NuisanceWorld, n_per_class: int, seed: int) -> ToyViews:
    """``n_per_class`` pairs of every class drawn from ``world``."""
    if int(n_per_class) < 2:
        raise ValueError(f"n_per_class must be >= 2, got {n_per_class}.")
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(world.n_classes), int(n_per_class))
    U = world.nuisance_scale * rng.normal(size=(y.size, world.n_nuisance))   # (N, q)
    latent = np.hstack([U, world.class_means[y]])                            # (N, q + C - 1)

    def view(A: np.ndarray) -> np.ndarray:
        return latent @ A.T + world.noise * rng.normal(size=(y.size, A.shape[0]))

    return ToyViews(view(world.mixing_x), view(world.mixing_y), y, U)


def nuisance_r(z: np.ndarray, U: np.ndarray) -> float:
    """Multiple correlation R of a component with the nuisance: √(R²) of the least-squares fit
    z ≈ b₀ + U b (for a 1-d nuisance this is |corr(z, u)|)."""
    A = np.hstack([np.ones((z.size, 1)), U])
    coef = np.linalg.lstsq(A, z, rcond=None)[0]
    resid = z - A @ coef
    z_c = z - z.mean()
    return float(np.sqrt(max(0.0, 1.0 - (resid @ resid) / (z_c @ z_c))))


def class_eta(z: np.ndarray, labels: np.ndarray) -> float:
    """Correlation ratio η: √(between-class sum of squares / total sum of squares) (0..1)."""
    classes, index, counts = np.unique(labels, return_inverse=True, return_counts=True)
    means = np.bincount(index, weights=z, minlength=classes.size) / counts
    z_c = z - z.mean()
    between = float(counts @ (means - z.mean()) ** 2)
    return float(np.sqrt(between / (z_c @ z_c)))


def component_diagnostics(Z: np.ndarray, toy: ToyViews, method: str) -> pd.DataFrame:
    """Per component of an embedding: nuisance R and class η (which factor does it follow?)."""
    return pd.DataFrame([{"method": method, "component": k + 1,
                          "nuisance_r": nuisance_r(Z[:, k], toy.nuisance),
                          "class_eta": class_eta(Z[:, k], toy.labels)}
                         for k in range(Z.shape[1])])


@dataclass
class ToyFit:
    """A model fitted on the toy's training sample and its test embeddings."""

    method: str
    model: CrossModalEstimator
    Z_audio: np.ndarray
    Z_visual: np.ndarray
    maps: dict[str, float]


def fit_on_toy(method: str, model: CrossModalEstimator, train: ToyViews,
               test: ToyViews) -> ToyFit:
    """Fit on the training sample, embed the test sample view by view, cosine MAP both ways."""
    model.fit(train.audio, train.visual, train.labels)
    Z_a = model.transform(X_audio=test.audio)[0]
    Z_v = model.transform(X_visual=test.visual)[1]
    assert Z_a is not None and Z_v is not None
    return ToyFit(method, model, Z_a, Z_v, cross_modal_map(Z_a, Z_v, test.labels))


def compare_cca_and_ccca(train: ToyViews, test: ToyViews,
                         n_components: int) -> tuple[list[ToyFit], pd.DataFrame, pd.DataFrame]:
    """CCA and Cluster-CCA (Rasiwasia) on the toy: the fits, per-component diagnostics on the
    test sample (audio side) and a MAP table (method, direction, map)."""
    fits = [fit_on_toy("CCA", CCA(n_components=n_components), train, test),
            fit_on_toy("C-CCA", ClusterCCA(n_components=n_components), train, test)]
    diag = pd.concat([component_diagnostics(f.Z_audio, test, f.method) for f in fits],
                     ignore_index=True)
    maps = pd.DataFrame([{"method": f.method, "direction": d, "map": v}
                         for f in fits for d, v in f.maps.items()])
    return fits, diag, maps


def beta_sweep(train: ToyViews, test: ToyViews, betas: Sequence[float],
               n_components: int) -> pd.DataFrame:
    """The authors' variant for every β: first component's nuisance R / class η and MAP.

    β = 1 is plain CCA (only the paired cross-covariance), β = 0 only the within-class one.
    """
    rows = []
    for beta in betas:
        f = fit_on_toy(f"beta={beta:g}", ClusterCCA(n_components=n_components, variant="beta",
                                                    beta=float(beta)), train, test)
        rows.append({"beta": float(beta), "nuisance_r": nuisance_r(f.Z_audio[:, 0], test.nuisance),
                     "class_eta": class_eta(f.Z_audio[:, 0], test.labels), **f.maps})
    return pd.DataFrame(rows)


def within_class_pairs(labels: np.ndarray) -> int:
    """M = Σ_c n_c²: the number of (audio, visual) within-class correspondences."""
    counts = np.unique(labels, return_counts=True)[1].astype(np.int64)
    return int(np.sum(counts ** 2))


def cluster_cross_covariance(Xa: np.ndarray, Xv: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The library's centred Rasiwasia Σ_xy (from class sums, O(N·d²))."""
    return rasiwasia_covariances(Xa, Xv, labels, reg=0.0)[2]


def explicit_pair_cross_covariance(Xa: np.ndarray, Xv: np.ndarray, labels: np.ndarray,
                                   max_pairs: int = 200_000) -> np.ndarray:
    """The same Σ_xy by listing every within-class pair explicitly (what NOT to do at scale:
    memory grows with M = Σ n_c²); kept for small samples to check the class-sum formula."""
    M = within_class_pairs(labels)
    if M > max_pairs:
        raise ValueError(f"labels give M = {M} within-class pairs, above max_pairs = {max_pairs}: "
                         f"the explicit expansion is only for small checks.")
    i, j = np.nonzero(labels[:, None] == labels[None, :])     # every (x ∈ X_c, y ∈ Y_c) pair
    P_a, P_v = Xa[i], Xv[j]                                   # (M, d_a), (M, d_v)
    P_a, P_v = P_a - P_a.mean(axis=0), P_v - P_v.mean(axis=0)
    return P_a.T @ P_v / M


def singular_values(C: np.ndarray) -> np.ndarray:
    """Singular values, descending."""
    return np.linalg.svd(C, compute_uv=False)


def numerical_rank(C: np.ndarray, rtol: float = 1e-10) -> int:
    """Number of singular values above ``rtol`` × the largest."""
    s = singular_values(C)
    return int(np.sum(s > rtol * s[0])) if s.size and s[0] > 0 else 0


def spectrum_models(n_components: int) -> dict[str, CrossModalEstimator]:
    """Cluster-CCA as published, the authors' β = 0.2 variant and plain CCA (library defaults,
    i.e. the registry's ``c_cca_rasiwasia``, ``c_cca`` and ``cca``), with ``n_components``."""
    return {"C-CCA (Rasiwasia)": ClusterCCA(n_components, variant="rasiwasia"),
            "C-CCA (β = 0.2, authors)": ClusterCCA(n_components, variant="beta", beta=0.2),
            "CCA": CCA(n_components)}


def correlation_spectrum(Xa: np.ndarray, Xv: np.ndarray, labels: np.ndarray,
                         n_components: int
                         ) -> tuple[pd.DataFrame, dict[str, CrossModalEstimator]]:
    """Fit the :func:`spectrum_models` on the given (training) rows; return their canonical
    correlations per component (columns method, component, correlation) and the fitted models."""
    models = spectrum_models(n_components)
    rows = []
    for name, m in models.items():
        m.fit(Xa, Xv, labels)
        rows += [{"method": name, "component": k + 1, "correlation": float(r)}
                 for k, r in enumerate(m.correlations_)]
    return pd.DataFrame(rows), models


def leading_components_map(models: dict[str, CrossModalEstimator], Xa_test: np.ndarray,
                           Xv_test: np.ndarray, y_test: np.ndarray, d: int) -> pd.DataFrame:
    """Test MAP of each fitted model restricted to its first ``d`` components.

    The CCA family's directions come from one SVD, so the first ``d`` columns of a fit with more
    components ARE the d-component fit (same signs): one fit serves the spectrum and the MAP.
    Each view is embedded from itself; MAP from ``paper_lib.metrics`` (cosine, full ranking).
    """
    rows = []
    for name, m in models.items():
        Z_a = m.transform(X_audio=Xa_test)[0]
        Z_v = m.transform(X_visual=Xv_test)[1]
        assert Z_a is not None and Z_v is not None
        maps = cross_modal_map(Z_a[:, :d], Z_v[:, :d], y_test)
        rows += [{"method": name, "d": int(d), "direction": k, "map": v} for k, v in maps.items()]
    return pd.DataFrame(rows)


def plot_toy_embeddings(fits: Sequence[ToyFit], test: ToyViews) -> plt.Figure:
    """First two components of each method's test embeddings (audio ●, visual ×), by class."""
    fig, axes = plt.subplots(1, len(fits), figsize=(5.2 * len(fits), 4.6))
    for ax, f in zip(np.atleast_1d(axes), fits, strict=True):
        for c in np.unique(test.labels):
            rows = test.labels == c
            ax.scatter(f.Z_audio[rows, 0], f.Z_audio[rows, 1], s=10, alpha=0.6, rasterized=True,
                       color=CLASS_COLOURS(c), label=f"class {c} (audio)")
            ax.scatter(f.Z_visual[rows, 0], f.Z_visual[rows, 1], s=14, alpha=0.6, marker="x",
                       rasterized=True, color=CLASS_COLOURS(c), label=f"class {c} (visual)")
        ax.set_xlabel("component 1")
        ax.set_ylabel("component 2")
        ax.set_title(f"{f.method}: MAP A→V {f.maps['a2v']:.3f}, V→A {f.maps['v2a']:.3f}",
                     fontsize=10)
        ax.set_aspect("equal", adjustable="datalim")
    np.atleast_1d(axes)[-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.suptitle("Test embeddings coloured by class")
    fig.tight_layout()
    return fig


def plot_component_diagnostics(diag: pd.DataFrame) -> plt.Figure:
    """Bars: for each method and component, nuisance R and class η."""
    methods = list(dict.fromkeys(diag.method))
    fig, axes = plt.subplots(1, len(methods), figsize=(4.5 * len(methods), 3.3), sharey=True)
    for ax, m in zip(np.atleast_1d(axes), methods, strict=True):
        sub = diag[diag.method == m]
        x = sub.component.to_numpy()
        ax.bar(x - 0.18, sub.nuisance_r, width=0.36, color="#d62728", label="nuisance R")
        ax.bar(x + 0.18, sub.class_eta, width=0.36, color="#1f77b4", label="class η")
        ax.set_xticks(x)
        ax.set_xlabel("component")
        ax.set_ylim(0, 1.05)
        ax.set_title(m)
    np.atleast_1d(axes)[0].set_ylabel("explained share (R or η)")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.suptitle("What each component follows (test sample, audio side)")
    fig.tight_layout()
    return fig


def plot_beta_sweep(table: pd.DataFrame) -> plt.Figure:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    axes[0].plot(table.beta, table.a2v, "o-", label="A→V")
    axes[0].plot(table.beta, table.v2a, "s--", label="V→A")
    axes[0].set_ylabel("MAP (test sample)")
    axes[0].set_title("MAP of the β variant")
    axes[1].plot(table.beta, table.nuisance_r, "o-", color="#d62728", label="nuisance R")
    axes[1].plot(table.beta, table.class_eta, "s-", color="#1f77b4", label="class η")
    axes[1].set_ylabel("first component")
    axes[1].set_title("What the first component follows")
    for ax in axes:
        ax.set_xlabel("β (weight of the paired cross-covariance)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_rank_limit(sv_toy: np.ndarray, n_classes_toy: int, spectrum: pd.DataFrame,
                    n_classes: int, dataset: str) -> plt.Figure:
    """Left: singular values of the toy's cluster Σ_xy; right: canonical correlations per
    component on the build's dataset, with the C − 1 limit marked."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    k = np.arange(1, sv_toy.size + 1)
    axes[0].semilogy(k, np.maximum(sv_toy, 1e-18), "o-")
    axes[0].axvline(n_classes_toy - 0.5, color="0.5", ls=":", label=f"C − 1 = {n_classes_toy - 1}")
    axes[0].set_xlabel("index")
    axes[0].set_ylabel("singular value (log)")
    axes[0].set_title("toy: singular values of the cluster Σ$_{xy}$")
    axes[0].legend(fontsize=8)
    for name, sub in spectrum.groupby("method", sort=False):
        axes[1].plot(sub.component, sub.correlation, "o-", ms=4, label=name)
    axes[1].axvline(n_classes - 0.5, color="0.5", ls=":", label=f"C − 1 = {n_classes - 1}")
    axes[1].set_xlabel("component")
    axes[1].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[1].set_ylabel("canonical correlation")
    axes[1].set_title(f"{dataset}: training rows of the first fold")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


# =============================================================================================
# chapter 22: the triplet loss and mining (teach_triplets)
# =============================================================================================
def hinge(delta: np.ndarray, margin: float) -> np.ndarray:
    """max(0, Δ + m), Δ = ‖a − p‖² − ‖a − n‖² (the paper's loss per triplet)."""
    return np.maximum(0.0, np.asarray(delta, dtype=np.float64) + margin)


def hingeless(delta: np.ndarray, margin: float) -> np.ndarray:
    """Δ + m without the hinge (the authors' last script): unbounded below."""
    return np.asarray(delta, dtype=np.float64) + margin


def valid_triplet_count(labels: np.ndarray) -> int:
    """Batch-all count: Σ_i n_pos(i)·n_neg(i) = Σ_c n_c · n_c · (B − n_c) (the anchor's own
    partner is one of its n_c positives)."""
    counts = np.unique(np.asarray(labels), return_counts=True)[1].astype(np.int64)
    B = int(counts.sum())
    return int(np.sum(counts * counts * (B - counts)))


def anchors_with_negative(labels: np.ndarray) -> int:
    """Batch-hard and random mining: one triplet per anchor that has a negative in the batch
    (all B anchors unless the batch holds a single class)."""
    labels = np.asarray(labels)
    return int(labels.size) if np.unique(labels).size > 1 else 0


def class_count_table(labels: np.ndarray) -> pd.DataFrame:
    """Per class of a batch: anchors n_c, positives per anchor n_c, negatives B − n_c and the
    batch-all triplets n_c²(B − n_c)."""
    classes, counts = np.unique(np.asarray(labels), return_counts=True)
    B = int(counts.sum())
    return pd.DataFrame({"class": classes, "anchors": counts, "positives_per_anchor": counts,
                         "negatives_per_anchor": B - counts,
                         "batch_all_triplets": counts * counts * (B - counts)})


def teaching_miners(seed: int) -> dict[str, TripletMiner]:
    """The three miners of ``paper_lib.methods.triplet``, by the names the chapter uses."""
    from paper_lib.methods.triplet import BatchAllMiner, BatchHardMiner, RandomMiner

    return {"batch-all": BatchAllMiner(), "batch-hard": BatchHardMiner(),
            "random": RandomMiner(seed)}


def formula_count(miner: str, labels: np.ndarray) -> int:
    """How many triplets ``miner`` must return for a batch with these labels."""
    if miner == "batch-all":
        return valid_triplet_count(labels)
    if miner in ("batch-hard", "random"):
        return anchors_with_negative(labels)
    raise ValueError(f"miner must be one of batch-all, batch-hard, random; got {miner!r}.")


def mined_counts(z_audio: np.ndarray, z_visual: np.ndarray, labels: np.ndarray, margin: float,
                 seed: int = 0) -> pd.DataFrame:
    """For one batch of embeddings: per miner, the triplets mined (and the formula's count), the
    active ones (hinge > 0) and the mean hinge over the mined triplets."""
    import torch

    from paper_lib.methods.triplet import triplet_hinge

    A = torch.as_tensor(np.asarray(z_audio, dtype=np.float64))
    V = torch.as_tensor(np.asarray(z_visual, dtype=np.float64))
    Y = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    rows = []
    for name, miner in teaching_miners(seed).items():
        trip = miner.mine(A, V, Y)
        values = triplet_hinge(A, V, trip, margin)
        n = int(values.numel())
        rows.append({"miner": name, "triplets": n, "formula": formula_count(name, labels),
                     "active": int((values > 0).sum()),
                     "active_fraction": float((values > 0).sum()) / max(n, 1),
                     "mean_hinge": float(values.mean()) if n else 0.0})
    return pd.DataFrame(rows)


def batch_rows(n_rows: int, batch_size: int, seed: int) -> np.ndarray:
    """Row indices of one minibatch: the first ``batch_size`` of a seeded permutation."""
    if not 1 <= int(batch_size) <= int(n_rows):
        raise ValueError(f"batch_size must be in 1..{n_rows}, got {batch_size}.")
    return np.sort(np.random.default_rng(seed).permutation(int(n_rows))[: int(batch_size)])


def untrained_branches(d_in_audio: int, d_in_visual: int, seed: int, hidden: int = 100,
                       n_hidden_layers: int = 3, out_dim: int = 10,
                       dropout: float = 0.1) -> tuple[nn.Module, nn.Module]:
    """Both branches as ``TNNCCCA(random_state=seed)`` initialises them before training (same
    builder, same seeded RNG, same order: audio first)."""
    from paper_lib.methods._torch_utils import seeded
    from paper_lib.methods.tnn import make_branch

    with seeded(int(seed)):
        branch_a = make_branch(d_in_audio, hidden, n_hidden_layers, out_dim, dropout)
        branch_v = make_branch(d_in_visual, hidden, n_hidden_layers, out_dim, dropout)
    return branch_a.eval(), branch_v.eval()


def branch_outputs(branch: nn.Module, H: np.ndarray) -> np.ndarray:
    """A branch's outputs (eval mode: no dropout) for inputs H (n, d_in)."""
    import torch

    branch.eval()
    with torch.no_grad():
        return branch(torch.as_tensor(H, dtype=torch.float32)).double().numpy()


def history_frame(history: Sequence[dict[str, float]]) -> pd.DataFrame:
    """``TNNCCCA.history_`` as a table, one row per epoch."""
    return pd.DataFrame(list(history))[["epoch", "loss", "mean_hinge", "active_fraction"]]


# -- what a hinge-less loss rewards: a 1-d projection toy -------------------------------------
def make_hinge_toy(n_per_class: int = 10, spread: float = 0.3,
                   seed: int = 0) -> ToyViews:
    """Three classes in 2-d: two close together (centres (0, ±1)) and one far away (6, 0); the
    audio and visual views are two noisy copies of the same centres (nuisance unused: zeros)."""
    # [choice] two classes 2 apart and one 6 away, noise 0.3: the far class dominates any loss
    # that is linear in squared distances, while the close pair decides retrieval
    centres = np.array([[0.0, 1.0], [0.0, -1.0], [6.0, 0.0]])
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), int(n_per_class))
    Xa = centres[y] + spread * rng.normal(size=(y.size, 2))
    Xv = centres[y] + spread * rng.normal(size=(y.size, 2))
    return ToyViews(Xa, Xv, y, np.zeros((y.size, 1)))


def projection_loss_landscape(toy: ToyViews, margin: float,
                              angles: np.ndarray | None = None) -> pd.DataFrame:
    """Project both views onto the unit direction u(φ) (a 1-d embedding of bounded scale) and,
    for every φ, average over all batch-all triplets: the hinge max(0, Δ + m), the hinge-less
    Δ + m, the fraction of violated triplets (Δ > 0), and the A→V MAP (negative Euclidean
    distance: in 1-d the cosine only sees the sign)."""
    import torch

    from paper_lib.methods.triplet import BatchAllMiner, squared_distances

    angles = np.arange(0.0, 180.0, 1.0) if angles is None else np.asarray(angles, dtype=float)
    Y = torch.as_tensor(toy.labels)
    rows = []
    for phi in angles:
        u = unit_vector(phi)
        za, zv = toy.audio @ u[:, None], toy.visual @ u[:, None]          # (N, 1) each
        A, V = torch.as_tensor(za), torch.as_tensor(zv)
        i, j, k = BatchAllMiner().mine(A, V, Y)
        D = squared_distances(A, V)
        delta = (D[i, j] - D[i, k]).numpy()                               # (T,)
        S = similarity(za, zv, "euclidean")
        rows.append({"angle": float(phi), "hinge": float(hinge(delta, margin).mean()),
                     "hingeless": float(hingeless(delta, margin).mean()),
                     "violated_fraction": float(np.mean(delta > 0)),
                     "map_a2v": mean_average_precision(S, toy.labels, toy.labels)})
    return pd.DataFrame(rows)


def landscape_optima(table: pd.DataFrame) -> pd.DataFrame:
    """The direction each loss prefers (its minimum over φ) and what it gives."""
    rows = []
    for loss in ("hinge", "hingeless"):
        best = table.loc[table[loss].idxmin()]
        rows.append({"loss": loss, "angle": float(best.angle), "loss_value": float(best[loss]),
                     "violated_fraction": float(best.violated_fraction),
                     "map_a2v": float(best.map_a2v)})
    return pd.DataFrame(rows)


def plot_triplet_geometry(margin: float) -> plt.Figure:
    """Anchor, positive, and negatives in the three zones the squared-distance hinge defines."""
    fig, ax = plt.subplots(figsize=(5.8, 5.2))
    a = np.array([0.0, 0.0])
    p = np.array([0.9, 0.35])
    d_ap2 = float(p @ p)
    r_in, r_out = np.sqrt(d_ap2), np.sqrt(d_ap2 + margin)
    ax.add_patch(plt.Circle(a, r_out, color="#ffdd99", alpha=0.6, zorder=0))
    ax.add_patch(plt.Circle(a, r_in, color="#ff9999", alpha=0.6, zorder=1))
    ax.add_patch(plt.Circle(a, r_out, fill=False, ls="--", color="0.3"))
    # one negative per zone, placed at a squared distance inside that zone
    r_semi, r_easy = np.sqrt(d_ap2 + margin / 2), 1.45 * r_out
    negatives = {"hard (Δ > 0)": (0.6 * r_in * unit_vector(220.0), "#d62728"),
                 "semi-hard (−m < Δ ≤ 0)": (r_semi * unit_vector(145.0), "#ff7f0e"),
                 "easy (Δ ≤ −m): loss 0": (r_easy * unit_vector(-50.0), "#2ca02c")}
    ax.scatter(*a, s=160, c="black", marker="*", zorder=5, label="anchor a (audio)")
    ax.scatter(*p, s=90, c="#1f77b4", zorder=5, label="positive p (visual, same class)")
    ax.plot([a[0], p[0]], [a[1], p[1]], color="#1f77b4", lw=1.5)
    for label, (n, colour) in negatives.items():
        ax.scatter(*n, s=90, c=colour, marker="s", zorder=5, label=f"negative: {label}")
        ax.plot([a[0], n[0]], [a[1], n[1]], color=colour, lw=1, ls=":")
    ax.annotate("‖a − p‖²", xy=p / 2, xytext=(0.25, 0.55), fontsize=9,
                arrowprops={"arrowstyle": "-", "color": "0.4"})
    ax.annotate("‖a − n‖² = ‖a − p‖² + m", xy=(0, -r_out), xytext=(-1.6, -1.9), fontsize=9,
                arrowprops={"arrowstyle": "->", "color": "0.3"})
    ax.set_xlim(-2, 2)
    ax.set_ylim(-2.1, 1.9)
    ax.set_aspect("equal")
    ax.set_title(f"Triplet geometry, margin m = {margin:g} (on squared distances)")
    ax.legend(fontsize=7.5, loc="upper left")
    ax.set_xlabel("embedding dimension 1")
    ax.set_ylabel("embedding dimension 2")
    fig.tight_layout()
    return fig


def plot_hinge(margins: Sequence[float], paper_margin: float = 0.5) -> plt.Figure:
    """The loss of one triplet as a function of Δ = ‖a − p‖² − ‖a − n‖²."""
    delta = np.linspace(-1.6, 1.0, 400)
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for m in margins:
        ax.plot(delta, hinge(delta, m), lw=2.5 if m == paper_margin else 1.3,
                label=f"hinge, m = {m:g}" + (" (paper)" if m == paper_margin else ""))
    ax.plot(delta, hingeless(delta, paper_margin), "k--", lw=1.3,
            label=f"no hinge: Δ + {paper_margin:g}")
    ax.axhline(0, color="0.6", lw=0.8)
    ax.axvline(0, color="0.6", lw=0.8)
    ax.set_xlabel("Δ = ‖a − p‖² − ‖a − n‖²  (negative = correctly ordered)")
    ax.set_ylabel("loss of the triplet")
    ax.set_title("The hinge stops at Δ = −m; without it the loss keeps rewarding")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_loss_landscape(toy: ToyViews, table: pd.DataFrame, optima: pd.DataFrame) -> plt.Figure:
    """Left: the toy and the two preferred directions; middle: both losses over φ; right: the
    1-d embeddings each loss prefers."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    colours = {"hinge": "#1f77b4", "hingeless": "#d62728"}
    for c in np.unique(toy.labels):
        rows = toy.labels == c
        axes[0].scatter(toy.audio[rows, 0], toy.audio[rows, 1], s=12, color=CLASS_COLOURS(c),
                        label=f"class {c}")
        axes[0].scatter(toy.visual[rows, 0], toy.visual[rows, 1], s=12, marker="x",
                        color=CLASS_COLOURS(c))
    centre = toy.audio.mean(axis=0)
    for _, row in optima.iterrows():
        _arrow(axes[0], centre, unit_vector(row.angle), 3.5, colours[row.loss],
               f"best φ, {row.loss}")
    axes[0].set_aspect("equal", adjustable="datalim")
    axes[0].set_title("toy (● audio, × visual)")
    axes[0].legend(fontsize=7)
    ax2 = axes[1].twinx()
    axes[1].plot(table.angle, table.hinge, color=colours["hinge"], label="hinge (left axis)")
    ax2.plot(table.angle, table.hingeless, color=colours["hingeless"], ls="--",
             label="no hinge (right axis)")
    axes[1].set_xlabel("direction φ (degrees)")
    axes[1].set_ylabel("mean hinge")
    ax2.set_ylabel("mean Δ + m")
    axes[1].set_title("loss of the 1-d projection")
    axes[1].legend(loc="upper left", fontsize=7)
    ax2.legend(loc="upper right", fontsize=7)
    for i, (_, row) in enumerate(optima.iterrows()):
        z = toy.audio @ unit_vector(row.angle)
        for c in np.unique(toy.labels):
            zc = z[toy.labels == c]
            axes[2].scatter(zc, np.full(zc.size, i) + 0.08 * (c - 1), s=12,
                            color=CLASS_COLOURS(c))
    axes[2].set_yticks(range(len(optima)),
                       labels=[f"{r.loss}\nviolated {r.violated_fraction:.0%}" for r in
                               optima.itertuples()], fontsize=8)
    axes[2].set_xlabel("1-d embedding u(φ)ᵀx (audio)")
    axes[2].set_title("the embedding each loss prefers")
    fig.tight_layout()
    return fig


def _box(ax: plt.Axes, xy: tuple[float, float], w: float, h: float, text: str, colour: str,
         dashed: bool = False) -> tuple[float, float, float, float]:
    ax.add_patch(FancyBboxPatch(xy, w, h, boxstyle="round,pad=0.02", fc=colour, ec="0.2",
                                lw=1.2, ls="--" if dashed else "-"))
    ax.text(xy[0] + w / 2, xy[1] + h / 2, text, ha="center", va="center", fontsize=8.5)
    return xy[0], xy[1], w, h


def _link(ax: plt.Axes, start: tuple[float, float], end: tuple[float, float],
          dashed: bool = False) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, lw=1.3,
                                 color="0.2", ls="--" if dashed else "-"))


def plot_pipeline_diagram(d_audio: int, d_visual: int, n_components: int = 10,
                          hidden: int = 100, n_hidden_layers: int = 3, out_dim: int = 10,
                          dropout: float = 0.1, margin: float = 0.5) -> plt.Figure:
    """Boxes and arrows: features → Cluster-CCA → two branches → cosine ranking (+ triplet loss)."""
    layers = "–".join(str(v) for v in [n_components] + [hidden] * n_hidden_layers + [out_dim])
    fig, ax = plt.subplots(figsize=(12, 4.6))
    ax.set_xlim(0, 12)
    ax.set_ylim(0, 5)
    ax.axis("off")
    fa = _box(ax, (0.1, 3.2), 2.0, 1.1, f"audio features\n{d_audio}-d per clip", "#cfe2f3")
    fv = _box(ax, (0.1, 0.7), 2.0, 1.1, f"visual features\n{d_visual}-d per clip", "#d9ead3")
    cc = _box(ax, (3.0, 1.5), 2.2, 2.0, f"Cluster-CCA\n(fitted on training\nfolds, d = "
              f"{n_components})\nW$_a$, W$_v$", "#fff2cc")
    ba = _box(ax, (6.1, 3.2), 2.6, 1.2, f"audio branch\n{layers}\ntanh, dropout {dropout:g}, "
              f"sigmoid", "#cfe2f3")
    bv = _box(ax, (6.1, 0.6), 2.6, 1.2, f"visual branch\n{layers}\ntanh, dropout {dropout:g}, "
              f"sigmoid", "#d9ead3")
    rk = _box(ax, (9.6, 1.65), 2.2, 1.7, "cosine similarity\nrank the whole\ntest fold\n"
              "(A→V and V→A)", "#ead1dc")
    tl = _box(ax, (6.45, 2.05), 1.9, 0.9, f"training only:\ntriplet loss, margin {margin:g}",
              "#f4cccc", dashed=True)
    _link(ax, (fa[0] + fa[2], fa[1] + fa[3] / 2), (cc[0], cc[1] + 1.6))
    _link(ax, (fv[0] + fv[2], fv[1] + fv[3] / 2), (cc[0], cc[1] + 0.4))
    _link(ax, (cc[0] + cc[2], cc[1] + 1.6), (ba[0], ba[1] + ba[3] / 2))
    _link(ax, (cc[0] + cc[2], cc[1] + 0.4), (bv[0], bv[1] + bv[3] / 2))
    _link(ax, (ba[0] + ba[2], ba[1] + ba[3] / 2), (rk[0], rk[1] + 1.3))
    _link(ax, (bv[0] + bv[2], bv[1] + bv[3] / 2), (rk[0], rk[1] + 0.4))
    _link(ax, (tl[0] + tl[2] / 2, ba[1]), (tl[0] + tl[2] / 2, tl[1] + tl[3]), dashed=True)
    _link(ax, (tl[0] + tl[2] / 2, bv[1] + bv[3]), (tl[0] + tl[2] / 2, tl[1]), dashed=True)
    ax.text(6.0, 4.75, "each view is embedded from itself only", fontsize=8, style="italic",
            ha="center")
    ax.set_title("TNN-C-CCA: the pipeline")
    return fig


def plot_training_history(history: pd.DataFrame, dataset: str) -> plt.Figure:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.3))
    axes[0].plot(history.epoch, history.mean_hinge, "o-")
    axes[0].set_ylabel("mean hinge over mined triplets")
    axes[1].plot(history.epoch, history.active_fraction, "o-", color="#d62728")
    axes[1].set_ylabel("fraction of active triplets")
    axes[1].set_ylim(0, 1.02)
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.set_xticks(history.epoch)
    fig.suptitle(f"TNN-C-CCA training on {dataset} (first fold's training rows, batch-all)")
    fig.tight_layout()
    return fig


# =============================================================================================
# chapter 23: the evaluation protocol (teach_protocol)
# =============================================================================================
#: the hand-made ranking of 10 gallery items: 1 = same class as the query (R = 5)
HAND_RELEVANCE: tuple[int, ...] = (1, 0, 1, 1, 0, 0, 1, 0, 0, 1)


def hand_toy(rel: Sequence[int] = HAND_RELEVANCE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One query (class 1) and a gallery ranked exactly in the given order: (S (1, n),
    q_labels (1,), g_labels (n,)); relevant items have class 1, the others class 0."""
    rel_arr = np.asarray(rel, dtype=np.int64)
    if rel_arr.ndim != 1 or rel_arr.size == 0 or not np.isin(rel_arr, (0, 1)).all():
        raise ValueError(f"rel must be a non-empty sequence of 0/1, got {rel!r}.")
    S = -np.arange(rel_arr.size, dtype=np.float64)[None, :]   # strictly decreasing scores
    return S, np.array([1]), rel_arr


def ap_steps(rel: Sequence[int] = HAND_RELEVANCE) -> pd.DataFrame:
    """AP step by step: rank k, rel_k, hits in the top k, P@k = hits/k and P@k·rel_k."""
    r = np.asarray(rel, dtype=np.int64)
    k = np.arange(1, r.size + 1)
    hits = np.cumsum(r)
    return pd.DataFrame({"rank_k": k, "rel_k": r, "hits_at_k": hits, "precision_at_k": hits / k,
                         "precision_x_rel": hits / k * r})


def hand_ap(rel: Sequence[int] = HAND_RELEVANCE) -> Fraction:
    """AP = (1/R) Σ_k P@k·rel_k as an exact fraction (R = number of relevant items)."""
    r = [int(v) for v in rel]
    R = sum(r)
    if R == 0:
        raise ValueError("rel has no relevant item: AP is undefined.")
    hits, total = 0, Fraction(0)
    for k, v in enumerate(r, start=1):
        hits += v
        total += Fraction(hits, k) * v
    return total / R


def truncated_map_pitfall(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray,
                          k: int) -> float:
    """THE PITFALL - do not report this. "MAP@k" with the hits-in-top-k denominator:

        AP@k_trunc = (1 / hits_k) Σ_{j ≤ k} P@j · rel_j      (0 when hits_k = 0)

    Relevant items beyond rank k simply vanish from the denominator, so a ranking that puts a
    few relevant items first scores high however many it misses. Public cross-modal retrieval
    code often computes this; the paper's protocol (and :mod:`paper_lib.metrics`) divides by R,
    the number of relevant items in the whole gallery, over the full ranking. Kept here only to
    measure the inflation; it uses the library's ranking (``relevance``) so ties match.
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}.")
    rel = relevance(S, q_labels, g_labels)[:, : int(k)]               # (n_q, k) ranked order
    hits = np.cumsum(rel, axis=1)                                     # hits in the top j
    summed = np.where(rel, hits / np.arange(1, rel.shape[1] + 1), 0.0).sum(axis=1)
    found = hits[:, -1]
    # [choice] a query with no hit in the top k scores 0 (what public implementations do)
    per_query = np.divide(summed, found, out=np.zeros_like(summed), where=found > 0)
    return float(per_query.mean())


def truncation_table(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray,
                     ks: Sequence[int]) -> pd.DataFrame:
    """For each k: the protocol's MAP (full ranking, independent of k) beside the pitfall."""
    full = mean_average_precision(S, q_labels, g_labels)
    return pd.DataFrame([{"k": int(k), "map_full_ranking": full,
                          "truncated_map_pitfall": truncated_map_pitfall(S, q_labels, g_labels,
                                                                         int(k))}
                         for k in ks])


def tie_demo() -> pd.DataFrame:
    """Six gallery items with identical scores (2 relevant): the stable rule ranks them in
    gallery order, so the AP depends on that order; any fixed rule makes it reproducible."""
    S = np.zeros((1, 6))
    rows = []
    for name, g in (("relevant items listed first", [1, 1, 0, 0, 0, 0]),
                    ("relevant items listed last", [0, 0, 0, 0, 1, 1])):
        g_arr = np.array(g)
        rows.append({"gallery_order": name, "gallery_labels": " ".join(map(str, g)),
                     "ap": float(average_precision(S, np.array([1]), g_arr)[0])})
    return pd.DataFrame(rows)


def tied_query_fraction(S: np.ndarray) -> float:
    """Fraction of queries whose score row holds at least one exactly repeated value."""
    S_sorted = np.sort(S, axis=1)
    return float(np.mean((np.diff(S_sorted, axis=1) == 0).any(axis=1)))


def map_without_partner(S: np.ndarray, labels: np.ndarray) -> float:
    """MAP when each query's own partner (gallery item i for query i) is removed from its
    gallery: the protocol keeps it (it is relevant); this shows how much it contributes."""
    n = S.shape[0]
    if S.shape != (n, n) or labels.shape != (n,):
        raise ValueError(f"S must be square (paired test fold) with one label per row, got "
                         f"{S.shape} and {labels.shape}.")
    aps = []
    for i in range(n):
        keep = np.arange(n) != i
        ap = average_precision(S[i : i + 1, keep], labels[i : i + 1], labels[keep])[0]
        if not np.isnan(ap):
            aps.append(ap)
    return float(np.mean(aps))


def mean_prevalence(q_labels: np.ndarray, g_labels: np.ndarray) -> float:
    """mean_i R_i / n_g: where every query-averaged PR curve ends (precision at recall 1)."""
    counts = np.bincount(g_labels, minlength=int(max(q_labels.max(), g_labels.max())) + 1)
    return float(np.mean(counts[q_labels] / g_labels.size))


def fold_rounds(n_folds: int) -> pd.DataFrame:
    """The k-fold protocol as a table: in round r, fold r is the test fold, the rest train."""
    if int(n_folds) < 2:
        raise ValueError(f"n_folds must be >= 2, got {n_folds}.")
    return pd.DataFrame([{"round": r, "fold": f, "role": "test" if f == r else "train"}
                         for r in range(int(n_folds)) for f in range(int(n_folds))])


def plot_ap_steps(steps: pd.DataFrame, ap: float) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(7.5, 3.3))
    colours = np.where(steps.rel_k == 1, "#2ca02c", "#bbbbbb")
    ax.bar(steps.rank_k, steps.precision_at_k, color=colours)
    for k, p, r in zip(steps.rank_k, steps.precision_at_k, steps.rel_k, strict=True):
        ax.text(k, p + 0.02, f"{p:.2f}" if r else "", ha="center", fontsize=8,
                bbox={"fc": "white", "ec": "none", "pad": 0.5})
    ax.axhline(ap, color="black", ls="--", lw=1, label=f"AP = {ap:.4f}")
    ax.set_xticks(steps.rank_k)
    ax.set_xlabel("rank k (green = relevant)")
    ax.set_ylabel("P@k")
    ax.set_ylim(0, 1.12)
    ax.set_title("AP averages P@k over the ranks of the relevant items")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_truncation(tables: dict[str, pd.DataFrame]) -> plt.Figure:
    fig, axes = plt.subplots(1, len(tables), figsize=(5 * len(tables), 3.4), squeeze=False)
    for ax, (name, t) in zip(axes[0], tables.items(), strict=True):
        ax.plot(t.k, t.truncated_map_pitfall, "o-", color="#d62728",
                label="pitfall: MAP@k, hits-in-top-k denominator")
        ax.plot(t.k, t.map_full_ranking, "k--", label="MAP, full ranking (protocol)")
        ax.set_xscale("log")
        ax.set_xlabel("cut-off k")
        ax.set_ylabel("score")
        ax.set_ylim(0, 1.05)
        ax.set_title(name, fontsize=10)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_pr_curves(curves: dict[str, tuple[np.ndarray, np.ndarray]],
                   prevalence: float) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, (precision, recall) in curves.items():
        ax.plot(recall, precision, label=name)
    ax.axhline(prevalence, color="0.5", ls=":", label=f"class prevalence {prevalence:.3f}")
    ax.set_xlabel("recall@k (mean over queries)")
    ax.set_ylabel("precision@k (mean over queries)")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.02)
    ax.set_title("PR curves: both averaged at the same cut-off k")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_fold_diagram(n_folds: int) -> plt.Figure:
    table = fold_rounds(n_folds)
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * n_folds + 1.2))
    for r in table.itertuples():
        test = r.role == "test"
        ax.add_patch(Rectangle((r.fold, n_folds - 1 - r.round), 0.95, 0.85,
                               fc="#d62728" if test else "#9fc5e8", ec="white"))
        ax.text(r.fold + 0.47, n_folds - 1 - r.round + 0.42, "test" if test else "train",
                ha="center", va="center", fontsize=8, color="white" if test else "black")
    ax.set_xlim(0, n_folds)
    ax.set_ylim(0, n_folds)
    ax.set_xticks(np.arange(n_folds) + 0.47, labels=[f"fold {f}" for f in range(n_folds)])
    ax.set_yticks(np.arange(n_folds) + 0.42,
                  labels=[f"round {r}" for r in reversed(range(n_folds))])
    ax.set_title("Every fitted object (scalers, C-CCA, networks, model selection) sees the blue "
                 "folds only", fontsize=9)
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    return fig


# -- where the pitfalls of public implementations are guarded --------------------------------
@dataclass(frozen=True)
class Pitfall:
    """One pitfall (paper.md, "Pitfalls"), the code that guards against it and its tests."""

    pitfall: str
    guard: str                  # what the library does
    where: tuple[str, ...]      # "module:attribute" that implement the guard
    tests: tuple[str, ...]      # "tests/file.py::test_name"


PITFALLS: tuple[Pitfall, ...] = (
    Pitfall("Truncated MAP (MAP@k with a hits-in-top-k denominator)",
            "AP divides by R, the relevant items of the whole gallery, over the full ranking",
            ("paper_lib.metrics.retrieval:average_precision",),
            ("tests/test_metrics.py::test_map_is_not_truncated",
             "tests/test_report_teaching.py::test_truncated_pitfall_inflates_the_hand_toy")),
    Pitfall("Model selection or early stopping on the test fold",
            "fixed epochs by default; with validation_fraction > 0 the validation split is "
            "carved out of the training rows only",
            ("paper_lib.methods._torch_utils:stratified_holdout",
             "paper_lib.methods.tnn:TNNCCCA"),
            ("tests/test_tnn.py::test_validation_split_comes_from_training_rows_only",)),
    Pitfall("C-CCA or scalers fitted on data that includes the test fold",
            "the runner passes only split.train to fit; every mean, scaler and Cluster-CCA is "
            "fitted inside fit",
            ("paper_lib.experiment:evaluate_split",),
            ("tests/test_experiment.py::"
             "test_no_test_fold_row_reaches_fit_and_views_are_embedded_separately",
             "tests/test_cca.py::test_transform_uses_training_means_and_each_view_alone")),
    Pitfall("Weights carried from one fold to the next",
            "a fresh estimator is built from the registry for every split and seed",
            ("paper_lib.methods.registry:get_method", "paper_lib.experiment:evaluate_split"),
            ("tests/test_experiment.py::test_fresh_estimator_every_fold",)),
    Pitfall("Test embeddings computed from the partner modality",
            "transform embeds each view from itself; the runner calls it once per view",
            ("paper_lib.methods.base:CrossModalEstimator", "paper_lib.experiment:evaluate_split"),
            ("tests/test_experiment.py::"
             "test_no_test_fold_row_reaches_fit_and_views_are_embedded_separately",
             "tests/test_tnn.py::test_transform_is_per_view",
             "tests/test_kcca.py::test_transform_depends_on_each_view_only_and_not_on_the_batch")),
    Pitfall("Dropping the last partial test batch",
            "inference keeps the last partial chunk; the whole test fold is embedded and ranked",
            ("paper_lib.methods._torch_utils:predict", "paper_lib.experiment:evaluate_split"),
            ("tests/test_experiment.py::"
             "test_metrics_come_from_the_metrics_module_on_the_whole_test_fold",)),
    Pitfall("Fold files read in directory order",
            "fold files are read in sorted file-name order; the fold id is the file's index",
            ("paper_lib.data.formats.clip_arrays:read_clip_arrays",),
            ("tests/test_data_formats.py::test_fold_files_read_in_sorted_order",)),
    Pitfall("Hard-coded class count",
            "the class count comes from the labels (np.unique) and the data file, never a "
            "constant",
            ("paper_lib.methods.cluster_cca:ClusterCCA", "paper_lib.data.dataset:PairedDataset"),
            ("tests/test_data_formats.py::test_vegas_h5_one_hot_float_labels_and_generic_names",
             "tests/test_cluster_cca.py::"
             "test_cluster_cca_beats_cca_when_views_share_only_class_structure")),
    Pitfall("An explicit all-pairs matrix for the cluster cross-covariance",
            "Σ_xy from class sums: O(N·d²) time, O(d²) memory, never the Σ n_c² pairs",
            ("paper_lib.methods.cluster_cca:within_class_cross_covariance",),
            ("tests/test_cluster_cca.py::test_large_fit_never_builds_the_pairs",)),
)


def pitfall_table(pitfalls: Sequence[Pitfall] = PITFALLS) -> pd.DataFrame:
    return pd.DataFrame([{"pitfall": p.pitfall, "guard": p.guard,
                          "where": ", ".join(f"`{w}`" for w in p.where),
                          "tests": ", ".join(f"`{t}`" for t in p.tests)} for p in pitfalls])


def missing_references(root: Path, pitfalls: Sequence[Pitfall] = PITFALLS) -> list[str]:
    """Every guard location that does not import and every named test that does not exist
    (parsed with ``ast``, not imported); an empty list means the table is accurate."""
    missing = []
    for p in pitfalls:
        for where in p.where:
            module, _, attr = where.partition(":")
            try:
                getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError):
                missing.append(where)
        for test in p.tests:
            path, _, name = test.partition("::")
            file = root / path
            names = ({n.name for n in ast.walk(ast.parse(file.read_text()))
                      if isinstance(n, ast.FunctionDef)} if file.is_file() else set())
            if name not in names:
                missing.append(test)
    return missing
