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

# %% tags=["hide-input"]
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

# %% tags=["hide-input"]
counts = ov.class_counts(ds)
run.save_table(counts, "class_counts")
fig = ov.plot_class_counts(ds)
run.save_figure(fig, "class_counts")
counts

# %% [markdown]
# ## Feature statistics (clip level)

# %% tags=["hide-input"]
stats = ov.feature_stats(ds)
run.save_table(stats, "feature_stats")
fig = ov.plot_feature_means(ds)
run.save_figure(fig, "class_means")
stats.round(4)

# %% [markdown]
# ## Folds
#
# Clips of each class in each fold: the folds are class-balanced, and every evaluation fits on the
# other folds only.

# %% tags=["hide-input"]
fold_counts = ov.fold_table(ds)
run.save_table(fold_counts, "fold_counts")
fold_counts.pivot(index="class_name", columns="part", values="clips")

# %% [markdown]
# ## Examples

# %% tags=["hide-input"]
examples = ov.example_rows(ds, per_class=1, seed=seed)[:5]
for row in examples:
    display(Markdown(f"`{ds.clip_ids[row]}`: class **{ds.class_names[ds.labels[row]]}**"))
    media = ov.clip_media(ds, row)
    if media.image is not None:
        display(ov.image_figure(media.image))
    if media.waveform is not None:
        display(Audio(ov.wav_bytes(media.waveform, media.sample_rate)))
if ds.media is None:
    display(Markdown("This dataset holds features only: no media to play."))

# %% tags=["remove-cell"]
run.finish()
