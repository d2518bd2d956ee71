"""Input and hyper-parameter checks shared by every method: a clear error before any training starts.

One home for each kind of check (every error is a :class:`paper_lib.errors.UserError`, which is a
``ValueError``, so scikit-learn-style ``except ValueError`` keeps working):

- views: :func:`check_views` (``fit``: two paired views and labels), :func:`check_transform_view`
  (``transform``: one view), :func:`check_lengths` (valid seconds of padded sequences); each for
  the three input kinds: clip means (N, d), padded sequences (N, T, d) and raw media (arrays of
  3 or more dimensions, one spectrogram or image per row, kept in float32);
- hyper-parameters (in the spirit of cca_zoo's ``_param_constraints.py``, so a documented range is
  written once): :func:`check_positive_int`, :func:`check_number` (finite, optionally in a range),
  :func:`check_nonnegative`, :func:`check_positive`, :func:`check_choice`, :func:`check_bool`,
  :func:`check_seed`.
  Bools are rejected wherever a number is expected (``True`` is an ``int`` in Python).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from paper_lib.errors import UserError

#: the input kinds of ``paper_lib.methods.base.InputKind`` (spelled here too: base imports this)
InputKindName = Literal["mean", "sequence", "media"]
#: a media view holds one 2-d (or 3-d, with channels) map per row
MEDIA_MIN_NDIM = 3


# -- hyper-parameters ----------------------------------------------------------------------------
def check_positive_int(value: Any, name: str) -> int:
    """``value`` must be an integer >= 1 (bools rejected); returns it as ``int``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise UserError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def _fmt(x: float) -> str:
    return f"{x:g}"


def _range_text(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    """'in [0, 1)', '>= 0', '> 0', '<= 1' or '' (no bound)."""
    if low is not None and high is not None:
        return (f"in {'(' if low_open else '['}{_fmt(low)}, {_fmt(high)}"
                f"{')' if high_open else ']'}")
    if low is not None:
        return f"{'>' if low_open else '>='} {_fmt(low)}"
    if high is not None:
        return f"{'<' if high_open else '<='} {_fmt(high)}"
    return ""


def check_number(value: Any, name: str, *, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False, reason: str = "",
                 alternative: str = "") -> float:
    """``value`` must be a finite real number (bools rejected) within the given bounds.

    ``low``/``high`` are inclusive unless ``low_open``/``high_open``. ``reason`` is added to the
    message in parentheses; ``alternative`` names another accepted value that the caller handles
    itself (e.g. ``"None ('scale' heuristic)"``), for the message only. Returns ``float(value)``.
    """
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real)
    if ok:
        x = float(value)
        ok = (math.isfinite(x)
              and (low is None or (x > low if low_open else x >= low))
              and (high is None or (x < high if high_open else x <= high)))
    if not ok:
        bounds = _range_text(low, high, low_open, high_open)
        # a two-sided range implies finiteness; a one-sided one says it
        what = f"a number {bounds}" if low is not None and high is not None else \
            f"a finite number {bounds}".rstrip()
        prefix = f"{alternative} or " if alternative else ""
        why = f" ({reason})" if reason else ""
        raise UserError(f"{name} must be {prefix}{what}{why}, got {value!r}.")
    return float(value)


def check_nonnegative(value: Any, name: str, *, reason: str = "") -> float:
    """``value`` must be a finite number >= 0 (e.g. a ridge ``reg`` or a ``margin``)."""
    return check_number(value, name, low=0.0, reason=reason)


def check_positive(value: Any, name: str, *, reason: str = "") -> float:
    """``value`` must be a finite number > 0 (e.g. a learning rate ``lr``)."""
    return check_number(value, name, low=0.0, low_open=True, reason=reason)


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """``value`` must be one of the strings ``choices``; returns it."""
    if not isinstance(value, str) or value not in choices:
        raise UserError(f"{name} must be one of {tuple(choices)}, got {value!r}.")
    return value


