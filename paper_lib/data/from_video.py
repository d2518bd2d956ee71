"""A corpus of videos -> the per-clip feature layout the data layer reads (``paper-lib extract``).

Input: ``VIDEO_DIR/<class>/<file>``, one sub-folder per class (the class names, sorted, give the
ids 0..K-1); every non-hidden file in a class folder is a clip, in any container FFmpeg reads.
A clip's id is ``<class>_<file stem>``.

Output under ``OUT_DIR`` (the authors' layout, :mod:`paper_lib.data.formats.clip_arrays`)::

    vgg/<clip>.npy          (patches, 128)  uint8   VGGish, one row per 0.96 s
    inception/<clip>.npy    (frames, 1024)  uint8   Inception V3 + YouTube-8M PCA, one row per s
    classes/<clip>.npy      ()              int64   class id
    folds/00.txt ...        clip ids of each class-balanced fold (paper_lib.data.folds)
    extraction.json         the extraction manifest: weights and their sha256, versions,
                            settings, clips done, failures, throughput

``load_dataset("OUT_DIR")`` reads it as a dataset.

Behaviour:

- **resumable**: a clip whose three files exist is skipped; every file is written atomically,
  so an interrupted run leaves whole files only and the next run does the rest;
- **failures** (a file with no audio or video track, empty, corrupt or unreadable) are listed
  in the manifest and the run goes on; failed clips are left out of the classes and folds;
- **shards**: ``shard=(i, n)`` extracts only the clips with ``crc32(clip id) % n == i`` (stable
  when clips are added) and writes their features; a run without a shard then finds every clip
  done and writes the folds and the manifest: n shards + that run equal one unsharded run;
- **engines**: serially in this process, or on a Dask cluster (:mod:`paper_lib.engine`); the
  files are identical either way (each clip is computed alone; the folds are written at the
  end from the sorted clip list).
"""

from __future__ import annotations

import functools
import json
import platform
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from paper_lib import __version__
from paper_lib.atomic import write_json, write_text, write_with
from paper_lib.data.folds import check_n_folds, make_folds
from paper_lib.engine import run_tasks
from paper_lib.errors import DataError, ParamError
from paper_lib.extract.clip import ClipFailure, ClipFeatures, ExtractorSpec, extract_clip

AUDIO_DIR, VISUAL_DIR, CLASS_DIR, FOLD_DIR = "vgg", "inception", "classes", "folds"
MANIFEST = "extraction.json"


@dataclass(frozen=True)
class Clip:
    """One input file: its id, path, class id and class name."""

    clip_id: str
    path: Path
    label: int
    class_name: str


@dataclass
class ExtractionReport:
    """What a run did: clips extracted now, skipped (done before), failed; timing."""

    extracted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)
    video_seconds: float = 0.0
    wall_seconds: float = 0.0
    folds_written: bool = False

    @property
    def realtime_factor(self) -> float:
        """Seconds of video extracted per second of wall time."""
        return self.video_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0


