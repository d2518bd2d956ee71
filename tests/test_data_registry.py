"""The dataset registry: names, dispatch to the formats, data-dir resolution, clear errors."""

from __future__ import annotations

import ast
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from fixtures_data import tiny_dataset, write_ave, write_clip_arrays, write_vegas_h5

import paper_lib.data
from paper_lib.data.dataset import DataError, PairedDataset
from paper_lib.data.formats import write_generic_h5
from paper_lib.data.manifest import load_manifest
from paper_lib.data.registry import dataset_names, load_dataset


@pytest.fixture
def data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty default data folder (PAPER_LIB_DATA_DIR)."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("PAPER_LIB_DATA_DIR", str(root))
    return root


def test_names():
    assert dataset_names() == ["synthetic", "avdigits", "avdigits-pretrained", "vegas", "mv10k",
                               "ave"]


def test_unknown_name_lists_allowed_names_and_generic_files():
    with pytest.raises(DataError) as err:
        load_dataset("vegass")
    msg = str(err.value)
    for name in dataset_names():
        assert name in msg
    assert "generic HDF5" in msg and ".h5" in msg


def test_missing_generic_file(tmp_path: Path):
    with pytest.raises(DataError, match=r"absent\.h5.*not found"):
        load_dataset(str(tmp_path / "absent.h5"))


def test_generic_path_round_trip_via_registry(tmp_path: Path):
    ds = tiny_dataset()
    path = write_generic_h5(ds, tmp_path / "mine.hdf5")
    back = load_dataset(str(path))
    assert back.checksum() == ds.checksum() and back.source == str(path)


# -- VEGAS ---------------------------------------------------------------------------------------
def test_vegas_prefers_the_five_fold_clip_arrays_and_h5_uses_manifest_class_names(
        data_root: Path):
    write_vegas_h5(data_root / "vegas" / "vegas_feature.h5")
    write_clip_arrays(data_root / "vegas", n_per_class=5)
    ds = load_dataset("vegas")  # both releases: the paper's protocol (5 folds) wins
    assert ds.folds is not None and ds.n_folds == 5 and ds.n_clips == 15
    h5 = load_dataset("vegas", format="h5")
    assert h5.is_test is not None and h5.n_classes == 10
    assert h5.class_names == tuple(load_manifest("vegas")["classes"]["names"])


def test_vegas_h5_alone_is_read(data_root: Path):
    write_vegas_h5(data_root / "vegas" / "vegas_feature.h5")
    ds = load_dataset("vegas")
    assert ds.is_test is not None and ds.folds is None


def test_vegas_falls_back_to_clip_arrays(data_root: Path):
    write_clip_arrays(data_root / "vegas", n_per_class=5)
    ds = load_dataset("vegas", sequences=True)
    assert ds.folds is not None and ds.has_sequences and ds.audio_seq.shape[1] == 10
    assert ds.class_names == ("baby_cry", "chainsaw", "dog")


def test_vegas_missing_names_both_layouts_and_how_to_get_them(data_root: Path):
    with pytest.raises(DataError) as err:
        load_dataset("vegas")
    msg = str(err.value)
    assert "vegas_feature.h5" in msg and "folds/" in msg and str(data_root / "vegas") in msg
    assert "paper-lib data fetch vegas" in msg and "data_manifest/vegas.yaml" in msg
    with pytest.raises(DataError, match=r"vegas_feature\.h5.*not found"):
        load_dataset("vegas", format="h5")


def test_data_dir_may_be_the_dataset_folder_or_a_root(tmp_path: Path, data_root: Path):
    write_vegas_h5(tmp_path / "elsewhere" / "vegas" / "vegas_feature.h5")
    a = load_dataset("vegas", data_dir=tmp_path / "elsewhere")             # a root
    b = load_dataset("vegas", data_dir=str(tmp_path / "elsewhere" / "vegas"))  # its own folder
    assert a.checksum() == b.checksum()
    assert a.source == str(tmp_path / "elsewhere" / "vegas" / "vegas_feature.h5")