def check_bool(value: Any, name: str) -> bool:
    """``value`` must be a bool (``True``/``False``, numpy bools included; not 0/1); returns it."""
    if not isinstance(value, bool | np.bool_):
        raise UserError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def check_seed(random_state: Any, name: str = "random_state") -> int:
    """Turn ``random_state`` into an int seed; ``None`` means 0 (deep methods are always seeded)."""
    if random_state is None:
        return 0
    if isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral):
        raise UserError(f"{name} must be an int or None, got {random_state!r}.")
    return int(random_state)


# -- views ---------------------------------------------------------------------------------------
def _as_array(X: Any, name: str, ndim: int, expected: str = "") -> np.ndarray:
    """``X`` as a float64 array with ``ndim`` dimensions and no empty axis."""
    A = np.asarray(X, dtype=np.float64)
    if A.ndim != ndim:
        shape = f" {expected}" if expected else ""
        raise UserError(f"{name} must be a {ndim}-d array{shape}, got shape {A.shape}.")
    if A.size == 0:
        raise UserError(f"{name} is empty (shape {A.shape}).")
    return A


def _as_media_array(X: Any, name: str) -> np.ndarray:
    """``X`` as a float32 array of at least 3 dimensions (one map per row) and no empty axis."""
    A = np.asarray(X, dtype=np.float32)
    if A.ndim < MEDIA_MIN_NDIM:
        raise UserError(
            f"{name} must be raw media: an array of at least {MEDIA_MIN_NDIM} dimensions, e.g. "
            f"(N, T, 64) log-mel spectrograms or (N, H, W) images "
            f"(paper_lib.data.media.media_views), got shape {A.shape}; clip-level (N, d) "
            f"features are not media.")
    if A.size == 0:
        raise UserError(f"{name} is empty (shape {A.shape}).")
    return A


def _check_finite(A: np.ndarray, name: str, valid: np.ndarray | None = None) -> None:
    """No NaN/inf in ``A`` (or, for sequences, in the valid steps ``valid`` (N, T) only)."""
    bad_entries = ~np.isfinite(A)
    if valid is not None:
        bad_entries &= valid[:, :, None]
    if bad_entries.any():
        bad = int(bad_entries.any(axis=tuple(range(1, A.ndim))).sum())
        where = (f"in {bad} row(s)" if valid is None
                 else f"within the clips' lengths in {bad} clip(s)")
        raise UserError(f"{name} contains NaN or inf values {where}.")


#: the largest feature magnitude a method accepts: beyond it, covariances, Gram matrices and
#: squared distances overflow (1e300² is inf in float64) or lose every digit of the data's
#: variation; features that large are a unit error, to be rescaled (e.g. z-scored) first
MAX_ABS_VALUE = 1e15


#: the smallest largest-magnitude a (not all-zero) view may have: below it the covariances
#: (~1e-30) vanish beside every ridge and numerical tolerance (an absolute r = 1e-4 already
#: turns CCA into PLS at magnitudes ~1e-5, see the ridge in the teaching chapter), and the
#: squared distances of the kernel methods underflow; features that small are a unit error
MIN_ABS_VALUE = 1e-15


def _check_magnitude(A: np.ndarray, name: str) -> None:
    """Values within :data:`MIN_ABS_VALUE` .. :data:`MAX_ABS_VALUE` in magnitude (an all-zero
    view is refused by :func:`_check_not_constant`; NaN/inf are checked before)."""
    peak = float(np.abs(A).max()) if A.size else 0.0
    if peak > MAX_ABS_VALUE:
        raise UserError(f"{name} has values up to {peak:.3g} in magnitude: beyond "
                        f"{MAX_ABS_VALUE:.0e} the covariances and distances overflow; rescale the "
                        f"features (e.g. z-score each column) first.")
    if 0.0 < peak < MIN_ABS_VALUE:
        raise UserError(f"{name} has values of at most {peak:.3g} in magnitude: below "
                        f"{MIN_ABS_VALUE:.0e} the covariances vanish beside the ridge and the "
                        f"numerical tolerances; rescale the features (e.g. z-score each column) "
                        f"first.")


