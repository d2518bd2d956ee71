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
# # Precision-recall curves, every method, both directions
#
# The paper draws precision against recall for every method of its main comparison, A→V and V→A.
# This notebook draws the same curves from the **same fits** as the main table (read back from
# the experiment cache, no refit) and the same ranking as the MAP: for every test fold, the
# precision and recall at every rank cut-off k = 1..n, averaged over the queries
# (`metrics.retrieval.pr_curve`), and the standard 11-point interpolated curve
# (`metrics.retrieval.interpolated_pr_11`).
#
# **Averaging over folds.** Test folds differ in size by up to one clip, so their rank-indexed
# curves cannot be averaged rank by rank. Each fold's curve is read on a common recall grid
# 0, 0.01, ..., 1 by step interpolation (the precision at the first cut-off whose recall reaches
# the grid level: no point is invented between two cut-offs), then averaged over folds and seeds.
# The 11-point curves share their recall levels and are averaged directly.

# %% tags=["parameters"]
dataset = "avdigits-pretrained"
profile = "quick"
seed = 0
folds = "all"
data_dir = ""
epochs = None
seeds = None

# %% tags=["hide-input"]
# paper_lib: after 02_main_table (reads the main table's fits from the experiment cache)
from IPython.display import Markdown, display

from paper_lib.data.registry import load_dataset
from paper_lib.experiment import run_configs
from paper_lib.pipeline.notebook import start
from paper_lib.report import main_table as mt
from paper_lib.report import pr_curves as pr
from paper_lib.report import regimes

run = start("pr_curves", dataset=dataset, profile=profile, seed=seed, folds=folds,
            data_dir=data_dir, epochs=epochs, seeds=seeds)
ds = run.dataset()
p = run.params
fold_list = p.fold_list(ds.n_folds)
fit_seeds = p.seeds  # the profile's seeds (full: 0, 1, 2), or -p seeds=...
# the main table's configs: identical cache keys, so these fits are read back, not refitted
_, results = run_configs(ds, mt.main_configs(p.epochs), folds=fold_list, seeds=fit_seeds, cache=True)
curves = pr.average_curves(results)
run.save_table(curves, "pr_curves")
over = f"{len(fold_list)} folds × {len(fit_seeds)} seeds"  # the closed forms: one fit per fold
display(Markdown(f"**{ds.name}**: {len({r.method for r in results})} methods, "
                 f"{len(fold_list)} folds x {len(fit_seeds)} seed(s) per curve (one fit per fold "
                 f"for the closed-form CCA and C-CCA, whose fit ignores the seed)."))

# %% [markdown]
# ## Precision at every rank (common recall grid)

# %% tags=["hide-input"]
run.figure(pr.plot_pr_curves(curves, ds.name, kind="raw"), "pr_curves",
           "Precision against recall for every method of the main comparison, A→V (left) and "
           "V→A (right); the state-of-the-art baselines dashed. Each fold's curve is read on a "
           "common recall grid, then averaged over folds and seeds.",
           reproduces="precision-recall curves", over=over)

# %% [markdown]
# ## 11-point interpolated curves

# %% tags=["hide-input"]
run.figure(pr.plot_pr_curves(curves, ds.name, kind="11pt"), "pr_curves_11pt",
           "The 11-point interpolated precision-recall curves of every method, A→V (left) and "
           "V→A (right): at each recall level 0, 0.1, ..., 1 the best precision at that recall "
           "or beyond, averaged over folds and seeds.",
           reproduces="precision-recall curves, in their interpolated form", over=over)

# %% [markdown]
# ## The other feature regime
#
# The same curves for the same AV-digits clips in the other feature regime (pretrained features
# against raw ones; see the two-regime section of {doc}`02_main_table`), from the fits of the
# main table on that dataset.

# %% tags=["hide-input"]
other_name = regimes.companion(ds.name)
if other_name is None:
    display(Markdown(f"*{ds.name} has no companion in another feature regime.*"))
else:
    other_ds = load_dataset(other_name, seed=seed)
    _, other_results = run_configs(other_ds, mt.main_configs(p.epochs), folds=fold_list,
                                   seeds=fit_seeds, cache=True)
    other_curves = pr.average_curves(other_results)
    run.save_table(other_curves, f"pr_curves_{other_name}")
    run.figure(pr.plot_pr_curves(other_curves, other_name, kind="raw"), "pr_curves_other_regime",
               f"Precision against recall for every method of the main comparison on "
               f"{other_name}, the same clips with {regimes.regime_label(other_name)}, A→V "
               f"(left) and V→A (right), drawn as the first figure of this page.",
               reproduces="precision-recall curves", over=over)

# %% [markdown]
# ## Where the curves start and end
#
# Precision at recall 0 (the first rank) and at recall 1 (the first cut-off where every query has
# retrieved all its relevant items). Unless a method ranks every relevant item above every
# irrelevant one for every query, recall 1 is reached at or near the end of the list, where the
# precision is close to the class prevalence seen by the average query, nearly the same for
# every method: the curves differ mostly in how fast they fall, not in where they end.

# %% tags=["hide-input"]
ends = pr.endpoints(curves)
for _, r in ends.iterrows():
    run.glue(f"pr_curves_{r['method']}_{r['direction']}_start", float(r["precision_at_r0"]))
    run.glue(f"pr_curves_{r['method']}_{r['direction']}_end", float(r["precision_at_r1"]))
run.table(ends, "endpoints", "Where each mean curve starts (precision at the first rank) and "
          "ends (precision at the first cut-off where recall reaches 1).",
          reproduces=None, over=over, shown=pr.endpoints_view(ends), digits=4)

# %% [markdown]
# The paper's figure for VEGAS (not in the data manifest, so not plotted here) has TNN-C-CCA's
# A→V curve start near precision 0.965 and end at 0.1049 at recall 1.0 (about the class
# prevalence of VEGAS's ten classes); those are the paper's numbers on VEGAS, not ours. In this
# build TNN-C-CCA's mean A→V curve starts at {glue:text}`pr_curves_tnn_c_cca_a2v_start:.4f` and ends at
# {glue:text}`pr_curves_tnn_c_cca_a2v_end:.4f`.

# %% tags=["remove-cell"]
run.finish()
