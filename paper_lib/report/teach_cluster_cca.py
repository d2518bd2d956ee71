"""Chapter 21 (notebook ``21_teach_cluster_cca``): why Cluster-CCA.

A toy where each pair shares a strong nuisance (:class:`NuisanceWorld`): plain CCA follows the
nuisance, C-CCA (Rasiwasia) the classes; the per-component diagnostics (nuisance φ, class η),
the authors' β sweep, the class-sum cross-covariance Σ_xy^cl against the explicit all-pairs one,
the rank limit C − 1, and the leading-component MAP of the models fitted by
:func:`paper_lib.report.spectrum.canonical_spectrum` on the build's dataset; the chapter's knobs
(``ccca_*``) and the numeric answers of its exercises (``exercise_*``). Models come from
``paper_lib.methods``, every MAP from ``paper_lib.metrics``. Symbols follow ``book/notation.md``;
the toy's own: nuisance h (d_h dims, scale s_h), class codes γ_c (simplex radius s_γ), noise σ,
and a component's multiple correlation φ with the nuisance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from paper_lib.experiment.knobs import Knob, integer, number
from paper_lib.methods._linalg import numerical_rank
from paper_lib.methods.base import CrossModalEstimator
from paper_lib.methods.cca import CCA, cca_from_covariances
from paper_lib.methods.cluster_cca import ClusterCCA, beta_covariances, rasiwasia_covariances
from paper_lib.methods.registry import get_method
from paper_lib.metrics.cross_modal import cross_modal_map
from paper_lib.report._teaching_common import (
    CLASS_COLOURS,
    MAX_FIG_WIDTH,
    ToyViews,
    embed_per_view,
)
from paper_lib.report._teaching_common import mean_prevalence as mean_prevalence
from paper_lib.report.spectrum import ESTIMATORS
from paper_lib.report.tables import MISSING

#: the display names of the chapter's methods (one name per variant, book-wide)
CCA_NAME: str = get_method("cca").paper_name
RASIWASIA_NAME: str = get_method("c_cca_rasiwasia").paper_name
BETA_NAME: str = get_method("c_cca").paper_name

# -- the chapter's knobs (``-p NAME=VALUE``; the same in both profiles) --------------------------
#: pairs per class of the toy's training sample and of its test sample
#: [choice] 100: class sums of 100 nuisance draws shrink the nuisance tenfold against the class
CCCA_N_PER_CLASS = Knob("ccca_n_per_class", 100, check=integer(minimum=2))
#: the nuisance scale s_h (standard deviation of each nuisance dimension; the noise σ is 1)
#: [choice] 4: per dimension the nuisance's paired correlation (≈ 0.94) beats the class's (≈ 0.76)
CCCA_NUISANCE_SCALE = Knob("ccca_nuisance_scale", 4.0, check=number(lo=0.0))
#: the class separation s_γ: the radius of the simplex of class codes γ_c
CCCA_CLASS_SCALE = Knob("ccca_class_scale", 2.5, check=number(lo=0.0))
#: the number of classes C of the toy
#: [choice] 3 (C − 1 = 2 components: the whole embedding is one scatter plot); at least 3 so
#: that the embedding has two components to draw
CCCA_N_CLASSES = Knob("ccca_n_classes", 3, check=integer(minimum=3))

#: a singular value of a cross-covariance counts as non-zero above RANK_RTOL × the largest
#: [choice] 1e-10 relative: the class-sum Σ_xy is exact up to round-off, so its singular values
#: beyond C − 1 sit near machine precision, far below this, and the genuine ones far above.
RANK_RTOL: float = 1e-10


@dataclass(frozen=True)
class NuisanceWorld:
    """The fixed structure of the Cluster-CCA toy (same for the training and the test sample).

    Per pair i with class c_i and nuisance h_i ~ N(0, s_h² I) (d_h dims) shared by both views:

        x_i = A_x [h_i ; γ_{c_i}] + ε_x,    y_i = A_y [h_i ; γ_{c_i}] + ε_y,   ε ~ N(0, σ² I)

    where the class codes γ_c (C − 1 dims) are the vertices of a regular simplex of radius
    ``class_scale`` (s_γ) and A_x, A_y are random matrices with orthonormal columns (each view
    mixes the latent factors differently). The nuisance is independent of the class.
    """

    mixing_x: np.ndarray      # A_x (d, d_h + C - 1)
    mixing_y: np.ndarray      # A_y (d, d_h + C - 1)
    class_means: np.ndarray   # the class codes γ (C, C - 1)
    nuisance_scale: float     # s_h
    noise: float              # σ

    @property
    def n_classes(self) -> int:
        return self.class_means.shape[0]

    @property
    def n_nuisance(self) -> int:
        return self.mixing_x.shape[1] - self.class_means.shape[1]

    def paired_correlations(self) -> dict[str, float]:
        """Population correlation of the paired views along a nuisance and along a class
        direction (balanced classes): λ / (λ + σ²), with λ = s_h² for the nuisance and
        λ = s_γ² / (C − 1) for the simplex class codes (the columns of A are orthonormal, so
        these are the canonical correlations plain CCA sees)."""
        class_var = float(np.mean(np.sum(self.class_means ** 2, axis=1))) / (self.n_classes - 1)
        nuisance_var = self.nuisance_scale ** 2
        return {"nuisance": nuisance_var / (nuisance_var + self.noise ** 2),
                "class": class_var / (class_var + self.noise ** 2)}


def simplex_vertices(n_classes: int, radius: float) -> np.ndarray:
    """C points in C − 1 dimensions, all at distance ``radius`` from their (zero) centroid and
    equidistant from each other: the most even class layout."""
    E = np.eye(n_classes) - 1.0 / n_classes                     # centred one-hot codes (C, C)
    basis = np.linalg.svd(E)[0][:, : n_classes - 1]              # (C, C-1) orthonormal
    V = E @ basis
    return V / np.linalg.norm(V[0]) * radius


def make_nuisance_world(n_classes: int = 3, n_nuisance: int = 2, n_features: int | None = None,
                        nuisance_scale: float = 4.0, class_scale: float = 2.5,
                        noise: float = 1.0, seed: int = 0) -> NuisanceWorld:
    """The toy's structure. [choice] defaults: 3 classes (so C − 1 = 2 components and the
    embeddings are exactly 2-d), a 2-d nuisance 4× the noise, classes on a simplex of radius 2.5:
    per latent dimension the nuisance has variance 16 and the class 3.1, so the paired
    correlation of the nuisance (≈ 0.94) beats the class's (≈ 0.76). ``n_features`` (the width
    of each view) defaults to max(6, d_h + C − 1): 6 for the default toy, wider when the latent
    factors need it."""
    if n_classes < 2 or n_nuisance < 1:
        raise ValueError(f"need n_classes >= 2 and n_nuisance >= 1, got {n_classes}, "
                         f"{n_nuisance}.")
    n_latent = n_nuisance + n_classes - 1
    if n_features is None:
        n_features = max(6, n_latent)
    if n_features < n_latent:
        raise ValueError(f"n_features={n_features} must be >= n_nuisance + n_classes - 1 = "
                         f"{n_latent}.")
    rng = np.random.default_rng(seed)

    width = int(n_features)

    def mixing() -> np.ndarray:
        return np.linalg.qr(rng.normal(size=(width, width)))[0][:, :n_latent]

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


def make_toy(n_classes: int = 3, nuisance_scale: float = 4.0, class_scale: float = 2.5,
             n_per_class: int = 100, seed: int = 0
             ) -> tuple[NuisanceWorld, ToyViews, ToyViews]:
    """The chapter's toy from its knobs: the world (seed ``seed``), a training sample (seed + 1)
    and a test sample (seed + 2) of ``n_per_class`` pairs per class each."""
    world = make_nuisance_world(n_classes=n_classes, nuisance_scale=nuisance_scale,
                                class_scale=class_scale, seed=seed)
    return (world, sample_views(world, n_per_class, seed=seed + 1),
            sample_views(world, n_per_class, seed=seed + 2))


def nuisance_r(z: np.ndarray, U: np.ndarray) -> float:
    """Multiple correlation φ of a component with the nuisance (the chapter's φ; a regression's
    "multiple R"): the square root of the R² of the least-squares fit z ≈ b₀ + U b (for a 1-d
    nuisance this is ``|corr(z, u)|``)."""
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
    """Per component of an embedding: nuisance φ and class η (which factor does it follow?)."""
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
    """Fit on the training sample, embed the test sample view by view, cosine MAP both ways.

    The experiment runner's protocol (:func:`~paper_lib.experiment.evaluate.evaluate_split`) on bare
    arrays: fit on the training rows only, the audio embedding from audio alone and the visual
    one from visual alone, MAP over the full ranking from
    :func:`paper_lib.metrics.cross_modal.cross_modal_map`.
    """
    model.fit(train.audio, train.visual, train.labels)
    Z_a, Z_v = embed_per_view(model, test.audio, test.visual)
    return ToyFit(method, model, Z_a, Z_v,
                  cross_modal_map(Z_a, Z_v, test.labels, metric="cosine"))


def compare_cca_and_ccca(train: ToyViews, test: ToyViews,
                         n_components: int) -> tuple[list[ToyFit], pd.DataFrame, pd.DataFrame]:
    """CCA and C-CCA (Rasiwasia) on the toy: the fits, per-component diagnostics on the test
    sample (audio side) and a MAP table (method, direction, map), methods by display name."""
    fits = [fit_on_toy(CCA_NAME, CCA(n_components=n_components), train, test),
            fit_on_toy(RASIWASIA_NAME, ClusterCCA(n_components=n_components,
                                                  variant="rasiwasia"), train, test)]
    diag = pd.concat([component_diagnostics(f.Z_audio, test, f.method) for f in fits],
                     ignore_index=True)
    maps = pd.DataFrame([{"method": f.method, "direction": d, "map": v}
                         for f in fits for d, v in f.maps.items()])
    return fits, diag, maps


def beta_sweep(train: ToyViews, test: ToyViews, betas: Sequence[float],
               n_components: int) -> pd.DataFrame:
    """The authors' variant for every β: first component's nuisance φ / class η and MAP.

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
    """The library's Σ_xy^cl (Rasiwasia's, centred by the pair-weighted means; from class sums,
    O(N·(d_a² + d_v²)))."""
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


