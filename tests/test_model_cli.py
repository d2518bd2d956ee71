"""``paper-lib fit | embed | index build | search`` end to end on a tiny synthetic dataset, through
paper_lib.search.cli (the functions paper_lib.cli wires), and the arguments' errors."""

from __future__ import annotations

import argparse
import re

import numpy as np
import pytest

from paper_lib.data.registry import load_dataset
from paper_lib.errors import DataError, UserError
from paper_lib.methods.persist import load_model, read_model_info
from paper_lib.search.cli import add_model_parsers, run_model_command

pytest.importorskip("faiss")

OPTIONS = {"n_classes": 3, "n_per_class": 20, "d_audio": 8, "d_visual": 12, "max_seconds": 3,
           "use_cache": False}
DATA = ["--dataset", "synthetic"] + [a for k, v in OPTIONS.items()
                                     for a in ("--data-option", f"{k}={v}")]


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="paper-lib")
    add_model_parsers(parser.add_subparsers(dest="command"))
    return run_model_command(parser.parse_args([str(a) for a in argv]))


@pytest.fixture(scope="module")
def ds():
    return load_dataset("synthetic", **OPTIONS)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A TNN-C-CCA fitted on fold 0's training rows, and the visual index of fold 0's test rows."""
    root = tmp_path_factory.mktemp("cli")
    assert run("fit", *DATA, "--method", "tnn_c_cca", "--dim", 3, "--epochs", 2, "--fold", 0,
               "--out", root / "model") == 0
    assert run("index", "build", root / "model", *DATA, "--view", "visual", "--fold", 0,
               "--out", root / "index") == 0
    return root


def test_fit_records_what_it_was_fitted_on(fitted, ds):
    info = read_model_info(fitted / "model")
    assert info["class"] == "paper_lib.methods.tnn.TNNCCCA"
    meta = info["metadata"]
    assert (meta["method"], meta["dataset"], meta["fold"], meta["rows"]) == (
        "tnn_c_cca", "synthetic", 0, "train")
    assert meta["n_train"] == next(ds.splits([0])).train.size == 48
    assert meta["dataset_checksum"] == ds.checksum() and meta["data_options"] == OPTIONS
    assert info["params"]["n_components"] == 3 and info["params"]["epochs"] == 2


def test_embed_writes_the_models_embedding(fitted, ds, tmp_path, capsys):
    np.save(tmp_path / "q.npy", ds.audio[:5])
    assert run("embed", fitted / "model", "--audio", tmp_path / "q.npy",
               "--out", tmp_path / "z.npy") == 0
    Z = np.load(tmp_path / "z.npy")
    np.testing.assert_array_equal(Z, load_model(fitted / "model").transform_view(ds.audio[:5],
                                                                                  "audio"))
    assert "embedded 5 audio rows" in capsys.readouterr().out
    np.save(tmp_path / "one.npy", ds.visual[3])              # one clip, (d,)
    run("embed", fitted / "model", "--visual", tmp_path / "one.npy", "--out", tmp_path / "z1.npy")
    assert np.load(tmp_path / "z1.npy").shape == (1, Z.shape[1])


def test_search_prints_the_nearest_clips_of_the_index(fitted, ds, tmp_path, capsys):
    from paper_lib.search.index import load_index

    test = next(ds.splits([0])).test
    index = load_index(fitted / "index")
    np.testing.assert_array_equal(index.ids, ds.clip_ids[test])          # fold 0's test clips
    assert index.metadata["view"] == "visual" and index.metric == "cosine"
    np.save(tmp_path / "q.npy", ds.audio[test[:2]])
    capsys.readouterr()
    assert run("search", fitted / "index", "--audio", tmp_path / "q.npy", "--k", 4) == 0
    out = capsys.readouterr().out
    assert "2 audio queries -> 12 visual clips of synthetic (exact index, cosine)" in out
    rows = re.findall(r"^\s+(\d)\s+(\S+)\s+(\S+)\s+(-?\d\.\d{4})$", out, flags=re.MULTILINE)
    assert len(rows) == 8 and [r[0] for r in rows] == list("1234") * 2
    Z = load_model(fitted / "model").transform_view(ds.audio[test[:2]], "audio")
    ids, scores = index.search(Z, 4)
    assert [r[1] for r in rows] == ids.ravel().tolist()
    np.testing.assert_allclose([float(r[3]) for r in rows], scores.ravel(), atol=1e-4)
    names = dict(zip(ds.clip_ids, (ds.class_names[c] for c in ds.labels), strict=True))
    assert all(names[clip] == label for _, clip, label, _ in rows)
    # a visual clip of the index, queried with its own features, finds itself first
    np.save(tmp_path / "v.npy", ds.visual[test[5]])
    run("search", fitted / "index", "--visual", tmp_path / "v.npy", "--k", 1,
        "--model", fitted / "model")
    first = re.search(r"^\s+1\s+(\S+)\s+\S+\s+(\S+)$", capsys.readouterr().out, re.MULTILINE)
    assert first and first.group(1) == ds.clip_ids[test[5]] and float(first.group(2)) > 0.9999


def test_a_hashing_model_is_indexed_by_hamming_and_a_sequence_model_takes_lengths(ds, tmp_path):
    from paper_lib.search.index import load_index

    run("fit", *DATA, "--method", "ugach", "--epochs", 1, "--set", "n_bits=16",
        "--out", tmp_path / "ugach")
    run("index", "build", tmp_path / "ugach", *DATA, "--view", "audio", "--kind", "hnsw",
        "--out", tmp_path / "codes")
    index = load_index(tmp_path / "codes")
    assert (index.metric, index.kind, index.n_items, index.dim) == ("hamming", "hnsw", 60, 16)
    run("fit", *DATA, "--method", "lstm_c_cca", "--dim", 2, "--epochs", 1,
        "--out", tmp_path / "lstm")
    np.save(tmp_path / "seq.npy", ds.visual_seq[:4])
    np.save(tmp_path / "len.npy", ds.seq_len[:4])
    run("embed", tmp_path / "lstm", "--visual", tmp_path / "seq.npy", "--lengths",
        tmp_path / "len.npy", "--out", tmp_path / "z.npy")
    expected = load_model(tmp_path / "lstm").transform_view(ds.visual_seq[:4], "visual",
                                                            lengths=ds.seq_len[:4])
    np.testing.assert_array_equal(np.load(tmp_path / "z.npy"), expected)


def test_bad_input_is_named(fitted, ds, tmp_path):
    out = ["--out", tmp_path / "m"]
    with pytest.raises(UserError, match=r"--set: cca has no hyper-parameter 'colour'"):
        run("fit", *DATA, "--method", "cca", "--set", "colour=red", *out)
    with pytest.raises(UserError, match=r"--set: n_components is set by --dim"):
        run("fit", *DATA, "--method", "cca", "--set", "n_components=3", *out)
    with pytest.raises(UserError, match=r"--set: expected KEY=VALUE"):
        run("fit", *DATA, "--method", "cca", "--set", "reg", *out)
    with pytest.raises(UserError, match=r"n_components must be a positive integer"):
        run("fit", *DATA, "--method", "cca", "--dim", 0, *out)
    with pytest.raises(UserError, match=r"--fold: fold 7 does not exist"):
        run("fit", *DATA, "--method", "cca", "--fold", 7, *out)
    with pytest.raises(UserError, match=r"--fold: expected 'all' or a fold number"):
        run("fit", *DATA, "--method", "cca", "--fold", "first", *out)
    with pytest.raises(UserError, match=r"synthetic: unknown option\(s\) \['colour'\]"):
        run("fit", "--dataset", "synthetic", "--data-option", "colour=1", "--method", "cca", *out)
    with pytest.raises(UserError, match=r"method: unknown method 'nope'"):
        run("fit", *DATA, "--method", "nope", *out)
    assert not (tmp_path / "m").exists()
    with pytest.raises(UserError, match=r"--audio: .*missing.npy: no such file"):
        run("embed", fitted / "model", "--audio", tmp_path / "missing.npy", *out)
    np.save(tmp_path / "narrow.npy", ds.audio[:2, :5])
    with pytest.raises(UserError, match=r"--audio: X_audio has 5 columns .* fitted on 8"):
        run("search", fitted / "index", "--audio", tmp_path / "narrow.npy")
    with pytest.raises(DataError, match=r"MODEL_DIR: .*nowhere: no such model directory"):
        run("embed", tmp_path / "nowhere", "--audio", tmp_path / "narrow.npy", *out)
    run("fit", *DATA, "--method", "c_cca", "--dim", 2, "--out", tmp_path / "other")
    np.save(tmp_path / "q.npy", ds.audio[:1])
    with pytest.raises(UserError, match=r"--model: .*other is not the model that built the "
                                        r"index"):
        run("search", fitted / "index", "--audio", tmp_path / "q.npy", "--model",
            tmp_path / "other")
    with pytest.raises(UserError, match="already exists"):
        run("fit", *DATA, "--method", "c_cca", "--dim", 2, "--out", tmp_path / "other")
