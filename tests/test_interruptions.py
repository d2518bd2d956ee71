"""Issue 14, item 5: an interrupted run is cleaned up. Ctrl-C prints one line and exits 130; a
SIGKILL leaves temporaries that the next run removes (and nothing of a run still going)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from paper_lib import atomic
from paper_lib.cli import main
from paper_lib.pipeline import execute

NOTEBOOK = '''# %% tags=["parameters"]
dataset = "synthetic"
profile = "quick"
data_dir = ""

# %%
import time
time.sleep({sleep})
'''


def _toy(folder: Path, name: str, sleep: float = 0.0) -> Path:
    path = folder / f"{name}.py"
    path.write_text(NOTEBOOK.format(sleep=sleep))
    return path


def test_ctrl_c_prints_one_line_and_exits_130(tmp_path, monkeypatch, isolated_dirs, capsys):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for name in ("01_a", "02_b", "03_c"):
        _toy(folder, name)
    monkeypatch.setattr(execute, "notebook_sources", lambda: sorted(folder.glob("*.py")))
    real = execute.run_notebook

    def interrupted_at_the_second(source, *args, **kwargs):
        if source.stem == "02_b":
            raise KeyboardInterrupt
        return real(source, *args, **kwargs)

    monkeypatch.setattr(execute, "run_notebook", interrupted_at_the_second)
    status = main(["reproduce", "--dataset", "synthetic", "--profile", "quick", "--workers", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 130
    assert err[-1] == "interrupted; 1 of 3 notebooks done; re-run to resume"
    assert not any("Traceback" in line for line in err)
    # the finished notebook is kept: the re-run resumes from it
    monkeypatch.setattr(execute, "run_notebook", real)
    again = {o.notebook: o.status for o in execute.reproduce("synthetic", "quick",
                                                            log=lambda _: None, workers=1)}
    assert again == {"01_a": "cached", "02_b": "executed", "03_c": "executed"}


def test_a_stale_temporary_is_removed_and_a_live_one_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    assert not atomic.pid_alive(dead_pid)
    stale = tmp_path / "sub" / f".records.csv.~pl{dead_pid}.abc123.csv"
    stale.parent.mkdir()
    stale.write_text("half")
    stale_dir = tmp_path / f".model.~pl{dead_pid}.xyz.tmp"
    stale_dir.mkdir()
    live = tmp_path / f"{atomic.temporary_prefix('records.csv')}def456.csv"
    live.write_text("being written")
    keep = tmp_path / ".hidden_but_not_ours.csv"
    keep.write_text("x")
    removed = atomic.remove_stale_temporaries(tmp_path)
    assert sorted(removed) == sorted([stale, stale_dir])
    assert live.exists() and keep.exists() and not stale.exists() and not stale_dir.exists()


KILLED_RUN = textwrap.dedent('''
    import sys
    from pathlib import Path
    from paper_lib.pipeline import execute
    folder = Path(sys.argv[1])
    execute.notebook_sources = lambda: sorted(folder.glob("*.py"))
    execute.reproduce("synthetic", "quick", log=lambda _: None, workers=1)
''')


@pytest.mark.slow
def test_a_sigkilled_run_leaves_nothing_after_the_next_run(tmp_path, monkeypatch, isolated_dirs):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _toy(folder, "01_sleeps", sleep=600)
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    env = {**os.environ, "TMPDIR": str(temp_root),
           **{f"PAPER_LIB_{k.upper()}": str(v) for k, v in isolated_dirs.items()}}
    run = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(folder)], env=env,
                           start_new_session=True)
    out_dir = isolated_dirs["build"] / "executed" / "synthetic-quick"
    deadline = time.monotonic() + 120

    def leftovers() -> list[Path]:
        hidden = list(out_dir.glob(".*.~pl*")) if out_dir.is_dir() else []
        return hidden + list(temp_root.glob(f"{execute.KERNEL_FOLDER_PREFIX}*"))

    while len(leftovers()) < 2 and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.2)
    assert len(leftovers()) >= 2, "the run never started its notebook"
    os.killpg(run.pid, signal.SIGKILL)               # the run and its kernel, at once
    run.wait()
    assert leftovers(), "SIGKILL left nothing to clean: the test proves nothing"
    # the next run (the notebook made quick) removes them and leaves none of its own
    _toy(folder, "01_sleeps", sleep=0)
    monkeypatch.setattr(tempfile, "tempdir", str(temp_root))
    monkeypatch.setattr(execute, "notebook_sources", lambda: sorted(folder.glob("*.py")))
    lines: list[str] = []
    outcomes = execute.reproduce("synthetic", "quick", log=lines.append, workers=1)
    assert [o.status for o in outcomes] == ["executed"]
    assert any("left by an interrupted run" in line for line in lines)
    assert leftovers() == []
    assert (out_dir / "01_sleeps.ipynb").is_file()
