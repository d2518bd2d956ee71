"""The one thread policy: how many BLAS/OpenMP and torch threads the computations use.

No module sets thread counts on its own. The entry points apply the policy once per process:
the notebook kernels (:func:`paper_lib.pipeline.notebook.start`), ``paper-lib run`` and the
test-suite. Library users who import an estimator get their libraries' defaults unless they call
:func:`apply_policy`.

Override with the environment variable ``PAPER_LIB_THREADS`` (a positive integer).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from paper_lib.errors import ParamError

#: [choice] one BLAS/OpenMP thread and one torch intra-op thread by default. Measured on the
#: 2-core build machine with another process busy: a Cluster-CCA fit on avdigits took 9.7 s with
#: OpenBLAS's two threads and 0.17 s with one; a 10-epoch TNN-C-CCA fit on 640 clips 26 s with two
#: torch threads and 2.7 s with one. On an idle machine one thread costs at most the second core.
DEFAULT_THREADS = 1
ENV_VAR = "PAPER_LIB_THREADS"


def policy_threads() -> int:
    """The number of threads the policy asks for: ``$PAPER_LIB_THREADS`` or the default."""
    raw = os.environ.get(ENV_VAR, "").strip()
    if not raw:
        return DEFAULT_THREADS
    if not raw.isdigit() or int(raw) < 1:
        raise ParamError(f"{ENV_VAR}: must be a positive integer, got {raw!r}")
    return int(raw)


def apply_policy(n_threads: int | None = None) -> int:
    """Limit BLAS/OpenMP and torch to ``n_threads`` (default: :func:`policy_threads`) for the rest
    of the process; return the number applied."""
    n = policy_threads() if n_threads is None else int(n_threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(n)
    _set_torch_threads(n)
    return n


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
    they give the same numbers on every machine."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield
