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
# # The evaluation protocol
#
# A retrieval number is only as good as the protocol behind it. The paper {cite:p}`zeng2020deep`
# reports mean average precision (MAP) over 5-fold cross-validation, for audio-to-visual (A→V)
# and visual-to-audio (V→A) queries, with cosine similarity. This chapter makes every step of
# that protocol concrete: what average precision counts, worked by hand on a ranking of ten
# items and in ten lines of numpy on a real score row; what a random ranking scores; why the
# ranking must not be truncated; why no number may depend on how tied items are ordered; why
# the query's own partner counts; how the precision-recall curves are defined; and how the folds
# keep every fitted object away from the test data, with, for each pitfall of public code, where
# the library guards against it and which test checks it. All metrics come from
# `paper_lib.metrics`; the one exception is the flawed truncated MAP, written in
# `paper_lib.report.teach_protocol` only to measure how much it inflates.
#
# ## Overview
#
# **Prerequisites.** The three methods this book scores: CCA ({doc}`20_teach_cca_2d`),
# Cluster-CCA with its two variants C-CCA (Rasiwasia) and C-CCA (β = 0.2)
# ({doc}`21_teach_cluster_cca`) and the triplet network of TNN-C-CCA ({doc}`22_teach_triplets`);
# the dataset the book is built on ({ref}`the dataset box <teach-dataset-box>` of chapter
# 20); precision as the share of relevant items among those retrieved.
#
# **You will learn.**
#
# - compute the average precision (AP) of a ranking by hand, and in ten lines of numpy from a
#   row of scores, and check both against the library;
# - derive the expected AP of a random ranking and explain why it lies a little above the class
#   share;
# - explain why a truncated "MAP@K" is a different quantity from the protocol's MAP, and compute
#   both for a given ranking;
# - predict how the library scores tied items, and why no number may depend on gallery order;
# - explain how the folds keep every fitted object away from the held-out fold, and predict what
#   leaks when a scaler or Cluster-CCA is fitted on it.
#
# Notation: {doc}`../book/notation`.
#
# In this chapter $j$ is a rank (the notation's $\mathrm{P}@j$, $\mathrm{rel}_j$), $K$ the
# cut-off of a truncated ranking and $Q$ the number of queries ($k$ stays the number of
# components).
#
# To re-run the chapter with other knobs: `paper-lib reproduce --profile quick --only 23_teach_protocol
# -p protocol_cutoff=5` (the knobs are `protocol_cutoff`, `protocol_random_gallery`,
# `protocol_random_relevant`, `protocol_fold` and `protocol_leak_share`), then open
# `_build/executed/avdigits-quick/23_teach_protocol.ipynb` in Jupyter. The line below states the values
# this page ran with.

# %% tags=["parameters"]
dataset = "avdigits-pretrained"
profile = "quick"
seed = 0
folds = "all"
data_dir = ""
protocol_cutoff = None
protocol_random_gallery = None
protocol_random_relevant = None
protocol_fold = None
protocol_leak_share = None

# %% tags=["remove-input"]
# paper_lib: after 02_main_table (reads the main table's fits from the experiment cache)
import numpy as np
import pandas as pd

from paper_lib.experiment import Config, run_configs
from paper_lib.methods.registry import get_method
from paper_lib.metrics import average_precision, mean_average_precision, pr_curve
from paper_lib.pipeline.notebook import start
from paper_lib.report import teach_protocol as tc

run = start("teach_protocol", dataset=dataset, profile=profile, seed=seed, folds=folds,
            data_dir=data_dir)
ds = run.raw_features_dataset()  # the raw-feature avdigits (pixels a reader can see)
p = run.params
epochs = p.epochs
cutoff = run.knob(tc.PROTOCOL_CUTOFF, protocol_cutoff)
G_toy, R_toy = tc.check_random_toy(run.knob(tc.PROTOCOL_RANDOM_GALLERY, protocol_random_gallery),
                                   run.knob(tc.PROTOCOL_RANDOM_RELEVANT, protocol_random_relevant))
fold = tc.check_fold(run.knob(tc.PROTOCOL_FOLD, protocol_fold), ds.n_folds)
leak_share = run.knob(tc.PROTOCOL_LEAK_SHARE, protocol_leak_share)
C_CCA, TNN = get_method("c_cca").paper_name, get_method("tnn_c_cca").paper_name
KEYS = {C_CCA: "c_cca", TNN: "tnn_c_cca"}            # display name -> glue-key part

# %% [markdown]
# ## Queries, galleries and folds
#
# The words first. The book's dataset (described in
# {ref}`the dataset box <teach-dataset-box>` of chapter 20; this page was built on {glue:text}`teach_protocol_ds_name`) is a set of audio–visual clips, each with a
# class.
#
# - A **query** $q$ is one test clip of one modality: an audio clip for A→V retrieval, an image
#   for V→A.
# - The **gallery** is every test clip of the *other* modality, $G$ items. The system ranks the
#   whole gallery by decreasing similarity to the query (the cosine of the two embeddings).
# - A gallery item is **relevant** to a query when it has the query's class; $R$ items are.
# - A **fold** $f$ is one of the $F$ = {glue:text}`teach_protocol_n_folds` class-balanced parts
#   the clips are split into. In each round one fold is **held out**: it is the test fold, whose
#   clips are only embedded and ranked, never used to fit anything; the other $F-1$ folds are the
#   training folds. Every fold is held out once, and a reported number is the mean (and standard
#   deviation) over the $F$ rounds ({numref}`fig-teach-protocol-fold-diagram`).

# %% tags=["remove-input"]
run.figure(tc.plot_fold_diagram(ds.n_folds), "fold_diagram",
           f"The {ds.n_folds} rounds of the cross-validation: in each round (row) one fold is "
           f"held out as the test fold (red) and the others are the training folds (blue).",
           reproduces=None, over=f"{ds.n_folds} folds")
