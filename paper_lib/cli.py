"""The ``paper-lib`` command line.

Subcommands: ``reproduce`` (execute the notebooks), ``book`` (reproduce, then build the HTML),
``data`` (list / fetch / verify datasets), ``run`` (methods, cross-validated), ``extract``
(features from a folder of videos), ``fit`` / ``embed`` / ``index`` / ``search`` (a saved model
and a nearest-neighbour index of a collection).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Sequence
from typing import Any

from paper_lib import __version__
from paper_lib.data.registry import DEFAULT_DATASET
from paper_lib.errors import UserError
from paper_lib.experiment.knobs import PROFILES


def _parse_param(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"-p expects NAME=VALUE, got {text!r}")
    name, raw = text.split("=", 1)
    try:
        value: Any = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    # `-p margins=0.1,0.5` reads as a tuple, which papermill would inject as its text
    return name.strip(), list(value) if isinstance(value, tuple) else value


def _add_pipeline_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default=DEFAULT_DATASET,
                   help="dataset name (see `paper-lib data list`) or a path to a generic .h5 file")
    p.add_argument("--profile", default="full", help=f"parameter profile: {', '.join(PROFILES)}")
    p.add_argument("--data-dir", default="", help="root folder of real datasets")
    p.add_argument("-p", "--param", action="append", type=_parse_param, default=[],
                   metavar="NAME=VALUE", help="override a profile knob, e.g. -p epochs=3")
    p.add_argument("--only", action="append", metavar="NOTEBOOK",
                   help="run only this notebook (repeatable), e.g. --only 01_data_overview")
    p.add_argument("--force", action="store_true", help="re-execute even if nothing changed")
    p.add_argument("--cell-timeout", type=float, default=None, metavar="SECONDS",
                   help="fail a notebook whose cell runs longer than this (default: 7200)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="notebooks executed side by side (default: one per available core; "
                        "each gets its share of the cores as threads)")


def build_parser() -> argparse.ArgumentParser:
    """The ``paper-lib`` argument parser and its subcommands ``reproduce``, ``book``, ``data``,
    ``run``, ``extract``."""
    parser = argparse.ArgumentParser(
        prog="paper-lib",
        description="Reproducible companion of TNN-C-CCA (Zeng, Yu, Oyama, ACM TOMM 2020).")
    parser.add_argument("--version", action="version", version=f"paper-lib {__version__}")
    parser.add_argument("--threads", default=None, metavar="N",
                        help="BLAS/torch threads of each process (default: the available cores, "
                             "shared among parallel workers; also $PAPER_LIB_THREADS, "
                             "$OMP_NUM_THREADS)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    rep = sub.add_parser("reproduce", help="execute every notebook with papermill (cached)")
    _add_pipeline_args(rep)
    book = sub.add_parser("book", help="reproduce, then build the HTML book in _build/html")
    _add_pipeline_args(book)
    book.add_argument("--no-strict", action="store_true", help="do not turn warnings into errors")
    from paper_lib.data.cli import add_data_parser

    add_data_parser(sub)
    from paper_lib.experiment.cli import add_run_parser

    add_run_parser(sub)
    from paper_lib.data.extract_cli import add_extract_parser

    add_extract_parser(sub)
    from paper_lib.search.cli import add_model_parsers

    add_model_parsers(sub)
    return parser


def _pipeline(args: argparse.Namespace, build_book: bool) -> int:
    from paper_lib.pipeline.execute import NotebookFailed, reproduce

    try:
        reproduce(args.dataset, args.profile, args.data_dir, extra=dict(args.param),
                  only=args.only, force=args.force, workers=args.workers,
                  **({} if args.cell_timeout is None else {"cell_timeout": args.cell_timeout}))
    except NotebookFailed as exc:
        print(exc.traceback, file=sys.stderr)
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if build_book:
        from paper_lib.pipeline.book import BookError, build

        if args.only:
            print("error: --only runs part of the book; build the book without it",
                  file=sys.stderr)
            return 2
        try:
            build(args.dataset, args.profile, strict=not args.no_strict)
        except BookError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``paper-lib`` with ``argv`` (default: the command line); returns the exit status
    (2 and one line on stderr for a :class:`~paper_lib.errors.UserError`)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.threads is not None:
            from paper_lib.threads import set_override

            set_override(args.threads)
        if args.command in ("reproduce", "book"):
            return _pipeline(args, build_book=args.command == "book")
        if args.command == "data":
            from paper_lib.data.cli import run_data

            return run_data(args)
        if args.command == "run":
            from paper_lib.experiment.cli import run_command

            return run_command(args)
        if args.command == "extract":
            from paper_lib.data.extract_cli import run_extract

            return run_extract(args)
        from paper_lib.search.cli import MODEL_COMMANDS, run_model_command

        if args.command in MODEL_COMMANDS:
            return run_model_command(args)
    except UserError as exc:  # bad data, a bad parameter or argument: one clear line
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C: one line; what finished is kept (and cached)
        progress = getattr(exc, "progress", "")
        print(f"interrupted; {progress + '; ' if progress else ''}re-run to resume",
              file=sys.stderr)
        return 130
    # anything else is a bug: it surfaces with its traceback
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
