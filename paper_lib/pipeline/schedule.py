"""Which notebooks may run side by side: each notebook's dependencies, declared in its source.

A notebook declares what it must follow with a marker line in its jupytext source:

- ``# paper_lib: after 02_main_table`` (names separated by commas): it reads those notebooks'
  cached fits or results, so it starts only once they have finished;
- ``# paper_lib: reads-earlier-results``: it summarises every notebook before it in book order
  (and re-runs whenever any of them would, see :func:`paper_lib.pipeline.execute.reproduce`).

Everything else is independent and may run concurrently. Among the notebooks that are ready,
the longest (by its last recorded wall time) starts first, so that the long ones do not end up
alone at the end of a parallel build.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from paper_lib.errors import ParamError

#: a notebook whose source contains this marker reads the results of every notebook before it
READS_EARLIER_RESULTS = "# paper_lib: reads-earlier-results"
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


def ready(pending: Sequence[str], finished: set[str],
          deps: Mapping[str, Sequence[str]], estimate: Mapping[str, float]) -> list[str]:
    """The pending notebooks whose dependencies have all finished, longest estimate first
    (book order among equals)."""
    order = {name: i for i, name in enumerate(pending)}
    free = [n for n in pending if all(d in finished for d in deps.get(n, ()))]
    return sorted(free, key=lambda n: (-estimate.get(n, 0.0), order[n]))
