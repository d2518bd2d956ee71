"""Run every notebook through papermill, from its jupytext ``.py`` source into ``_build``.

- Sources: ``notebooks/NN_name.py`` (jupytext percent format) - never written to.
- Output:  ``_build/executed/<dataset>-<profile>/NN_name.ipynb`` plus a ``.stamp.json``.
- Cache:   a notebook is skipped when the stamp's input key matches: the source text, the resolved
           parameters, the ``paper_lib`` code, the pinned requirements and the data fingerprint.
- Parallel: independent notebooks execute side by side (``workers``, default one per core), each
           kernel with its share of the cores as threads (:mod:`paper_lib.threads`); a notebook
           that reads others' results starts after them, and one that runs alone gets every
           worker for its own grid (:mod:`paper_lib.pipeline.schedule`).
- Failure: no new notebook starts; those running finish; the failing cell's traceback is
           raised and the partially executed notebook is kept as ``NN_name.failed.ipynb``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paper_lib import atomic, paths, threads
from paper_lib._optional import require
from paper_lib.errors import ParamError
from paper_lib.fingerprint import code_fingerprint, files_fingerprint, sha256_file
from paper_lib.pipeline.schedule import (
    READS_EARLIER_RESULTS,
    dependencies,
    ready,
    runs_alone,
    startable,
)

NOTEBOOK_DIR = paths.REPO_ROOT / "notebooks"
#: the last run that executed notebooks, beside their outputs: wall time, workers, threads
RUN_RECORD = "run.json"
#: a notebook whose source contains this marker shows ``results/bench_*.csv`` (``make bench``):
#: its cache key covers their contents, so new measurements re-run it
READS_BENCHMARKS = "# paper_lib: reads-benchmarks"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class NotebookFailed(RuntimeError):
    """A notebook raised; ``.partial`` is the kept partially executed notebook."""

    def __init__(self, notebook: str, traceback: str, partial: Path) -> None:
        super().__init__(f"notebook {notebook} failed; partial output kept at {partial}")
        self.notebook = notebook
        self.traceback = traceback
        self.partial = partial

    def __reduce__(self) -> tuple[Any, ...]:  # raised in a pool worker, re-raised here
        return (NotebookFailed, (self.notebook, self.traceback, self.partial))


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


#: the default limit on one cell's execution, in seconds: generous (the longest cell of the full
#: profile on the 2-core build machine takes about 3 minutes; a real dataset's far longer), but it
#: turns a hung kernel into a clear failure instead of a build that waits for CI's own limit
CELL_TIMEOUT_SECONDS = 7200.0


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run: how far it got (the finished notebooks are kept and cached)."""

    def __init__(self, progress: str) -> None:
        super().__init__(progress)
        self.progress = progress


#: the system temp folder's working folders of notebook runs: ``paper_lib_nb_<pid>_<random>``
KERNEL_FOLDER_PREFIX = "paper_lib_nb_"
_KERNEL_FOLDER = re.compile(re.escape(KERNEL_FOLDER_PREFIX) + r"(\d+)_")


def remove_interrupted_leftovers(*folders: Path) -> int:
    """Remove what a killed run left behind: the atomic writers' temporaries under ``folders``
    (a half-written executed notebook, result or cache file) and the notebook working folders
    in the system temp folder, each only if the process that made it is gone. Returns how many
    were removed."""
    removed = sum(len(atomic.remove_stale_temporaries(folder)) for folder in folders)
    for path in Path(tempfile.gettempdir()).glob(f"{KERNEL_FOLDER_PREFIX}*"):
        match = _KERNEL_FOLDER.match(path.name)
        if match is not None and path.is_dir() and not atomic.pid_alive(int(match.group(1))):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


def run_notebook(source: Path, output: Path, parameters: dict[str, Any],
                 environment: dict[str, str] | None = None,
                 cell_timeout: float = CELL_TIMEOUT_SECONDS) -> float:
    """Execute one notebook with papermill, its kernel started with ``environment`` added to
    this process's, each cell allowed ``cell_timeout`` seconds; return its wall time. Raises
    :class:`NotebookFailed` (a failing or a timed-out cell)."""
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
    with tempfile.TemporaryDirectory(prefix=f"{KERNEL_FOLDER_PREFIX}{os.getpid()}_") as tmp, \
            _environment(environment or {}):
        src_ipynb = Path(tmp) / f"{source.stem}.ipynb"
        jupytext.write(nb, src_ipynb)
        with atomic.atomic_path(output) as tmp_out:
            try:
                papermill.execute_notebook(
                    str(src_ipynb), str(tmp_out), parameters=parameters, kernel_name="python3",
                    progress_bar=False, cwd=str(paths.REPO_ROOT), log_output=False,
                    execution_timeout=int(cell_timeout))
            except PapermillExecutionError as exc:
                os.replace(tmp_out, failed)
                tb = _ANSI.sub("", "\n".join(exc.traceback))
                raise NotebookFailed(source.stem, f"cell {exc.exec_count}: {tb}", failed) from None
            except TimeoutError:          # nbclient's CellTimeoutError: a hung or too slow cell
                if tmp_out.is_file():
                    os.replace(tmp_out, failed)
                raise NotebookFailed(
                    source.stem, f"a cell ran longer than the cell timeout ({cell_timeout:.0f} s;"
                    f" `--cell-timeout SECONDS` raises it)", failed) from None
            _prepare_page(tmp_out, source.stem)
    return time.perf_counter() - t0


