"""Knobs: a parameter's default (the full profile) and the quick profile's override, side by side.

After nanoGPT's ``configurator.py``: defaults are literals written next to the code that uses
them (each ablation's levels live in its report module), and a profile is a small set of
overrides, not a global record of every parameter. A knob checks a value given from the command
line or a notebook's parameter cell by type and range, and names itself in the error.

    MARGINS = Knob("margins", [0.1, 0.2, ..., 1.1], quick=[0.1, 0.5, 1.1], check=float_list(lo=0))
    margins = MARGINS.resolve(profile, value)       # value None -> the profile's levels

Every knob registers itself by name, so the pipeline can check a ``-p NAME=VALUE`` before any
notebook runs (:func:`known_knobs`).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from paper_lib.errors import ParamError

#: the named profiles: ``full`` gives the numbers the book publishes (every knob's default),
#: ``quick`` keeps every notebook to seconds (CI, tests) through each knob's ``quick`` override
PROFILES: tuple[str, ...] = ("quick", "full")
_REGISTRY: dict[str, Knob] = {}


def check_profile(profile: str) -> str:
    """``profile`` if it is one of :data:`PROFILES`, else :class:`~paper_lib.errors.ParamError`."""
    if profile not in PROFILES:
        raise ParamError(f"profile: unknown profile {profile!r}; allowed: {', '.join(PROFILES)}")
    return profile


@dataclass(frozen=True)
class Knob:
    """A named parameter with its default (full profile) and its quick-profile override."""

    name: str
    default: Any
    quick: Any = None                      # None: the quick profile uses the default too
    check: Callable[[str, Any], Any] = lambda name, value: value

    def __post_init__(self) -> None:
        known = _REGISTRY.get(self.name)
        # a module imported again (a new checker object) is the same knob; other values are not
        if known is not None and (known.default, known.quick) != (self.default, self.quick):
            raise ValueError(f"knob {self.name!r} is defined twice with different values")
        _REGISTRY.setdefault(self.name, self)  # the first definition (with its checker) stays

    def profile_value(self, profile: str) -> Any:
        """The knob's value in ``profile`` (the quick override, else the default)."""
        check_profile(profile)
        return self.default if profile == "full" or self.quick is None else self.quick

    def resolve(self, profile: str, value: Any = None) -> Any:
        """``value`` if given (checked), else the profile's value (checked)."""
        raw = self.profile_value(profile) if value is None else value
        return self.check(self.name, raw)


def known_knobs() -> dict[str, Knob]:
    """Every knob defined so far (import the modules that define them first)."""
    return dict(_REGISTRY)


