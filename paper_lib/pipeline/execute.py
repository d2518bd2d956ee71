"""Run every notebook through papermill, from its jupytext ``.py`` source into ``_build``.

- Sources: ``notebooks/NN_name.py`` (jupytext percent format) - never written to.
- Output:  ``_build/executed/<dataset>-<profile>/NN_name.ipynb`` plus a ``.stamp.json``.
- Cache:   a notebook is skipped when the stamp's input key matches: the source text, the resolved
           parameters, the ``paper_lib`` code, the pinned requirements and the data fingerprint.
- Failure: the run stops; the failing cell's traceback is printed and the partially executed
           notebook is kept as ``NN_name.failed.ipynb``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paper_lib import atomic, paths
from paper_lib._optional import require
from paper_lib.errors import ParamError
from paper_lib.fingerprint import code_fingerprint, files_fingerprint

NOTEBOOK_DIR = paths.REPO_ROOT / "notebooks"
#: a notebook whose source contains this marker reads the results of the notebooks before it
READS_EARLIER_RESULTS = "# paper_lib: reads-earlier-results"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class NotebookFailed(RuntimeError):
    """A notebook raised; ``.partial`` is the kept partially executed notebook."""

    def __init__(self, notebook: str, traceback: str, partial: Path) -> None:
        super().__init__(f"notebook {notebook} failed; partial output kept at {partial}")
        self.notebook = notebook
        self.traceback = traceback
        self.partial = partial


@dataclass
class Outcome:
    """What happened to one notebook in :func:`reproduce`.

    Attributes
    ----------
    notebook : str
        The notebook's name.
    status : str
        ``"executed"`` or ``"cached"``.
    seconds : float
        Wall time of the execution that produced the output.
    """

    notebook: str
    status: str        # "executed" | "cached"
    seconds: float     # wall time of the execution that produced the output


def notebook_sources(directory: Path = NOTEBOOK_DIR) -> list[Path]:
    """The notebooks in book order (their ``NN_`` prefix)."""
    return sorted(p for p in directory.glob("[0-9][0-9]_*.py"))


def executed_dir(dataset: str, profile: str) -> Path:
    """``_build/executed/<dataset>-<profile>`` (same key as the results folder)."""
    from paper_lib.pipeline.notebook import results_root

    return paths.build_dir() / "executed" / results_root(dataset, profile).name


def data_fingerprint(dataset: str, data_dir: str) -> str:
    """Identity of the data: embedded data is defined by its code (in the code fingerprint);
    real data by the names, sizes and modification times of its files, in the folder the data
    layer loads them from (``data_dir`` may be a root holding ``<dataset>/`` or the dataset's
    own folder), or of the generic HDF5 file itself."""
    from paper_lib.data.registry import EMBEDDED as EMBEDDED_DATASETS

    if dataset in EMBEDDED_DATASETS:
        return f"embedded:{dataset}"
    if Path(dataset).is_file() or Path(dataset).is_dir():   # a generic .h5, a per-clip folder
        return files_fingerprint(Path(dataset))
    from paper_lib.data.locate import dataset_dir

    return files_fingerprint(dataset_dir(dataset, data_dir or None))


def input_key(source: Path, parameters: dict[str, Any], data_key: str) -> str:
    """The execution cache key of a notebook: a hash of its source, its parameters, the library
    code, the pinned requirements and the data (``data_key``)."""
    h = hashlib.sha256()
    h.update(source.read_bytes())
    h.update(json.dumps(parameters, sort_keys=True).encode())
    h.update(code_fingerprint().encode())
    h.update((paths.REPO_ROOT / "requirements.txt").read_bytes())
    h.update(data_key.encode())
    return h.hexdigest()


def run_notebook(source: Path, output: Path, parameters: dict[str, Any]) -> float:
    """Execute one notebook with papermill; return its wall time. Raises :class:`NotebookFailed`."""
    jupytext = require("jupytext", extra="book")
    papermill = require("papermill", extra="book")
    PapermillExecutionError = require("papermill.exceptions", extra="book").PapermillExecutionError

    output.parent.mkdir(parents=True, exist_ok=True)
    failed = output.with_suffix(".failed.ipynb")
    failed.unlink(missing_ok=True)
    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="paper_lib_nb_") as tmp:
        src_ipynb = Path(tmp) / f"{source.stem}.ipynb"
        jupytext.write(nb, src_ipynb)
        with atomic.atomic_path(output) as tmp_out:
            try:
                papermill.execute_notebook(
                    str(src_ipynb), str(tmp_out), parameters=parameters, kernel_name="python3",
                    progress_bar=False, cwd=str(paths.REPO_ROOT), log_output=False)
            except PapermillExecutionError as exc:
                os.replace(tmp_out, failed)
                tb = _ANSI.sub("", "\n".join(exc.traceback))
                raise NotebookFailed(source.stem, f"cell {exc.exec_count}: {tb}", failed) from None
            _fold_parameter_cells(tmp_out)
    return time.perf_counter() - t0


def _fold_parameter_cells(path: Path) -> None:
    """Fold the ``parameters`` and papermill's ``injected-parameters`` cells in the book
    (``hide-cell``): the reader sees the resolved parameters, not two cells of literals."""
    nbformat = require("nbformat", extra="book")
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if {"parameters", "injected-parameters"} & set(tags) and "hide-cell" not in tags:
            tags.append("hide-cell")
    nbformat.write(nb, path)


def check_data_present(dataset: str, data_dir: str) -> None:
    """Stop before any notebook runs when a real dataset's files are missing, with the data
    layer's message (which file, where it looked, how to obtain it)."""
    from paper_lib.data.registry import EMBEDDED as EMBEDDED_DATASETS

    if dataset in EMBEDDED_DATASETS or Path(dataset).is_file():
        return
    if Path(dataset).is_dir():           # a per-clip folder: load it (every reader check)
        from paper_lib.data.registry import load_dataset

        load_dataset(dataset)
        return
    from paper_lib.data.locate import dataset_status
    from paper_lib.data.registry import load_dataset

    if not dataset_status(dataset, data_dir or None)["present"]:
        load_dataset(dataset, data_dir=data_dir or None)  # raises DataError naming the files