run.glue("teach_protocol_n_folds", int(ds.n_folds))

# %% [markdown]
# (teach-protocol-map)=
# ## What MAP counts
#
# A query ranks the $G$ gallery items by decreasing similarity. Let $\mathrm{rel}_j = 1$ when the
# item at rank $j$ is relevant (else 0), $\mathrm{P}@j$ the fraction of relevant items among the
# first $j$, and $R$ the number of relevant items in the whole gallery. Average precision and
# its mean over the $Q$ queries are
#
# $$
# \begin{aligned}
# \mathrm{AP} &= \frac{1}{R} \sum_{j=1}^{G} \mathrm{P}@j \cdot \mathrm{rel}_j, \\
# \mathrm{MAP} &= \frac{1}{Q} \sum_{q=1}^{Q} \mathrm{AP}_q .
# \end{aligned}
# $$ (eq-teach-protocol-ap)
#
# AP is the average of the precision measured at the rank of each relevant item: 1 when all $R$
# relevant items come first, small when they come last. Here is a hand-made ranking of ten
# gallery items, five of them relevant ({numref}`fig-teach-protocol-hand-ap-steps`,
# {numref}`tbl-teach-protocol-hand-ap-steps`):

# %% tags=["hide-input"]
steps = tc.ap_steps()
S_hand, q_hand, g_hand = tc.hand_toy()
ap_lib = float(average_precision(S_hand, q_hand, g_hand)[0])
ap_exact = tc.hand_ap()
run.glue("teach_protocol_hand_ap", ap_lib)
run.glue("teach_protocol_hand_ap_fraction", f"{ap_exact.numerator}/{ap_exact.denominator}")
run.glue("teach_protocol_hand_r", int(steps.rel_k.sum()))
run.glue("teach_protocol_hand_sum", float(steps.precision_x_rel.sum()))
hand = "a hand-made ranking"
run.figure(tc.plot_ap_steps(steps, ap_lib), "hand_ap_steps",
           f"P@j at every rank j of a hand-made ranking of {len(steps)} gallery items, the "
           f"ranks of the relevant items in green with their P@j; dashed: the AP, the mean of "
           f"the green bars.", reproduces=None, data=hand)
run.table(steps, "hand_ap_steps",
          "AP step by step on the same ranking: per rank j, whether the item is relevant "
          "(rel_j), the hits in the top j, P@j and the term P@j · rel_j that AP sums.",
          reproduces=None, data=hand, shown=tc.steps_view(steps), digits=4)

# %% [markdown]
# The column $\mathrm{P}@j\cdot\mathrm{rel}_j$ sums to {glue:text}`teach_protocol_hand_sum:.4f`;
# divided by $R$ = {glue:text}`teach_protocol_hand_r` it gives AP =
# {glue:text}`teach_protocol_hand_ap_fraction` = {glue:text}`teach_protocol_hand_ap:.4f`, the
# value `paper_lib.metrics.average_precision` returns for this ranking (the tests compare the
# two exactly).
#
# ## AP from one row of scores, in numpy
#
# On real data a query does not come with a ranking but with a row of the score matrix $S$: the
# similarity of the query to each of the $G$ gallery items. The models below are C-CCA (β = 0.2)
# and TNN-C-CCA (batch-all), fitted with fold {glue:text}`teach_protocol_fold` held out (on the
# other folds; the fits are shared with the other chapters through the experiment cache); the
# A→V queries are the held-out fold's {glue:text}`teach_protocol_ds_n_test` audio clips and the
# gallery its {glue:text}`teach_protocol_ds_n_test` images.

# %% tags=["remove-input"]
configs = [Config("c_cca", dim=10, epochs=epochs), Config("tnn_c_cca", dim=10, epochs=epochs)]
records, results = run_configs(ds, configs, folds=[fold], seeds=[p.seed], cache=True)
scores = {get_method(res.method).paper_name: (res.scores("a2v"), res.labels)
          for res in results}             # (n_test, n_test) A→V, ranked as the run's MAP was
n_test = int(results[0].labels.size)
one_fit = f"fold {fold} held out, seed {p.seed}"
run.glue("teach_protocol_ds_name", ds.name)
run.glue("teach_protocol_ds_n_test", n_test)
run.glue("teach_protocol_fold", fold)

# %% [markdown]
# These ten lines compute AP from one score row: rank the gallery, then average the cumulative
# precision at the relevant ranks ({eq}`eq-teach-protocol-ap`).

# %%
def ap_from_scores(s, rel):
    """AP of one query: s (G,) its scores over the gallery, rel (G,) 1 where relevant."""
    order = np.argsort(-s, kind="stable")      # rank the gallery, highest score first
    rel_j = rel[order]                         # rel_j at the ranks j = 1..G
    hits = np.cumsum(rel_j)                    # relevant items among the first j
    p_at_j = hits / np.arange(1, s.size + 1)   # P@j
    R = rel_j.sum()                            # relevant items in the whole gallery
    return (p_at_j * rel_j).sum() / R          # (1/R) sum_j P@j rel_j


S, y = scores[C_CCA]
query = 0                                      # the first audio clip of the test fold
ap_numpy = ap_from_scores(S[query], (y == y[query]).astype(int))

# %% [markdown]
# The next cell repeats the computation for every query whose scores hold no tie (ties are the
# subject of a later section) and compares it with the library:

# %%
ok = tc.rows_without_ties(S)
ap_rows = np.array([ap_from_scores(S[i], (y == y[i]).astype(int)) for i in np.flatnonzero(ok)])
max_diff = float(np.max(np.abs(ap_rows - average_precision(S, y, y)[ok])))
assert max_diff < 1e-12, f"numpy and library AP differ by {max_diff}"