def list_clips(video_dir: str | Path) -> tuple[list[Clip], tuple[str, ...]]:
    """Every clip under ``video_dir/<class>/`` (sorted by id) and the sorted class names."""
    root = Path(video_dir)
    if not root.is_dir():
        raise DataError(f"{root}: video folder not found (expected VIDEO_DIR/<class>/<clip file>)")
    classes = tuple(sorted(p.name for p in root.iterdir()
                           if p.is_dir() and not p.name.startswith(".")))
    if not classes:
        loose = sorted(p.name for p in root.iterdir() if p.is_file())[:3]
        raise DataError(f"{root}: no class sub-folders (expected VIDEO_DIR/<class>/<clip file>; "
                        f"found {loose or 'nothing'} at the top level)")
    clips = [Clip(f"{name}_{f.stem}", f, label, name)
             for label, name in enumerate(classes)
             for f in sorted((root / name).iterdir())
             if f.is_file() and not f.name.startswith(".")]
    if not clips:
        raise DataError(f"{root}: the class folders {list(classes)} hold no files")
    ids = [c.clip_id for c in clips]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise DataError(f"{root}: two files give the same clip id {dupes[0]!r} (same class and "
                        f"file stem, different extensions); rename one")
    return sorted(clips, key=lambda c: c.clip_id), classes


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> (i, n) with 0 <= i < n."""
    try:
        i, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise ParamError(f"--shard: expected I/N (e.g. 0/4), got {text!r}") from None
    if not 0 <= i < n:
        raise ParamError(f"--shard: need 0 <= I < N, got {text!r}")
    return i, n


def in_shard(clip_id: str, shard: tuple[int, int]) -> bool:
    """Whether a clip belongs to shard ``(i, n)``: ``crc32(id) % n == i`` (stable across runs)."""
    i, n = shard
    return zlib.crc32(clip_id.encode("utf-8")) % n == i


def _files(out: Path, clip_id: str) -> tuple[Path, Path, Path]:
    name = f"{clip_id}.npy"
    return out / AUDIO_DIR / name, out / VISUAL_DIR / name, out / CLASS_DIR / name


def is_done(out: Path, clip_id: str) -> bool:
    """All three files of the clip exist (each was written atomically)."""
    return all(p.is_file() for p in _files(out, clip_id))


def write_clip(out: Path, clip: Clip, features: ClipFeatures) -> None:
    """The clip's three files, each atomically; the class file last (it marks the clip done)."""
    audio, visual, label = _files(out, clip.clip_id)
    for path, array in ((audio, features.audio), (visual, features.visual),
                        (label, np.asarray(clip.label, dtype=np.int64))):
        write_with(path, functools.partial(_save_npy, array=array))


def _save_npy(tmp: Path, array: np.ndarray) -> None:
    np.save(tmp, array)


