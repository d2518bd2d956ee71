"""Chapter 20 (notebook ``20_teach_cca_2d``): CCA from a two-dimensional picture.

A two-dimensional toy with a known answer (:class:`LatentToy`: two views of one latent
variable), the CCA / PCA / random directions and their projection correlations, the
correlation landscape over all direction pairs, whitening, the uncorrelated canonical variates,
the ridge path, and train-versus-test canonical correlations on the build's dataset. Every
canonical correlation comes from ``paper_lib.methods.cca``.

The chapter's knobs (``cca2d_*``, :class:`~paper_lib.experiment.knobs.Knob`) set the toy's size,
the angles and strength of its nuisance noise and the ridges shown; the ``exercise_*``
functions compute the numeric answers of the chapter's exercises (each checked against an
independent computation in ``tests/test_teach_cca_exercises.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from paper_lib.errors import ParamError
from paper_lib.experiment.knobs import Knob, as_list, integer, number
from paper_lib.methods._linalg import center, inv_sqrt_spd
from paper_lib.methods.cca import CCA, cca_from_covariances
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


#: the toy's loadings: the shared signal lies along e₁ in view x and along e₂ in view y
TOY_LOADING: float = 1.2
#: standard deviations of each view's noise along its loud (nuisance) and its quiet axis
TOY_NOISE_STD_X: tuple[float, float] = (2.5, 0.4)
TOY_NOISE_STD_Y: tuple[float, float] = (2.2, 0.4)


def _positive_list(name: str, value: object) -> list[float]:
    """A non-empty list of numbers > 0 (the ridges of a log-scale axis), sorted.

    ``-p cca2d_ridges=0.1,1`` reaches the notebook as the text of a tuple, ``"(0.1, 1)"``
    (the command line reads the value as a Python literal, papermill writes a tuple as its
    text), so brackets around a comma list are accepted."""
    if isinstance(value, str):
        value = value.strip().strip("()[]")
    items = as_list(name, value)
    if not items or any(isinstance(v, bool) or not isinstance(v, int | float) or not v > 0
                        for v in items):
        raise ParamError(f"{name}: expected a non-empty list of numbers > 0, got {value!r}")
    return sorted(float(v) for v in items)


# -- the chapter's knobs (``-p NAME=VALUE``; the quick profile uses the same values) ------------
#: [choice] 500 pairs: enough for a clean picture, few enough to see single points
CCA2D_N_POINTS = Knob("cca2d_n_points", 500, check=integer(minimum=3))
#: angle (degrees) of the loud noise axis of view x; the shared signal lies at 0°
CCA2D_NOISE_ANGLE_X = Knob("cca2d_noise_angle_x", 50.0, check=number(-90, 90))
#: angle (degrees) of the loud noise axis of view y; the shared signal lies at 90°
CCA2D_NOISE_ANGLE_Y = Knob("cca2d_noise_angle_y", -30.0, check=number(-90, 90))
#: the nuisance strength: a factor on the standard deviation of both loud noise axes
#: (1: 2.5 in x and 2.2 in y; the quiet axes keep 0.4, so every Ψ stays invertible)
CCA2D_NUISANCE = Knob("cca2d_nuisance", 1.0, check=number(0.1, 10))
#: the ridge r of the chapter's ten lines of numpy (and of their library cross-check)
CCA2D_RIDGE = Knob("cca2d_ridge", 0.0, check=number(0, 1e6))
#: the ridges r > 0 of the ridge-path figure (log axis)
CCA2D_RIDGES = Knob("cca2d_ridges", [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0], check=_positive_list)


#: the chapter's knobs, in the order the chapter uses them, and what each one changes
KNOBS: tuple[tuple[Knob, str], ...] = (
    (CCA2D_N_POINTS, "pairs drawn from the toy"),
    (CCA2D_NOISE_ANGLE_X, "angle (°) of the loud noise axis of view x (signal at 0°)"),
    (CCA2D_NOISE_ANGLE_Y, "angle (°) of the loud noise axis of view y (signal at 90°)"),
    (CCA2D_NUISANCE, "nuisance strength: factor on the loud noise's standard deviation"),
    (CCA2D_RIDGE, "ridge r of the ten lines of numpy"),
    (CCA2D_RIDGES, "ridges r of the ridge-path figure"),
)


def _knob_text(value: object) -> str:
    """A knob value as the command line takes it (``0.0001,0.01`` for a list)."""
    if isinstance(value, list | tuple):
        return ",".join(_knob_text(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def knob_table(used: dict[str, object]) -> pd.DataFrame:
    """The chapter's knobs for reading: name (as ``-p NAME=VALUE`` takes it), what it changes,
    its default and the value this run used (``used`` maps knob names to resolved values)."""
    return pd.DataFrame({
        "knob": [f"`{knob.name}`" for knob, _ in KNOBS],
        "what it changes": [meaning for _, meaning in KNOBS],
        "default": [_knob_text(knob.default) for knob, _ in KNOBS],
        "this run": [_knob_text(used.get(knob.name, knob.default)) for knob, _ in KNOBS]})


def latent_toy(noise_angle_x: float = 50.0, noise_angle_y: float = -30.0,
               nuisance: float = 1.0) -> LatentToy:
    """The chapter's toy: signal along e₁ in x and e₂ in y (loading
    :data:`~paper_lib.report.teach_cca.TOY_LOADING`), each view's noise loud along a tilted axis
    (``noise_angle_x``/``_y`` degrees, standard deviation ``nuisance`` × ``TOY_NOISE_STD_X[0]`` /
    ``TOY_NOISE_STD_Y[0]``) and quiet (0.4) across it."""
    if not nuisance > 0:
        raise ValueError(f"nuisance must be > 0, got {nuisance}")

    def noise(angle: float, stds: tuple[float, float]) -> np.ndarray:
        R = rotation(angle)
        return R @ np.diag([(nuisance * stds[0]) ** 2, stds[1] ** 2]) @ R.T

    return LatentToy(np.array([TOY_LOADING, 0.0]), np.array([0.0, TOY_LOADING]),
                     noise(noise_angle_x, TOY_NOISE_STD_X), noise(noise_angle_y, TOY_NOISE_STD_Y))


def default_latent_toy() -> LatentToy:
    """The chapter's toy with its default knobs: signal along e₁ in x and e₂ in y, strong
    noise along other axes.

    [choice] loadings 1.2 and noise standard deviations 2.5 / 0.4 (x, long axis at 50°) and
    2.2 / 0.4 (y, long axis at −30°): the largest-variance (PCA) axis of each view is mostly
    noise, so PCA and CCA directions differ clearly; the canonical correlation is ≈ 0.86.
    """
    return latent_toy(CCA2D_NOISE_ANGLE_X.default, CCA2D_NOISE_ANGLE_Y.default,
                      CCA2D_NUISANCE.default)


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
    """First canonical correlation of ``CCA(reg=r)`` (the SVD value s₁(T_r), shrunk by the
    ridge) and the sample correlation its directions actually reach, for every ridge ``r``
    (columns reg (= r), rho_svd, sample_correlation)."""
    rows = []
    for r in regs:
        m = CCA(n_components=1, reg=float(r)).fit(X, Y)
        rows.append({"reg": float(r), "rho_svd": float(m.correlations_[0]),
                     "sample_correlation": projection_correlation(
                         X, Y, m.weights_audio_[:, 0], m.weights_visual_[:, 0])})
    return pd.DataFrame(rows)


def per_component_correlation(Z_a: np.ndarray, Z_v: np.ndarray) -> np.ndarray:
    """corr(Z_a[:, j], Z_v[:, j]) for every component j, (k,)."""
    return np.array([_pearson(Z_a[:, j], Z_v[:, j]) for j in range(Z_a.shape[1])])


def train_test_canonical_correlations(Xa_tr: np.ndarray, Xv_tr: np.ndarray, Xa_te: np.ndarray,
                                      Xv_te: np.ndarray, n_components: int,
                                      regs: dict[str, float]) -> pd.DataFrame:
    """Fit CCA on training rows for each named ridge r; per-component correlation of the
    variates on the training rows and on the held-out rows (columns ridge, reg (= r),
    component, part, correlation)."""
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


# -- the ten lines of numpy on the page, checked against the library ------------------------------
def max_difference_to_library(s: np.ndarray, W_x: np.ndarray, W_y: np.ndarray,
                              model: CCA) -> float:
    """Largest absolute difference between a hand-made CCA (canonical correlations ``s`` and
    directions ``W_x``, ``W_y`` in columns) and a fitted library ``model``, over the
    ``model.n_components_`` pairs it kept. A pair of directions is defined up to a common sign:
    each hand-made pair is flipped to agree with the library's audio column first."""
    k = int(model.n_components_)
    L_x, L_y = model.weights_audio_, model.weights_visual_
    signs = np.sign(np.sum(W_x[:, :k] * L_x, axis=0))
    signs[signs == 0] = 1.0
    diffs = (np.abs(np.asarray(s)[:k] - model.correlations_),
             np.abs(W_x[:, :k] * signs - L_x), np.abs(W_y[:, :k] * signs - L_y))
    return max(float(d.max()) for d in diffs)


