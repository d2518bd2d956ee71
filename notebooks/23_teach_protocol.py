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
# and visual-to-audio (V→A) queries, with cosine similarity; its public code and several public
# implementations of related methods differ from that description in ways that change the
# numbers. This chapter makes every step concrete: what average precision counts on a ranking
# of ten items, why the ranking must not be truncated, why no number may depend on how tied
# items are ordered, why the query's own partner counts, how the precision-recall curves are defined, and how the folds keep every
# fitted object away from the test data, with, for each pitfall, where the library guards
# against it and which test checks it. All metrics come from `paper_lib.metrics`; the one
# exception is the flawed truncated MAP, written in `paper_lib.report.teach_protocol` only to
# measure how much it inflates.

# %% tags=["parameters"]
dataset = "avdigits"
profile = "quick"
seed = 0
folds = "all"
data_dir = ""

# %% tags=["remove-input"]
# paper_lib: after 02_main_table (reads the main table's fits from the experiment cache)
import pandas as pd

from paper_lib.experiment import Config, run_configs
from paper_lib.metrics import average_precision, mean_average_precision, pr_curve
from paper_lib.pipeline.notebook import start
from paper_lib.report import teach_protocol as tc

run = start("teach_protocol", dataset=dataset, profile=profile, seed=seed, folds=folds,
            data_dir=data_dir)
ds = run.dataset()
p = run.params
folds = p.fold_list(ds.n_folds)
epochs = p.epochs

# %% [markdown]
# ## What MAP counts
#
# A query ranks the gallery by decreasing similarity. Let $\mathrm{rel}_k = 1$ when the item at
# rank $k$ has the query's class, $P@k$ the fraction of relevant items among the top $k$, and
# $R$ the number of relevant items in the whole gallery. Average precision and its mean over
# the $Q$ queries are
#
# $$
# \begin{aligned}
# \mathrm{AP} &= \frac{1}{R} \sum_{k=1}^{n_g} P@k \cdot \mathrm{rel}_k, \\
# \mathrm{MAP} &= \frac{1}{Q} \sum_{q=1}^{Q} \mathrm{AP}_q .
# \end{aligned}
# $$ (eq-teach-protocol-ap)
#
# AP is the average of the precision measured at the rank of each relevant item; a relevant
# item that is never reached would contribute 0. Here is a hand-made ranking of ten gallery
# items, five of them relevant ({numref}`fig-teach-protocol-hand-ap-steps`,
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
           f"P@k at every rank k of a hand-made ranking of {len(steps)} gallery items, the "
           f"ranks of the relevant items in green with their P@k; dashed: the AP, the mean of "
           f"the green bars.", reproduces=None, data=hand)
run.table(steps, "hand_ap_steps",
          "AP step by step on the same ranking: per rank k, whether the item is relevant "
          "(rel_k), the hits in the top k, P@k and the term P@k · rel_k that AP sums.",
          reproduces=None, data=hand, shown=tc.steps_view(steps), digits=4)

# %% [markdown]
# The column $P@k\cdot\mathrm{rel}_k$ sums to {glue:text}`teach_protocol_hand_sum:.4f`; divided
# by $R$ = {glue:text}`teach_protocol_hand_r` it gives AP =
# {glue:text}`teach_protocol_hand_ap_fraction` = {glue:text}`teach_protocol_hand_ap:.4f`, the
# value `paper_lib.metrics.average_precision` returns for this ranking (the tests compare the
# two exactly).
#
# ## Why the full ranking
#
# A common shortcut stops the ranking at $k$ and divides by the number of hits found there:
#
# $$
# \mathrm{AP@}k_{\text{trunc}} = \frac{1}{\sum_{j \le k} \mathrm{rel}_j}
#                                \sum_{j=1}^{k} P@j \cdot \mathrm{rel}_j .
# $$ (eq-teach-protocol-truncated)
#
# The relevant items below rank $k$ disappear from the denominator, so a ranking that places a
# few relevant items first scores high however many it misses. This is **not** the paper's
# metric and the book never reports it; `truncated_map_pitfall` exists only for this
# comparison. On the hand-made ranking ({numref}`tbl-teach-protocol-hand-truncation`):