def _check_out_dir(out: Path, video_dir: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ParamError(f"OUT_DIR {out}: exists and is not a folder")
    if out.resolve() == video_dir.resolve() or video_dir.resolve() in out.resolve().parents:
        raise ParamError(f"OUT_DIR {out}: must not be inside VIDEO_DIR {video_dir}")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParamError(f"OUT_DIR {out}: cannot create it ({exc.strerror})") from exc


def extract_corpus(video_dir: str | Path, out_dir: str | Path, spec: ExtractorSpec, *,
                   shard: tuple[int, int] = (0, 1), client: Any = None, n_folds: int = 5,
                   fold_seed: int = 0, progress: Callable[[int, int, float], None] | None = None
                   ) -> ExtractionReport:
    """Extract every clip of ``video_dir`` (or of one shard) into ``out_dir``.

    Parameters
    ----------
    video_dir, out_dir : str or Path
        ``VIDEO_DIR/<class>/<file>`` in; the per-clip layout out (see the module docstring).
    spec : ExtractorSpec
        The extractor (weights, seed, max_seconds).
    shard : (int, int), default=(0, 1)
        ``(i, n)``: only this shard's clips; with ``n > 1`` neither folds nor manifest are
        written (a final run without a shard writes them).
    client : distributed.Client, optional
        Run the clips on this Dask cluster; default: in this process.
    n_folds, fold_seed : int
        The class-balanced folds written at the end (:func:`paper_lib.data.folds.make_folds`).
    progress : callable, optional
        ``progress(done, total, video_seconds)`` after each clip.
    """
    video_root, out = Path(video_dir), Path(out_dir)
    check_n_folds(n_folds, "n_folds (--folds)")      # before any work, not after every clip
    clips, classes = list_clips(video_root)
    _check_out_dir(out, video_root)
    start = time.perf_counter()
    report = ExtractionReport()
    mine = [c for c in clips if in_shard(c.clip_id, shard)]
    done_before = {c.clip_id for c in mine if is_done(out, c.clip_id)}
    todo = [c for c in mine if c.clip_id not in done_before]
    report.skipped = sorted(done_before)

    def on_done(i: int, result: ClipFeatures | ClipFailure) -> None:
        clip = todo[i]
        if isinstance(result, ClipFailure):
            report.failures.append({"clip": clip.clip_id, "file": str(clip.path),
                                    "error": result.error})
        else:
            write_clip(out, clip, result)
            report.extracted.append(clip.clip_id)
            report.video_seconds += result.seconds
        if progress is not None:
            progress(len(report.extracted) + len(report.failures), len(todo),
                     report.video_seconds)

    run_tasks(extract_clip, [(str(c.path),) for c in todo], client=client, shared=(spec,),
              on_done=on_done)
    report.failures.sort(key=lambda f: f["clip"])
    report.extracted.sort()
    report.wall_seconds = time.perf_counter() - start
    if shard[1] == 1:
        done = [c for c in clips if is_done(out, c.clip_id)]
        report.folds_written = _write_folds(out, done, n_folds, fold_seed)
        _write_manifest(out, video_root, spec, clips, classes, report, n_folds, fold_seed)
    return report


def _write_folds(out: Path, done: list[Clip], n_folds: int, seed: int) -> bool:
    """folds/00.txt ... from the clips done (sorted by id); False when a class is too small."""
    if not done:
        return False
    labels = np.array([c.label for c in done])
    present = np.unique(labels)
    dense = np.searchsorted(present, labels)          # make_folds wants no empty class id
    try:
        folds = make_folds(dense, n_folds=n_folds, seed=seed)
    except DataError:
        return False
    for k in range(n_folds):
        ids = [c.clip_id for c, f in zip(done, folds, strict=True) if f == k]
        write_text(out / FOLD_DIR / f"{k:02d}.txt", "\n".join(ids) + "\n")
    return True


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"paper_lib": __version__, "python": platform.python_version()}
    for dist in ("torch", "numpy", "scipy", "av"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:  # pragma: no cover
            out[dist] = "not installed"
    return out


def _write_manifest(out: Path, video_root: Path, spec: ExtractorSpec, clips: list[Clip],
                    classes: tuple[str, ...], report: ExtractionReport, n_folds: int,
                    fold_seed: int) -> None:
    from paper_lib.extract.clip import extractor_for

    weights: dict[str, Any]
    if spec.weights == "random":
        weights = {"mode": "random", "seed": spec.seed,
                   "note": "seeded random networks and PCA stand-ins: the pipeline, not the "
                           "features' quality"}
    else:
        weights = {"mode": "pretrained", "files": extractor_for(spec).weight_files}
    done = [c.clip_id for c in clips if is_done(out, c.clip_id)]
    manifest = {
        "format": "paper_lib per-clip features", "video_dir": str(video_root),
        "classes": list(classes), "class_dir": CLASS_DIR,
        "spec": {**asdict(spec), "paths": dict(spec.paths)},
        "weights": weights, "versions": _versions(),
        "clips": {"listed": len(clips), "done": len(done), "failed": len(report.failures)},
        "failures": report.failures,
        "folds": {"n_folds": n_folds, "seed": fold_seed, "written": report.folds_written},
        "this_run": {"extracted": len(report.extracted), "skipped": len(report.skipped),
                     "video_seconds": round(report.video_seconds, 3),
                     "wall_seconds": round(report.wall_seconds, 3),
                     "realtime_factor": round(report.realtime_factor, 3)},
    }
    write_json(out / MANIFEST, manifest)


def read_manifest(out_dir: str | Path) -> dict[str, Any]:
    """The extraction manifest of ``out_dir`` (a clear error when absent or unreadable)."""
    path = Path(out_dir) / MANIFEST
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise DataError(f"{path}: no extraction manifest (run `paper-lib extract` without "
                        f"--shard to write it)") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the extraction manifest: {exc}") from exc
