"""``paper-lib run``: methods cross-validated on a dataset, MAP per direction as mean +- std.

Variants without Python: ``--set KEY=VALUE`` (repeatable) passes a hyper-parameter to every
method's estimator, checked against the estimator's own parameters, and labels the records'
``setting`` column (``margin=0.3,symmetric=True``); ``--seeds 0,1,2`` averages over seeds.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from paper_lib import atomic
from paper_lib.data.registry import DEFAULT_DATASET
from paper_lib.errors import ParamError, UserError

#: estimator parameters the command sets from its own options (``--dim``, ``--seed(s)``,
#: ``--epochs``), so ``--set`` may not
RESERVED = {"n_components": "--dim", "random_state": "--seed/--seeds", "epochs": "--epochs"}


def add_run_parser(sub: Any) -> None:
    """Add the ``run`` subcommand and its options to the ``paper-lib`` subparsers ``sub``."""
    p = sub.add_parser("run", help="cross-validate methods on a dataset; print MAP, write CSV")
    p.add_argument("--dataset", default=DEFAULT_DATASET,
                   help="dataset name or a path to a generic .h5 file")
    p.add_argument("--data-dir", default="", help="root folder of real datasets")
    p.add_argument("--method", action="append", metavar="NAME",
                   help="method name (repeatable, or comma list); default: the paper's list")
    p.add_argument("--folds", default="all", help="'all' or a comma list such as 0,2")
    p.add_argument("--seed", type=int, default=0, help="seed of the methods (and of the data "
                   "generator for embedded datasets)")
    p.add_argument("--seeds", default="", metavar="0,1,2",
                   help="training seeds to average over (default: --seed)")
    p.add_argument("--dim", type=int, default=10, help="number of correlation components d")
    p.add_argument("--epochs", type=int, default=10, help="epochs of the deep methods")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="hyper",
                   help="a hyper-parameter of the estimator (repeatable), e.g. --set margin=0.3 "
                        "--set symmetric=true; `--list-params METHOD` lists the keys")
    p.add_argument("--out", default="", metavar="FILE.csv", help="write the tidy records here")
    p.add_argument("--no-cache", action="store_true",
                   help="refit everything (by default a split already evaluated with identical "
                        "data, parameters and code is read from .cache/experiments)")
    p.add_argument("--scheduler", default="", metavar="ADDRESS",
                   help="run the fits on this Dask scheduler (e.g. tcp://10.0.0.5:8786); "
                        "'local' starts a LocalCluster sized to this machine; default: in this "
                        "process. The numbers are the same either way.")
    p.add_argument("--list-methods", action="store_true", help="list the method names and exit")
    p.add_argument("--list-params", metavar="METHOD",
                   help="list the hyper-parameters --set accepts for METHOD and exit")


def parse_value(text: str) -> Any:
    """A command-line value: a Python literal (``0.3``, ``[64, 64]``, ``'beta'``), ``true`` /
    ``false`` / ``none`` in any case, or else the text itself."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_settings(items: list[str], option: str = "set") -> dict[str, Any]:
    """``["margin=0.3", "symmetric=true"]`` -> ``{"margin": 0.3, "symmetric": True}``; a bad
    item raises :class:`ParamError` naming ``option``."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ParamError(f"{option}: expected KEY=VALUE, got {item!r}")
        if key in out:
            raise ParamError(f"{option}: {key!r} is given twice")
        out[key] = parse_value(raw)
    return out


def setting_label(hyper: dict[str, Any]) -> str:
    """The records' ``setting`` of a variant: ``margin=0.3,symmetric=True`` (given order)."""
    return ",".join(f"{k}={v}" for k, v in hyper.items())


def settable_params(method: str) -> list[str]:
    """The hyper-parameters ``--set`` accepts for ``method``: its estimator's parameters minus
    those the command sets itself."""
    from paper_lib.experiment.evaluate import build_estimator

    return sorted(set(build_estimator(method, 1, 0, 1).get_params()) - set(RESERVED))


def check_dim(dim: int, ds: Any, n_train: int, rows: str, name: str, *,
              columns: bool = True) -> None:
    """Before any fit: ``dim`` correlation components need as many training rows (``n_train``,
    described by ``rows``) and, with ``columns``, as many columns in the narrower view (a linear
    method's directions live in the views' columns; a kernel or network method's need not).
    ``ParamError`` naming the argument ``name`` otherwise."""
    narrow = min(ds.audio.shape[1], ds.visual.shape[1])
    if columns and dim > narrow:
        raise ParamError(f"{name}: {dim} is larger than the narrower view ({narrow} columns)")
    if dim > n_train:
        raise ParamError(f"{name}: {dim} is larger than the {n_train} training rows of {rows}")