def _check_not_constant(A: np.ndarray, name: str) -> None:
    """At ``fit``: the rows must not all be identical (a constant or all-zero view carries no
    information, and any ranking built on it would only reflect the rows' order)."""
    flat = A.reshape(A.shape[0], -1)
    if flat.shape[0] > 1 and not (flat != flat[:1]).any():
        what = "all zero" if not flat[:1].any() else "constant (every row is the same)"
        raise UserError(f"{name} is {what}: it carries no information to fit on.")


def check_views(X_audio: np.ndarray, X_visual: np.ndarray, y: np.ndarray | None = None, *,
                n_components: int | None = None, need_labels: bool = False,
                ndim: int = 2, components_from_inputs: bool = True,
                input_kind: InputKindName | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate two paired training views (and optional labels) at ``fit`` time; return them as
    float64 / int64 arrays (float32 for media).

    Raises ``UserError`` naming the argument and the problem for: wrong number of dimensions,
    mismatched row counts (and, for 3-d sequences, time axes), an empty view, NaN/inf values, a
    label vector of the wrong length, a single class (when labels are needed), fewer samples than
    ``n_components``, and ``n_components`` larger than the narrower view (unless
    ``components_from_inputs=False``: kernel methods find their components in a feature space).

    ``input_kind="media"`` (``ndim`` is then unused; other kinds go by ``ndim``): each view is an array of at least 3
    dimensions, one map per row (e.g. (N, T, 64) log-mel spectrograms and (N, H, W) images);
    the two views may differ in every axis but the first; they are returned as float32 (a
    spectrogram batch is large) and ``n_components`` is only checked to be a positive integer
    (a media method's embedding width is not bounded by its input's shape).
    """
    media = input_kind == "media"
    if media:
        Xa, Xv = _as_media_array(X_audio, "X_audio"), _as_media_array(X_visual, "X_visual")
    else:
        Xa, Xv = _as_array(X_audio, "X_audio", ndim), _as_array(X_visual, "X_visual", ndim)
    for A, name in ((Xa, "X_audio"), (Xv, "X_visual")):
        _check_finite(A, name)
        _check_magnitude(A, name)
        _check_not_constant(A, name)
    if Xa.shape[0] != Xv.shape[0]:
        raise UserError(
            f"X_audio and X_visual must have the same number of rows (paired clips), "
            f"got {Xa.shape[0]} and {Xv.shape[0]}.")
    if not media and ndim == 3 and Xa.shape[1] != Xv.shape[1]:
        raise UserError(f"X_audio and X_visual must share the time axis (padded to the same "
                        f"T), got {Xa.shape[1]} and {Xv.shape[1]}.")
    labels = None
    if y is not None:
        labels = np.asarray(y)
        if labels.ndim != 1 or labels.shape[0] != Xa.shape[0]:
            raise UserError(
                f"y must be a 1-d label vector of length {Xa.shape[0]} (one per clip), "
                f"got shape {labels.shape}.")
        if not np.issubdtype(labels.dtype, np.integer):
            raise UserError(f"y must hold integer class ids, got dtype {labels.dtype}.")
        labels = labels.astype(np.int64)
    if need_labels:
        if labels is None:
            raise UserError("this method is supervised: pass the class labels y to fit().")
        if np.unique(labels).size < 2:
            raise UserError("y holds a single class: at least two classes are needed.")
    if n_components is not None and media:
        check_positive_int(n_components, "n_components")
    elif n_components is not None:
        n_components = check_positive_int(n_components, "n_components")
        narrow = min(Xa.shape[-1], Xv.shape[-1])
        if components_from_inputs and n_components > narrow:
            raise UserError(
                f"n_components={n_components} is larger than the narrower view "
                f"(X_audio has {Xa.shape[-1]} columns, X_visual {Xv.shape[-1]}).")
        if n_components > Xa.shape[0]:
            raise UserError(
                f"n_components={n_components} exceeds the number of samples ({Xa.shape[0]}).")
    return Xa, Xv, labels


def check_lengths(lengths: np.ndarray | None, n_clips: int, n_steps: int) -> np.ndarray:
    """Valid seconds per clip as int64 (N,); ``None`` = every clip uses all ``n_steps`` steps."""
    if lengths is None:
        return np.full(n_clips, n_steps, dtype=np.int64)
    L = np.asarray(lengths)
    if L.ndim != 1 or L.shape[0] != n_clips:
        raise UserError(f"lengths must be a 1-d array of length {n_clips} (one per clip), "
                        f"got shape {L.shape}.")
    if not np.issubdtype(L.dtype, np.integer):
        raise UserError(f"lengths must hold integers (seconds), got dtype {L.dtype}.")
    if L.min() < 1 or L.max() > n_steps:
        raise UserError(f"lengths must be in 1..{n_steps} (the sequences' time axis), got "
                        f"values in {L.min()}..{L.max()}.")
    return L.astype(np.int64)


def check_transform_view(X: Any, name: str, n_features: int, *,
                         input_kind: InputKindName = "mean",
                         lengths: np.ndarray | None = None,
                         input_shape: Sequence[int] | None = None) -> np.ndarray:
    """Validate ONE view given to ``transform``; return it as a float64 array (float32 for media).

    ``input_kind="mean"``: a non-empty (N, n_features) array of finite values.
    ``input_kind="sequence"``: a non-empty (N, T, n_features) array, zero-padded in time, with
    ``lengths`` (N,) valid steps per clip (``None`` = all T); only the valid steps must be finite
    (padding is never read).
    ``input_kind="media"``: a non-empty array of finite values whose rows have the fitted shape
    ``input_shape`` (e.g. (T, 64) for log-mel spectrograms); without ``input_shape``, rows of
    ``n_features`` values (the product of the row's shape).
    """
    if input_kind == "media":
        return _check_media_view(X, name, n_features, input_shape)
    ndim = 2 if input_kind == "mean" else 3
    expected = f"(N, {n_features})" if ndim == 2 else f"(N, T, {n_features})"
    A = _as_array(X, name, ndim, expected)
    if A.shape[-1] != n_features:
        raise UserError(
            f"{name} has {A.shape[-1]} columns (features) but the model was fitted on "
            f"{n_features}: {name} must be a non-empty {expected} array, got shape {A.shape}.")
    if input_kind == "mean":
        _check_finite(A, name)
    else:
        L = check_lengths(lengths, A.shape[0], A.shape[1])
        _check_finite(A, name, valid=np.arange(A.shape[1])[None, :] < L[:, None])
    _check_magnitude(A, name)                 # NaN padding compares False: never flagged here
    return A


def _check_media_view(X: Any, name: str, n_features: int,
                      input_shape: Sequence[int] | None) -> np.ndarray:
    """:func:`check_transform_view` for raw media: the row shape must be the fitted one."""
    A = _as_media_array(X, name)
    row = tuple(int(k) for k in A.shape[1:])
    if input_shape is not None:
        fitted = tuple(int(k) for k in input_shape)
        if row != fitted:
            raise UserError(
                f"{name} has rows of shape {row} but the model was fitted on rows of shape "
                f"{fitted}: {name} must be a non-empty (N, {', '.join(map(str, fitted))}) "
                f"array, got shape {A.shape}.")
    elif int(np.prod(row)) != n_features:
        raise UserError(
            f"{name} has rows of {int(np.prod(row))} values (shape {row}) but the model was "
            f"fitted on rows of {n_features}, got shape {A.shape}.")
    _check_finite(A, name)
    _check_magnitude(A, name)
    return A
