"""The parallel book build: independent notebooks run side by side with their thread share, a
notebook that reads another's results waits for it, and a failure stops the run with the cell's
traceback while the notebooks already running finish."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paper_lib.errors import ParamError
from paper_lib.pipeline import execute, schedule
from paper_lib.threads import available_cores

HEADER = '''# %% tags=["parameters"]
dataset = "synthetic"
profile = "quick"
data_dir = ""
'''

# each toy notebook records when it ran and the thread share its kernel was given
BODY = '''
# %%
import json, os, time
t0 = time.time()
time.sleep({sleep})
{fail}
with open({log!r}, "a") as fh:
    fh.write(json.dumps({{"name": {name!r}, "start": t0, "end": time.time(),
                         "threads": os.environ.get("PAPER_LIB_THREADS"),
                         "workers": os.environ.get("PAPER_LIB_WORKERS")}}) + "\\n")
'''


def _toy(folder: Path, name: str, log: Path, *, sleep: float = 0.0, after: str = "",
         fail: bool = False, summary: bool = False, alone: bool = False) -> Path:
    marker = f"# paper_lib: after {after}\n" if after else ""
    if alone:
        marker += schedule.RUNS_ALONE + "\n"
    if summary:
        marker = schedule.READS_EARLIER_RESULTS + "\n"
    body = BODY.format(sleep=sleep, log=str(log), name=name,
                       fail='raise RuntimeError("toy failure")' if fail else "")
    path = folder / f"{name}.py"
    path.write_text(HEADER + "\n# %%\n" + marker + "x = 1\n" + body)
    return path


@pytest.fixture
def toy_book(tmp_path, monkeypatch, isolated_dirs):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    monkeypatch.setattr(execute, "notebook_sources", lambda: sorted(folder.glob("*.py")))
    return folder, tmp_path / "ran.jsonl"


def _runs(log: Path) -> dict[str, dict]:
    return {r["name"]: r for r in map(json.loads, log.read_text().splitlines())}


@pytest.mark.slow
def test_independent_notebooks_overlap_and_a_dependent_one_waits(toy_book):
    folder, log = toy_book
    _toy(folder, "01_a", log, sleep=3)
    _toy(folder, "02_b", log, sleep=3)
    _toy(folder, "03_c", log, after="01_a")
    _toy(folder, "04_sum", log, summary=True)
    lines: list[str] = []
    outcomes = execute.reproduce("synthetic", "quick", log=lines.append, workers=2)
    assert [o.notebook for o in outcomes] == ["01_a", "02_b", "03_c", "04_sum"]
    assert all(o.status == "executed" for o in outcomes)
    runs = _runs(log)
    a, b, c, summary = (runs[n] for n in ("01_a", "02_b", "03_c", "04_sum"))
    assert a["start"] < b["end"] and b["start"] < a["end"], "independent notebooks overlapped"
    assert c["start"] >= a["end"], "a notebook starts after the one it reads"
    assert summary["start"] >= max(a["end"], b["end"], c["end"])
    # each kernel got its share: the cores divided among the two workers
    assert {r["threads"] for r in runs.values()} == {str(max(1, available_cores() // 2))}
    assert any("running: 01_a, 02_b" in line or "running: 02_b, 01_a" in line for line in lines)
    record = json.loads((execute.executed_dir("synthetic", "quick")
                         / execute.RUN_RECORD).read_text())
    assert record["workers"] == 2 and record["executed"] == 4 and record["cached"] == 0
    assert 0 < record["seconds"] < record["notebook_seconds"]    # the notebooks overlapped
    # nothing changed: nothing runs again
    again = execute.reproduce("synthetic", "quick", log=lines.append, workers=2)
    assert all(o.status == "cached" for o in again)


@pytest.mark.slow
def test_a_failure_stops_new_notebooks_and_reports_the_cell(toy_book):
    folder, log = toy_book
    _toy(folder, "01_slow", log, sleep=4)
    _toy(folder, "02_bad", log, fail=True)
    _toy(folder, "03_next", log, after="02_bad")
    with pytest.raises(execute.NotebookFailed) as err:
        execute.reproduce("synthetic", "quick", log=lambda _: None, workers=2)
    assert err.value.notebook == "02_bad" and "toy failure" in err.value.traceback
    assert err.value.partial.is_file()
    runs = _runs(log)
    assert "01_slow" in runs, "the notebook already running finished"
    assert "03_next" not in runs, "no notebook starts after a failure"


def test_dependencies_read_from_the_markers(tmp_path):
    log = tmp_path / "log"
    sources = [_toy(tmp_path, "01_a", log), _toy(tmp_path, "02_b", log, after="01_a"),
               _toy(tmp_path, "03_c", log, after="01_a, 02_b"),
               _toy(tmp_path, "04_sum", log, summary=True)]
    deps = schedule.dependencies(sources)
    assert deps == {"01_a": [], "02_b": ["01_a"], "03_c": ["01_a", "02_b"],
                    "04_sum": ["01_a", "02_b", "03_c"]}
    # --only 03_c: a dependency outside the run is not waited for
    assert schedule.dependencies(sources[2:3], known=[s.stem for s in sources]) == {"03_c": []}


def test_a_bad_dependency_is_a_clear_error(tmp_path):
    log = tmp_path / "log"
    a = _toy(tmp_path, "01_a", log, after="09_missing")
    with pytest.raises(ParamError, match=r"01_a\.py.*unknown notebook '09_missing'"):
        schedule.dependencies([a])
    first = _toy(tmp_path, "01_x", log, after="02_y")
    second = _toy(tmp_path, "02_y", log)
    with pytest.raises(ParamError, match="not before it in book order"):
        schedule.dependencies([first, second])


def test_ready_starts_the_longest_first_and_respects_dependencies():
    deps = {"01": [], "02": [], "03": ["01"], "04": []}
    estimate = {"01": 5.0, "02": 50.0, "04": 5.0}
    assert schedule.ready(["01", "02", "03", "04"], set(), deps, estimate) == ["02", "01", "04"]
    assert schedule.ready(["03", "04"], {"01"}, deps, estimate) == ["04", "03"]


def test_a_notebook_that_runs_alone_starts_first_and_nothing_runs_beside_it():
    alone = {"02"}
    deps: dict[str, list[str]] = {"01": [], "02": [], "03": ["02"], "04": []}
    estimate = {"01": 90.0, "02": 10.0, "04": 5.0}
    order = schedule.ready(["01", "02", "03", "04"], set(), deps, estimate, alone)
    assert order == ["02", "01", "04"]                  # alone first, then the longest
    assert schedule.startable(order, [], 2, alone) == ["02"]          # by itself
    assert schedule.startable(["01", "04"], ["02"], 2, alone) == []   # nothing beside it
    # while it waits for the machine to empty, nothing else starts (it is on the critical path)
    assert schedule.startable(["02", "04"], ["01"], 2, alone) == []
    assert schedule.startable(["01", "04"], [], 2, alone) == ["01", "04"]
    assert schedule.startable(["01", "04"], ["x"], 2, alone) == ["01"]   # one slot left


@pytest.mark.slow
def test_a_notebook_that_runs_alone_gets_every_worker_and_runs_by_itself(toy_book):
    folder, log = toy_book
    _toy(folder, "01_a", log, sleep=2)
    _toy(folder, "02_grid", log, sleep=2, alone=True)
    _toy(folder, "03_after", log, after="02_grid")
    _toy(folder, "04_b", log, sleep=2)
    execute.reproduce("synthetic", "quick", log=lambda _: None, workers=2)
    runs = _runs(log)
    grid = runs.pop("02_grid")
    assert grid["workers"] == "2", "the build's workers handed to the notebook"
    assert grid["threads"] == str(max(1, available_cores() // 2))     # each of its workers' share
    for name, other in runs.items():
        assert other["end"] <= grid["start"] or other["start"] >= grid["end"], name
        assert other["workers"] is None, name       # the others start no workers of their own
    assert runs["03_after"]["start"] >= grid["end"]
    # the only notebook to run still gets every worker the build may use
    (folder / "02_grid.py").write_text((folder / "02_grid.py").read_text() + "\ny = 2\n")
    execute.reproduce("synthetic", "quick", log=lambda _: None, workers=2,
                      only=["02_grid"])
    assert [r for r in map(json.loads, log.read_text().splitlines())][-1]["workers"] == "2"


def test_estimates_fall_back_to_another_profile_of_the_same_dataset(tmp_path):
    for folder, seconds in (("avdigits-quick", 7.5), ("synthetic-full", 99.0)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "02_x.stamp.json").write_text(json.dumps({"seconds": seconds}))
    (tmp_path / "avdigits-full").mkdir()
    assert execute._estimate(tmp_path / "avdigits-full" / "02_x.ipynb") == 7.5
    assert execute._estimate(tmp_path / "avdigits-full" / "03_y.ipynb") == 0.0


def test_the_book_notebooks_declare_their_order():
    """Every notebook that reads the main table's fits follows it; the summary follows all."""
    sources = execute.notebook_sources()
    deps = schedule.dependencies(sources)
    reads_fits = [s.stem for s in sources if "main_configs" in s.read_text()
                  or "main table's fits" in s.read_text()]
    for name in reads_fits:
        if name != "02_main_table":
            assert "02_main_table" in deps[name], name
    assert deps["30_paper_vs_book"] == [s.stem for s in sources[:-1]]
    # the main table's grid, which most of the book waits for, uses every worker of the build
    assert schedule.runs_alone(sources) == {"02_main_table"}
    assert "run.grid_client()" in (execute.NOTEBOOK_DIR / "02_main_table.py").read_text()


