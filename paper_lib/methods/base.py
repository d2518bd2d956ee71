"""The one API every cross-modal method follows.

Conventions (after scikit-learn's ``cross_decomposition`` and cca_zoo's ``_base.py``):

- the constructor only stores hyper-parameters;
- ``fit(X_audio, X_visual, y=None)`` checks the hyper-parameters, learns from the *training* rows
  only and returns ``self``;
- ``transform(X_audio=None, X_visual=None)`` embeds each view **from that view alone** (an audio
  embedding never looks at the visual partner, and vice versa) and returns ``(Z_audio, Z_visual)``;
  a view passed as ``None`` comes back as ``None``;
- fitted state ends in ``_``; ``transform`` before ``fit`` raises ``NotFittedError``.

Every estimator is a scikit-learn ``BaseEstimator``: ``get_params``/``set_params`` read the
constructor's signature, so ``sklearn.base.clone`` gives a fresh, unfitted copy with the same
hyper-parameters, and ``sklearn.utils.validation.check_is_fitted`` works. scikit-learn's own
tools (``GridSearchCV``, ``Pipeline``) take one array ``X``: ``sklearn_adapter.StackedViews``
presents the two views to them as one.

``fit`` and ``transform`` are written once, here. An estimator implements three hooks:

- ``_check_hyperparameters()``: raise ``UserError`` for a bad hyper-parameter (called first by
  ``fit``, before any data is looked at; the checkers live in ``_validation.py``);
- ``_fit(X_audio, X_visual, y, **kwargs)``: validate the training views and learn;
- ``_transform_view(X, view, **kwargs)``: embed ONE already-validated view (``"audio"`` or
  ``"visual"``); it is given nothing of the other view, so per-view embedding holds by construction.

and names in ``_fitted_attribute`` an attribute that only a completed ``fit`` sets. A method with
PyTorch modules implements one more hook, ``_build_modules()``, which re-creates them (untrained)
for :func:`paper_lib.methods.persist.load_model`; ``_fit`` builds them with the same helper.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Self, TypeVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils import Tags
from sklearn.utils.metadata_routing import UNUSED

from paper_lib.errors import UserError
from paper_lib.methods._validation import check_transform_view

#: the two modalities, in the order of every (audio, visual) pair in this package
View = Literal["audio", "visual"]
VIEWS: tuple[View, View] = ("audio", "visual")
#: "mean": clip-level (N, d) arrays; "sequence": (N, T, d) arrays zero-padded in time + ``lengths``;
#: "media": raw media, e.g. (N, T, 64) log-mel spectrograms and (N, H, W) images
#: (``paper_lib.data.media.media_views``)
InputKind = Literal["mean", "sequence", "media"]

_T = TypeVar("_T")


def by_view(view: View, audio: _T, visual: _T) -> _T:
    """``audio`` for the audio view, ``visual`` for the visual one."""
    return audio if view == "audio" else visual


class NotFittedError(SklearnNotFittedError, RuntimeError):
    """Raised when ``transform`` is called on an estimator that has not been fitted.

    scikit-learn's ``NotFittedError`` (so ``except sklearn.exceptions.NotFittedError``, and its
    bases ``ValueError`` and ``AttributeError``, catch it), and still a ``RuntimeError``, as it was
    before the estimators became scikit-learn estimators."""


class CrossModalEstimator(BaseEstimator):
    """Base class: two views in, two embeddings out."""

    # The two views are data, not metadata to route: no ``set_fit_request(X_audio=...)``.
    __metadata_request__fit = {"X_audio": UNUSED, "X_visual": UNUSED}
    __metadata_request__transform = {"X_audio": UNUSED, "X_visual": UNUSED}

    #: "mean" methods take clip-level (N, d) arrays; "sequence" methods take (N, T, d) arrays
    #: zero-padded in time plus ``lengths`` (N,) passed as a keyword to fit/transform; "media"
    #: methods take arrays of 3 or more dimensions (one spectrogram or image per row) and keep
    #: the fitted shapes in ``input_shape_audio_`` / ``input_shape_visual_``.
    input_kind: InputKind = "mean"
    #: set by methods that need class labels in ``fit``
    supervised: bool = False
    #: False for closed-form methods whose fit ignores ``random_state``: the runner then fits
    #: them once per split instead of once per seed (identical fits are not independent evidence)
    seed_dependent: ClassVar[bool] = True
    #: an attribute that only a completed ``fit`` sets (checked by ``transform``)
    _fitted_attribute: ClassVar[str] = "n_features_audio_"

    @property
    def retrieval_metric(self) -> str | None:
        """The score its embeddings must be ranked with, or ``None`` for the run's metric (cosine
        in the paper). Hashing methods return ``"hamming"`` while they output binary codes, so
        the runner ranks them as hashing and never silently by a real-valued relaxation."""
        return None

    # -- the API (written once) ------------------------------------------------------------------
    def fit(self, X_audio: np.ndarray, X_visual: np.ndarray, y: np.ndarray | None = None,
            **kwargs: Any) -> Self:
        """Check the hyper-parameters, then learn from the paired training rows (and labels)."""
        self._check_hyperparameters()
        self._fit(X_audio, X_visual, y, **kwargs)
        return self

    def check_hyperparameters(self) -> Self:
        """Raise ``UserError`` for a bad hyper-parameter without looking at any data (what
        ``fit`` does first); returns ``self``. For callers that validate settings up front,
        e.g. ``paper-lib run --set``."""
        self._check_hyperparameters()
        return self

    def transform(self, X_audio: np.ndarray | None = None, X_visual: np.ndarray | None = None,
                  **kwargs: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Embed each given view from itself alone; a view passed as ``None`` returns ``None``."""
        self._check_fitted()
        Z_audio = None if X_audio is None else self.transform_view(X_audio, "audio", **kwargs)
        Z_visual = None if X_visual is None else self.transform_view(X_visual, "visual", **kwargs)
        return Z_audio, Z_visual

    def transform_view(self, X: np.ndarray, view: View, **kwargs: Any) -> np.ndarray:
        """Embed one view (``"audio"`` or ``"visual"``): validate it, then ``_transform_view``."""
        self._check_fitted()
        if view not in VIEWS:
            raise UserError(f"view must be one of {VIEWS}, got {view!r}.")
        lengths = kwargs.get("lengths") if self.input_kind == "sequence" else None
        shape = getattr(self, f"input_shape_{view}_") if self.input_kind == "media" else None
        A = check_transform_view(X, f"X_{view}", self._n_features(view),
                                 input_kind=self.input_kind, lengths=lengths, input_shape=shape)
        return self._transform_view(A, view, **kwargs)

    def fit_transform(self, X_audio: np.ndarray, X_visual: np.ndarray,
                      y: np.ndarray | None = None, **kwargs: Any
                      ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """``fit`` on the two views, then ``transform`` them (each from itself alone)."""
        return self.fit(X_audio, X_visual, y, **kwargs).transform(X_audio, X_visual, **kwargs)

    # -- hooks -----------------------------------------------------------------------------------
    def _check_hyperparameters(self) -> None:
        """Raise ``UserError`` for a bad hyper-parameter (the first thing ``fit`` does)."""

    def _fit(self, X_audio: np.ndarray, X_visual: np.ndarray, y: np.ndarray | None,
             **kwargs: Any) -> None:
        raise NotImplementedError

    def _transform_view(self, X: np.ndarray, view: View, **kwargs: Any) -> np.ndarray:
        """Embed one validated view ``X`` of modality ``view``; (n, d) out."""
        raise NotImplementedError

    def _build_modules(self) -> dict[str, Any]:
        """The estimator's PyTorch modules, re-created untrained: ``{attribute name: module}``.

        Called by :func:`~paper_lib.methods.persist.load_model` on a loaded estimator whose other
        fitted attributes (shapes, classes, nested estimators, ...) are already restored; it then
        loads the saved weights into the modules returned here, so they must have the
        architecture ``fit`` built, from the hyper-parameters and those fitted attributes. A
        deep method builds its modules in one helper shared by ``_fit`` and this hook (an
        attribute that holds ``None`` instead of a module may map to ``None``). The default, for
        methods without modules: ``{}``.
        """
        return {}

    # -- scikit-learn protocol (get_params, set_params, clone and repr come from BaseEstimator) --
    def __sklearn_is_fitted__(self) -> bool:
        """What ``sklearn.utils.validation.check_is_fitted`` asks: has ``fit`` completed?"""
        return hasattr(self, self._fitted_attribute)

    def __sklearn_tags__(self) -> Tags:
        """The input is two views, not one array ``X``: scikit-learn's ``check_estimator`` cannot
        call ``fit(X, y)`` on it and skips it (``StackedViews`` is the estimator it checks);
        labels are required by the supervised methods."""
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.target_tags.required = self.supervised
        return tags

    # -- helpers ---------------------------------------------------------------------------------
    def _n_features(self, view: View) -> int:
        """Width of the view seen by ``fit`` (``n_features_audio_`` / ``n_features_visual_``)."""
        return int(getattr(self, f"n_features_{view}_"))

    def _check_fitted(self, attribute: str | None = None) -> None:
        if not hasattr(self, attribute or self._fitted_attribute):
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet: call fit(X_audio, X_visual, y) first.")
