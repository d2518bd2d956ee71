"""The data manifest and what uses it: schema, reported numbers, verify, fetch, status (locate)
and `paper-lib data`."""

from __future__ import annotations

import argparse
import hashlib
import shutil
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import yaml
from fixtures_data import truncate, write_clip_arrays, write_vegas_h5

from paper_lib import paper, paths
from paper_lib.data import manifest as mf
from paper_lib.data.cli import add_data_parser, run_data
from paper_lib.data.fetch import ManualDownloadRequired, fetch
from paper_lib.data.locate import dataset_dir, dataset_status
from paper_lib.data.registry import dataset_names
from paper_lib.data.verify import match_shape, verify
from paper_lib.errors import DataError

REAL_MANIFESTS = paths.manifest_dir()


@pytest.fixture
def data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("PAPER_LIB_DATA_DIR", str(root))
    return root


@pytest.fixture
def man_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the manifest folder that tests may edit."""
    d = tmp_path / "manifests"
    shutil.copytree(REAL_MANIFESTS, d)
    monkeypatch.setattr(paths, "manifest_dir", lambda: d)
    return d


def _edit(man_dir: Path, dataset: str, **changes: Any) -> None:
    path = man_dir / f"{dataset}.yaml"
    man = yaml.safe_load(path.read_text())
    for dotted, value in changes.items():
        node = man
        *head, last = dotted.split("__")
        for key in head:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[last] = value
    path.write_text(yaml.safe_dump(man, sort_keys=False))


def _run(capsys, *argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="paper-lib")
    add_data_parser(parser.add_subparsers(dest="command"))
    code = run_data(parser.parse_args(["data", *argv]))
    out = capsys.readouterr()
    return code, out.out + out.err


# -- schema and reported numbers -----------------------------------------------------------------
def test_every_registry_name_has_a_valid_manifest():
    assert mf.manifest_names() == sorted(dataset_names())
    for name in dataset_names():
        man = mf.load_manifest(name)
        assert man["licence"] and man["citation"][0]["key"] and man["obtain"]["manual_steps"]
        if man["kind"] == "real":
            assert man["obtain"]["links"], name


def test_vegas_manifest_classes_are_the_papers_ten():
    names = mf.load_manifest("vegas")["classes"]["names"]
    assert names == ["baby crying", "chainsaw", "dog", "drum", "fireworks", "helicopter",
                     "printer", "rail transport", "snoring", "water flowing"]


def test_reported_numbers_are_tidy_and_complete():
    v = paper.load_reported("vegas")
    assert list(v.columns) == paper.REPORTED_COLUMNS
    assert v["source"].str.contains(r"\[zeng20(?:20deep|19sdcca)\]").all()  # the paper itself
    sizes = v.groupby("table").size().to_dict()
    assert sizes == {"main_comparison": 9 * 2, "ablation_d": 5 * 4 * 2, "ablation_margin": 11 * 2,
                     "ablation_batch_number": 11 * 2, "forum_feature_study": 4 * 2,
                     "forum_comparison": 4 * 2}
    # the briefing's main comparison has no numbers for the four state-of-the-art baselines
    assert set(v[v.table == "main_comparison"].method) == (set(paper.PAPER_METHODS)
                                                           - set(paper.SOTA_BASELINES))

    def one(df, table, method, setting, direction):
        sel = df[(df.table == table) & (df.method == method) & (df.setting == setting)
                 & (df.direction == direction)]
        return sel.value.item()

    assert one(v, "main_comparison", "tnn_c_cca", "", "a2v") == 0.7214
    assert one(v, "ablation_d", "tnn_c_cca", "d=10", "a2v") == 0.7466    # disagrees: provenance
    assert one(v, "ablation_margin", "tnn_c_cca", "margin=0.5", "v2a") == 0.7531
    assert one(v, "ablation_batch_number", "tnn_c_cca", "batch_number=900", "a2v") == 0.6984
    assert one(v, "forum_feature_study", "c_dcca", "features=soundnet_i3d", "v2a") == 0.2528
    m = paper.load_reported("mv10k")
    assert len(m) == 18 and one(m, "main_comparison", "c_dcca", "", "a2v") == 0.2176
    ave = paper.load_reported("ave")
    assert ave.empty and list(ave.columns) == paper.REPORTED_COLUMNS


@pytest.mark.parametrize(("change", "words"), [
    ({"reported__0__values__cca__a2v": 1.5}, ["not a number in [0, 1]"]),
    ({"reported__0__source": ""}, ["needs 'table' and 'source'"]),
    ({"reported__0__values__tnn": {"a2v": 0.1, "v2a": 0.1}}, ["unknown method 'tnn'"]),
    ({"reported__0__values__cca": {"a2v": 0.1, "up": 0.1}}, ["direction must be"]),
    ({"name": "vegas2"}, ["does not match the file name"]),
    ({"schema_version": 2}, ["schema_version"]),
    ({"formats__0__files__0__kind": "zip"}, ["kind must be"]),
])
def test_manifest_schema_errors_name_the_file(man_dir: Path, change, words):
    _edit(man_dir, "vegas", **change)
    with pytest.raises(DataError) as err:
        mf.load_manifest("vegas")
        paper.load_reported("vegas")  # the reported blocks are checked where they are read
    assert "vegas.yaml" in str(err.value)
    for w in words:
        assert w in str(err.value)


def test_match_shape_rules():
    sym: dict[str, int] = {}
    assert match_shape((5, 128), ["N", 128], sym) is None and sym == {"N": 5}
    assert "elsewhere" in match_shape((6, 1024), ["N", 1024], sym)
    assert match_shape((5, 10, 7, 7, 512), ["N", 10, "..."], sym) is None
    assert match_shape((5,), ["N", "..."], sym) is None
    assert match_shape((5, 127), [None, 128], {}) is not None
    assert match_shape((5, 128, 1), [None, 128], {}) is not None
    assert match_shape((3,), None, {}) is None


# -- verify and status ---------------------------------------------------------------------------
def test_verify_vegas_h5_ok_and_mismatch(data_root: Path):
    write_vegas_h5(data_root / "vegas" / "vegas_feature.h5")
    rep = verify("vegas")
    assert rep.ok and rep.format == "vegas_h5", rep.text()
    statuses = {c.item: c.status for c in rep.checks}
    assert statuses["vegas_feature.h5 sha256"] == "unchecked"            # unknown, not a pass
    assert statuses["vegas_feature.h5:visual_test"] == "ok"
    write_vegas_h5(data_root / "vegas" / "vegas_feature.h5", visual_dim=1000)
    rep = verify("vegas")
    assert not rep.ok and "mismatch" in rep.text() and "1000" in rep.text()


def test_verify_symbols_tie_rows_across_arrays(data_root: Path):
    path = data_root / "vegas" / "vegas_feature.h5"
    write_vegas_h5(path)
    with h5py.File(path, "r+") as f:
        del f["lab_test"]
        f["lab_test"] = np.zeros(3, np.int64)               # 3 labels for 20 test clips
    rep = verify("vegas")
    assert not rep.ok and "N_test" in rep.text()


def test_verify_corrupt_h5_and_deep(data_root: Path):
    write_vegas_h5(data_root / "vegas" / "vegas_feature.h5")
    rep = verify("vegas", deep=True)
    assert rep.ok and "60 clips, 10 classes" in rep.text()
    truncate(data_root / "vegas" / "vegas_feature.h5", 0.5)
    rep = verify("vegas")
    assert not rep.ok and "truncated or corrupt" in rep.text()


def test_verify_clip_arrays_counts_and_checksums(data_root: Path, man_dir: Path):
    write_clip_arrays(data_root / "vegas", n_per_class=5)
    rep = verify("vegas")
    assert rep.format == "clip_arrays" and not rep.ok       # 15 ids, the manifest says 28,103
    bad = [c for c in rep.checks if c.status == "mismatch"]
    assert [c.item for c in bad] == ["folds/ lines"] and "15 ids, expected 28103" in bad[0].detail
    _edit(man_dir, "vegas", formats__1__files__3__total_lines=15)
    assert verify("vegas").ok
    np.save(data_root / "vegas" / "vgg" / "baby_cry_video_00000.npy", np.zeros((3, 128)))
    assert "expected uint8" in verify("vegas").text()


def test_verify_text_file_sha256(data_root: Path, man_dir: Path):
    ave = data_root / "ave"
    ave.mkdir()
    (ave / "Annotations.txt").write_text("Bark&x&good&0&10\n")
    for name in ("audio_feature.h5", "visual_feature.h5"):
        with h5py.File(ave / name, "w") as f:
            f["avadataset"] = np.zeros((1, 10, 128), np.float32)
    good = hashlib.sha256(b"Bark&x&good&0&10\n").hexdigest()
    _edit(man_dir, "ave", formats__0__files__0__sha256=good)
    assert verify("ave").ok
    (ave / "Annotations.txt").write_text("Bark&y&good&0&10\n")
    rep = verify("ave")
    assert not rep.ok and f"expected {good}" in rep.text()


def test_status(data_root: Path):
    assert dataset_status("synthetic")["present"]
    assert not dataset_status("vegas")["present"]
    write_clip_arrays(data_root / "vegas" / "inner", n_per_class=5)      # an unzipped archive
    st = dataset_status("vegas")
    assert st["present"] and st["format"] == "clip_arrays" and st["where"].endswith("inner")


def test_dataset_dir_is_the_own_folder_or_name_under_a_root(data_root: Path, tmp_path: Path):
    assert dataset_dir("vegas") == data_root / "vegas"                   # the default
    assert dataset_dir("vegas", "") == data_root / "vegas"
    root = tmp_path / "root"
    write_vegas_h5(root / "vegas" / "vegas_feature.h5")
    assert dataset_dir("vegas", root) == root / "vegas"                  # a root holding vegas/
    assert dataset_dir("vegas", root / "vegas") == root / "vegas"        # the own folder
    own = tmp_path / "vegas_own_folder"
    write_vegas_h5(own / "vegas_feature.h5")
    assert dataset_dir("vegas", own) == own
    for where in (root, root / "vegas"):                                  # status agrees
        st = dataset_status("vegas", where)
        assert st["present"] and st["where"] == str(root / "vegas")


# -- fetch -----------------------------------------------------------------------------------------
@pytest.fixture
def payload(tmp_path: Path) -> tuple[Path, str]:
    src = tmp_path / "mirror" / "vegas_feature.h5"
    src.parent.mkdir()
    src.write_bytes(np.random.default_rng(0).bytes(3 * 1024 * 1024 + 17))   # > one chunk
    return src, hashlib.sha256(src.read_bytes()).hexdigest()


def test_fetch_file_url_with_checksum(data_root: Path, man_dir: Path, payload):
    src, digest = payload
    _edit(man_dir, "vegas", fetch__sha256=digest, fetch__size_bytes=src.stat().st_size)
    res = fetch("vegas", url_override=src.as_uri(), progress=False)
    target = data_root / "vegas" / "vegas_feature.h5"
    assert res.path == target and res.verified and res.downloaded
    assert target.read_bytes() == src.read_bytes()
    again = fetch("vegas", url_override=src.as_uri(), progress=False)
    assert not again.downloaded and again.verified


def test_fetch_checksum_mismatch_leaves_nothing(data_root: Path, man_dir: Path, payload):
    src, _ = payload
    _edit(man_dir, "vegas", fetch__sha256="0" * 64)
    with pytest.raises(DataError, match="checksum mismatch"):
        fetch("vegas", url_override=src.as_uri(), progress=False)
    folder = data_root / "vegas"
    assert not folder.exists() or list(folder.iterdir()) == []
    _edit(man_dir, "vegas", fetch__sha256=None, fetch__size_bytes=5)
    with pytest.raises(DataError, match="expected 5"):
        fetch("vegas", url_override=src.as_uri(), progress=False)
    assert not folder.exists() or list(folder.iterdir()) == []
    with pytest.raises(DataError, match="download failed"):
        fetch("vegas", url_override=(src.parent / "gone.h5").as_uri(), progress=False)


def test_fetch_without_url_explains_manual_steps():
    with pytest.raises(ManualDownloadRequired) as err:
        fetch("vegas", progress=False)
    msg = str(err.value)
    assert "Google Drive" in msg and "drive.google.com" in msg and "1." in msg
    with pytest.raises(ManualDownloadRequired, match="folder tree"):
        fetch("mv10k", url_override="file:///x", progress=False)
    assert fetch("synthetic").path is None


# -- the command line ------------------------------------------------------------------------------
def test_cli_list(data_root: Path, capsys):
    write_vegas_h5(data_root / "vegas" / "vegas_feature.h5")
    code, out = _run(capsys, "list")
    assert code == 0
    rows = {line.split()[0]: line.split()
            for line in out.splitlines()[1:1 + len(dataset_names())]}
    assert set(rows) == set(dataset_names())
    assert rows["vegas"][1:4] == ["real", "yes", "vegas_h5"]
    assert rows["mv10k"][1:3] == ["real", "no"]
    assert rows["synthetic"][1:3] == ["embedded", "yes"]


def test_cli_verify(data_root: Path, tmp_path: Path, capsys):
    code, out = _run(capsys, "verify", "vegas")
    assert code == 1 and "NOT PRESENT" in out and "paper-lib data fetch vegas" in out
    write_vegas_h5(tmp_path / "mine" / "vegas_feature.h5")
    code, out = _run(capsys, "verify", "vegas", "--data-dir", str(tmp_path / "mine"))
    assert code == 0 and "OK" in out
    code, out = _run(capsys, "verify", "nosuch")
    assert code == 2 and "unknown dataset" in out


def test_cli_fetch(data_root: Path, capsys, payload):
    code, out = _run(capsys, "fetch", "vegas")
    assert code == 2 and "Manual steps" in out and "drive.google.com" in out
    src, digest = payload
    code, out = _run(capsys, "fetch", "vegas", "--url", src.as_uri(), "--no-progress")
    assert code == 0 and "NOT verified" in out and digest in out        # manifest sha unknown
    assert (data_root / "vegas" / "vegas_feature.h5").read_bytes() == src.read_bytes()
