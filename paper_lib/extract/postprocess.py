"""YouTube-8M / AudioSet post-processing: PCA (with whitening) and 8-bit quantisation.

The released VEGAS features follow the YouTube-8M format: each network output (Inception V3's
2,048-d pool, VGGish's 128-d embedding) is projected by a PCA, optionally whitened, clipped to
``[-2, 2]`` and stored as one byte per value. This module is that post-processing, in numpy:

1. **PCA** (:class:`PcaProjection`): ``z = (x - mean) @ components.T``; with whitening each
   component is divided by ``sqrt(eigenvalue + epsilon)``, ``epsilon = 1e-4`` as in YouTube-8M's
   ``feature_extractor.py`` (``feats /= sqrt(pca_eigenvals + 1e-4)``). VGGish's
   ``vggish_postprocess.py`` applies a 128 x 128 matrix with the whitening already folded in
   (no eigenvalues: ``PcaProjection(eigenvalues=None)``).
2. **Quantisation** (:func:`quantize_uint8`): ``u = (clip(x, -2, 2) + 2) * 255 / 4`` in
   ``[0, 255]``, then

   - ``rounding="round"``: round half to even, YouTube-8M's ``extract_tfrecords_main.quantize``
     (``int(round(f))``; Python's ``round`` is half-to-even);
   - ``rounding="truncate"``: floor, VGGish's ``vggish_postprocess.py`` (``astype(np.uint8)``
     of a non-negative float).

3. **De-quantisation** (:func:`dequantize_uint8`): ``q * 4 / 255 - 2``, the exact inverse of
   ``u`` at the integers, so that ``|dequantize(quantize(x)) - clip(x)| <= 2 / 255`` (half a step
   of ``4 / 255``) for ``rounding="round"``. (YouTube-8M's own readers use
   ``q * 4 / 255 + 4 / 512 - 2``, which adds about half a step: the centre of a *truncated*
   bin.)

**The data layer's de-quantisation.** The data layer reads released features with the authors'
de-quantisation ``(q - 128) / 256`` (:func:`paper_lib.data.formats._checks.dequantize_uint8`),
which is this module's scale divided by 4 up to a small offset. Write ``d(q) = (q - 128) / 256``
and ``g(q) = dequantize_uint8(q)``. Exactly (derivation: ``q / 256 - 1/2 - (q / 255 - 1/2)``)::

    d(q) - g(q) / 4 = -q / (255 * 256) = -q / 65280,   so   |d(q) - g(q) / 4| <= 1/256

for ``q`` in 0..255, reached at ``q = 255`` (``1/256`` is less than one step ``1/255`` of the
``g / 4`` scale). End to end, for ``x`` in ``[-2, 2]`` and ``u = (x + 2) * 255 / 4``,
``q = Q(u)``, ``delta = q - u``::

    d(q) - x / 4 = q / 256 - u / 255 = delta / 256 - u / 65280

- ``"round"`` (``|delta| <= 1/2``): the most negative value is at ``u = 254.5`` (which rounds half
  to even down to 254, ``delta = -1/2``): ``-1/512 - 254.5/65280 = -382/65280``; on the
  positive side the values stay below ``+127/65280`` (approached as ``u -> 0.5`` from above,
  rounded up to 1). Hence the exact, attained bound
  ``|d(Q(u)) - x / 4| <= 382 / 65280 = 191 / 32640 ~= 0.0058517`` (about 1.5 steps of ``1/256``),
  reached at ``x = 254.5 * 4 / 255 - 2 = 508 / 255 ~= 1.99216``.
- ``"truncate"`` (``-1 < delta <= 0``): ``-1/256 - 255/65280 = -1/128`` is the supremum as
  ``u -> 255`` from below (not attained: ``u = 255`` gives ``q = 255`` and ``-1/256``); so
  ``|d(Q(u)) - x / 4| < 1/128``.

``tests/test_postprocess.py`` checks both statements on a dense grid, and that the ``"round"``
bound is tight.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from paper_lib.errors import ParamError

QUANT_MIN, QUANT_MAX = -2.0, 2.0        # YouTube-8M / VGGish quantisation range
QUANT_LEVELS = 255                      # uint8: 0..255
#: one quantisation step on the feature scale: 4 / 255
QUANT_STEP = (QUANT_MAX - QUANT_MIN) / QUANT_LEVELS
#: YouTube-8M's whitening regulariser: z / sqrt(eigenvalue + 1e-4)
YT8M_EPSILON = 1e-4
#: the exact, attained bound of abs((q - 128) / 256 - x / 4) for "round" codes of x in [-2, 2]
DATA_LAYER_BOUND_ROUND = 382.0 / 65280.0
#: the supremum (not attained) of the same difference for "truncate" codes
DATA_LAYER_BOUND_TRUNCATE = 1.0 / 128.0

Rounding = Literal["round", "truncate"]


def _float_array(x: ArrayLike, name: str) -> np.ndarray:
    """``x`` as a float array (float32 kept, anything else float64); NaN -> ParamError."""
    arr = np.asarray(x)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number) \
            or np.issubdtype(arr.dtype, np.complexfloating):
        raise ParamError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    arr = arr if arr.dtype in (np.float32, np.float64) else arr.astype(np.float64)
    if np.isnan(arr).any():
        raise ParamError(f"{name}: contains NaN")
    return arr


# --- quantisation --------------------------------------------------------------------------------
def quantize_uint8(x: ArrayLike, *, rounding: Rounding) -> np.ndarray:
    """uint8 codes of ``x``: clip to [-2, 2], ``(x + 2) * 255 / 4``, then round or truncate.

    ``rounding="round"`` rounds half to even (YouTube-8M's ``quantize``); ``"truncate"`` floors
    (VGGish's ``vggish_postprocess.py``). float32 input is computed in float32, as both originals
    do (bit-for-bit the same codes); other input in float64. Any shape; ±inf clip to 0 / 255.
    """
    if rounding not in ("round", "truncate"):
        raise ParamError(f"rounding must be 'round' or 'truncate', got {rounding!r}")
    arr = _float_array(x, "x")
    dtype = arr.dtype.type
    clipped = np.clip(arr, dtype(QUANT_MIN), dtype(QUANT_MAX))
    scaled = (clipped - dtype(QUANT_MIN)) * dtype(QUANT_LEVELS / (QUANT_MAX - QUANT_MIN))
    codes = np.rint(scaled) if rounding == "round" else np.floor(scaled)   # rint: half to even
    return np.clip(codes, 0, QUANT_LEVELS).astype(np.uint8)


def dequantize_uint8(q: ArrayLike) -> np.ndarray:
    """float32 ``q * 4 / 255 - 2``: the inverse of :func:`quantize_uint8` at the codes.

    ``q`` is uint8 (or integers in 0..255). For ``rounding="round"`` the round trip is within
    half a step, ``|dequantize(quantize(x)) - clip(x, -2, 2)| <= 2 / 255``.
    """
    arr = np.asarray(q)
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool:
            raise ParamError(f"q: expected uint8 codes, got dtype {arr.dtype}")
        if arr.size and (arr.min() < 0 or arr.max() > QUANT_LEVELS):
            raise ParamError(f"q: codes must lie in 0..{QUANT_LEVELS}, got "
                             f"[{arr.min()}, {arr.max()}]")
    return (arr.astype(np.float64) * QUANT_STEP + QUANT_MIN).astype(np.float32)


# --- PCA -----------------------------------------------------------------------------------------
def _flip_signs(components: np.ndarray) -> np.ndarray:
    """Deterministic signs: the largest-magnitude entry of each row is positive (ties: first).

    The same convention as scikit-learn's ``svd_flip`` on the rows of ``V^T``.
    """
    rows = np.arange(components.shape[0])
    pivots = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[rows, pivots])
    signs[signs == 0] = 1.0
    return components * signs[:, None]


@dataclass(frozen=True, eq=False)
class PcaProjection:
    """``z = (x - mean) @ components.T``, optionally whitened by ``sqrt(eigenvalues + epsilon)``.

    Attributes
    ----------
    mean : (D,) array
        Subtracted first.
    components : (k, D) array
        Rows are the projection directions (k <= D).
    eigenvalues : (k,) array or None
        Variance along each component; given -> whitening ``z / sqrt(eigenvalues + epsilon)``;
        None -> no whitening (VGGish's matrix already contains it).
    epsilon : float, default=1e-4
        YouTube-8M's regulariser of the whitening.

    The arrays are stored as read-only float64 copies; two projections compare equal only when
    they are the same object.
    """

    mean: np.ndarray
    components: np.ndarray
    eigenvalues: np.ndarray | None = None
    epsilon: float = YT8M_EPSILON

    def __post_init__(self) -> None:
        mean = _finite_matrix(self.mean, "mean", ndim=1)
        components = _finite_matrix(self.components, "components", ndim=2)
        if components.shape[1] != mean.shape[0]:
            raise ParamError(f"components: shape {components.shape} does not match mean "
                             f"{mean.shape}: expected (k, {mean.shape[0]})")
        if components.shape[0] == 0 or components.shape[0] > mean.shape[0]:
            raise ParamError(f"components: need 1 <= k <= D = {mean.shape[0]} rows, got "
                             f"{components.shape[0]}")
        eps = float(self.epsilon)
        if not np.isfinite(eps) or eps < 0:
            raise ParamError(f"epsilon must be a finite number >= 0, got {self.epsilon!r}")
        eigenvalues = None
        if self.eigenvalues is not None:
            eigenvalues = _finite_matrix(self.eigenvalues, "eigenvalues", ndim=1)
            if eigenvalues.shape != (components.shape[0],):
                raise ParamError(f"eigenvalues: shape {eigenvalues.shape}, expected "
                                 f"({components.shape[0]},) (one per component)")
            if (eigenvalues + eps <= 0).any():
                raise ParamError("eigenvalues: eigenvalue + epsilon must be positive for "
                                 f"whitening (minimum eigenvalue {eigenvalues.min()}, "
                                 f"epsilon {eps})")
            eigenvalues.setflags(write=False)
        mean.setflags(write=False)
        components.setflags(write=False)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "components", components)
        object.__setattr__(self, "eigenvalues", eigenvalues)
        object.__setattr__(self, "epsilon", eps)

    @property
    def n_features(self) -> int:
        """D, the input width."""
        return int(self.mean.shape[0])

    @property
    def n_components(self) -> int:
        """k, the output width."""
        return int(self.components.shape[0])

    @property
    def whiten(self) -> bool:
        """Whether :meth:`apply` divides by ``sqrt(eigenvalues + epsilon)``."""
        return self.eigenvalues is not None

    def apply(self, x: ArrayLike) -> np.ndarray:
        """(N, D) -> (N, k) float32: ``((x - mean) @ components.T) [/ sqrt(ev + eps)]``.

        Computed in float64 and returned as float32 (what the quantiser and the networks use).
        """
        arr = _float_array(x, "x").astype(np.float64, copy=False)
        if arr.ndim != 2 or arr.shape[1] != self.n_features:
            raise ParamError(f"x: expected shape (N, {self.n_features}), got {arr.shape}")
        z = (arr - self.mean) @ self.components.T
        if self.eigenvalues is not None:
            z /= np.sqrt(self.eigenvalues + self.epsilon)
        return z.astype(np.float32)

    @classmethod
    def fit(cls, features: ArrayLike, k: int, *, whiten: bool = True,
            epsilon: float = YT8M_EPSILON, n_folds: int | None = None) -> PcaProjection:
        """PCA of ``features`` (N, D) keeping ``k`` components (1 <= k <= min(N - 1, D)).

        Components: the eigenvectors of the unbiased covariance ``X_c^T X_c / (N - 1)`` with the
        k largest eigenvalues (``numpy.linalg.eigh`` of the D x D covariance when N >= D, else the
        SVD of the centred data, which gives the same up to rounding). [choice] Signs: the
        largest-magnitude entry of each component is positive, so the result is deterministic.

        ``whiten=False`` stores no eigenvalues (a plain projection). With ``whiten=True`` the
        eigenvalues are, by default, the in-sample ones. ``n_folds`` (an integer >= 2) replaces
        them by out-of-sample estimates: rows ``i`` with ``i % n_folds == f`` are held out, a PCA
        is fitted on the others, and eigenvalue j is the mean over all held-out rows of their
        squared projection on that fit's j-th component. In-sample eigenvalues of the trailing
        components are biased low when N is not much larger than D (the sample covariance's
        spectrum spreads; Marchenko-Pastur), so whitening with them inflates those components on
        new data; the held-out variance is what new data from the same distribution will show.
        """
        X = _finite_matrix(features, "features", ndim=2)
        n, d = X.shape
        if isinstance(k, bool) or not isinstance(k, int | np.integer):
            raise ParamError(f"k must be an integer, got {k!r}")
        if not 1 <= k <= min(n - 1, d):
            raise ParamError(f"k must be in 1..min(N - 1, D) = {min(n - 1, d)} for features of "
                             f"shape {X.shape}, got {k}")
        mean, components, eigenvalues = _principal_axes(X, int(k))
        if n_folds is not None and whiten:
            eigenvalues = _held_out_variances(X, int(k), _check_folds(n_folds, n, int(k)))
        return cls(mean=mean, components=components,
                   eigenvalues=eigenvalues if whiten else None, epsilon=epsilon)

    @classmethod
    def from_yt8m(cls, mean: ArrayLike, eigenvals: ArrayLike,
                  eigenvecs: ArrayLike) -> PcaProjection:
        """YouTube-8M's PCA: mean (D,) or (D, 1), eigenvals (k,) or (k, 1), eigenvecs (D, k).

        ``eigenvecs`` has one eigenvector per *column*, as ``feature_extractor.py`` multiplies
        ``(x - mean) @ eigenvecs`` (for the released files: ``mean.npy[:, 0]``,
        ``eigenvals.npy[:1024, 0]``, ``eigenvecs.npy.T[:, :1024]``, see
        :func:`paper_lib.extract.inception.load_yt8m_pca`). Whitening with ``epsilon = 1e-4``.
        """
        m = _squeeze_column(mean, "mean")
        ev = _squeeze_column(eigenvals, "eigenvals")
        vecs = _finite_matrix(eigenvecs, "eigenvecs", ndim=2)
        if vecs.shape != (m.shape[0], ev.shape[0]):
            raise ParamError(f"eigenvecs: shape {vecs.shape}, expected (D, k) = "
                             f"({m.shape[0]}, {ev.shape[0]}) from mean {m.shape} and "
                             f"eigenvals {ev.shape} (one eigenvector per column)")
        return cls(mean=m, components=vecs.T, eigenvalues=ev, epsilon=YT8M_EPSILON)



def _principal_axes(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean (D,), the k leading unit eigenvectors of the covariance as rows (k, D) with the sign
    convention of :func:`_flip_signs`, and their eigenvalues (k,), descending."""
    n, d = X.shape
    mean = X.mean(axis=0)
    centred = X - mean
    if n >= d:                                  # D x D eigenproblem: cheaper for tall data
        values, vectors = np.linalg.eigh(centred.T @ centred / (n - 1))
        order = np.argsort(values)[::-1][:k]
        components, eigenvalues = vectors[:, order].T, np.maximum(values[order], 0.0)
    else:
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
        components, eigenvalues = vt[:k], s[:k] ** 2 / (n - 1)
    return mean, _flip_signs(components), eigenvalues


def _check_folds(n_folds: int, n: int, k: int) -> int:
    if isinstance(n_folds, bool) or not isinstance(n_folds, int | np.integer) or n_folds < 2:
        raise ParamError(f"n_folds must be an integer >= 2 or None, got {n_folds!r}")
    smallest_train = n - -(-n // n_folds)       # n minus the largest fold
    if k > smallest_train - 1:
        raise ParamError(f"n_folds={n_folds}: each fit sees only {smallest_train} rows, fewer "
                         f"than k + 1 = {k + 1}")
    return int(n_folds)


def _held_out_variances(X: np.ndarray, k: int, n_folds: int) -> np.ndarray:
    """(k,) mean squared projection of held-out rows on the j-th component of the other rows'
    PCA, over ``n_folds`` folds (row i in fold ``i % n_folds``)."""
    folds = np.arange(X.shape[0]) % n_folds
    total = np.zeros(k)
    for f in range(n_folds):
        mean, components, _ = _principal_axes(X[folds != f], k)
        total += (((X[folds == f] - mean) @ components.T) ** 2).sum(axis=0)
    return total / X.shape[0]


def _finite_matrix(x: ArrayLike, name: str, *, ndim: int) -> np.ndarray:
    arr = _float_array(x, name)
    if arr.ndim != ndim:
        raise ParamError(f"{name}: expected a {ndim}-d array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ParamError(f"{name}: contains inf")
    return np.array(arr, dtype=np.float64)          # a private copy


def _squeeze_column(x: ArrayLike, name: str) -> np.ndarray:
    """(n,) or (n, 1) -> (n,)."""
    arr = np.asarray(x)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ParamError(f"{name}: expected shape (n,) or (n, 1), got {arr.shape}")
    return _finite_matrix(arr, name, ndim=1)

