"""Readers of the real datasets' formats and the generic HDF5 format (read and write)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from fixtures_data import (
    VEGAS_NAMES,
    tiny_dataset,
    truncate,
    write_ave,
    write_clip_arrays,
    write_h5,
    write_vegas_h5,
)

from paper_lib.data.dataset import DataError
from paper_lib.data.formats import generic_h5 as generic_module
from paper_lib.data.formats import (
    read_ave,
    read_clip_arrays,
    read_generic_h5,
    read_vegas_h5,
    write_generic_h5,
)
from paper_lib.data.formats._checks import class_name_from_id, class_names_from_ids


def _no_leak(ds) -> None:
    """No clip is both in a training split and in its test split; test sets partition the data."""
    seen = []
    for split in ds.splits():
        train, test = set(ds.clip_ids[split.train]), set(ds.clip_ids[split.test])
        assert not train & test
        assert train | test == set(ds.clip_ids)
        seen.extend(ds.clip_ids[split.test])
    if ds.folds is not None:
        assert sorted(seen) == sorted(ds.clip_ids)


# == per-clip arrays ===========================================================================
@pytest.fixture
def clips(tmp_path: Path):
    root = tmp_path / "vegas"
    return root, write_clip_arrays(root, n_per_class=10)


def test_clip_arrays_values_equal_a_naive_loop(clips):
    root, raw = clips
    ds = read_clip_arrays(root, sequences=True)
    assert ds.n_clips == 30 and ds.audio.shape == (30, 128) and ds.visual.shape == (30, 1024)
    for i, cid in enumerate(ds.clip_ids):
        a = raw["audio"][cid].astype(np.float64)
        expect_a = sum((row - 128.0) / 256.0 for row in a) / a.shape[0]   # per second, then mean
        np.testing.assert_allclose(ds.audio[i], expect_a, rtol=0, atol=1e-12)
        v = raw["visual"][cid].astype(np.float64)
        np.testing.assert_allclose(ds.visual[i], ((v - 128) / 256).mean(0), atol=1e-12)
        t = min(a.shape[0], v.shape[0], 10)
        assert ds.seq_len[i] == t
        np.testing.assert_array_equal(ds.audio_seq[i, :t], ((a[:t] - 128) / 256).astype(np.float32))
        assert not ds.audio_seq[i, min(a.shape[0], 10):].any()          # zero padding
        assert ds.labels[i] == raw["label"][cid]
    assert ds.class_names == ("baby_cry", "chainsaw", "dog")          # from id prefixes
    assert not read_clip_arrays(root).has_sequences                   # default: no sequences


def test_fold_files_read_in_sorted_order(clips):
    root, raw = clips
    ds = read_clip_arrays(root)
    for cid, k in zip(ds.clip_ids, ds.folds, strict=True):
        assert k == raw["fold"][cid]                                   # index of 0k.txt
    for split in ds.splits():
        listed = (root / "folds" / f"{split.fold:02d}.txt").read_text().split()
        assert sorted(ds.clip_ids[split.test]) == sorted(listed)
    _no_leak(ds)


def test_clip_arrays_from_an_unzipped_subfolder(tmp_path: Path):
    write_clip_arrays(tmp_path / "vegas" / "vegas", n_per_class=5)
    assert read_clip_arrays(tmp_path / "vegas").n_clips == 15


def test_clip_folds_are_class_balanced(clips):
    root, _ = clips
    ds = read_clip_arrays(root)
    counts = np.array([[np.sum((ds.folds == k) & (ds.labels == c)) for c in range(3)]
                       for k in range(5)])
    assert (counts == 2).all()


def _bad_two_folds(root: Path) -> None:
    first = (root / "folds" / "00.txt").read_text().split()[0]
    with open(root / "folds" / "03.txt", "a") as f:
        f.write(first + "\n")


def _bad_no_fold(root: Path) -> None:
    p = root / "folds" / "02.txt"
    p.write_text("\n".join(p.read_text().split()[1:]) + "\n")


def _bad_id_mismatch(root: Path) -> None:
    src = root / "inception" / "dog_video_00003.npy"
    src.rename(root / "inception" / "dog_video_99999.npy")


def _bad_shape(root: Path) -> None:
    np.save(root / "vgg" / "dog_video_00001.npy", np.zeros((4, 127), np.uint8))


def _bad_dtype(root: Path) -> None:
    np.save(root / "inception" / "dog_video_00001.npy", np.zeros((4, 1024), np.float32))


def _bad_empty_clip(root: Path) -> None:
    np.save(root / "vgg" / "dog_video_00001.npy", np.zeros((0, 128), np.uint8))


def _bad_empty_view(root: Path) -> None:
    for p in (root / "inception").glob("*.npy"):
        p.unlink()


def _bad_label(root: Path) -> None:
    np.save(root / "VEGAS_classes" / "dog_video_00001.npy", np.int64(-1))


def _bad_corrupt_npy(root: Path) -> None:
    truncate(root / "vgg" / "dog_video_00001.npy", 0.3)


def _bad_missing_folds(root: Path) -> None:
    for p in (root / "folds").glob("*.txt"):
        p.unlink()
    (root / "folds").rmdir()


def _bad_missing_view(root: Path) -> None:
    for p in (root / "inception").glob("*.npy"):
        p.unlink()
    (root / "inception").rmdir()


def _bad_dup_in_fold(root: Path) -> None:
    p = root / "folds" / "01.txt"
    ids = p.read_text().split()
    p.write_text("\n".join(ids + ids[:1]) + "\n")


@pytest.mark.parametrize(("breaker", "words"), [
    (_bad_two_folds, ["also listed in 00.txt"]),
    (_bad_no_fold, ["in no fold file", "folds/*.txt"]),
    (_bad_id_mismatch, ["do not match", "dog_video_00003", "dog_video_99999"]),
    (_bad_shape, ["dog_video_00001.npy", "(4, 127)"]),
    (_bad_dtype, ["dog_video_00001.npy", "float32", "uint8"]),
    (_bad_empty_clip, ["dog_video_00001.npy", "empty"]),
    (_bad_empty_view, ["inception", "empty view"]),
    (_bad_label, ["out of range"]),
    (_bad_corrupt_npy, ["dog_video_00001.npy", "corrupt"]),
    (_bad_missing_folds, ["folds", "not found", "paper-lib data fetch vegas"]),
    (_bad_missing_view, ["inception", "not found", "paper-lib data fetch vegas"]),
    (_bad_dup_in_fold, ["01.txt", "duplicate"]),
])
def test_clip_arrays_bad_input(clips, breaker, words):
    root, _ = clips
    breaker(root)
    with pytest.raises(DataError) as err:
        read_clip_arrays(root, hint="see `paper-lib data fetch vegas` / data_manifest/vegas.yaml")
    for w in words:
        assert w in str(err.value), (w, str(err.value))


def test_clip_arrays_label_beyond_class_count(clips):
    root, _ = clips
    np.save(root / "VEGAS_classes" / "dog_video_00001.npy", np.int64(7))
    with pytest.raises(DataError, match="out of range"):
        read_clip_arrays(root, n_classes=3)


def test_clip_arrays_class_smaller_than_folds(tmp_path: Path):
    root = tmp_path / "v"
    write_clip_arrays(root, n_per_class=5)
    for j in range(5):                        # class "dog": 5 clips -> relabel 2 of them class 3
        if j < 2:
            np.save(root / "VEGAS_classes" / f"dog_video_{j:05d}.npy", np.int64(3))
    with pytest.raises(DataError, match="fewer than the 5 folds"):
        read_clip_arrays(root)


def test_unlisted_clips_can_be_ignored(clips):
    root, _ = clips
    _bad_no_fold(root)
    with pytest.warns(UserWarning, match="no fold"):
        ds = read_clip_arrays(root, on_unlisted="ignore")
    assert ds.n_clips == 29


def test_class_names_fall_back_when_prefixes_disagree_with_ids():
    ids = ["dog_video_00001", "dog_video_00002", "drum_video_00001"]
    assert class_names_from_ids(ids, np.array([0, 1, 1]), 2) == ("class_0", "class_1")
    assert class_names_from_ids(ids, np.array([0, 0, 1]), 2) == ("dog", "drum")
    assert class_names_from_ids(ids, np.array([0, 0, 1]), 3) == ("class_0", "class_1", "class_2")
    assert class_name_from_id("baby_cry_video_00850") == "baby_cry"
    assert class_name_from_id("noprefix") is None


# == VEGAS single HDF5 =========================================================================
def test_vegas_h5_fixed_split_and_values(tmp_path: Path):
    raw = write_vegas_h5(tmp_path / "vegas_feature.h5")
    ds = read_vegas_h5(tmp_path / "vegas_feature.h5", class_names=VEGAS_NAMES)
    n_tr = raw["lab_train"].size
    np.testing.assert_array_equal(ds.audio[:n_tr], raw["audio_train"])
    np.testing.assert_array_equal(ds.visual[n_tr:], raw["visual_test"])
    np.testing.assert_array_equal(ds.labels, np.r_[raw["lab_train"], raw["lab_test"]])
    assert ds.clip_ids[0] == "train_000000" and ds.clip_ids[n_tr] == "test_000000"
    assert ds.is_test.sum() == raw["lab_test"].size and ds.folds is None
    assert ds.class_names == tuple(VEGAS_NAMES)
    _no_leak(ds)
    split = next(ds.splits())
    assert all(c.startswith("test_") for c in ds.clip_ids[split.test])


def test_vegas_h5_one_hot_float_labels_and_generic_names(tmp_path: Path):
    raw = write_vegas_h5(tmp_path / "f.h5", n_classes=3, one_hot=True, label_dtype=np.float32)
    ds = read_vegas_h5(tmp_path / "f.h5", class_names=VEGAS_NAMES)    # 10 names, 3 classes
    np.testing.assert_array_equal(ds.labels[:12], raw["lab_train"].argmax(1))
    assert ds.class_names == ("class_0", "class_1", "class_2")


def test_vegas_h5_uint8_features_are_dequantised(tmp_path: Path):
    rng = np.random.default_rng(0)
    q = {k: rng.integers(0, 256, size=(6, d), dtype=np.uint8)
         for k, d in (("audio_train", 128), ("visual_train", 1024), ("audio_test", 128),
                      ("visual_test", 1024))}
    write_h5(tmp_path / "q.h5", **q, lab_train=np.arange(6) % 2, lab_test=np.arange(6) % 2)
    ds = read_vegas_h5(tmp_path / "q.h5")
    np.testing.assert_allclose(ds.audio[:6], (q["audio_train"] - 128.0) / 256.0)


def test_vegas_h5_one_based_labels_are_shifted_with_a_warning(tmp_path: Path):
    raw = write_vegas_h5(tmp_path / "f.h5", n_classes=3)
    with h5py.File(tmp_path / "f.h5", "r+") as f:
        for part in ("train", "test"):
            f[f"lab_{part}"][...] = raw[f"lab_{part}"] + 1
    with pytest.warns(UserWarning, match="1-based"):
        ds = read_vegas_h5(tmp_path / "f.h5")
    np.testing.assert_array_equal(ds.labels, np.r_[raw["lab_train"], raw["lab_test"]])


def _vegas_arrays(**over):
    rng = np.random.default_rng(1)
    arrays = {"audio_train": rng.normal(size=(6, 128)), "audio_test": rng.normal(size=(4, 128)),
              "visual_train": rng.normal(size=(6, 1024)),
              "visual_test": rng.normal(size=(4, 1024)),
              "lab_train": np.arange(6) % 2, "lab_test": np.arange(4) % 2}
    arrays.update(over)
    return {k: v for k, v in arrays.items() if v is not None}


@pytest.mark.parametrize(("over", "words"), [
    ({"visual_test": None}, ["visual_test", "not found", "audio_test"]),
    ({"visual_train": np.zeros((6, 1000))}, ["visual_train", "(6, 1000)", "1024"]),
    ({"audio_test": np.full((4, 128), np.nan)}, ["audio_test", "NaN"]),
    ({"lab_train": np.arange(5) % 2}, ["lab_train", "5 rows"]),
    ({"lab_test": np.array([0.0, 1.5, 0.0, 1.0])}, ["lab_test", "non-integer"]),
    ({"audio_train": np.zeros((0, 128)), "visual_train": np.zeros((0, 1024)),
      "lab_train": np.zeros(0, int)}, ["empty"]),
    ({"lab_train": np.array(["a"] * 6)}, ["lab_train", "integer"]),
])
def test_vegas_h5_bad_input(tmp_path: Path, over, words):
    write_h5(tmp_path / "bad.h5", **_vegas_arrays(**over))
    with pytest.raises(DataError) as err:
        read_vegas_h5(tmp_path / "bad.h5")
    assert str(tmp_path / "bad.h5") in str(err.value)
    for w in words:
        assert w in str(err.value), (w, str(err.value))


def test_vegas_h5_truncated_and_missing_file(tmp_path: Path):
    write_vegas_h5(tmp_path / "vegas_feature.h5")
    truncate(tmp_path / "vegas_feature.h5", 0.5)
    with pytest.raises(DataError, match="truncated or corrupt"):
        read_vegas_h5(tmp_path / "vegas_feature.h5")
    with pytest.raises(DataError, match=r"not found.*data fetch vegas"):
        read_vegas_h5(tmp_path / "nope.h5", hint="see `paper-lib data fetch vegas`")


# == AVE =======================================================================================
def test_ave_official_split_pooling_and_order(tmp_path: Path):
    raw = write_ave(tmp_path, n_per_class=8)
    ds = read_ave(tmp_path, sequences=True)
    assert ds.n_clips == 24 and ds.visual.shape == (24, 512) and ds.audio.shape == (24, 128)
    # naive: spatial mean of every second, then mean over the 10 seconds, row by row
    for i in range(ds.n_clips):
        pooled = np.array([[raw["visual"][i, t, :, :, ch].mean() for ch in range(512)]
                           for t in range(10)])
        np.testing.assert_allclose(ds.visual[i], pooled.mean(0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ds.visual_seq[i], pooled, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ds.audio, raw["audio"].astype(np.float64).mean(1), rtol=1e-12)
    first_seen = list(dict.fromkeys(raw["categories"]))      # ids by first appearance
    assert ds.class_names == tuple(first_seen)
    assert [ds.class_names[k] for k in ds.labels] == raw["categories"]
    is_test = np.array([p == "test" for p in raw["parts"]])
    np.testing.assert_array_equal(ds.is_test, is_test)       # val clips join training
    assert ds.clip_ids[0] == raw["lines"][0].split("&")[1] + "_" + "_".join(
        raw["lines"][0].split("&")[3:])
    _no_leak(ds)


def test_ave_val_can_be_dropped(tmp_path: Path):
    raw = write_ave(tmp_path, n_per_class=8)
    ds = read_ave(tmp_path, val_as="drop")
    assert ds.n_clips == sum(p != "val" for p in raw["parts"])


def test_ave_without_split_gets_balanced_seeded_folds(tmp_path: Path):
    write_ave(tmp_path, n_per_class=11, split=False, header=False)
    a, b = read_ave(tmp_path, seed=0), read_ave(tmp_path, seed=1)
    assert a.folds is not None and a.n_folds == 5
    for c in range(a.n_classes):
        per_fold = np.bincount(a.folds[a.labels == c], minlength=5)
        assert per_fold.max() - per_fold.min() <= 1                  # 11 clips -> 3,2,2,2,2
    assert not np.array_equal(a.folds, b.folds)
    np.testing.assert_array_equal(a.folds, read_ave(tmp_path, seed=0).folds)
    _no_leak(a)


def test_ave_labels_h5_order_and_class_subset(tmp_path: Path):
    raw = write_ave(tmp_path, labels_h5=True, pooled_visual=True)
    ds = read_ave(tmp_path)
    assert ds.class_names == ("Bark", "Male speech, man speaking", "Church bell")   # reversed
    assert [ds.class_names[k] for k in ds.labels] == raw["categories"]
    sub = read_ave(tmp_path, classes=["Church bell", "Bark"])
    assert sub.class_names == ("Church bell", "Bark")
    assert sub.n_clips == sum(c in ("Church bell", "Bark") for c in raw["categories"])
    assert [sub.class_names[k] for k in sub.labels] == [
        c for c in raw["categories"] if c in ("Church bell", "Bark")]


def test_ave_labels_h5_disagreeing_with_annotations(tmp_path: Path):
    write_ave(tmp_path, labels_h5=True)
    with h5py.File(tmp_path / "labels.h5", "r+") as f:
        Y = f["avadataset"][()]
        Y[0, :6, :3] = np.roll(Y[0, :6, :3], 1, axis=1)            # clip 0 gets another class
        f["avadataset"][...] = Y
    with pytest.raises(DataError, match="disagree"):
        read_ave(tmp_path)


def _ave_rows(tmp_path: Path, n: int) -> None:
    with h5py.File(tmp_path / "audio_feature.h5", "w") as f:
        f.create_dataset("avadataset", data=np.zeros((n, 10, 128), np.float32))


def _ave_nan(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "audio_feature.h5", "r+") as f:
        f["avadataset"][3, 2, 5] = np.nan


def _ave_bad_line(tmp_path: Path) -> None:
    p = tmp_path / "AVE_Dataset" / "Annotations.txt"
    p.write_text(p.read_text() + "Bark&xyz&good&zero&10\n")


def _ave_unknown_in_split(tmp_path: Path) -> None:
    p = tmp_path / "AVE_Dataset" / "testSet.txt"
    p.write_text(p.read_text() + "Bark&notthere&good&0&10\n")


def _ave_unsplit_clip(tmp_path: Path) -> None:
    p = tmp_path / "AVE_Dataset" / "valSet.txt"
    p.unlink()


def _ave_corrupt(tmp_path: Path) -> None:
    truncate(tmp_path / "visual_feature.h5", 0.4)


def _ave_missing(tmp_path: Path) -> None:
    (tmp_path / "AVE_Dataset" / "Annotations.txt").unlink()


def _ave_int_features(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "audio_feature.h5", "w") as f:
        f.create_dataset("avadataset", data=np.zeros((18, 10, 128), np.int32))


@pytest.mark.parametrize(("breaker", "words"), [
    (lambda p: _ave_rows(p, 17), ["audio_feature.h5", "17 clips", "18"]),
    (_ave_nan, ["audio_feature.h5", "NaN"]),
    (_ave_bad_line, ["Annotations.txt", "line 20", "integers"]),
    (_ave_unknown_in_split, ["testSet.txt", "notthere"]),
    (_ave_unsplit_clip, ["no split file"]),
    (_ave_corrupt, ["visual_feature.h5", "truncated or corrupt"]),
    (_ave_missing, ["Annotations.txt", "not found", "data fetch ave"]),
    (_ave_int_features, ["audio_feature.h5", "floating point"]),
])
def test_ave_bad_input(tmp_path: Path, breaker, words):
    write_ave(tmp_path)
    breaker(tmp_path)
    with pytest.raises(DataError) as err:
        read_ave(tmp_path, hint="see `paper-lib data fetch ave`")
    for w in words:
        assert w in str(err.value), (w, str(err.value))


def test_ave_small_class_without_split(tmp_path: Path):
    write_ave(tmp_path, n_per_class=4, split=False)
    with pytest.raises(DataError, match="fewer than the 5 folds"):
        read_ave(tmp_path)


# == generic HDF5 ==============================================================================
@pytest.mark.parametrize(("fixed", "seqs"), [(False, False), (True, True)])
def test_generic_round_trip(tmp_path: Path, fixed, seqs):
    ds = tiny_dataset(fixed_split=fixed, sequences=seqs)
    path = write_generic_h5(ds, tmp_path / "mine.h5")
    back = read_generic_h5(path)
    assert back.checksum() == ds.checksum()                    # every array, name, id, class
    for field in ("audio", "visual", "labels", "folds", "is_test", "audio_seq", "seq_len"):
        a, b = getattr(ds, field), getattr(back, field)
        assert (a is None and b is None) or (np.array_equal(a, b) and a.dtype == b.dtype)
    assert back.class_names == ds.class_names and list(back.clip_ids) == list(ds.clip_ids)
    assert list(tmp_path.iterdir()) == [path]                  # no temporary file left


def test_generic_minimal_file_defaults(tmp_path: Path):
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 6)
    write_h5(tmp_path / "m.hdf5", audio=rng.normal(size=(12, 3)),
             visual=rng.normal(size=(12, 4)).astype(np.float32), labels=y)
    with h5py.File(tmp_path / "m.hdf5", "r+") as f:
        f.attrs["class_names"] = ["cat", "dog"]
    ds = read_generic_h5(tmp_path / "m.hdf5", seed=3)
    assert ds.name == "m" and ds.class_names == ("cat", "dog")
    assert ds.clip_ids[0] == "clip_000000" and ds.visual.dtype == np.float32
    assert ds.n_folds == 5
    for c in (0, 1):
        counts = np.bincount(ds.folds[ds.labels == c], minlength=5)
        assert counts.max() - counts.min() <= 1
    _no_leak(ds)


def _generic(**over):
    rng = np.random.default_rng(0)
    base = {"audio": rng.normal(size=(10, 3)), "visual": rng.normal(size=(10, 4)),
            "labels": np.repeat([0, 1], 5), "fold": np.tile(np.arange(5), 2)}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(("over", "words"), [
    ({"audio": None}, ["'audio' not found"]),
    ({"is_test": np.arange(10) < 3}, ["either 'fold' or 'is_test'"]),
    ({"labels": np.repeat([0.0, 1.0], 5)}, ["labels", "integer"]),
    ({"labels": np.repeat([0, 2], 5), "class_names": np.array(["a", "b"])}, ["out of range"]),
    ({"clip_ids": np.array(["a"] * 2 + [f"c{i}" for i in range(8)])}, ["duplicate", "'a'"]),
    ({"visual": np.where(np.eye(10, 4) > 0, np.inf, 0.0)}, ["visual", "NaN or inf"]),
    ({"visual": np.zeros((10, 0))}, ["visual", "empty"]),
    ({"labels": np.r_[np.zeros(7, int), np.ones(3, int)]}, ["class 1", "fewer than the 5"]),
    ({"visual": np.zeros((9, 4))}, ["visual has 9 rows"]),
    ({"audio_seq": np.zeros((10, 2, 3))}, ["sequences need all of"]),
    ({"audio": np.zeros((10, 3), np.int64)}, ["audio", "floating point"]),
])
def test_generic_bad_input(tmp_path: Path, over, words):
    write_h5(tmp_path / "bad.h5", **_generic(**over))
    with pytest.raises(DataError) as err:
        read_generic_h5(tmp_path / "bad.h5")
    assert "bad.h5" in str(err.value)
    for w in words:
        assert w in str(err.value), (w, str(err.value))


def test_generic_corrupt_and_missing(tmp_path: Path):
    path = write_generic_h5(tiny_dataset(), tmp_path / "x.h5")
    truncate(path, 0.5)
    with pytest.raises(DataError, match="truncated or corrupt"):
        read_generic_h5(path)
    with pytest.raises(DataError, match="not found"):
        read_generic_h5(tmp_path / "absent.h5")


def test_generic_write_failure_leaves_nothing(tmp_path: Path, monkeypatch):
    target = tmp_path / "out.h5"
    write_generic_h5(tiny_dataset(seed=1), target)
    before = target.read_bytes()

    def boom(ds, tmp):
        with h5py.File(tmp, "w") as f:
            f.create_dataset("audio", data=ds.audio)      # half written ...
        raise RuntimeError("disk full")

    monkeypatch.setattr(generic_module, "_write_file", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_generic_h5(tiny_dataset(seed=2), target)
    assert target.read_bytes() == before                  # old file intact
    assert list(tmp_path.iterdir()) == [target]           # no temporary left
    with pytest.raises(ValueError, match=r"\.h5 or \.hdf5"):
        write_generic_h5(tiny_dataset(), tmp_path / "out.npz")
