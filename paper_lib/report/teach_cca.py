"""Chapter 20 (notebook ``20_teach_cca_2d``): CCA from first principles.

A two-dimensional toy with a known answer (:class:`LatentToy`: two views of one latent
variable), the CCA / PCA / random directions and their projection correlations, the
correlation landscape over all direction pairs, whitening, the uncorrelated canonical variates,
the ridge path, and train-versus-test canonical correlations on the build's dataset. Every
canonical correlation comes from ``paper_lib.methods.cca``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from paper_lib.methods._linalg import center, inv_sqrt_spd
from paper_lib.methods.cca import CCA
from paper_lib.report._teaching_common import (
    MAX_FIG_WIDTH,
    draw_direction,
    embed_per_view,
    unit_vector,
)


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


def rotation(degrees: float) -> np.ndarray:
    """2-d rotation matrix by ``degrees`` (counter-clockwise)."""
    t = np.radians(degrees)
    return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])


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
    """``|corr|`` of the 1-d projections for the CCA pair, the PCA pair and random pairs.

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
    """``|corr(u(θ_x)ᵀx, u(θ_y)ᵀy)|`` for every pair of directions on a grid of angles in [0, 180).

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
    """Largest ``|correlation|`` the canonical variates must not have: within a view between
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
            corr = per_component_correlation(*embed_per_view(m, A, V))
            rows += [{"ridge": name, "reg": float(reg), "component": k + 1, "part": part,
                      "correlation": float(c)} for k, c in enumerate(corr)]
    return pd.DataFrame(rows)


def first_component_correlation(table: pd.DataFrame, ridge: str, part: str) -> float:
    """The correlation of the first pair of canonical variates in
    :func:`train_test_canonical_correlations` for one ridge name and part ("train" / "test")."""
    sel = (table.ridge == ridge) & (table.part == part) & (table.component == 1)
    if not sel.any():
        raise KeyError(f"no first component for ridge {ridge!r}, part {part!r}")
    return float(table[sel].correlation.iloc[0])


def mean_train_test_gap(table: pd.DataFrame, ridge: str) -> float:
    """Train minus test correlation of the canonical variates, averaged over the components."""
    sub = table[table.ridge == ridge].pivot(index="component", columns="part",
                                            values="correlation")
    return float((sub["train"] - sub["test"]).mean())


# -- the tables as the chapter shows them ------------------------------------------------------
_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _variate_name(name: str) -> str:
    """``x1`` → ``x₁`` (the k-th canonical variate of view x)."""
    return name[0] + name[1:].translate(_SUBSCRIPTS)


#: the angle columns of :func:`directions_view` (MyST renders the math in a table header)
ANGLE_X, ANGLE_Y = "angle of $w_x$ (°)", "angle of $w_y$ (°)"
#: decimals of :func:`directions_view`'s columns (``run.table(..., digits=DIRECTIONS_DIGITS)``)
DIRECTIONS_DIGITS: dict[str, int] = {ANGLE_X: 1, ANGLE_Y: 1, "|corr| of the projections": 3}


