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
# TNN-C-CCA {cite:p}`zeng2020deep` refines the C-CCA (β = 0.2) projection of chapter 21 with two
# small networks, one per modality, trained with a triplet loss {cite:p}`schroff2015facenet`: an
# audio clip (the anchor) should be closer to a visual clip of its own class (a positive) than
# to a visual clip of another class (a negative), by a margin. This chapter draws the geometry
# of one triplet, plots the hinge, counts for one minibatch how many triplets each *mining*
# rule (the rule that chooses which triplets of a minibatch enter the loss)
# {cite:p}`hermans2017defense` uses and how many of them are active, computes the batch loss in
# ten lines of numpy, shows on a toy what goes wrong when the hinge is dropped (as in the
# authors' last script), and finally trains the library's `TNNCCCA` briefly on the build's
# dataset.
#
# ## Overview
#
# **Prerequisites.** Chapter 20 ({doc}`20_teach_cca_2d`): what a projection to a common space
# is, the pipeline diagram of TNN-C-CCA and the dataset used in these chapters
# ({ref}`the dataset box <teach-dataset-box>`). Chapter 21 ({doc}`21_teach_cluster_cca`):
# Cluster-CCA, the C-CCA (β = 0.2) stage the networks start from, and its box "What MAP counts". From calculus:
# the squared Euclidean distance and the gradient of a function of a vector; from machine
# learning: what a minibatch and a gradient step are.
#
# **You will learn.**
#
# - to *compute* the loss $\ell$ of one triplet and the loss $L$ of a minibatch from its
#   $B\times B$ matrix of squared distances;
# - to *count* the batch-all triplets of a minibatch, $\sum_c n_c^2 (B - n_c)$, and decide which
#   of them are active;
# - to *explain* easy, semi-hard and hard negatives, and what batch-all, batch-hard and random
#   mining keep;
# - to *derive* the gradient of $\ell$ and *predict* what a loss without the hinge optimises;
# - to *explain* why $L$ can stay flat while the network is learning.
#
# Notation: {doc}`../book/notation`.
#
# Re-run this chapter with other knobs, e.g.
# `paper-lib reproduce --profile quick --only 22_teach_triplets -p triplet_margin=1.0`, then open
# `_build/executed/avdigits-quick/22_teach_triplets.ipynb` in Jupyter (the book's own page,
# built from the full profile, is not changed).
# The knobs: `triplet_margin` (the margin $m$ of the counts, the toy and the training run),
# `triplet_margins` (the margins of the hinge figure), `triplet_batch_size` ($B$),
# `triplet_toy_per_class` and `triplet_toy_far` (the hinge-less toy), and the common `epochs`.
# The "Try this" boxes say what to expect.

# %% tags=["parameters"]
dataset = "avdigits-pretrained"
profile = "quick"
seed = 0
folds = "all"
data_dir = ""
epochs = None
triplet_margin = None
triplet_margins = None
triplet_batch_size = None
triplet_toy_per_class = None
triplet_toy_far = None

# %% tags=["remove-input"]
import numpy as np
import pandas as pd

from paper_lib.methods.tnn import TNNCCCA
from paper_lib.pipeline.notebook import start
from paper_lib.report import teach_triplets as tc
from paper_lib.report._teaching_common import TOY_SETTING

run = start("teach_triplets", dataset=dataset, profile=profile, seed=seed, folds=folds,
            data_dir=data_dir, epochs=epochs)
ds = run.raw_features_dataset()  # the raw-feature avdigits (pixels a reader can see)
p = run.params
folds = p.fold_list(ds.n_folds)
epochs = p.epochs
margin = run.knob(tc.TRIPLET_MARGIN, triplet_margin)
margin_levels = run.knob(tc.TRIPLET_MARGINS, triplet_margins)
batch_size = run.knob(tc.TRIPLET_BATCH_SIZE, triplet_batch_size)
toy_per_class = run.knob(tc.TRIPLET_TOY_PER_CLASS, triplet_toy_per_class)
toy_far = run.knob(tc.TRIPLET_TOY_FAR, triplet_toy_far)
PAPER_MARGIN = 0.5  # the paper's margin (and the library's default)
run.glue("teach_triplets_margin", PAPER_MARGIN)
run.glue("teach_triplets_m", margin)

# %% [markdown]
# ## The geometry of one triplet
#
# Write $a = f_a(\cdot)$ for the embedding of an audio clip by the audio branch $f_a$ (the
# *anchor*), $p = f_v(\cdot)$ for the embedding of a visual clip of the same class by the visual
# branch $f_v$ (a *positive*) and $n = f_v(\cdot)$ for a visual clip of another class (a
# *negative*). The paper's loss of one triplet is a hinge on **squared** Euclidean distances,
# with margin $m$ (the paper's $m$ = {glue:text}`teach_triplets_margin`; this page uses
# $m$ = {glue:text}`teach_triplets_m`, the knob `triplet_margin`):
#
# $$
# \begin{aligned}
# \ell(a, p, n) &= \max\big(0,\; \underbrace{\lVert a - p \rVert^2 - \lVert a - n \rVert^2}_{\Delta}
#                  + m\big) .
# \end{aligned}
# $$ (eq-teach-triplet-loss)
#
# A triplet is **active** when $\ell > 0$: only active triplets contribute a gradient. By where
# the negative lies, a triplet is *easy* when $n$ lies outside the circle of **squared** radius
# $\lVert a - p\rVert^2 + m$ around the anchor ($\Delta \le -m$, loss 0, inactive),
# **semi-hard** when it lies inside that circle but farther than the positive
# ($-m < \Delta \le 0$: ordered correctly, but without the margin's room; active) and **hard**
# when it is closer than the positive ($\Delta > 0$, active). The segment from $a$ to $p$ has
# length $\lVert a - p\rVert$, the radius of the inner circle
# ({numref}`fig-teach-triplets-triplet-geometry`):

