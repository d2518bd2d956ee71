"""The "From video to features" chapter: render avdigits clips as videos, extract, show, time.

The embedded ``avdigits`` dataset keeps each clip's media (the spoken digit's waveform and the
MNIST image). :func:`render_demo_corpus` writes a few of them as real video files with PyAV (the
image as a still video track, the waveform as the audio track) in the ``VIDEO_DIR/<class>/``
layout ``paper-lib extract`` reads; :func:`paper_lib.data.from_video.extract_corpus` then runs
the paper's feature stage on them. :func:`stage_timings` times each stage on the same clips.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from paper_lib.data.dataset import PairedDataset
from paper_lib.engine import available_cores
from paper_lib.extract import inception, vggish
from paper_lib.extract.clip import ExtractorSpec, FeatureExtractor
from paper_lib.extract.decode import decode_clip
from paper_lib.extract.logmel import EXAMPLE_FRAMES, frame_examples, log_mel
from paper_lib.extract.postprocess import quantize_uint8

#: [choice] MNIST's 28 x 28 images are upscaled 4x (nearest) to 112 x 112 for the video track:
#: video codecs and their chroma subsampling are not meant for 28-pixel frames
UPSCALE = 4


def render_demo_corpus(ds: PairedDataset, video_dir: Path, per_class: int = 1,
                       suffix: str = ".mp4") -> pd.DataFrame:
    """Write the first ``per_class`` clips of each class as ``video_dir/<class>/<clip><suffix>``.

    The audio track is the stored 16 kHz waveform (int16 PCM scaled to [-1, 1]) over the clip's
    own length (``waveform_lengths``: the storage's zero padding is cut off, so a 1 s recording
    is a 1 s video, not 1 s of sound and 1 s of digital silence); the video track shows the
    clip's image for the same duration. Returns one row per file.
    """
    from paper_lib.extract.render import write_clip

    media = ds.media or {}
    if "waveforms" not in media or "images" not in media:
        raise ValueError(f"{ds.name}: no media (waveforms and images) to render; the chapter "
                         f"needs the embedded avdigits dataset")
    rate = int(media["sample_rate"])
    rows = []
    for label, name in enumerate(ds.class_names):
        for i in np.flatnonzero(ds.labels == label)[:per_class]:
            image = np.kron(media["images"][i], np.ones((UPSCALE, UPSCALE), np.uint8))
            stem = str(ds.clip_ids[i]).removeprefix(f"{name}_")     # the extracted id: class_stem
            path = video_dir / name / f"{stem}{suffix}"
            waveform = np.asarray(media["waveforms"][i])
            lengths = media.get("waveform_lengths")
            if lengths is not None:                              # drop the storage's padding
                waveform = waveform[: int(lengths[i])]
            if np.issubdtype(waveform.dtype, np.integer):        # avdigits stores int16 PCM
                waveform = waveform.astype(np.float32) / 32768.0
            write_clip(path, image=image, waveform=waveform, sample_rate=rate)
            rows.append({"clip": str(ds.clip_ids[i]), "class": name,
                         "file": f"{name}/{path.name}", "seconds": len(waveform) / rate,
                         "bytes": path.stat().st_size})
    return pd.DataFrame(rows)


def feature_shapes(out_dir: Path) -> pd.DataFrame:
    """Shape, dtype and value range of every extracted array (one row per clip)."""
    rows = []
    for audio_path in sorted((out_dir / "vgg").glob("*.npy")):
        audio = np.load(audio_path)
        visual = np.load(out_dir / "inception" / audio_path.name)
        rows.append({"clip": audio_path.stem,
                     "audio (vgg/)": f"{audio.shape[0]} × {audio.shape[1]} {audio.dtype}",
                     "visual (inception/)": f"{visual.shape[0]} × {visual.shape[1]} "
                                            f"{visual.dtype}",
                     "audio range": f"{audio.min()}–{audio.max()}",
                     "visual range": f"{visual.min()}–{visual.max()}"})
    return pd.DataFrame(rows)


def stage_timings(files: list[Path], spec: ExtractorSpec, repeats: int = 1) -> pd.DataFrame:
    """Wall time of each stage of the feature stage over ``files`` (best of ``repeats``), and the
    seconds of video each stage processes per second of wall time, on one core."""
    fx = FeatureExtractor(spec)
    stages: dict[str, float] = {}
    seconds = 0.0

    def clock(name: str, fn: Any, *args: Any) -> Any:
        best = np.inf
        out = None
        for _ in range(repeats):
            t0 = time.perf_counter()
            out = fn(*args)
            best = min(best, time.perf_counter() - t0)
        stages[name] = stages.get(name, 0.0) + float(best)
        return out

    for f in files:
        clip = clock("decode (PyAV, 16 kHz audio, 1 fps frames)", decode_clip, f,
                     spec.max_seconds)
        seconds += clip.seconds
        patches = clock("log-mel front-end and 0.96 s patches",
                        lambda w: frame_examples(log_mel(w, 16_000)), clip.audio)
        emb = clock("VGGish network", vggish.embed, fx.vggish, patches, len(patches))
        clock("VGGish PCA and 8-bit quantisation",
              lambda e: quantize_uint8(fx.vggish_pca.apply(e), rounding="truncate"), emb)
        pooled = clock("Inception V3 network (299 × 299)", inception.embed_frames,
                       fx.inception, clip.frames, max(1, len(clip.frames)))
        clock("YouTube-8M PCA whitening and 8-bit quantisation",
              lambda x: quantize_uint8(fx.yt8m_pca.apply(x), rounding="round"), pooled)
    total = sum(stages.values())
    rows = [{"stage": k, "seconds": v, "share": v / total,
             "video s per wall s": seconds / v if v > 0 else np.inf} for k, v in stages.items()]
    rows.append({"stage": "all stages", "seconds": total, "share": 1.0,
                 "video s per wall s": seconds / total})
    return pd.DataFrame(rows)


def throughput(report: Any, n_workers: int) -> pd.DataFrame:
    """The whole ``extract_corpus`` run: clips, seconds of video, wall time, realtime factor."""
    return pd.DataFrame([{
        "clips extracted": len(report.extracted), "clips failed": len(report.failures),
        "seconds of video": round(report.video_seconds, 2),
        "wall time (s)": round(report.wall_seconds, 2),
        "video s per wall s": round(report.realtime_factor, 3),
        "workers": n_workers, "cores available": available_cores()}])


def videos_view(videos: pd.DataFrame) -> pd.DataFrame:
    """:func:`render_demo_corpus`' rows for reading: class, clip, file, length and file size."""
    return pd.DataFrame({"class": videos["class"], "clip": videos["clip"],
                         "file": videos["file"], "length (s)": videos["seconds"].astype(float),
                         "file size (kB)": videos["bytes"].astype(float) / 1000.0})


