"""Notebook parameters: the protocol's common ones, resolved once per notebook run.

Every notebook has a cell tagged ``parameters`` with flat literals (``dataset``, ``profile``,
``seed``, ``folds``, ``data_dir`` and its own knobs, all ``None`` by default). :func:`resolve`
checks the common ones and fills ``n_folds``, ``epochs`` and ``seeds`` from the profile; a
notebook's own knobs (an ablation's levels, the t-SNE sample size) are defined beside the code
that uses them and resolved with :meth:`paper_lib.pipeline.notebook.NotebookRun.knob`.
A bad value stops with one line naming the parameter and the allowed values.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import asdict, dataclass
from typing import Any

from paper_lib.data.registry import DEFAULT_DATASET
from paper_lib.errors import ParamError
from paper_lib.experiment.knobs import (
    EPOCHS,
    N_FOLDS,
    PROFILES,
    SEEDS,
    Knob,
    check_dataset,
    check_folds,
    check_profile,
    integer,
    known_knobs,
)

__all__ = ["PROFILES", "ParamError", "RunParams", "check_dataset", "check_folds",
           "check_profile", "check_extra", "resolve"]

#: the knobs every notebook shares (the others belong to one notebook each)
COMMON_KNOBS: tuple[Knob, ...] = (N_FOLDS, EPOCHS, SEEDS)


@dataclass(frozen=True)
class RunParams:
    """The resolved common parameters of one notebook run (saved with every result)."""

    dataset: str
    profile: str
    seed: int
    folds: str
    data_dir: str
    n_folds: int
    epochs: int
    seeds: list[int]

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


def resolve(dataset: str = DEFAULT_DATASET, profile: str = "quick", seed: int = 0,
            folds: str = "all", data_dir: str = "", **overrides: Any) -> RunParams:
    """Check the common parameters and fill the knobs left at ``None`` from the profile."""
    check_profile(profile)
    common = {k.name: k for k in COMMON_KNOBS}
    unknown = sorted(set(overrides) - set(common))
    if unknown:
        raise ParamError(f"{unknown[0]}: unknown parameter; allowed: "
                         f"dataset, profile, seed, folds, data_dir, {', '.join(common)}")
    values = {name: knob.resolve(profile, overrides.get(name)) for name, knob in common.items()}
    return RunParams(dataset=check_dataset(dataset), profile=profile,
                     seed=integer(minimum=0)("seed", seed), folds=check_folds(folds),
                     data_dir=str(data_dir or ""), **values)


def notebook_knobs() -> dict[str, Knob]:
    """Every knob a notebook may take: the common ones and those defined by the report modules
    (imported here so that each registers itself)."""
    import paper_lib.report as report

    for module in pkgutil.iter_modules(report.__path__):
        importlib.import_module(f"{report.__name__}.{module.name}")
    return known_knobs()


def check_extra(profile: str, extra: dict[str, Any]) -> dict[str, Any]:
    """Check ``-p NAME=VALUE`` overrides before any notebook runs: the name must be a knob of
    some notebook, the value must pass the knob's check. Returns them unchanged."""
    common = {k.name for k in COMMON_KNOBS}
    own = {name: value for name, value in extra.items() if name not in common}
    knobs = notebook_knobs() if own else {}
    for name, value in own.items():
        if name not in knobs:
            raise ParamError(f"{name}: unknown parameter; allowed: dataset, profile, seed, folds, "
                             f"data_dir, {', '.join(sorted(knobs))}")
        knobs[name].resolve(profile, value)
    return extra