# %% tags=["hide-input"]
run.figure(tc.plot_triplet_geometry(margin), "triplet_geometry",
           "One triplet in a two-dimensional embedding: the anchor (star), a positive (blue "
           "dot) at distance ‖a − p‖ (the segment; the red disc has that radius) and one "
           "negative in each zone the hinge defines, hard (red), semi-hard (orange) and easy "
           "(green). The dashed circle has squared radius ‖a − p‖² + m.",
           reproduces=None, data="a drawing, no data")

# %% [markdown]
# ## The hinge as a function of $\Delta$
#
# Everything the loss of one triplet depends on is $\Delta = \lVert a - p\rVert^2 -
# \lVert a - n\rVert^2$. The hinge is zero once $\Delta \le -m$: a triplet that is ordered with
# room to spare stops contributing, so the gradient concentrates on the triplets that are still
# wrong or barely right. The margin sets how much room is required
# ({numref}`fig-teach-triplets-hinge` draws the margins of the knob `triplet_margins`, those of
# the margin ablation, {doc}`05_ablation_margin`):

# %% tags=["hide-input"]
run.figure(tc.plot_hinge(margin_levels, paper_margin=PAPER_MARGIN), "hinge",
           f"The loss of one triplet against Δ for {len(margin_levels)} margins (colour: the "
           f"margin m, see the colour bar; the paper's margin drawn thick) and without the "
           f"hinge (dashed black).", reproduces=None, data="a drawing, no data")

# %% [markdown]
# :::{admonition} Try this
# :class: tip
# Draw other margins: `paper-lib reproduce --profile quick --only 22_teach_triplets
# -p triplet_margins=0.5,1.5,3`, then open `_build/executed/avdigits-quick/22_teach_triplets.ipynb`.
# Expect every hinge to be the same line shifted left: the kink sits at $\Delta = -m$, so a
# larger margin keeps triplets active that are already ordered by a wider gap. The dashed
# hinge-less line does not move (it is drawn for the paper's margin).
# :::
#
# ## Mining: which triplets enter the loss
#
# Training works on *minibatches*: $B$ paired clips (an audio and a visual clip each) per
# gradient step. In a minibatch every audio clip can be an anchor, every visual clip of its class
# a positive (its own partner included) and every visual clip of another class a negative. A
# minibatch with $n_c$ clips of class $c$ therefore holds
#
# $$
# \begin{aligned}
# |\mathcal{T}| &= \sum_{i=1}^{B} (\text{positives of } i)\cdot(\text{negatives of } i) \\
#                &= \sum_c n_c \cdot n_c \cdot (B - n_c)
# \end{aligned}
# $$ (eq-teach-triplet-count)
#
# valid triplets, the set $\mathcal{T}$. **Mining** chooses which of them enter the loss.
# **Batch-all** mining (the paper's) uses all of them; **batch-hard** mining keeps one per
# anchor, its farthest positive and closest negative; **random** mining (the paper's "random
# triplets" baseline) keeps one random positive and one random negative per anchor. The last
# two give $B$ triplets (every anchor has a negative unless the batch holds a single class).
# For a hand-made minibatch of six clips ({numref}`tbl-teach-triplets-hand-batch-counts`):

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
# The loss of a minibatch, $L$, is the mean of $\ell$ over its **active** triplets
# $\mathcal{T}^+ = \{t \in \mathcal{T} : \ell_t > 0\}$ (the library's choice, after
# {cite:t}`hermans2017defense`; 0 if none is active), and we will also watch the mean over
# **all** triplets, $\bar\ell$:
#
# $$
# L = \frac{1}{|\mathcal{T}^+|} \sum_{t \in \mathcal{T}^+} \ell_t ,
# \qquad
# \bar\ell = \frac{1}{|\mathcal{T}|} \sum_{t \in \mathcal{T}} \ell_t
#          = L \cdot \frac{|\mathcal{T}^+|}{|\mathcal{T}|} .
# $$ (eq-teach-triplet-batch-loss)
#
# Now one real minibatch of the build's dataset (described in {ref}`the dataset box <teach-dataset-box>`):
# $B$ = {glue:text}`teach_triplets_batch_b` clips (the knob `triplet_batch_size`; 40 is the
# library's default, about the authors' 560 batches of the VEGAS training set) drawn from the
# training rows of the first fold, embedded by the C-CCA (β = 0.2) stage and by the two branches
# *before* training (the same seeded initialisation `TNNCCCA` uses)
# ({numref}`tbl-teach-triplets-batch-counts-before`):

# %% tags=["hide-input"]
split = next(ds.splits([folds[0]]))
Xa_tr, Xv_tr, y_tr = ds.audio[split.train], ds.visual[split.train], ds.labels[split.train]
model = TNNCCCA(n_components=10, epochs=epochs, margin=margin, batch_size=batch_size,
                random_state=p.seed)