@contextlib.contextmanager
def _environment(entries: dict[str, str]) -> Iterator[None]:
    """``entries`` in ``os.environ`` inside the block (the kernel started there inherits them),
    the previous values restored after it."""
    before = {k: os.environ.get(k) for k in entries}
    os.environ.update(entries)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


#: the heading of the cell that closes every page with links to its notebook and source
FILES_HEADING = "Files of this page"


def _prepare_page(path: Path, stem: str) -> None:
    """Make the executed notebook a book page, in one read and one write:

    - remove the ``parameters`` cell (the defaults) and papermill's ``injected-parameters``
      cell (the values passed) from the page (``remove-cell``): the page states the resolved
      parameters it ran with in one line instead
      (:func:`paper_lib.pipeline.present.parameters_line`, shown by ``start``);
    - close the page with links to download its executed notebook and its jupytext source
      (both staged beside the page, :func:`paper_lib.pipeline.book.stage`).
    """
    nbformat = require("nbformat", extra="book")
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if {"parameters", "injected-parameters"} & set(tags) and "remove-cell" not in tags:
            tags.append("remove-cell")
    nb.cells.append(nbformat.v4.new_markdown_cell(
        f"**{FILES_HEADING}:** {{download}}`executed notebook ({stem}.ipynb) <{stem}.ipynb>` · "
        f"{{download}}`source ({stem}.py, jupytext) <{stem}.py>`. Re-run it with "
        f"`paper-lib reproduce --only {stem}` (see the README)."))
    nbformat.write(nb, path)


def check_data_present(dataset: str, data_dir: str) -> None:
    """Stop before any notebook runs when a real dataset's files are missing or a given file or
    folder is not a readable dataset, with the data layer's message (which file, where it looked,
    what is wrong, how to obtain it)."""
    from paper_lib.data.registry import EMBEDDED as EMBEDDED_DATASETS

    if dataset in EMBEDDED_DATASETS:
        return
    if Path(dataset).is_file() or Path(dataset).is_dir():
        # a generic .h5 file or a per-clip folder: load it now (every reader check), so that a
        # bad file stops the run before the first notebook writes anything
        from paper_lib.data.registry import load_dataset

        load_dataset(dataset)
        return
    from paper_lib.data.locate import dataset_status
    from paper_lib.data.registry import load_dataset

    if not dataset_status(dataset, data_dir or None)["present"]:
        load_dataset(dataset, data_dir=data_dir or None)  # raises DataError naming the files


def prepare_embedded(dataset: str, seed: int, log: Callable[[str], None]) -> None:
    """Generate (or read from the cache) an embedded dataset, and the same clips in the other
    feature regime (which the main table and the data chapter read too), once, before the
    notebooks run: parallel notebooks then all read the cached arrays, instead of each
    generating them at the same time (``avdigits-pretrained`` pretrains two networks)."""
    from paper_lib.data.registry import EMBEDDED as EMBEDDED_DATASETS
    from paper_lib.data.registry import load_dataset
    from paper_lib.report.regimes import companion

    other = companion(dataset)
    for name in (dataset, *([other] if other else [])):
        if name in EMBEDDED_DATASETS:
            t0 = time.perf_counter()
            load_dataset(name, seed=seed)
            log(f"dataset {name} (seed {seed}) ready in {time.perf_counter() - t0:.1f} s")


@dataclass
class _Job:
    """A notebook to execute: where from, where to, and its cache key."""

    source: Path
    output: Path
    key: str


