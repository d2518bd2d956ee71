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
# # Ablation: batch number
#
# The paper's "batch number" is the number of chunks the ~22,483 VEGAS training clips of a fold
# are cut into (300 … 900, i.e. about 75 down to 25 clips per batch); batch-all mining forms its
# triplets inside each batch, so the batch size sets how many positives and negatives an anchor
# sees at a time. On a smaller dataset the same *number* of chunks would leave one or two clips
# per batch, so each paper batch number bn is mapped to the batch *size* it meant on VEGAS,
# round(22,483 / bn) clips, and TNN-C-CCA is trained with that size (every other
# hyper-parameter as in the main table; one seed, the profile's folds). The x-axis keeps the
# paper's batch number; the top axis shows clips per batch.

# %% tags=["parameters"]
dataset = "avdigits-pretrained"
profile = "quick"
seed = 0
folds = "all"
data_dir = ""
batch_numbers = None
epochs = None

# %% tags=["remove-input"]
# paper_lib: after 02_main_table (reads the main table's fits from the experiment cache)
from IPython.display import Markdown, display

from paper_lib.paper import PAPER_DATASETS, VEGAS_TRAIN_CLIPS, reference
from paper_lib.pipeline.notebook import start
from paper_lib.report import ablations as ab

run = start("ablation_batch_number", dataset=dataset, profile=profile, seed=seed, folds=folds,
            data_dir=data_dir, epochs=epochs)
ds = run.dataset()
p = run.params
fold_list = p.fold_list(ds.n_folds)
exact = ds.name in PAPER_DATASETS  # the paper's own data: exactly bn batches
records = ab.run_sweep(ds, ab.batch_number_configs(run.knob(ab.BATCH_NUMBERS, batch_numbers),
                                                   epochs=p.epochs, exact=exact),
                       folds=fold_list, seed=p.seed)
ref = reference("ablation_batch_number", ds.name)  # the paper's numbers to show (paper_lib.paper)
summary = ab.with_clips_per_batch(ab.attach_paper(ab.summarise_sweep(records), ref.rows, ref.label))
over = ab.common_fits(summary)  # "5 folds × 1 seed": the caption's setting
run.save_table(records, "records")
for key, value in ab.glue_values(summary, "ablation_batch_number").items():
    run.glue(key, value)

# %% [markdown]
# {numref}`tbl-ablation-batch-number-summary` lists our MAP for every batch number beside the
# paper's VEGAS value, and {numref}`fig-ablation-batch-number-ablation-batch-number` draws both
# as curves. The best batch number per direction, in this build:

# %% tags=["remove-input"]
display(Markdown(ab.describe_best(summary)))
run.table(summary, "summary",
          "MAP of TNN-C-CCA for each of the paper's batch numbers, A→V and V→A, with the clips "
          "per batch each one stands for: ours as mean ± std over folds (in bold the best batch "
          "number per direction), the paper's VEGAS value beside it; the fit time is the mean "
          "per fold.",
          reproduces="ablation over the batch number", over=over,
          shown=ab.summary_view(summary), digits=ab.VIEW_DIGITS)

# %% tags=["remove-input"]
run.figure(ab.plot_sweep(summary, xlabel="paper's batch number",
                         secondary=("clips per batch", ab.vegas_clips_per_batch_axis,
                                    ab.vegas_clips_per_batch_axis)),
           "ablation_batch_number",
           "MAP of TNN-C-CCA against the paper's batch number (the chunks the VEGAS training "
           f"set is cut into; top axis: the clips per batch, {VEGAS_TRAIN_CLIPS:,} / batch "
           "number), A→V (left) and V→A (right): ours as a solid line with a band of ± one standard deviation over "
           "folds, the paper's VEGAS values dashed with hollow markers.",
           reproduces="ablation over the batch number", over=over)

# %% [markdown]
# How to read it: a larger batch number means smaller batches, so fewer same-class partners and
# other-class negatives per anchor in each batch and more (noisier) optimiser steps per epoch;
# a smaller batch number means larger batches and fewer steps. The number of epochs is the same
# for every cell, so the cells differ in both batch composition and number of updates. Bands are
# ± one standard deviation over folds. The paper's curve is VEGAS's, shown for its shape.

# %% tags=["remove-cell"]
run.finish()
