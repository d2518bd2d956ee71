"""Experiment grids: every (config, split, seed) -> tidy records, through the shared cache."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from paper_lib.data.dataset import PairedDataset
from paper_lib.engine import run_tasks
from paper_lib.experiment.cache import evaluate_split_cached
from paper_lib.experiment.evaluate import RECORD_COLUMNS, build_estimator, evaluate_split, records
from paper_lib.experiment.result import SplitResult
from paper_lib.methods.registry import get_method
from paper_lib.metrics.cross_modal import DIRECTIONS


@dataclass(frozen=True)
class Config:
    """One cell of an experiment grid: a method with its hyper-parameters.

    Attributes
    ----------
    method : str
        A registered method name.
    dim : int, default=10
        d, the embedding dimension asked for.
    epochs : int, default=10
        Training epochs of the deep methods.
    hyper : dict, default={}
        Further hyper-parameters of the method.
    setting : str, default=""
        Labels the cell in the records (e.g. ``margin=0.3`` in an ablation).

    Examples
    --------
    >>> Config("c_cca", dim=2, hyper={"beta": 0.5}, setting="beta=0.5")
    Config(method='c_cca', dim=2, epochs=10, hyper={'beta': 0.5}, setting='beta=0.5')
    """

    method: str
    dim: int = 10
    epochs: int = 10
    hyper: dict[str, Any] = field(default_factory=dict)
    setting: str = ""


def run_configs(ds: PairedDataset, configs: Sequence[Config], *,
                folds: Iterable[int] | None = None, seeds: Sequence[int] = (0,),
                cache: bool = False, metric: str = "cosine",
                log: Callable[[str], None] | None = None, client: Any = None,
                ) -> tuple[pd.DataFrame, list[SplitResult]]:
    """Every config x split x seed -> (tidy records with
    :data:`~paper_lib.experiment.evaluate.RECORD_COLUMNS`, results).

    With ``cache=True`` a split already evaluated with identical inputs is read back
    (:mod:`paper_lib.experiment.cache`) instead of refitted. A closed-form method is fitted with
    the first seed only (:func:`seeds_of`). With a Dask ``client`` the fits run on its cluster
    (:func:`paper_lib.engine.run_tasks`): one fit per task, each with one thread, records in
    the same order and with the same numbers as a serial run.

    Examples
    --------
    >>> from paper_lib.data.registry import load_dataset
    >>> ds = load_dataset("synthetic", n_classes=3, n_per_class=20, d_audio=8, d_visual=12,
    ...                   max_seconds=3, use_cache=False)     # 60 clips, 5 folds
    >>> configs = [Config("c_cca", dim=2, hyper={"beta": beta}, setting=f"beta={beta}")
    ...            for beta in (0.2, 0.8)]
    >>> df, results = run_configs(ds, configs, folds=[0, 1])
    >>> len(results), sorted(df["setting"].unique())
    (4, ['beta=0.2', 'beta=0.8'])
    """
    for c in configs:
        get_method(c.method)  # unknown names fail before any training
    fold_list = None if folds is None else list(folds)
    cells = [(c, split, seed) for c in configs for split in ds.splits(fold_list)
             for seed in seeds_of(c, seeds)]
    tasks = [(c.method, split, seed, c.dim, c.epochs, metric, c.hyper, cache)
             for c, split, seed in cells]

    def on_done(i: int, res: SplitResult) -> None:
        if log:
            c, split, seed = cells[i]
            log(f"{c.method} {c.setting} {split.name} seed={seed}: MAP a2v "
                f"{res.metrics['a2v']['map']:.4f} v2a {res.metrics['v2a']['map']:.4f} "
                f"({res.fit_seconds:.1f} s)")

    results = run_tasks(_evaluate_task, tasks, client=client, shared=(ds,), on_done=on_done)
    rows: list[dict[str, Any]] = []
    for (c, _split, _seed), res in zip(cells, results, strict=True):
        rows += records(res, ds.name, c.dim, c.setting)
    return pd.DataFrame(rows, columns=RECORD_COLUMNS), results


def _evaluate_task(ds: PairedDataset, method: str, split: Any, seed: int, dim: int, epochs: int,
                   metric: str, hyper: dict[str, Any], cache: bool) -> SplitResult:
    """One cell of a grid (a module-level function, so that a Dask worker can run it)."""
    evaluate = evaluate_split_cached if cache else evaluate_split
    return evaluate(ds, method, split, seed=seed, dim=dim, epochs=epochs, metric=metric,
                    hyper=hyper)


def seeds_of(config: Config, seeds: Sequence[int]) -> list[int]:
    """The seeds a config is fitted with: all of them, or only the first for a closed-form method
    whose fit does not depend on the seed (``seed_dependent = False``): three identical fits
    would shrink the standard deviation and inflate a paired test without adding evidence."""
    if not seeds:
        raise ValueError("seeds: at least one seed is needed")
    est = build_estimator(config.method, config.dim, int(seeds[0]), config.epochs, config.hyper)
    return [int(s) for s in seeds] if est.seed_dependent else [int(seeds[0])]


def cross_validate(ds: PairedDataset, methods: Sequence[str], *, folds: Iterable[int] | None = None,
                   seeds: Sequence[int] = (0,), dim: int = 10, epochs: int = 10,
                   hyper: dict[str, dict[str, Any]] | None = None, cache: bool = False,
                   log: Callable[[str], None] | None = None, client: Any = None) -> pd.DataFrame:
    """Every method x split x seed; a tidy frame with
    :data:`~paper_lib.experiment.evaluate.RECORD_COLUMNS`.

    Examples
    --------
    >>> from paper_lib.data.registry import load_dataset
    >>> ds = load_dataset("synthetic", n_classes=3, n_per_class=20, d_audio=8, d_visual=12,
    ...                   max_seconds=3, use_cache=False)     # 60 clips, 5 folds
    >>> df = cross_validate(ds, ["cca", "c_cca"], dim=2, folds=[0, 1])
    >>> summarise(df)[["method", "direction", "n"]].values.tolist()   # + mean and std of MAP
    [['cca', 'a2v', 2], ['cca', 'v2a', 2], ['c_cca', 'a2v', 2], ['c_cca', 'v2a', 2]]
    >>> fits_label(df)
    '2 folds × 1 seed'
    """
    configs = [Config(m, dim, epochs, dict((hyper or {}).get(m, {}))) for m in methods]
    return run_configs(ds, configs, folds=folds, seeds=seeds, cache=cache, log=log,
                       client=client)[0]


def fits_label(records: pd.DataFrame) -> str:
    """How many fits a mean covers, in words: ``"5 folds × 3 seeds"``, ``"1 split × 1 seed"``."""
    n_splits, n_seeds = int(records["fold"].nunique()), int(records["seed"].nunique())
    splits = "1 split" if n_splits == 1 else f"{n_splits} folds"
    return f"{splits} × {n_seeds} seed" + ("" if n_seeds == 1 else "s")


def dim_label(records: pd.DataFrame) -> str:
    """The d of a cell: ``"10"`` when every fit kept the requested d, else ``"9 of 10"`` (the
    directions kept, from the ``effective_dim`` records, beside the d requested); ``"64 bits"``
    for a hashing method (its ``code_bits`` records)."""
    bits = sorted({int(v) for v in records.loc[records["metric"] == "code_bits", "value"]})
    if bits:  # binary codes: their length, not the d asked (which a hashing method ignores)
        return "/".join(str(b) for b in bits) + " bits"
    requested = sorted({int(d) for d in records["dim"]})
    asked = "/".join(str(d) for d in requested)
    kept = sorted({int(v) for v in
                   records.loc[records["metric"] == "effective_dim", "value"]})
    if not kept or kept == requested:
        return asked
    got = str(kept[0]) if len(kept) == 1 else f"{kept[0]}–{kept[-1]}"
    return f"{got} of {asked}"


def _std(values: pd.Series) -> float:
    """Sample standard deviation (ddof = 1); 0 for a single value."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def ranking_label(records: pd.DataFrame) -> str:
    """How a cell's gallery was ranked: ``"Hamming"`` for binary codes (``code_bits`` records),
    else ``"cosine"``, the paper's score (every table of the book ranks real-valued embeddings by
    cosine)."""
    return "Hamming" if (records["metric"] == "code_bits").any() else "cosine"


def summarise(df: pd.DataFrame, metric: str = "map") -> pd.DataFrame:
    """Mean and standard deviation (ddof = 1, over folds and seeds) per method, setting and
    direction, with the number of fits ``n``."""
    sub = df[(df["metric"] == metric) & df["direction"].isin(DIRECTIONS)]
    return (sub.groupby(["method", "setting", "direction"], sort=False)["value"]
            .agg(mean="mean", std=_std, n="count").reset_index())