# -- checkers ------------------------------------------------------------------------------------
def as_list(name: str, value: Any) -> list[Any]:
    """A list from a list/tuple, a scalar, or a comma string ``"0,1,2"`` (command line)."""
    if isinstance(value, str):
        try:
            return [ast.literal_eval(v) for v in value.replace(" ", "").split(",") if v]
        except (ValueError, SyntaxError) as exc:
            raise ParamError(f"{name}: expected a comma list of numbers, got {value!r}") from exc
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def integer(minimum: int = 1) -> Callable[[str, Any], int]:
    """An integer >= ``minimum`` (a float with an integral value is accepted; bools are not)."""
    def check(name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value \
                or value < minimum:
            raise ParamError(f"{name}: must be an integer >= {minimum}, got {value!r}")
        return int(value)
    return check


def int_list(minimum: int = 1, *, unique: bool = False) -> Callable[[str, Any], list[int]]:
    """A non-empty list of integers >= ``minimum`` (each at most once if ``unique``)."""
    one = integer(minimum)

    def check(name: str, value: Any) -> list[int]:
        items = as_list(name, value)
        if not items:
            raise ParamError(f"{name}: needs at least one value")
        out = [one(name, v) for v in items]
        twice = [v for i, v in enumerate(out) if v in out[:i]]
        if unique and twice:
            raise ParamError(f"{name}: {twice[0]} is given twice")
        return out
    return check


def float_list(lo: float | None = None, hi: float | None = None
               ) -> Callable[[str, Any], list[float]]:
    """A non-empty list of numbers within ``[lo, hi]`` (either bound optional)."""
    def check(name: str, value: Any) -> list[float]:
        items = as_list(name, value)
        if not items or any(isinstance(v, bool) or not isinstance(v, int | float) for v in items):
            raise ParamError(f"{name}: expected a non-empty list of numbers, got {value!r}")
        out = [float(v) for v in items]
        if (lo is not None and min(out) < lo) or (hi is not None and max(out) > hi):
            bounds = f"[{'' if lo is None else lo}, {'' if hi is None else hi}]"
            raise ParamError(f"{name}: every value must lie in {bounds}, got {out}")
        return out
    return check


def number(lo: float | None = None, hi: float | None = None) -> Callable[[str, Any], float]:
    """One number within ``[lo, hi]`` (either bound optional; bools are not numbers).

    >>> number(0, 90)("noise_angle", 30)
    30.0
    >>> number(0, 90)("noise_angle", 120)
    Traceback (most recent call last):
    ...
    paper_lib.errors.ParamError: noise_angle: must be a number in [0, 90], got 120
    """
    def check(name: str, value: Any) -> float:
        bounds = f"[{'' if lo is None else lo}, {'' if hi is None else hi}]"
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise ParamError(f"{name}: must be a number in {bounds}, got {value!r}")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ParamError(f"{name}: must be a number in {bounds}, got {value!r}")
        return float(value)
    return check


# -- the protocol's own parameters ---------------------------------------------------------------
def check_folds(folds: Any) -> str:
    """``"all"`` or a comma list of fold numbers (``"0,2"``); returned without spaces."""
    text = str(folds).replace(" ", "")
    if text == "all":
        return text
    parts = text.split(",")
    if not text or not all(p.isdigit() for p in parts):
        raise ParamError(f"folds: must be 'all' or a comma list of fold numbers like '0,2', "
                         f"got {folds!r}")
    repeated = sorted({p for p in parts if parts.count(p) > 1}, key=int)
    if repeated:
        raise ParamError(f"folds: fold {repeated[0]} is given twice; each fold is one split "
                         f"(got {folds!r})")
    return text


def check_dataset(dataset: str) -> str:
    """A dataset name of the registry, or the resolved path of an existing generic .h5 file or
    of a per-clip folder (``vgg/``, ``inception/``, ... as ``paper-lib extract`` writes)."""
    from pathlib import Path

    from paper_lib.data.registry import dataset_names

    names = list(dataset_names())
    if dataset in names:
        return dataset
    path = Path(dataset).expanduser()
    if path.suffix.lower() in (".h5", ".hdf5"):
        if not path.is_file():
            raise ParamError(f"dataset: file {str(path)!r} does not exist")
        return str(path.resolve())
    if path.is_dir():
        if not (path / "vgg").is_dir():
            raise ParamError(f"dataset: folder {str(path)!r} is not in the per-clip layout (no "
                             f"vgg/ sub-folder; see `paper-lib extract`)")
        return str(path.resolve())
    raise ParamError(f"dataset: unknown dataset {dataset!r}; allowed: {', '.join(names)}, "
                     f"a path to a generic .h5 file or to a per-clip folder")


#: folds evaluated when ``folds == "all"`` (the paper: 5-fold cross-validation)
N_FOLDS = Knob("n_folds", 5, quick=2, check=integer(minimum=2))
#: epochs of every deep method (the paper: 10)
EPOCHS = Knob("epochs", 10, quick=2, check=integer(minimum=1))
#: training seeds of the main comparison (its table, PR curves and statistics share the fits)
#: [choice] three seeds in the full profile: the std then covers folds and seeds
SEEDS = Knob("seeds", [0, 1, 2], quick=[0], check=int_list(minimum=0))