def test_unknown_option_is_named(data_root: Path):
    write_vegas_h5(data_root / "vegas" / "vegas_feature.h5")
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['sequence'\]"):
        load_dataset("vegas", sequence=True)
    with pytest.raises(ValueError, match="format must be"):
        load_dataset("vegas", format="zip")


# -- MV-10K --------------------------------------------------------------------------------------
def test_mv10k_guesses_the_class_folder(data_root: Path):
    write_clip_arrays(data_root / "mv10k", class_dir="MV10K_classes", id_style="plain",
                      n_per_class=5)
    ds = load_dataset("mv10k")
    assert ds.name == "mv10k" and ds.n_clips == 15
    assert ds.class_names == ("class_0", "class_1", "class_2")      # ids carry no class prefix
    (data_root / "mv10k" / "other_classes").mkdir()
    with pytest.raises(DataError, match="class_dir="):
        load_dataset("mv10k")
    assert load_dataset("mv10k", class_dir="MV10K_classes").n_clips == 15


# -- AVE -----------------------------------------------------------------------------------------
def test_ave_seed_reaches_the_folds(data_root: Path):
    write_ave(data_root / "ave", n_per_class=10, split=False)
    a, b = load_dataset("ave", seed=0), load_dataset("ave", seed=5)
    assert not np.array_equal(a.folds, b.folds)
    with pytest.raises(DataError, match="data fetch ave"):
        load_dataset("ave", data_dir=data_root / "nowhere")


# -- embedded ------------------------------------------------------------------------------------
def test_embedded_generators_are_imported_lazily_and_get_seed_and_options(monkeypatch):
    calls = []

    def fake_make(seed: int = 0, n: int = 4) -> PairedDataset:
        calls.append((seed, n))
        return tiny_dataset(seed=seed)

    fake = types.ModuleType("paper_lib.data.avdigits")
    fake.make_avdigits = fake_make
    monkeypatch.setitem(sys.modules, "paper_lib.data.avdigits", fake)
    ds = load_dataset("avdigits", seed=7, n=9, data_dir="/ignored")
    assert calls == [(7, 9)] and isinstance(ds, PairedDataset)
    with pytest.raises(ValueError, match="unknown option"):
        load_dataset("avdigits", difficulty=0.3)


def test_synthetic_through_the_registry(isolated_dirs):
    pytest.importorskip("paper_lib.data.synthetic")
    a = load_dataset("synthetic", seed=3, n_per_class=5, n_classes=3, use_cache=False)
    b = load_dataset("synthetic", seed=3, n_per_class=5, n_classes=3, use_cache=False)
    c = load_dataset("synthetic", seed=4, n_per_class=5, n_classes=3, use_cache=False)
    assert a.n_clips == 15 and a.checksum() == b.checksum() != c.checksum()


# -- the data layer's module graph ---------------------------------------------------------------
def _data_imports() -> dict[str, set[str]]:
    """``paper_lib.data`` module -> the ``paper_lib.data`` modules it imports, anywhere in the file
    (function-level imports included)."""
    pkg = Path(paper_lib.data.__file__).parent
    graph: dict[str, set[str]] = {}
    for path in pkg.rglob("*.py"):
        parts = path.relative_to(pkg.parent.parent).with_suffix("").parts
        mod = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            deps |= {n for n in names if n.startswith("paper_lib.data.")}
        graph[mod] = deps
    return {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}


def test_the_data_layer_has_no_import_cycle():
    graph = _data_imports()
    assert {"paper_lib.data.manifest", "paper_lib.data.locate", "paper_lib.data.verify",
            "paper_lib.data.fetch", "paper_lib.data.registry"} <= set(graph)
    # the manifest schema depends on nothing else of the data layer
    assert graph["paper_lib.data.manifest"] == set()
    state: dict[str, int] = {}                      # 1 = on the current path, 2 = done

    def visit(mod: str, path: list[str]) -> None:
        state[mod] = 1
        for dep in sorted(graph[mod]):
            if state.get(dep) == 1:
                pytest.fail("import cycle: " + " -> ".join([*path[path.index(dep):], dep]))
            if dep not in state:
                visit(dep, [*path, dep])
        state[mod] = 2

    for mod in sorted(graph):
        if mod not in state:
            visit(mod, [mod])