# %% tags=["remove-cell"]
run.glue("teach_protocol_np_ap_query", float(ap_numpy))
ap_library = average_precision(S[query:query + 1], y[query:query + 1], y)[0]
run.glue("teach_protocol_np_ap_library", float(ap_library))
run.glue("teach_protocol_np_rows", int(ok.sum()))
run.glue("teach_protocol_np_max_diff", max_diff)

# %% [markdown]
# The first query's AP is {glue:text}`teach_protocol_np_ap_query:.4f` from the ten lines and
# {glue:text}`teach_protocol_np_ap_library:.4f` from `average_precision`; over the
# {glue:text}`teach_protocol_np_rows` tie-free queries the largest difference is
# {glue:text}`teach_protocol_np_max_diff:.1e` (rounding only; `tests/test_teach_protocol_exercises.py`
# runs the same cross-check on the function above).
#
# ## A random ranking scores about the class share
#
# What does a useless model score? If the gallery is ranked in a uniformly random order, each
# rank holds a relevant item with probability $R/G$, so one might expect an AP of $R/G$, the
# class share. The exact expectation ({numref}`ex-teach-protocol-2` derives it) is a
# little higher,
#
# $$
# \mathbb E[\mathrm{AP}] = \frac{R-1}{G-1} + \frac{H_G\,(G-R)}{G\,(G-1)},
# \qquad H_G = 1 + \tfrac12 + \dots + \tfrac1G ,
# $$ (eq-teach-protocol-random-ap)
#
# because the first relevant item found by luck near the top is weighted by a precision close
# to 1. {numref}`tbl-teach-protocol-random-ranking` compares it with a simulation through the
# library, for a toy gallery of $G$ = {glue:text}`teach_protocol_random_g` items with $R$ =
# {glue:text}`teach_protocol_random_r` relevant, and for the test fold's A→V queries:

# %% tags=["hide-input"]
q_toy, g_toy = tc.toy_labels(G_toy, R_toy)
random_rows = pd.DataFrame([
    tc.random_ranking_row(f"toy: G = {G_toy}, R = {R_toy}", q_toy, g_toy, seed=p.seed),
    tc.random_ranking_row(f"the test fold (fold {fold}), A→V", y, y, seed=p.seed)])
run.table(random_rows, "random_ranking",
          f"What a random ranking scores: the class share R/G, the exact expected AP of a "
          f"uniformly random ranking, the mean AP of {tc.RANDOM_DRAWS} simulated random rankings "
          f"scored by the library, and the library's AP when every score is tied. The toy row "
          f"follows the knobs protocol_random_gallery and protocol_random_relevant.",
          reproduces=None, over=one_fit, shown=tc.random_ranking_view(random_rows), digits=4)
toy_row, fold_row = random_rows.iloc[0], random_rows.iloc[1]
run.glue("teach_protocol_random_g", G_toy)
run.glue("teach_protocol_random_r", R_toy)
run.glue("teach_protocol_random_share", float(toy_row.class_share))
run.glue("teach_protocol_random_exact", float(toy_row.expected_ap))
run.glue("teach_protocol_random_sim", float(toy_row.simulated_ap))
run.glue("teach_protocol_random_fold_share", float(fold_row.class_share))
run.glue("teach_protocol_random_fold_exact", float(fold_row.expected_ap))
run.glue("teach_protocol_random_fold_sim", float(fold_row.simulated_ap))

# %% [markdown]
# On the toy the expected AP is {glue:text}`teach_protocol_random_exact:.4f` against a class
# share of {glue:text}`teach_protocol_random_share:.4f` (simulated:
# {glue:text}`teach_protocol_random_sim:.4f`); on the test fold's larger gallery the excess
# shrinks ({glue:text}`teach_protocol_random_fold_exact:.4f` against
# {glue:text}`teach_protocol_random_fold_share:.4f`): the excess over $R/G$ is exactly
# $\frac{(G-R)(H_G-1)}{G(G-1)}$, of order $\ln G/G$.
# A model must beat this level, not zero. The last column is the library's AP when every score
# is tied (a collapsed embedding): exactly the class share, by the tie rule of a later section.
#
# :::{admonition} Try this
# :class: tip
# Set the toy to one relevant item: `paper-lib reproduce --profile quick --only 23_teach_protocol
# -p protocol_random_relevant=1`, then open
# `_build/executed/avdigits-quick/23_teach_protocol.ipynb`. With $R = 1$, AP is the reciprocal
# of the rank of the one relevant item, and its average over random ranks is $H_G/G$: expect the
# toy row's expected AP to rise far above its class share $1/G$. Then try
# `-p protocol_random_relevant=40` (the default $G$): every item is relevant and every column of
# the toy row becomes 1.
# :::
#
# ## Why the full ranking
#
# A common shortcut stops the ranking at a cut-off $K$ and divides by the number of hits found
# there:
#
# $$
# \mathrm{AP@}K_{\text{trunc}} = \frac{1}{\sum_{j \le K} \mathrm{rel}_j}
#                                \sum_{j=1}^{K} \mathrm{P}@j \cdot \mathrm{rel}_j .
# $$ (eq-teach-protocol-truncated)
#
# The relevant items below rank $K$ disappear from the denominator, so a ranking that places a
# few relevant items first scores high however many it misses. This is **not** the paper's
# metric and the book never reports it; `truncated_map_pitfall` exists only for this
# comparison. On the hand-made ranking ({numref}`tbl-teach-protocol-hand-truncation`):

# %% tags=["hide-input"]
toy_trunc = tc.truncation_table(S_hand, q_hand, g_hand, list(range(1, 11)))
run.table(toy_trunc, "hand_truncation",
          "The protocol's MAP (full ranking, the same for every cut-off K) beside the truncated "
          "score for every cut-off K on the hand-made ranking.", reproduces=None, data=hand,
          shown=tc.truncation_view(toy_trunc), digits=4)