def _init_worker(environment: dict[str, str]) -> None:
    """A pool worker's environment, inherited by the kernels it starts: its thread share. A
    worker ignores Ctrl-C: the build's process handles it (one line, not one traceback per
    worker), and the kernels, which get it too, stop their cells."""
    os.environ.update(environment)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _plan(sources: list[Path], parameters: dict[str, Any], data_key: str, out_dir: Path,
          force: bool) -> tuple[list[Outcome], list[_Job]]:
    """Split the notebooks into the current ones (cached) and those to execute (with their
    keys); a summary notebook's key covers the keys of every notebook before it."""
    cached: list[Outcome] = []
    jobs: list[_Job] = []
    earlier_keys: list[str] = []
    for source in sources:
        output = out_dir / f"{source.stem}.ipynb"
        key = input_key(source, parameters, data_key)
        text = source.read_text()
        if READS_BENCHMARKS in text:
            key = hashlib.sha256((key + benchmarks_fingerprint()).encode()).hexdigest()
        if READS_EARLIER_RESULTS in text:
            # a summary notebook re-runs whenever any notebook before it would
            key = hashlib.sha256((key + "".join(earlier_keys)).encode()).hexdigest()
        earlier_keys.append(key)
        stamp = _read_stamp(output)
        if not force and output.is_file() and stamp.get("key") == key:
            cached.append(Outcome(source.stem, "cached", stamp.get("seconds", 0.0)))
        else:
            jobs.append(_Job(source, output, key))
    return cached, jobs


def benchmarks_fingerprint() -> str:
    """The names and contents of ``results/bench_*.csv`` (``make bench``'s output)."""
    h = hashlib.sha256()
    for path in sorted(paths.results_dir().glob("bench_*.csv")):
        h.update(f"{path.name}:{sha256_file(path)};".encode())
    return h.hexdigest()


def _read_stamp(output: Path) -> dict[str, Any]:
    """The notebook's execution stamp; ``{}`` if none, or an unreadable one (discarded, naming
    the file: the notebook then runs again)."""
    return atomic.read_json_entry(output.with_suffix(".stamp.json")) or {}


def _estimate(output: Path) -> float:
    """A notebook's expected wall time, to start the long ones first: its last execution in
    this folder, else in another profile of the same dataset (the quick profile's timing ranks
    the notebooks of a first full run), else 0."""
    dataset_key = output.parent.name.rsplit("-", 1)[0]      # <dataset>-<profile>
    others = sorted(output.parent.parent.glob(f"{dataset_key}-*/{output.stem}.stamp.json"))
    for stamp in (output.with_suffix(".stamp.json"), *others):
        entry = atomic.read_json_entry(stamp)
        if entry is not None:
            return float(entry.get("seconds", 0.0))
    return 0.0


def _finish(job: _Job, seconds: float, parameters: dict[str, Any]) -> Outcome:
    atomic.write_json(job.output.with_suffix(".stamp.json"),
                      {"key": job.key, "seconds": round(seconds, 2), "parameters": parameters,
                       "notebook": job.source.stem})
    return Outcome(job.source.stem, "executed", seconds)


def resolve_workers(workers: int | None, n_jobs: int) -> int:
    """Notebooks run side by side: ``workers`` (a positive integer) or one per available core,
    never more than there are notebooks to run."""
    n = threads.available_cores() if workers is None else threads.check_count(workers, "workers")
    return max(1, min(n, n_jobs))


def reproduce(dataset: str, profile: str, data_dir: str = "", extra: dict[str, Any] | None = None,
              only: list[str] | None = None, force: bool = False,
              log: Callable[[str], None] = print, workers: int | None = None,
              cell_timeout: float = CELL_TIMEOUT_SECONDS) -> list[Outcome]:
    """Execute every notebook (or those named in ``only``) unless its cached output is current.
    A cell that runs longer than ``cell_timeout`` seconds fails its notebook.

    Independent notebooks run on ``workers`` processes at once (default: one per available
    core), each kernel with ``cores // workers`` threads; ``workers=1`` runs them one after
    the other in this process. Returns the outcomes in book order."""
    from paper_lib.pipeline.params import COMMON_KNOBS, check_extra, resolve

    # fail fast: every parameter is checked before the first notebook runs
    common = {k.name for k in COMMON_KNOBS}
    resolve(dataset=dataset, profile=profile, data_dir=data_dir,
            **{k: v for k, v in (extra or {}).items() if k in common})
    check_extra(profile, extra or {})
    if workers is not None:
        threads.check_count(workers, "workers")
    if not cell_timeout > 0:
        raise ParamError(f"cell-timeout: must be a positive number of seconds, got {cell_timeout}")
    check_data_present(dataset, data_dir)
    all_sources = notebook_sources()
    sources = all_sources
    if only:
        unknown = sorted(set(only) - {s.stem for s in sources})
        if unknown:
            raise ParamError(f"notebook: unknown notebook {unknown[0]!r}; allowed: "
                             f"{', '.join(s.stem for s in sources)}")
        sources = [s for s in sources if s.stem in only]
    stale = remove_interrupted_leftovers(paths.build_dir(), paths.results_dir(), paths.cache_dir())
    if stale:
        log(f"removed {stale} temporary file(s) or folder(s) left by an interrupted run")
    deps = dependencies(sources, known=[s.stem for s in all_sources])
    parameters = {"dataset": dataset, "profile": profile, "data_dir": data_dir, **(extra or {})}
    out_dir = executed_dir(dataset, profile)
    cached, jobs = _plan(sources, parameters, data_key=data_fingerprint(dataset, data_dir),
                         out_dir=out_dir, force=force)
    for outcome in cached:
        log(f"{outcome.notebook}: unchanged, cached")
    n_workers = resolve_workers(workers, len(jobs))
    executed: list[Outcome] = []
    if jobs:
        t0 = time.perf_counter()
        prepare_embedded(dataset, int((extra or {}).get("seed") or 0), log)
        # a notebook that runs alone gets every worker the build may use, even when it is the
        # only notebook to execute
        alone = {name: resolve_workers(workers, threads.available_cores())
                 for name in runs_alone(sources)}
        done: list[Outcome] = []
        try:
            executed = _execute(jobs, deps, parameters, n_workers, log, alone, cell_timeout,
                                done)
        except KeyboardInterrupt:
            raise Interrupted(f"{len(cached) + len(done)} of {len(sources)} notebooks done") \
                from None
        atomic.write_json(out_dir / RUN_RECORD, {
            "seconds": round(time.perf_counter() - t0, 2), "workers": n_workers,
            "threads_per_worker": threads.policy_threads(n_workers), "executed": len(executed),
            "cached": len(cached), "notebooks_in_book": len(all_sources),
            "notebook_seconds": round(sum(o.seconds for o in executed), 2)})
    by_name = {o.notebook: o for o in cached + executed}
    return [by_name[s.stem] for s in sources]