model.fit(Xa_tr, Xv_tr, y_tr)     # trained below; its C-CCA (β = 0.2) stage is used here
rows = tc.batch_rows(y_tr.size, batch_size, seed=p.seed)
y_batch = y_tr[rows]
Ha, Hv = model.ccca_.transform(Xa_tr[rows], Xv_tr[rows])
branch_a0, branch_v0 = tc.untrained_branches(Ha.shape[1], Hv.shape[1], seed=p.seed)
Za0, Zv0 = tc.branch_outputs(branch_a0, Ha), tc.branch_outputs(branch_v0, Hv)
before = tc.mined_counts(Za0, Zv0, y_batch, margin, seed=p.seed)
before.insert(0, "stage", "before training")
bc = before.set_index("miner")
run.glue("teach_triplets_batch_b", int(rows.size))
run.glue("teach_triplets_batch_classes", int(np.unique(y_batch).size))
for miner, key in (("batch-all", "all"), ("batch-hard", "hard"), ("random", "random")):
    run.glue(f"teach_triplets_before_{key}_triplets", int(bc.loc[miner, "triplets"]))
    run.glue(f"teach_triplets_before_{key}_active_fraction",
             float(bc.loc[miner, "active_fraction"]))
class_counts = ", ".join(map(str, np.bincount(y_batch, minlength=ds.n_classes)))
batch_setting = f"one batch of fold {folds[0]}'s training rows"
run.table(before, "batch_counts_before",
          f"One minibatch of {rows.size} clips from the training rows of fold {folds[0]} "
          f"(clips per class 0…{ds.n_classes - 1}: {class_counts}), embedded by the "
          f"C-CCA (β = 0.2) stage and the untrained branches: per miner, the triplets it "
          f"mines, the count the formula predicts, how many are active (hinge > 0) and the "
          f"mean hinge.",
          reproduces=None, over=batch_setting,
          shown=tc.mined_counts_view(before.drop(columns="stage")), digits=4)

# %% [markdown]
# The formula column is {eq}`eq-teach-triplet-count` (batch-all) or $B$ (the others); the
# miners of `paper_lib.methods.triplet` return exactly these counts (checked in the tests).
# This batch of {glue:text}`teach_triplets_batch_b` clips from
# {glue:text}`teach_triplets_batch_classes` classes gives
# {glue:text}`teach_triplets_before_all_triplets` batch-all triplets, of which a fraction
# {glue:text}`teach_triplets_before_all_active_fraction:.3f` is active before training: the
# untrained branches squeeze every clip into a small region (sigmoid outputs near 0.5), so all
# $\Delta$ are close to 0 and nearly every triplet sits on the hinge's slope. Batch-hard sees only
# {glue:text}`teach_triplets_before_hard_triplets` triplets, each the worst of its anchor.
#
# ### The batch-all loss in ten lines of numpy
#
# All of $\mathcal{T}$ at once, without a loop: the matrix $D$ of squared distances
# $D_{ij} = \lVert a_i - f_v(y_j)\rVert^2$ between the audio embedding $a_i$ of clip $i$ and the
# visual embedding $f_v(y_j)$ of clip $j$; a mask of same-class pairs; and a $B\times B\times B$ mask
# of valid triplets $(i, j, k)$ (anchor $i$, positive $j$, negative $k$):

# %%
za, zv, y, m = Za0, Zv0, y_batch, margin                     # (B, 10), (B, 10), (B,), margin
D = ((za[:, None, :] - zv[None, :, :]) ** 2).sum(axis=-1)   # (B, B): D[i, j] = ‖a_i − f_v(y_j)‖²
same = y[:, None] == y[None, :]                              # (B, B): j is a positive of i
valid = same[:, :, None] & ~same[:, None, :]                 # (B, B, B): (i, j, k) valid
ell = np.maximum(0.0, D[:, :, None] - D[:, None, :] + m)     # (B, B, B): ℓ(a_i, f_v(y_j), f_v(y_k))
ell = ell[valid]                                             # the batch-all triplets 𝒯
n_active = int((ell > 0).sum())                              # |𝒯⁺|: active, ℓ > 0
L = ell.sum() / max(n_active, 1)                             # the loss: mean over 𝒯⁺
mean_ell = ell.sum() / max(ell.size, 1)                      # ℓ̄: mean over all of 𝒯

# %% tags=["hide-input"]
# cross-check against the library's loss (paper_lib.methods.triplet.TripletMarginLoss)
numpy_stats = tc.BatchAllStats(float(L), float(mean_ell), int(ell.size), n_active)
library_stats = tc.batch_all_library(za, zv, y, m)
numpy_diff = tc.stats_difference(numpy_stats, library_stats)
if not numpy_diff < 1e-9:
    raise AssertionError(f"the numpy batch-all loss differs from the library's: {numpy_diff}")
run.glue("teach_triplets_numpy_diff", numpy_diff)
run.glue("teach_triplets_numpy_triplets", int(ell.size))
run.glue("teach_triplets_numpy_loss", float(L))
run.glue("teach_triplets_numpy_mean", float(mean_ell))

