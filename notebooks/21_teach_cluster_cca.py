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
# # Why Cluster-CCA
#
# CCA finds what two paired views have most in common. That is not always what retrieval by
# class needs: if each audio-visual pair shares something strong that has nothing to do with
# the class (the recording session, the camera, the loudness), CCA will faithfully find *that*.
# Cluster-CCA {cite:p}`rasiwasia2014cluster`, the first stage of TNN-C-CCA
# {cite:p}`zeng2020deep`, changes what counts as a correspondence: every audio clip of a class
# is paired with every visual clip of the same class. This chapter builds a toy where plain CCA
# fails for exactly this reason and Cluster-CCA succeeds, derives the Cluster-CCA covariances
# from class sums (so the all-pairs list is never built), introduces the authors' β variant, and
# shows the rank limit that caps the number of useful components at $C - 1$.
#
# ## Overview
#
# **Prerequisites.**
# - CCA as the previous chapter builds it, {doc}`20_teach_cca_2d`: the covariances
#   $\Sigma_{xx}$, $\Sigma_{yy}$, $\Sigma_{xy}$, the ridge $r$, the whitened cross-covariance
#   $T_r$ and its SVD $T_r = U S V^\top$, whose singular values $s_j$ are the canonical
#   correlations; and {ref}`the dataset box <teach-dataset-box>` of that chapter.
# - Linear algebra: the rank of a sum of $C$ rank-one matrices (outer products of two vectors)
#   and the span of linearly dependent vectors.
#
# **You will learn.**
# - Explain why CCA follows a strong nuisance that both views share, and why Cluster-CCA
#   follows the classes instead.
# - Derive the within-class cross-covariance $\Sigma_{xy}^{\mathrm{cl}}$ of the
#   $M = \sum_c n_c^2$ within-class pairs from class sums, and compute it in ten lines of numpy.
# - Derive the rank bound $\operatorname{rank} \Sigma_{xy}^{\mathrm{cl}} \le C - 1$ and what it
#   means for the number of components $k$.
# - Predict how the authors' β variant and the toy's knobs (nuisance strength, class
#   separation, number of classes) change which method wins.
#
# Notation: {doc}`../book/notation`.
#
# Re-run this chapter with other knobs: `paper-lib reproduce --dataset avdigits --profile quick
# --only 21_teach_cluster_cca -p ccca_nuisance_scale=1` (then open
# `_build/executed/avdigits-quick/21_teach_cluster_cca.ipynb` in Jupyter). The knobs are
# `ccca_n_per_class` (toy pairs per class), `ccca_nuisance_scale` (the nuisance scale $s_h$),
# `ccca_class_scale` (the class separation $s_\gamma$), `ccca_n_classes` (the toy's $C$) and
# `betas` (the values of β swept).

# %% tags=["parameters"]
dataset = "avdigits-pretrained"
profile = "quick"
seed = 0
folds = "all"
data_dir = ""
betas = None
ccca_n_per_class = None
ccca_nuisance_scale = None
ccca_class_scale = None
ccca_n_classes = None

# %% tags=["remove-input"]
import numpy as np

from paper_lib.methods.cluster_cca import ClusterCCA
from paper_lib.pipeline.notebook import start
from paper_lib.report import teach_cluster_cca as tc
from paper_lib.report._teaching_common import TOY_SETTING
from paper_lib.report.ablations import BETAS
from paper_lib.report.spectrum import canonical_spectrum

run = start("teach_cluster_cca", dataset=dataset, profile=profile, seed=seed, folds=folds,
            data_dir=data_dir)
ds = run.raw_features_dataset()  # the raw-feature avdigits (pixels a reader can see)
p = run.params
folds = p.fold_list(ds.n_folds)

# %% [markdown]
# ## A toy where CCA fails
#
# Take $C$ = {glue:text}`teach_cluster_cca_toy_classes` classes. Pair $i$ of class $c_i$ carries
# a nuisance $h_i \in \mathbb R^{d_h}$ ($d_h$ = {glue:text}`teach_cluster_cca_toy_nuisance_dims`),
# drawn independently of the class and shared by both views, and a class code $\gamma_{c_i}$
# (the corners of a regular simplex of radius $s_\gamma$). Each view mixes the two with its own
# matrix and adds its own noise:
#
# $$
# \begin{aligned}
# x_i &= A_x \begin{bmatrix} h_i \\ \gamma_{c_i} \end{bmatrix} + \varepsilon_{x,i}, \qquad
# y_i = A_y \begin{bmatrix} h_i \\ \gamma_{c_i} \end{bmatrix} + \varepsilon_{y,i}, \\
# h_i &\sim \mathcal N(0, s_h^2 I), \qquad \varepsilon \sim \mathcal N(0, \sigma^2 I).
# \end{aligned}
# $$ (eq-teach-ccca-toy)
#
# Here $s_h$ = {glue:text}`teach_cluster_cca_toy_nuisance_scale:.3g`, $s_\gamma$ =
# {glue:text}`teach_cluster_cca_toy_class_scale:.3g` and $\sigma$ =
# {glue:text}`teach_cluster_cca_toy_noise:.3g`. Along a nuisance direction the two views of a
# pair correlate at {glue:text}`teach_cluster_cca_toy_rho_nuisance:.3f`, along a class direction
# at {glue:text}`teach_cluster_cca_toy_rho_class:.3f` (population values of this toy: each is
# $\lambda / (\lambda + \sigma^2)$ with the variance $\lambda = s_h^2$ of a nuisance dimension
# or $\lambda = s_\gamma^2 / (C - 1)$ of a class dimension). Both methods are fitted on
# {glue:text}`teach_cluster_cca_toy_n_train` training pairs
# ({glue:text}`teach_cluster_cca_toy_features`-d views) and embed a fresh test sample, each view
# from itself, into $k = C - 1$ dimensions. We score them by retrieval:
#
# (teach-map-box)=
# :::{admonition} What MAP counts
# :class: note
# Every test clip of one modality is a query $q$. It ranks all $G$ test clips of the other
# modality (the gallery) by similarity, here the cosine of the embeddings; the $R$ gallery items
# of its class are the relevant ones. Its average precision (AP) averages the precision
# $\mathrm{P}@j$ (the share of relevant items among the first $j$ results) at the rank $j$ of
# each relevant item, and MAP averages AP over all queries: A→V for audio queries against the
# visual gallery, V→A the reverse. MAP is 1 when every query ranks all its relevant items first,
# and about the class share $R/G$ for a random ranking. {doc}`23_teach_protocol` defines it in
# full and works an example by hand.
# :::
#
# The embeddings and their MAP ({numref}`fig-teach-cluster-cca-toy-embeddings`):