def matrix_rank(C: np.ndarray, rtol: float = RANK_RTOL) -> int:
    """Numerical rank: the number of singular values above ``rtol`` × the largest."""
    return numerical_rank(singular_values(C), rtol)


def leading_components_map(models: Mapping[str, CrossModalEstimator], Xa_test: np.ndarray,
                           Xv_test: np.ndarray, y_test: np.ndarray, d: int) -> pd.DataFrame:
    """Test MAP of each fitted model restricted to its first ``d`` (the book's k) components.

    The CCA family's directions come from one SVD, so the first ``d`` columns of a fit with more
    components ARE the d-component fit (same signs): one fit serves the spectrum and the MAP.
    Each view is embedded from itself; MAP from ``paper_lib.metrics`` (cosine, full ranking).
    ``models`` is keyed by :data:`paper_lib.report.spectrum.ESTIMATORS` labels; the table's
    ``method`` is the display name (:func:`~paper_lib.methods.registry.display_name`).
    """
    rows = []
    for name, m in models.items():
        Z_a, Z_v = embed_per_view(m, Xa_test, Xv_test)
        maps = cross_modal_map(Z_a[:, :d], Z_v[:, :d], y_test, metric="cosine")
        rows += [{"method": display_name(name), "d": int(d), "direction": k, "map": v}
                 for k, v in maps.items()]
    return pd.DataFrame(rows)