# %% tags=["hide-input"]
toy_trunc = tc.truncation_table(S_hand, q_hand, g_hand, list(range(1, 11)))
run.table(toy_trunc, "hand_truncation",
          "The protocol's MAP (full ranking, the same for every k) beside the truncated score "
          "for every cut-off k on the hand-made ranking.", reproduces=None, data=hand,
          shown=tc.truncation_view(toy_trunc), digits=4)
run.glue("teach_protocol_hand_trunc_k1", float(toy_trunc.truncated_map_pitfall.iloc[0]))
run.glue("teach_protocol_hand_trunc_k5", float(toy_trunc.truncated_map_pitfall.iloc[4]))

# %% [markdown]
# At $k = 1$ the truncated score is {glue:text}`teach_protocol_hand_trunc_k1:.3f`, at $k = 5$
# {glue:text}`teach_protocol_hand_trunc_k5:.3f`, against an AP of
# {glue:text}`teach_protocol_hand_ap:.3f`; only at $k = n_g$, when every relevant item has been
# found, do the two agree.
#
# On real test embeddings a query has many relevant items (a whole class of the test fold), so
# the top $k$ can only ever hold a small share of them. Below: Cluster-CCA (the authors' variant, `c_cca`) and TNN-C-CCA, fitted on
# the training folds of the first fold of the build's dataset (shared with the other chapters
# through the experiment cache), A→V queries against the whole test fold
# ({numref}`fig-teach-protocol-dataset-truncation`, {numref}`tbl-teach-protocol-dataset-truncation`):

# %% tags=["hide-input"]
configs = [Config("c_cca", dim=10, epochs=epochs), Config("tnn_c_cca", dim=10, epochs=epochs)]
records, results = run_configs(ds, configs, folds=[folds[0]], seeds=[p.seed], cache=True)
names = {"c_cca": "C-CCA", "tnn_c_cca": "TNN-C-CCA"}
scores = {}
for res in results:
    S = res.scores("a2v")              # (n_test, n_test): A→V, ranked as the run's MAP was
    scores[names[res.method]] = (S, res.labels)
n_test = int(results[0].labels.size)
ks = sorted({k for k in (1, 5, 10, 20, 50, 100, 200, 500) if k < n_test} | {n_test})
trunc_tables = {}
for name, (S, y) in scores.items():
    t = tc.truncation_table(S, y, y, ks)
    t.insert(0, "method", name)
    trunc_tables[name] = t
trunc_all = pd.concat(trunc_tables.values(), ignore_index=True)
one_fit = f"fold {folds[0]}, seed {p.seed}"
run.figure(tc.plot_truncation({f"{name}, A→V": t for name, t in trunc_tables.items()}),
           "dataset_truncation",
           f"The truncated score against the cut-off k (log scale; red) beside the protocol's "
           f"MAP over the full ranking (dashed), for the A→V queries of C-CCA (left) and "
           f"TNN-C-CCA (right) on the {n_test} test clips of fold {folds[0]}.",
           reproduces=None, over=one_fit)
run.table(trunc_all, "dataset_truncation",
          f"The truncated score of the figure above for each cut-off k; at k = {n_test}, the "
          f"whole test fold, it equals the protocol's MAP.", reproduces=None, over=one_fit,
          shown=tc.truncation_view(trunc_all), digits=4)
run.glue("teach_protocol_ds_name", ds.name)
run.glue("teach_protocol_ds_n_test", n_test)
for name, key in (("C-CCA", "c_cca"), ("TNN-C-CCA", "tnn_c_cca")):
    t = trunc_tables[name].set_index("k")
    run.glue(f"teach_protocol_ds_{key}_map", float(t.map_full_ranking.iloc[0]))
    run.glue(f"teach_protocol_ds_{key}_trunc10", float(t.loc[10, "truncated_map_pitfall"]))
    run.glue(f"teach_protocol_ds_{key}_trunc100",
             float(t.loc[min(100, n_test), "truncated_map_pitfall"]))

