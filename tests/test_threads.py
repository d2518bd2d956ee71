"""The one thread policy: the available cores, shared among parallel workers, never more threads
than cores; the overrides in their order."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from paper_lib import threads
from paper_lib.errors import ParamError


@pytest.fixture
def no_override(monkeypatch):
    monkeypatch.delenv(threads.ENV_VAR, raising=False)
    monkeypatch.setattr(threads, "_STANDARD_AT_START", "")


def test_available_cores_is_the_affinity_not_the_machine() -> None:
    assert threads.available_cores() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("cores", [1, 2, 3, 8, 16])
def test_workers_share_the_cores_without_oversubscribing(no_override, monkeypatch, cores):
    monkeypatch.setattr(threads, "available_cores", lambda: cores)
    assert threads.policy_threads() == cores                   # alone: every core
    for workers in range(1, 2 * cores + 2):
        share = threads.policy_threads(workers)
        assert share >= 1
        if workers <= cores:
            assert share * workers <= cores                     # together never more than cores
            assert share == cores // workers


def test_overrides_in_their_order(no_override, monkeypatch):
    monkeypatch.setattr(threads, "_STANDARD_AT_START", "3")
    assert threads.policy_threads(2) == 3                      # $OMP_NUM_THREADS
    monkeypatch.setenv(threads.ENV_VAR, "5")
    assert threads.policy_threads(2) == 5                      # $PAPER_LIB_THREADS wins
    assert threads.worker_environment(4) == {threads.ENV_VAR: "5"}
    threads.set_override(7)
    assert os.environ[threads.ENV_VAR] == "7"


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5", " "])
def test_a_bad_override_names_its_variable(no_override, monkeypatch, bad):
    if bad.strip():
        monkeypatch.setenv(threads.ENV_VAR, bad)
        with pytest.raises(ParamError, match=f"{threads.ENV_VAR}: must be a positive integer"):
            threads.policy_threads()
    with pytest.raises(ParamError, match="--threads: must be a positive integer"):
        threads.set_override(bad if bad.strip() else 0)
    with pytest.raises(ParamError, match="workers: must be a positive integer"):
        threads.policy_threads(0)


CHILD = """
import json, os, sys
os.sched_setaffinity(0, {cores})
from paper_lib import threads
n = threads.apply_policy(workers={workers})
import torch
from threadpoolctl import threadpool_info
print(json.dumps({{"applied": n, "torch": torch.get_num_threads(),
                   "blas": [i["num_threads"] for i in threadpool_info()]}}))
"""


@pytest.mark.parametrize(("cores", "workers"), [({0}, 1), ({0, 1}, 2), ({0, 1}, 1)])
def test_a_process_starts_no_more_threads_than_its_share(cores, workers):
    """In a fresh process pinned to ``cores``: torch and every BLAS/OpenMP pool get the share."""
    if not cores <= os.sched_getaffinity(0):
        pytest.skip(f"this machine cannot pin to cores {sorted(cores)}")
    env = {k: v for k, v in os.environ.items()
           if k not in (threads.ENV_VAR, threads.STANDARD_ENV_VAR)}
    out = subprocess.run([sys.executable, "-c", CHILD.format(cores=cores, workers=workers)],
                         capture_output=True, text=True, env=env, check=True)
    seen = json.loads(out.stdout)
    share = max(1, len(cores) // workers)
    assert seen["applied"] == share and seen["torch"] == share
    assert seen["blas"] and all(n == share for n in seen["blas"])