# %% [markdown]
# The $|\mathcal{T}|$ = {glue:text}`teach_triplets_numpy_triplets` triplets give
# $L$ = {glue:text}`teach_triplets_numpy_loss:.4f` and $\bar\ell$ =
# {glue:text}`teach_triplets_numpy_mean:.4f` (equal when every triplet is active); the library's
# `TripletMarginLoss`, which TNN-C-CCA trains with, gives the same counts and values (largest
# absolute difference {glue:text}`teach_triplets_numpy_diff:.1e`). The $B^3$ entries are why
# batch-all is affordable only for small minibatches.
#
# :::{admonition} Try this
# :class: tip
# Double the minibatch: `paper-lib reproduce --profile quick --only 22_teach_triplets
# -p triplet_batch_size=80`. Predict before you run: for fixed class shares, every $n_c$ doubles,
# so {eq}`eq-teach-triplet-count` grows about eightfold, while batch-hard and random mining
# still give $B$ triplets; the formula column still matches the miners exactly. The training
# run below also uses this $B$ (fewer, larger steps per epoch).
# :::
#
# ## Why the hinge matters
#
# The authors' last training script drops the hinge and minimises the mean of $\Delta + m$
# over the triplets. That loss is linear in the squared distances and unbounded below: it
# keeps rewarding triplets that are already ordered, and since the gradient of a squared
# distance grows with the distance, the pairs that are already far apart get the largest push.
# On a toy with three classes in the plane, two close together and one far away (the knobs
# `triplet_toy_per_class` and `triplet_toy_far`), we project both views onto one direction
# $e(\theta) = (\cos\theta, \sin\theta)$ (a 1-d embedding of fixed scale, as the sigmoid
# output of the branches is bounded) and ask which direction each loss prefers. To judge the
# result we use the A→V MAP (audio queries ranking the visual clips): 1 when every query ranks
# all clips of its class first, about the class share for a random ranking (the box "What MAP
# counts" of {doc}`21_teach_cluster_cca`; defined in full in {doc}`23_teach_protocol`)
# ({numref}`fig-teach-triplets-hinge-vs-hingeless`, {numref}`tbl-teach-triplets-hinge-optima`):

# %% tags=["hide-input"]
hinge_toy = tc.make_hinge_toy(n_per_class=toy_per_class, seed=p.seed, far=toy_far)
landscape = tc.projection_loss_landscape(hinge_toy, margin)
optima = tc.landscape_optima(landscape)
run.save_table(landscape, "hinge_landscape")
run.figure(tc.plot_loss_landscape(hinge_toy, landscape, optima), "hinge_vs_hingeless",
           "What each loss prefers on a toy of three classes in the plane. Top left: the toy "
           "(dots audio, crosses visual) and the direction θ each loss prefers; top right: the "
           "mean loss of the 1-d projection on e(θ) over all batch-all triplets, with the hinge "
           "(left axis) and without it (right axis); bottom: the 1-d audio embedding at each "
           "preferred direction, coloured by class.", reproduces=None, data=TOY_SETTING)
opt = optima.set_index("loss")
for loss in ("hinge", "hingeless"):
    run.glue(f"teach_triplets_{loss}_angle", float(opt.loc[loss, "angle"]))
    run.glue(f"teach_triplets_{loss}_violated", float(opt.loc[loss, "violated_fraction"]))
    run.glue(f"teach_triplets_{loss}_map", float(opt.loc[loss, "map_a2v"]))
run.table(optima, "hinge_optima",
          "The direction θ each loss prefers on the toy (its minimum over θ), the loss there, "
          "the fraction of batch-all triplets still violated (negative closer than the "
          "positive) and the A→V MAP of that 1-d embedding.", reproduces=None,
          data=TOY_SETTING, shown=tc.optima_view(optima), digits=tc.OPTIMA_DIGITS)

# %% [markdown]
# The hinge-less loss prefers $\theta$ = {glue:text}`teach_triplets_hingeless_angle:.0f`°: the
# direction that spreads the far class away from the others, where the loss can grow most,
# while the two close classes fall on top of each other; a fraction
# {glue:text}`teach_triplets_hingeless_violated:.3f` of the triplets stays violated (the
# negative closer than the positive) and the A→V MAP of that 1-d embedding is
# {glue:text}`teach_triplets_hingeless_map:.3f`. The hinge prefers
# $\theta$ = {glue:text}`teach_triplets_hinge_angle:.0f`°, with a violated fraction of
# {glue:text}`teach_triplets_hinge_violated:.3f` and a MAP of
# {glue:text}`teach_triplets_hinge_map:.3f`: once a triplet is satisfied by the margin it stops
# pulling, so the remaining, hard triplets decide. In a network with sigmoid outputs the
# hinge-less loss has one more way out: pushing the outputs into saturation at the corners of
# the unit cube, where its gradient vanishes for good. The library always applies the hinge.
#
# :::{admonition} Try this
# :class: tip
# Move the far class in: `paper-lib reproduce --profile quick --only 22_teach_triplets
# -p triplet_toy_far=1`. Predict: with no class far away, nothing dominates the hinge-less sum,
# and both losses should prefer nearly the same direction, with similar MAPs; with
# `-p triplet_toy_far=20` the hinge-less loss clings even harder to the first axis, while the
# hinge still finds a direction that orders every triplet.
# :::
#
# ## A short training run
#
# The library's `TNNCCCA` with the paper's settings, as in the pipeline diagram of chapter 20
# ({numref}`fig-teach-cca-2d-pipeline-diagram`): C-CCA (β = 0.2) with $k = 10$ components fitted
# on the training rows, then one branch per modality, trained with the batch-all triplet loss
# {eq}`eq-teach-triplet-batch-loss` (Adam, learning rate $10^{-3}$, minibatches of $B$ clips
# reshuffled every epoch). The model of the mining section was trained for `epochs` =
# {glue:text}`teach_triplets_epochs` epochs (the profile's value, the common knob `epochs`; the
# paper trains 10) on the training rows of the first fold only. Per epoch the library records
# the loss $L$ (averaged over the epoch's minibatches), the mean hinge $\bar\ell$ over all mined
# triplets and the fraction of them that were active
# ({numref}`fig-teach-triplets-training-history`, {numref}`tbl-teach-triplets-training-history`):

