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
# # The triplet loss and triplet mining
#
# TNN-C-CCA {cite:p}`zeng2020deep` refines the Cluster-CCA projection with two small networks,
# one per modality, trained with a triplet loss {cite:p}`schroff2015facenet`: an audio clip
# (the anchor) should be closer to a visual clip of its own class (a positive) than to a visual
# clip of another class (a negative), by a margin. This chapter draws the geometry of one
# triplet, plots the hinge, counts for one minibatch how many triplets each mining strategy
# {cite:p}`hermans2017defense` uses and how many of them are active, shows on a toy what goes
# wrong when the hinge is dropped (as in the authors' last script), draws the whole pipeline,
# and finally trains the library's `TNNCCCA` briefly on the build's dataset.

# %% tags=["parameters"]
dataset = "avdigits"
profile = "quick"
seed = 0
folds = "all"
data_dir = ""
margins = None

# %% tags=["remove-input"]
import numpy as np
import pandas as pd

from paper_lib.methods.tnn import TNNCCCA
from paper_lib.pipeline.notebook import start
from paper_lib.report import teach_triplets as tc
from paper_lib.report._teaching_common import TOY_SETTING
from paper_lib.report.ablations import MARGINS

run = start("teach_triplets", dataset=dataset, profile=profile, seed=seed, folds=folds,
            data_dir=data_dir)
ds = run.dataset()
p = run.params
folds = p.fold_list(ds.n_folds)
epochs = p.epochs
PAPER_MARGIN = 0.5  # the paper's margin (and the library's default)
run.glue("teach_triplets_margin", PAPER_MARGIN)

# %% [markdown]
# ## The geometry of one triplet
#
# Write $a = f_a(x)$ for the embedding of an audio clip, $p = f_v(y^+)$ for a visual clip of
# the same class and $n = f_v(y^-)$ for a visual clip of another class. The paper's loss is a
# hinge on **squared** Euclidean distances:
#
# $$
# \begin{aligned}
# \ell(a, p, n) &= \max\big(0,\; \underbrace{\lVert a - p \rVert^2 - \lVert a - n \rVert^2}_{\Delta}
#                  + m\big), \\
# m &= 0.5 .
# \end{aligned}
# $$ (eq-teach-triplet-loss)
#
# The negative is *easy* when it lies outside the circle of squared radius
# $\lVert a - p\rVert^2 + m$ around the anchor (loss 0), *semi-hard* when it lies inside that
# circle but farther than the positive, and *hard* when it is closer than the positive
# ({numref}`fig-teach-triplets-triplet-geometry`):

# %% tags=["hide-input"]
run.figure(tc.plot_triplet_geometry(PAPER_MARGIN), "triplet_geometry",
           "One triplet in a two-dimensional embedding: the anchor (star), a positive (blue "
           "dot) and one negative in each zone the hinge defines, hard (red), semi-hard "
           "(orange) and easy (green). The dashed circle has squared radius ‖a − p‖² + m.",
           reproduces=None, data="a drawing, no data")

# %% [markdown]
# ## The hinge as a function of $\Delta$
#
# Everything the loss of one triplet depends on is $\Delta = \lVert a - p\rVert^2 -
# \lVert a - n\rVert^2$. The hinge is zero once $\Delta \le -m$: a triplet that is ordered with
# room to spare stops contributing, so the gradient concentrates on the triplets that are still
# wrong or barely right. The margin sets how much room is required (the profile's margins are
# shown in {numref}`fig-teach-triplets-hinge`; the paper's ablation varies it):

# %% tags=["hide-input"]
margin_levels = run.knob(MARGINS, margins)
run.figure(tc.plot_hinge(margin_levels, paper_margin=PAPER_MARGIN), "hinge",
           f"The loss of one triplet against Δ for the {len(margin_levels)} margins of the "
           f"profile (colour: the margin m, see the colour bar; the paper's margin drawn "
           f"thick) and without the hinge (dashed black).", reproduces=None,
           data="a drawing, no data")

# %% [markdown]
# ## Mining: which triplets enter the loss
#
# In a minibatch of $B$ paired clips every audio clip can be an anchor, every visual clip of its
# class a positive (its own partner included) and every visual clip of another class a
# negative. A batch with $n_c$ clips of class $c$ therefore holds
#
# $$
# \begin{aligned}
# T_{\text{all}} &= \sum_{i=1}^{B} n_{\text{pos}}(i)\, n_{\text{neg}}(i) \\
#                &= \sum_c n_c \cdot n_c \cdot (B - n_c)
# \end{aligned}
# $$ (eq-teach-triplet-count)
#
# valid triplets. **Batch-all** mining (the paper's) uses all of them; **batch-hard** mining
# keeps one per anchor, its farthest positive and closest negative; **random** mining (the
# paper's "random triplets" baseline) keeps one random positive and one random negative per
# anchor. The last two give $B$ triplets (every anchor has a negative unless the batch holds a
# single class). For a hand-made batch of six clips ({numref}`tbl-teach-triplets-hand-batch-counts`):