def directions_view(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`compare_directions` for reading: which pair, its two angles and ``|corr|``."""
    return pd.DataFrame({
        "directions": table["label"].to_numpy(),
        ANGLE_X: table["angle_x"].to_numpy(),
        ANGLE_Y: table["angle_y"].to_numpy(),
        "|corr| of the projections": table["abs_correlation"].to_numpy()})


def variate_view(R: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """:func:`variate_correlations` for reading: the variate names as the first column and the
    correlations rounded to ``digits`` with the sign of round-off zeros dropped (no "-0.0000")."""
    values = np.round(R.to_numpy(dtype=np.float64), digits) + 0.0     # -0.0 + 0.0 is 0.0
    names = [_variate_name(str(n)) for n in R.columns]
    view = pd.DataFrame(values, columns=names)
    view.insert(0, "variate", [_variate_name(str(n)) for n in R.index])
    return view


#: how the chapter names its ridges in a table header
RIDGE_LABELS: dict[str, str] = {"authors": "authors' ridge", "strong": "strong ridge"}


def train_test_view(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`train_test_canonical_correlations` for reading: one row per component, the
    training and test correlation for each ridge side by side."""
    view = pd.DataFrame({"component": sorted(table.component.unique())})
    for ridge in dict.fromkeys(table.ridge):
        label = RIDGE_LABELS.get(ridge, f"ridge {ridge}")
        for part in ("train", "test"):
            sub = table[(table.ridge == ridge) & (table.part == part)].set_index("component")
            view[f"{part}, {label}"] = sub.correlation.reindex(view.component).to_numpy()
    return view


# -- the figures (at most MAX_FIG_WIDTH inches wide, text of 10 pt or more) ---------------------
def plot_views_with_directions(X: np.ndarray, Y: np.ndarray, z: np.ndarray, cca: CCA,
                               table: pd.DataFrame) -> plt.Figure:
    """Both 2-d views (coloured by the shared latent z) with the CCA, PCA and random directions."""
    fig, axes = plt.subplots(1, 2, figsize=(MAX_FIG_WIDTH, 4.6), layout="constrained")
    for ax, V, view, col in ((axes[0], X, "x", 0), (axes[1], Y, "y", 1)):
        sc = ax.scatter(V[:, 0], V[:, 1], c=z, cmap="coolwarm", s=8, alpha=0.7, rasterized=True)
        m = V.mean(axis=0)
        length = 2.2 * V.std(axis=0).max()
        weights = cca.weights_audio_ if col == 0 else cca.weights_visual_
        draw_direction(ax, m, weights[:, 0], length, "black", "CCA direction", lw=3)
        angle = table.loc[table.kind == "PCA", f"angle_{view}"].iloc[0]
        draw_direction(ax, m, unit_vector(angle), length, "#2ca02c", "PCA direction")
        for i, (_, row) in enumerate(table[table.kind == "random"].iterrows()):
            draw_direction(ax, m, unit_vector(row[f"angle_{view}"]), length * 0.8, "0.55",
                           "random directions" if i == 0 else None, lw=1.2)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel(f"{view}$_1$")
        ax.set_ylabel(f"{view}$_2$")
        ax.set_title(f"view {view}: {V.shape[0]} points")
    fig.colorbar(sc, ax=axes, fraction=0.04, label="shared latent z")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=3)
    return fig


def plot_projection_pairs(X: np.ndarray, Y: np.ndarray, z: np.ndarray, cca: CCA,
                          table: pd.DataFrame) -> plt.Figure:
    """Scatter of the 1-d projections (w_xᵀx against w_yᵀy) for each row of ``table``, three
    panels a row; the colour bar of the latent z fills the row's last free place."""
    n = len(table)
    n_cols = min(3, n)
    n_rows = -(-(n + 1) // n_cols)                         # one free place for the colour bar
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(MAX_FIG_WIDTH, 2.9 * n_rows),
                             layout="constrained", squeeze=False)
    flat = axes.ravel()
    for i, (ax, (_, row)) in enumerate(zip(flat, table.iterrows(), strict=False)):
        if row.kind == "CCA":
            w_x, w_y = cca.weights_audio_[:, 0], cca.weights_visual_[:, 0]
        else:
            w_x, w_y = unit_vector(row.angle_x), unit_vector(row.angle_y)
        p_x, p_y = center(X @ w_x[:, None])[0][:, 0], center(Y @ w_y[:, None])[0][:, 0]
        sc = ax.scatter(p_x / p_x.std(), p_y / p_y.std(), c=z, cmap="coolwarm", s=5, alpha=0.6,
                        rasterized=True)
        ax.set_title(f"{row.label}: |ρ| = {row.abs_correlation:.3f}", fontsize=11)
        if i % n_cols == 0:
            ax.set_ylabel("w$_y^T$y (standardised)")
        if i + n_cols >= n:                                # nothing drawn below this panel
            ax.set_xlabel("w$_x^T$x (standardised)")
        ax.set_aspect("equal", adjustable="datalim")
    for ax in flat[n:]:
        ax.axis("off")
    cax = flat[n].inset_axes((0.1, 0.08, 0.09, 0.84))      # the first free place
    fig.colorbar(sc, cax=cax, label="shared latent z")
    return fig


