"""End to end: a folder of small generated videos -> ``paper-lib extract`` -> the per-clip layout
the data layer reads. Shapes, determinism, the failure list, resume after an interruption,
shards, and a two-worker Dask LocalCluster equal to a serial run, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from paper_lib.cli import main
from paper_lib.data import from_video
from paper_lib.data.from_video import extract_corpus, in_shard, list_clips, parse_shard
from paper_lib.data.registry import load_dataset
from paper_lib.errors import DataError, ParamError
from paper_lib.extract.clip import ExtractorSpec

pytest.importorskip("av")
render = pytest.importorskip("paper_lib.extract.render")

SR = 16_000
SECONDS = 1.5            # one 0.96 s VGGish patch and two frames (t = 0 s and 1 s) per clip
SPEC = ExtractorSpec(weights="random", seed=0, max_seconds=SECONDS)


def _tone(freq: float, seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 classes x 2 good clips (mp4 and webm), one corrupt file, one audio-only wav."""
    root = tmp_path_factory.mktemp("videos")
    for label, (name, freq) in enumerate((("bells", 440.0), ("drums", 1200.0))):
        for k, suffix in enumerate((".mp4", ".webm")):
            image = np.full((36, 48, 3), 40 + 100 * label + 30 * k, np.uint8)
            image[:, : 24 * (k + 1)] = 255
            render.write_clip(root / name / f"clip{k}{suffix}", image=image,
                              waveform=_tone(freq * (1 + 0.1 * k)), sample_rate=SR)
    (root / "bells" / "broken.mp4").write_bytes(b"this is not a video" * 20)
    render.write_clip(root / "drums" / "voice.wav", image=None, waveform=_tone(300.0),
                      sample_rate=SR)
    return root


