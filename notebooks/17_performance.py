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
# # Performance against the libraries people would use instead
#
# How fast and how large the companion's kernels are, measured by `make bench`
# (`python -m benchmarks`): one script per question, each running every compared implementation on
# the same generated data in the same process (a warm-up, then repetitions; the median wall time,
# the peak memory of one call and the ratio to ours), with the check that results agree where the
# mathematics says they must. The scripts write `results/bench_*.csv`; this page only reads them,
# so its numbers are those of the last `make bench` on the machine that built the book (the
# machine's table follows, when the benchmarks were run). The wall time of the book itself is on
# {doc}`../book/build_report`.
#
# **How to read the comparison tables.** One row per implementation. *median (s)* is the median
# wall time of one call; *× ours* divides it by the time of the row it is compared with (ours:
# above 1, the other implementation is slower; below 1, faster); *peak memory (MB)* is the
# largest extra memory one call allocates; *agrees with ours* says whether its result equals
# ours within the tolerance the note states ("—": not a result to compare, such as a floor that
# computes no metric). A *floor* row times only the work every implementation must do (a sort, a
# Gram matrix): how close ours comes to it measures what is left to gain.

# %% tags=["parameters"]
dataset = "avdigits-pretrained"
profile = "quick"
seed = 0
folds = "all"
data_dir = ""

# %% tags=["remove-input"]
# paper_lib: reads-benchmarks (re-run whenever `make bench` writes new measurements)
from IPython.display import Markdown, display

from paper_lib import paths
from paper_lib.pipeline.notebook import start
from paper_lib.report import performance as perf

run = start("performance", dataset=dataset, profile=profile, seed=seed, folds=folds,
            data_dir=data_dir)
frames = perf.load_benchmarks(paths.results_dir())
BENCH = "measured by make bench on generated data"
if not frames:
    display(Markdown("**Not measured in this build**: no `results/bench_*.csv` was found. Run "
                     "`make bench` (about ten minutes) and rebuild the book to fill this page."))
else:
    run.table(perf.machine(frames), "machine",
              "The machine each benchmark file was measured on: CPU, cores available to the "
              "process, library versions and the threads of each BLAS and OpenMP library.",
              reproduces=None, over=BENCH, shown=perf.machine_view(frames))


def show(benchmark: str, questions: tuple[str, ...] | None = None) -> None:
    """One numbered table per question of a benchmark (nothing when it was not run)."""
    for question, table in perf.comparisons(frames, benchmark, questions):
        name = f"{benchmark}_{question.replace('+', '_').replace('@', 'at')}"
        view = perf.comparison_view(table)
        run.table(frames[benchmark][frames[benchmark]["question"] == question], name,
                  perf.question_caption(frames, benchmark, question), reproduces=None,
                  over=BENCH, shown=view, digits={"median (s)": 4, "× ours": 2,
                                                         "peak memory (MB)": 1},
                  best=perf.view_best(view))
    if not perf.comparisons(frames, benchmark, questions):
        display(Markdown(f"*Benchmark `{benchmark}` was not run in this build.*"))


# %% [markdown]
# ## Targets
#
# The companion's performance targets ({numref}`tbl-performance-targets`), each with the value
# `make bench` measured and, when it is missed, by what factor.

# %% tags=["remove-input"]
goals = perf.targets(frames)
run.table(goals, "targets",
          "Each performance target of the companion: the bound it sets, the value measured, "
          "whether it is met and, when missed, by what factor (measured ÷ bound for an upper "
          "bound, bound ÷ measured for a lower one); \"not measured\" when its benchmark was "
          "not run.",
          reproduces=None, over=BENCH)

# %% [markdown]
# ## Retrieval metrics
#
# Every number of the book is a retrieval metric of a score matrix, so the metrics kernel is the
# inner loop of every table. The tables time MAP over the full ranking, the PR curve and P@10 of
# a VEGAS-test-fold-sized score matrix, one thread. Ours sorts each row's values once and places
# the relevant items by their values (no argsort); the same tie rules hold with ties
# (`paper_lib.metrics.retrieval`). scikit-learn's `average_precision_score` and torchmetrics'
# `RetrievalMAP` are called once per query, as a user would; torchmetrics breaks ties by order,
# which cannot matter here (the scores hold none). The first table also times two plain sorts
# that compute no metric: the floor of any ranking metric.

# %% tags=["remove-input"]
show("metrics", ("map", "map+pr+p@k", "report"))

# %% [markdown]
# ## Cluster-CCA, CCA and kernel CCA
#
# Cluster-CCA's fit on VEGAS-sized data against the two Gram matrices it cannot avoid (the
# floor), a plain numpy version, the explicit expansion into all within-class pairs (what the
# definition literally asks for: its cost grows with the square of the class sizes), and, for
# plain paired CCA, scikit-learn's iterative `CCA` (and cca-zoo where it is installed). Kernel
# CCA compares the exact kernel map (an N × N eigenproblem per view) with its Nyström
# approximation.

# %% tags=["remove-input"]
show("cluster_cca", ("fit", "pairs", "kcca", "paired_cca"))

# %% [markdown]
# ## TNN-C-CCA training
#
# The paper's method at VEGAS size: ten epochs of triplet training with batch-all mining,
# including the Cluster-CCA stage it starts from, with one and two threads; beside it the
# previous loss path (index lists of every triplet) and a fit that reads its Cluster-CCA stage
# from the in-process memo, as every setting of an ablation after the first does.

# %% tags=["remove-input"]
show("tnn", ("fit_10_epochs",))

# %% [markdown]
# ## How cost grows with the data
#
# Each implementation measured at several sizes, on log–log axes: a slope of 1 is linear growth,
# 2 quadratic. The table under the figure gives the fitted slopes of time and of peak memory.
# The rows behind each curve follow, question by question.

# %% tags=["remove-input"]
growth = perf.growth_table(frames) if frames else None
if growth is not None and not growth.empty:
    run.figure(perf.plot_growth(frames), "growth",
               "Median wall time against problem size n on log–log axes, one panel per "
               "benchmark question measured at several sizes, one line per implementation "
               "with the fitted slope of its time in the legend (cost ∝ n^slope).",
               reproduces=None, over=BENCH)
    run.table(growth, "growth",
              "The fitted log–log slopes of median time and of peak memory against n of every "
              "implementation measured at several sizes (cost ∝ n^slope: 1 linear, 2 "
              "quadratic), with the sizes measured and the time at the largest.",
              reproduces=None, over=BENCH, shown=perf.growth_view(growth),
              digits={"time at largest n (s)": 3, "time slope": 2, "memory slope": 2})
else:
    display(Markdown("No growth series measured in this build."))

# %% [markdown]
# Each growth series' rows, size by size:

# %% tags=["remove-input"]
show("metrics", ("growth",))
show("cluster_cca", ("growth",))
show("tnn", ("epoch_growth",))

# %% tags=["remove-cell"]
run.finish()
