"""The "Extending the companion" page, followed by a newcomer: a toy method, registered, run by
the runner and the command line, and shown in the main table; and the CLI's error contract."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from paper_lib.cli import main
from paper_lib.data.registry import load_dataset
from paper_lib.errors import UserError
from paper_lib.experiment import Config, run_configs
from paper_lib.methods import registry
from paper_lib.methods._validation import check_positive_int, check_views
from paper_lib.methods.base import CrossModalEstimator, View
from paper_lib.metrics.cross_modal import cross_modal_map
from paper_lib.paper import reference
from paper_lib.report import main_table as mt


class LeadingColumns(CrossModalEstimator):
    """A toy method: each view centred by its training mean, then its first d columns."""

    def __init__(self, n_components: int = 2, random_state: int | None = None) -> None:
        self.n_components = n_components
        self.random_state = random_state

    def _check_hyperparameters(self) -> None:
        check_positive_int(self.n_components, "n_components")

    def _fit(self, X_audio: np.ndarray, X_visual: np.ndarray, y: np.ndarray | None,
             **kwargs: Any) -> None:
        Xa, Xv, _ = check_views(X_audio, X_visual, y, n_components=self.n_components)
        self.mean_audio_, self.mean_visual_ = Xa.mean(axis=0), Xv.mean(axis=0)
        self.n_features_audio_, self.n_features_visual_ = Xa.shape[1], Xv.shape[1]

    def _transform_view(self, X: np.ndarray, view: View, **kwargs: Any) -> np.ndarray:
        mean = self.mean_audio_ if view == "audio" else self.mean_visual_
        return (X - mean)[:, : self.n_components]


class Broken(LeadingColumns):
    """A method with a bug inside ``fit`` (not a user error)."""

    def _fit(self, X_audio: np.ndarray, X_visual: np.ndarray, y: np.ndarray | None,
             **kwargs: Any) -> None:
        raise ZeroDivisionError("a bug inside fit")


@pytest.fixture
def toy_methods(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "METHODS", dict(registry.METHODS))  # undone after the test
    registry.register_method(registry.MethodSpec(
        "leading_columns", "Leading columns (toy)", "first d centred columns of each view",
        lambda dim, seed, epochs, **hp: LeadingColumns(n_components=dim, random_state=seed, **hp)))
    registry.register_method(registry.MethodSpec(
        "broken", "Broken (toy)", "raises inside fit",
        lambda dim, seed, epochs, **hp: Broken(n_components=dim, random_state=seed, **hp)))


def _toy_data():
    return load_dataset("synthetic", n_per_class=10, d_audio=8, d_visual=6, use_cache=False)


def test_a_new_method_runs_end_to_end_into_the_main_table(toy_methods, isolated_dirs):
    ds = _toy_data()
    with pytest.raises(ValueError, match="already"):
        registry.register_method(registry.get_method("leading_columns"))
    configs = [Config("leading_columns", dim=2), Config("cca", dim=2)]
    records, results = run_configs(ds, configs, folds=[0, 1], cache=True)
    # the runner's MAP is the toy's embeddings scored by the one metrics module, per view
    for res in results[:2]:
        est = LeadingColumns(n_components=2).fit(ds.audio[res.split.train],
                                                 ds.visual[res.split.train])
        Za = est.transform(X_audio=ds.audio[res.split.test])[0]
        Zv = est.transform(X_visual=ds.visual[res.split.test])[1]
        assert Za is not None and Zv is not None
        direct = cross_modal_map(Za, Zv, ds.labels[res.split.test])
        for d in ("a2v", "v2a"):
            assert res.metrics[d]["map"] == pytest.approx(direct[d], abs=1e-12)
    table = mt.main_table(records, reference("main_comparison", ds.name),
                          methods=("leading_columns", "cca"))
    row = table[table["method"] == "leading_columns"].iloc[0]
    assert row["paper_name"] == "Leading columns (toy)" and row["status"] == mt.STATUS_COMPUTED
    maps = records[(records["method"] == "leading_columns") & (records["metric"] == "map")
                   & (records["direction"] == "a2v")]["value"]
    assert row["ours_map_a2v_mean"] == pytest.approx(maps.mean())
    assert np.isnan(row["paper_map_a2v"]) and not row["in_paper"]  # the paper has no such row
    assert isinstance(mt.display_table(table), pd.DataFrame)


def test_the_command_line_runs_a_registered_method(toy_methods, isolated_dirs, capsys):
    assert main(["run", "--dataset", "synthetic", "--method", "leading_columns",
                 "--folds", "0", "--dim", "2"]) == 0
    assert "leading_columns" in capsys.readouterr().out


def test_a_user_error_is_one_line_and_a_bug_keeps_its_traceback(toy_methods, isolated_dirs,
                                                                capsys):
    assert main(["run", "--dataset", "synthetic", "--method", "nosuch", "--folds", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: method: unknown method 'nosuch'")
    with pytest.raises(ZeroDivisionError, match="a bug inside fit"):
        main(["run", "--dataset", "synthetic", "--method", "broken", "--folds", "0",
              "--no-cache"])
    with pytest.raises(UserError, match="n_components"):   # bad hyper-parameter: a user error
        LeadingColumns(n_components=0).fit(np.ones((4, 3)), np.ones((4, 3)))


def test_set_passes_checked_hyper_parameters_and_labels_the_records(isolated_dirs, tmp_path,
                                                                   capsys):
    out = tmp_path / "runs.csv"
    assert main(["run", "--dataset", "synthetic", "--method", "c_cca", "--folds", "0",
                 "--dim", "3", "--set", "beta=0.7", "--set", "variant='beta'",
                 "--seeds", "0,1", "--out", str(out)]) == 0
    records = pd.read_csv(out, keep_default_na=False)
    assert set(records["setting"]) == {"beta=0.7,variant=beta"}
    assert set(records["seed"]) == {0}  # closed form: the seed changes nothing, one fit
    # the records are those of an estimator built with the given value
    direct, _ = run_configs(_synthetic_default(), [Config("c_cca", dim=3,
                            hyper={"beta": 0.7, "variant": "beta"})], folds=[0], seeds=[0])
    got = records[(records["seed"] == 0) & (records["metric"] == "map")]["value"].to_numpy()
    want = direct[direct["metric"] == "map"]["value"].to_numpy()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    capsys.readouterr()


@pytest.mark.parametrize(("argv", "needle"), [
    (["--set", "nosuch=1"], "set: 'nosuch' is not a parameter of c_cca; allowed: "),
    (["--set", "beta=1.5"], "set: c_cca: beta"),
    (["--set", "n_components=4"], "set: 'n_components' is set by --dim"),
    (["--set", "beta"], "set: expected KEY=VALUE"),
    (["--seeds", "0,-1"], "seeds: must be an integer >= 0"),
])
def test_bad_set_or_seeds_stop_with_one_line(argv, needle, isolated_dirs, capsys):
    assert main(["run", "--dataset", "synthetic", "--method", "c_cca", "--folds", "0",
                 *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {needle}"), err


def test_seeds_average_a_seeded_method(isolated_dirs, tmp_path, capsys):
    out = tmp_path / "kcca.csv"
    assert main(["run", "--dataset", "synthetic", "--method", "kcca", "--folds", "0",
                 "--dim", "3", "--set", "approx=nystrom", "--set", "n_landmarks=40",
                 "--seeds", "0,1", "--out", str(out)]) == 0
    records = pd.read_csv(out, keep_default_na=False)
    assert set(records["seed"]) == {0, 1}
    assert set(records["setting"]) == {"approx=nystrom,n_landmarks=40"}
    assert "2 fit(s)" in capsys.readouterr().out


def _synthetic_default():
    return load_dataset("synthetic")


def test_the_four_state_of_the_art_baselines_run_from_the_command_line(isolated_dirs, tmp_path,
                                                                       capsys):
    out = tmp_path / "sota.csv"
    assert main(["run", "--dataset", "synthetic", "--method", "ugach,ucal,acmr,agah",
                 "--folds", "0", "--epochs", "1", "--out", str(out)]) == 0
    records = pd.read_csv(out, keep_default_na=False)
    maps = records[records["metric"] == "map"]
    assert list(dict.fromkeys(maps["method"])) == ["ugach", "ucal", "acmr", "agah"]
    assert maps["value"].between(0, 1).all() and len(maps) == 8
    capsys.readouterr()
    # the hashing method's settings go through --set like any other
    assert main(["run", "--dataset", "synthetic", "--method", "agah", "--folds", "0",
                 "--epochs", "1", "--set", "n_bits=16", "--out", str(tmp_path / "a.csv")]) == 0
    assert "n_bits=16" in set(pd.read_csv(tmp_path / "a.csv")["setting"])
    capsys.readouterr()