# %% tags=["hide-input"]
# the toy's knobs (each None: the chapter's default)
C_toy = run.knob(tc.CCCA_N_CLASSES, ccca_n_classes)
n_per_class = run.knob(tc.CCCA_N_PER_CLASS, ccca_n_per_class)
nuisance_scale = run.knob(tc.CCCA_NUISANCE_SCALE, ccca_nuisance_scale)
class_scale = run.knob(tc.CCCA_CLASS_SCALE, ccca_class_scale)
world, train, test = tc.make_toy(n_classes=C_toy, nuisance_scale=nuisance_scale,
                                 class_scale=class_scale, n_per_class=n_per_class, seed=p.seed)
fits, diag, toy_maps = tc.compare_cca_and_ccca(train, test, n_components=C_toy - 1)

first = diag[diag.component == 1].set_index("method")
maps = toy_maps.set_index(["method", "direction"])["map"]
rho_pop = world.paired_correlations()
run.glue("teach_cluster_cca_toy_classes", C_toy)
run.glue("teach_cluster_cca_toy_nuisance_dims", world.n_nuisance)
run.glue("teach_cluster_cca_toy_nuisance_scale", nuisance_scale)
run.glue("teach_cluster_cca_toy_class_scale", class_scale)
run.glue("teach_cluster_cca_toy_noise", world.noise)
run.glue("teach_cluster_cca_toy_features", int(train.audio.shape[1]))
run.glue("teach_cluster_cca_toy_n_train", int(train.labels.size))
run.glue("teach_cluster_cca_toy_rho_nuisance", rho_pop["nuisance"])
run.glue("teach_cluster_cca_toy_rho_class", rho_pop["class"])
for method, key in ((tc.CCA_NAME, "cca"), (tc.RASIWASIA_NAME, "ccca")):
    phi, eta = float(first.loc[method, "nuisance_r"]), float(first.loc[method, "class_eta"])
    run.glue(f"teach_cluster_cca_toy_{key}_nuisance_r1", phi)
    run.glue(f"teach_cluster_cca_toy_{key}_class_eta1", eta)
    run.glue(f"teach_cluster_cca_toy_{key}_follows", tc.follows(phi, eta))
    for d in ("a2v", "v2a"):
        run.glue(f"teach_cluster_cca_toy_{key}_map_{d}", float(maps[method, d]))
run.glue("teach_cluster_cca_toy_chance",
         tc.mean_prevalence(test.labels, test.labels))
run.figure(tc.plot_toy_embeddings(fits, test), "toy_embeddings",
           f"The first two components of the test embeddings of CCA (left) and "
           f"{tc.RASIWASIA_NAME} (right), both fitted on {train.labels.size} training pairs of "
           f"the toy: audio as dots, visual as crosses, coloured by class. The panel title gives "
           f"each method's MAP in both directions.", reproduces=None, data=TOY_SETTING)

# %% [markdown]
# :::{admonition} Try this
# :class: tip
# Weaken the nuisance: `paper-lib reproduce --dataset avdigits --profile quick --only
# 21_teach_cluster_cca -p ccca_nuisance_scale=1`, then open
# `_build/executed/avdigits-quick/21_teach_cluster_cca.ipynb`. Once a class direction has the
# higher paired correlation, CCA's first components turn to the classes and its MAP climbs
# towards that of C-CCA (Rasiwasia), which hardly moves (exercise 6 works out where the switch
# happens). Or shrink the class separation (`-p ccca_class_scale=1`): CCA, already following
# the nuisance, stays near chance, while C-CCA (Rasiwasia) still follows the classes but loses
# MAP, because the classes now overlap. Or give each class fewer pairs (`-p ccca_n_per_class=5`): the class sums average
# fewer nuisance draws, so C-CCA (Rasiwasia)'s components pick up more of the nuisance.
# :::
#
# To say *what* a component follows, we measure on the test sample its multiple correlation
# $\phi$ with the hidden nuisance (the square root of the share of its variance that a
# least-squares fit on $h$ explains) and its correlation ratio $\eta$ with the class ($\eta^2$ = between-class share of its
# variance; {numref}`fig-teach-cluster-cca-toy-component-diagnostics`,
# {numref}`tbl-teach-cluster-cca-toy-component-diagnostics`; the MAP in
# {numref}`tbl-teach-cluster-cca-toy-map`):

# %% tags=["hide-input"]
run.figure(tc.plot_component_diagnostics(diag), "toy_component_diagnostics",
           f"What each component of the test embedding (audio side) follows, for CCA (left) and "
           f"{tc.RASIWASIA_NAME} (right): its multiple correlation φ with the hidden nuisance "
           f"(red) and its correlation ratio η with the class (blue).", reproduces=None,
           data=TOY_SETTING)
run.table(diag, "toy_component_diagnostics",
          "The numbers of the figure above: per method and component of the test embedding "
          "(audio side), the nuisance φ and the class η.", reproduces=None, data=TOY_SETTING,
          shown=tc.diagnostics_view(diag))
run.table(toy_maps, "toy_map",
          f"The cross-modal MAP (cosine, full ranking) of CCA and {tc.RASIWASIA_NAME} on the "
          f"toy's test sample, in both directions; the best per column in bold.",
          reproduces=None, data=TOY_SETTING, shown=tc.map_view(toy_maps), digits=4,
          best={tc.MAP_A2V: "max", tc.MAP_V2A: "max"})

