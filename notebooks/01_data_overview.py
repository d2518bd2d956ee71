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
# Class counts, feature statistics and folds of the dataset, computed in this build. For
# `avdigits`, a few clips can be played beside their images.

# %% tags=["parameters"]
dataset = "avdigits"
profile = "quick"
seed = 0
folds = "all"
data_dir = ""

# %% tags=["remove-input"]
from IPython.display import Audio, Markdown, display

from paper_lib.pipeline.notebook import start
from paper_lib.report import data_overview as ov

run = start("data_overview", dataset=dataset, profile=profile, seed=seed, folds=folds,
            data_dir=data_dir)
ds = run.dataset()
run.glue("n_clips", ds.n_clips)
run.glue("n_classes", ds.n_classes)
run.glue("audio_dims", ds.audio.shape[1])
run.glue("visual_dims", ds.visual.shape[1])
display(Markdown(f"**{ds.name}** ({ds.source}): {ds.n_clips} clips, {ds.n_classes} classes, "
                 f"audio {ds.audio.shape[1]}-d, visual {ds.visual.shape[1]}-d, "
                 f"{f'{ds.n_folds} folds' if ds.folds is not None else 'fixed train/test split'}."))

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
# Clips of each class in each fold ({numref}`tbl-data-overview-fold-counts`): the folds are
# class-balanced, and every evaluation fits on the other folds only.

# %% tags=["remove-input"]
fold_counts = ov.fold_table(ds)
run.table(fold_counts, "fold_counts", "Clips of each class (rows, in the classes' natural "
          "order) in each fold or part of the split (columns), with the class total.",
          reproduces=None, shown=ov.fold_view(fold_counts, ds.class_names))

# %% [markdown]
# ## Examples

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

# %% tags=["remove-cell"]
run.finish()