# %% tags=["hide-input"]
history = tc.history_frame(model.history_)
one_fit = f"fold {folds[0]}, one fit"
run.figure(tc.plot_training_history(history, ds.name), "training_history",
           f"Training TNN-C-CCA ({epochs} epochs, batch-all mining) on the training rows of "
           f"fold {folds[0]}: per epoch, the loss L (mean hinge over the active triplets) and "
           f"the mean hinge over all mined triplets (left), and the fraction of active "
           f"triplets (right), as recorded during training.", reproduces=None, over=one_fit)
run.table(history, "training_history",
          "The numbers of the figure above: per epoch, the loss L that is minimised (the mean "
          "hinge over the active triplets), the mean hinge over all mined triplets and the "
          "fraction of active triplets.", reproduces=None, over=one_fit,
          shown=tc.history_view(history), digits=4)
run.glue("teach_triplets_epochs", int(epochs))
run.glue("teach_triplets_n_train", int(y_tr.size))
run.glue("teach_triplets_batch_size", int(model.batch_size_))
run.glue("teach_triplets_first_active", float(history.active_fraction.iloc[0]))
run.glue("teach_triplets_last_active", float(history.active_fraction.iloc[-1]))
run.glue("teach_triplets_first_hinge", float(history.mean_hinge.iloc[0]))
run.glue("teach_triplets_last_hinge", float(history.mean_hinge.iloc[-1]))
run.glue("teach_triplets_first_loss", float(history.loss.iloc[0]))
run.glue("teach_triplets_last_loss", float(history.loss.iloc[-1]))
trend = ("lower" if history.active_fraction.iloc[-1] < history.active_fraction.iloc[0]
         else "not lower")
run.glue("teach_triplets_active_trend", trend)

# %% [markdown]
# **Why the loss column barely moves while the mean hinge falls.** From the first epoch to the
# last, the loss $L$ went from {glue:text}`teach_triplets_first_loss:.4f` to
# {glue:text}`teach_triplets_last_loss:.4f`, while the mean hinge $\bar\ell$ went from
# {glue:text}`teach_triplets_first_hinge:.4f` to {glue:text}`teach_triplets_last_hinge:.4f`. The
# two measure different things. $L$ averages $\ell$ over the **active** triplets only; $\bar\ell$
# averages over **all** mined triplets, the satisfied ones (with $\ell = 0$) included, so by
# {eq}`eq-teach-triplet-batch-loss` $\bar\ell = L \times$ (active fraction). As training
# proceeds, more triplets are satisfied: the active fraction went from
# {glue:text}`teach_triplets_first_active:.3f` to {glue:text}`teach_triplets_last_active:.3f`
# (so it is {glue:text}`teach_triplets_active_trend`), and it drags $\bar\ell$ down with it.
# The triplets that remain active are the hard ones the network has not fixed yet, and their
# average hinge need not fall (it can even rise): $L$ measures how badly the remaining
# violators violate, not how many there are. Read the active fraction, not $L$, to see
# progress. Averaging over the active triplets is deliberate: averaging over all of them would
# let the growing number of zeros shrink the gradient as training proceeds.
#
# Trained on {glue:text}`teach_triplets_n_train` clips in minibatches of at most
# {glue:text}`teach_triplets_batch_size`, the network also changes the minibatch of the mining
# section ({numref}`tbl-teach-triplets-batch-counts`, with the final weights):

# %% tags=["hide-input"]
Za1 = tc.branch_outputs(model.branch_audio_, Ha)
Zv1 = tc.branch_outputs(model.branch_visual_, Hv)
after = tc.mined_counts(Za1, Zv1, y_batch, margin, seed=p.seed)
after.insert(0, "stage", "after training")
counts = pd.concat([before, after], ignore_index=True)
run.table(counts, "batch_counts",
          "The minibatch of the mining section, before and after training (final weights, "
          "dropout off): per miner, the triplets mined, the formula's count, the active ones "
          "and the mean hinge.", reproduces=None, over=batch_setting,
          shown=tc.mined_counts_view(counts), digits=4)
ac = after.set_index("miner")
after_stats = tc.batch_all_library(Za1, Zv1, y_batch, margin)
run.glue("teach_triplets_after_all_active_fraction", float(ac.loc["batch-all", "active_fraction"]))
run.glue("teach_triplets_after_loss", after_stats.loss)
run.glue("teach_triplets_after_mean", after_stats.mean_hinge)

# %% [markdown]
# On this minibatch the batch-all active fraction is now
# {glue:text}`teach_triplets_after_all_active_fraction:.3f` (it was
# {glue:text}`teach_triplets_before_all_active_fraction:.3f` before training); the mean hinge over
# all its triplets is {glue:text}`teach_triplets_after_mean:.4f`, but the loss $L$, the mean over
# the active ones, is {glue:text}`teach_triplets_after_loss:.4f`: the same gap as in the training
# table. The epoch statistics are measured during training (dropout on, weights changing within
# the epoch); the minibatch counts with the final weights and dropout off. Retrieval quality is
# measured on the test folds, in the main table.
#
# :::{admonition} Try this
# :class: tip
# Ask for more room: `paper-lib reproduce --profile quick --only 22_teach_triplets
# -p triplet_margin=1.0` (or `-p epochs=6` for a longer run). Predict: with a larger margin more
# triplets stay active at every stage (the red curve stays higher), so the mean hinge falls more
# slowly; a longer run lets the active fraction fall further while $L$ stays roughly level.
# :::
#
# ## Summary
#
# - A triplet (audio anchor $a$, visual positive $p$, visual negative $n$) costs
#   $\ell = \max(0, \lVert a-p\rVert^2 - \lVert a-n\rVert^2 + m)$: zero once the negative is
#   farther than the positive by the margin $m$ in *squared* distance.
# - Easy negatives are inactive; semi-hard ones are ordered but within the margin; hard ones are
#   closer than the positive. Only active triplets ($\ell > 0$) give a gradient.
# - A minibatch with $n_c$ clips of class $c$ holds $\sum_c n_c^2 (B - n_c)$ batch-all triplets,
#   about $B^3$; batch-hard and random mining keep $B$. From the $B \times B$ matrix of squared
#   distances and two masks, the whole batch-all loss is a few lines of array code.
# - The library's loss $L$ is the mean over the active triplets; the mean over all triplets is
#   $L$ times the active fraction. As training satisfies triplets the active fraction falls,
#   while $L$, which only sees the remaining hard triplets, can stay flat.
# - Without the hinge the loss is linear in the squared distances and unbounded below: it
#   rewards pushing far classes farther and can leave close classes mixed.
#
# ## Exercises
#
# :::{exercise}
# :label: ex-teach-triplets-1
# Count the batch-all triplets (audio anchors, visual positives of the anchor's class, its own
# partner included, visual negatives of the other classes) of a minibatch whose class counts
# are $n_c$ = {glue:text}`teach_triplets_ex1_counts`. Which class contributes most, and why not
# the largest one by a factor of its size?
# :::
#
# ```{solution-start} ex-teach-triplets-1
# :class: dropdown
# ```