def plot_landscape(angles: np.ndarray, R: np.ndarray, table: pd.DataFrame) -> plt.Figure:
    """Heat map of ``|corr|`` over all direction pairs with the CCA, PCA and random pairs marked
    (legend below the map, so no marker is hidden)."""
    fig, ax = plt.subplots(figsize=(6.4, 5.6), layout="constrained")
    step = angles[1] - angles[0]
    im = ax.imshow(R.T, origin="lower", cmap="viridis", vmin=0, vmax=1,
                   extent=(0, angles[-1] + step, 0, angles[-1] + step))
    styles = {"CCA": ("*", "white", 260), "PCA": ("o", "#2ca02c", 90), "random": ("x", "0.8", 70)}
    for kind, (marker, colour, size) in styles.items():
        sub = table[table.kind == kind]
        ax.scatter(sub.angle_x, sub.angle_y, marker=marker, c=colour, s=size,
                   label=f"{kind} pair" + ("s" if kind == "random" else ""),
                   edgecolors="black" if kind != "random" else None)
    ax.set_xlabel("angle of w$_x$ (degrees)")
    ax.set_ylabel("angle of w$_y$ (degrees)")
    fig.colorbar(im, ax=ax, label="|correlation| of the projections")
    legend = fig.legend(loc="outside lower center", ncol=3)
    legend.get_frame().set_facecolor("0.85")               # the random crosses are light grey
    return fig


def plot_whitened(X: np.ndarray, Y: np.ndarray, z: np.ndarray) -> plt.Figure:
    """Both views after whitening, with the singular directions of T = Σ_xx^{-1/2}Σ_xyΣ_yy^{-1/2}."""
    X_w, Y_w = whiten(X), whiten(Y)
    T = X_w.T @ Y_w / X.shape[0]                 # the whitened cross-covariance
    U, S, Vt = np.linalg.svd(T)
    fig, axes = plt.subplots(1, 2, figsize=(MAX_FIG_WIDTH, 4.4), layout="constrained")
    for ax, V, vec, view in ((axes[0], X_w, U[:, 0], "x"), (axes[1], Y_w, Vt[0], "y")):
        ax.scatter(V[:, 0], V[:, 1], c=z, cmap="coolwarm", s=6, alpha=0.6, rasterized=True)
        draw_direction(ax, np.zeros(2), vec, 3.0, "black",
                       f"top singular vectors of T (largest singular value {S[0]:.3f})", lw=3)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel(f"whitened {view}$_1$")
        ax.set_ylabel(f"whitened {view}$_2$")
        ax.set_title(f"view {view}, whitened")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center")
    return fig


#: what the ridge figure shows (tests/test_report_teach_cca.py checks the direction claim)
RIDGE_TITLE = ("Ridge: shrinks the reported correlation;\n"
               "the directions move towards the cross-covariance (PLS) ones")


def plot_ridge_path(path: pd.DataFrame, rho_unregularised: float) -> plt.Figure:
    """The first canonical correlation against the ridge ``reg``: the SVD value and the sample
    correlation reached, beside the unregularised value (legend below the axes)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
    ax.semilogx(path.reg, path.rho_svd, "o-", label="SVD value (shrunk by the ridge)")
    ax.semilogx(path.reg, path.sample_correlation, "s--", label="sample correlation reached")
    ax.axhline(rho_unregularised, color="0.4", lw=1, ls=":", label="reg = 0")
    ax.set_xlabel("ridge reg (added to Σ$_{xx}$ and Σ$_{yy}$)")
    ax.set_ylabel("first canonical correlation")
    # for a large ridge r, T_r ≈ Σ_xy / r: the directions tend to those of the cross-covariance
    # alone (PLS), not to PCA's
    ax.set_title(RIDGE_TITLE)
    fig.legend(loc="outside lower center", ncol=2)
    return fig


def plot_train_test_correlations(table: pd.DataFrame, dataset: str) -> plt.Figure:
    """Correlation of each pair of canonical variates on the training and the test rows, one
    panel per ridge (legend below the panels)."""
    ridges = list(dict.fromkeys(table.ridge))
    bottom = min(-0.05, float(table.correlation.min()) - 0.05)   # a test value may be < 0
    fig, axes = plt.subplots(1, len(ridges), figsize=(MAX_FIG_WIDTH, 3.9), sharey=True,
                             layout="constrained", squeeze=False)
    for ax, name in zip(axes[0], ridges, strict=True):
        sub = table[table.ridge == name]
        for part, marker in (("train", "o-"), ("test", "s--")):
            s = sub[sub.part == part]
            ax.plot(s.component, s.correlation, marker, label=f"{part} rows")
        ax.set_xlabel("canonical component k")
        ax.set_title(f"{RIDGE_LABELS.get(name, f'ridge {name}')} (reg = {sub.reg.iloc[0]:.3g})",
                     fontsize=11)
        ax.set_ylim(bottom, 1.05)
    axes[0, 0].set_ylabel("corr of the k-th variates")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncol=2)
    fig.suptitle(f"{dataset}: CCA fitted on the training rows of one fold", fontsize=12)
    return fig