def check_settings(method: str, hyper: dict[str, Any], dim: int, seed: int,
                   epochs: int) -> None:
    """Every key must be a parameter of the method's estimator and every value pass its check."""
    from paper_lib.experiment.evaluate import build_estimator

    for key in hyper:
        if key in RESERVED:
            raise ParamError(f"set: {key!r} is set by {RESERVED[key]}, not by --set")
    allowed = settable_params(method)
    unknown = [k for k in hyper if k not in allowed]
    if unknown:
        raise ParamError(f"set: {unknown[0]!r} is not a parameter of {method}; allowed: "
                         f"{', '.join(allowed)}")
    try:
        build_estimator(method, dim, seed, epochs, hyper).check_hyperparameters()
    except ParamError:
        raise
    except UserError as exc:  # the estimator's own message names the parameter
        raise ParamError(f"set: {method}: {exc}") from exc


@contextlib.contextmanager
def _engine(scheduler: str) -> Iterator[Any]:
    """No client (serial), a LocalCluster (``local``) or a client of ``scheduler``."""
    if not scheduler:
        yield None
        return
    from paper_lib.engine import dask_client

    with dask_client(None if scheduler == "local" else scheduler) as client:
        yield client


def run_command(args: argparse.Namespace) -> int:
    """Run the command; bad arguments raise :class:`ParamError` (one line, exit 2 in the CLI)."""
    from paper_lib.methods.registry import METHODS

    if args.list_methods:
        for spec in METHODS.values():
            print(f"{spec.name:18s} {spec.paper_name:28s} {spec.description}")
        return 0
    if args.list_params:
        if args.list_params not in METHODS:
            raise ParamError(f"list-params: unknown method {args.list_params!r}; allowed: "
                             f"{', '.join(METHODS)}")
        print(" ".join(settable_params(args.list_params)))
        return 0
    from paper_lib import threads
    from paper_lib.data.registry import load_dataset
    from paper_lib.experiment.grid import Config, run_configs, summarise
    from paper_lib.experiment.knobs import check_dataset, check_folds, int_list, integer
    from paper_lib.paper import PAPER_METHODS

    methods = [m for item in (args.method or [",".join(PAPER_METHODS)]) for m in item.split(",")
               if m]
    for m in methods:
        if m not in METHODS:
            raise ParamError(f"method: unknown method {m!r}; allowed: {', '.join(METHODS)}")
    if args.dim < 1:
        raise ParamError(f"dim: must be an integer >= 1, got {args.dim}")
    if args.epochs < 1:
        raise ParamError(f"epochs: must be an integer >= 1, got {args.epochs}")
    seed = integer(minimum=0)("seed", args.seed)
    seeds = int_list(minimum=0, unique=True)("seeds", args.seeds) if args.seeds else [seed]
    if args.out:
        atomic.check_writable_file(args.out, "out")
    hyper = parse_settings(args.hyper)
    for m in methods:
        check_settings(m, hyper, args.dim, seeds[0], args.epochs)
    dataset = check_dataset(args.dataset)
    folds_text = check_folds(args.folds)
    ds = load_dataset(dataset, data_dir=args.data_dir or None, seed=seed)
    n_avail = ds.n_folds
    folds = None if folds_text == "all" else [int(f) for f in folds_text.split(",")]
    if folds is not None and any(not 0 <= f < n_avail for f in folds):
        raise ParamError(f"folds: allowed fold numbers are 0..{n_avail - 1}")
    smallest = min(ds.splits(folds), key=lambda split: split.train.size)
    check_dim(args.dim, ds, smallest.train.size, f"split {smallest.name}", "dim")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    threads.apply_policy()
    setting = setting_label(hyper)
    configs = [Config(m, args.dim, args.epochs, dict(hyper), setting) for m in methods]
    with _engine(args.scheduler) as client:
        df, _ = run_configs(ds, configs, folds=folds, seeds=seeds, cache=not args.no_cache,
                            log=log, client=client)
    table = summarise(df, "map")
    n_fits = int(table["n"].max()) if len(table) else 0
    print(f"\nMAP on {ds.name} ({n_fits} fit(s): {ds.n_folds if folds is None else len(folds)} "
          f"split(s) x {len(seeds)} seed(s) {seeds}, mean +- std, d={args.dim}"
          + (f", {setting}" if setting else "") + ")")
    print(f"{'method':18s} {'A->V':>17s} {'V->A':>17s}")
    for m in methods:
        cells = []
        for d in ("a2v", "v2a"):
            row = table[(table["method"] == m) & (table["direction"] == d)].iloc[0]
            cells.append(f"{row['mean']:.4f} +- {row['std']:.4f}")
        print(f"{m:18s} {cells[0]:>17s} {cells[1]:>17s}")
    if args.out:
        atomic.write_text(args.out, df.to_csv(index=False))
        print(f"records written to {args.out}")
    return 0
