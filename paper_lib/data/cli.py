"""``paper-lib data list | fetch NAME | verify NAME``: the datasets from the command line."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from paper_lib.errors import DataError

#: exit codes: 0 fine, 1 a check failed / not present, 2 bad input or manual download required
EXIT_OK, EXIT_FAILED, EXIT_MANUAL = 0, 1, 2


def add_data_parser(subparsers: Any) -> None:
    """Add the ``data`` command (with ``list``, ``fetch``, ``verify``) to ``subparsers``."""
    data = subparsers.add_parser("data", help="list, fetch or verify datasets",
                                 description="Datasets: which are known and present, fetch the "
                                             "downloadable ones, verify files against the "
                                             "manifest (data_manifest/NAME.yaml).")
    sub = data.add_subparsers(dest="data_command", metavar="ACTION")
    lst = sub.add_parser("list", help="every dataset (embedded or real) and whether it is present")
    lst.add_argument("--data-dir", default="", help="root folder of real datasets")
    fetch = sub.add_parser("fetch", help="download a dataset (or print the manual steps)")
    fetch.add_argument("name", help="dataset name")
    fetch.add_argument("--data-dir", default="",
                       help="the dataset's folder, or a root holding NAME/ (default: data/NAME)")
    fetch.add_argument("--url", default=None,
                       help="download from this URL instead of the manifest's (checksum still "
                            "verified against the manifest)")
    fetch.add_argument("--no-progress", action="store_true", help="no progress bar")
    ver = sub.add_parser("verify", help="check files, sizes, checksums and shapes (offline)")
    ver.add_argument("name", help="dataset name")
    ver.add_argument("--data-dir", default="",
                     help="the dataset's folder, or a root holding NAME/ (default: data/NAME)")
    ver.add_argument("--deep", action="store_true",
                     help="also load the whole dataset with every loader check")


def run_data(args: argparse.Namespace) -> int:
    """Run ``paper-lib data ...``; return the process exit code."""
    action = getattr(args, "data_command", None)
    try:
        if action == "list":
            return _list(args)
        if action == "fetch":
            return _fetch(args)
        if action == "verify":
            return _verify(args)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_MANUAL
    print("usage: paper-lib data {list,fetch NAME,verify NAME} [--data-dir DIR]",
          file=sys.stderr)
    return EXIT_MANUAL


def _known(name: str) -> None:
    from paper_lib.data.registry import dataset_names

    if name not in dataset_names():
        raise DataError(f"unknown dataset {name!r}: allowed names are "
                        f"{', '.join(dataset_names())}")


def _list(args: argparse.Namespace) -> int:
    from paper_lib.data.locate import dataset_status
    from paper_lib.data.registry import dataset_names

    rows = [dataset_status(n, args.data_dir or None) for n in dataset_names()]
    width = max(len(r["name"]) for r in rows)
    print(f"{'name':<{width}}  {'kind':<8}  {'present':<7}  {'format':<12}  where")
    for r in rows:
        present = "yes" if r["present"] else "no"
        print(f"{r['name']:<{width}}  {r['kind']:<8}  {present:<7}  {r['format'] or '-':<12}  "
              f"{r['where']}")
    print("A path to a generic HDF5 file is accepted wherever a dataset name is "
          "(format: data_manifest/README.md).")
    return EXIT_OK


def _fetch(args: argparse.Namespace) -> int:
    from paper_lib.data.fetch import ManualDownloadRequired, fetch

    _known(args.name)
    try:
        result = fetch(args.name, args.data_dir or None, url_override=args.url,
                       progress=not getattr(args, "no_progress", False))
    except ManualDownloadRequired as exc:
        print(str(exc))
        return EXIT_MANUAL
    print(result.message)
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    from paper_lib.data.verify import verify

    _known(args.name)
    report = verify(args.name, args.data_dir or None, deep=getattr(args, "deep", False))
    print(report.text())
    return EXIT_OK if report.ok else EXIT_FAILED