# %% [markdown]
# CCA's first component follows {glue:text}`teach_cluster_cca_toy_cca_follows` (nuisance
# $\phi$ = {glue:text}`teach_cluster_cca_toy_cca_nuisance_r1:.3f`, class $\eta$ =
# {glue:text}`teach_cluster_cca_toy_cca_class_eta1:.3f`): CCA's first component is the most
# correlated thing the pairs share, and that is the nuisance whenever its paired correlation is
# the higher. C-CCA (Rasiwasia)'s first component follows
# {glue:text}`teach_cluster_cca_toy_ccca_follows` ($\phi$ =
# {glue:text}`teach_cluster_cca_toy_ccca_nuisance_r1:.3f`, $\eta$ =
# {glue:text}`teach_cluster_cca_toy_ccca_class_eta1:.3f`). Retrieval by class follows: the
# cross-modal MAP (cosine, full ranking, `paper_lib.metrics`) is
# {glue:text}`teach_cluster_cca_toy_cca_map_a2v:.3f` (A→V) and
# {glue:text}`teach_cluster_cca_toy_cca_map_v2a:.3f` (V→A) for CCA against
# {glue:text}`teach_cluster_cca_toy_ccca_map_a2v:.3f` and
# {glue:text}`teach_cluster_cca_toy_ccca_map_v2a:.3f` for C-CCA (Rasiwasia); a random ranking
# scores about the class share $R/G$, {glue:text}`teach_cluster_cca_toy_chance:.3f`.
#
# ## Cluster-CCA from class sums
#
# Cluster-CCA keeps the CCA machinery (whitening and an SVD, see the previous chapter) and
# changes the correspondences: every $x \in X_c$ is paired with every $y \in Y_c$. With $n_c$
# clips of class $c$ in each view there are
#
# $$
# M = \sum_c n_c \cdot n_c = \sum_c n_c^2
# $$ (eq-teach-ccca-m)
#
# pairs. Running CCA on this expanded list never requires the list. Each $x \in X_c$ appears in
# $n_c$ pairs, so the means over the pairs are the pair-weighted means
# $\bar x^{\mathrm{cl}} = \frac1M \sum_c n_c \sum_{x\in X_c} x = \sum_c \frac{n_c^2}{M}\,\bar x_c$
# (likewise $\bar y^{\mathrm{cl}}$; $\bar x_c$ is the mean of class $c$). With
# $\tilde x = x - \bar x^{\mathrm{cl}}$ and $\tilde y = y - \bar y^{\mathrm{cl}}$,
#
# $$
# \begin{aligned}
# \Sigma_{xx} &= \frac1M \sum_c n_c \sum_{x \in X_c} \tilde x \tilde x^\top, \\
# \Sigma_{xy}^{\mathrm{cl}} &= \frac1M \sum_c \Big(\sum_{x \in X_c} \tilde x\Big)
#                              \Big(\sum_{y \in Y_c} \tilde y\Big)^{\!\top}
#   = \frac1M \sum_c n_c^2\, (\bar x_c - \bar x^{\mathrm{cl}})
#                           (\bar y_c - \bar y^{\mathrm{cl}})^\top,
# \end{aligned}
# $$ (eq-teach-ccca-sums)
#
# $\Sigma_{yy}$ like $\Sigma_{xx}$, and Cluster-CCA is CCA with these: the SVD of
# $T_r = (\Sigma_{xx} + rI)^{-1/2}\, \Sigma_{xy}^{\mathrm{cl}}\, (\Sigma_{yy} + rI)^{-1/2}$.
# Without centring, the cross-covariance is $\frac1M \sum_c n_c^2\, \bar x_c \bar y_c^\top$,
# the form in {cite:t}`rasiwasia2014cluster`. Computing {eq}`eq-teach-ccca-sums` needs one
# weighted scatter matrix per view and one class sum per class: $O(N(d_a^2 + d_v^2))$ time and
# $O(d_a^2 + d_v^2)$ memory, where the explicit list would need $M$ rows.
#
# The dataset is described in {ref}`the dataset box <teach-dataset-box>`. Its clips are split
# into $F$ folds; a fit uses the rows of the other folds for training and is tested on the rows
# of its fold (the protocol is {doc}`23_teach_protocol`'s subject). The library's class-sum
# $\Sigma_{xy}^{\mathrm{cl}}$ (`cluster_cca.within_class_cross_covariance`) equals the explicit
# expansion on a small sample ({numref}`tbl-teach-cluster-cca-pair-counts`):

# %% tags=["hide-input"]
small = tc.sample_views(world, n_per_class=12, seed=p.seed + 3)
diff = np.abs(tc.cluster_cross_covariance(small.audio, small.visual, small.labels)
              - tc.explicit_pair_cross_covariance(small.audio, small.visual, small.labels)).max()
split = next(ds.splits([folds[0]]))
y_tr = ds.labels[split.train]
# [choice] VEGAS's size as the paper reports it: about 22,500 training clips in 10 classes
VEGAS_TRAIN_CLIPS, VEGAS_CLASSES = 22_500, 10
run.glue("teach_cluster_cca_pairs_max_diff", float(diff))
run.glue("teach_cluster_cca_small_n", int(small.labels.size))
run.glue("teach_cluster_cca_small_m", tc.within_class_pairs(small.labels))
run.glue("teach_cluster_cca_ds_name", ds.name)
run.glue("teach_cluster_cca_ds_n_train", int(split.train.size))
run.glue("teach_cluster_cca_ds_m", tc.within_class_pairs(y_tr))
run.glue("teach_cluster_cca_vegas_n", VEGAS_TRAIN_CLIPS)
run.glue("teach_cluster_cca_vegas_m", tc.balanced_pairs(VEGAS_TRAIN_CLIPS, VEGAS_CLASSES))
small_name = "small toy sample"
ds_name = f"{ds.name}, training rows of fold {folds[0]}"
counts = tc.pair_counts({small_name: small.labels, ds_name: y_tr}, {small_name: float(diff)})
run.table(counts, "pair_counts",
          "Clips N and within-class pairs M of a small toy sample and of the training rows of "
          "the build's dataset and, for the toy only, the largest absolute difference between "
          "the class-sum cross-covariance and the one computed from the explicit list of "
          "pairs; on the dataset that list is what the class sums avoid building.",
          reproduces=None, shown=tc.pair_counts_view(counts))

# %% [markdown]
# On {glue:text}`teach_cluster_cca_small_n` pairs ($M$ = {glue:text}`teach_cluster_cca_small_m`)
# the two agree to {glue:text}`teach_cluster_cca_pairs_max_diff:.1e`. On the training rows of
# {glue:text}`teach_cluster_cca_ds_name` there are $N$ = {glue:text}`teach_cluster_cca_ds_n_train`
# clips but $M$ = {glue:text}`teach_cluster_cca_ds_m` within-class pairs; for VEGAS (about
# {glue:text}`teach_cluster_cca_vegas_n:,` training clips in 10 classes) $M$ is about
# {glue:text}`teach_cluster_cca_vegas_m:,.0f`.
#
# Here is the whole of C-CCA (Rasiwasia) in plain numpy, on the toy's training sample: the
# pair-weighted centring, the class sums, $\Sigma_{xy}^{\mathrm{cl}}$ and $\Sigma_{xx}$,
# $\Sigma_{yy}$ of {eq}`eq-teach-ccca-sums`, then whitening and the SVD of $T_r$:

# %%
X, Y, labels = train.audio, train.visual, train.labels
r, k = 1e-4, C_toy - 1                                   # ridge r, components k
classes, c_of, n_c = np.unique(labels, return_inverse=True, return_counts=True)
w = n_c[c_of]                                            # clip i sits in n_c of the M pairs
M = w.sum()                                              # M = Σ_c n_c²
Xt, Yt = X - w @ X / M, Y - w @ Y / M                    # x̃ = x − x̄^cl, ỹ = y − ȳ^cl
Sx = np.stack([Xt[c_of == c].sum(axis=0) for c in range(classes.size)])  # class sums (C, d_a)
Sy = np.stack([Yt[c_of == c].sum(axis=0) for c in range(classes.size)])  # (C, d_v)
Sxy_cl = Sx.T @ Sy / M                                   # Σ_xy^cl
Sxx = (w[:, None] * Xt).T @ Xt / M + r * np.eye(X.shape[1])   # Σ_xx + rI
Syy = (w[:, None] * Yt).T @ Yt / M + r * np.eye(Y.shape[1])   # Σ_yy + rI


