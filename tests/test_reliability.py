"""Issue 14: every bad argument is refused before any work, with one line naming it.

Each test reproduces a defect the reliability probe found on an earlier main (the item number of
issue 14 is in the test's name) and fails on that main."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from paper_lib import atomic
from paper_lib.cli import main
from paper_lib.errors import ParamError, UserError
from paper_lib.experiment.knobs import check_folds, int_list


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = main(["run", "--dataset", "synthetic", "--method", "cca", *argv])
    return status, capsys.readouterr().err


def test_item6_a_negative_seed_is_refused_naming_the_argument(capsys):
    status, err = _run(capsys, "--seed", "-1")
    assert status == 2 and err.strip() == "error: seed: must be an integer >= 0, got -1"


def test_item7_a_fold_given_twice_is_refused(capsys):
    with pytest.raises(ParamError, match="folds: fold 0 is given twice"):
        check_folds("0,0")
    with pytest.raises(ParamError, match="folds: fold 2 is given twice"):
        check_folds("2, 1,2")
    assert check_folds("0,2") == "0,2" and check_folds("all") == "all"
    status, err = _run(capsys, "--folds", "0,0")
    assert status == 2 and "fold 0 is given twice" in err
    with pytest.raises(ParamError, match="seeds: 1 is given twice"):
        int_list(minimum=0, unique=True)("seeds", "0,1,1")


def test_item3_the_output_path_is_checked_before_any_fit(capsys, tmp_path, monkeypatch):
    # the fits must not start: make any fit fail loudly
    import paper_lib.experiment.grid as grid

    def no_fit(*args, **kwargs):
        raise AssertionError("a fit started before --out was checked")

    monkeypatch.setattr(grid, "run_configs", no_fit)
    status, err = _run(capsys, "--out", str(tmp_path))
    assert status == 2 and "is a folder; give a file name" in err and "out:" in err
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    status, err = _run(capsys, "--out", str(blocker / "sub" / "records.csv"))
    assert status == 2 and "is not a folder" in err


def test_check_writable_file_accepts_a_new_file_in_a_new_folder(tmp_path: Path):
    target = tmp_path / "new" / "deeper" / "records.csv"
    assert atomic.check_writable_file(target, "out") == target
    assert not (tmp_path / "new").exists()          # checking makes nothing
    readonly = tmp_path / "ro"
    readonly.mkdir()
    readonly.chmod(0o500)
    try:
        import os
        if os.access(readonly, os.W_OK):             # root ignores the mode bits
            pytest.skip("running as root: permissions are not enforced")
        with pytest.raises(UserError, match="out: .* is not writable"):
            atomic.check_writable_file(readonly / "records.csv", "out")
    finally:
        readonly.chmod(0o700)


def test_item6_dim_is_checked_against_the_training_rows(capsys, monkeypatch):
    from paper_lib.data import registry

    real = registry.load_dataset

    def tiny(*args, **kwargs):
        ds = real(*args, **kwargs)
        # three clips of every fold: 12 training rows per split
        keep = np.concatenate([[np.flatnonzero((ds.folds == f) & (ds.labels == c))[0]
                                for c in np.unique(ds.labels)[:3]] for f in range(ds.n_folds)])
        return dataclasses.replace(ds, audio=ds.audio[keep], visual=ds.visual[keep],
                                   labels=ds.labels[keep], folds=ds.folds[keep],
                                   clip_ids=ds.clip_ids[keep], audio_seq=None,
                                   visual_seq=None, seq_len=None, media=None)

    monkeypatch.setattr(registry, "load_dataset", tiny)
    status, err = _run(capsys, "--dim", "13")
    assert status == 2 and "dim: 13 is larger than the 12 training rows" in err and "training rows" in err


# -- item 4: a corrupted cache entry is reported once, discarded and recomputed -----------------
def _fit_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from paper_lib.data.registry import load_dataset
    from paper_lib.experiment.cache import cache_root, evaluate_split_cached

    monkeypatch.setenv("PAPER_LIB_CACHE", str(tmp_path / "cache"))
    ds = load_dataset("synthetic", seed=0)
    split = next(ds.splits([0]))
    first = evaluate_split_cached(ds, "cca", split, dim=4)
    (arrays,) = cache_root().glob("*.npz")
    return ds, split, first, arrays, arrays.with_suffix(".json")


@pytest.mark.parametrize("damage", ["truncated_npz", "empty_json", "not_an_object"])
def test_item4_a_damaged_fit_cache_entry_is_recomputed(tmp_path, monkeypatch, caplog, damage):
    from paper_lib.experiment.cache import evaluate_split_cached

    ds, split, first, arrays, meta = _fit_once(tmp_path, monkeypatch)
    if damage == "truncated_npz":
        arrays.write_bytes(arrays.read_bytes()[:100])
    elif damage == "empty_json":
        meta.write_text("")
    else:
        meta.write_text("[1, 2]")
    with caplog.at_level("WARNING", logger="paper_lib.cache"):
        again = evaluate_split_cached(ds, "cca", split, dim=4)
    assert again.estimator is not None                       # refitted, not read
    assert again.metrics == first.metrics
    (record,) = caplog.records                               # reported once, naming the file
    assert "discarding unreadable entry" in record.getMessage()
    assert (str(meta) if damage != "truncated_npz" else str(arrays)) in record.getMessage()
    caplog.clear()
    with caplog.at_level("WARNING", logger="paper_lib.cache"):
        third = evaluate_split_cached(ds, "cca", split, dim=4)   # the rewritten entry is read
    assert third.estimator is None and not caplog.records


def test_item4_an_empty_execution_stamp_reruns_its_notebook(tmp_path, caplog):
    from paper_lib.pipeline import execute

    output = tmp_path / "01_x.ipynb"
    stamp = output.with_suffix(".stamp.json")
    stamp.write_text("")
    with caplog.at_level("WARNING", logger="paper_lib.cache"):
        assert execute._read_stamp(output) == {}
        assert execute._read_stamp(output) == {}              # gone: reported once
    assert len(caplog.records) == 1 and str(stamp) in caplog.records[0].getMessage()
    assert not stamp.exists()


def test_a_list_knob_from_the_command_line_reaches_the_notebook_as_a_list():
    """`-p margins=0.1,0.5` was a tuple, which papermill injected as the text "(0.1, 0.5)"."""
    from paper_lib.cli import build_parser

    args = build_parser().parse_args(["reproduce", "-p", "margins=0.1,0.5", "-p", "epochs=3"])
    assert dict(args.param) == {"margins": [0.1, 0.5], "epochs": 3}


# -- item 1: never a silent wrong number -----------------------------------------------------------
def _small():
    from paper_lib.data.registry import load_dataset

    return load_dataset("synthetic", n_classes=3, n_per_class=20, d_audio=8, d_visual=12,
                        max_seconds=3, use_cache=False)


@pytest.mark.parametrize("method", ["cca", "c_cca", "dcca", "tnn_c_cca"])
@pytest.mark.parametrize("damage", ["huge", "tiny", "constant", "zero"])
def test_item1_an_unusable_view_is_refused_by_every_method(method, damage):
    """`dcca` scored 1e300-scaled features as the all-tied MAP (.4215), and a constant or
    all-zero view was accepted by every method (MAP then reflected only the row order)."""
    from paper_lib.experiment.evaluate import evaluate_split

    ds = _small()
    audio = ds.audio.copy()
    if damage == "huge":
        audio *= 1e300
    elif damage == "tiny":          # CCA gave all-zero embeddings, KCCA a PLS-like answer
        audio *= 1e-200
    elif damage == "constant":
        audio[:] = 3.0
    else:
        audio[:] = 0.0
    bad = dataclasses.replace(ds, audio=audio)
    expected = {"huge": "in magnitude", "tiny": "in magnitude: below", "constant": "is constant", "zero": "is all zero"}[damage]
    with pytest.raises(UserError, match=f"X_audio .*{expected}"):
        evaluate_split(bad, method, next(bad.splits()), dim=2, epochs=1)


def test_item1_a_collapsed_embedding_is_reported_not_scored():
    from paper_lib.experiment.evaluate import check_embedding

    Z = np.random.default_rng(0).normal(size=(6, 3))
    check_embedding(Z, Z + 1, "m", "fold0")                      # a usable embedding passes
    with pytest.raises(UserError, match="m on fold0: the visual test embedding maps every test"):
        check_embedding(Z, np.ones((6, 3)), "m", "fold0")
    nan = Z.copy()
    nan[2, 1] = np.nan
    with pytest.raises(UserError, match="the audio test embedding contains NaN"):
        check_embedding(nan, Z, "m", "fold0")


def test_item1_a_method_that_collapses_is_not_scored(monkeypatch):
    """An estimator whose transform maps every clip to one point: evaluate_split raises
    instead of returning the all-tied MAP."""
    from paper_lib.experiment.evaluate import evaluate_split
    from paper_lib.methods.cca import CCA

    class Collapsing(CCA):
        def transform(self, X_audio=None, X_visual=None, **kw):
            Za, Zv = super().transform(X_audio=X_audio, X_visual=X_visual, **kw)
            return (None if Za is None else np.zeros_like(Za),
                    None if Zv is None else Zv)

    ds = _small()
    with pytest.raises(UserError, match="Collapsing on fold0: the audio test embedding maps"):
        evaluate_split(ds, Collapsing(n_components=2), next(ds.splits()))


# -- items 2 and 6: a bad generic .h5 is refused before any notebook, with the real problem -------
def _generic_file(tmp_path: Path, damage: str) -> Path:
    import h5py

    from paper_lib.data.formats.generic_h5 import write_generic_h5

    path = write_generic_h5(_small(), tmp_path / "mine.h5")
    with h5py.File(path, "r+") as f:
        del f["audio"]
        if damage == "group":
            f.create_group("audio")
        else:
            f["audio"] = h5py.ExternalLink(str(tmp_path / "gone.h5"), "/audio")
    return path


@pytest.mark.parametrize(("damage", "message"), [
    ("group", "'audio' is an HDF5 group, not a dataset"),
    ("broken_link", "'audio' is a link (ExternalLink) whose target")])
def test_item6_audio_that_is_a_group_or_a_broken_link_is_named_so(tmp_path, damage, message):
    from paper_lib.data.formats.generic_h5 import read_generic_h5
    from paper_lib.errors import DataError

    path = _generic_file(tmp_path, damage)
    with pytest.raises(DataError, match=re.escape(message)):
        read_generic_h5(path)


def test_item2_reproduce_checks_a_generic_file_before_the_first_notebook(tmp_path, monkeypatch):
    from paper_lib.errors import DataError
    from paper_lib.pipeline import execute

    def no_notebook(*args, **kwargs):
        raise AssertionError("a notebook started before the dataset was checked")

    monkeypatch.setattr(execute, "run_notebook", no_notebook)
    monkeypatch.setenv("PAPER_LIB_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("PAPER_LIB_BUILD", str(tmp_path / "build"))
    path = _generic_file(tmp_path, "group")
    with pytest.raises(DataError, match="not a dataset"):
        execute.reproduce(str(path), "quick", log=lambda _: None, workers=1)
    assert not (tmp_path / "results").exists() and not (tmp_path / "build").exists()


# -- item 2 for `fit` and `extract`: the output and the arguments are checked before any work ----
def test_item2_fit_checks_out_and_dim_before_fitting(capsys, tmp_path, monkeypatch):
    from paper_lib.methods.cca import CCA

    def no_fit(self, *args, **kwargs):
        raise AssertionError("a fit started before the arguments were checked")

    monkeypatch.setattr(CCA, "fit", no_fit)
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("someone's folder")

    def fit(*argv: str) -> tuple[int, str]:
        status = main(["fit", "--dataset", "synthetic", "--method", "cca", *argv])
        return status, capsys.readouterr().err

    status, err = fit("--out", str(taken))
    assert status == 2 and "--out:" in err and "already exists" in err and "--overwrite" in err
    status, err = fit("--out", str(taken), "--overwrite")
    assert status == 2 and "is not a model directory" in err
    assert (taken / "notes.txt").read_text() == "someone's folder"      # never replaced
    status, err = fit("--out", str(tmp_path / "m"), "--dim", "2001")     # 2,000 synthetic clips
    assert status == 2 and "--dim: 2001 is larger than the 2000 training rows of every clip" in err
    assert not (tmp_path / "m").exists()


def test_can_create_probes_the_folder_rather_than_the_mode_bits(tmp_path: Path):
    # /proc refuses new entries even to root, for whom the mode bits say "writable"
    if not Path("/proc/self").exists():
        pytest.skip("no /proc on this platform")
    with pytest.raises(UserError, match=r"out: cannot create '/proc/x/y' \(nothing can be "
                                        r"created in '/proc'\)"):
        atomic.check_can_create("/proc/x/y", "out")
    atomic.check_can_create(tmp_path / "a" / "b", "out")
    assert list(tmp_path.iterdir()) == []             # the probe leaves nothing behind


def test_item2_extract_refuses_a_bad_fold_count_before_any_clip(capsys, tmp_path):
    (tmp_path / "videos" / "dog").mkdir(parents=True)
    (tmp_path / "videos" / "dog" / "clip.mp4").write_bytes(b"not a video")
    out = tmp_path / "out"
    status = main(["extract", str(tmp_path / "videos"), str(out), "--weights", "random",
                   "--folds", "1", "--serial", "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2 and "n_folds (--folds) must be an integer of at least 2, got 1" in err
    assert not out.exists()