def _execute(jobs: list[_Job], deps: dict[str, list[str]], parameters: dict[str, Any],
             n_workers: int, log: Callable[[str], None],
             alone: dict[str, int] | None = None,
             cell_timeout: float = CELL_TIMEOUT_SECONDS,
             outcomes: list[Outcome] | None = None) -> list[Outcome]:
    """Run the jobs, each once its dependencies have finished, ``n_workers`` at a time; a
    notebook of ``alone`` runs by itself, with that many workers of its own
    (:func:`paper_lib.threads.own_workers_environment`)."""
    alone = alone or {}
    names = [j.source.stem for j in jobs]
    by_name = {j.source.stem: j for j in jobs}
    estimate = {n: _estimate(j.output) for n, j in by_name.items()}

    def environment(name: str) -> dict[str, str] | None:
        return threads.own_workers_environment(alone[name]) if name in alone else None

    # notebooks not executed in this run (current, or outside --only) count as finished
    finished = {d for ds in deps.values() for d in ds} - set(names)
    pending: list[str] = list(names)
    outcomes = [] if outcomes is None else outcomes
    t_start, total = time.perf_counter(), len(jobs)
    share = threads.policy_threads(n_workers)
    log(f"executing {total} notebook(s) on {n_workers} worker(s), {share} thread(s) each")

    def progress(name: str, what: str, running: list[str]) -> None:
        done = len(outcomes)
        now = ", ".join(running) if running else "none"
        log(f"[{done}/{total}] {name}: {what} (elapsed {time.perf_counter() - t_start:.0f} s, "
            f"{total - done} left; running: {now})")

    if n_workers == 1:
        for name in pending:  # book order satisfies every dependency
            progress(name, "executing ...", [name])
            outcomes.append(_finish(by_name[name], run_notebook(
                by_name[name].source, by_name[name].output, parameters, environment(name),
                cell_timeout),
                parameters))
            progress(name, f"done in {outcomes[-1].seconds:.1f} s", [])
        return outcomes

    running: dict[Future[float], str] = {}
    failure: BaseException | None = None
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(n_workers, mp_context=context, initializer=_init_worker,
                             initargs=(threads.worker_environment(n_workers),)) as pool:
        try:
            while pending or running:
                if failure is None:
                    for name in startable(ready(pending, finished, deps, estimate, alone),
                                          list(running.values()), n_workers, alone):
                        pending.remove(name)
                        job = by_name[name]
                        running[pool.submit(run_notebook, job.source, job.output,
                                            parameters, environment(name),
                                            cell_timeout)] = name
                        progress(name, "executing ...", list(running.values()))
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    name = running.pop(future)
                    try:
                        seconds = future.result()
                    except BaseException as exc:  # kept; the others running may finish
                        failure = failure or exc
                        progress(name, "FAILED", list(running.values()))
                        continue
                    outcomes.append(_finish(by_name[name], seconds, parameters))
                    finished.add(name)
                    progress(name, f"done in {seconds:.1f} s", list(running.values()))
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    if failure is not None:
        raise failure
    return outcomes