def inv_sqrt(S: np.ndarray) -> np.ndarray:              # S^(-1/2) of a symmetric S > 0
    e, V = np.linalg.eigh(S)
    return V / np.sqrt(e) @ V.T


U, s, Vt = np.linalg.svd(inv_sqrt(Sxx) @ Sxy_cl @ inv_sqrt(Syy))   # T_r = U S Vᵀ
W_x = inv_sqrt(Sxx) @ U[:, :k]                           # the k audio directions w_x

# %% [markdown]
# The library's estimator, `ClusterCCA(variant="rasiwasia")` with the same ridge, gives the same
# directions and canonical correlations:

# %% tags=["hide-input"]
library = ClusterCCA(n_components=k, variant="rasiwasia", reg=r).fit(X, Y, labels)
numpy_gap = tc.max_difference_to_library(W_x, s[:k], library)
if numpy_gap > 1e-8:
    raise AssertionError(f"numpy and ClusterCCA differ by {numpy_gap:.2e}")
run.glue("teach_cluster_cca_numpy_max_diff", numpy_gap)
run.glue("teach_cluster_cca_numpy_s1", float(s[0]))

# %% [markdown]
# The largest absolute difference between the numpy directions and correlations and the
# library's is {glue:text}`teach_cluster_cca_numpy_max_diff:.1e` (the first canonical
# correlation is $s_1$ = {glue:text}`teach_cluster_cca_numpy_s1:.3f`).
#
# Why the nuisance disappears: a class sum $\sum_{x \in X_c} \tilde x$ adds $n_c$ independent
# nuisance draws, whose sum grows like $\sqrt{n_c}$, while the class code adds up coherently,
# like $n_c$. After the $1/M$ normalisation the nuisance part of $\Sigma_{xy}^{\mathrm{cl}}$
# shrinks roughly by a factor $n_c$ and the class part survives, so the SVD of $T_r$ ranks the
# class directions first.
#
# ## The authors' β variant
#
# The authors' code (the `c_cca` method of this book, shown as C-CCA (β = 0.2); TNN-C-CCA starts
# from it) does not use the pair-weighted covariances. It keeps the ordinary per-view
# covariances $\Sigma_{xx}$, $\Sigma_{yy}$ and mixes the one-to-one paired cross-covariance
# $\Sigma_{xy}$ with the within-class one:
#
# $$
# \begin{aligned}
# \Sigma_{xy}^{(\beta)} &= \beta\, \Sigma_{xy} + (1 - \beta)\, \Sigma_{xy}^{\mathrm{cl}}, \\
# \beta &= 0.2 .
# \end{aligned}
# $$ (eq-teach-ccca-beta)
#
# (The authors' within-class term is centred by the ordinary means $\bar x$, $\bar y$; for
# balanced classes that is the same $\Sigma_{xy}^{\mathrm{cl}}$, exercises 3 and 5.)
# $\beta = 1$ is plain CCA; $\beta = 0$ keeps only the within-class term. On the toy, with the
# profile's values of $\beta$ ({numref}`fig-teach-cluster-cca-toy-beta-sweep`,
# {numref}`tbl-teach-cluster-cca-toy-beta-sweep`):

# %% tags=["hide-input"]
sweep = tc.beta_sweep(train, test, run.knob(BETAS, betas), n_components=C_toy - 1)
run.figure(tc.plot_beta_sweep(sweep), "toy_beta_sweep",
           "The authors' β variant of Cluster-CCA on the toy, for each β of the profile. Top: "
           "the test MAP, A→V (solid) and V→A (dashed). Bottom: what the first component "
           "follows, its nuisance φ (red) and class η (blue).", reproduces=None,
           data=TOY_SETTING)
best = sweep.loc[sweep.a2v.idxmax()]
run.glue("teach_cluster_cca_beta_best", float(best.beta))
run.glue("teach_cluster_cca_beta_best_map_a2v", float(best.a2v))
run.glue("teach_cluster_cca_beta_max", float(sweep.beta.max()))
run.glue("teach_cluster_cca_beta_max_map_a2v", float(sweep.loc[sweep.beta.idxmax(), "a2v"]))
run.glue("teach_cluster_cca_beta_max_nuisance_r1",
         float(sweep.loc[sweep.beta.idxmax(), "nuisance_r"]))
run.table(sweep, "toy_beta_sweep",
          "The numbers of the figure above: per β, the test MAP in both directions (the best in "
          "bold) and the nuisance φ and class η of the first component.", reproduces=None,
          data=TOY_SETTING, shown=tc.beta_sweep_view(sweep), digits=tc.BETA_SWEEP_DIGITS,
          best={tc.MAP_A2V: "max", tc.MAP_V2A: "max"})

# %% [markdown]
# The best A→V MAP of the sweep, {glue:text}`teach_cluster_cca_beta_best_map_a2v:.3f`, is
# reached at β = {glue:text}`teach_cluster_cca_beta_best:.2g`; at the largest β of the sweep,
# {glue:text}`teach_cluster_cca_beta_max:.2g`, the MAP is
# {glue:text}`teach_cluster_cca_beta_max_map_a2v:.3f` and the first component's nuisance
# $\phi$ is {glue:text}`teach_cluster_cca_beta_max_nuisance_r1:.3f`. The paired term brings
# back exactly the pair-level information that the within-class term averages away; how much
# of it helps depends on whether the pairs share class information or nuisance. On real
# features β = 0.2 is the authors' setting, and the ablation chapter varies it.
#
# :::{admonition} Try this
# :class: tip
# Find where the β variant switches: `paper-lib reproduce --dataset avdigits --profile quick
# --only 21_teach_cluster_cca -p betas=0,0.5,0.7,0.8,0.9,1`, then open
# `_build/executed/avdigits-quick/21_teach_cluster_cca.ipynb`. Predict first: the within-class
# term holds almost no nuisance, so along a nuisance direction the mixed correlation is about
# β times the nuisance's paired correlation, while along a class direction it stays near the
# class's paired correlation (both terms carry the class). The first component should switch
# to the nuisance, and the MAP drop, only where β times the one exceeds the other: far above
# the authors' 0.2 on this toy. Add `-p ccca_nuisance_scale=1` and there is no switch at all.
# :::
#
# ## The rank limit: only $C - 1$ useful components
#
# By {eq}`eq-teach-ccca-sums`, $\Sigma_{xy}^{\mathrm{cl}}$ is a sum of $C$ rank-one terms
# $\frac1M\, n_c(\bar x_c - \bar x^{\mathrm{cl}})\; n_c(\bar y_c - \bar y^{\mathrm{cl}})^\top$.
# The pair-weighted centring makes them linearly dependent:
#
# $$
# \sum_c n_c \cdot n_c\,(\bar x_c - \bar x^{\mathrm{cl}})
#   = \sum_c n_c^2\, \bar x_c \;-\; \Big(\sum_c n_c^2\Big)\, \bar x^{\mathrm{cl}}
#   = M \bar x^{\mathrm{cl}} - M \bar x^{\mathrm{cl}} = 0 ,
# $$ (eq-teach-ccca-rank)
#
# so the $C$ centred class vectors span at most $C - 1$ dimensions,
# $\operatorname{rank} \Sigma_{xy}^{\mathrm{cl}} \le C - 1$, and so is the rank of $T_r$:
# C-CCA (Rasiwasia) has at most $C - 1$ non-zero canonical correlations. Components beyond
# $C - 1$ are directions of zero within-class cross-covariance, whatever the SVD returns for
# them. Numerically, on the toy and on the training rows of the first fold of the build's
# dataset ({numref}`fig-teach-cluster-cca-rank-limit`,
# {numref}`tbl-teach-cluster-cca-dataset-correlation-spectrum`):