run.glue("teach_protocol_hand_trunc_k1", float(toy_trunc.truncated_map_pitfall.iloc[0]))
run.glue("teach_protocol_hand_trunc_k5", float(toy_trunc.truncated_map_pitfall.iloc[4]))

# %% [markdown]
# At $K = 1$ the truncated score is {glue:text}`teach_protocol_hand_trunc_k1:.3f`, at $K = 5$
# {glue:text}`teach_protocol_hand_trunc_k5:.3f`, against an AP of
# {glue:text}`teach_protocol_hand_ap:.3f`; only at $K = G$, when every relevant item has been
# found, do the two agree.
#
# On real test embeddings a query has many relevant items (a whole class of the test fold), so
# the top $K$ can only ever hold a small share of them. Below, the same two models and A→V
# queries as above ({numref}`fig-teach-protocol-dataset-truncation`,
# {numref}`tbl-teach-protocol-dataset-truncation`):

# %% tags=["hide-input"]
cut = min(cutoff, n_test)
ks = sorted({k for k in (1, 5, 10, 20, 50, 100, 200, 500) if k < n_test} | {n_test, cut})
trunc_tables = {}
for name, (S_m, y_m) in scores.items():
    t = tc.truncation_table(S_m, y_m, y_m, ks)
    t.insert(0, "method", name)
    trunc_tables[name] = t
trunc_all = pd.concat(trunc_tables.values(), ignore_index=True)
run.figure(tc.plot_truncation({f"{name}, A→V": t for name, t in trunc_tables.items()},
                              cutoff=cut),
           "dataset_truncation",
           f"The truncated score against the cut-off K (log scale; red) beside the protocol's "
           f"MAP over the full ranking (dashed), for the A→V queries of {C_CCA} (left) and "
           f"{TNN} (right) on the {n_test} test clips of fold {fold}; dotted: the cut-off "
           f"K = {cut} quoted in the text (knob protocol_cutoff).",
           reproduces=None, over=one_fit)
run.table(trunc_all, "dataset_truncation",
          f"The truncated score of the figure above for each cut-off K; at K = {n_test}, the "
          f"whole test fold, it equals the protocol's MAP.", reproduces=None, over=one_fit,
          shown=tc.truncation_view(trunc_all), digits=4)
run.glue("teach_protocol_cutoff", cut)
for name, key in KEYS.items():
    t = trunc_tables[name].set_index("k")
    run.glue(f"teach_protocol_ds_{key}_map", float(t.map_full_ranking.iloc[0]))
    run.glue(f"teach_protocol_ds_{key}_trunc_cutoff", float(t.loc[cut, "truncated_map_pitfall"]))
    run.glue(f"teach_protocol_ds_{key}_trunc10",
             float(t.loc[min(10, n_test), "truncated_map_pitfall"]))
    run.glue(f"teach_protocol_ds_{key}_trunc100",
             float(t.loc[min(100, n_test), "truncated_map_pitfall"]))

# %% [markdown]
# With {glue:text}`teach_protocol_ds_n_test` test clips, C-CCA (β = 0.2) has MAP
# {glue:text}`teach_protocol_ds_c_cca_map:.3f` but a truncated "MAP@K" at $K$ =
# {glue:text}`teach_protocol_cutoff` of {glue:text}`teach_protocol_ds_c_cca_trunc_cutoff:.3f`
# (and {glue:text}`teach_protocol_ds_c_cca_trunc100:.3f` at $K = 100$); TNN-C-CCA (batch-all)
# has MAP {glue:text}`teach_protocol_ds_tnn_c_cca_map:.3f` against
# {glue:text}`teach_protocol_ds_tnn_c_cca_trunc_cutoff:.3f` at $K$ =
# {glue:text}`teach_protocol_cutoff` and {glue:text}`teach_protocol_ds_tnn_c_cca_trunc100:.3f`
# at $K = 100$. The truncated numbers are not comparable with the paper's, nor with each other
# across values of $K$.
#
# :::{admonition} Try this
# :class: tip
# Quote the truncated score at the first result only: `paper-lib reproduce --profile quick --only
# 23_teach_protocol -p protocol_cutoff=1`, then open
# `_build/executed/avdigits-quick/23_teach_protocol.ipynb`. At $K = 1$ a query scores 1 if its
# first result is relevant and 0 otherwise, so the truncated "MAP@1" is the share of queries
# whose first result is right (P@1): expect it well above the MAP for a good model, and the
# dotted line of {numref}`fig-teach-protocol-dataset-truncation` to move to the left edge.
# :::
#
# ## Tied scores: no number may depend on gallery order
#
# When several gallery items have exactly the same score, a ranking must still list them in some
# order, and a metric read off that order depends on where the relevant items happen to sit in
# the gallery. Six tied items, two of them relevant, listed in two gallery orders
# ({numref}`tbl-teach-protocol-tie-demo`):

# %% tags=["hide-input"]
ties = tc.tie_demo()
run.table(ties, "tie_demo",
          "One query and six gallery items with the same score, two of them relevant, listed "
          "in two orders: the AP of a ranking that keeps tied items in gallery order, and the "
          "library's AP and P@2, which read the tie group as a whole.", reproduces=None,
          data="a hand-made example", shown=tc.tie_view(ties))
run.glue("teach_protocol_tie_first", float(ties.ap_gallery_order_rule.iloc[0]))
run.glue("teach_protocol_tie_last", float(ties.ap_gallery_order_rule.iloc[1]))
run.glue("teach_protocol_tie_ap", float(ties.ap.iloc[0]))
collapsed = tc.collapsed_embedding_map(n_classes=10)
run.glue("teach_protocol_collapsed_old", collapsed["map_gallery_order_rule"])
run.glue("teach_protocol_collapsed_map", collapsed["map"])
for name, key in KEYS.items():
    run.glue(f"teach_protocol_ds_{key}_tied", tc.tied_query_fraction(scores[name][0]))