# %% tags=["hide-input"]
hand_labels = np.array([0, 0, 0, 1, 1, 2])
hand_table = tc.class_count_table(hand_labels)
run.glue("teach_triplets_hand_batch_all", tc.valid_triplet_count(hand_labels))
run.glue("teach_triplets_hand_b", int(hand_labels.size))
run.table(hand_table, "hand_batch_counts",
          f"A hand-made batch of {hand_labels.size} clips, labels "
          f"{', '.join(map(str, hand_labels))}: per class, the anchors, the positives and "
          f"negatives of each anchor and the batch-all triplets n_c²(B − n_c); last row: the "
          f"totals.", reproduces=None, data="a hand-made batch",
          shown=tc.class_count_view(hand_table), digits=tc.CLASS_COUNT_DIGITS)

# %% [markdown]
# Batch-all uses $3^2\cdot 3 + 2^2 \cdot 4 + 1^2 \cdot 5$ =
# {glue:text}`teach_triplets_hand_batch_all` triplets of this batch, batch-hard and random
# mining {glue:text}`teach_triplets_hand_b`.
#
# Now one real minibatch: $B = 40$ clips (the authors' batch size, about 560 chunks of the
# VEGAS training set) drawn from the training rows of the first fold of the build's dataset,
# embedded by the Cluster-CCA stage and by the two branches *before* training (the same
# seeded initialisation `TNNCCCA` uses). A triplet is *active* when its hinge is positive
# ({numref}`tbl-teach-triplets-batch-counts-before`):

# %% tags=["hide-input"]
split = next(ds.splits([folds[0]]))
Xa_tr, Xv_tr, y_tr = ds.audio[split.train], ds.visual[split.train], ds.labels[split.train]
model = TNNCCCA(n_components=10, epochs=epochs, margin=PAPER_MARGIN, random_state=p.seed)
model.fit(Xa_tr, Xv_tr, y_tr)          # trained below; its C-CCA stage is used here
rows = tc.batch_rows(y_tr.size, 40, seed=p.seed)
Ha, Hv = model.ccca_.transform(Xa_tr[rows], Xv_tr[rows])
branch_a0, branch_v0 = tc.untrained_branches(Ha.shape[1], Hv.shape[1], seed=p.seed)
before = tc.mined_counts(tc.branch_outputs(branch_a0, Ha), tc.branch_outputs(branch_v0, Hv),
                         y_tr[rows], PAPER_MARGIN, seed=p.seed)
before.insert(0, "stage", "before training")
bc = before.set_index("miner")
run.glue("teach_triplets_batch_b", int(rows.size))
run.glue("teach_triplets_batch_classes", int(np.unique(y_tr[rows]).size))
for miner, key in (("batch-all", "all"), ("batch-hard", "hard"), ("random", "random")):
    run.glue(f"teach_triplets_before_{key}_triplets", int(bc.loc[miner, "triplets"]))
    run.glue(f"teach_triplets_before_{key}_active_fraction",
             float(bc.loc[miner, "active_fraction"]))
class_counts = ", ".join(map(str, np.bincount(y_tr[rows], minlength=ds.n_classes)))
batch_setting = f"one batch of fold {folds[0]}'s training rows"
run.table(before, "batch_counts_before",
          f"One minibatch of {rows.size} clips from the training rows of fold {folds[0]} "
          f"(clips per class 0…{ds.n_classes - 1}: {class_counts}), embedded by the Cluster-CCA "
          f"stage and the untrained branches: per miner, the triplets it mines, the count the "
          f"formula predicts, how many are active (hinge > 0) and the mean hinge.",
          reproduces=None, over=batch_setting,
          shown=tc.mined_counts_view(before.drop(columns="stage")), digits=4)