# %% tags=["hide-input"]
C_toy_sigma = tc.cluster_cross_covariance(train.audio, train.visual, train.labels)
sv = tc.singular_values(C_toy_sigma)
C = ds.n_classes
n_spec = int(min(2 * C, ds.audio.shape[1], ds.visual.shape[1]))
spec = canonical_spectrum(ds.audio[split.train], ds.visual[split.train], y_tr, n_spec)
spectrum = spec.table
one_fit = f"fold {folds[0]}, one fit"
run.figure(tc.plot_rank_limit(sv, C_toy, spectrum, C, ds.name), "rank_limit",
           rf"The singular values of the toy's within-class cross-covariance "
           rf"$\Sigma_{{xy}}^{{\mathrm{{cl}}}}$ (top, log scale, {C_toy} classes) and the "
           rf"canonical correlation $s_j$ of each component $j$ for {tc.CCA_NAME}, "
           rf"{tc.BETA_NAME} and {tc.RASIWASIA_NAME} fitted on the training rows of fold "
           rf"{folds[0]} of {ds.name} (bottom, {C} classes). Dotted: the limit $C - 1$.",
           reproduces=None, over=one_fit,
           alt=f"Singular values of the toy's within-class cross-covariance and canonical "
               f"correlations per component on {ds.name}, dropping to zero after C − 1 for "
               f"{tc.RASIWASIA_NAME}.")
run.table(spectrum, "dataset_correlation_spectrum",
          f"The canonical correlation of each component on the training rows of fold "
          f"{folds[0]} of {ds.name}, for {tc.CCA_NAME}, {tc.BETA_NAME} and "
          f"{tc.RASIWASIA_NAME}.",
          reproduces=None, over=one_fit, shown=tc.spectrum_view(spectrum), digits=4)

run.glue("teach_cluster_cca_toy_rank", tc.matrix_rank(C_toy_sigma))
run.glue("teach_cluster_cca_toy_sv_ratio", float(sv[C_toy - 1] / sv[0]))
run.glue("teach_cluster_cca_ds_classes", C)
run.glue("teach_cluster_cca_ds_classes_minus_1", C - 1)
run.glue("teach_cluster_cca_ds_rank", tc.matrix_rank(
    tc.cluster_cross_covariance(ds.audio[split.train], ds.visual[split.train], y_tr)))
run.glue("teach_cluster_cca_ds_ras_rho_cm1", tc.spectrum_at(spectrum, tc.RASIWASIA_NAME, C - 1))
run.glue("teach_cluster_cca_ds_ras_rho_c", tc.spectrum_at(spectrum, tc.RASIWASIA_NAME, C))
run.glue("teach_cluster_cca_ds_beta_rho_c", tc.spectrum_at(spectrum, tc.BETA_NAME, C))

# %% [markdown]
# The toy's $\Sigma_{xy}^{\mathrm{cl}}$ has numerical rank
# {glue:text}`teach_cluster_cca_toy_rank` for {glue:text}`teach_cluster_cca_toy_classes`
# classes (the $C$-th singular value is {glue:text}`teach_cluster_cca_toy_sv_ratio:.1e` of the
# first). On {glue:text}`teach_cluster_cca_ds_name`
# ({glue:text}`teach_cluster_cca_ds_classes` classes) the rank is
# {glue:text}`teach_cluster_cca_ds_rank`; the C-CCA (Rasiwasia) correlation of component
# {glue:text}`teach_cluster_cca_ds_classes_minus_1` is
# {glue:text}`teach_cluster_cca_ds_ras_rho_cm1:.3f` and that of component
# {glue:text}`teach_cluster_cca_ds_classes` is {glue:text}`teach_cluster_cca_ds_ras_rho_c:.1e`.
# The paper keeps $k = 10$ components for 10 classes, one more than C-CCA (Rasiwasia) can fill;
# with $k = 20 \dots 50$ (the paper's ablation over $k$) the extra components carry no
# within-class correlation at all. C-CCA (β = 0.2) is not bound by the limit, because its
# paired term has full rank (its component {glue:text}`teach_cluster_cca_ds_classes`
# correlation is {glue:text}`teach_cluster_cca_ds_beta_rho_c:.3f`), but the extra components
# then come from the one-to-one pairs, not from the classes.
#
# :::{admonition} Try this
# :class: tip
# Give the toy more classes: `paper-lib reproduce --dataset avdigits --profile quick --only
# 21_teach_cluster_cca -p ccca_n_classes=5`, then open
# `_build/executed/avdigits-quick/21_teach_cluster_cca.ipynb`. Predict before you look: the
# top panel of the figure above should show $C - 1$ = 4 clear singular values and then a drop
# to round-off, and every toy fit now has $k = 4$ components (the scatter plots show the first
# two of them).
# :::
#
# ## On the build's dataset
#
# The same comparison on real features: CCA, C-CCA (β = 0.2) (the authors', the book's `c_cca`)
# and C-CCA (Rasiwasia) (`c_cca_rasiwasia`), fitted on the training folds and evaluated on the
# first test fold with $k$ = 10 components, the paper's (or fewer if the features are
# narrower). The models are the ones fitted above: the first $k$ components of a CCA-family fit
# are exactly the $k$-component fit, so the numbers equal what the experiment runner reports
# for this fold ({numref}`tbl-teach-cluster-cca-dataset-fold-map`).

# %% tags=["hide-input"]
d_eval = int(min(10, n_spec))
fold_maps = tc.leading_components_map(spec.models, ds.audio[split.test], ds.visual[split.test],
                                      ds.labels[split.test], d=d_eval)
