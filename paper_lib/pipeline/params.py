"""Notebook parameters and the named profiles ``quick`` and ``full``.

Every notebook has a cell tagged ``parameters`` with flat literals (``dataset``, ``profile``,
``seed``, ``folds``, ``data_dir`` and its own knobs). ``resolve`` validates them and fills every
knob left at ``None`` from the profile, so ``papermill -p profile quick`` is all CI needs.
A bad value stops with one line naming the parameter and the allowed values.
"""

from __future__ import annotations

import ast
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from paper_lib.errors import ParamError

#: Profiles: ``quick`` keeps every notebook to seconds (CI, tests); ``full`` gives the numbers the
#: book publishes. Knobs a notebook does not use are simply ignored by it.
PROFILES: dict[str, dict[str, Any]] = {
    "quick": {"n_folds": 2, "epochs": 2, "seeds": [0], "dims": [10, 20], "margins": [0.1, 0.5, 1.1],
              "batch_numbers": [300, 600, 900], "betas": [0.0, 0.2, 1.0], "tsne_points": 300},
    "full": {"n_folds": 5, "epochs": 10, "seeds": [0, 1, 2], "dims": [10, 20, 30, 40, 50],
             "margins": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1],
             "batch_numbers": [300, 350, 400, 450, 500, 550, 600, 650, 700, 800, 900],
             "betas": [0.0, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0], "tsne_points": 1000},
}

EMBEDDED_DATASETS = ("synthetic", "avdigits")


@dataclass(frozen=True)
class RunParams:
    """The resolved parameters of one notebook run (saved with every result)."""

    dataset: str
    profile: str
    seed: int
    folds: str
    data_dir: str
    n_folds: int
    epochs: int
    seeds: list[int]
    dims: list[int]
    margins: list[float]
    batch_numbers: list[int]
    betas: list[float]
    tsne_points: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fold_list(self, n_available: int) -> list[int]:
        """The folds to evaluate: ``all`` = the first ``n_folds`` (the profile's), else the list."""
        if self.folds == "all":
            return list(range(min(self.n_folds, n_available)))
        chosen = [int(f) for f in self.folds.split(",")]
        bad = [f for f in chosen if not 0 <= f < n_available]
        if bad:
            raise ParamError(f"folds: fold {bad[0]} does not exist; allowed: 0..{n_available - 1}")
        return chosen


def allowed_datasets() -> list[str]:
    """Dataset names accepted everywhere (a path to a generic HDF5 file is accepted too)."""
    try:
        from paper_lib.data.registry import dataset_names
        return list(dataset_names())
    except ImportError:  # pragma: no cover - the registry is part of the package
        return list(EMBEDDED_DATASETS)


def check_dataset(dataset: str) -> str:
    names = allowed_datasets()
    if dataset in names:
        return dataset
    path = Path(dataset).expanduser()
    if path.suffix.lower() in (".h5", ".hdf5"):
        if not path.is_file():
            raise ParamError(f"dataset: file {str(path)!r} does not exist")
        return str(path.resolve())
    raise ParamError(f"dataset: unknown dataset {dataset!r}; allowed: {', '.join(names)} "
                     f"or a path to a generic .h5 file")


def check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise ParamError(f"profile: unknown profile {profile!r}; allowed: {', '.join(PROFILES)}")
    return profile


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise ParamError(f"{name}: must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ParamError(f"{name}: must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_folds(folds: Any) -> str:
    text = str(folds).replace(" ", "")
    if text == "all":
        return text
    parts = text.split(",")
    if not text or not all(p.isdigit() for p in parts):
        raise ParamError(f"folds: must be 'all' or a comma list of fold numbers like '0,2', "
                         f"got {folds!r}")
    return text


def resolve(dataset: str = "avdigits", profile: str = "quick", seed: int = 0,
            folds: str = "all", data_dir: str = "", **overrides: Any) -> RunParams:
    """Validate the parameters and fill knobs left at ``None`` from the profile."""
    check_profile(profile)
    values = dict(PROFILES[profile])
    unknown = sorted(set(overrides) - set(values))
    if unknown:
        raise ParamError(f"{unknown[0]}: unknown parameter; allowed: "
                         f"dataset, profile, seed, folds, data_dir, {', '.join(values)}")
    values.update({k: v for k, v in overrides.items() if v is not None})
    values["n_folds"] = _positive_int("n_folds", values["n_folds"], minimum=2)
    values["epochs"] = _positive_int("epochs", values["epochs"])
    values["tsne_points"] = _positive_int("tsne_points", values["tsne_points"], minimum=10)
    values["seeds"] = [_positive_int("seeds", s, minimum=0) for s in _as_list(values["seeds"])]
    values["dims"] = [_positive_int("dims", d) for d in _as_list(values["dims"])]
    values["batch_numbers"] = [_positive_int("batch_numbers", b)
                               for b in _as_list(values["batch_numbers"])]
    values["margins"] = [float(m) for m in _as_list(values["margins"])]
    values["betas"] = [float(b) for b in _as_list(values["betas"])]
    if any(not 0.0 <= b <= 1.0 for b in values["betas"]):
        raise ParamError(f"betas: every beta must lie in [0, 1], got {values['betas']}")
    if any(m < 0 for m in values["margins"]):
        raise ParamError(f"margins: must be >= 0, got {values['margins']}")
    return RunParams(dataset=check_dataset(dataset), profile=profile,
                     seed=_positive_int("seed", seed, minimum=0), folds=_check_folds(folds),
                     data_dir=str(data_dir or ""), **values)


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str):  # "0,1,2" from the command line
        try:
            return [ast.literal_eval(v) for v in value.replace(" ", "").split(",") if v]
        except (ValueError, SyntaxError) as exc:
            raise ParamError(f"expected a comma list of numbers, got {value!r}") from exc
    if isinstance(value, list | tuple):
        return list(value)
    return [value]