# %% tags=["hide-input"]
ex1_labels = tc.labels_from_counts(tc.EX_CLASS_COUNTS)
ex1_table = tc.class_count_table(ex1_labels)
run.glue("teach_triplets_ex1_counts", ", ".join(map(str, tc.EX_CLASS_COUNTS)))
run.glue("teach_triplets_ex1_b", int(sum(tc.EX_CLASS_COUNTS)))
run.glue("teach_triplets_ex1_answer", tc.exercise_batch_all_count(tc.EX_CLASS_COUNTS))
run.table(ex1_table, "ex1_counts",
          "Exercise 1: per class of the minibatch, the anchors n_c, the positives and "
          "negatives of each anchor and the batch-all triplets n_c²(B − n_c); last row: the "
          "totals.", reproduces=None, data="the exercise's class counts",
          shown=tc.class_count_view(ex1_table), digits=tc.CLASS_COUNT_DIGITS)

# %% [markdown]
# Each anchor of class $c$ has $n_c$ positives and $B - n_c$ negatives, and there are $n_c$
# such anchors, so class $c$ contributes $n_c \cdot n_c \cdot (B - n_c)$ triplets. Here
# $B$ = {glue:text}`teach_triplets_ex1_b` and the total is
# {glue:text}`teach_triplets_ex1_answer` (the table, class by class; the test enumerates every
# $(i, j, k)$ and finds the same count). The largest class contributes most, but not in
# proportion to its size: $n_c^2$ grows while its negatives $B - n_c$ shrink.
#
# ```{solution-end}
# ```
#
# :::{exercise}
# :label: ex-teach-triplets-2
# A minibatch of four clips has 1-d embeddings: audio $a$ = ({glue:text}`teach_triplets_ex2_audio`),
# visual $z$ = ({glue:text}`teach_triplets_ex2_visual`), labels
# ({glue:text}`teach_triplets_ex2_labels`); margin $m$ = {glue:text}`teach_triplets_ex2_margin`.
# List the batch-all triplets, compute $\ell$ for each and count the active ones.
# :::
#
# ```{solution-start} ex-teach-triplets-2
# :class: dropdown
# ```

# %% tags=["hide-input"]
ex2 = tc.exercise_triplet_table(tc.EX_TOY_AUDIO, tc.EX_TOY_VISUAL, tc.EX_TOY_LABELS,
                                tc.EX_TOY_MARGIN)
run.glue("teach_triplets_ex2_audio", ", ".join(f"{v:g}" for v in tc.EX_TOY_AUDIO))
run.glue("teach_triplets_ex2_visual", ", ".join(f"{v:g}" for v in tc.EX_TOY_VISUAL))
run.glue("teach_triplets_ex2_labels", ", ".join(map(str, tc.EX_TOY_LABELS)))
run.glue("teach_triplets_ex2_margin", tc.EX_TOY_MARGIN)
run.glue("teach_triplets_ex2_triplets", int(len(ex2)))
run.glue("teach_triplets_ex2_active", int(ex2.active.sum()))
run.table(ex2, "ex2_triplets",
          "Exercise 2: every batch-all triplet of the four-clip minibatch (clips numbered 1–4), "
          "its two squared distances, its loss ℓ and whether it is active.", reproduces=None,
          data="the exercise's four clips", shown=tc.triplet_table_view(ex2),
          digits=tc.TRIPLET_TABLE_DIGITS)

# %% [markdown]
# Two classes of two clips: $\sum_c n_c^2 (B - n_c) = 2 \cdot 4 \cdot 2$ =
# {glue:text}`teach_triplets_ex2_triplets` triplets. The table lists them with
# $\lVert a-p\rVert^2$, $\lVert a-n\rVert^2$ and $\ell$; {glue:text}`teach_triplets_ex2_active`
# are active. Note the anchors whose positive is farther than a negative: those triplets are
# hard, the active ones with $\Delta \le 0$ semi-hard.
#
# ```{solution-end}
# ```
#
# :::{exercise}
# :label: ex-teach-triplets-3
# Derive the gradient of $\ell(a, p, n)$ with respect to $a$, $p$ and $n$ for an active
# triplet. What is remarkable about $\partial\ell/\partial a$? Check your result on
# $a$ = {glue:text}`teach_triplets_ex3_a`, $p$ = {glue:text}`teach_triplets_ex3_p`,
# $n$ = {glue:text}`teach_triplets_ex3_n`, $m$ = {glue:text}`teach_triplets_ex3_margin`.
# :::
#
# ```{solution-start} ex-teach-triplets-3
# :class: dropdown
# ```