run.table(fold_maps, "dataset_fold_map",
          f"The test MAP (cosine, full ranking) of {tc.CCA_NAME}, {tc.BETA_NAME} and "
          f"{tc.RASIWASIA_NAME} on fold {folds[0]} of {ds.name}, with the first k components "
          f"of the fits above; the best per column in bold.", reproduces=None, over=one_fit,
          shown=tc.map_view(fold_maps), digits=4, best={tc.MAP_A2V: "max", tc.MAP_V2A: "max"})
ds_map = fold_maps.set_index(["method", "direction"])["map"]
keys = {tc.CCA_NAME: "cca", tc.BETA_NAME: "c_cca", tc.RASIWASIA_NAME: "c_cca_rasiwasia"}
for name, key in keys.items():
    for d in ("a2v", "v2a"):
        run.glue(f"teach_cluster_cca_ds_{key}_map_{d}", float(ds_map[name, d]))
verdict = "higher" if ds_map[tc.BETA_NAME, "a2v"] > ds_map[tc.CCA_NAME, "a2v"] else "not higher"
run.glue("teach_cluster_cca_ds_verdict", verdict)
run.glue("teach_cluster_cca_ds_d", d_eval)

# %% [markdown]
# On the first fold of {glue:text}`teach_cluster_cca_ds_name` ($k$ =
# {glue:text}`teach_cluster_cca_ds_d`), the A→V MAP is
# {glue:text}`teach_cluster_cca_ds_cca_map_a2v:.3f` for CCA,
# {glue:text}`teach_cluster_cca_ds_c_cca_map_a2v:.3f` for C-CCA (β = 0.2) and
# {glue:text}`teach_cluster_cca_ds_c_cca_rasiwasia_map_a2v:.3f` for C-CCA (Rasiwasia) (V→A:
# {glue:text}`teach_cluster_cca_ds_cca_map_v2a:.3f`,
# {glue:text}`teach_cluster_cca_ds_c_cca_map_v2a:.3f`,
# {glue:text}`teach_cluster_cca_ds_c_cca_rasiwasia_map_v2a:.3f`): C-CCA (β = 0.2) is
# {glue:text}`teach_cluster_cca_ds_verdict` than CCA here. One fold and one seed only; the main
# table reports all folds.
#
# ## Summary
#
# - CCA maximises the correlation of the one-to-one pairs: a strong nuisance that both views of
#   a pair share wins its first components, whatever the classes.
# - Cluster-CCA pairs every clip with every clip of its class, $M = \sum_c n_c^2$
#   correspondences; in a class sum the nuisance adds up incoherently and the class coherently,
#   so C-CCA (Rasiwasia) follows the classes.
# - $\Sigma_{xy}^{\mathrm{cl}}$, $\Sigma_{xx}$ and $\Sigma_{yy}$ come from class sums and a
#   weighted scatter, never from the $M$ rows; their pair-weighted means equal the ordinary
#   means only for balanced classes.
# - The centring makes the $C$ class terms dependent: $\operatorname{rank}
#   \Sigma_{xy}^{\mathrm{cl}} \le C - 1$, so at most $C - 1$ components are useful (without
#   centring the bound would be $C$).
# - C-CCA (β = 0.2) mixes back $\beta\,\Sigma_{xy}$: it is not rank-limited, but its extra
#   components come from the one-to-one pairs, and the pairs' nuisance comes back with them.
# - Which method wins on real features is an empirical question; the main table answers it
#   over all folds.
#
# ## Exercises
#
# :::{exercise}
# :label: ex-teach-cluster-cca-1
# Write CCA on the list of the $M$ within-class correspondences $(x, y)$, $x \in X_c$,
# $y \in Y_c$ for every class $c$, each pair with weight $\frac1M$. Derive (a) the mean of the
# audio side over the pairs, $\bar x^{\mathrm{cl}} = \sum_c \frac{n_c^2}{M}\,\bar x_c$;
# (b) the class-sum form of $\Sigma_{xy}^{\mathrm{cl}}$ in {eq}`eq-teach-ccca-sums`, and its
# form with the class means; (c) the weighted scatter form of $\Sigma_{xx}$.
# :::
#
# :::{solution} ex-teach-cluster-cca-1
# :class: dropdown
# (a) Each $x \in X_c$ is paired with each of the $n_c$ clips $y \in Y_c$, so it occurs $n_c$
# times in the list: $\bar x^{\mathrm{cl}} = \frac1M \sum_c \sum_{x \in X_c} n_c\, x
# = \frac1M \sum_c n_c \cdot n_c \bar x_c = \sum_c \frac{n_c^2}{M} \bar x_c$.
#
# (b) The cross-covariance of the list is $\frac1M \sum_c \sum_{x \in X_c} \sum_{y \in Y_c}
# \tilde x\, \tilde y^\top$. Within a class the double sum runs over all combinations of an $x$
# and a $y$, so it factorises: $\sum_{x}\sum_{y} \tilde x \tilde y^\top
# = \big(\sum_{x \in X_c} \tilde x\big)\big(\sum_{y \in Y_c} \tilde y\big)^\top$, which is
# {eq}`eq-teach-ccca-sums`. Since $\sum_{x \in X_c} \tilde x = n_c(\bar x_c - \bar
# x^{\mathrm{cl}})$, the same is $\frac1M \sum_c n_c^2 (\bar x_c - \bar x^{\mathrm{cl}})
# (\bar y_c - \bar y^{\mathrm{cl}})^\top$.
#
# (c) $\Sigma_{xx} = \frac1M \sum_c \sum_{x \in X_c} \sum_{y \in Y_c} \tilde x \tilde x^\top$;
# the summand does not depend on $y$, so the inner sum is $n_c\, \tilde x \tilde x^\top$:
# $\Sigma_{xx} = \frac1M \sum_c n_c \sum_{x \in X_c} \tilde x \tilde x^\top$, the scatter with
# row weights $n_c$ (the `w` of the numpy cell). On the small toy sample the class-sum and the
# explicit list agree to {glue:text}`teach_cluster_cca_pairs_max_diff:.1e`
# ({numref}`tbl-teach-cluster-cca-pair-counts`).
# :::
#
# :::{exercise}
# :label: ex-teach-cluster-cca-2
# A training set has $C$ = {glue:text}`teach_cluster_cca_ex2_c` classes with $n_c$ =
# ({glue:text}`teach_cluster_cca_ex_counts`)
# clips. (a) Count $N$ and the within-class pairs $M$. (b) How many pairs would the same $N$
# clips give in $C$ balanced classes? (c) Show that $M \ge N^2 / C$ for any class counts, with
# equality exactly for balanced classes. How many pairs does a clip take part in, on average?
# :::
#
# ```{solution-start} ex-teach-cluster-cca-2
# :class: dropdown
# ```

