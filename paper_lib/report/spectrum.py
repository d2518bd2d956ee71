"""Canonical spectra of the closed-form CCA family: the one place they are fitted for a report.

:func:`canonical_spectrum` fits plain CCA, the authors' Cluster-CCA (β = 0.2) and Rasiwasia's
Cluster-CCA on the given training rows and returns their canonical correlations
ρ_1 ≥ … ≥ ρ_d as a tidy table, how many of them are numerically non-zero, and the fitted
models (the first k columns of a d-component fit are the k-component fit, so one fit serves
the spectrum and any smaller embedding).

The within-class cross-covariance Σ_xy = (1/M) Σ_c S̃_x,c S̃_y,cᵀ is built from C centred class
sums that are linearly dependent (Σ_c n_c S̃_x,c = 0), so its rank, and with it the number of
non-zero Cluster-CCA (Rasiwasia) correlations, is at most C − 1; the β variant adds
β·(paired cross-covariance) on top and is not bound by the limit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from paper_lib.methods._linalg import numerical_rank
from paper_lib.methods.cca import CCA, ZERO_CORRELATION_RTOL, CovarianceCCABase
from paper_lib.methods.cluster_cca import ClusterCCA

#: columns of the ``table`` of a :class:`CanonicalSpectrum`
SPECTRUM_COLUMNS = ["estimator", "component", "correlation"]
#: label of each estimator in the table -> its name in ``paper_lib.methods.registry``
ESTIMATORS: dict[str, str] = {"CCA (pairs)": "cca",
                              "C-CCA, β = 0.2": "c_cca",
                              "C-CCA, Rasiwasia": "c_cca_rasiwasia"}
#: a correlation counts as non-zero above NONZERO_RTOL × the estimator's largest one: the same
#: tolerance the estimators use to drop numerically-zero directions (one rule, in methods/cca.py)
NONZERO_RTOL: float = ZERO_CORRELATION_RTOL


@dataclass(frozen=True)
class CanonicalSpectrum:
    """What :func:`canonical_spectrum` returns."""

    table: pd.DataFrame                   # estimator, component (1..d), correlation
    n_nonzero: dict[str, int]             # estimator label -> correlations above rtol × largest
    models: dict[str, CovarianceCCABase]  # estimator label -> the fitted estimator


def _estimators(d: int) -> dict[str, CovarianceCCABase]:
    """The registry's ``cca``, ``c_cca`` and ``c_cca_rasiwasia`` at their defaults (ridge 1e-4),
    keeping all ``d`` directions: a spectrum shows its zeros (the estimators drop them by
    default)."""
    return {"CCA (pairs)": CCA(n_components=d, drop_zero_correlations=False),
            "C-CCA, β = 0.2": ClusterCCA(n_components=d, variant="beta", beta=0.2,
                                         drop_zero_correlations=False),
            "C-CCA, Rasiwasia": ClusterCCA(n_components=d, variant="rasiwasia",
                                           drop_zero_correlations=False)}


def canonical_spectrum(Xa: np.ndarray, Xv: np.ndarray, y: np.ndarray, d: int, *,
                       rtol: float = NONZERO_RTOL) -> CanonicalSpectrum:
    """Fit CCA, C-CCA (β = 0.2) and C-CCA (Rasiwasia) with ``d`` components on the training rows
    ``(Xa, Xv, y)``; return their canonical correlations per component, the count of non-zero
    ones (:func:`paper_lib.methods._linalg.numerical_rank` with ``rtol``) and the fitted models.

    Pass training rows only: every number here is a property of the fit.
    """
    models = _estimators(int(d))
    rows = []
    n_nonzero = {}
    for name, model in models.items():
        rho = model.fit(Xa, Xv, y).correlations_            # (d,) descending, >= 0
        rows += [{"estimator": name, "component": k + 1, "correlation": float(r)}
                 for k, r in enumerate(rho)]
        n_nonzero[name] = numerical_rank(np.asarray(rho, dtype=np.float64), rtol)
    return CanonicalSpectrum(pd.DataFrame(rows, columns=SPECTRUM_COLUMNS), n_nonzero, models)
