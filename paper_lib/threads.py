"""The one thread policy: how many BLAS/OpenMP and torch threads the computations use.

**Rule.** A process that runs alone uses every core it may run on (its CPU affinity,
``os.sched_getaffinity``). When ``workers`` processes run side by side (notebooks of a parallel
book build, pytest-xdist workers, Dask workers), each gets an equal share, ``cores // workers``
(at least one), so that together they never start more threads than there are cores: an
oversubscribed BLAS spins and collapses (measured on the 2-core build machine with a second
process busy: a Cluster-CCA fit on avdigits took 9.7 s with OpenBLAS's two threads and 0.17 s
with one).

**Overrides**, strongest first: ``apply_policy(n)``'s explicit ``n``; the ``--threads`` option of
``paper-lib`` (which sets the next); the environment variable ``PAPER_LIB_THREADS``; the usual
``OMP_NUM_THREADS``. An override is the number of threads of *each* worker.

**Worker processes of one's own.** A process may itself start workers (a notebook that runs its
experiment grid on a Dask cluster). How many it may start is :func:`own_workers`: the
``PAPER_LIB_WORKERS`` its parent handed it (a parallel book build hands the build's workers to a
notebook that runs alone, see :mod:`paper_lib.pipeline.schedule`), else 1.

No module sets thread counts on its own. The entry points apply the policy once per process:
the notebook kernels (:func:`paper_lib.pipeline.notebook.start`), the ``paper-lib`` commands,
the parallel book build and the Dask workers (:func:`worker_environment` hands a child process its
share), and the test-suite. Library users who import an estimator get their libraries' defaults
unless they call :func:`apply_policy`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from paper_lib.errors import ParamError

#: the project's own override (threads per worker process)
ENV_VAR = "PAPER_LIB_THREADS"
#: how many worker processes this process may start for its own parallel work (default 1)
WORKERS_ENV_VAR = "PAPER_LIB_WORKERS"
#: the conventional override many libraries read, honoured when ``PAPER_LIB_THREADS`` is unset
STANDARD_ENV_VAR = "OMP_NUM_THREADS"
#: ``$OMP_NUM_THREADS`` as the process started: read once, at import, because importing Dask's
#: ``distributed`` later sets it to 1 in the importing process itself (for its workers' sake),
#: which must not silently turn a user's run single-threaded
_STANDARD_AT_START = os.environ.get(STANDARD_ENV_VAR, "")


def available_cores() -> int:
    """The number of cores this process may run on (its CPU affinity; at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def check_count(value: object, name: str) -> int:
    """``value`` as a positive integer, or a :class:`ParamError` naming ``name``."""
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or int(text) < 1:
        raise ParamError(f"{name}: must be a positive integer, got {value!r}")
    return int(text)


def _override() -> int | None:
    for var, raw in ((ENV_VAR, os.environ.get(ENV_VAR, "")),
                     (STANDARD_ENV_VAR, _STANDARD_AT_START)):
        if raw.strip():
            return check_count(raw, var)
    return None


def policy_threads(workers: int = 1) -> int:
    """Threads of each of ``workers`` processes running side by side: the override
    (``$PAPER_LIB_THREADS``, else ``$OMP_NUM_THREADS``) or ``available_cores() // workers``,
    at least 1."""
    n_workers = check_count(workers, "workers")
    override = _override()
    if override is not None:
        return override
    return max(1, available_cores() // n_workers)


def apply_policy(n_threads: int | None = None, *, workers: int = 1) -> int:
    """Limit BLAS/OpenMP and torch to ``n_threads`` (default: :func:`policy_threads` of
    ``workers``) for the rest of the process; return the number applied."""
    n = policy_threads(workers) if n_threads is None else check_count(n_threads, "n_threads")
    # load numpy's BLAS and torch's OpenMP first: threadpoolctl limits only the libraries
    # already loaded, and a library loaded later would start with every core
    import numpy  # noqa: F401
    from threadpoolctl import threadpool_limits

    _set_torch_threads(n)
    threadpool_limits(n)
    return n


def set_override(n_threads: object, name: str = "--threads") -> int:
    """Make ``n_threads`` (checked; ``name`` is the argument in the message) this process's
    override, inherited by the processes it starts; return it."""
    n = check_count(n_threads, name)
    os.environ[ENV_VAR] = str(n)
    return n


def worker_environment(workers: int) -> dict[str, str]:
    """Environment entries for a child process that is one of ``workers`` running side by side
    (a notebook kernel, a pool worker): its thread share as ``PAPER_LIB_THREADS``, which its own
    :func:`apply_policy` then reads."""
    return {ENV_VAR: str(policy_threads(workers))}


def own_workers() -> int:
    """The worker processes this process may start side by side for its own work:
    ``$PAPER_LIB_WORKERS`` (checked) or 1."""
    raw = os.environ.get(WORKERS_ENV_VAR, "").strip()
    return check_count(raw, WORKERS_ENV_VAR) if raw else 1


def own_workers_environment(workers: int) -> dict[str, str]:
    """Environment entries for a child process that runs alone but may start ``workers``
    processes of its own: :data:`WORKERS_ENV_VAR`, and a thread share such that the child's
    workers together use the cores (:func:`worker_environment`)."""
    n = check_count(workers, "workers")
    return {WORKERS_ENV_VAR: str(n), **worker_environment(n)}


def _set_torch_threads(n: int) -> None:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return
    torch.set_num_threads(n)


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """One BLAS/OpenMP thread inside a block, whatever the policy: for computations whose result
    depends on the order of a parallel reduction (e.g. scikit-learn's Barnes-Hut t-SNE), so that
    they give the same numbers on every machine. torch's own intra-op pool too, when torch is
    loaded (a pretraining's convolution gradients, :mod:`paper_lib.extract.pretrain`)."""
    import sys

    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    try:
        if torch is not None:
            torch.set_num_threads(1)
        with threadpool_limits(limits=1):
            yield
    finally:
        if torch is not None and before is not None:
            torch.set_num_threads(before)