# %% [markdown]
# Keeping tied items in gallery order (a stable sort) gives the same scores an AP of
# {glue:text}`teach_protocol_tie_first:.3f` or {glue:text}`teach_protocol_tie_last:.3f`. Test
# folds are stored class by class, so that rule even rewards a collapsed embedding that scores
# every pair alike: with ten balanced classes its MAP would be
# {glue:text}`teach_protocol_collapsed_old:.3f`, not the chance level
# {glue:text}`teach_protocol_collapsed_map:.3f` the library gives it. `paper_lib.metrics`
# therefore reads a ranking only through its **tie groups** (the items sharing one score; the
# module docstring of `paper_lib.metrics.retrieval` states the rules):
#
# - AP treats a tie group as one threshold, as scikit-learn's `average_precision_score` does: a
#   group $g$ holding $R_g$ of the $R$ relevant items contributes
#   $\frac{R_g}{R}\cdot\frac{\text{hits through the group}}{\text{items through the group}}$;
# - P@K, R@K, nDCG@K, the PR curves and VM-NET's pair recall are the expectation over a random
#   order of the tied items (a group straddling the cut-off $K$ counts with the share of it
#   inside the top $K$);
# - MRR is the exact expected reciprocal rank.
#
# Both listings above get AP = P@2 = {glue:text}`teach_protocol_tie_ap:.3f`, the share of
# relevant items. Exact ties are rare with continuous embeddings (here the fraction of A→V
# queries with at least one tied score is {glue:text}`teach_protocol_ds_c_cca_tied:.3f` for
# C-CCA (β = 0.2) and {glue:text}`teach_protocol_ds_tnn_c_cca_tied:.3f` for TNN-C-CCA
# (batch-all)) but common with saturated or quantised outputs, and the rule for binary codes
# compared by Hamming distance.
#
# ## The query's own pair counts as relevant
#
# In a paired test fold the visual partner of an audio query has the query's class, so it is
# one of the $R$ relevant items, and the protocol keeps it in the gallery. Removing it from each
# query's gallery measures how much it contributes ({numref}`tbl-teach-protocol-own-partner`):

# %% tags=["hide-input"]
partner = pd.DataFrame([{"method": name, "map_protocol": mean_average_precision(S_m, y_m, y_m),
                         "map_without_own_partner": tc.map_without_partner(S_m, y_m)}
                        for name, (S_m, y_m) in scores.items()])
run.table(partner, "own_partner",
          f"The A→V MAP of {C_CCA} and {TNN} on the test clips of fold {fold} as the protocol "
          f"computes it, and with each query's own partner removed from its gallery.",
          reproduces=None, over=one_fit, shown=tc.partner_view(partner), digits=4)
pt = partner.set_index("method")
for name, key in KEYS.items():
    run.glue(f"teach_protocol_ds_{key}_map_without_partner",
             float(pt.loc[name, "map_without_own_partner"]))

# %% [markdown]
# Without its own partner, C-CCA (β = 0.2)'s MAP would be
# {glue:text}`teach_protocol_ds_c_cca_map_without_partner:.3f` (protocol:
# {glue:text}`teach_protocol_ds_c_cca_map:.3f`) and TNN-C-CCA (batch-all)'s
# {glue:text}`teach_protocol_ds_tnn_c_cca_map_without_partner:.3f` (protocol:
# {glue:text}`teach_protocol_ds_tnn_c_cca_map:.3f`). The partner is one of the $R$ relevant
# items, so its weight shrinks as the classes grow; but the difference depends on where each
# model ranks the true partner, so the rule has to be fixed before numbers are compared.
#
# ## Precision-recall curves
#
# The paper's PR curves are defined here at rank cut-offs: for every $j = 1, \dots, G$, the
# precision $\mathrm{P}@j$ and the recall $\sum_{i\le j}\mathrm{rel}_i / R$ are computed per
# query from the same ranking as MAP, then each is averaged over the queries **at the same
# $j$**:
#
# $$
# \begin{aligned}
# \bar P(j) &= \frac1Q \sum_q \mathrm{P}_q@j, \\
# \overline{\mathrm{Rec}}(j) &= \frac1Q \sum_q \frac{\sum_{i\le j} \mathrm{rel}_{q,i}}{R_q} .
# \end{aligned}
# $$ (eq-teach-protocol-pr)
#
# Every curve ends at recall 1 with a precision equal to the mean share of relevant items in
# the gallery, $\frac1Q\sum_q R_q / G$, whatever the method: there the whole gallery has been
# retrieved ({numref}`fig-teach-protocol-dataset-pr-curves`; {numref}`ex-teach-protocol-6`).

# %% tags=["hide-input"]
curves = {name: pr_curve(S_m, y_m, y_m) for name, (S_m, y_m) in scores.items()}
prevalence = tc.mean_prevalence(y, y)
run.figure(tc.plot_pr_curves(curves, prevalence), "dataset_pr_curves",
           f"Precision against recall of the A→V queries of {C_CCA} and {TNN} on the test "
           f"clips of fold {fold}, both averaged over the queries at the same cut-off j; "
           f"dotted: the class prevalence of the test fold.", reproduces=None, over=one_fit)
pr_rows = pd.DataFrame([{"method": name, "k": k + 1, "precision": pr[0][k], "recall": pr[1][k]}
                        for name, pr in curves.items() for k in range(pr[0].size)])
run.save_table(pr_rows, "dataset_pr_curves")
run.glue("teach_protocol_prevalence", prevalence)
run.glue("teach_protocol_pr_end_tnn", float(curves[TNN][0][-1]))

