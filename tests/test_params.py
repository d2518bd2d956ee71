"""Parameters and profiles: bad values stop with one line naming the parameter and the choices."""

from __future__ import annotations

import pytest

from paper_lib.cli import main
from paper_lib.experiment.knobs import EPOCHS
from paper_lib.pipeline.params import ParamError, resolve


def test_profiles_fill_knobs_and_overrides_win():
    p = resolve(dataset="synthetic", profile="quick")
    assert p.epochs == EPOCHS.quick and p.n_folds == 2
    q = resolve(dataset="synthetic", profile="full", epochs=3, seeds="0,1")
    assert q.epochs == 3 and q.seeds == [0, 1] and q.n_folds == 5


@pytest.mark.parametrize("kwargs, name, allowed", [
    ({"dataset": "nosuchdata"}, "dataset", "synthetic"),
    ({"profile": "fast"}, "profile", "quick, full"),
    ({"epochs": -3}, "epochs", ">= 1"),
    ({"epochs": 2.5}, "epochs", ">= 1"),
    ({"seed": -1}, "seed", ">= 0"),
    ({"folds": "one"}, "folds", "all"),
    ({"learning_rate": 1}, "learning_rate", "allowed"),
])
def test_bad_parameters_name_the_parameter_and_the_allowed_values(kwargs, name, allowed):
    base = {"dataset": "synthetic", "profile": "quick"} | kwargs
    with pytest.raises(ParamError) as err:
        resolve(**base)
    msg = str(err.value)
    assert msg.startswith(f"{name}:") and allowed in msg and "\n" not in msg


def test_a_missing_generic_file_is_named(tmp_path):
    with pytest.raises(ParamError, match="does not exist"):
        resolve(dataset=str(tmp_path / "mine.h5"))


def test_fold_selection():
    p = resolve(dataset="synthetic", profile="full", folds="0,2")
    assert p.fold_list(5) == [0, 2]
    assert resolve(dataset="synthetic", profile="quick").fold_list(5) == [0, 1]
    with pytest.raises(ParamError, match="folds"):
        p.fold_list(2)


@pytest.mark.parametrize("argv, needle", [
    (["reproduce", "--dataset", "nosuchdata", "--profile", "quick"], "dataset:"),
    (["reproduce", "--dataset", "synthetic", "--profile", "fast"], "profile:"),
    (["reproduce", "--dataset", "synthetic", "--profile", "quick", "-p", "epochs=-1"], "epochs:"),
    (["reproduce", "--dataset", "synthetic", "--profile", "quick", "--workers", "0"], "workers:"),
    (["--threads", "two", "reproduce", "--dataset", "synthetic"], "--threads:"),
])
def test_cli_stops_with_one_clear_line(argv, needle, capsys, isolated_dirs):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {needle}")
    assert not (isolated_dirs["build"] / "executed").exists()  # nothing was run


def test_cli_help_lists_the_subcommands(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for sub in ("reproduce", "book", "data"):
        assert sub in out


def test_book_on_absent_real_data_stops_at_once_with_the_data_layers_message(
        tmp_path, capsys, isolated_dirs):
    assert main(["book", "--dataset", "vegas", "--profile", "quick",
                 "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "VEGAS not found" in err[0] and "paper-lib data fetch vegas" in err[0]
    assert not (isolated_dirs["build"] / "executed").exists()


def test_each_knob_lives_beside_its_code_and_the_quick_profile_overrides_it():
    from paper_lib.experiment.knobs import known_knobs
    from paper_lib.pipeline.params import notebook_knobs
    from paper_lib.report import ablations as ab
    from paper_lib.report import tsne

    knobs = notebook_knobs()
    assert knobs["margins"] is ab.MARGINS and knobs["tsne_points"] is tsne.TSNE_POINTS
    assert set(known_knobs()) >= {"dims", "margins", "batch_numbers", "betas", "tsne_points",
                                  "n_folds", "epochs", "seeds"}
    assert ab.MARGINS.resolve("full") == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1]
    assert ab.MARGINS.resolve("quick") == [0.1, 0.5, 1.1]
    assert ab.MARGINS.resolve("quick", "0.3,0.7") == [0.3, 0.7]   # -p margins=0.3,0.7
    with pytest.raises(ParamError, match=r"^betas: every value must lie in \[0.0, 1.0\]"):
        ab.BETAS.resolve("full", [0.5, 1.5])
    with pytest.raises(ParamError, match="^dims: must be an integer >= 1"):
        ab.DIMS.resolve("full", [10, 0])


@pytest.mark.parametrize("argv, needle", [
    (["reproduce", "--dataset", "synthetic", "--profile", "quick", "-p", "margins=-1"],
     "margins:"),
    (["reproduce", "--dataset", "synthetic", "--profile", "quick", "-p", "learning_rate=1"],
     "learning_rate: unknown parameter"),
])
def test_a_bad_notebook_knob_stops_before_any_notebook_runs(argv, needle, capsys, isolated_dirs):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {needle}")
    assert not (isolated_dirs["build"] / "executed").exists()


def test_a_knob_name_has_one_meaning():
    from paper_lib.experiment.knobs import Knob, int_list
    from paper_lib.report import ablations as ab

    again = Knob("margins", list(ab.MARGINS.default), quick=list(ab.MARGINS.quick))
    assert again.resolve("quick") == ab.MARGINS.resolve("quick")  # re-defining it is harmless
    from paper_lib.experiment.knobs import known_knobs

    assert known_knobs()["margins"] is ab.MARGINS  # and keeps the first, checked, definition
    with pytest.raises(ValueError, match="defined twice"):
        Knob("margins", [0.5], check=int_list())
