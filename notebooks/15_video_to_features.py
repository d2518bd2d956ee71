# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # From video to features
#
# Every method of the paper starts from features, not from pixels and samples: for VEGAS the
# authors describe each second of a clip by a 128-d **VGGish** audio embedding and a 1,024-d
# **Inception V3** visual embedding, quantised to 8 bits as YouTube-8M does, and average them
# over the clip (Section 4.1 of the paper). This chapter runs that feature stage,
# `paper-lib extract`, on real video files: a few `avdigits` clips written as MP4 files with PyAV
# (the MNIST image as a still video track, upscaled {glue:text}`video_upscale`×, the spoken digit
# as the audio track), decoded, cut, embedded, projected and quantised into the per-clip layout
# the data layer reads (`vgg/`, `inception/`, `classes/`, `folds/`).
#
# ```{warning}
# **These features come from seeded random networks.** The published VGGish and Inception V3
# weights and the PCA parameters cannot be downloaded on the machine that builds this book, so the
# chapter runs `--weights random`: every shape, stage and cost below is the real pipeline's, but
# the numbers in the arrays say nothing about the features' quality. With the weight files in
# place (see `data_manifest/extractors.yaml` and the README), the same command computes the
# published features.
# ```

# %% tags=["parameters"]
dataset = "avdigits-pretrained"
profile = "quick"
seed = 0
folds = "all"
data_dir = ""

# %% tags=["remove-input"]
import tempfile
from pathlib import Path

import pandas as pd
from IPython.display import Markdown, display

from paper_lib.data.from_video import extract_corpus, read_manifest
from paper_lib.data.registry import load_dataset
from paper_lib.engine import available_cores, dask_client
from paper_lib.extract.clip import ExtractorSpec
from paper_lib.pipeline.notebook import start
from paper_lib.report import video_features as vf

run = start("video_to_features", dataset=dataset, profile=profile, seed=seed, folds=folds,
            data_dir=data_dir)
ds = run.dataset()
if (ds.media or {}).get("waveforms") is None:
    display(Markdown(f"*{ds.name} keeps no media; this chapter renders the embedded `avdigits` "
                     f"clips instead.*"))
    ds = load_dataset("avdigits", seed=run.params.seed)
run.glue("video_upscale", vf.UPSCALE)
spec = ExtractorSpec(weights="random", seed=run.params.seed, max_seconds=10.0)
work = Path(tempfile.mkdtemp(prefix="paper_lib_video_"))
videos = vf.render_demo_corpus(ds, work / "videos", per_class=1)
run.glue("video_n_clips", len(videos))
run.table(videos, "videos",
          f"The video files rendered for this chapter, one clip of each class of {ds.name}: "
          f"the MNIST image as a still video track upscaled {vf.UPSCALE}×, the spoken digit "
          f"as the audio track, both as long as the recording.",
          reproduces=None, shown=vf.videos_view(videos), digits={"length (s)": 2,
                                                                 "file size (kB)": 1})

# %% [markdown]
# ## Decoding and the YouTube-8M conventions
#
# PyAV (whose wheels bundle FFmpeg) decodes any container and codec FFmpeg reads. Audio is
# resampled to 16 kHz mono (channels averaged); from the video track the first frame at or after
# each whole second is kept (1 frame per second), as RGB. Only the first 10 s are used.
#
# - **Audio (VGGish)**: a log-mel spectrogram (25 ms periodic Hann windows every 10 ms, 64 mel
#   bands between 125 Hz and 7,500 Hz on the HTK mel scale, `log(mel + 0.01)`) is cut into
#   non-overlapping 0.96 s patches of 96 × 64; each patch gives a 128-d embedding, which VGGish's
#   post-processor projects with its PCA, clips to [−2, 2] and quantises to 8 bits.
# - **Visual (Inception V3)**: each frame, resized whole to 299 × 299, gives the 2,048-d output of
#   the network's global average pool; YouTube-8M's PCA projects it to 1,024-d and whitens it
#   (divides by the square root of each eigenvalue + 10⁻⁴), then clips to [−2, 2] and quantises
#   to 8 bits.
# - **The data layer** de-quantises with the authors' `(x − 128) / 256` and averages over seconds.
#   That is YouTube-8M's own de-quantisation `q · 4/255 − 2` divided by 4, up to at most 1/256:
#   a scale, which no method of the book is sensitive to.
#
# One caveat for users of the published files: YouTube-8M fitted its PCA on the pool features of
# TensorFlow's 2015 Inception V3 graph, and torchvision's weights are a port of a TensorFlow
# release that need not be that graph. When in doubt, fit the PCA on a sample of one's own
# corpus with the network actually used (`PcaProjection.fit(features, 1024, whiten=True)`).
#
# {numref}`fig-video-to-features-pipeline` shows three of the clips: the frames kept, the
# log-mel spectrogram with its patch boundaries, and the two arrays written for the clip.