def pair_counts(samples: Mapping[str, np.ndarray],
                differences: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Per named sample (its labels): the clips N, the within-class pairs M = Σ_c n_c² and, when
    given, the largest difference between the class-sum Σ_xy and the explicit expansion."""
    differences = differences or {}
    return pd.DataFrame([{"sample": name, "n_clips": int(np.asarray(labels).size),
                          "within_class_pairs": within_class_pairs(np.asarray(labels)),
                          "max_abs_difference": differences.get(name, np.nan)}
                         for name, labels in samples.items()])


def display_name(estimator: str) -> str:
    """The book's display name of a :func:`~paper_lib.report.spectrum.canonical_spectrum`
    estimator label ("C-CCA, Rasiwasia" -> "C-CCA (Rasiwasia)"); a display name is returned
    unchanged."""
    return get_method(ESTIMATORS[estimator]).paper_name if estimator in ESTIMATORS else estimator


def spectrum_at(spectrum: pd.DataFrame, estimator: str, component: int) -> float:
    """The canonical correlation of one component of one estimator in a canonical spectrum
    (:func:`paper_lib.report.spectrum.canonical_spectrum`'s table); ``estimator`` is the
    spectrum's label or its display name (:func:`~paper_lib.methods.registry.display_name`)."""
    names = spectrum.estimator.map(display_name)
    sel = (((spectrum.estimator == estimator) | (names == estimator))
           & (spectrum.component == component))
    if not sel.any():
        raise KeyError(f"no component {component} of {estimator!r} in the spectrum")
    return float(spectrum[sel].correlation.iloc[0])


def balanced_pairs(n_clips: int, n_classes: int) -> float:
    """M = N²/C: the within-class pairs of N clips spread evenly over C classes."""
    return float(n_clips) ** 2 / float(n_classes)


def max_difference_to_library(W_x: np.ndarray, s: np.ndarray, model: ClusterCCA) -> float:
    """The largest absolute difference between hand-made audio directions ``W_x`` (d_a, k) with
    their correlations ``s`` (k,) and those of a fitted model, after giving each hand-made
    direction the library's sign (a canonical direction has no sign of its own)."""
    k = int(np.asarray(s).size)
    W_lib = model.weights_audio_[:, :k]
    signs = np.where(np.sum(W_x * W_lib, axis=0) < 0, -1.0, 1.0)
    return float(max(np.abs(W_x * signs - W_lib).max(),
                     np.abs(np.asarray(s) - model.correlations_[:k]).max()))


# -- the exercises' numeric answers (each checked against an independent computation in
# -- tests/test_teach_cluster_cca_exercises.py) ---------------------------------------------------
#: the class counts of the exercises' unbalanced example and of a balanced one with the same N, C
#: [choice] (2, 4, 6, 8) and (5, 5, 5, 5): N = 20 clips in C = 4 classes both times
EXERCISE_UNBALANCED: tuple[int, ...] = (2, 4, 6, 8)
EXERCISE_BALANCED: tuple[int, ...] = (5, 5, 5, 5)
#: the nuisance scale the knob exercise asks to try: [choice] 1, below the default crossover
EXERCISE_NUISANCE_SCALE: float = 1.0


def class_labels(class_counts: Sequence[int]) -> np.ndarray:
    """Labels 0..C−1 with ``class_counts[c]`` clips of class c, class by class."""
    return np.repeat(np.arange(len(class_counts)), np.asarray(class_counts, dtype=np.int64))


def random_class_views(class_counts: Sequence[int], d_a: int = 6, d_v: int = 7, seed: int = 0
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A small paired sample with the given class counts: each view is a random class offset
    (scale 3) plus unit noise. Returns (X (N, d_a), Y (N, d_v), labels (N,))."""
    y = class_labels(class_counts)
    rng = np.random.default_rng(seed)
    C = len(class_counts)
    X = 3.0 * rng.normal(size=(C, d_a))[y] + rng.normal(size=(y.size, d_a))
    Y = 3.0 * rng.normal(size=(C, d_v))[y] + rng.normal(size=(y.size, d_v))
    return X, Y, y


def exercise_pair_count(class_counts: Sequence[int]) -> dict[str, float]:
    """Exercise 2: N, C, the within-class pairs M = Σ_c n_c², the balanced count N²/C (a lower
    bound of M by Cauchy–Schwarz) and M/N (the pairs each clip takes part in, on average)."""
    y = class_labels(class_counts)
    M = within_class_pairs(y)
    return {"N": int(y.size), "C": len(class_counts), "M": M,
            "M_balanced": balanced_pairs(y.size, len(class_counts)), "M_per_clip": M / y.size}


def exercise_centring(class_counts: Sequence[int], seed: int = 0) -> dict[str, float]:
    """Exercise 3: the pair-weighted mean x̄^cl = Σ_c (n_c²/M) x̄_c against the ordinary mean
    x̄ = Σ_c (n_c/N) x̄_c: the weight each puts on the largest class, and the largest absolute
    difference between the two means (the library's pair-weighted mean, on
    :func:`random_class_views`)."""
    X, Y, y = random_class_views(class_counts, seed=seed)
    n = np.asarray(class_counts, dtype=np.float64)
    pair_weighted = rasiwasia_covariances(X, Y, y, reg=0.0)[3]
    largest = int(np.argmax(n))
    return {"weight_pair_weighted": float(n[largest] ** 2 / np.sum(n ** 2)),
            "weight_ordinary": float(n[largest] / n.sum()),
            "max_gap": float(np.abs(pair_weighted - X.mean(axis=0)).max())}


def exercise_ranks(class_counts: Sequence[int], d_a: int = 6, d_v: int = 7,
                   seed: int = 0) -> dict[str, int]:
    """Exercise 4: the rank of Σ_xy^cl with the pair-weighted centring (the library's, ≤ C − 1)
    and without any centring ((1/M) Σ_c n_c² x̄_c ȳ_cᵀ, ≤ C), on :func:`random_class_views`."""
    X, Y, y = random_class_views(class_counts, d_a, d_v, seed)
    onehot = (y[:, None] == np.arange(len(class_counts))[None, :]).astype(np.float64)
    M = within_class_pairs(y)
    uncentred = (onehot.T @ X).T @ (onehot.T @ Y) / M        # raw class sums S_x, S_y
    return {"C": len(class_counts),
            "centred": matrix_rank(cluster_cross_covariance(X, Y, y)),
            "uncentred": matrix_rank(uncentred)}


def exercise_beta_ranks(class_counts: Sequence[int], betas: Sequence[float] = (0.0, 0.2),
                        d_a: int = 6, d_v: int = 7, seed: int = 0) -> dict[float, int]:
    """Exercise 5: the rank of the β variant's cross-covariance Σ_xy^(β) (the library's
    :func:`~paper_lib.methods.cluster_cca.beta_covariances`, centred by the ordinary means) for
    each β, on :func:`random_class_views`."""
    X, Y, y = random_class_views(class_counts, d_a, d_v, seed)
    return {float(b): matrix_rank(beta_covariances(X, Y, y, reg=0.0, beta=float(b))[2])
            for b in betas}


def nuisance_crossover(class_scale: float, n_classes: int) -> float:
    """Exercise 6: the nuisance scale s_h* at which the paired correlations of a nuisance and of
    a class direction are equal: s_h*² = s_γ²/(C − 1) (both are λ/(λ + σ²), increasing in λ)."""
    return float(class_scale) / float(np.sqrt(n_classes - 1))


def population_correlations(world: NuisanceWorld) -> np.ndarray:
    """The canonical correlations of the toy's population covariances (balanced classes), from
    the library's CCA solver: the second path to :meth:`NuisanceWorld.paired_correlations`."""
    C = world.n_classes
    class_var = float(np.sum(world.class_means ** 2)) / C / (C - 1)
    lam = np.r_[np.full(world.n_nuisance, world.nuisance_scale ** 2), np.full(C - 1, class_var)]
    A_x, A_y = world.mixing_x, world.mixing_y
    noise = world.noise ** 2
    C_xx = (A_x * lam) @ A_x.T + noise * np.eye(A_x.shape[0])
    C_yy = (A_y * lam) @ A_y.T + noise * np.eye(A_y.shape[0])
    return cca_from_covariances(C_xx, C_yy, (A_x * lam) @ A_y.T, lam.size, zero_rtol=None)[2]


def exercise_nuisance_knob(nuisance_scale: float, n_classes: int = 3, class_scale: float = 2.5,
                           n_per_class: int = 100, seed: int = 0) -> dict[str, float]:
    """Exercise 6: the toy re-run at another nuisance scale: the crossover s_h*, the paired
    correlations of a nuisance and a class direction, the first CCA component's nuisance φ and
    class η, and both methods' A→V MAP (k = C − 1 components)."""
    world, train, test = make_toy(n_classes, nuisance_scale, class_scale, n_per_class, seed)
    _, diag, maps = compare_cca_and_ccca(train, test, n_components=n_classes - 1)
    first = diag[diag.component == 1].set_index("method")
    m = maps.set_index(["method", "direction"])["map"]
    rho = world.paired_correlations()
    return {"crossover": nuisance_crossover(class_scale, n_classes),
            "rho_nuisance": rho["nuisance"], "rho_class": rho["class"],
            "cca_phi1": float(first.loc[CCA_NAME, "nuisance_r"]),
            "cca_eta1": float(first.loc[CCA_NAME, "class_eta"]),
            "cca_map_a2v": float(m[CCA_NAME, "a2v"]),
            "ccca_map_a2v": float(m[RASIWASIA_NAME, "a2v"])}


def follows(phi: float, eta: float) -> str:
    """What a component follows, in words: "the nuisance" when φ > η, else "the classes"."""
    return "the nuisance" if phi > eta else "the classes"


# -- the tables as the chapter shows them ------------------------------------------------------
MAP_A2V, MAP_V2A = "MAP A→V", "MAP V→A"
#: decimals of :func:`beta_sweep_view`'s columns (β with one, the MAPs with four)
BETA_SWEEP_DIGITS: dict[str, int] = {"β": 1, MAP_A2V: 4, MAP_V2A: 4}


def _clean(values: pd.Series, digits: int) -> np.ndarray:
    """Rounded, with the sign of round-off zeros dropped (no "-0.0000")."""
    return np.round(values.to_numpy(dtype=np.float64), digits) + 0.0


def diagnostics_view(diag: pd.DataFrame) -> pd.DataFrame:
    """:func:`component_diagnostics` for reading: method, component, nuisance φ and class η."""
    return pd.DataFrame({"method": diag["method"].to_numpy(),
                         "component": diag["component"].to_numpy(),
                         "nuisance φ": diag["nuisance_r"].to_numpy(),
                         "class η": diag["class_eta"].to_numpy()})


def map_view(maps: pd.DataFrame) -> pd.DataFrame:
    """A (method, direction, map) table for reading: one row per method (in the table's order),
    the MAP of each direction side by side (plus the components ``k`` when the table has a
    ``d`` column)."""
    methods = list(dict.fromkeys(maps["method"]))
    wide = maps.pivot(index="method", columns="direction", values="map").reindex(methods)
    view = pd.DataFrame({"method": methods})
    if "d" in maps.columns:
        view["k"] = maps.groupby("method", sort=False)["d"].first().reindex(methods).to_numpy()
    view[MAP_A2V] = wide["a2v"].to_numpy()
    view[MAP_V2A] = wide["v2a"].to_numpy()
    return view


def beta_sweep_view(sweep: pd.DataFrame) -> pd.DataFrame:
    """:func:`beta_sweep` for reading: β first, both MAPs, then what the first component
    follows."""
    return pd.DataFrame({"β": sweep["beta"].to_numpy(),
                         MAP_A2V: sweep["a2v"].to_numpy(), MAP_V2A: sweep["v2a"].to_numpy(),
                         "nuisance φ (component 1)": sweep["nuisance_r"].to_numpy(),
                         "class η (component 1)": sweep["class_eta"].to_numpy()})


def spectrum_view(spectrum: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """A canonical spectrum (estimator, component, correlation) for reading: one row per
    component, one column per estimator (in the table's order, by display name), rounded to
    ``digits``."""
    estimators = list(dict.fromkeys(spectrum["estimator"]))
    wide = spectrum.pivot(index="component", columns="estimator", values="correlation")
    view = pd.DataFrame({"component": wide.index.to_numpy()})
    for name in estimators:
        view[display_name(name)] = _clean(wide[name], digits)
    return view


def pair_counts_view(counts: pd.DataFrame) -> pd.DataFrame:
    """:func:`pair_counts` for reading; the difference in scientific notation (it is round-off)."""
    return pd.DataFrame({
        "sample": counts["sample"].to_numpy(),
        "clips N": counts["n_clips"].to_numpy(),
        "within-class pairs M": counts["within_class_pairs"].to_numpy(),
        "largest difference, class sums vs explicit pairs": [
            MISSING if not np.isfinite(v) else f"{v:.1e}" for v in counts["max_abs_difference"]]})


# -- the figures (at most MAX_FIG_WIDTH inches wide, text of 10 pt or more) ---------------------
def _class_legend_handles(labels: np.ndarray) -> list[Line2D]:
    """One handle per class colour, then one per marker: audio ●, visual ×."""
    handles = [Line2D([], [], ls="", marker="s", ms=8, color=CLASS_COLOURS(c), label=f"class {c}")
               for c in np.unique(labels)]
    return handles + [Line2D([], [], ls="", marker="o", color="0.3", label="audio"),
                      Line2D([], [], ls="", marker="x", color="0.3", label="visual")]


def plot_toy_embeddings(fits: Sequence[ToyFit], test: ToyViews) -> plt.Figure:
    """First two components of each method's test embeddings (audio ●, visual ×), by class."""
    fig, axes = plt.subplots(1, len(fits), figsize=(MAX_FIG_WIDTH, 4.4), layout="constrained",
                             squeeze=False)
    for ax, f in zip(axes[0], fits, strict=True):
        for c in np.unique(test.labels):
            rows = test.labels == c
            ax.scatter(f.Z_audio[rows, 0], f.Z_audio[rows, 1], s=10, alpha=0.6, rasterized=True,
                       color=CLASS_COLOURS(c))
            ax.scatter(f.Z_visual[rows, 0], f.Z_visual[rows, 1], s=14, alpha=0.6, marker="x",
                       rasterized=True, color=CLASS_COLOURS(c))
        ax.set_xlabel("component 1")
        ax.set_ylabel("component 2")
        ax.set_title(f"{f.method}\nMAP A→V {f.maps['a2v']:.3f}, V→A {f.maps['v2a']:.3f}",
                     fontsize=11)
        ax.set_aspect("equal", adjustable="datalim")
    handles = _class_legend_handles(test.labels)
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 6))
    return fig


def plot_component_diagnostics(diag: pd.DataFrame) -> plt.Figure:
    """Bars: for each method and component, nuisance φ and class η."""
    methods = list(dict.fromkeys(diag.method))
    fig, axes = plt.subplots(1, len(methods), figsize=(MAX_FIG_WIDTH, 3.6), sharey=True,
                             layout="constrained", squeeze=False)
    for ax, m in zip(axes[0], methods, strict=True):
        sub = diag[diag.method == m]
        x = sub.component.to_numpy()
        ax.bar(x - 0.18, sub.nuisance_r, width=0.36, color="#d62728", label="nuisance φ")
        ax.bar(x + 0.18, sub.class_eta, width=0.36, color="#1f77b4", label="class η")
        ax.set_xticks(x)
        ax.set_xlabel("component")
        ax.set_ylim(0, 1.05)
        ax.set_title(m)
    axes[0, 0].set_ylabel("correlation (φ or η)")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside right center")
    return fig


def plot_beta_sweep(table: pd.DataFrame) -> plt.Figure:
    """MAP of the β variant against β (top), and what its first component follows (nuisance R,
    class η; bottom); legends beside the axes."""
    fig, axes = plt.subplots(2, 1, figsize=(7.2, 5.6), sharex=True, layout="constrained")
    axes[0].plot(table.beta, table.a2v, "o-", label="A→V")
    axes[0].plot(table.beta, table.v2a, "s--", label="V→A")
    axes[0].set_ylabel("MAP (test sample)")
    axes[0].set_title("MAP of the β variant")
    axes[1].plot(table.beta, table.nuisance_r, "o-", color="#d62728", label="nuisance φ")
    axes[1].plot(table.beta, table.class_eta, "s-", color="#1f77b4", label="class η")
    axes[1].set_ylabel("component 1: φ or η")
    axes[1].set_title("What the first component follows")
    axes[1].set_xlabel(r"β (weight of the paired $\Sigma_{xy}$)")
    for ax in axes:
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


def plot_rank_limit(sv_toy: np.ndarray, n_classes_toy: int, spectrum: pd.DataFrame,
                    n_classes: int, dataset: str) -> plt.Figure:
    """Top: singular values of the toy's Σ_xy^cl; bottom: canonical correlations per component
    on the build's dataset (estimators by display name), with the C − 1 limit marked; legends
    beside the axes."""
    fig, axes = plt.subplots(2, 1, figsize=(MAX_FIG_WIDTH, 6.4), layout="constrained")
    k = np.arange(1, sv_toy.size + 1)
    axes[0].semilogy(k, np.maximum(sv_toy, 1e-18), "o-", label="singular value")
    axes[0].axvline(n_classes_toy - 0.5, color="0.5", ls=":", label=f"C − 1 = {n_classes_toy - 1}")
    axes[0].set_xlabel("index j")
    axes[0].set_ylabel("singular value (log)")
    axes[0].set_title(r"toy: singular values of $\Sigma_{xy}^{\mathrm{cl}}$")
    for name, sub in spectrum.groupby("estimator", sort=False):
        axes[1].plot(sub.component, sub.correlation, "o-", ms=4, label=display_name(str(name)))
    axes[1].axvline(n_classes - 0.5, color="0.5", ls=":", label=f"C − 1 = {n_classes - 1}")
    axes[1].set_xlabel("component j")
    axes[1].set_ylabel("canonical correlation $s_j$")
    axes[1].set_title(f"{dataset}: training rows of the first fold")
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig
