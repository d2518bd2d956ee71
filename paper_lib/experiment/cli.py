"""``paper-lib run``: one or more methods, cross-validated, MAP per direction as mean +- std."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from paper_lib import atomic
from paper_lib.errors import ParamError


def add_run_parser(sub: Any) -> None:
    p = sub.add_parser("run", help="cross-validate methods on a dataset; print MAP, write CSV")
    p.add_argument("--dataset", default="avdigits",
                   help="dataset name or a path to a generic .h5 file")
    p.add_argument("--data-dir", default="", help="root folder of real datasets")
    p.add_argument("--method", action="append", metavar="NAME",
                   help="method name (repeatable, or comma list); default: the paper's list")
    p.add_argument("--folds", default="all", help="'all' or a comma list such as 0,2")
    p.add_argument("--seed", type=int, default=0, help="seed of the methods (and of the data "
                   "generator for embedded datasets)")
    p.add_argument("--dim", type=int, default=10, help="number of correlation components d")
    p.add_argument("--epochs", type=int, default=10, help="epochs of the deep methods")
    p.add_argument("--out", default="", metavar="FILE.csv", help="write the tidy records here")
    p.add_argument("--no-cache", action="store_true",
                   help="refit everything (by default a split already evaluated with identical "
                        "data, parameters and code is read from .cache/experiments)")
    p.add_argument("--list-methods", action="store_true", help="list the method names and exit")


def run_command(args: argparse.Namespace) -> int:
    """Run the command; bad arguments raise :class:`ParamError` (one line, exit 2 in the CLI)."""
    from paper_lib.methods.registry import METHODS

    if args.list_methods:
        for spec in METHODS.values():
            print(f"{spec.name:18s} {spec.paper_name:28s} {spec.description}")
        return 0
    from paper_lib import threads
    from paper_lib.data.registry import load_dataset
    from paper_lib.experiment.grid import cross_validate, summarise
    from paper_lib.experiment.knobs import check_dataset, check_folds
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
    dataset = check_dataset(args.dataset)
    folds_text = check_folds(args.folds)
    ds = load_dataset(dataset, data_dir=args.data_dir or None, seed=args.seed)
    n_avail = ds.n_folds
    folds = None if folds_text == "all" else [int(f) for f in folds_text.split(",")]
    if folds is not None and any(not 0 <= f < n_avail for f in folds):
        raise ParamError(f"folds: allowed fold numbers are 0..{n_avail - 1}")
    narrow = min(ds.audio.shape[1], ds.visual.shape[1])
    if args.dim > narrow:
        raise ParamError(f"dim: {args.dim} is larger than the narrower view ({narrow} columns)")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    threads.apply_policy()
    df = cross_validate(ds, methods, folds=folds, seeds=[args.seed], dim=args.dim,
                        epochs=args.epochs, cache=not args.no_cache, log=log)
    table = summarise(df, "map")
    n_splits = int(table["n"].max()) if len(table) else 0
    print(f"\nMAP on {ds.name} ({n_splits} split(s), mean +- std, d={args.dim}, "
          f"seed={args.seed})")
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