def reproduce(dataset: str, profile: str, data_dir: str = "", extra: dict[str, Any] | None = None,
              only: list[str] | None = None, force: bool = False,
              log: Callable[[str], None] = print) -> list[Outcome]:
    """Execute every notebook (or those named in ``only``) unless its cached output is current."""
    from paper_lib.pipeline.params import COMMON_KNOBS, check_extra, resolve

    # fail fast: every parameter is checked before the first notebook runs
    common = {k.name for k in COMMON_KNOBS}
    resolve(dataset=dataset, profile=profile, data_dir=data_dir,
            **{k: v for k, v in (extra or {}).items() if k in common})
    check_extra(profile, extra or {})
    check_data_present(dataset, data_dir)
    sources = notebook_sources()
    if only:
        unknown = sorted(set(only) - {s.stem for s in sources})
        if unknown:
            raise ParamError(f"notebook: unknown notebook {unknown[0]!r}; allowed: "
                             f"{', '.join(s.stem for s in sources)}")
        sources = [s for s in sources if s.stem in only]
    parameters = {"dataset": dataset, "profile": profile, "data_dir": data_dir, **(extra or {})}
    out_dir = executed_dir(dataset, profile)
    data_key = data_fingerprint(dataset, data_dir)
    outcomes: list[Outcome] = []
    earlier_keys: list[str] = []
    t_start = time.perf_counter()
    for i, source in enumerate(sources, start=1):
        output = out_dir / f"{source.stem}.ipynb"
        stamp_path = output.with_suffix(".stamp.json")
        key = input_key(source, parameters, data_key)
        if READS_EARLIER_RESULTS in source.read_text():
            # a summary notebook re-runs whenever any notebook before it would
            key = hashlib.sha256((key + "".join(earlier_keys)).encode()).hexdigest()
        earlier_keys.append(key)
        stamp = json.loads(stamp_path.read_text()) if stamp_path.is_file() else {}
        prefix = f"[{i}/{len(sources)}] {source.stem}"
        if not force and output.is_file() and stamp.get("key") == key:
            outcomes.append(Outcome(source.stem, "cached", stamp.get("seconds", 0.0)))
            log(f"{prefix}: unchanged, cached ({len(sources) - i} left)")
            continue
        log(f"{prefix}: executing ...")
        seconds = run_notebook(source, output, parameters)
        atomic.write_json(stamp_path, {"key": key, "seconds": round(seconds, 2),
                                       "parameters": parameters, "notebook": source.stem})
        outcomes.append(Outcome(source.stem, "executed", seconds))
        elapsed = time.perf_counter() - t_start
        log(f"{prefix}: done in {seconds:.1f} s (elapsed {elapsed:.0f} s, "
            f"{len(sources) - i} left)")
        sys.stdout.flush()
    return outcomes