# %% [markdown]
# With {glue:text}`teach_protocol_ds_n_test` test clips of
# {glue:text}`teach_protocol_ds_name`, Cluster-CCA has MAP
# {glue:text}`teach_protocol_ds_c_cca_map:.3f` but a truncated "MAP@10" of
# {glue:text}`teach_protocol_ds_c_cca_trunc10:.3f` (and {glue:text}`teach_protocol_ds_c_cca_trunc100:.3f`
# at $k = 100$); TNN-C-CCA has MAP {glue:text}`teach_protocol_ds_tnn_c_cca_map:.3f` against
# {glue:text}`teach_protocol_ds_tnn_c_cca_trunc10:.3f` at $k = 10$ and
# {glue:text}`teach_protocol_ds_tnn_c_cca_trunc100:.3f` at $k = 100$. The truncated numbers
# are not comparable with the paper's, nor with each other across values of $k$.
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
tied = {name: tc.tied_query_fraction(S) for name, (S, _) in scores.items()}
run.glue("teach_protocol_ds_c_cca_tied", tied["C-CCA"])
run.glue("teach_protocol_ds_tnn_c_cca_tied", tied["TNN-C-CCA"])

# %% [markdown]
# Keeping tied items in gallery order (a stable sort) gives the same scores an AP of
# {glue:text}`teach_protocol_tie_first:.3f` or {glue:text}`teach_protocol_tie_last:.3f`. Test
# folds are stored class by class, so that rule even rewards a collapsed embedding that scores
# every pair alike: with ten balanced classes its MAP would be
# {glue:text}`teach_protocol_collapsed_old:.3f`, not the chance level
# {glue:text}`teach_protocol_collapsed_map:.3f` the library gives it. `paper_lib.metrics`
# therefore reads a ranking only through its tie groups. AP treats a
# tie group as one threshold, as scikit-learn's `average_precision_score` does; P@k, R@k,
# nDCG@k, the PR curves and VM-NET's pair recall are the expectation over a random order of the
# tied items (a group straddling the cut-off $k$ counts with the share of it inside the top
# $k$); MRR is the exact expected reciprocal rank. Both listings above get AP = P@2 =
# {glue:text}`teach_protocol_tie_ap:.3f`, the share of relevant items. Exact ties are rare with
# continuous embeddings (here the fraction of A→V queries with at least one tied score is
# {glue:text}`teach_protocol_ds_c_cca_tied:.3f` for C-CCA and
# {glue:text}`teach_protocol_ds_tnn_c_cca_tied:.3f` for TNN-C-CCA) but common with saturated or
# quantised outputs, and the rule for binary codes compared by Hamming distance.
#
# ## The query's own pair counts as relevant
#
# In a paired test fold the visual partner of an audio query has the query's class, so it is
# one of the $R$ relevant items, and the protocol keeps it in the gallery. Removing it from each
# query's gallery measures how much it contributes ({numref}`tbl-teach-protocol-own-partner`):

# %% tags=["hide-input"]
partner = []
for name, (S, y) in scores.items():
    partner.append({"method": name, "map_protocol": mean_average_precision(S, y, y),
                    "map_without_own_partner": tc.map_without_partner(S, y)})
partner = pd.DataFrame(partner)
run.table(partner, "own_partner",
          f"The A→V MAP of C-CCA and TNN-C-CCA on the test clips of fold {folds[0]} as the "
          f"protocol computes it, and with each query's own partner removed from its gallery.",
          reproduces=None, over=one_fit, shown=tc.partner_view(partner), digits=4)
pt = partner.set_index("method")
for name, key in (("C-CCA", "c_cca"), ("TNN-C-CCA", "tnn_c_cca")):
    run.glue(f"teach_protocol_ds_{key}_map_without_partner",
             float(pt.loc[name, "map_without_own_partner"]))