# -- the exercises' numeric answers (tests/test_teach_cca_exercises.py checks each one) ----------
def _angle_between(u: np.ndarray, v: np.ndarray) -> float:
    """Angle in degrees, in [0, 90], between two directions (a direction has no sign)."""
    c = abs(float(u @ v)) / float(np.linalg.norm(u) * np.linalg.norm(v))
    return float(np.degrees(np.arccos(min(1.0, c))))


def ridged(covariances: tuple[np.ndarray, np.ndarray, np.ndarray],
           r: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Σ_xx + rI, Σ_yy + rI, Σ_xy): the covariances ridge CCA whitens with."""
    S_xx, S_yy, S_xy = covariances
    return S_xx + r * np.eye(S_xx.shape[0]), S_yy + r * np.eye(S_yy.shape[0]), S_xy


def constrained_grid_max(covariances: tuple[np.ndarray, np.ndarray, np.ndarray], r: float,
                         n_angles: int = 360) -> float:
    """Exercise 1: the largest w_xᵀ Σ_xy w_y over two 2-d directions on the constraint ellipses
    w_xᵀ(Σ_xx + rI)w_x = 1, w_yᵀ(Σ_yy + rI)w_y = 1, found by trying ``n_angles`` angles per
    view (each unit vector u(θ) rescaled onto its ellipse): no whitening, no SVD."""
    C_xx, C_yy, C_xy = ridged(covariances, r)
    U = unit_vector(np.arange(int(n_angles)) * 180.0 / int(n_angles))     # (2, n)
    scale_x = np.sqrt(np.einsum("in,ij,jn->n", U, C_xx, U))            # √(uᵀ C u) per angle
    scale_y = np.sqrt(np.einsum("in,ij,jn->n", U, C_yy, U))
    values = (U.T @ C_xy @ U) / np.outer(scale_x, scale_y)            # w = u / √(uᵀ C u)
    return float(np.abs(values).max())               # −w has the opposite sign: take |.|


def ridge_cca(covariances: tuple[np.ndarray, np.ndarray, np.ndarray], r: float,
              k: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The library's CCA of covariance matrices with the ridge r: (W_x, W_y, s), all k kept."""
    return cca_from_covariances(*ridged(covariances, r), k, zero_rtol=None)


