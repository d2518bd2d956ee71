"""Issue 18: AV-digits in the paper's regime, features of networks pretrained on disjoint classes.

Checked here: no digit word, digit image or AV-digits clip enters the pretraining; the features
are deterministic for a fixed seed; the clips, pairs and folds are AV-digits'; the per-clip
folder reads back through the extraction layout; the pretraining accuracy is recorded; a rebuild
reuses the cached weights (and an unreadable cache entry is retrained). The corpora and the
training are shrunk (monkeypatched sizes) so that each build takes seconds, not a minute.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from paper_lib.data.avdigits import DIGITS
from paper_lib.errors import DataError
from paper_lib.extract.pretrain import (
    TrainingSpec,
    pretrained_network,
    stratified_held_out,
    train_classifier,
)

N_PER_CLASS = 5


@pytest.fixture
def tiny(monkeypatch, isolated_dirs):
    """The dataset module with corpora of 8 items a class and one epoch of training."""
    import paper_lib.data.avdigits_pretrained as ap

    monkeypatch.setattr(ap, "N_PER_WORD", 8)
    monkeypatch.setattr(ap, "N_PER_LETTER", 8)
    monkeypatch.setattr(ap, "AUDIO_TRAINING", TrainingSpec(epochs=1, batch_size=32))
    monkeypatch.setattr(ap, "IMAGE_TRAINING", TrainingSpec(epochs=1, batch_size=32))
    return ap


def test_no_digit_and_no_avdigits_data_enters_the_pretraining(tiny, monkeypatch):
    """The networks are pretrained without MNIST, without any AV-digits clip, and on words
    none of which is a digit: the MNIST loader and the AV-digits generator are made to fail, and
    every text sent to the synthesiser is recorded."""
    import paper_lib.data.avdigits as avdigits_module
    import paper_lib.data.pretraining.words as words_module

    def forbidden(*args, **kwargs):
        raise AssertionError("the pretraining touched MNIST or the AV-digits clips")

    monkeypatch.setattr(avdigits_module, "load_mnist_images", forbidden)
    monkeypatch.setattr(avdigits_module, "make_avdigits", forbidden)
    monkeypatch.setattr(tiny, "make_avdigits", forbidden)
    spoken: list[str] = []
    real = words_module.synthesise

    def recording(utterances, *args, **kwargs):
        spoken.extend(u.text for u in utterances)
        return real(utterances, *args, **kwargs)

    monkeypatch.setattr(words_module, "synthesise", recording)
    _, audio_report, audio_emb = tiny.audio_network(0, use_cache=False)
    _, image_report, image_emb = tiny.image_network(0, use_cache=False)
    assert spoken and not set(spoken) & set(DIGITS)
    assert not any(d in w for w in spoken for d in DIGITS)           # nor inside a word
    assert set(audio_report.classes) == set(spoken)
    assert not set(image_report.classes) & {str(d) for d in range(10)}
    assert not set(image_report.classes) & {"O", "o", "I", "l", "Z", "S", "B", "g", "q"}
    assert audio_emb.shape == (20 * 8, tiny.EMBED_DIM)
    assert image_emb.shape == (20 * 8, tiny.EMBED_DIM)


def test_the_features_are_deterministic_and_the_clips_are_avdigits(tiny):
    from paper_lib.data.avdigits import make_avdigits

    a = tiny.make_avdigits_pretrained(seed=3, n_per_class=N_PER_CLASS, use_cache=False)
    b = tiny.make_avdigits_pretrained(seed=3, n_per_class=N_PER_CLASS, use_cache=False)
    for field in ("audio", "visual", "audio_seq", "visual_seq", "seq_len"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    assert a.checksum() == b.checksum()
    raw = make_avdigits(seed=3, n_per_class=N_PER_CLASS, use_cache=False)
    assert np.array_equal(a.clip_ids, raw.clip_ids)
    assert np.array_equal(a.labels, raw.labels) and np.array_equal(a.folds, raw.folds)
    assert a.class_names == raw.class_names
    # the pairs: the same waveform and the same image in every row
    assert np.array_equal(a.media["waveforms"], raw.media["waveforms"])
    assert np.array_equal(a.media["images"], raw.media["images"])
    # only the features differ: 128-d codes of the two networks, not log-mel statistics/pixels
    assert a.audio.shape == a.visual.shape == (raw.n_clips, tiny.EMBED_DIM)
    assert raw.visual.shape[1] == 28 * 28
    # de-quantised one-byte codes, (q - 128) / 256, averaged over the clip's seconds
    codes = a.visual_seq[:, 0, :] * 256 + 128
    assert np.allclose(codes, np.round(codes), atol=1e-4) and codes.min() >= 0 and codes.max() <= 255
    # one audio code per whole second of the clip (a 0.96 s VGGish patch each)
    seconds = raw.media["waveform_lengths"] // raw.media["sample_rate"]
    assert np.array_equal(a.seq_len, seconds)
    assert a.audio.std(axis=0).max() > 0 and a.visual.std(axis=0).max() > 0
    c = tiny.make_avdigits_pretrained(seed=3, n_per_class=N_PER_CLASS, pretrain_seed=1,
                                      use_cache=False)
    assert not np.array_equal(a.audio, c.audio)            # another pretraining, other features


def test_the_per_clip_folder_reads_back_and_the_accuracy_is_recorded(tiny, isolated_dirs):
    from paper_lib.data.registry import load_dataset

    ds = tiny.make_avdigits_pretrained(seed=0, n_per_class=N_PER_CLASS)
    reports = tiny.pretraining_reports(ds)
    for view, n_classes in (("audio", 20), ("visual", 20)):
        r = reports[view]
        assert len(r["classes"]) == n_classes
        assert 0.0 <= r["held_out_accuracy"] <= 1.0 and r["n_held_out"] > 0
        assert r["n_train"] + r["n_held_out"] == n_classes * 8
    # the folder written through the extraction layout is a dataset of its own
    folders = sorted((isolated_dirs["cache"] / "datasets").glob("avdigits-pretrained-*-clips"))
    assert len(folders) == 1
    for sub in ("vgg", "inception", "classes", "folds"):
        assert (folders[0] / sub).is_dir()
    again = load_dataset(str(folders[0]))
    order = {str(c): i for i, c in enumerate(again.clip_ids)}
    rows = [order[str(c)] for c in ds.clip_ids]
    assert np.allclose(again.audio[rows], ds.audio) and np.allclose(again.visual[rows], ds.visual)
    assert np.array_equal(again.folds[rows], ds.folds)
    # and the registry knows the dataset by name
    named = load_dataset("avdigits-pretrained", n_per_class=N_PER_CLASS)
    assert named.checksum() == ds.checksum()


def test_a_rebuild_reuses_the_cached_weights(tiny, isolated_dirs, monkeypatch):
    import paper_lib.extract.pretrain as pretrain_module

    first = tiny.make_avdigits_pretrained(seed=0, n_per_class=N_PER_CLASS)
    weights = sorted((isolated_dirs["cache"] / "pretrained").glob("*.safetensors"))
    assert [w.name.split("-")[0] for w in weights] == ["audio_words", "image_letters"]
    # the dataset itself is rebuilt (its cache removed), the networks must not be retrained
    for f in (isolated_dirs["cache"] / "datasets").glob("avdigits-pretrained-*.npz"):
        f.unlink()

    def no_training(*args, **kwargs):
        raise AssertionError("a cached network was trained again")

    monkeypatch.setattr(pretrain_module, "train_classifier", no_training)
    second = tiny.make_avdigits_pretrained(seed=0, n_per_class=N_PER_CLASS)
    assert second.checksum() == first.checksum()
    assert tiny.pretraining_reports(second)["audio"]["key"] == \
        tiny.pretraining_reports(first)["audio"]["key"]


# -- the training loop and the weight cache, on a tiny network ---------------------------------
def _toy(seed: int = 0):
    import torch

    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), 40)
    centres = rng.normal(size=(3, 5)) * 3
    inputs = (centres[labels] + rng.normal(size=(labels.size, 5))).astype(np.float32)

    def build():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))

    return build, inputs, labels


def test_held_out_part_is_stratified_and_disjoint():
    labels = np.repeat(np.arange(4), [10, 5, 20, 2])
    held = stratified_held_out(labels, 0.2, seed=0)
    assert [int(held[labels == c].sum()) for c in range(4)] == [2, 1, 4, 1]
    assert all((~held[labels == c]).any() for c in range(4))      # every class still trains
    assert np.array_equal(held, stratified_held_out(labels, 0.2, seed=0))
    with pytest.raises(DataError, match="class 1 has 1 item"):
        stratified_held_out(np.array([0, 0, 1]), 0.2, seed=0)


def test_training_learns_and_reports_held_out_accuracy():
    build, inputs, labels = _toy()
    net = build()
    report = train_classifier(net, inputs, labels, TrainingSpec(epochs=30, batch_size=16,
                                                                 lr=1e-2), name="toy")
    assert report.n_train + report.n_held_out == labels.size and report.n_held_out == 24
    assert report.held_out_accuracy > 0.9 and report.train_accuracy > 0.9   # separable blobs
    with pytest.raises(DataError, match="NaN or inf"):
        bad = inputs.copy()
        bad[0, 0] = np.nan
        train_classifier(build(), bad, labels, TrainingSpec(epochs=1))


def test_weight_cache_is_used_then_healed(tmp_path: Path, caplog):
    build, inputs, labels = _toy()
    calls = []

    def corpus():
        calls.append(1)
        return inputs, labels, ("a", "b", "c")

    spec = TrainingSpec(epochs=3, batch_size=16)
    kw = {"corpus_params": {"n": 120}, "code_version": "v1", "cache_dir": tmp_path}
    net1, r1 = pretrained_network("toy", build, corpus, spec, **kw)
    net2, r2 = pretrained_network("toy", build, corpus, spec, **kw)
    assert len(calls) == 1 and not r1.cached and r2.cached
    x = __import__("torch").from_numpy(inputs)
    assert (net1(x) == net2(x)).all()                                # the same weights
    assert r2.held_out_accuracy == r1.held_out_accuracy
    # another code version is another entry
    pretrained_network("toy", build, corpus, spec, **{**kw, "code_version": "v2"})
    assert len(calls) == 2
    # an unreadable entry is reported once, discarded and retrained
    report_file = next(tmp_path.glob("toy-*.json"))
    key = report_file.stem.split("-", 1)[1]
    (tmp_path / f"toy-{key}.safetensors").write_bytes(b"truncated")
    with caplog.at_level("WARNING", logger="paper_lib.cache"):
        _, r3 = pretrained_network("toy", build, corpus, spec, **kw)
    assert not r3.cached and len(calls) == 3
    assert any("discarding unreadable entry" in m for m in caplog.messages)
    assert json.loads(report_file.read_text())["key"] == key


def test_training_spec_refuses_bad_settings():
    from paper_lib.errors import ParamError

    for bad, match in (({"epochs": 0}, "epochs"), ({"lr": 0.0}, "lr"),
                       ({"held_out_fraction": 1.0}, "held_out_fraction"), ({"seed": -1}, "seed")):
        with pytest.raises(ParamError, match=match):
            TrainingSpec(**bad).check()


# -- in the built book ---------------------------------------------------------------------------
def test_the_book_shows_both_regimes_and_records_the_pretraining(quick_book):
    """The default build runs on the pretrained regime; every page's provenance records the
    pretraining accuracies; the main table and the paper-vs-book page hold both regimes with
    their rank agreement; the teaching chapters keep the raw-feature clips."""
    import pandas as pd

    results = quick_book["results"]
    assert results.name == "avdigits-pretrained-quick"
    prov = json.loads((results / "main_table" / "provenance.json").read_text())
    assert prov["dataset"]["name"] == "avdigits-pretrained"
    for view in ("audio", "visual"):
        report = prov["dataset_provenance"]["pretraining"][view]
        assert 0.5 < report["held_out_accuracy"] <= 1.0          # well above chance (1/20)
        assert not set(report["classes"]) & set(DIGITS)
    main = pd.read_csv(results / "main_table" / "main_table.csv")
    raw = pd.read_csv(results / "main_table" / "main_table_avdigits.csv")
    assert list(main["method"]) == list(raw["method"])
    assert not np.allclose(main["ours_map_a2v_mean"], raw["ours_map_a2v_mean"])
    for folder in ("main_table", "paper_vs_book"):
        agreement = pd.read_csv(results / folder / "regime_agreement.csv")
        assert list(agreement["dataset"]) == ["avdigits-pretrained", "avdigits"]
        assert agreement[["rho_a2v", "rho_v2a"]].abs().le(1).all().all()
    teach = json.loads((results / "teach_cca_2d" / "provenance.json").read_text())
    assert teach["dataset"]["name"] == "avdigits"
    html = (quick_book["html"] / "notebooks" / "02_main_table.html").read_text()
    assert "Two feature regimes" in html and "tbl-main-table-regimes" in html
