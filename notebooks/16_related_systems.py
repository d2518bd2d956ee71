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
# # Related systems: VM-NET, AVE-Net, S-DCCA and TNN-C-CCA, each under its own protocol
#
# The paper's line of work sits beside two other audio-visual embedding systems that learn
# *without* class labels and were published with other protocols. **The paper does not compare
# with them**; this chapter runs all four on the book's dataset, on the same folds, and scores
# each under every protocol:
#
# - **Recall@K of the true partner** (VM-NET's protocol): is a clip's own partner among the first
#   K results of the other modality?
# - **class MAP over the full ranking** (this paper's protocol): are the clips of the query's
#   class ranked first?
# - **class nDCG@30** (AVE-Net's protocol), across modalities and within one (A→A, V→V).

# %% tags=["parameters"]
dataset = "avdigits-pretrained"
profile = "quick"
seed = 0
folds = "all"
data_dir = ""
epochs = None

# %% tags=["remove-input"]
# paper_lib: after 02_main_table (reads the main table's fits from the experiment cache)
from IPython.display import Markdown, display

from paper_lib.pipeline.notebook import start
from paper_lib.report import related_systems as rs

run = start("related_systems", dataset=dataset, profile=profile, seed=seed, folds=folds,
            data_dir=data_dir, epochs=epochs)
ds = run.dataset()
p = run.params
fold_list = p.fold_list(ds.n_folds)
systems, skipped = rs.systems_for(ds)
for message in skipped:
    display(Markdown(f"*{message}*"))
records, results = rs.run_related(ds, systems, folds=fold_list, seed=p.seed, epochs=p.epochs)
run.save_table(records, "records")
chance = rs.chance_levels(ds, fold_list)
run.glue("related_n_folds", len(fold_list))
run.glue("related_chance_r10", f"{chance['pair_r@10']:.3f}")
run.glue("related_chance_map", f"{chance['map']:.3f}")
run.glue("related_class_only_r10", f"{chance['pair_r@10_class_only']:.3f}")
best = rs.leaders(records, systems)
run.glue("related_leaders", "; ".join(f"{protocol}: {name}" for protocol, name in best.items()))
over = f"{len(fold_list)} folds × 1 seed"
run.table(rs.systems_view(systems), "systems",
          "The systems compared: what each learns from, and the protocol its own paper "
          "reports.", reproduces=None)

# %% [markdown]
# ## Every system under every protocol

# %% tags=["remove-input"]
summary = rs.protocol_summary(records, systems)
run.table(summary, "protocols",
          "Every system under every protocol, A→V rows first, then V→A: Recall@1, @5 and @10 "
          "of the true partner (VM-NET's protocol), class MAP over the full ranking (this "
          "paper's) and class nDCG@30 (AVE-Net's); mean ± standard deviation over the test "
          "folds, the best of each direction in bold.",
          reproduces=None, over=over, shown=rs.protocol_view(summary))

# %% [markdown]
# {numref}`tbl-related-systems-protocols` gives the mean ± standard deviation over
# {glue:text}`related_n_folds` test folds (one seed), d = 10 for VM-NET, S-DCCA and TNN-C-CCA
# and AVE-Net's own 128-d embedding; every number from the one metrics module. A random ranking
# scores a true-pair Recall@10 of {glue:text}`related_chance_r10` and a class MAP of about
# {glue:text}`related_chance_map` here.
#
# ## What each protocol rewards
#
# {numref}`fig-related-systems-protocols` plots, for each system, the two quantities the
# protocols count: the chance that the *true partner* is among the first K results, and the
# fraction of the first K results that share the query's *class*.

# %% tags=["remove-input"]
run.figure(rs.plot_protocols(records, systems), "protocols",
           "For each system (one panel each), the mean Recall@K of the true partner (blue) and "
           "the mean class precision@K (orange) against the number K of results read (log "
           "scale), A→V solid and V→A dashed, averaged over queries and test folds.",
           reproduces=None, over=over)