# %% tags=["remove-input"]
serial = extract_corpus(work / "videos", work / "features", spec, n_folds=2)
files = [work / "videos" / f for f in videos["file"]]
run.figure(vf.plot_pipeline(files[:3], work / "features"), "pipeline",
           "The feature stage on three of the rendered clips, two rows per clip: the frames "
           "kept (one per second) and the log-mel spectrogram of the decoded audio over its "
           "whole length, the 0.96 s patch boundaries dashed; then the uint8 arrays written to "
           "vgg/ (one 128-d row per audio patch) and inception/ (one 1,024-d row per frame), "
           "on one colour scale from 0 to 255. The networks' weights are random.",
           reproduces=None)

# %% [markdown]
# ## What was written
#
# One row per clip ({numref}`tbl-video-to-features-feature-shapes`): the arrays' shapes and
# value ranges. A 2 s clip gives two 0.96 s audio patches and two frames (at 0 s and 1 s), a 1 s
# clip one of each. The
# extraction manifest (`extraction.json`) records the weights (here: random, with their seed),
# the library versions, the settings and the failures.

# %% tags=["remove-input"]
shapes = vf.feature_shapes(work / "features")
manifest = read_manifest(work / "features")
run.glue("video_failures", len(manifest["failures"]))
display(Markdown(f"Manifest: weights **{manifest['weights']['mode']}** (seed "
                 f"{manifest['weights'].get('seed')}), {manifest['clips']['done']} clips done, "
                 f"{manifest['clips']['failed']} failed; folds written: "
                 f"{manifest['folds']['written']}."))
run.table(shapes, "feature_shapes",
          "The arrays written for each clip: shape and type of its audio features (vgg/) and "
          "visual features (inception/), and the range of their 8-bit values.",
          reproduces=None)

# %% [markdown]
# ## Throughput
#
# Seconds of video processed per second of wall time, measured in this build on its machine:
# first each stage alone on one core (the best of three runs,
# {numref}`tbl-video-to-features-stage-timings`), then the whole `extract_corpus` run in this
# process and on a Dask `LocalCluster` with one single-threaded worker per available core
# ({numref}`tbl-video-to-features-throughput`; the files are byte-identical either way, the
# test-suite checks it). The two networks cost almost everything; Inception V3 at 299 × 299
# dominates.

# %% tags=["remove-input"]
stages = vf.stage_timings(files, spec, repeats=3)
with dask_client() as client:
    parallel = extract_corpus(work / "videos", work / "features_dask", spec, client=client,
                              n_folds=2)
runs = pd.concat([vf.throughput(serial, 1).assign(engine="this process"),
                  vf.throughput(parallel, available_cores()).assign(engine="Dask LocalCluster")],
                 ignore_index=True)
run.glue("video_rate_serial", f"{serial.realtime_factor:.2f}")
run.glue("video_rate_dask", f"{parallel.realtime_factor:.2f}")
run.table(stages, "stage_timings",
          f"Wall time of each stage of the feature stage over the {len(files)} clips on one "
          f"core (the best of three runs), its share of the total, and the seconds of video "
          f"the stage processes per second of wall time.",
          reproduces=None, shown=vf.stages_view(stages),
          digits={"wall time (s)": 3, "share of the total": 3, "video s per wall s": 2},
          measurement=True)
run.table(runs, "throughput",
          "The whole extraction (extract_corpus) in this process and on a Dask LocalCluster: "
          "seconds of video per second of wall time, wall time (including, for the cluster, "
          "starting its workers and loading each worker's networks), clips extracted and "
          "failed, workers and cores.",
          reproduces=None, shown=vf.throughput_view(runs), digits=2, measurement=True)

# %% [markdown]
# In this build the whole stage processed {glue:text}`video_rate_serial` seconds of video per
# second of wall time in one process, and {glue:text}`video_rate_dask` on the local cluster
# (which includes starting its workers and loading each worker's networks). VEGAS's 28,103 clips
# of up to 10 s are a few days of one such core; `--shard I/N` splits the corpus over array jobs
# and `--scheduler ADDRESS` sends it to a Dask cluster (the README shows both).

# %% tags=["remove-cell"]
import shutil

shutil.rmtree(work, ignore_errors=True)
run.finish()