# %% tags=["hide-input"]
ex2 = tc.exercise_pair_count(tc.EXERCISE_UNBALANCED)
run.glue("teach_cluster_cca_ex_counts", ", ".join(str(n) for n in tc.EXERCISE_UNBALANCED))
run.glue("teach_cluster_cca_ex_counts_balanced",
         ", ".join(str(n) for n in tc.EXERCISE_BALANCED))
for name in ("N", "C", "M", "M_balanced", "M_per_clip"):
    run.glue(f"teach_cluster_cca_ex2_{name.lower()}", ex2[name])

# %% [markdown]
# (a) $N = \sum_c n_c$ = {glue:text}`teach_cluster_cca_ex2_n` and $M = \sum_c n_c^2$ =
# {glue:text}`teach_cluster_cca_ex2_m` (`tc.exercise_pair_count`).
#
# (b) Balanced classes have $n_c = N/C$ each, so $M = C (N/C)^2 = N^2/C$ =
# {glue:text}`teach_cluster_cca_ex2_m_balanced:.0f`.
#
# (c) By Cauchy–Schwarz, $N^2 = \big(\sum_c 1 \cdot n_c\big)^2 \le \big(\sum_c 1\big)
# \big(\sum_c n_c^2\big) = C\, M$, with equality exactly when $(n_c)$ is proportional to
# $(1, \dots, 1)$, i.e. balanced. A clip of class $c$ takes part in $n_c$ pairs; on average
# $M/N = \sum_c n_c^2 / \sum_c n_c$ = {glue:text}`teach_cluster_cca_ex2_m_per_clip:.3g` here,
# so the list has $M/N$ times as many rows as the data: the big classes dominate it.
#
# ```{solution-end}
# ```
#
# :::{exercise}
# :label: ex-teach-cluster-cca-3
# Write both the ordinary mean $\bar x$ and the pair-weighted mean $\bar x^{\mathrm{cl}}$ as
# weighted averages of the class means $\bar x_c$. (a) Show that they are equal for every data
# set exactly when the classes are balanced. (b) Check it numerically: on a random sample with
# $n_c$ = ({glue:text}`teach_cluster_cca_ex_counts`) and one with $n_c$ =
# ({glue:text}`teach_cluster_cca_ex_counts_balanced`), compute the weight each mean gives the
# largest class and the largest absolute difference between the two means.
# :::
#
# ```{solution-start} ex-teach-cluster-cca-3
# :class: dropdown
# ```

# %% tags=["hide-input"]
ex3_unbalanced = tc.exercise_centring(tc.EXERCISE_UNBALANCED, seed=p.seed)
ex3_balanced = tc.exercise_centring(tc.EXERCISE_BALANCED, seed=p.seed)
for name in ("weight_pair_weighted", "weight_ordinary", "max_gap"):
    run.glue(f"teach_cluster_cca_ex3_unbalanced_{name}", ex3_unbalanced[name])
    run.glue(f"teach_cluster_cca_ex3_balanced_{name}", ex3_balanced[name])

# %% [markdown]
# (a) $\bar x = \frac1N \sum_c n_c \bar x_c$ weights class $c$ by $n_c / N$;
# $\bar x^{\mathrm{cl}} = \sum_c \frac{n_c^2}{M} \bar x_c$ by $n_c^2 / M$. Both sets of
# weights sum to 1, and the two means agree for every choice of class means exactly when the
# weights agree: $n_c^2/M = n_c/N$, i.e. $n_c = M/N$ for every class, which is the balanced
# case. With unbalanced classes the pair-weighted mean leans towards the big classes (their
# weight grows like $n_c^2$).
#
# (b) With $n_c$ = ({glue:text}`teach_cluster_cca_ex_counts`) the largest class gets weight
# {glue:text}`teach_cluster_cca_ex3_unbalanced_weight_pair_weighted:.3f` in
# $\bar x^{\mathrm{cl}}$ against {glue:text}`teach_cluster_cca_ex3_unbalanced_weight_ordinary:.3f`
# in $\bar x$, and on the random sample (`tc.exercise_centring`) the two means differ by up to
# {glue:text}`teach_cluster_cca_ex3_unbalanced_max_gap:.3f`. With balanced classes the weights
# are {glue:text}`teach_cluster_cca_ex3_balanced_weight_pair_weighted:.3f` and
# {glue:text}`teach_cluster_cca_ex3_balanced_weight_ordinary:.3f` and the means differ by
# {glue:text}`teach_cluster_cca_ex3_balanced_max_gap:.1e`, round-off. This is why the centring
# of {eq}`eq-teach-ccca-sums` matters: the authors' code and a formula written with the
# ordinary means agree with Rasiwasia's only on balanced data.
#
# ```{solution-end}
# ```
#
# :::{exercise}
# :label: ex-teach-cluster-cca-4
# (a) Prove $\operatorname{rank} \Sigma_{xy}^{\mathrm{cl}} \le C - 1$ from
# {eq}`eq-teach-ccca-sums` (which combination of the class terms vanishes?). (b) Without
# centring, the cross-covariance is $\frac1M \sum_c n_c^2\, \bar x_c \bar y_c^\top$. What bound
# on its rank holds, and when is it reached? (c) Check both on a random sample with
# $n_c$ = ({glue:text}`teach_cluster_cca_ex_counts`), $d_a = 6$ and $d_v = 7$.
# :::
#
# ```{solution-start} ex-teach-cluster-cca-4
# :class: dropdown
# ```

# %% tags=["hide-input"]
ex4 = tc.exercise_ranks(tc.EXERCISE_UNBALANCED, d_a=6, d_v=7, seed=p.seed)
run.glue("teach_cluster_cca_ex4_c", ex4["C"])
run.glue("teach_cluster_cca_ex4_rank_centred", ex4["centred"])
run.glue("teach_cluster_cca_ex4_rank_uncentred", ex4["uncentred"])

