"""The one API every cross-modal method follows.

Conventions (after scikit-learn's ``cross_decomposition``):
- the constructor only stores hyper-parameters;
- ``fit(X_audio, X_visual, y=None)`` learns from the *training* rows only and returns ``self``;
- ``transform(X_audio=None, X_visual=None)`` embeds each view **from that view alone** (an audio
  embedding never looks at the visual partner, and vice versa) and returns ``(Z_audio, Z_visual)``;
  a view passed as ``None`` comes back as ``None``;
- fitted state ends in ``_``; ``transform`` before ``fit`` raises ``NotFittedError``.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class NotFittedError(RuntimeError):
    """Raised when ``transform`` is called on an estimator that has not been fitted."""


class CrossModalEstimator:
    """Base class: two views in, two embeddings out."""

    #: "mean" methods take clip-level (N, d) arrays; "sequence" methods take (N, T, d) arrays
    #: zero-padded in time plus ``lengths`` (N,) passed as a keyword to fit/transform.
    input_kind: str = "mean"
    #: set by methods that need class labels in ``fit``
    supervised: bool = False

    def fit(self, X_audio: np.ndarray, X_visual: np.ndarray, y: np.ndarray | None = None,
            **kwargs: Any) -> CrossModalEstimator:
        raise NotImplementedError

    def transform(self, X_audio: np.ndarray | None = None, X_visual: np.ndarray | None = None,
                  **kwargs: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
        raise NotImplementedError

    def fit_transform(self, X_audio: np.ndarray, X_visual: np.ndarray,
                      y: np.ndarray | None = None, **kwargs: Any
                      ) -> tuple[np.ndarray | None, np.ndarray | None]:
        return self.fit(X_audio, X_visual, y, **kwargs).transform(X_audio, X_visual, **kwargs)

    # -- helpers -------------------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """Hyper-parameters as stored by the constructor (public attributes not ending in ``_``)."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_") and not k.endswith("_")}

    def _check_fitted(self, attribute: str) -> None:
        if not hasattr(self, attribute):
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet: call fit(X_audio, X_visual, y) first.")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
