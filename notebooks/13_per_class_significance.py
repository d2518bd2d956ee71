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
# # Per-class AP and a paired statistical comparison
#
# The paper reports mean MAP over five folds and no test of significance. This notebook asks two
# questions of the main table's fits (read back from the experiment cache, no refit):
#
# 1. **Which classes** does each method retrieve well? Per-class AP (the mean AP of the test
#    queries of each class) of CCA, C-CCA, S-DCCA (C-DCCA), TNN-C-CCA and the four
#    state-of-the-art baselines (UGACH, UCAL, ACMR, AGAH), averaged over folds and seeds, per
#    direction.
# 2. **Is TNN-C-CCA's gain real?** TNN-C-CCA against C-CCA, S-DCCA and each of the four
#    state-of-the-art baselines, paired fold by
#    fold (each method's MAP first averaged over its seeds: the seeds of one fold share its
#    training and test rows, and closed-form C-CCA has one fit per fold): the Wilcoxon
#    signed-rank test and the paired t-test of MAP, and at the query level (pooled over folds)
#    the sign test and a bootstrap confidence interval of the mean difference of per-query AP.
#
# With 5 folds, the two-sided Wilcoxon test cannot give a p-value below
# 2/2⁵ = 0.0625, whatever the numbers: it can never be "significant at 5 %". The paired t-test
# can, at the price of assuming roughly normal differences. The query-level tests use many more
# pairs, but treat the queries of a fold as independent given its fit: they say how consistently
# one method ranks better over queries, not how much the result would vary with a new training
# set.

# %% tags=["parameters"]
dataset = "avdigits-pretrained"
profile = "quick"
seed = 0
folds = "all"
data_dir = ""
epochs = None
seeds = None

# %% tags=["remove-input"]
# paper_lib: after 02_main_table (reads the main table's fits from the experiment cache)
from paper_lib.experiment import run_configs
from paper_lib.pipeline.notebook import start
from paper_lib.report import main_table as mt
from paper_lib.report import significance as sig

run = start("per_class_significance", dataset=dataset, profile=profile, seed=seed, folds=folds,
            data_dir=data_dir, epochs=epochs, seeds=seeds)
ds = run.dataset()
p = run.params
fold_list = p.fold_list(ds.n_folds)
fit_seeds = p.seeds  # the profile's seeds (full: 0, 1, 2), or -p seeds=...
# the main table's configs of the methods compared: the same cache entries, no refit
configs = mt.main_configs(p.epochs, sig.FITTED_METHODS)
_, results = run_configs(ds, configs, folds=fold_list, seeds=fit_seeds, cache=True)
run.glue("per_class_significance_n_pairs", len(fold_list))
run.glue("per_class_significance_n_seeds", len(fit_seeds))
over = f"{len(fold_list)} folds × {len(fit_seeds)} seed{'s' if len(fit_seeds) != 1 else ''}"

# %% [markdown]
# The seeded methods are fitted {glue:text}`per_class_significance_n_seeds` time(s) per fold
# (closed-form C-CCA once: its fit ignores the seed); the tests pair the
# {glue:text}`per_class_significance_n_pairs` folds, each averaged over its seeds.
#
# ## Per-class AP

# %% tags=["remove-input"]
per_fit = sig.per_class_records(results, ds.class_names)
per_class = sig.per_class_summary(per_fit)
run.save_table(per_class, "per_class_ap")
run.save_table(per_fit, "per_class_ap_folds")
run.figure(sig.plot_per_class(per_class, ds.name), "per_class_ap",
           "Mean AP of the test queries of each class (columns, in class order) for every "
           "method compared (rows), A→V (top) and V→A (bottom), averaged over folds and seeds; "
           "each cell's value is printed on it, on a colour scale from 0 (dark) to 1 (light).",
           reproduces=None, over=over)

# %% [markdown]
# In {numref}`fig-per-class-significance-per-class-ap` each cell is the mean AP of the queries
# of one class (rows: methods, columns: query classes). A class whose column stays dark for
# every method is hard for all of them (its clips look or sound like another class's); a class
# that only the supervised methods retrieve well is one where the paired correlation alone (CCA)
# does not separate the classes.

# %% [markdown]
# ## Paired tests: TNN-C-CCA against C-CCA, S-DCCA and the state of the art
#
# Every difference is TNN-C-CCA minus the other method: of MAP for the fit-level tests
# ({numref}`tbl-per-class-significance-significance`, one pair per fold), of per-query AP for
# the query-level ones ({numref}`tbl-per-class-significance-significance-queries`, one pair per
# test query, pooled over folds). For UGACH and AGAH, whose binary codes are ranked by Hamming
# distance, per-query AP is that of the Hamming ranking, ties counted at their expected rank.
# p-values below 0.001 are written in scientific notation.

# %% tags=["remove-input"]
table = sig.significance_table(results, seed=seed)
for key, value in sig.glue_values(table).items():
    run.glue(key, value)
run.table(table, "significance",
          "Fit-level paired tests of TNN-C-CCA against each method: the mean difference of MAP "
          "over the folds (each fold's MAP averaged over its seeds), its t-based 95 % confidence "
          "interval, and the two-sided p-values of the paired t-test and of the Wilcoxon "
          "signed-rank test.",
          reproduces=None, over=over, shown=sig.fit_level_view(table), digits=4)
run.table(table[table["unit"] == "query (pooled over folds)"], "significance_queries",
          "Query-level paired tests of TNN-C-CCA against each method, pooled over folds: the "
          "mean difference of per-query AP (each averaged over the method's seeds), its "
          "percentile-bootstrap 95 % confidence interval, the two-sided p-value of the sign "
          "test, and the number of queries TNN-C-CCA ranks better, worse and equally well.",
          reproduces=None, over=over, shown=sig.query_level_view(table), digits=4)

# %% [markdown]
# A→V, TNN-C-CCA minus C-CCA: mean MAP difference
# {glue:text}`per_class_significance_tnn_c_cca_vs_c_cca_a2v_ttest_diff:.4f` over
# {glue:text}`per_class_significance_n_pairs` paired folds (Wilcoxon p =
# {glue:text}`per_class_significance_tnn_c_cca_vs_c_cca_a2v_wilcoxon_p:.2g`, paired t-test p =
# {glue:text}`per_class_significance_tnn_c_cca_vs_c_cca_a2v_ttest_p:.2g`); per query, the 95 %
# bootstrap interval of the mean AP difference is
# [{glue:text}`per_class_significance_tnn_c_cca_vs_c_cca_a2v_bootstrap_low:.4f`,
# {glue:text}`per_class_significance_tnn_c_cca_vs_c_cca_a2v_bootstrap_high:.4f`] (sign test p =
# {glue:text}`per_class_significance_tnn_c_cca_vs_c_cca_a2v_sign_p:.2g`). Against S-DCCA (A→V):
# mean difference {glue:text}`per_class_significance_tnn_c_cca_vs_c_dcca_a2v_ttest_diff:.4f`,
# Wilcoxon p = {glue:text}`per_class_significance_tnn_c_cca_vs_c_dcca_a2v_wilcoxon_p:.2g`,
# t-test p = {glue:text}`per_class_significance_tnn_c_cca_vs_c_dcca_a2v_ttest_p:.2g`. A
# bootstrap interval that excludes 0 says the sign of the difference is stable over queries of
# these fits; the fit-level tests are the ones that speak to a new training run, and with so
# few pairs they can only detect large, consistent differences.

# %% tags=["remove-cell"]
run.finish()