# %% [markdown]
# (a) $\Sigma_{xy}^{\mathrm{cl}} = \frac1M \sum_c \delta_{x,c}\, \delta_{y,c}^\top$ with
# $\delta_{x,c} = n_c(\bar x_c - \bar x^{\mathrm{cl}})$ and
# $\delta_{y,c} = n_c(\bar y_c - \bar y^{\mathrm{cl}})$. Its column space lies in the span of
# $\delta_{x,1}, \dots, \delta_{x,C}$, and by {eq}`eq-teach-ccca-rank`
# $\sum_c n_c\, \delta_{x,c} = 0$ with every $n_c > 0$: one $\delta_{x,c}$ is a combination of
# the others, so the span has dimension at most $C - 1$.
#
# (b) Without centring the terms are $n_c \bar x_c$, and nothing ties them together:
# $\operatorname{rank} \le \min(C, d_a, d_v)$, reached when the $C$ class means of each view
# are linearly independent (generic data with $d_a, d_v \ge C$). The extra dimension is the
# overall mean; centring removes it, as CCA always does.
#
# (c) With $C$ = {glue:text}`teach_cluster_cca_ex4_c` (`tc.exercise_ranks`): the centred
# $\Sigma_{xy}^{\mathrm{cl}}$ has numerical rank {glue:text}`teach_cluster_cca_ex4_rank_centred`,
# the uncentred one {glue:text}`teach_cluster_cca_ex4_rank_uncentred`.
#
# ```{solution-end}
# ```
#
# :::{exercise}
# :label: ex-teach-cluster-cca-5
# C-CCA (β = 0.2) centres its within-class term by the ordinary means $\bar x$, $\bar y$
# instead of the pair-weighted ones. (a) Is that term still of rank at most $C - 1$? Which
# combination of its centred class sums vanishes? (b) What is the rank of
# $\Sigma_{xy}^{(\beta)}$ for $\beta = 0.2$? (c) Check both on a random sample with $n_c$ =
# ({glue:text}`teach_cluster_cca_ex_counts`), $d_a = 6$ and $d_v = 7$.
# :::
#
# ```{solution-start} ex-teach-cluster-cca-5
# :class: dropdown
# ```

# %% tags=["hide-input"]
ex5 = tc.exercise_beta_ranks(tc.EXERCISE_UNBALANCED, betas=(0.0, 0.2), d_a=6, d_v=7,
                             seed=p.seed)
run.glue("teach_cluster_cca_ex5_rank_beta0", ex5[0.0])
run.glue("teach_cluster_cca_ex5_rank_beta02", ex5[0.2])

# %% [markdown]
# (a) Yes. With the ordinary mean the plain sum of the class sums vanishes:
# $\sum_c \sum_{x \in X_c} (x - \bar x) = N\bar x - N\bar x = 0$. The argument of exercise 4
# works with any weights: centring by $\sum_c \omega_c n_c \bar x_c / \sum_c \omega_c n_c$ makes
# $\sum_c \omega_c\, n_c(\bar x_c - \cdot) = 0$ ($\omega_c = n_c$ for the pair-weighted mean,
# $\omega_c = 1$ for the ordinary one), so the rank stays $\le C - 1$ (but the term differs
# from $\Sigma_{xy}^{\mathrm{cl}}$ on unbalanced data, exercise 3).
#
# (b) The paired term $\beta\,\Sigma_{xy}$ has the rank of $\tilde X^\top \tilde Y$, in general
# $\min(d_a, d_v, N - 1)$, and adding a rank-$(C-1)$ term does not lower that generically: the
# β variant is not rank-limited.
#
# (c) On the unbalanced sample (`tc.exercise_beta_ranks`): rank
# {glue:text}`teach_cluster_cca_ex5_rank_beta0` at $\beta = 0$ and
# {glue:text}`teach_cluster_cca_ex5_rank_beta02` at $\beta = 0.2$.
#
# ```{solution-end}
# ```
#
# :::{exercise}
# :label: ex-teach-cluster-cca-6
# (a) Each paired correlation of the toy is $\lambda / (\lambda + \sigma^2)$, with
# $\lambda = s_h^2$ along a nuisance direction and $\lambda = s_\gamma^2 / (C - 1)$ along a
# class direction. Derive the nuisance scale $s_h^\ast$ below which a class direction has the
# higher paired correlation. (b) Predict, for `ccca_nuisance_scale=1` with the other knobs
# unchanged: which factor will CCA's first component follow, and how will CCA's MAP compare
# with C-CCA (Rasiwasia)'s? (c) Re-run and check: `paper-lib reproduce --dataset avdigits
# --profile quick --only 21_teach_cluster_cca -p ccca_nuisance_scale=1`, then open
# `_build/executed/avdigits-quick/21_teach_cluster_cca.ipynb`.
# :::
#
# ```{solution-start} ex-teach-cluster-cca-6
# :class: dropdown
# ```

# %% tags=["hide-input"]
ex6 = tc.exercise_nuisance_knob(tc.EXERCISE_NUISANCE_SCALE, n_classes=C_toy,
                                class_scale=class_scale,
                                n_per_class=n_per_class, seed=p.seed)
run.glue("teach_cluster_cca_ex6_scale", tc.EXERCISE_NUISANCE_SCALE)
for name, value in ex6.items():
    run.glue(f"teach_cluster_cca_ex6_{name}", value)
run.glue("teach_cluster_cca_ex6_cca_follows", tc.follows(ex6["cca_phi1"], ex6["cca_eta1"]))

# %% [markdown]
# (a) $\lambda \mapsto \lambda/(\lambda + \sigma^2)$ increases with $\lambda$, so the class wins
# when $s_h^2 < s_\gamma^2/(C - 1)$: $s_h^\ast = s_\gamma / \sqrt{C - 1}$ =
# {glue:text}`teach_cluster_cca_ex6_crossover:.3f` for this run's $s_\gamma$ and $C$ (the noise
# $\sigma$ drops out).
#
# (b), (c) At $s_h$ = {glue:text}`teach_cluster_cca_ex6_scale:.3g` (`tc.exercise_nuisance_knob`,
# the same seeds as the chapter) the paired correlations are
# {glue:text}`teach_cluster_cca_ex6_rho_nuisance:.3f` (nuisance) and
# {glue:text}`teach_cluster_cca_ex6_rho_class:.3f` (class). CCA's first component follows
# {glue:text}`teach_cluster_cca_ex6_cca_follows` ($\phi$ =
# {glue:text}`teach_cluster_cca_ex6_cca_phi1:.3f`, $\eta$ =
# {glue:text}`teach_cluster_cca_ex6_cca_eta1:.3f`), and the A→V MAP is
# {glue:text}`teach_cluster_cca_ex6_cca_map_a2v:.3f` for CCA against
# {glue:text}`teach_cluster_cca_ex6_ccca_map_a2v:.3f` for C-CCA (Rasiwasia), where this run of
# the chapter ($s_h$ = {glue:text}`teach_cluster_cca_toy_nuisance_scale:.3g`) gave
# {glue:text}`teach_cluster_cca_toy_cca_map_a2v:.3f` and
# {glue:text}`teach_cluster_cca_toy_ccca_map_a2v:.3f`. Below $s_h^\ast$ the nuisance no longer
# outbids the class, so CCA's leading components turn to the classes and its MAP rises; C-CCA
# (Rasiwasia) barely changes, because its class sums average the nuisance away at any scale.
# The advantage of Cluster-CCA is largest when the pairs share a strong nuisance.
#
# ```{solution-end}
# ```

# %% tags=["remove-cell"]
run.finish()
