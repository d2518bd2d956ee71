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
dataset = "avdigits"
profile = "quick"
seed = 0
folds = "all"
data_dir = ""

# %% tags=["hide-input"]
# paper_lib: after 02_main_table (reads the main table's fits from the experiment cache)
from IPython.display import HTML, Audio, Markdown, display

from paper_lib.experiment import run_configs
from paper_lib.pipeline.notebook import start
from paper_lib.report import retrieval_examples as rx
from paper_lib.report.data_overview import clip_media, image_figure, wav_bytes
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
display(Markdown(f"Test fold **{split.name}** of **{ds.name}** ({split.test.size} clips in the "
                 f"gallery), seed {p.seed}; query clips: "
                 + ", ".join(f"`{c}`" for c in table["query_clip"].unique()) + "."))

# %% [markdown]
# ## Audio query → images (A→V)

# %% tags=["hide-input"]
media = rx.has_media(ds)
for query in table["query_clip"].unique():
    display(Markdown(f"**Query** `{query}` (class "
                     f"**{table.loc[table.query_clip == query, 'query_class'].iloc[0]}**)"))
    if media:
        m = clip_media(ds, rx.row_of(ds, query))
        display(Audio(wav_bytes(m.waveform, m.sample_rate)))
        display(rx.image_grid(ds, table, query))
    else:
        display(rx.results_grid(table, "a2v", query))

# %% [markdown]
# ## Image query → sounds (V→A)

# %% tags=["hide-input"]
for query in table["query_clip"].unique():
    display(Markdown(f"**Query** `{query}` (class "
                     f"**{table.loc[table.query_clip == query, 'query_class'].iloc[0]}**)"))
    if media:
        display(image_figure(clip_media(ds, rx.row_of(ds, query)).image))
        display(rx.spectrogram_grid(ds, table, query))
        display(HTML(rx.audio_players_html(ds, table, query)))
    else:
        display(rx.results_grid(table, "v2a", query))

# %% [markdown]
# ## The examples in context
#
# A handful of queries says little about a method; the fold-wide numbers below (every test clip
# as a query, from the same ranking) say how typical the examples are. "relevant / shown" counts
# only the examples on this page.

# %% tags=["hide-input"]
shown = rx.hits_summary(table)
fold = rx.fold_precision_at_k(by_method, k=rx.DEFAULT_K)
context = fold.merge(shown, on=["method", "direction"])
for r in context.to_dict("records"):
    key = f"retrieval_examples_{r['method']}_{r['direction']}"
    run.glue(f"{key}_p{rx.DEFAULT_K}", round(float(r[f"p@{rx.DEFAULT_K}"]), 4))
    run.glue(f"{key}_shown_relevant", int(r["relevant"]))
run.glue("retrieval_examples_shown_per_method", int(context["shown"].iloc[0]))
context.round(4)

# %% [markdown]
# Where the share of relevant results among the shown examples differs from the fold-wide P@5,
# the few queries on this page are not representative of the fold; the fold-wide P@5 and MAP are
# the numbers to compare methods by.

# %% tags=["remove-cell"]
run.finish()