def _files(out: Path) -> dict[str, bytes]:
    """Every output file but the manifest (which records timings), by relative path."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != from_video.MANIFEST}


@pytest.fixture(scope="module")
def serial_out(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("serial") / "features"
    extract_corpus(corpus, out, SPEC, n_folds=2)
    return out


def test_listing_gives_ids_classes_and_sorted_order(corpus: Path) -> None:
    clips, classes = list_clips(corpus)
    assert classes == ("bells", "drums")
    assert [c.clip_id for c in clips] == ["bells_broken", "bells_clip0", "bells_clip1",
                                          "drums_clip0", "drums_clip1", "drums_voice"]
    assert {c.clip_id: c.label for c in clips}["drums_clip1"] == 1


def test_layout_shapes_dtypes_classes_folds_and_failures(serial_out: Path) -> None:
    audio = np.load(serial_out / "vgg" / "bells_clip0.npy")
    visual = np.load(serial_out / "inception" / "bells_clip0.npy")
    assert audio.dtype == np.uint8 and audio.shape == (1, 128)      # floor(1.5 / 0.96) patches
    assert visual.dtype == np.uint8 and visual.shape == (2, 1024)   # frames at 0 s and 1 s
    assert 0 < audio.std() and 0 < visual.std()                     # not saturated constants
    assert int(np.load(serial_out / "classes" / "drums_clip1.npy")) == 1
    folds = [sorted((serial_out / "folds" / f"{k:02d}.txt").read_text().split())
             for k in range(2)]
    assert sorted(folds[0] + folds[1]) == ["bells_clip0", "bells_clip1", "drums_clip0",
                                            "drums_clip1"]
    manifest = json.loads((serial_out / from_video.MANIFEST).read_text())
    failed = {f["clip"]: f["error"] for f in manifest["failures"]}
    assert set(failed) == {"bells_broken", "drums_voice"}
    assert "broken.mp4" in failed["bells_broken"]
    assert "voice.wav" in failed["drums_voice"] and "no video track" in failed["drums_voice"]
    assert manifest["weights"]["mode"] == "random"
    assert manifest["clips"] == {"listed": 6, "done": 4, "failed": 2}
    assert not (serial_out / "vgg" / "bells_broken.npy").exists()


def test_the_data_layer_reads_the_extracted_folder(serial_out: Path) -> None:
    ds = load_dataset(str(serial_out))
    assert ds.audio.shape == (4, 128) and ds.visual.shape == (4, 1024)
    assert ds.class_names == ("bells", "drums")
    assert ds.n_folds == 2
    raw = np.load(serial_out / "inception" / "bells_clip0.npy").astype(np.float64)
    row = list(ds.clip_ids).index("bells_clip0")
    np.testing.assert_allclose(ds.visual[row], ((raw - 128) / 256).mean(axis=0), atol=1e-6)


def test_extraction_is_deterministic(corpus: Path, serial_out: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    extract_corpus(corpus, again, SPEC, n_folds=2)
    assert _files(again) == _files(serial_out)


def test_resume_after_an_interruption_redoes_only_what_is_missing(
        corpus: Path, serial_out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "resumed"
    real_write = from_video.write_clip
    calls = {"n": 0}

    def write_then_die(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        real_write(*args, **kwargs)

    monkeypatch.setattr(from_video, "write_clip", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        extract_corpus(corpus, out, SPEC, n_folds=2)
    monkeypatch.setattr(from_video, "write_clip", real_write)
    assert len(list((out / "vgg").glob("*.npy"))) == 1
    assert not list(out.rglob(".*"))                  # no temporary file left behind
    report = extract_corpus(corpus, out, SPEC, n_folds=2)
    assert len(report.skipped) == 1 and len(report.extracted) == 3
    assert _files(out) == _files(serial_out)


def test_shards_together_equal_one_unsharded_run(corpus: Path, serial_out: Path,
                                                 tmp_path: Path) -> None:
    out = tmp_path / "sharded"
    ids = [c.clip_id for c in list_clips(corpus)[0]]
    assert sorted(i for k in range(2) for i in ids if in_shard(i, (k, 2))) == sorted(ids)
    for k in range(2):
        extract_corpus(corpus, out, SPEC, shard=(k, 2), n_folds=2)
    assert not (out / "folds").exists() and not (out / from_video.MANIFEST).exists()
    final = extract_corpus(corpus, out, SPEC, n_folds=2)
    assert final.extracted == [] and len(final.skipped) == 4
    assert _files(out) == _files(serial_out)


def test_a_two_worker_local_cluster_equals_the_serial_run(corpus: Path, serial_out: Path,
                                                          tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    from paper_lib.engine import dask_client

    out = tmp_path / "dask"
    with dask_client(n_workers=2) as client:
        report = extract_corpus(corpus, out, SPEC, client=client, n_folds=2)
    assert len(report.extracted) == 4 and len(report.failures) == 2
    assert _files(out) == _files(serial_out)


def test_command_line_reports_failures_with_exit_status_1(corpus: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "cli"
    code = main(["extract", str(corpus), str(out), "--weights", "random", "--serial",
                 "--max-seconds", str(SECONDS), "--folds", "2", "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1
    assert "4 clip(s) extracted" in captured.out
    assert "broken.mp4" in captured.err
    code = main(["extract", str(corpus), str(out), "--weights", "random", "--serial",
                 "--max-seconds", str(SECONDS), "--folds", "2", "--no-progress"])
    assert "0 clip(s) extracted, 4 already done" in capsys.readouterr().out


def test_bad_arguments_are_refused_before_any_work(corpus: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(DataError, match="video folder not found"):
        list_clips(tmp_path / "nowhere")
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "a.mp4").write_bytes(b"x")
    with pytest.raises(DataError, match="no class sub-folders"):
        list_clips(flat)
    with pytest.raises(ParamError, match="must not be inside VIDEO_DIR"):
        extract_corpus(corpus, corpus / "out", SPEC)
    for bad in ("1/1", "x", "2/1", "-1/2"):
        with pytest.raises(ParamError, match="--shard"):
            parse_shard(bad)
    code = main(["extract", str(corpus), str(tmp_path / "o"), "--serial", "--no-progress",
                 "--vggish", str(tmp_path / "missing.pth")])
    assert code == 2
    assert "missing.pth" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()           # refused before anything was written