def test_workers_is_checked_before_any_notebook_runs(toy_book):
    with pytest.raises(ParamError, match="workers: must be a positive integer"):
        execute.reproduce("synthetic", "quick", workers=0)
    assert execute.resolve_workers(None, 1) == 1            # never more than there is to run
    assert execute.resolve_workers(None, 50) == available_cores()


@pytest.mark.slow
def test_new_benchmark_measurements_rerun_the_page_that_shows_them(toy_book, isolated_dirs):
    folder, log = toy_book
    _toy(folder, "01_a", log)
    page = _toy(folder, "02_perf", log)
    page.write_text(page.read_text().replace("x = 1", execute.READS_BENCHMARKS + "\nx = 1"))
    execute.reproduce("synthetic", "quick", log=lambda _: None, workers=1)
    isolated_dirs["results"].mkdir(parents=True, exist_ok=True)
    (isolated_dirs["results"] / "bench_metrics.csv").write_text("question\nmap\n")
    again = {o.notebook: o.status for o in execute.reproduce("synthetic", "quick",
                                                            log=lambda _: None, workers=1)}
    assert again == {"01_a": "cached", "02_perf": "executed"}


def test_the_build_report_states_the_last_run_against_its_budget(isolated_dirs):
    from paper_lib import atomic
    from paper_lib.pipeline.book import BUDGET_SECONDS, build_report

    folder = execute.executed_dir("avdigits", "full")
    atomic.write_json(folder / "01_x.stamp.json", {"notebook": "01_x", "seconds": 400.0})
    atomic.write_json(folder / execute.RUN_RECORD, {
        "seconds": 1.5 * BUDGET_SECONDS["full"], "workers": 2, "threads_per_worker": 1,
        "executed": 1, "cached": 0, "notebooks_in_book": 1, "notebook_seconds": 400.0})
    report = build_report()
    assert "on 2 worker(s) with 1 thread(s) each" in report
    assert f"is {BUDGET_SECONDS['full']:.0f} s: missed by 1.50×" in report
    # a run of part of the book (--only) is not compared with the whole book's budget
    atomic.write_json(folder / execute.RUN_RECORD, {
        "seconds": 1.0, "workers": 1, "threads_per_worker": 2, "executed": 1, "cached": 0,
        "notebooks_in_book": 21, "notebook_seconds": 1.0})
    assert "budget for the whole" not in build_report()