# %% [markdown]
# The formula column is {eq}`eq-teach-triplet-count` (batch-all) or $B$ (the others); the
# miners of `paper_lib.methods.triplet` return exactly these counts (checked in the tests).
# This batch of {glue:text}`teach_triplets_batch_b` clips from
# {glue:text}`teach_triplets_batch_classes` classes gives
# {glue:text}`teach_triplets_before_all_triplets` batch-all triplets, of which a fraction
# {glue:text}`teach_triplets_before_all_active_fraction:.3f` is active before training.
# Batch-all sees every informative triplet, and more and more of them become inactive as the
# classes separate (the counts after training are at the end of this chapter); the library's
# loss is therefore the mean over the *active* triplets, so that the zeros of satisfied
# triplets do not dilute the gradient. Batch-hard sees only
# {glue:text}`teach_triplets_before_hard_triplets` triplets, each the worst of its anchor.
#
# ## Why the hinge matters
#
# The authors' last training script drops the hinge and minimises the mean of $\Delta + m$
# over the triplets. That loss is linear in the squared distances and unbounded below: it
# keeps rewarding triplets that are already ordered, and since the gradient of a squared
# distance grows with the distance, the pairs that are already far apart get the largest push.
# On a toy with three classes in the plane, two close together and one far away, we project
# both views onto one direction $u(\varphi)$ (a 1-d embedding of fixed scale, as the sigmoid
# output of the branches is bounded) and ask which direction each loss prefers
# ({numref}`fig-teach-triplets-hinge-vs-hingeless`, {numref}`tbl-teach-triplets-hinge-optima`):

# %% tags=["hide-input"]
hinge_toy = tc.make_hinge_toy(seed=p.seed)
landscape = tc.projection_loss_landscape(hinge_toy, PAPER_MARGIN)
optima = tc.landscape_optima(landscape)
run.save_table(landscape, "hinge_landscape")
run.figure(tc.plot_loss_landscape(hinge_toy, landscape, optima), "hinge_vs_hingeless",
           "What each loss prefers on a toy of three classes in the plane. Top left: the toy "
           "(dots audio, crosses visual) and the direction φ each loss prefers; top right: the "
           "mean loss of the 1-d projection on u(φ) over all batch-all triplets, with the hinge "
           "(left axis) and without it (right axis); bottom: the 1-d audio embedding at each "
           "preferred direction, coloured by class.", reproduces=None, data=TOY_SETTING)
opt = optima.set_index("loss")
for loss in ("hinge", "hingeless"):
    run.glue(f"teach_triplets_{loss}_angle", float(opt.loc[loss, "angle"]))
    run.glue(f"teach_triplets_{loss}_violated", float(opt.loc[loss, "violated_fraction"]))
    run.glue(f"teach_triplets_{loss}_map", float(opt.loc[loss, "map_a2v"]))
run.table(optima, "hinge_optima",
          "The direction φ each loss prefers on the toy (its minimum over φ), the loss there, "
          "the fraction of batch-all triplets still violated (negative closer than the "
          "positive) and the A→V MAP of that 1-d embedding.", reproduces=None,
          data=TOY_SETTING, shown=tc.optima_view(optima), digits=tc.OPTIMA_DIGITS)

# %% [markdown]
# The hinge-less loss prefers $\varphi$ = {glue:text}`teach_triplets_hingeless_angle:.0f`°: the
# direction that spreads the far class away from the others, where the loss can grow most,
# while the two close classes fall on top of each other; a fraction
# {glue:text}`teach_triplets_hingeless_violated:.3f` of the triplets stays violated (the
# negative closer than the positive) and the A→V MAP of that 1-d embedding is
# {glue:text}`teach_triplets_hingeless_map:.3f`. The hinge prefers
# $\varphi$ = {glue:text}`teach_triplets_hinge_angle:.0f`°, with a violated fraction of
# {glue:text}`teach_triplets_hinge_violated:.3f` and a MAP of
# {glue:text}`teach_triplets_hinge_map:.3f`: once a triplet is satisfied by the margin it stops
# pulling, so the remaining, hard triplets decide. In a network with sigmoid outputs the
# hinge-less loss has one more way out: pushing the outputs into saturation at the corners of
# the unit cube, where its gradient vanishes for good. The library always applies the hinge.
#
# ## The full pipeline
#
# The library's `TNNCCCA` with the paper's settings: Cluster-CCA (the authors' β = 0.2 variant,
# $d = 10$) fitted on the training folds, then one branch per modality, trained with the
# batch-all triplet loss {eq}`eq-teach-triplet-loss` (Adam, learning rate $10^{-3}$, batches of
# about 40 clips reshuffled every epoch). At test time each view is embedded by its own branch
# and the other view's test fold is ranked by cosine similarity
# ({numref}`fig-teach-triplets-pipeline-diagram`).