# %% [markdown]
# Without its own partner, Cluster-CCA's MAP would be
# {glue:text}`teach_protocol_ds_c_cca_map_without_partner:.3f` (protocol:
# {glue:text}`teach_protocol_ds_c_cca_map:.3f`) and TNN-C-CCA's
# {glue:text}`teach_protocol_ds_tnn_c_cca_map_without_partner:.3f` (protocol:
# {glue:text}`teach_protocol_ds_tnn_c_cca_map:.3f`). The partner is one of the $R$ relevant
# items, so its weight shrinks as the classes grow; but the difference depends on where each
# model ranks the true partner, so the rule has to be fixed before numbers are compared.
#
# ## Precision-recall curves
#
# The paper's PR curves are defined here at rank cut-offs: for every $k = 1, \dots, n_g$,
# precision $P@k$ and recall $\sum_{j\le k}\mathrm{rel}_j / R$ are computed per query from the
# same ranking as MAP, then each is averaged over the queries **at the same $k$**:
#
# $$
# \begin{aligned}
# \bar P(k) &= \frac1Q \sum_q P_q@k, \\
# \bar R(k) &= \frac1Q \sum_q \frac{\sum_{j\le k} \mathrm{rel}_{q,j}}{R_q} .
# \end{aligned}
# $$ (eq-teach-protocol-pr)
#
# Every curve ends at recall 1 with a precision equal to the mean share of relevant items in
# the gallery, $\frac1Q\sum_q R_q / n_g$, whatever the method: there the whole gallery has been
# retrieved ({numref}`fig-teach-protocol-dataset-pr-curves`).

# %% tags=["hide-input"]
curves = {name: pr_curve(S, y, y) for name, (S, y) in scores.items()}
y0 = results[0].labels
prevalence = tc.mean_prevalence(y0, y0)
run.figure(tc.plot_pr_curves(curves, prevalence), "dataset_pr_curves",
           f"Precision against recall of the A→V queries of C-CCA and TNN-C-CCA on the test "
           f"clips of fold {folds[0]}, both averaged over the queries at the same cut-off k; "
           f"dotted: the class prevalence of the test fold.", reproduces=None, over=one_fit)
pr_rows = pd.DataFrame([{"method": name, "k": k + 1, "precision": pr[0][k], "recall": pr[1][k]}
                        for name, pr in curves.items() for k in range(pr[0].size)])
run.save_table(pr_rows, "dataset_pr_curves")
run.glue("teach_protocol_prevalence", prevalence)
run.glue("teach_protocol_pr_end_tnn", float(curves["TNN-C-CCA"][0][-1]))

# %% [markdown]
# The TNN-C-CCA curve ends at precision {glue:text}`teach_protocol_pr_end_tnn:.4f`, the class
# prevalence {glue:text}`teach_protocol_prevalence:.4f` of this test fold. (The authors' plotting
# function is buggy; this definition is the one every curve of the book uses.)
#
# ## Five folds: nothing fitted sees the test fold
#
# The clips are split into {glue:text}`teach_protocol_n_folds` class-balanced folds. In each
# round one fold is the test fold and everything that is *fitted* (feature scalers, means,
# Cluster-CCA, the networks, any model selection) uses the other folds only; the test fold is
# embedded view by view and ranked once. The reported number is the mean (and standard
# deviation) over the rounds ({numref}`fig-teach-protocol-fold-diagram`).

# %% tags=["hide-input"]
run.figure(tc.plot_fold_diagram(ds.n_folds), "fold_diagram",
           f"The {ds.n_folds} rounds of the cross-validation: in each round (row) one fold is the "
           f"test fold (red) and the others are the training folds (blue).", reproduces=None,
           over=f"{ds.n_folds} folds")
run.glue("teach_protocol_n_folds", int(ds.n_folds))

# %% [markdown]
# Public implementations of this and related methods break the protocol in specific ways. For
# each pitfall listed in the reference notes, {numref}`tbl-teach-protocol-pitfalls` names what
# the library does, where, and the test that fails if the guard is removed (the table itself
# is checked by `tests/test_report_teach_protocol.py`: every library object and every test it
# names exists).

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

# %% tags=["remove-cell"]
run.finish()