# %% [markdown]
# The TNN-C-CCA (batch-all) curve ends at precision
# {glue:text}`teach_protocol_pr_end_tnn:.4f`, the class prevalence
# {glue:text}`teach_protocol_prevalence:.4f` of this test fold. This definition is the one every
# PR curve of the book uses.
#
# ## Nothing fitted sees the held-out fold
#
# In every round, everything that is *fitted* (feature scalers, means, Cluster-CCA, the
# networks, any model selection) uses the training folds only; the held-out fold is embedded
# view by view and ranked once ({numref}`fig-teach-protocol-fold-diagram`). What goes wrong
# otherwise? {numref}`tbl-teach-protocol-leakage` fits one small pipeline, a z-score scaler per
# view followed by C-CCA (β = 0.2), three times on fold {glue:text}`teach_protocol_fold`: by the
# protocol, with the scaler also fitted on a share {glue:text}`teach_protocol_leak_share:.0%` of
# the held-out fold's clips (their features), and with C-CCA (β = 0.2) also fitted on the same
# held-out clips (their features and labels). The pipeline's scaler is there for the
# demonstration: the book's C-CCA (β = 0.2) has none, so its MAP differs from the one above.

# %% tags=["hide-input"]
split = next(ds.splits([fold]))
leak = tc.leakage_table(ds.audio, ds.visual, ds.labels, split.train, split.test,
                        share=leak_share, seed=p.seed)
run.table(leak, "leakage",
          f"The A→V MAP on the held-out fold of a z-score scaler followed by {C_CCA}, fitted by "
          f"the protocol and with a share of the held-out fold leaking into the scaler (its "
          f"features) or into {C_CCA} (its features and labels); the share is the knob "
          f"protocol_leak_share.", reproduces=None, over=f"fold {fold} held out",
          shown=tc.leakage_view(leak, leak_share), digits=4)
lk = leak.set_index("setting").map_a2v
run.glue("teach_protocol_leak_share", float(leak_share))
run.glue("teach_protocol_leak_protocol", float(lk["protocol"]))
run.glue("teach_protocol_leak_scaler", float(lk["scaler"]))
run.glue("teach_protocol_leak_c_cca", float(lk["c_cca"]))
run.glue("teach_protocol_leak_scaler_diff", float(lk["scaler"] - lk["protocol"]))
run.glue("teach_protocol_leak_c_cca_diff", float(lk["c_cca"] - lk["protocol"]))

# %% [markdown]
# The scaler that saw the held-out clips changes the MAP by
# {glue:text}`teach_protocol_leak_scaler_diff:+.4f` ({glue:text}`teach_protocol_leak_scaler:.4f`
# against {glue:text}`teach_protocol_leak_protocol:.4f`); C-CCA (β = 0.2) that saw them changes
# it by {glue:text}`teach_protocol_leak_c_cca_diff:+.4f`
# ({glue:text}`teach_protocol_leak_c_cca:.4f`). A leak is a leak however small its effect on one
# dataset: a scaler fitted on a test set from another recording session adapts to that session.
#
# :::{admonition} Try this
# :class: tip
# Change how much of the held-out fold leaks: `paper-lib reproduce --profile quick --only 23_teach_protocol
# -p protocol_leak_share=0`, then open `_build/executed/avdigits-quick/23_teach_protocol.ipynb`,
# and again with `-p protocol_leak_share=0.5`. Predict first: with nothing leaked the three rows
# of {numref}`tbl-teach-protocol-leakage` must be identical; as the share grows, the Cluster-CCA
# row should climb and the scaler row should barely move ({numref}`ex-teach-protocol-5`).
# :::
#
# Public implementations of this and related methods break the protocol in specific ways.
# {numref}`tbl-teach-protocol-pitfalls` names, for each pitfall, what the library does, where,
# and the tests that fail if the guard is removed (the table itself is checked by
# `tests/test_report_teach_protocol.py`: every library object and every test it names exists).

# %% tags=["hide-input"]
pitfalls = tc.pitfall_table()
run.glue("teach_protocol_n_pitfalls", len(tc.PITFALLS))
run.table(pitfalls, "pitfalls",
          "Pitfalls of public implementations of this and related methods: for each, what the "
          "library does against it, where (names inside paper_lib) and the tests that fail if "
          "the guard is removed.", reproduces=None, data="the library's code and tests",
          shown=tc.pitfall_view())

# %% [markdown]
# All {glue:text}`teach_protocol_n_pitfalls` pitfalls have a guard and at least one test; the
# experiment runner (`paper_lib.experiment.evaluate_split`) is the one place where a split is
# fitted, embedded and scored, so every table of the book inherits these guards.
#
# ## Summary
#
# - A query ranks the whole gallery of the other modality; AP averages the precision
#   $\mathrm{P}@j$ at the ranks of the $R$ relevant items, and MAP averages AP over the queries.
# - Ten lines of numpy (sort, cumulative precision at the relevant ranks) reproduce the
#   library's AP on every tie-free query.
# - A random ranking scores a little more than the class share $R/G$, by $O(\ln G/G)$; a model
#   must beat that level.
# - A truncated "MAP@K" divides by the hits found in the top $K$, not by $R$: it is a different
#   quantity, usually inflated, and the book never reports it.
# - No number may depend on the order of tied items: the library reads a ranking through its
#   tie groups, so a collapsed embedding scores the class share exactly.
# - Every fitted step (scalers, Cluster-CCA, networks, model selection) sees the training folds
#   only; a scaler that sees the held-out fold leaks little here, a supervised fit that sees it
#   leaks a lot.
#
# ## Exercises
#
# :::{exercise}
# :label: ex-teach-protocol-1
# A query's gallery, ranked by the system, has the relevance list
# $(\mathrm{rel}_1, \dots, \mathrm{rel}_8) = (0, 1, 1, 0, 0, 1, 0, 0)$. Compute its AP by hand as
# an exact fraction with {eq}`eq-teach-protocol-ap`, then check it with
# `paper_lib.metrics.retrieval.average_precision` (`tc.hand_toy(rel)` turns a relevance list
# into a score row and labels).
# :::
#
# ```{solution-start} ex-teach-protocol-1
# :class: dropdown
# ```