# %% tags=["hide-input"]
run.figure(tc.plot_pipeline_diagram(ds.audio.shape[1], ds.visual.shape[1], n_components=10,
                                    margin=PAPER_MARGIN), "pipeline_diagram",
           "The TNN-C-CCA pipeline with the paper's settings and the feature sizes of the "
           "build's dataset: both views through the Cluster-CCA projection, then one branch "
           "per view (layer widths, activation, dropout); the triplet loss (dashed) acts only "
           "in training; at test time each view is embedded alone and ranked by cosine "
           "similarity.", reproduces=None, data="a diagram")

# %% [markdown]
# ## A short training run
#
# The model above was trained for `epochs` = {glue:text}`teach_triplets_epochs` epochs (the
# profile's value; the paper trains 10) on the training rows of the first fold only. Per epoch
# the library records the mean hinge over all mined triplets and the fraction of them that
# were active ({numref}`fig-teach-triplets-training-history`,
# {numref}`tbl-teach-triplets-training-history`; the minibatch of the mining section before and
# after training in {numref}`tbl-teach-triplets-batch-counts`):

# %% tags=["hide-input"]
history = tc.history_frame(model.history_)
one_fit = f"fold {folds[0]}, one fit"
run.figure(tc.plot_training_history(history, ds.name), "training_history",
           f"Training TNN-C-CCA ({epochs} epochs, batch-all mining) on the training rows of "
           f"fold {folds[0]}: per epoch, the mean hinge over all mined triplets (left) and the "
           f"fraction of active triplets (right), as recorded during training.",
           reproduces=None, over=one_fit)
run.table(history, "training_history",
          "The numbers of the figure above and the loss that is minimised, the mean hinge over "
          "the active triplets only.", reproduces=None, over=one_fit,
          shown=tc.history_view(history), digits=4)
after = tc.mined_counts(tc.branch_outputs(model.branch_audio_, Ha),
                        tc.branch_outputs(model.branch_visual_, Hv), y_tr[rows], PAPER_MARGIN,
                        seed=p.seed)
after.insert(0, "stage", "after training")
counts = pd.concat([before, after], ignore_index=True)
run.table(counts, "batch_counts",
          "The minibatch of the mining section, before and after training (final weights, "
          "dropout off): per miner, the triplets mined, the formula's count, the active ones "
          "and the mean hinge.", reproduces=None, over=batch_setting,
          shown=tc.mined_counts_view(counts), digits=4)
ac = after.set_index("miner")
run.glue("teach_triplets_epochs", int(epochs))
run.glue("teach_triplets_n_train", int(y_tr.size))
run.glue("teach_triplets_batch_size", int(model.batch_size_))
run.glue("teach_triplets_first_active", float(history.active_fraction.iloc[0]))
run.glue("teach_triplets_last_active", float(history.active_fraction.iloc[-1]))
run.glue("teach_triplets_first_hinge", float(history.mean_hinge.iloc[0]))
run.glue("teach_triplets_last_hinge", float(history.mean_hinge.iloc[-1]))
run.glue("teach_triplets_after_all_active_fraction", float(ac.loc["batch-all", "active_fraction"]))
trend = ("lower" if history.active_fraction.iloc[-1] < history.active_fraction.iloc[0]
         else "not lower")
run.glue("teach_triplets_active_trend", trend)

# %% [markdown]
# Trained on {glue:text}`teach_triplets_n_train` clips in batches of
# {glue:text}`teach_triplets_batch_size`, the active fraction went from
# {glue:text}`teach_triplets_first_active:.3f` in the first epoch to
# {glue:text}`teach_triplets_last_active:.3f` in the last (so it is
# {glue:text}`teach_triplets_active_trend`), and the mean hinge from
# {glue:text}`teach_triplets_first_hinge:.4f` to {glue:text}`teach_triplets_last_hinge:.4f`. On
# the minibatch of the mining section, the batch-all active fraction is now
# {glue:text}`teach_triplets_after_all_active_fraction:.3f` (it was
# {glue:text}`teach_triplets_before_all_active_fraction:.3f` before training). The epoch
# statistics are measured during training (dropout on, weights changing within the epoch); the
# batch counts with the final weights and dropout off. Retrieval quality is measured on the
# test folds, in the main table.
#
# Why the *loss* column of {numref}`tbl-teach-triplets-training-history` can stay flat while
# the *mean hinge* falls: the loss that is minimised is the mean hinge over the *active*
# triplets only (those with a positive hinge), while the mean hinge averages over *all* mined
# triplets, satisfied ones (hinge 0) included. As training satisfies more triplets, the active
# ones become fewer and the mean hinge drops, but
# the triplets that stay active are the hard ones, whose average hinge need not fall: the loss
# measures how badly the remaining violators violate, not how many there are.

# %% tags=["remove-cell"]
run.finish()