def stages_view(stages: pd.DataFrame) -> pd.DataFrame:
    """:func:`stage_timings` for reading: stage, wall time, its share of the total, and the
    seconds of video per second of wall time."""
    return pd.DataFrame({"stage": stages["stage"], "wall time (s)": stages["seconds"],
                         "share of the total": stages["share"],
                         "video s per wall s": stages["video s per wall s"]})


def throughput_view(runs: pd.DataFrame) -> pd.DataFrame:
    """:func:`throughput`'s rows (one per engine) for reading: the engine first, the realtime
    factor next, then the counts."""
    first = ["engine", "video s per wall s", "wall time (s)", "seconds of video"]
    return runs[[*first, *(c for c in runs.columns if c not in first)]]


#: the text size of the pipeline figure (points)
FONT_SIZE = 10


def plot_pipeline(files: list[Path], out_dir: Path, max_seconds: float = 10.0) -> Any:
    """For each clip, two rows, 8 inches wide: the sampled frames and the log-mel spectrogram
    cut into 0.96 s patches (drawn over the decoded audio's own length, in seconds); then the
    two uint8 feature arrays written to ``vgg/`` and ``inception/``."""
    fig = plt.figure(figsize=(8.0, 4.6 * len(files)))
    grid = fig.add_gridspec(2 * len(files), 2, width_ratios=[1.0, 2.4], hspace=0.8,
                            wspace=0.25, left=0.08, right=0.98, top=0.97, bottom=0.04)
    for i, f in enumerate(files):
        clip = decode_clip(f, max_seconds)
        frames = np.concatenate(list(clip.frames), axis=1)            # side by side
        ax = fig.add_subplot(grid[2 * i, 0])
        ax.imshow(frames)
        ax.set_title(f"{f.parent.name}_{f.stem}: frames at\n"
                     + ", ".join(f"{t:.2f}" for t in clip.frame_times) + " s",
                     fontsize=FONT_SIZE)
        ax.set_xticks([])
        ax.set_yticks([])
        logmel = log_mel(clip.audio, 16_000)
        seconds = logmel.shape[0] * 0.01                    # 10 ms frames
        ax = fig.add_subplot(grid[2 * i, 1])
        ax.imshow(logmel.T, origin="lower", aspect="auto", cmap="magma",
                  extent=(0.0, seconds, 0, logmel.shape[1]))
        ax.set_xlim(0.0, seconds)
        for k in range(1, logmel.shape[0] // EXAMPLE_FRAMES + 1):
            ax.axvline(k * EXAMPLE_FRAMES * 0.01, color="w", lw=1.2, ls="--")
        ax.set_title("log-mel spectrogram, cut into 0.96 s patches", fontsize=FONT_SIZE)
        ax.set_xlabel("time (s)", fontsize=FONT_SIZE)
        ax.set_ylabel("mel band", fontsize=FONT_SIZE)
        ax.tick_params(labelsize=FONT_SIZE)
        clip_id = f"{f.parent.name}_{f.stem}"                  # paper_lib.data.from_video's ids
        audio = np.load(out_dir / "vgg" / f"{clip_id}.npy")
        visual = np.load(out_dir / "inception" / f"{clip_id}.npy")
        for col, (arr, what) in enumerate(((audio, "vgg/"), (visual, "inception/"))):
            ax = fig.add_subplot(grid[2 * i + 1, col])
            ax.imshow(arr, aspect="auto", cmap="viridis", vmin=0, vmax=255,
                      interpolation="nearest")
            ax.set_title(f"{what}: {arr.shape[0]} × {arr.shape[1]} uint8", fontsize=FONT_SIZE)
            ax.set_ylabel("second", fontsize=FONT_SIZE)
            ax.set_xlabel("dimension", fontsize=FONT_SIZE)
            ax.set_yticks(range(arr.shape[0]))
            ax.tick_params(labelsize=FONT_SIZE)
    plt.close(fig)
    return fig