# %% tags=["hide-input"]
ex3 = tc.exercise_gradient(tc.EX_GRAD_A, tc.EX_GRAD_P, tc.EX_GRAD_N, tc.EX_GRAD_MARGIN)
run.glue("teach_triplets_ex3_a", tc.vector_text(tc.EX_GRAD_A))
run.glue("teach_triplets_ex3_p", tc.vector_text(tc.EX_GRAD_P))
run.glue("teach_triplets_ex3_n", tc.vector_text(tc.EX_GRAD_N))
run.glue("teach_triplets_ex3_margin", tc.EX_GRAD_MARGIN)
run.glue("teach_triplets_ex3_diff", float(ex3.difference.max()))
run.table(tc.gradient_view(ex3), "ex3_gradient",
          "Exercise 3: the gradient of ℓ with respect to a, p and n for the exercise's triplet, "
          "by the closed form and by torch's automatic differentiation.", reproduces=None,
          data="the exercise's triplet")

# %% [markdown]
# On an active triplet $\ell = \lVert a-p\rVert^2 - \lVert a-n\rVert^2 + m$, and
# $\nabla_a \lVert a - x\rVert^2 = 2(a - x)$, so
#
# $$
# \frac{\partial \ell}{\partial a} = 2(a-p) - 2(a-n) = 2(n - p), \qquad
# \frac{\partial \ell}{\partial p} = 2(p - a), \qquad
# \frac{\partial \ell}{\partial n} = 2(a - n);
# $$
#
# on an inactive triplet all three are 0. The gradient with respect to the anchor does not
# depend on the anchor: a gradient step moves $a$ along $p - n$, by an amount proportional to
# the positive–negative distance. A step pulls $p$ towards $a$ and pushes $n$ away, each in
# proportion to its distance, which is why far pairs get the largest push without a hinge.
# Autograd and the closed form agree (largest difference
# {glue:text}`teach_triplets_ex3_diff:.1e`; the test also checks them against finite
# differences).
#
# ```{solution-end}
# ```
#
# :::{exercise}
# :label: ex-teach-triplets-4
# Show that for one minibatch $\bar\ell = L \cdot |\mathcal{T}^+| / |\mathcal{T}|$. Use it to
# explain why, in {numref}`tbl-teach-triplets-training-history`, $L$ can stay flat while
# $\bar\ell$ falls. Check the identity on the four clips of exercise 2. Why is the epoch's
# "mean hinge / active fraction" only close to the epoch's loss, not equal?
# :::
#
# ```{solution-start} ex-teach-triplets-4
# :class: dropdown
# ```

# %% tags=["hide-input"]
ex4 = tc.batch_all_numpy(np.array(tc.EX_TOY_AUDIO)[:, None], np.array(tc.EX_TOY_VISUAL)[:, None],
                         np.array(tc.EX_TOY_LABELS), tc.EX_TOY_MARGIN)
ex4_epochs = tc.exercise_loss_identity(history)
run.glue("teach_triplets_ex4_loss", ex4.loss)
run.glue("teach_triplets_ex4_mean", ex4.mean_hinge)
run.glue("teach_triplets_ex4_fraction", ex4.active_fraction)
run.glue("teach_triplets_ex4_epoch_gap",
         float((ex4_epochs.loss - ex4_epochs.hinge_over_fraction).abs().max()))

# %% [markdown]
# The inactive triplets have $\ell = 0$, so $\sum_{\mathcal{T}} \ell_t =
# \sum_{\mathcal{T}^+} \ell_t = |\mathcal{T}^+|\, L$; dividing by $|\mathcal{T}|$ gives the
# identity. On exercise 2's clips: $L$ = {glue:text}`teach_triplets_ex4_loss:.4f`, active
# fraction {glue:text}`teach_triplets_ex4_fraction:.3f`, $\bar\ell$ =
# {glue:text}`teach_triplets_ex4_mean:.4f` $= L \times$ fraction. During training the active
# fraction falls, so $\bar\ell$ falls even if $L$ does not; $L$ is an average over a shrinking
# set of ever harder triplets. Per epoch the library records the plain mean of the minibatches'
# $L_b$ as the loss, but $\bar\ell$ divided by the active fraction is
# $\sum_b L_b |\mathcal{T}^+_b| / \sum_b |\mathcal{T}^+_b|$, which weights each minibatch by its
# number of active triplets; the two
# agree exactly only with one minibatch per epoch (here they differ by at most
# {glue:text}`teach_triplets_ex4_epoch_gap:.4f`).
#
# ```{solution-end}
# ```
#
# :::{exercise}
# :label: ex-teach-triplets-5
# Keep the trained network's embeddings of the mining section's minibatch fixed and change the
# margin. Predict how the number of active triplets, $L$ and $\bar\ell$ change as $m$ grows.
# Then change the knob for real, `-p triplet_margin=1.0` (see the Overview for the command), and
# predict what the *training* run does differently before you re-run.
# :::
#
# ```{solution-start} ex-teach-triplets-5
# :class: dropdown
# ```