# %% [markdown]
# A system trained on pairs alone (VM-NET, AVE-Net) is asked to tell *this* clip's partner
# from every other clip, including clips of the same class; a system trained on classes
# (S-DCCA, TNN-C-CCA) is asked to make all clips of a class interchangeable. Which protocol
# favours which depends on the data. On `avdigits` the two views of a pair share *only* their
# class (each spoken digit is paired with a random MNIST image of the same digit): nothing in a
# sound singles out its own image among the other images of its class. A system that ranks the
# whole class first, in random order, expects a true-pair Recall@10 of
# {glue:text}`related_class_only_r10` here, and no system can expect more. On this dataset the
# pair protocol therefore measures class retrieval in disguise, and training on pairs brings no
# advantage under it; on VM-NET's own data (a video and its own music track) the partners share
# far more than a class, and the protocols can disagree. In this build the leaders are:
# {glue:text}`related_leaders`.

# %% [markdown]
# ## Within one modality
#
# AVE-Net's paper also retrieves within a modality (sound to sound, image to image). Each item
# queries all the *other* items of its modality (the query is removed from its gallery);
# relevance is the class ({numref}`tbl-related-systems-intra-modal`).

# %% tags=["remove-input"]
intra = rs.intra_modal_records(results, systems)
run.table(intra, "intra_modal",
          "Retrieval within one modality, sound to sound (A→A) and image to image (V→V), each "
          "test item querying the other items of its modality, relevance by class: MAP and "
          "nDCG@30, mean ± standard deviation over the test folds, the best of each direction "
          "in bold.",
          reproduces=None, over=over, shown=rs.intra_modal_view(intra))

# %% [markdown]
# ## The systems
#
# **VM-NET** (Hong, Im and Yang, ICMR 2018) embeds the two views with two networks trained from
# pairs: an inter-modal ranking loss asks a true pair to be closer, by a margin, than the pairs
# it forms with the other items of the batch, in both directions; the *soft intra-modal
# structure constraint* asks each embedding to keep the neighbourhood order its input had
# (see `paper_lib/methods/vm_net.py` for the equations and every choice).
#
# **AVE-Net** (Arandjelović and Zisserman, ECCV 2018) learns from raw media: a convolutional
# audio network on log-mel spectrograms and a vision network on images, each ending in an
# L2-normalised 128-d embedding, fused by their Euclidean distance into the *audio-visual
# correspondence* task (does this sound go with this image? true pairs against mismatched
# ones), trained without any label (`paper_lib/methods/ave_net.py`).
#
# **S-DCCA** (the book's C-DCCA: deep CCA on the within-class pairs) and **TNN-C-CCA** (the
# paper) use the class labels; they are the main table's fits, read back from the cache.

# %% [markdown]
# ## Using a trained model: search a collection
#
# Every method can be fitted once, saved and used outside the notebooks (`paper-lib fit`,
# `embed`, `index build`, `search`; see the README). The index is faiss: exact inner product on
# unit-length embeddings (cosine) by default, or an approximate index (IVF, HNSW) for
# collections too large for brute force. {numref}`tbl-related-systems-index-comparison`
# measures, in this build, each kind on a generated collection of embeddings in Gaussian
# clusters: the share of the exact index's best items each approximate index finds, and build
# and search wall time.

# %% tags=["remove-input"]
collection, queries = rs.clustered_collection(10_000, 1_000, seed=p.seed)
indexes = rs.index_comparison(collection, queries)
run.table(indexes, "index_comparison",
          f"Each kind of faiss index on a generated collection of {len(collection):,} "
          f"{collection.shape[1]}-d embeddings in Gaussian clusters, searched by "
          f"{len(queries):,} queries: the share of the exact index's k best items it finds "
          f"(recall@k against the exact index), and its build and search wall time.",
          reproduces=None, shown=rs.index_view(indexes), digits=4, measurement=True)

# %% tags=["remove-cell"]
run.finish()