def exercise_large_ridge(covariances: tuple[np.ndarray, np.ndarray, np.ndarray],
                         r: float) -> dict[str, float]:
    """Exercise 2: for a large ridge r, T_r ≈ Σ_xy / r. Returns r·s₁(T_r), the top singular
    value σ₁ of Σ_xy, and the angles (degrees) between the first CCA directions at this ridge
    and the first PLS directions (the top singular vectors of Σ_xy), in view x and in view y;
    for comparison, the same angles at r = 0."""
    W_x, W_y, s = ridge_cca(covariances, r)
    W_x0, W_y0, _ = ridge_cca(covariances, 0.0)
    P, sigma, Qt = np.linalg.svd(covariances[2])
    return {"r_times_s1": float(r * s[0]), "sigma1": float(sigma[0]),
            "angle_x": _angle_between(W_x[:, 0], P[:, 0]),
            "angle_y": _angle_between(W_y[:, 0], Qt[0]),
            "angle_x_r0": _angle_between(W_x0[:, 0], P[:, 0]),
            "angle_y_r0": _angle_between(W_y0[:, 0], Qt[0])}


def hand_toy_covariances() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exercise 3's 2×2 toy: Σ_xx = diag(4, 1), Σ_yy = I, Σ_xy = [[0.8, 0.6], [0.15, −0.2]].

    [choice] numbers made so that the hand computation is short. Σ_xx^{-1/2} = diag(1/2, 1)
    gives T₀ = [[0.4, 0.3], [0.15, −0.2]], whose rows are orthogonal with norms 1/2 and 1/4, so
    T₀ = diag(1/2, 1/4)·[[0.8, 0.6], [0.6, −0.8]]: s = (1/2, 1/4), U = I,
    w_x = (1/2, 0), w_y = (0.8, 0.6). The joint covariance is positive definite (s₁ < 1)."""
    return (np.diag([4.0, 1.0]), np.eye(2), np.array([[0.8, 0.6], [0.15, -0.2]]))


def exercise_hand_toy(n_sample: int = 20_000, seed: int = 0) -> dict[str, float]:
    """Exercise 3: the library's two canonical correlations and first directions of
    :func:`hand_toy_covariances`, and the first canonical correlation of a CCA fitted on
    ``n_sample`` pairs drawn from the joint Gaussian with these covariances."""
    S_xx, S_yy, S_xy = hand_toy_covariances()
    W_x, W_y, s = ridge_cca((S_xx, S_yy, S_xy), 0.0, k=2)
    joint = np.block([[S_xx, S_xy], [S_xy.T, S_yy]])
    Z = np.random.default_rng(seed).multivariate_normal(np.zeros(4), joint, size=int(n_sample))
    sample = CCA(n_components=1, reg=0.0).fit(Z[:, :2], Z[:, 2:]).correlations_[0]
    return {"rho1": float(s[0]), "rho2": float(s[1]),
            "w_x1": float(W_x[0, 0]) + 0.0, "w_x2": float(W_x[1, 0]) + 0.0,   # no "-0.000"
            "w_y1": float(W_y[0, 0]) + 0.0, "w_y2": float(W_y[1, 0]) + 0.0,
            "sample_rho1": float(sample), "n_sample": float(n_sample)}


#: exercise 4: how far (degrees) the x direction is tilted away from CCA's to show the cost
EXERCISE_TILT: float = 30.0


def exercise_noise_angle(noise_angle_x: float, noise_angle_y: float = -30.0,
                         nuisance: float = 1.0, tilt: float = EXERCISE_TILT) -> dict[str, float]:
    """Exercise 4: the population answer of the toy at one noise angle of view x: ρ₁ from the
    closed form, the angles (degrees in [0, 180)) of the CCA direction and of the first
    principal axis (PCA) of view x, and ``rho_tilted``: the population correlation when w_x is
    turned by ``tilt`` degrees away from the CCA direction (w_y kept at CCA's, the best partner
    of any w_x in this rank-one toy)."""
    toy = latent_toy(noise_angle_x, noise_angle_y, nuisance)
    S_xx, S_yy, S_xy = toy.covariances()
    w_x, w_y = toy.analytic_directions()
    t_x = rotation(tilt) @ w_x
    tilted = float(t_x @ S_xy @ w_y) / np.sqrt(float(t_x @ S_xx @ t_x) * float(w_y @ S_yy @ w_y))
    return {"rho1": toy.analytic_rho(), "cca_angle_x": direction_angle(w_x),
            "pca_angle_x": direction_angle(np.linalg.eigh(S_xx)[1][:, -1]),
            "rho_tilted": abs(float(tilted))}


def exercise_ridge_population(toy: LatentToy, r: float) -> dict[str, float]:
    """Exercise 5: the toy's population s₁(T_r) by the rank-one closed form
    √(a_xᵀ(Σ_xx + rI)⁻¹a_x · a_yᵀ(Σ_yy + rI)⁻¹a_y), and the population correlation that the
    ridge directions w_x ∝ (Σ_xx + rI)⁻¹a_x, w_y ∝ (Σ_yy + rI)⁻¹a_y actually reach."""
    S_xx, S_yy, _ = toy.covariances()
    C_xx, C_yy = S_xx + r * np.eye(S_xx.shape[0]), S_yy + r * np.eye(S_yy.shape[0])
    w_x, w_y = np.linalg.solve(C_xx, toy.load_x), np.linalg.solve(C_yy, toy.load_y)
    reported = np.sqrt(float(toy.load_x @ w_x) * float(toy.load_y @ w_y))
    reached = (float(w_x @ toy.load_x) * float(toy.load_y @ w_y)
               / np.sqrt(float(w_x @ S_xx @ w_x) * float(w_y @ S_yy @ w_y)))
    return {"reported": float(reported), "reached": float(reached)}


def constant_columns(X: np.ndarray) -> int:
    """The number of features (columns) that take one value on every row."""
    A = _check_2d(X, "X")
    return int(np.sum(np.ptp(A, axis=0) == 0))


def exercise_parameter_count(d_a: int, d_v: int) -> int:
    """Exercise 6: the numbers CCA estimates: the entries of the symmetric Σ_xx and Σ_yy on and
    above the diagonal and every entry of Σ_xy, d_a(d_a+1)/2 + d_v(d_v+1)/2 + d_a·d_v."""
    return d_a * (d_a + 1) // 2 + d_v * (d_v + 1) // 2 + d_a * d_v


def covariance_rank_bound(n_rows: int, n_features: int, n_constant: int) -> int:
    """Exercise 6: the largest rank a centred covariance of ``n_rows`` rows can have, when
    ``n_constant`` of its ``n_features`` features are constant: min(N − 1, d − constant)."""
    return max(0, min(n_rows - 1, n_features - n_constant))


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
    """Both views after whitening, with the top singular vectors of
    T₀ = Σ_xx^{-1/2}Σ_xyΣ_yy^{-1/2} (the ridge r = 0)."""
    X_w, Y_w = whiten(X), whiten(Y)
    T_0 = X_w.T @ Y_w / X.shape[0]               # the whitened cross-covariance (r = 0)
    U, S, Vt = np.linalg.svd(T_0)
    fig, axes = plt.subplots(1, 2, figsize=(MAX_FIG_WIDTH, 4.4), layout="constrained")
    for ax, V, vec, view in ((axes[0], X_w, U[:, 0], "x"), (axes[1], Y_w, Vt[0], "y")):
        ax.scatter(V[:, 0], V[:, 1], c=z, cmap="coolwarm", s=6, alpha=0.6, rasterized=True)
        draw_direction(ax, np.zeros(2), vec, 3.0, "black",
                       f"top singular vectors of T$_0$ (largest singular value s$_1$ = {S[0]:.3f})", lw=3)
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
    """The first canonical correlation against the ridge r (column ``reg``): the SVD value
    s₁(T_r) and the sample correlation its directions reach, beside the value at r = 0 (legend
    below the axes)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
    ax.semilogx(path.reg, path.rho_svd, "o-", label="SVD value s$_1$(T$_r$)")
    ax.semilogx(path.reg, path.sample_correlation, "s--", label="sample correlation reached")
    ax.axhline(rho_unregularised, color="0.4", lw=1, ls=":", label="r = 0")
    ax.set_xlabel("ridge r (added to Σ$_{xx}$ and Σ$_{yy}$)")
    ax.set_ylabel("first canonical correlation")
    # for a large ridge r, T_r ≈ Σ_xy / r: the directions tend to those of the cross-covariance
    # alone (PLS), not to PCA's
    ax.set_title(RIDGE_TITLE)
    fig.legend(loc="outside lower center", ncol=2)
    return fig


