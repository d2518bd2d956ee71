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
dataset = "avdigits-pretrained"
profile = "quick"
seed = 0
folds = "all"
data_dir = ""
epochs = None

# %% tags=["remove-input"]
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
over = ab.common_fits(summary)  # "5 folds × 1 seed": the caption's setting
run.save_table(records, "records")
run.save_table(per_fit, "separability_folds")

# %% [markdown]
# {numref}`tbl-ablation-adversary-summary` lists the MAP of each baseline with its adversary on
# and off, and {numref}`fig-ablation-adversary-ablation-adversary` draws them side by side.

# %% tags=["remove-input"]
run.table(summary, "summary",
          "MAP of the state-of-the-art baselines with their adversary on (adversarial=True, "
          "the main table's fits) and off, A→V and V→A: ours as mean ± std over folds, in bold "
          "the better of the two per method and direction; d is the embedding's width (the "
          "code length for the hashing methods), the fit time the mean per fold.",
          reproduces=None, over=over, shown=ab.summary_view(summary), digits=ab.VIEW_DIGITS)

# %% tags=["remove-input"]
run.figure(ab.plot_bars(summary), "ablation_adversary",
           "MAP of each state-of-the-art baseline with its adversary on (adversarial=True) and "
           "off (adversarial=False), A→V (left) and V→A (right): our mean as bars with ± one "
           "standard deviation over folds as error bars.",
           reproduces=None, over=over)

# %% [markdown]
# ## Are the modalities mixed?
#
# {numref}`tbl-ablation-adversary-separability` gives the accuracy of a logistic regression,
# cross-validated within each test fold, predicting whether an embedding is an audio or a
# visual one. A modality adversary that works should bring it towards 0.5.

# %% tags=["remove-input"]
run.table(separability, "separability",
          "Modality separability of the test embeddings of each baseline with its adversary on "
          "and off: the cross-validated accuracy of a linear probe telling audio embeddings "
          "from visual ones (0.5: mixed, 1.0: separated), as mean ± std over folds.",
          reproduces=None, over=over, shown=adv.separability_view(separability))
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
