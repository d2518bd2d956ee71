"""Where independent tasks run: in this process, or on a Dask distributed cluster.

Feature extraction (one task per clip) and experiment grids (one task per method x split x seed)
are made of independent tasks. :func:`run_tasks` runs them in this process, one after the other,
or on a Dask cluster, and always returns the results **in the order of the tasks**, so a
parallel run gives exactly what a serial one gives.

- :func:`dask_client` connects to an existing scheduler (``--scheduler tcp://host:8786``) or
  starts a ``LocalCluster`` sized to this machine: by default one worker process per core the
  process may use (``os.sched_getaffinity``), each running one task at a time.
- Every task on a cluster runs under the project's thread policy (:mod:`paper_lib.threads`): a
  local cluster hands each worker its share of the cores (``cores // n_workers`` threads), so the
  workers together never oversubscribe the machine; a remote worker uses its own machine's
  policy (set ``PAPER_LIB_THREADS`` in the workers' environment to choose). A task computes as a
  serial run with the same number of threads does, hence identical numbers.

Dask (``dask`` and ``distributed``) is the ``dask`` extra; a serial run does not need it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from paper_lib._optional import require
from paper_lib.errors import ParamError
from paper_lib.threads import apply_policy, available_cores, worker_environment

__all__ = ["available_cores", "dask_client", "run_tasks"]

#: the Dask setting through which the nanny exports ``MALLOC_TRIM_THRESHOLD_`` to its worker
_TRIM_SETTING = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"


def _call_in_worker(fn: Callable[..., Any], *args: Any) -> Any:
    """Run one task under the thread policy of the worker's environment (its share)."""
    apply_policy()
    return fn(*args)


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, n_workers: int | None = None, *,
                connect_timeout: float = 20.0) -> Iterator[Any]:
    """A ``distributed.Client``: on ``scheduler`` (an address such as ``tcp://10.0.0.5:8786``,
    given up after ``connect_timeout`` seconds), or on a new ``LocalCluster`` of ``n_workers``
    processes (default: one per available core), each running one task at a time with its share
    of the cores as threads. The cluster started here is closed on exit."""
    distributed = require("distributed", extra="dask")
    if scheduler:
        try:
            client = distributed.Client(scheduler, timeout=f"{connect_timeout}s")
        except (OSError, TimeoutError) as exc:
            raise ParamError(f"--scheduler {scheduler}: cannot connect to a Dask scheduler "
                             f"there ({exc})") from exc
        try:
            yield client
        finally:
            client.close()
        return
    n = available_cores() if n_workers is None else int(n_workers)
    if n < 1:
        raise ParamError(f"n_workers must be a positive integer, got {n_workers!r}")
    # threads_per_worker=1: one task at a time per worker; its BLAS/torch threads are the
    # worker's share of the cores (worker_environment), applied by _call_in_worker.
    # The nanny would set MALLOC_TRIM_THRESHOLD_ in each worker, which freezes glibc's mmap
    # threshold: every large tensor is then mapped and page-faulted afresh (a UGACH fit on
    # avdigits took 11.8 s in such a worker, 6.0 s without, 5.5 s in a plain process)
    dask = require("dask", extra="dask")
    with dask.config.set({_TRIM_SETTING: None}), \
            distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                     dashboard_address=":0", silence_logs=logging.ERROR,
                                     env=worker_environment(n)) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def run_tasks(fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]], *, client: Any = None,
              shared: tuple[Any, ...] = (),
              on_done: Callable[[int, Any], None] | None = None) -> list[Any]:
    """``[fn(*shared, *task) for task in tasks]``, serially or on a Dask ``client``.

    ``shared`` arguments (e.g. a dataset) are sent to the cluster once, not once per task.
    ``on_done(i, result)`` is called as each task finishes (in completion order on a cluster,
    e.g. to write its output or advance a progress bar); the returned list is in task order.
    An exception in a task is raised here, as in a serial run.
    """
    results: list[Any] = [None] * len(tasks)
    if client is None:
        for i, task in enumerate(tasks):
            results[i] = fn(*shared, *task)
            if on_done is not None:
                on_done(i, results[i])
        return results
    distributed = require("distributed", extra="dask")
    remote_shared = [client.scatter(s, broadcast=True) for s in shared]
    futures = [client.submit(_call_in_worker, fn, *remote_shared, *task, pure=False)
               for task in tasks]
    index = {f.key: i for i, f in enumerate(futures)}
    try:
        for future in distributed.as_completed(futures):
            i = index[future.key]
            results[i] = future.result()
            if on_done is not None:
                on_done(i, results[i])
    finally:
        client.cancel(futures)
    return results
