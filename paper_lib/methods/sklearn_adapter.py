"""Two views as one array, for scikit-learn's tools: :class:`StackedViews`.

``GridSearchCV``, ``cross_val_score`` and ``Pipeline`` pass one array ``X`` and index its rows;
a cross-modal estimator takes two. ``StackedViews`` reads ``X = np.hstack([X_audio, X_visual])``
(the first ``n_features_audio`` columns are the audio view, the rest the visual view), so every
row stays one paired clip wherever scikit-learn moves it:

- ``fit(X, y)`` fits a clone of ``estimator`` (kept as ``estimator_``) on the two views;
- ``transform(X)`` is ``np.hstack([Z_audio, Z_visual])``, each view embedded from itself alone
  (``CrossModalEstimator.transform``);
- ``score(X, y)`` is the cross-modal MAP of the rows of ``X`` (audio queries against the visual
  gallery and back, full ranking, :func:`paper_lib.metrics.cross_modal.cross_modal_map`) with the
  estimator's own ranking (Hamming for hashing codes) or ``metric``: the book's evaluation of a
  test fold, so ``GridSearchCV`` with its default scoring tunes for it.

Clip-level ("mean") estimators only: a sequence method also needs per-clip ``lengths``, which
scikit-learn does not carry to ``transform`` and ``score``.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, TransformerMixin, clone
from sklearn.utils import Tags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from paper_lib.errors import UserError
from paper_lib.methods._validation import check_choice, check_positive_int
from paper_lib.methods.base import CrossModalEstimator, NotFittedError
from paper_lib.metrics.cross_modal import check_metric, cross_modal_map

#: what ``score`` returns: the mean of both directions, or one of them
DIRECTIONS = ("mean", "a2v", "v2a")


def _class_ids(y: Any) -> np.ndarray:
    """Class labels of any type (ints, strings, integral floats) as integer ids 0..C-1 in sorted
    label order: the methods and the MAP only ask whether two labels are equal."""
    labels = np.asarray(y)
    check_classification_targets(labels)           # "Unknown label type" for continuous targets
    ids: np.ndarray = np.unique(labels, return_inverse=True)[1]
    return ids


class StackedViews(TransformerMixin, MetaEstimatorMixin, BaseEstimator):
    """A two-view estimator as a scikit-learn transformer of one stacked array.

    Parameters
    ----------
    estimator : an unfitted clip-level :class:`~paper_lib.methods.base.CrossModalEstimator`;
        its hyper-parameters are this object's ``estimator__<name>`` parameters.
    n_features_audio : how many leading columns of ``X`` are the audio view.
    direction : what ``score`` returns: ``"mean"`` of the A→V and V→A MAPs, ``"a2v"`` or ``"v2a"``.
    metric : similarity used by ``score`` ("cosine", the paper's) unless the estimator names its
        own (``retrieval_metric``).

    Fitted attributes: ``estimator_`` (the fitted clone), ``n_features_in_``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import GridSearchCV
    >>> from paper_lib.methods.cluster_cca import ClusterCCA
    >>> rng = np.random.default_rng(0)
    >>> y = np.arange(60) % 3
    >>> X_audio = rng.normal(size=(3, 5))[y] + rng.normal(size=(60, 5))
    >>> X_visual = rng.normal(size=(3, 4))[y] + rng.normal(size=(60, 4))
    >>> model = StackedViews(ClusterCCA(n_components=2, variant="beta"), n_features_audio=5)
    >>> search = GridSearchCV(model, {"estimator__beta": [0.0, 0.2, 1.0]}, cv=3)
    >>> search = search.fit(np.hstack([X_audio, X_visual]), y)
    >>> sorted(search.best_params_)
    ['estimator__beta']
    >>> search.best_estimator_.transform(np.hstack([X_audio, X_visual])).shape
    (60, 4)
    """

    def __init__(self, estimator: CrossModalEstimator, n_features_audio: int,
                 direction: str = "mean", metric: str = "cosine") -> None:
        self.estimator = estimator
        self.n_features_audio = n_features_audio
        self.direction = direction
        self.metric = metric

    def fit(self, X: Any, y: Any = None) -> Self:
        """Fit a clone of ``estimator`` on the audio and visual columns of ``X`` (and labels)."""
        if not isinstance(self.estimator, CrossModalEstimator):
            raise UserError(f"estimator must be a CrossModalEstimator, got "
                            f"{type(self.estimator).__name__}.")
        if self.estimator.input_kind != "mean":
            raise UserError(f"estimator: {type(self.estimator).__name__} reads per-second "
                            f"sequences with lengths; StackedViews takes clip-level views only.")
        check_choice(self.direction, "direction", DIRECTIONS)
        check_metric(self.metric)
        if y is None and self.estimator.supervised:
            raise UserError(f"{type(self.estimator).__name__} is supervised: it requires y to be "
                            f"passed, but the target y is None.")
        X = validate_data(self, X, reset=True, dtype=np.float64, ensure_min_samples=2,
                          ensure_min_features=2)
        labels = None if y is None else _class_ids(y)
        self.estimator_ = clone(self.estimator).fit(*self._views(X), labels)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """``[Z_audio | Z_visual]``: each view of ``X`` embedded from itself alone."""
        Z_audio, Z_visual = self._embed(X)
        return np.hstack([Z_audio, Z_visual])

    def score(self, X: Any, y: Any) -> float:
        """Cross-modal MAP of the rows of ``X`` with class labels ``y`` (higher is better)."""
        Z_audio, Z_visual = self._embed(X)
        if y is None:
            raise UserError("score needs the class labels y of the rows of X (relevance = same "
                            "class).")
        metric = self.estimator_.retrieval_metric or self.metric
        maps = cross_modal_map(Z_audio, Z_visual, _class_ids(y), metric)
        return float(np.mean(list(maps.values()))) if self.direction == "mean" \
            else maps[self.direction]

    # -- helpers ---------------------------------------------------------------------------------
    def _views(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The audio columns and the visual columns of a validated ``X``, each contiguous."""
        k = check_positive_int(self.n_features_audio, "n_features_audio")
        if k >= X.shape[1]:
            raise UserError(f"n_features_audio={k} leaves no visual column: X has {X.shape[1]} "
                            f"columns (the audio view, then the visual view).")
        return np.ascontiguousarray(X[:, :k]), np.ascontiguousarray(X[:, k:])

    def _embed(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        if not hasattr(self, "estimator_"):
            raise NotFittedError("StackedViews is not fitted yet: call fit(X, y) first.")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        Z_audio, Z_visual = self.estimator_.transform(*self._views(X))
        if Z_audio is None or Z_visual is None:
            raise RuntimeError(f"{type(self.estimator_).__name__}.transform returned no "
                               f"embedding for a view")
        return Z_audio, Z_visual

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = bool(getattr(self.estimator, "supervised", False))
        return tags
