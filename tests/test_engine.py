"""The task engine: serial and Dask runs give the same results in the same order; the grid of
experiments on a two-worker LocalCluster equals the serial grid number for number."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paper_lib.engine import dask_client, run_tasks
from paper_lib.errors import ParamError

pytest.importorskip("distributed")


def _square_plus(offset: int, x: int) -> int:
    return offset + x * x


def _fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("task 3 is bad")
    return x


def _threads_seen(_: int) -> int:
    import torch

    return torch.get_num_threads()


@pytest.fixture(scope="module")
def client():
    with dask_client(n_workers=2) as c:
        yield c


def test_serial_run_keeps_task_order_and_calls_on_done() -> None:
    seen: list[tuple[int, int]] = []
    out = run_tasks(_square_plus, [(x,) for x in range(5)], shared=(10,),
                    on_done=lambda i, r: seen.append((i, r)))
    assert out == [10, 11, 14, 19, 26]
    assert seen == list(enumerate(out))


def test_cluster_run_returns_results_in_task_order(client) -> None:
    seen: dict[int, int] = {}
    out = run_tasks(_square_plus, [(x,) for x in range(12)], shared=(10,), client=client,
                    on_done=lambda i, r: seen.__setitem__(i, r))
    assert out == [10 + x * x for x in range(12)]
    assert seen == dict(enumerate(out))           # every task reported once, whatever the order


def test_a_failing_task_raises_as_in_a_serial_run(client) -> None:
    with pytest.raises(ValueError, match="task 3 is bad"):
        run_tasks(_fail_on_three, [(x,) for x in range(5)], client=client)


def test_each_worker_task_runs_with_one_thread(client) -> None:
    """Two single-threaded workers on two cores: no oversubscription."""
    assert set(run_tasks(_threads_seen, [(i,) for i in range(4)], client=client)) == {1}
    workers = list(client.scheduler_info()["workers"].values())
    assert [w["nthreads"] for w in workers] == [1, 1]


def test_bad_worker_count_and_unreachable_scheduler_are_clear_errors() -> None:
    with pytest.raises(ParamError, match="n_workers"):
        with dask_client(n_workers=0):
            pass
    with pytest.raises(ParamError, match="--scheduler tcp://127.0.0.1:9"):
        with dask_client("tcp://127.0.0.1:9", connect_timeout=1):
            pass


def test_experiment_grid_on_a_cluster_equals_the_serial_grid(client) -> None:
    from paper_lib.data.registry import load_dataset
    from paper_lib.experiment.grid import Config, run_configs

    ds = load_dataset("synthetic", n_classes=3, n_per_class=20, d_audio=8, d_visual=12,
                      max_seconds=3, use_cache=False)
    configs = [Config("c_cca", dim=2), Config("tnn_c_cca", dim=2, epochs=2)]
    serial, _ = run_configs(ds, configs, folds=[0, 1], seeds=(0, 1))
    remote, results = run_configs(ds, configs, folds=[0, 1], seeds=(0, 1), client=client)
    volatile = serial["metric"].isin(["wall_time_s", "peak_rss_mb"])
    assert len(results) == 2 + 4                 # c_cca once per fold (closed form), tnn 2 seeds
    pd.testing.assert_frame_equal(serial[~volatile].reset_index(drop=True),
                                  remote[~volatile].reset_index(drop=True))
    assert np.isfinite(remote["value"]).all()


def test_a_notebook_runs_its_grid_on_the_workers_the_build_gave_it(monkeypatch) -> None:
    """``NotebookRun.grid_client``: in the kernel unless the build handed the notebook workers
    of its own (``PAPER_LIB_WORKERS``, a notebook that runs alone), then a local cluster of
    exactly that many workers, each with the thread share the build computed."""
    from paper_lib import threads
    from paper_lib.pipeline.notebook import start

    monkeypatch.delenv(threads.WORKERS_ENV_VAR, raising=False)
    run = start("grid_client_probe", dataset="synthetic", profile="quick")
    with run.grid_client() as client:
        assert client is None
    monkeypatch.setenv(threads.WORKERS_ENV_VAR, "0")
    with pytest.raises(ParamError, match="PAPER_LIB_WORKERS: must be a positive integer"):
        with run.grid_client():
            pass
    for key, value in threads.own_workers_environment(2).items():
        monkeypatch.setenv(key, value)
    with run.grid_client() as client:
        assert len(client.scheduler_info()["workers"]) == 2
        share = int(threads.own_workers_environment(2)[threads.ENV_VAR])
        assert run_tasks(_threads_seen, [(0,), (1,)], client=client) == [share, share]


def _malloc_trim_setting(_: int) -> str | None:
    import os

    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


def test_local_workers_keep_glibcs_adaptive_allocator(client) -> None:
    """Dask's nanny exports MALLOC_TRIM_THRESHOLD_ to its workers by default, which froze
    glibc's mmap threshold and made every torch fit in a worker about twice as slow as in a
    plain process (measured: UGACH on avdigits 11.8 s against 6.0 s); our local cluster does not."""
    assert run_tasks(_malloc_trim_setting, [(0,), (1,)], client=client) == [None, None]
