"""Save / load of fitted estimators (paper_lib.methods.persist): every registered method
round-trips to identical embeddings in a fresh process; a corrupted, changed, missing or
incompatible model raises DataError naming the file; nothing is pickled; saving is atomic."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from paper_lib.data.registry import load_dataset
from paper_lib.described_folder import canonical
from paper_lib.errors import DataError, UserError
from paper_lib.methods import persist
from paper_lib.methods.base import NotFittedError
from paper_lib.methods.cca import CCA
from paper_lib.methods.registry import METHODS
from paper_lib.methods.ucal import UCAL
from paper_lib.paths import REPO_ROOT

#: the methods registered when save/load was written; the round trip covers all of METHODS
PAPER_METHODS = {"cca", "kcca", "dcca", "c_cca", "c_cca_rasiwasia", "c_kcca", "c_dcca", "ugach",
                 "ucal", "acmr", "agah", "lstm_c_cca", "tnn_c_cca_random", "tnn_c_cca"}
#: variants whose fitted state differs in kind: no adversary (a None module), TNN's other order,
#: shared branches (one module twice), a Nystroem kernel map (a scikit-learn object)
VARIANTS = [("ucal", {"adversarial": False}), ("agah", {"adversarial": False}),
            ("tnn_c_cca", {"order": "tnn_first", "validation_fraction": 0.2}),
            ("tnn_c_cca", {"shared_branch": True}), ("dcca", {"out_dim": 4}),
            ("kcca", {"approx": "nystrom", "n_landmarks": 20})]


@pytest.fixture(scope="module")
def ds():
    return load_dataset("synthetic", n_classes=3, n_per_class=20, d_audio=8, d_visual=12,
                        max_seconds=3, use_cache=False)


#: small settings for methods whose defaults do not fit the tiny inputs
SMALL = {"ave_net": {"audio_channels": (4,), "visual_channels": (4,), "embedding_dim": 8,
                     "batch_size": 8}}


def _media(ds):
    """Small spectrogram- and image-like arrays, one per clip (a method on raw media)."""
    rng = np.random.default_rng(0)
    return (rng.normal(size=(ds.n_clips, 12, 8)).astype(np.float32),
            rng.uniform(size=(ds.n_clips, 8, 8)).astype(np.float32))


def _inputs(est, ds):
    if est.input_kind == "media":
        Xa, Xv = _media(ds)
        return Xa, Xv, {}
    if est.input_kind == "sequence":
        return ds.audio_seq, ds.visual_seq, {"lengths": ds.seq_len}
    if est.input_kind == "mean":
        return ds.audio, ds.visual, {}
    pytest.fail(f"{type(est).__name__}: input_kind {est.input_kind!r}: give this test the "
                f"inputs of such a method")


def _fit(name, hp, ds):
    est = METHODS[name].build(3, 0, 2, **hp)
    Xa, Xv, kw = _inputs(est, ds)
    return est.fit(Xa, Xv, ds.labels, **kw)


def _embed(est, ds):
    Xa, Xv, kw = _inputs(est, ds)
    return est.transform(Xa, Xv, **kw)


@pytest.fixture(scope="module")
def cca_dir(ds, tmp_path_factory):
    est = CCA(n_components=2).fit(ds.audio, ds.visual)
    return persist.save_model(est, tmp_path_factory.mktemp("m") / "cca")


@pytest.fixture(scope="module")
def ucal_model(ds):
    return UCAL(n_components=2, hidden=(16,), disc_hidden=(8,), epochs=1,
                batch_size=30).fit(ds.audio, ds.visual)


# -- the round trip ------------------------------------------------------------------------------
_LOADER = textwrap.dedent("""
    import json, sys
    import numpy as np
    from paper_lib.methods.persist import load_model
    root = sys.argv[1]
    cases = json.loads(open(root + "/cases.json").read())
    inputs = np.load(root + "/inputs.npz")
    expected = np.load(root + "/expected.npz")
    out = {}
    for case, kind in cases.items():
        est = load_model(root + "/" + case)
        kw = {"lengths": inputs["seq_len"]} if kind == "sequence" else {}
        Xa, Xv = ((inputs["audio_seq"], inputs["visual_seq"]) if kind == "sequence"
                  else (inputs["media_audio"], inputs["media_visual"]) if kind == "media"
                  else (inputs["audio"], inputs["visual"]))
        Za, Zv = est.transform(Xa, Xv, **kw)
        out[case] = [type(est).__name__, bool(np.array_equal(Za, expected[case + "|audio"])),
                     bool(np.array_equal(Zv, expected[case + "|visual"]))]
    print(json.dumps(out))