def test_the_build_report_states_make_book_against_its_budget(isolated_dirs, tmp_path,
                                                                monkeypatch):
    """Set-up + the last complete run of each profile, from the records only (no clock time)."""
    from paper_lib import atomic
    from paper_lib.pipeline import book

    monkeypatch.setattr(book.sys, "prefix", str(tmp_path))
    assert "is not stated: this build has no record of the environment's set-up" \
        in book.build_report()
    atomic.write_json(tmp_path / book.SETUP_RECORD, {"seconds": 100})
    for profile, seconds in (("quick", 120.0), ("full", 450.0)):
        atomic.write_json(execute.executed_dir("avdigits", profile) / execute.RUN_RECORD, {
            "seconds": seconds, "workers": 2, "threads_per_worker": 1, "executed": 21,
            "cached": 0, "notebooks_in_book": 21, "notebook_seconds": seconds})
    report = book.build_report()
    assert "the set-up took 100 s" in report and "670 s in all" in report
    assert "budget of 720 s on the 2-core build machine, within it." in report
    assert book.build_report() == report                      # stable: an unchanged rebuild
    atomic.write_json(tmp_path / book.SETUP_RECORD, {"seconds": 300})
    assert "870 s in all" in book.build_report()
    assert "over it by 1.21× already" in book.build_report()
    # a partial run of a profile (--only) is not a make book
    atomic.write_json(execute.executed_dir("avdigits", "full") / execute.RUN_RECORD, {
        "seconds": 5.0, "workers": 2, "threads_per_worker": 1, "executed": 1, "cached": 20,
        "notebooks_in_book": 21, "notebook_seconds": 5.0})
    assert "no record of a complete run of both profiles" in book.build_report()
