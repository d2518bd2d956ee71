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
# so its numbers are those of the last `make bench` on the machine that built the book (listed
# below). The wall time of the book itself is on {doc}`../book/build_report`.

# %% tags=["parameters"]
dataset = "avdigits"
profile = "quick"
seed = 0
folds = "all"
data_dir = ""

# %% tags=["hide-input"]
# paper_lib: reads-benchmarks (re-run whenever `make bench` writes new measurements)
from IPython.display import Markdown, display

from paper_lib import paths
from paper_lib.pipeline.notebook import start
from paper_lib.report import performance as perf

run = start("performance", dataset=dataset, profile=profile, seed=seed, folds=folds,
            data_dir=data_dir)
frames = perf.load_benchmarks(paths.results_dir())
if not frames:
    display(Markdown("**Not measured in this build**: no `results/bench_*.csv` was found. Run "
                     "`make bench` (about ten minutes) and rebuild the book to fill this page."))
else:
    display(Markdown(f"Benchmarks found: {', '.join(f'`{n}`' for n in frames)}."))
    display(perf.machine(frames))

# %% [markdown]
# ## Targets
#
# The companion's performance targets, each with the value `make bench` measured and, when it is
# missed, by what factor.

# %% tags=["hide-input"]
goals = perf.targets(frames)
run.save_table(goals, "targets")
goals

# %% [markdown]
# ## Retrieval metrics
#
# MAP over the full ranking, the PR curve and P@10 of a 5,620 × 5,620 score matrix (VEGAS's test
# fold), one thread. Ours sorts each row's values once and places the relevant items by their
# values (no argsort); the same tie rules hold with ties (`paper_lib.metrics.retrieval`).
# scikit-learn's `average_precision_score` and torchmetrics' `RetrievalMAP` are called once per
# query, as a user would; torchmetrics breaks ties by order, which cannot matter here (the scores
# hold none).

# %% tags=["hide-input"]
def show(benchmark, questions=None):
    for question, table in perf.comparisons(frames, benchmark, questions):
        run.save_table(table, f"{benchmark}_{question.replace('+', '_').replace('@', 'at')}")
        display(Markdown(f"**{question}**"))
        display(table)


show("metrics", ("map", "map+pr+p@k", "report"))

# %% [markdown]
# ## Cluster-CCA, CCA and kernel CCA
#
# Cluster-CCA's fit on VEGAS-sized data (22,483 clips, 128-d audio, 1,024-d visual) against the
# two Gram matrices it cannot avoid, a plain numpy version, the explicit expansion into all
# within-class pairs (what the definition literally asks for), and, for plain paired CCA,
# scikit-learn's iterative `CCA` (and cca-zoo where it is installed).

# %% tags=["hide-input"]
show("cluster_cca")

# %% [markdown]
# ## TNN-C-CCA training

# %% tags=["hide-input"]
show("tnn")

# %% [markdown]
# ## How cost grows with the data
#
# Each implementation measured at several sizes, on log–log axes: a slope of 1 is linear growth,
# 2 quadratic. The table gives the fitted slopes of time and of peak memory.

# %% tags=["hide-input"]
growth = perf.growth_table(frames) if frames else None
if growth is not None and not growth.empty:
    run.save_table(growth, "growth")
    fig = perf.plot_growth(frames)
    run.save_figure(fig, "growth")
    display(growth)
else:
    display(Markdown("No growth series measured in this build."))

# %% tags=["remove-cell"]
run.finish()
