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
# # Ablation: the adversaries of the state-of-the-art baselines
#
# Three of the paper's state-of-the-art baselines (ACMR, UCAL, AGAH) train a *modality
# adversary*: a classifier that tries to tell audio embeddings from visual ones, against
# projectors that try to make them indistinguishable. UGACH's adversary is different: a
# generator that mines candidates for its hashing discriminator (see the
# {ref}`method chapter <sota-baselines>`). **The paper reports no such ablation.** This notebook
# switches each adversary off (`adversarial=False`; everything else, the initialisation and the
# minibatch order included, unchanged) and measures two things on the test folds: MAP, and the
# *modality separability* of the test embeddings, the cross-validated accuracy of a fresh linear
# probe telling audio rows from visual rows (0.5: mixed; 1.0: separated). The *on* cells are the
# main table's fits (seed {glue:text}`ablation_adversary_seed`), read back from the cache.

# %% tags=["parameters"]
dataset = "avdigits"
profile = "quick"
seed = 0
folds = "all"
data_dir = ""
epochs = None

# %% tags=["hide-input"]
# paper_lib: after 02_main_table (reads the main table's fits from the experiment cache)
from IPython.display import Markdown, display

from paper_lib.methods.registry import get_method
from paper_lib.pipeline.notebook import start
from paper_lib.report import ablations as ab
from paper_lib.report import adversaries as adv

run = start("ablation_adversary", dataset=dataset, profile=profile, seed=seed, folds=folds,
            data_dir=data_dir, epochs=epochs)
ds = run.dataset()
p = run.params
fold_list = p.fold_list(ds.n_folds)
run.glue("ablation_adversary_seed", p.seed)
run.glue("ablation_adversary_n_folds", len(fold_list))
records, per_fit = adv.run_adversary_ablation(ds, adv.adversary_configs(epochs=p.epochs),
                                              folds=fold_list, seed=p.seed)
summary = ab.summarise_sweep(records)
separability = adv.separability_summary(per_fit)
run.save_table(records, "records")
run.save_table(summary, "summary")
run.save_table(per_fit, "separability_folds")
run.save_table(separability, "separability")
ab.display_table(summary)

# %% tags=["hide-input"]
fig = ab.plot_bars(summary, title=f"MAP with the adversary on and off on {ds.name} "
                                  f"({len(fold_list)} folds, seed {p.seed})")
run.save_figure(fig, "ablation_adversary")
fig

# %% [markdown]
# ## Are the modalities mixed?
#
# Mean (± std over folds) accuracy of a logistic regression, cross-validated within each test
# fold, predicting whether an embedding is an audio or a visual one. A modality adversary that
# works should bring it towards 0.5.

# %% tags=["hide-input"]
separability.round(3)

# %% tags=["hide-input"]
names = {m: get_method(m).paper_name for m in summary["method"]}
display(Markdown(adv.describe(summary, separability, names)))

# %% [markdown]
# How to read it: a modality adversary only changes what the other losses leave open. Where a
# supervised loss already pulls same-class audio and visual embeddings together (ACMR's
# triplets), a linear probe may find little left to separate with the adversary off; where the
# loss ignores an offset or a scale between the modalities (UCAL's whitened correlation), the
# adversary is what aligns them. UGACH's generator mines candidates that look related to the
# query; without labels, many of them share its class, and the discriminator then learns to push
# them away, which can lower MAP. Every claim here is only as good as its
# {glue:text}`ablation_adversary_n_folds` folds and one seed.

# %% tags=["remove-cell"]
run.finish()
