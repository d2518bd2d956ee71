"""What a notebook calls: resolve parameters, load the dataset, save results with provenance, glue.

A notebook stays thin::

    run = start("data_overview", dataset=dataset, profile=profile, seed=seed, folds=folds,
                data_dir=data_dir)
    ds = run.dataset()
    run.save_table(df, "class_counts")     # results/<dataset>-<profile>/data_overview/class_counts.csv
    run.save_figure(fig, "class_counts")   # ... .png and .svg
    run.glue("n_clips", ds.n_clips)        # quoted in the prose with {glue:text}
    run.finish()                           # provenance.json with the total wall time

Every file is written atomically, and ``provenance.json`` lists every file the run wrote.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from paper_lib import atomic, paths, threads
from paper_lib._optional import MissingExtraError, require
from paper_lib.data.dataset import PairedDataset
from paper_lib.errors import ParamError
from paper_lib.experiment.evaluate import split_volatile
from paper_lib.experiment.knobs import Knob
from paper_lib.pipeline import present, provenance
from paper_lib.pipeline.params import RunParams, resolve

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")


def results_root(dataset: str, profile: str) -> Path:
    """``results/<dataset>-<profile>``; a dataset given as a path is keyed by its file stem (a
    generic .h5 file) or its folder name (a per-clip folder written by ``paper-lib extract``)."""
    if dataset.lower().endswith((".h5", ".hdf5")):
        key = Path(dataset).stem
    elif Path(dataset).is_dir():
        key = Path(dataset).resolve().name
    else:
        key = dataset
    return paths.results_dir() / f"{key}-{profile}"


class NotebookRun:
    """One execution of one notebook: parameters, dataset, and the files it writes."""

    def __init__(self, notebook: str, params: RunParams) -> None:
        if not _NAME.match(notebook):
            raise ParamError(f"notebook name {notebook!r} must be lower-case letters, digits, _ . -")
        self.notebook = notebook
        self.params = params
        self.out_dir = results_root(params.dataset, params.profile) / notebook
        self._t0 = time.perf_counter()
        self._dataset: PairedDataset | None = None
        self._files: list[str] = []
        self._glued: dict[str, Any] = {}
        self._measurements: dict[str, Any] = {}
        self._knobs: dict[str, Any] = {}

    # -- data ----------------------------------------------------------------------------------
    def dataset(self) -> PairedDataset:
        """The run's dataset (loaded once, from the embedded generator or the real files)."""
        if self._dataset is None:
            from paper_lib.data.registry import load_dataset

            self._dataset = load_dataset(self.params.dataset, data_dir=self.params.data_dir or None,
                                         seed=self.params.seed)
        return self._dataset

    def raw_features_dataset(self) -> PairedDataset:
        """The dataset a page that shows the signals themselves uses (the teaching chapters, the
        data chapter): on either regime of the AV-digits clips, the raw-feature ``avdigits``,
        whose views are pixels and log-mel statistics a reader can look at
        (:func:`paper_lib.report.regimes.raw_regime`); the run's dataset otherwise. Recorded in
        the provenance as the run's dataset."""
        from paper_lib.report.regimes import raw_regime

        name = raw_regime(self.params.dataset)
        if name != self.params.dataset and (self._dataset is None or self._dataset.name != name):
            from paper_lib.data.registry import load_dataset

            self._dataset = load_dataset(name, seed=self.params.seed)
        return self.dataset()

    def knob(self, knob: Knob, value: Any = None) -> Any:
        """The notebook's own knob (e.g. an ablation's levels): ``value`` from the parameter cell
        if given, else the profile's; checked, and recorded in the provenance."""
        resolved = knob.resolve(self.params.profile, value)
        self._knobs[knob.name] = resolved
        return resolved

    # -- results -------------------------------------------------------------------------------
    def save_table(self, df: pd.DataFrame, name: str, *, measurement: bool = False) -> None:
        """Write a tidy table as CSV (atomically) and record it in the provenance.

        A result file must be the same in every build of the same commit on the same machine,
        so what measures the run rather than the method goes into ``provenance.json`` only
        (under ``measurements``): the rows and columns of
        :func:`~paper_lib.experiment.evaluate.split_volatile` (fit wall times and memory), or
        the whole table when ``measurement`` (e.g. a table of timings). Returns nothing, like
        :meth:`save_figure`: a cell ending with it prints no path."""
        stable, volatile = (df.iloc[:0], df) if measurement else split_volatile(df)
        if len(volatile):
            self._measurements[name] = json.loads(volatile.to_json(orient="records"))
        if measurement:
            self._write_provenance()
            return
        path = self._path(name, ".csv")
        atomic.write_text(path, stable.to_csv(index=False))
        self._wrote(path)

    def save_figure(self, fig: Any, name: str) -> None:
        """Save a matplotlib figure as PNG and SVG (atomically).

        Returns nothing, so that a cell ending with this call prints no value (a list of the
        build machine's paths) under the figure."""
        matplotlib = require("matplotlib", extra="book")
        for ext in (".png", ".svg"):
            path = self._path(name, ext)

            def write(tmp: Path, ext: str = ext) -> None:
                # the SVG's element ids are hashes salted by this fixed text, not by a random
                # number: the same figure gives the same file (with no creation date either)
                with matplotlib.rc_context({"svg.hashsalt": f"{self.notebook}/{name}"}):
                    fig.savefig(tmp, format=ext[1:], dpi=120, bbox_inches="tight",
                                metadata=_fig_metadata(ext))

            atomic.write_with(path, write)
            self._wrote(path)

    # -- the book's numbered figures and tables -------------------------------------------------
    def setting(self, over: str = "", data: str | None = None) -> str:
        """The setting a caption states: the run's dataset and profile (or ``data``, what a
        teaching figure shows instead: "synthetic toy data", "a hand-made ranking"), and
        ``over`` (e.g. "5 folds × 3 seeds") when given."""
        if data is None:
            ds = self._dataset.name if self._dataset is not None else self.params.dataset
            data = f"{ds}, {self.params.profile} profile"
        return f"{data}, {over}" if over else data

    def figure(self, fig: Any, name: str, caption: str, *, reproduces: str | None,
               over: str = "", data: str | None = None, alt: str | None = None) -> None:
        """Save ``fig`` (PNG and SVG) and show it as a numbered figure with its caption, the
        setting (:meth:`setting` of ``over`` and ``data``), the paper artefact it
        ``reproduces`` (``None``: not in the paper), ``alt`` text (default: the caption's first
        sentence) and links to its files. Label:
        ``present.label("fig", notebook, name)``. Returns nothing; the figure is closed."""
        self.save_figure(fig, name)
        require("matplotlib.pyplot", extra="book", package="matplotlib").close(fig)
        links = [(ext.upper(), self._staged(f"{name}.{ext}")) for ext in ("png", "svg")]
        self._show(present.figure_block(
            self._staged(f"{name}.png"), present.label("fig", self.notebook, name),
            present.caption_text(caption, self.setting(over, data), reproduces),
            alt if alt is not None else present.alt_text(caption),
            links + [("provenance", self._staged("provenance.json"))]))

    def table(self, df: pd.DataFrame, name: str, caption: str, *, reproduces: str | None,
              over: str = "", data: str | None = None, shown: pd.DataFrame | None = None,
              digits: int | dict[str, int] = 3, best: dict[str, str] | None = None,
              measurement: bool = False) -> None:
        """Save ``df`` (CSV) and show it as a numbered table: ``shown`` (default ``df``: the
        reader's view, with display names and formatted cells) as a Markdown table with every
        row and no index (``digits`` decimals, the ``best`` value of chosen columns in bold),
        its caption, the setting (:meth:`setting` of ``over`` and ``data``), the paper artefact
        it ``reproduces`` (``None``: not in the paper) and links to its files. Label:
        ``present.label("tbl", notebook, name)``. A ``measurement`` (timings of this run) is
        kept in the provenance, not as a CSV (see :meth:`save_table`)."""
        from paper_lib.report.tables import markdown_table  # the book extra (matplotlib)

        self.save_table(df, name, measurement=measurement)
        view = df if shown is None else shown
        csv = [] if measurement else [("CSV", self._staged(f"{name}.csv"))]
        self._show(present.table_block(
            markdown_table(view, digits=digits, best=best),
            present.label("tbl", self.notebook, name),
            present.caption_text(caption, self.setting(over, data), reproduces),
            csv + [("provenance", self._staged("provenance.json"))]))

    def _staged(self, filename: str) -> str:
        return present.staged_path(self.out_dir.parent.name, self.notebook, filename)

    @staticmethod
    def _show(markdown: str) -> None:
        ipython_display = require("IPython.display", extra="book", package="ipython")
        ipython_display.display(ipython_display.Markdown(markdown))

    def glue(self, key: str, value: Any, display: bool = False) -> None:
        """``myst_nb.glue`` the value (for ``{glue:text}`` in the prose) and remember it.

        Returns nothing: a cell ending with a glue prints no stray value."""
        glue = require("myst_nb", extra="book", package="myst-nb").glue
        self._glued[key] = value if isinstance(value, int | float | str) else repr(type(value))
        glue(key, value, display=display)

    @contextlib.contextmanager
    def grid_client(self) -> Iterator[Any]:
        """Where this notebook's grid of fits runs (``run_configs(..., client=...)``): ``None``
        (in the kernel, one fit after the other) unless the build gave the notebook workers of
        its own (``# paper_lib: runs-alone``, :func:`paper_lib.threads.own_workers`), then a
        Dask client of a local cluster with that many workers, closed on exit. In a parallel book
        build a fit gets the same thread share either way (one worker's), so the numbers do not
        depend on where it ran; the records come back in the grid's order."""
        n = threads.own_workers()
        if n <= 1:
            yield None
            return
        from paper_lib.engine import dask_client

        with dask_client(n_workers=n) as client:
            yield client

    def finish(self) -> None:
        """Write ``provenance.json``: parameters, dataset checksum, code, versions, wall time.

        Returns nothing, so that a notebook's last cell prints no value (the build machine's path
        of the provenance file)."""
        self._write_provenance()

    # -- internals -----------------------------------------------------------------------------
    def _path(self, name: str, ext: str) -> Path:
        if not _NAME.match(name):
            raise ParamError(f"result name {name!r} must be lower-case letters, digits, _ . -")
        return self.out_dir / f"{name}{ext}"

    def _wrote(self, path: Path) -> Path:
        rel = path.name
        if rel not in self._files:
            self._files.append(rel)
        self._write_provenance()
        return path

    def _write_provenance(self) -> Path:
        ds = self._dataset
        rec = provenance.record(
            self.params.as_dict() | self._knobs, dataset_name=ds.name if ds else self.params.dataset,
            dataset_checksum=ds.checksum() if ds else "not loaded",
            wall_time_s=time.perf_counter() - self._t0,
            extra={"notebook": self.notebook, "files": sorted(self._files),
                   "glued": self._glued, "measurements": self._measurements,
                   "dataset_source": ds.source if ds else "",
                   "dataset_provenance": ds.provenance() if ds else {}})
        return atomic.write_json(self.out_dir / "provenance.json", rec)


def _fig_metadata(ext: str) -> dict[str, Any]:
    # fixed metadata so identical figures give identical files (no creation date)
    return {"Date": None} if ext == ".svg" else {}


def start(notebook: str, **params: Any) -> NotebookRun:
    """Validate the notebook's common parameters (see :func:`paper_lib.pipeline.params.resolve`)
    and apply the project's thread policy (:mod:`paper_lib.threads`) to the notebook's kernel,
    a process of its own, for the rest of its life. In a kernel, show the resolved parameters
    in one line (:func:`paper_lib.pipeline.present.parameters_line`): the book hides the
    parameter cells, which hold the defaults and the injected values, not what was used."""
    threads.apply_policy()
    run = NotebookRun(notebook, resolve(**params))
    if _in_kernel():   # the page states the parameters it actually ran with, once, at its top
        NotebookRun._show(present.parameters_line(run.params.as_dict()))
    return run


def _in_kernel() -> bool:
    """Whether this process is an IPython kernel (a notebook being executed)."""
    try:
        ipython = require("IPython", extra="book", package="ipython")
    except MissingExtraError:  # pragma: no cover - the book extra is not installed
        return False
    return ipython.get_ipython() is not None
