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
# # Retrieval examples: top results of CCA, C-CCA and TNN-C-CCA
#
# The paper illustrates retrieval with example queries and their top-ranked results, drawn with
# mel-spectrograms. This notebook does the same on one test fold of this build's dataset: a few
# query clips (one class each, classes spread over the class list, the clip drawn with the seed,
# never picked by how well a method does), each used once as an audio query (A→V) and once as a
# visual query (V→A). For each method the top 5 of the *whole* test fold are listed, ranked by
# cosine similarity exactly as every MAP in this book, and marked relevant (same class as the
# query, green) or not (red).

# %% tags=["parameters"]
dataset = "avdigits-pretrained"
profile = "quick"
seed = 0
folds = "all"
data_dir = ""

# %% tags=["remove-input"]
# paper_lib: after 02_main_table (reads the main table's fits from the experiment cache)
from IPython.display import HTML, display

from paper_lib.experiment import run_configs
from paper_lib.pipeline.notebook import start
from paper_lib.report import retrieval_examples as rx
from paper_lib.report.main_table import main_configs
from paper_lib.report.tsne import first_split

run = start("retrieval_examples", dataset=dataset, profile=profile, seed=seed, folds=folds,
            data_dir=data_dir)
ds = run.dataset()
p = run.params
split = first_split(ds, p.fold_list(ds.n_folds))
configs = main_configs(p.epochs, rx.METHODS)   # the main table's fits (shared cache)
_, results = run_configs(ds, configs, folds=[split.fold], seeds=[p.seed], cache=True)
by_method = {r.method: r for r in results}
queries = rx.choose_queries(ds.labels[split.test], seed=p.seed)
table = rx.top_k_table(ds, split, by_method, queries, k=rx.DEFAULT_K)
run.save_table(table, "examples")
run.glue("retrieval_examples_fold", split.name)
run.glue("retrieval_examples_n_queries", int(queries.size))
run.glue("retrieval_examples_n_gallery", int(split.test.size))
run.glue("retrieval_examples_k", rx.DEFAULT_K)
query_clips = list(table["query_clip"].unique())
query_class = dict(zip(table["query_clip"], table["query_class"], strict=True))
media = rx.has_media(ds)
setting = f"test fold {split.name}, seed {p.seed}"

# %% [markdown]
# The examples come from test fold {glue:text}`retrieval_examples_fold`, whose
# {glue:text}`retrieval_examples_n_gallery` clips are the gallery of every query;
# {glue:text}`retrieval_examples_n_queries` query clips, each method's top
# {glue:text}`retrieval_examples_k`.
#
# ## Audio query → images (A→V)

# %% tags=["remove-input"]
for i, query in enumerate(query_clips, start=1):
    if media:
        display(HTML(rx.query_player_html(ds, query)))
        run.figure(rx.image_grid(ds, table, query), f"a2v_query_{i}",
                   f"The images CCA, C-CCA and TNN-C-CCA (rows) rank first for the sound of "
                   f"query clip {query} (class {query_class[query]}; its log-mel spectrogram "
                   f"on the left), best first from left to right. Each result is titled with "
                   f"its rank, class and cosine score and framed green when it has the query's "
                   f"class, red when not.",
                   reproduces="qualitative retrieval examples", over=setting)
    else:
        run.table(rx.results_grid(table, "a2v", query), f"a2v_query_{i}",
                  f"The visual clips CCA, C-CCA and TNN-C-CCA (columns) rank first for the "
                  f"audio of query clip {query} (class {query_class[query]}), by rank: clip id, "
                  f"its class, and ✓ when the class is the query's, ✗ when not.",
                  reproduces="qualitative retrieval examples", over=setting)

# %% [markdown]
# ## Image query → sounds (V→A)
#
# Each spectrogram spans its own clip (time →, its length in the corner; 64 mel bands ↑); the
# players below each figure play the same sounds, ranks as rows and methods as columns.

# %% tags=["remove-input"]
for i, query in enumerate(query_clips, start=1):
    if media:
        run.figure(rx.spectrogram_grid(ds, table, query), f"v2a_query_{i}",
                   f"The sounds CCA, C-CCA and TNN-C-CCA (rows) rank first for the image of "
                   f"query clip {query} (class {query_class[query]}; on the left), best first "
                   f"from left to right, drawn as log-mel spectrograms over each clip's own "
                   f"length. Each result is titled with its rank, class and cosine score and "
                   f"framed green when it has the query's class, red when not.",
                   reproduces="qualitative retrieval examples", over=setting)
        display(HTML(rx.audio_players_html(ds, table, query)))
    else:
        run.table(rx.results_grid(table, "v2a", query), f"v2a_query_{i}",
                  f"The audio clips CCA, C-CCA and TNN-C-CCA (columns) rank first for the "
                  f"visual features of query clip {query} (class {query_class[query]}), by "
                  f"rank: clip id, its class, and ✓ when the class is the query's, ✗ when not.",
                  reproduces="qualitative retrieval examples", over=setting)

# %% [markdown]
# ## The examples in context
#
# A handful of queries says little about a method; the fold-wide numbers of
# {numref}`tbl-retrieval-examples-context` (every test clip as a query, from the same ranking)
# say how typical the examples are. "relevant / shown" counts only the examples on this page.

# %% tags=["remove-input"]
shown = rx.hits_summary(table)
fold = rx.fold_precision_at_k(by_method, k=rx.DEFAULT_K)
context = fold.merge(shown, on=["method", "direction"])
for r in context.to_dict("records"):
    key = f"retrieval_examples_{r['method']}_{r['direction']}"
    run.glue(f"{key}_p{rx.DEFAULT_K}", round(float(r[f"p@{rx.DEFAULT_K}"]), 4))
    run.glue(f"{key}_shown_relevant", int(r["relevant"]))
run.glue("retrieval_examples_shown_per_method", int(context["shown"].iloc[0]))
view = rx.context_view(context)
run.table(context, "context",
          f"P@{rx.DEFAULT_K} and MAP of each method over every query of the test fold, beside "
          f"the share of relevant results among the examples shown on this page; the best "
          f"fold-wide value of each column in bold.",
          reproduces=None, over=setting, shown=view, digits=4,
          best={c: "max" for c in view.columns if c.startswith(("P@", "MAP"))})

# %% [markdown]
# Where the share of relevant results among the shown examples differs from the fold-wide P@5,
# the few queries on this page are not representative of the fold; the fold-wide P@5 and MAP are
# the numbers to compare methods by.

# %% tags=["remove-cell"]
run.finish()
