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
# # t-SNE of raw, C-CCA and TNN-C-CCA embeddings of one test fold
#
# The paper shows t-SNE maps of one VEGAS test fold: the raw features, the C-CCA embeddings and
# the TNN-C-CCA embeddings, coloured by class, to argue that the triplet network pulls the clips
# of a class together. This notebook draws the same maps for one test fold of this build's
# dataset. The raw audio and visual features have different widths, so each gets its own map; the
# learned embeddings share one space, so their audio and visual test embeddings are mapped
# *together* (marker = modality, colour = class), which shows whether the two modalities mix.
# Because a 2-D map can mislead, each panel also gets numbers measured in the embedding itself:
# the k-NN class purity and, for the joint panels, a modality-mixing score.

# %% tags=["parameters"]
dataset = "avdigits-pretrained"
profile = "quick"
seed = 0
folds = "all"
data_dir = ""
tsne_points = None

# %% tags=["remove-input"]
# paper_lib: after 02_main_table (reads the main table's fits from the experiment cache)
from paper_lib.experiment import run_configs
from paper_lib.pipeline.notebook import start
from paper_lib.report import tsne
from paper_lib.report.main_table import main_configs

run = start("embeddings_tsne", dataset=dataset, profile=profile, seed=seed, folds=folds,
            data_dir=data_dir)
ds = run.dataset()
p = run.params
split = tsne.first_split(ds, p.fold_list(ds.n_folds))
configs = main_configs(p.epochs, tsne.EMBEDDING_METHODS)  # the main table's fits (shared cache)
_, results = run_configs(ds, configs, folds=[split.fold], seeds=[p.seed], cache=True)
by_method = {r.method: r for r in results}
rows = tsne.subsample(split.test.size, run.knob(tsne.TSNE_POINTS, tsne_points), p.seed)
run.glue("embeddings_tsne_n_points", int(rows.size))
run.glue("embeddings_tsne_fold", split.name)
run.glue("embeddings_tsne_n_test", int(split.test.size))
run.glue("embeddings_tsne_dim", int(configs[0].dim))
setting = f"test fold {split.name}, seed {p.seed}"

# %% [markdown]
# Test fold {glue:text}`embeddings_tsne_fold` holds {glue:text}`embeddings_tsne_n_test` clips;
# {glue:text}`embeddings_tsne_n_points` of them are mapped (the same clips in every panel and
# modality), from embeddings of d = {glue:text}`embeddings_tsne_dim`.
#
# ## The maps

# %% tags=["remove-input"]
panels = tsne.build_panels(ds, split, by_method, rows)
titles = {pn.name: pn.title for pn in panels}
points, scores = tsne.tsne_tables(ds, panels, seed=p.seed)
run.save_table(points, "tsne_points")
run.figure(tsne.plot_tsne(points, scores, titles, ds.class_names), "tsne",
           "t-SNE maps of one test fold: the raw audio and raw visual features (top, one map "
           "each), and the C-CCA and TNN-C-CCA embeddings with the audio and visual test "
           "embeddings mapped together (bottom). Colour is the class, marker the modality "
           "(circle audio, triangle visual); under each title the k-NN class purity measured in "
           "the embedding, its chance level and, for the joint maps, the modality mixing.",
           reproduces="t-SNE of raw, C-CCA and TNN-C-CCA embeddings", over=setting)

# %% [markdown]
# ## How clustered, how mixed
#
# {numref}`tbl-embeddings-tsne-tsne-scores` gives the numbers behind the maps. *k-NN purity*:
# the share of a point's k nearest neighbours that have its class ("chance" is the share for
# random neighbours). *Modality mixing* (joint panels only): the share of a point's neighbours
# from the other modality, divided by that share under perfect mixing; 0 means audio and visual
# embeddings form separate islands, about 1 means they are interleaved. "embedding" measures
# neighbours in the embedding itself (cosine, the retrieval score; Euclidean for raw features),
# "t-SNE map" in the 2-D map.

# %% tags=["remove-input"]
for r in scores.itertuples():
    if r.space != "map_2d":
        run.glue(f"embeddings_tsne_{r.panel}_{r.score}", round(float(r.value), 4))
run.table(scores, "tsne_scores",
          f"k-NN class purity (k = {int(scores['k'].iloc[0])}) and modality mixing of each "
          f"panel of {{numref}}`fig-embeddings-tsne-tsne`, measured in the embedding itself and "
          f"in its t-SNE map, beside the purity expected of random neighbours; mixing is only "
          f"defined for the joint panels.",
          reproduces=None, over=setting, shown=tsne.scores_view(scores, titles))

# %% [markdown]
# The purities above are the numbers to compare, not the look of the maps: t-SNE preserves local
# neighbourhoods but not distances between clusters or their sizes, and a different seed or
# perplexity moves clusters around. A joint panel with high purity *and* mixing near 1 is what
# cross-modal retrieval by class needs: the neighbours of an audio embedding are visual
# embeddings of its class. A high purity with mixing near 0 means each modality is clustered by
# class but in its own region of the space.

# %% tags=["remove-cell"]
run.finish()