def plot_train_test_correlations(table: pd.DataFrame, dataset: str) -> plt.Figure:
    """Correlation of the j-th pair of canonical variates on the training and the test rows, one
    panel per ridge r (legend below the panels)."""
    ridges = list(dict.fromkeys(table.ridge))
    bottom = min(-0.05, float(table.correlation.min()) - 0.05)   # a test value may be < 0
    fig, axes = plt.subplots(1, len(ridges), figsize=(MAX_FIG_WIDTH, 3.9), sharey=True,
                             layout="constrained", squeeze=False)
    for ax, name in zip(axes[0], ridges, strict=True):
        sub = table[table.ridge == name]
        for part, marker in (("train", "o-"), ("test", "s--")):
            s = sub[sub.part == part]
            ax.plot(s.component, s.correlation, marker, label=f"{part} rows")
        ax.set_xlabel("canonical component j")
        ax.set_title(f"{RIDGE_LABELS.get(name, f'ridge {name}')} (r = {sub.reg.iloc[0]:.3g})",
                     fontsize=11)
        ax.set_ylim(bottom, 1.05)
    axes[0, 0].set_ylabel("corr of the j-th variates")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncol=2)
    fig.suptitle(f"{dataset}: CCA fitted on the training rows of one fold", fontsize=12)
    return fig