""")


def test_every_registered_method_round_trips_to_identical_embeddings_in_a_fresh_process(
        ds, tmp_path):
    assert PAPER_METHODS <= set(METHODS)
    cases, expected, no_hook = {}, {}, {}
    for i, (name, hp) in enumerate([(m, SMALL.get(m, {})) for m in METHODS] + VARIANTS):
        case = f"{i:02d}_{name}"
        est = _fit(name, hp, ds)
        try:
            persist.save_model(est, tmp_path / case)
        except UserError as err:      # a deep method without its _build_modules hook
            if "cannot rebuild the torch modules" not in str(err):
                raise
            no_hook[name] = str(err)
            continue
        expected[case + "|audio"], expected[case + "|visual"] = _embed(est, ds)
        cases[case] = est.input_kind
    np.savez(tmp_path / "expected.npz", **expected)
    media_audio, media_visual = _media(ds)
    np.savez(tmp_path / "inputs.npz", audio=ds.audio, visual=ds.visual, audio_seq=ds.audio_seq,
             visual_seq=ds.visual_seq, seq_len=ds.seq_len, media_audio=media_audio,
             media_visual=media_visual)
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    # one fresh interpreter loads every model: nothing is shared with this process
    done = subprocess.run([sys.executable, "-c", _LOADER, str(tmp_path)], capture_output=True,
                          text=True, cwd=REPO_ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(results) == set(cases)
    different = {case: r for case, r in results.items() if not (r[1] and r[2])}
    assert not different, f"loaded models embed differently: {different}"
    assert not no_hook, f"methods that cannot be saved yet: {no_hook}"


def test_a_loaded_model_is_the_saved_one_attribute_for_attribute(ds, tmp_path):
    est = _fit("tnn_c_cca", {"shared_branch": True}, ds)
    loaded = persist.load_model(persist.save_model(est, tmp_path / "tnn"))
    assert list(vars(loaded)) == list(vars(est))
    assert loaded.get_params() == est.get_params()
    assert loaded.history_ == est.history_ and loaded.best_epoch_ == est.best_epoch_
    assert loaded.branch_visual_ is loaded.branch_audio_         # the shared branch stays shared
    for a, b in zip(est.branch_audio_.state_dict().values(),
                    loaded.branch_audio_.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert [m.training for m in loaded.branch_audio_.modules()] == \
        [m.training for m in est.branch_audio_.modules()]
    np.testing.assert_array_equal(loaded.ccca_.weights_audio_, est.ccca_.weights_audio_)
    # tuples stay tuples, numpy scalars stay numpy scalars, NaN survives
    ucal = UCAL(n_components=2, hidden=(16, 8), adversarial=False, epochs=1,
                batch_size=30).fit(ds.audio, ds.visual)
    ucal.extra_ = {"n": np.int64(3), "x": np.float32(0.1), "nan": float("nan"), 1: (2, "a")}
    back = persist.load_model(persist.save_model(ucal, tmp_path / "ucal"))
    assert back.hidden == (16, 8) and back.classifier_ is None
    assert type(back.extra_["n"]) is np.int64 and back.extra_["x"] == np.float32(0.1)
    assert np.isnan(back.extra_["nan"]) and back.extra_[1] == (2, "a")
    assert np.isnan(back.history_[0]["classifier_accuracy"])


def test_the_directory_holds_json_npz_and_safetensors_only(ucal_model, tmp_path):
    folder = persist.save_model(ucal_model, tmp_path / "ucal", metadata={"dataset": "toy"})
    assert sorted(p.name for p in folder.iterdir()) == [
        "arrays.npz", "model.json", "weights.safetensors"]
    doc = json.loads((folder / "model.json").read_text())
    assert doc["format"] == "paper_lib-model" and doc["format_version"] == 1
    assert doc["class"] == "paper_lib.methods.ucal.UCAL" and doc["metadata"] == {"dataset": "toy"}
    assert doc["params"]["hidden"] == {"__kind__": "tuple", "items": [16]}
    assert doc["state"]["projector_audio_"]["__kind__"] == "module"
    assert set(doc["files"]) == {"arrays.npz", "weights.safetensors"}
    from safetensors.torch import load_file

    assert "projector_audio_.0.weight" in load_file(str(folder / "weights.safetensors"))
    with np.load(folder / "arrays.npz", allow_pickle=False) as arrays:   # no object arrays
        assert "scaler_audio_.mean_" in arrays.files


def test_loading_leaves_torchs_global_random_state_alone(ucal_model, tmp_path):
    folder = persist.save_model(ucal_model, tmp_path / "ucal")
    before = torch.random.get_rng_state()
    persist.load_model(folder)
    assert torch.equal(before, torch.random.get_rng_state())


# -- what load refuses ---------------------------------------------------------------------------
def _copy(folder: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(folder, tmp_path / folder.name))


def _rewrite(folder: Path, edit) -> None:
    """Edit model.json and re-seal it with a valid checksum (a well-formed but wrong model)."""
    path = folder / "model.json"
    doc = json.loads(path.read_text())
    edit(doc)
    doc["content_sha256"] = hashlib.sha256(canonical(doc)).hexdigest()
    path.write_text(json.dumps(doc))


def _flip_byte(path: Path, at: int = -20) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", ["arrays.npz", "weights.safetensors"])
def test_a_corrupted_data_file_is_named(ucal_model, tmp_path, name):
    folder = persist.save_model(ucal_model, tmp_path / "m")
    _flip_byte(folder / name)
    with pytest.raises(DataError, match=rf"{name}: checksum mismatch .*corrupted"):
        persist.load_model(folder)


def test_a_missing_file_is_named(ucal_model, tmp_path):
    folder = persist.save_model(ucal_model, tmp_path / "m")
    (folder / "weights.safetensors").unlink()
    with pytest.raises(DataError, match=r"weights.safetensors: missing \(model.json lists it\)"):
        persist.load_model(folder)
    (folder / "model.json").unlink()
    with pytest.raises(DataError, match=r"model.json: missing: .* is not a paper_lib model"):
        persist.load_model(folder)
    with pytest.raises(DataError, match="no such model directory"):
        persist.load_model(tmp_path / "nowhere")


def test_a_changed_or_corrupted_model_json_is_named(cca_dir, tmp_path):
    folder = _copy(cca_dir, tmp_path)
    path = folder / "model.json"
    text = path.read_text()
    path.write_text(text.replace('"n_components": 2', '"n_components": 3'))
    with pytest.raises(DataError, match=r"model.json: checksum mismatch"):
        persist.load_model(folder)
    path.write_text(text[: len(text) // 2])
    with pytest.raises(DataError, match=r"model.json: corrupted: not valid JSON"):
        persist.load_model(folder)
    path.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(DataError, match=r"model.json: not a paper_lib model"):
        persist.load_model(folder)


def test_an_incompatible_format_version_is_named(cca_dir, tmp_path):
    folder = _copy(cca_dir, tmp_path)
    _rewrite(folder, lambda doc: doc.update(format_version=2))
    with pytest.raises(DataError, match=r"model.json: format_version 2 is not supported: this "
                                        r"paper_lib .* reads format_version 1"):
        persist.load_model(folder)


@pytest.mark.parametrize("cls", ["collections.OrderedDict", "os.system", "builtins.eval",
                                 "paper_lib.errors.UserError", "paper_lib.methods..x"])
def test_a_class_outside_paper_lib_methods_is_refused(cca_dir, tmp_path, cls):
    folder = _copy(cca_dir, tmp_path)
    _rewrite(folder, lambda doc: doc.update({"class": cls}))
    with pytest.raises(DataError, match=r"model.json: .*outside paper_lib.methods: refusing"):
        persist.load_model(folder)


def test_a_nested_class_outside_paper_lib_methods_is_refused(ucal_model, tmp_path):
    folder = persist.save_model(ucal_model, tmp_path / "m")
    _rewrite(folder, lambda doc: doc["state"]["scaler_audio_"].update({"class": "os.system"}))
    with pytest.raises(DataError, match=r"model.json: scaler_audio_: class 'os.system' is "
                                        r"outside paper_lib.methods"):
        persist.load_model(folder)


def test_a_model_that_does_not_match_its_class_is_never_returned(ucal_model, tmp_path):
    folder = persist.save_model(ucal_model, tmp_path / "m")
    # the hyper-parameters no longer describe the saved networks: other layers, other widths
    deeper = _copy(folder, tmp_path / "a")
    _rewrite(deeper, lambda doc: doc["params"].update(
        hidden={"__kind__": "tuple", "items": [16, 16]}))
    with pytest.raises(DataError, match=r"model.json: .*cannot rebuild the torch modules of "
                                        r"UCAL: .*projector_audio_: the hook builds a module "
                                        r"with the state_dict keys"):
        persist.load_model(deeper)
    wider = _copy(folder, tmp_path / "d")
    _rewrite(wider, lambda doc: doc["params"].update(
        hidden={"__kind__": "tuple", "items": [32]}))
    with pytest.raises(DataError, match=r"weights.safetensors: projector_visual_.0.weight is "
                                        r"torch.float32 \[16, 12\], the model needs "
                                        r"torch.float32 \[32, 12\]"):
        persist.load_model(wider)
    # a hyper-parameter this version of the class does not have
    unknown = _copy(folder, tmp_path / "b")
    _rewrite(unknown, lambda doc: doc["params"].update(colour="red"))
    with pytest.raises(DataError, match=r"hyper-parameters of UCAL .* unknown: \['colour'\]"):
        persist.load_model(unknown)
    # an array whose recorded shape differs
    reshaped = _copy(folder, tmp_path / "c")
    _rewrite(reshaped, lambda doc: doc["state"]["scaler_audio_"]["state"]["mean_"].update(
        shape=[99]))
    with pytest.raises(DataError, match=r"arrays.npz: array 'scaler_audio_.mean_' is <f8 \[8\], "
                                        r"model.json records <f8 \[99\]"):
        persist.load_model(reshaped)


# -- what save refuses, and atomicity ------------------------------------------------------------
class _NoHook(UCAL):
    """A deep method that forgot the ``_build_modules`` hook."""

    def _build_modules(self):
        return {}


def test_save_refuses_what_it_could_not_load(ds, ucal_model, tmp_path):
    with pytest.raises(NotFittedError, match="UCAL is not fitted"):
        persist.save_model(UCAL(), tmp_path / "a")
    forgot = _NoHook(n_components=2, hidden=(16,), epochs=1, batch_size=30).fit(ds.audio,
                                                                                   ds.visual)
    with pytest.raises(UserError, match=r"_NoHook._build_modules\(\) does not rebuild "
                                        r"projector_audio_.*implement"):
        persist.save_model(forgot, tmp_path / "b", trusted_modules=[__name__])
    with pytest.raises(UserError, match=r"only classes under paper_lib.methods"):
        persist.save_model(forgot, tmp_path / "b")
    est = CCA(n_components=2).fit(ds.audio, ds.visual)
    est.callback_ = lambda x: x
    with pytest.raises(UserError, match=r"cannot save callback_ \(builtins.function\)"):
        persist.save_model(est, tmp_path / "c")
    est.callback_ = np.array([object()])
    with pytest.raises(UserError, match=r"cannot save callback_ .*need pickle"):
        persist.save_model(est, tmp_path / "c")
    assert not any(tmp_path.iterdir())            # nothing was written


class _OwnUCAL(UCAL):
    """A method of one's own, outside paper_lib.methods (it inherits UCAL's hook)."""


def test_a_trusted_module_of_ones_own_can_be_saved_and_loaded(ds, tmp_path):
    est = _OwnUCAL(n_components=2, hidden=(16,), epochs=1, batch_size=30).fit(ds.audio, ds.visual)
    folder = persist.save_model(est, tmp_path / "own", trusted_modules=[__name__])
    with pytest.raises(DataError, match="outside paper_lib.methods"):
        persist.load_model(folder)
    loaded = persist.load_model(folder, trusted_modules=[__name__])
    np.testing.assert_array_equal(loaded.transform_view(ds.audio, "audio"),
                                  est.transform_view(ds.audio, "audio"))


def test_a_failure_mid_save_leaves_no_directory_and_keeps_the_previous_one(
        ucal_model, tmp_path, monkeypatch):
    import safetensors.torch

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        persist.save_model(ucal_model, tmp_path / "m")
    assert list(tmp_path.iterdir()) == []          # no directory, no temporary folder
    monkeypatch.undo()
    folder = persist.save_model(ucal_model, tmp_path / "m")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    monkeypatch.setattr(safetensors.torch, "save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        persist.save_model(ucal_model, folder, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["m"]
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    persist.load_model(folder)


def test_an_existing_directory_is_replaced_only_when_asked_and_only_if_a_model(
        ds, cca_dir, tmp_path):
    folder = _copy(cca_dir, tmp_path)
    est = CCA(n_components=1).fit(ds.audio, ds.visual)
    with pytest.raises(UserError, match="already exists"):
        persist.save_model(est, folder)
    persist.save_model(est, folder, overwrite=True)
    assert persist.load_model(folder).n_components == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cca"]
    other = tmp_path / "notes"
    other.mkdir()
    (other / "thesis.tex").write_text("precious")
    with pytest.raises(UserError, match="is not a model directory; not replacing it"):
        persist.save_model(est, other, overwrite=True)
    assert (other / "thesis.tex").read_text() == "precious"