# %%
S_ex, q_ex, g_ex = tc.hand_toy(tc.EXERCISE_RELEVANCE)
ex1_exact = tc.hand_ap(tc.EXERCISE_RELEVANCE)
ex1_library = float(average_precision(S_ex, q_ex, g_ex)[0])

# %% tags=["remove-cell"]
run.glue("teach_protocol_ex1_fraction", f"{ex1_exact.numerator}/{ex1_exact.denominator}")
run.glue("teach_protocol_ex1_library", ex1_library)

# %% [markdown]
# $R = 3$ relevant items sit at the ranks 2, 3 and 6, where the precision is
# $\mathrm{P}@2 = 1/2$, $\mathrm{P}@3 = 2/3$ and $\mathrm{P}@6 = 3/6$. AP is their mean,
# $(1/2 + 2/3 + 1/2)/3$ = {glue:text}`teach_protocol_ex1_fraction`; the library returns
# {glue:text}`teach_protocol_ex1_library:.4f`.
#
# ```{solution-end}
# ```
#
# :::{exercise}
# :label: ex-teach-protocol-2
# Derive {eq}`eq-teach-protocol-random-ap`, the expected AP of a uniformly random ranking of $G$
# items of which $R$ are relevant. Hint: write
# $\mathrm{P}@j\cdot\mathrm{rel}_j = \frac1j\big(\mathrm{rel}_j + \sum_{i<j}\mathrm{rel}_i\,\mathrm{rel}_j\big)$
# and use $\mathbb E[\mathrm{rel}_j] = R/G$ and $\mathbb E[\mathrm{rel}_i\,\mathrm{rel}_j]$ for
# $i \ne j$. Evaluate it for the toy of {numref}`tbl-teach-protocol-random-ranking` and compare
# with the class share and the simulation. What happens as $G$ grows with $R/G$ fixed?
# :::
#
# :::{solution} ex-teach-protocol-2
# :class: dropdown
# Since $\mathrm{rel}_j^2 = \mathrm{rel}_j$, the number of hits in the top $j$ times
# $\mathrm{rel}_j$ is $\mathrm{rel}_j + \sum_{i<j}\mathrm{rel}_i\,\mathrm{rel}_j$. In a random
# ranking a given rank holds a relevant item with probability $R/G$, and two given ranks both
# hold one with probability $\frac{R}{G}\cdot\frac{R-1}{G-1}$. Hence
#
# $$
# \mathbb E[\mathrm{AP}] = \frac1R \sum_{j=1}^{G} \frac1j
# \Big(\frac RG + (j-1)\,\frac{R(R-1)}{G(G-1)}\Big)
# = \frac1G \sum_{j=1}^{G} \Big(\frac1j + \big(1 - \tfrac1j\big)\frac{R-1}{G-1}\Big)
# = \frac{H_G}{G} + \Big(1 - \frac{H_G}{G}\Big)\frac{R-1}{G-1},
# $$
#
# which rearranges to {eq}`eq-teach-protocol-random-ap`. For the toy ($G$ =
# {glue:text}`teach_protocol_random_g`, $R$ = {glue:text}`teach_protocol_random_r`) it is
# {glue:text}`teach_protocol_random_exact:.4f` (`tc.expected_random_ap`), against a class share
# of {glue:text}`teach_protocol_random_share:.4f` and a simulated
# {glue:text}`teach_protocol_random_sim:.4f`. With $R/G$ fixed and $G$ growing,
# $\frac{R-1}{G-1} \to R/G$ and the second term, about $\frac{\ln G}{G}(1 - R/G)$, vanishes: on
# the test fold the expectation is already {glue:text}`teach_protocol_random_fold_exact:.4f`
# against a share of {glue:text}`teach_protocol_random_fold_share:.4f`. (The tests compare the
# formula with an exact enumeration of every placement of the relevant items.)
# :::
#
# :::{exercise}
# :label: ex-teach-protocol-3
# For the ranking of {numref}`ex-teach-protocol-1`, compute the truncated score
# {eq}`eq-teach-protocol-truncated` at $K = 2$, $K = 3$ and $K = 8$ and compare each with the
# AP. Can the truncated score be *below* the AP? When do the two agree?
# :::
#
# ```{solution-start} ex-teach-protocol-3
# :class: dropdown
# ```

# %%
ex3 = tc.exercise_truncation(tc.EXERCISE_RELEVANCE, tc.EXERCISE_CUTOFFS)
ex3_exact = {K: tc.truncated_ap(tc.EXERCISE_RELEVANCE, K) for K in tc.EXERCISE_CUTOFFS}

# %% tags=["remove-cell"]
for K, value in ex3_exact.items():
    run.glue(f"teach_protocol_ex3_k{K}_fraction", f"{value.numerator}/{value.denominator}")
for K, value in zip(ex3["K"], ex3["truncated"], strict=True):
    run.glue(f"teach_protocol_ex3_k{K}", float(value))

