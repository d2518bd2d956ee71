"""Which notebooks may run side by side: each notebook's dependencies, declared in its source.

A notebook declares what it must follow with a marker line in its jupytext source:

- ``# paper_lib: after 02_main_table`` (names separated by commas): it reads those notebooks'
  cached fits or results, so it starts only once they have finished;
- ``# paper_lib: reads-earlier-results``: it summarises every notebook before it in book order
  (and re-runs whenever any of them would, see :func:`paper_lib.pipeline.execute.reproduce`);
- ``# paper_lib: runs-alone``: it spreads its own work over every worker of the build (the main
  table's grid of fits, :func:`paper_lib.pipeline.notebook.NotebookRun.grid_client`), so it
  starts when no other notebook runs, and none starts beside it until it has finished.

Everything else is independent and may run concurrently. Among the notebooks that are ready, one
that runs alone starts first (the notebooks that wait for it are the bulk of the book), then the
longest (by its last recorded wall time), so that the long ones do not end up alone at the end of
a parallel build.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from paper_lib.errors import ParamError

#: a notebook whose source contains this marker reads the results of every notebook before it
READS_EARLIER_RESULTS = "# paper_lib: reads-earlier-results"
#: a notebook whose source contains this marker uses every worker of the build on its own
RUNS_ALONE = "# paper_lib: runs-alone"
#: ``# paper_lib: after NN_name[, NN_other ...]`` (an explanation in parentheses may follow)
_AFTER = re.compile(r"^# paper_lib: after (\w+(?:\s*,\s*\w+)*)", re.MULTILINE)


def declared_after(source: Path) -> list[str]:
    """The notebook names a source's ``# paper_lib: after ...`` lines list, in order."""
    names: list[str] = []
    for match in _AFTER.finditer(source.read_text()):
        names += [n.strip() for n in match.group(1).split(",") if n.strip()]
    return names


def dependencies(sources: Sequence[Path], known: Sequence[str] | None = None
                 ) -> dict[str, list[str]]:
    """For every notebook of ``sources`` (in book order), the notebooks among ``sources`` it must
    follow. ``known`` are all the notebook names that exist (default: those of ``sources``): a
    dependency outside it is a :class:`ParamError` naming the file; one that exists but is not
    part of this run (``--only``) is not waited for."""
    names = [s.stem for s in sources]
    existing = set(known if known is not None else names)
    deps: dict[str, list[str]] = {}
    for i, source in enumerate(sources):
        if READS_EARLIER_RESULTS in source.read_text():
            deps[source.stem] = names[:i]
            continue
        after = declared_after(source)
        unknown = [n for n in after if n not in existing]
        if unknown:
            raise ParamError(f"{source}: '# paper_lib: after' names an unknown notebook "
                             f"{unknown[0]!r}; notebooks are: {', '.join(sorted(existing))}")
        later = [n for n in after if n in names and names.index(n) >= i]
        if later:
            raise ParamError(f"{source}: '# paper_lib: after {later[0]}' names a notebook that "
                             f"is not before it in book order")
        deps[source.stem] = [n for n in after if n in names]
    return deps


def runs_alone(sources: Sequence[Path]) -> set[str]:
    """The notebooks among ``sources`` that declare ``# paper_lib: runs-alone``."""
    return {s.stem for s in sources if RUNS_ALONE in s.read_text()}


def ready(pending: Sequence[str], finished: set[str],
          deps: Mapping[str, Sequence[str]], estimate: Mapping[str, float],
          alone: Collection[str] = ()) -> list[str]:
    """The pending notebooks whose dependencies have all finished: those that run ``alone``
    first, then the longest estimate first (book order among equals)."""
    order = {name: i for i, name in enumerate(pending)}
    free = [n for n in pending if all(d in finished for d in deps.get(n, ()))]
    return sorted(free, key=lambda n: (n not in alone, -estimate.get(n, 0.0), order[n]))


def startable(candidates: Sequence[str], running: Collection[str], slots: int,
              alone: Collection[str]) -> list[str]:
    """Which of the ready ``candidates`` (in :func:`ready`'s order) start now, beside the
    ``running`` ones, on ``slots`` workers: none while a notebook that runs alone is running;
    a notebook that runs alone only when nothing runs, and then by itself; and while one waits
    for the machine to empty, nothing else starts."""
    if any(name in alone for name in running):
        return []
    chosen: list[str] = []
    for name in candidates:
        if len(running) + len(chosen) >= slots:
            break
        if name in alone:
            if not running and not chosen:
                chosen.append(name)
            break
        chosen.append(name)
    return chosen