# %% tags=["hide-input"]
ex5 = tc.exercise_active_by_margin(Za1, Zv1, y_batch, tc.EX_MARGINS)
run.glue("teach_triplets_ex5_first_fraction", float(ex5.active_fraction.iloc[0]))
run.glue("teach_triplets_ex5_last_fraction", float(ex5.active_fraction.iloc[-1]))
run.table(ex5, "ex5_margins",
          "Exercise 5: the trained network's minibatch (fixed embeddings) scored with several "
          "margins: the active triplets, their fraction, the loss L and the mean hinge over "
          "all triplets.", reproduces=None, over=batch_setting,
          shown=tc.active_by_margin_view(ex5), digits=tc.ACTIVE_BY_MARGIN_DIGITS)

# %% [markdown]
# Every $\ell = \max(0, \Delta + m)$ is non-decreasing in $m$, so the active set only grows
# with the margin (here from a fraction {glue:text}`teach_triplets_ex5_first_fraction:.3f` to
# {glue:text}`teach_triplets_ex5_last_fraction:.3f`) and $\bar\ell$ grows with it (each active
# triplet adds the margin's increase). $L$ grows too for moderate changes, but it is a mean over
# a changing set: newly active triplets enter with small $\ell$ and can pull it down. In a
# training run with a larger margin the network must open wider gaps, so more triplets stay
# active for longer: the active fraction falls more slowly and the final $\bar\ell$ is higher;
# whether retrieval improves is what the margin ablation ({doc}`05_ablation_margin`) measures.
#
# ```{solution-end}
# ```
#
# :::{exercise}
# :label: ex-teach-triplets-6
# Without the hinge, the batch loss is the mean of $\Delta + m$. Scale a 1-d embedding by
# $\alpha > 0$: how do the hinge-less loss, the mean hinge and the violated fraction change? Show
# that the hinge-less loss is unbounded below whenever the mean $\Delta$ is negative, and check
# on the toy at the hinge-less loss's preferred direction for $\alpha$ =
# {glue:text}`teach_triplets_ex6_scales`.
# :::
#
# ```{solution-start} ex-teach-triplets-6
# :class: dropdown
# ```

# %% tags=["hide-input"]
ex6 = tc.exercise_scaling(hinge_toy, float(opt.loc["hingeless", "angle"]), margin,
                          tc.EX_SCALES)
run.glue("teach_triplets_ex6_scales", ", ".join(f"{s:g}" for s in tc.EX_SCALES))
run.table(ex6, "ex6_scaling",
          "Exercise 6: the toy's 1-d embedding at the hinge-less loss's preferred direction, "
          "scaled by α: the hinge-less loss, the mean hinge and the fraction of violated "
          "triplets over all batch-all triplets.", reproduces=None, data=TOY_SETTING,
          shown=tc.scaling_view(ex6), digits=tc.SCALING_DIGITS)

# %% [markdown]
# Scaling every embedding by $\alpha$ multiplies every squared distance, hence every $\Delta$, by
# $\alpha^2$: the hinge-less loss becomes $\alpha^2\,\overline{\Delta} + m$, a parabola in $\alpha$ that goes
# to $-\infty$ when $\overline{\Delta} < 0$, whatever the embedding does to the hard triplets.
# The sign of each $\Delta$ does not change, so the violated fraction is the same at every
# scale (the table): the hinge-less loss can improve forever without fixing a single violated
# triplet. With the hinge, satisfied triplets give 0 and only the violated ones, whose
# $\ell$ grows like $\alpha^2$, remain: scaling up a wrong embedding is punished. This is why the
# branches' bounded (sigmoid) outputs matter for the hinge-less loss, and why it then saturates.
#
# ```{solution-end}
# ```
#
# :::{exercise}
# :label: ex-teach-triplets-7
# For a balanced minibatch ($C$ classes of $B/C$ clips), derive $|\mathcal{T}|$ as a function
# of $B$ and $C$. Compute it for $C$ = {glue:text}`teach_triplets_ex7_c` and $B$ =
# {glue:text}`teach_triplets_ex7_b1` and $B$ = {glue:text}`teach_triplets_ex7_b2`. Then set
# `-p triplet_batch_size=80`, predict the batch-all count of the mining section's minibatch,
# and re-run.
# :::
#
# ```{solution-start} ex-teach-triplets-7
# :class: dropdown
# ```

# %% tags=["hide-input"]
b1, b2 = tc.EX_BATCH_SIZES
run.glue("teach_triplets_ex7_c", tc.EX_N_CLASSES)
run.glue("teach_triplets_ex7_b1", b1)
run.glue("teach_triplets_ex7_b2", b2)
run.glue("teach_triplets_ex7_count1", tc.exercise_balanced_count(b1, tc.EX_N_CLASSES))
run.glue("teach_triplets_ex7_count2", tc.exercise_balanced_count(b2, tc.EX_N_CLASSES))

# %% [markdown]
# With $n_c = B/C$ for all $C$ classes, $|\mathcal{T}| = C \,(B/C)^2 (B - B/C) =
# B^3 (C-1)/C^2$: cubic in $B$. For $C$ = {glue:text}`teach_triplets_ex7_c`: $B$ =
# {glue:text}`teach_triplets_ex7_b1` gives {glue:text}`teach_triplets_ex7_count1` triplets, $B$ =
# {glue:text}`teach_triplets_ex7_b2` gives {glue:text}`teach_triplets_ex7_count2`, eight times
# as many. The mining section's minibatch is drawn at random, not balanced: its count is
# {eq}`eq-teach-triplet-count` with its own $n_c$ (the formula column), close to but not equal
# to the balanced value; after the re-run with $B = 80$ expect about eight times the count of
# $B = 40$, and still $B$ triplets for batch-hard and random mining.
#
# ```{solution-end}
# ```

# %% tags=["remove-cell"]
run.finish()