# %% [markdown]
# The truncated score is the mean of $\mathrm{P}@j$ over the relevant items found in the top
# $K$ only. At $K = 2$ one is found (rank 2): $1/2$ = {glue:text}`teach_protocol_ex3_k2_fraction`
# ({glue:text}`teach_protocol_ex3_k2:.4f` from `truncated_map_pitfall`), *below* the AP
# {glue:text}`teach_protocol_ex1_fraction`. At $K = 3$ two are found: $(1/2 + 2/3)/2$ =
# {glue:text}`teach_protocol_ex3_k3_fraction` ({glue:text}`teach_protocol_ex3_k3:.4f`),
# *above* it. At $K = 8$ all three are found and the score is the AP,
# {glue:text}`teach_protocol_ex3_k8_fraction` ({glue:text}`teach_protocol_ex3_k8:.4f`). So the
# truncated score is not a lower or an upper bound: it is a different average, over a number of
# items that depends on $K$ and on the model. It equals the AP whenever the top $K$ holds all
# $R$ relevant items (here $K \ge 6$), and it inflates whenever the items it drops, the
# relevant items ranked late, have a lower precision than those it keeps: the usual case for a
# model that works.
#
# ```{solution-end}
# ```
#
# :::{exercise}
# :label: ex-teach-protocol-4
# A query scores six gallery items $(0.9, 0.7, 0.7, 0.7, 0.2, 0.2)$, whose relevance is
# $(0, 1, 0, 1, 1, 0)$. Using the tie rules of `paper_lib.metrics.retrieval` (its module
# docstring, summarised in the section on tied scores above), compute the library's AP and
# P@2. Then compute the AP a ranking that keeps tied items in gallery order (a stable sort)
# would give.
# :::
#
# ```{solution-start} ex-teach-protocol-4
# :class: dropdown
# ```

# %%
ex4 = tc.exercise_ties(tc.EXERCISE_TIE_SCORES, tc.EXERCISE_TIE_RELEVANCE)

# %% tags=["remove-cell"]
run.glue("teach_protocol_ex4_ap", ex4["ap"])
run.glue("teach_protocol_ex4_p2", ex4["p_at_2"])
run.glue("teach_protocol_ex4_stable", ex4["ap_stable_sort"])

# %% [markdown]
# There are three tie groups: the item scored 0.9 (not relevant), the three items scored 0.7
# (two relevant) and the two scored 0.2 (one relevant); $R = 3$.
#
# - **AP**: each tie group $g$ holding $R_g$ relevant items contributes
#   $\frac{R_g}{R}\cdot\frac{\text{hits through the group}}{\text{items through the group}}$: the 0.7
#   group gives $\frac23\cdot\frac24$, the 0.2 group $\frac13\cdot\frac36$; the sum is $1/2$
#   (the library: {glue:text}`teach_protocol_ex4_ap:.4f`).
# - **P@2**: the top 2 holds the 0.9 item (no hit) and one of the three tied 0.7 items, which is
#   relevant with probability $2/3$; the expected hits are $2/3$ and P@2 = $1/3$ (the library:
#   {glue:text}`teach_protocol_ex4_p2:.4f`).
# - **Stable sort**: the listing is the gallery order, relevance $(0, 1, 0, 1, 1, 0)$, so
#   AP = $(1/2 + 2/4 + 3/5)/3 = 8/15$ = {glue:text}`teach_protocol_ex4_stable:.4f`: a number
#   that would change if the gallery listed the tied items in another order.
#
# ```{solution-end}
# ```
#
# :::{exercise}
# :label: ex-teach-protocol-5
# {numref}`tbl-teach-protocol-leakage` lets a share of the held-out fold leak into the scaler or
# into C-CCA (β = 0.2). Predict, before re-running, what the three rows show with
# `-p protocol_leak_share=0` and with `-p protocol_leak_share=0.5`, and why the scaler row and
# the Cluster-CCA row react so differently. Then re-run
# (`paper-lib reproduce --profile quick --only 23_teach_protocol -p protocol_leak_share=0`, open
# `_build/executed/avdigits-quick/23_teach_protocol.ipynb`) and check.
# :::
#
# :::{solution} ex-teach-protocol-5
# :class: dropdown
# With a share of 0 nothing leaks: the three fits are the same fit and the three rows are equal
# (the tests check that they are identical). As the share grows the scaler row hardly moves: a
# scaler learns a mean and a standard deviation per feature from the clips' *features*, and the
# held-out clips are drawn from the same distribution as the training ones, so these change
# little. The Cluster-CCA row climbs: C-CCA (β = 0.2) uses the *labels* of every clip it is fitted
# on, so with held-out clips in its fit it learns directions that separate exactly the classes
# of the clips it will be tested on. In this run (share
# {glue:text}`teach_protocol_leak_share:.0%`) the protocol gives
# {glue:text}`teach_protocol_leak_protocol:.4f`, the leaky scaler
# {glue:text}`teach_protocol_leak_scaler:.4f` and the leaky C-CCA (β = 0.2)
# {glue:text}`teach_protocol_leak_c_cca:.4f`. Neither leak is allowed: a test set from another
# recording session would move the scaler, and any number computed after a leak no longer
# measures retrieval of unseen clips.
# :::
#
# :::{exercise}
# :label: ex-teach-protocol-6
# Show from {eq}`eq-teach-protocol-pr` that every query-averaged PR curve ends at recall 1 with
# precision $\frac1Q\sum_q R_q/G$, whatever the model, and check it on
# {numref}`fig-teach-protocol-dataset-pr-curves`.
# :::
#
# :::{solution} ex-teach-protocol-6
# :class: dropdown
# At the last cut-off, $j = G$, every query has retrieved the whole gallery: its hits are
# $\sum_{i \le G}\mathrm{rel}_{q,i} = R_q$, so its recall is $R_q/R_q = 1$ and its precision is
# $\mathrm{P}_q@G = R_q/G$, neither depending on the order. Averaging over the queries,
# $\overline{\mathrm{Rec}}(G) = 1$ and $\bar P(G) = \frac1Q\sum_q R_q/G$, the mean class
# prevalence of the gallery. Here it is {glue:text}`teach_protocol_prevalence:.4f`
# (`tc.mean_prevalence`), and the TNN-C-CCA (batch-all) curve computed by `pr_curve` ends at
# {glue:text}`teach_protocol_pr_end_tnn:.4f`. A PR curve that ends elsewhere was not averaged
# at the same cut-off, or dropped part of the gallery.
# :::

# %% tags=["remove-cell"]
run.finish()
