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
# # CCA from a two-dimensional picture
#
# Every method of the paper {cite:p}`zeng2020deep` starts from canonical correlation analysis
# (CCA) {cite:p}`hotelling1936relations,hardoon2004canonical`: plain CCA is the first baseline,
# Cluster-CCA changes what counts as a correspondence, and TNN-C-CCA trains its triplet network
# on top of a Cluster-CCA projection. This chapter builds CCA from a picture: two
# two-dimensional views that share one hidden variable. We look for the pair of directions
# whose projections agree best, compare them with the directions PCA or chance would pick, and
# only then write the maths down (objective, whitening, SVD, uncorrelated variates, ridge),
# implement it in ten lines of numpy and check them against the library's
# `paper_lib.methods.cca.CCA`. The last section runs the same estimator on the dataset this
# book was built on.
#
# ## Overview
#
# **Prerequisites.** This is the book's first chapter. It assumes linear algebra (matrix
# products, the eigendecomposition of a symmetric matrix and the singular value decomposition,
# SVD), the covariance of a random vector, Pearson's correlation, and reading short numpy code.
# The book's introduction ({doc}`../book/intro`) says what the paper is about; nothing else is
# needed.
#
# **You will learn.**
#
# - to **explain** why the directions of largest variance (PCA) can miss what two views share,
#   and why CCA finds it;
# - to **derive** CCA as the singular value decomposition of the whitened cross-covariance
#   $T_r$, with and without the ridge $r$;
# - to **compute** canonical correlations and directions with ten lines of numpy, and check
#   them against the library;
# - to **predict** how the noise, the ridge $r$ and the sample size change the answer, and
#   **explain** why only held-out data measure what generalises.
#
# Notation: {doc}`../book/notation`.
#
# Re-run this chapter with other knobs (all listed in {numref}`tbl-teach-cca-2d-knobs`), e.g.
# `paper-lib reproduce --profile quick --only 20_teach_cca_2d -p cca2d_noise_angle_x=0`, then
# open `_build/executed/avdigits-quick/20_teach_cca_2d.ipynb` in Jupyter (the book's own page,
# built from the full profile, is not changed).

# %% tags=["parameters"]
dataset = "avdigits-pretrained"
profile = "quick"
seed = 0
folds = "all"
data_dir = ""
cca2d_n_points = None
cca2d_noise_angle_x = None
cca2d_noise_angle_y = None
cca2d_nuisance = None
cca2d_ridge = None
cca2d_ridges = None

# %% tags=["remove-input"]
import numpy as np

from paper_lib.methods.cca import CCA, cca_from_covariances
from paper_lib.pipeline.notebook import start
from paper_lib.report import teach_cca as tc
from paper_lib.report._teaching_common import TOY_SETTING
from paper_lib.report.teach_triplets import plot_pipeline_diagram

run = start("teach_cca_2d", dataset=dataset, profile=profile, seed=seed, folds=folds,
            data_dir=data_dir)
ds = run.raw_features_dataset()  # the raw-feature avdigits (pixels a reader can see)
p = run.params
folds = p.fold_list(ds.n_folds)
N_POINTS = run.knob(tc.CCA2D_N_POINTS, cca2d_n_points)
NOISE_ANGLE_X = run.knob(tc.CCA2D_NOISE_ANGLE_X, cca2d_noise_angle_x)
NOISE_ANGLE_Y = run.knob(tc.CCA2D_NOISE_ANGLE_Y, cca2d_noise_angle_y)
NUISANCE = run.knob(tc.CCA2D_NUISANCE, cca2d_nuisance)
RIDGE = run.knob(tc.CCA2D_RIDGE, cca2d_ridge)
RIDGES = run.knob(tc.CCA2D_RIDGES, cca2d_ridges)
used = {tc.CCA2D_N_POINTS.name: N_POINTS, tc.CCA2D_NOISE_ANGLE_X.name: NOISE_ANGLE_X,
        tc.CCA2D_NOISE_ANGLE_Y.name: NOISE_ANGLE_Y, tc.CCA2D_NUISANCE.name: NUISANCE,
        tc.CCA2D_RIDGE.name: RIDGE, tc.CCA2D_RIDGES.name: RIDGES}
run.table(tc.knob_table(used), "knobs",
          "The chapter's knobs: the name that `-p NAME=VALUE` takes, what it changes, its "
          "default and the value this page ran with; a list is written as the command line "
          "takes it, comma-separated.", reproduces=None, data="settings, no data")

# %% [markdown]
# ## The pipeline at a glance
#
# The paper's method, TNN-C-CCA, is a pipeline of a few boxes, drawn below with the feature
# sizes of the dataset this book was built on. The four chapters of this part teach it box by
# box, on the same data.
#
# (teach-dataset-box)=
# :::{admonition} The dataset used below
# :class: note
# This build uses the dataset {glue:text}`teach_cca_2d_ds_name`. A *clip* of the default
# dataset, `avdigits`, is a spoken digit from 0 to 9, rendered by the speech synthesiser
# eSpeak NG, together with an MNIST image (a handwritten digit) of the same digit. The audio
# view of a clip is a vector of {glue:text}`teach_cca_2d_ds_d_a` features computed from the
# sound (log-mel band energies, pooled over the clip); the visual view is the vector of the
# {glue:text}`teach_cca_2d_ds_d_v` pixels of the image. The two views of a pair share **only
# their class**: each spoken digit is paired with a random MNIST image of the same digit, so
# nothing but the digit links them. The dataset has {glue:text}`teach_cca_2d_ds_n_clips` clips
# of {glue:text}`teach_cca_2d_ds_n_classes` classes, split into
# {glue:text}`teach_cca_2d_ds_n_folds` folds. A *fold* is one of these disjoint parts of the
# clips: each fold serves once as the test set while everything is fitted on the clips of the
# other folds (the *training rows*). *Held-out* data are data that no fitted step has seen: a
# fold's test clips enter no fit, so a number measured on them says how well a model
# generalises. Details, figures and tables: {doc}`01_data_overview`.
# :::

# %% tags=["remove-input"]
run.glue("teach_cca_2d_ds_name", ds.name)
run.glue("teach_cca_2d_ds_d_a", int(ds.audio.shape[1]))
run.glue("teach_cca_2d_ds_d_v", int(ds.visual.shape[1]))
run.glue("teach_cca_2d_ds_n_clips", int(ds.n_clips))
run.glue("teach_cca_2d_ds_n_classes", int(ds.n_classes))
run.glue("teach_cca_2d_ds_n_folds", int(ds.n_folds))
run.figure(plot_pipeline_diagram(ds.audio.shape[1], ds.visual.shape[1], n_components=10,
                                 margin=0.5), "pipeline_diagram",
           "The TNN-C-CCA pipeline with the paper's settings and the feature sizes of the "
           "build's dataset: both views through the C-CCA (β = 0.2) projection (the authors' "
           "variant of Cluster-CCA), then one small "
           "network (branch) per view; the triplet loss (dashed) acts only in training; at "
           "test time each view is embedded alone and the other view's test clips are ranked "
           "by cosine similarity.", reproduces=None, data="a diagram")

# %% [markdown]
# Read the diagram from top to bottom ({numref}`fig-teach-cca-2d-pipeline-diagram`). This
# chapter teaches CCA, the linear projection inside the yellow box: two matrices $W_x$, $W_y$
# that map each view into one common space of $k$ dimensions. Chapter
# {doc}`21_teach_cluster_cca` teaches what the yellow box adds to CCA: Cluster-CCA, which
# changes which audio–visual pairs count as corresponding, in the authors' variant
# C-CCA (β = 0.2). Chapter {doc}`22_teach_triplets` teaches the
# two branches and the triplet loss that trains them. Chapter {doc}`23_teach_protocol` teaches
# the last box: how the ranking of the test fold is scored, for audio queries ranking visual
# clips (A→V) and visual queries ranking audio clips (V→A).
#
# ## A picture first
#
# Draw a hidden variable $z \sim \mathcal N(0, 1)$ and observe it twice, through two different
# two-dimensional "sensors", each adding its own noise:
#
# $$
# \begin{aligned}
# x &= b_x z + \varepsilon_x, & \varepsilon_x &\sim \mathcal N(0, \Psi_x), \\
# y &= b_y z + \varepsilon_y, & \varepsilon_y &\sim \mathcal N(0, \Psi_y).
# \end{aligned}
# $$ (eq-teach-cca-toy)
#
# Here $x$ plays the audio view and $y$ the visual view of the same clips. The signal $b_x z$
# lies along the first axis of $x$ and $b_y z$ along the second axis of $y$, both with
# loading $\lVert b_x\rVert = \lVert b_y\rVert$ = {glue:text}`teach_cca_2d_loading:.1f`, while
# each view's noise is loud along a tilted axis (at {glue:text}`teach_cca_2d_noise_angle_x:.0f`°
# in $x$ and {glue:text}`teach_cca_2d_noise_angle_y:.0f`° in $y$, with standard deviations
# {glue:text}`teach_cca_2d_noise_std_x:.2f` and {glue:text}`teach_cca_2d_noise_std_y:.2f`) and
# quiet across it (standard deviation {glue:text}`teach_cca_2d_noise_quiet:.2f`). This loud
# noise is the *nuisance*: it has nothing to do with $z$. Below are
# {glue:text}`teach_cca_2d_n_points` pairs, coloured by the hidden $z$: the colour gradient is
# what the two views share, the elongated clouds are mostly noise
# ({numref}`fig-teach-cca-2d-views-directions`).

# %% tags=["hide-input"]
toy = tc.latent_toy(NOISE_ANGLE_X, NOISE_ANGLE_Y, NUISANCE)
X, Y, z = toy.sample(N_POINTS, seed=p.seed)
# r = 0 on the toy: the exact textbook CCA (the ridge gets its own section below)
cca = CCA(n_components=2, reg=0.0).fit(X, Y)
directions = tc.compare_directions(X, Y, cca, n_random=3, seed=p.seed)

rho_sample = float(cca.correlations_[0])
rho_analytic = toy.analytic_rho()
rho_population = float(cca_from_covariances(*toy.covariances(), 1)[2][0])
pca_corr = float(directions.loc[directions.kind == "PCA", "abs_correlation"].iloc[0])
random_max = float(directions.loc[directions.kind == "random", "abs_correlation"].max())
run.glue("teach_cca_2d_loading", tc.TOY_LOADING)
run.glue("teach_cca_2d_noise_angle_x", NOISE_ANGLE_X)
run.glue("teach_cca_2d_noise_angle_y", NOISE_ANGLE_Y)
run.glue("teach_cca_2d_noise_std_x", NUISANCE * tc.TOY_NOISE_STD_X[0])
run.glue("teach_cca_2d_noise_std_y", NUISANCE * tc.TOY_NOISE_STD_Y[0])
run.glue("teach_cca_2d_noise_quiet", tc.TOY_NOISE_STD_X[1])
run.glue("teach_cca_2d_n_points", N_POINTS)
run.glue("teach_cca_2d_rho_sample", rho_sample)
run.glue("teach_cca_2d_rho_analytic", rho_analytic)
run.glue("teach_cca_2d_rho_population", rho_population)
run.glue("teach_cca_2d_rho_second", float(cca.correlations_[1]) if cca.n_components_ > 1
         else 0.0)
run.glue("teach_cca_2d_pca_corr", pca_corr)
run.glue("teach_cca_2d_random_max_corr", random_max)
run.glue("teach_cca_2d_angle_cca_x", float(directions.angle_x.iloc[0]))
run.glue("teach_cca_2d_angle_pca_x", float(directions.angle_x.iloc[1]))
run.figure(tc.plot_views_with_directions(X, Y, z, cca, directions), "views_directions",
           f"The two views of the toy, {N_POINTS} pairs coloured by the shared latent z, view x "
           "(left) and view y (right). Black: the CCA direction of each view; green: its first "
           "principal axis (PCA); grey: random directions.",
           reproduces=None, data=TOY_SETTING)

# %% [markdown]
# The black line in each panel is the CCA direction $w_x$ (left) and $w_y$ (right); the green
# line is each view's first principal axis (PCA, principal component analysis: the direction
# of largest variance of one view); the grey lines are random directions. Projecting each view
# on its direction turns every point into one number, $w_x^\top x$ and $w_y^\top y$. A good
# pair of directions makes these two numbers agree across the pairs
# ({numref}`fig-teach-cca-2d-projection-pairs`, {numref}`tbl-teach-cca-2d-directions`):

# %% tags=["hide-input"]
run.figure(tc.plot_projection_pairs(X, Y, z, cca, directions), "projection_pairs",
           "Each panel plots the projection of view y on its direction against that of view x "
           "on its direction (both standardised), for the CCA pair, the PCA pair and three "
           "random pairs; colour: the shared latent z. The panel title gives the absolute "
           "correlation of the two projections.", reproduces=None, data=TOY_SETTING)
run.table(directions, "directions",
          "The pairs of directions of the figure above: their angles (degrees, in [0, 180)) and "
          "the absolute correlation of the two projections; the highest in bold.",
          reproduces=None, data=TOY_SETTING, shown=tc.directions_view(directions),
          digits=tc.DIRECTIONS_DIGITS, best={"|corr| of the projections": "max"})

# %% [markdown]
# The CCA pair reaches a correlation of {glue:text}`teach_cca_2d_rho_sample:.3f`; PCA's pair
# {glue:text}`teach_cca_2d_pca_corr:.3f` and the best of the random pairs
# {glue:text}`teach_cca_2d_random_max_corr:.3f`. PCA looks at one view at a time and follows
# the largest variance, which here is the noise (its $x$ axis lies at
# {glue:text}`teach_cca_2d_angle_pca_x:.0f`° against CCA's
# {glue:text}`teach_cca_2d_angle_cca_x:.0f`°). CCA looks at both views together and follows
# what they *share*.
#
# :::{admonition} Try this
# :class: tip
# Turn the nuisance down or up: `paper-lib reproduce --profile quick --only 20_teach_cca_2d -p
# cca2d_nuisance=0.2`, then `-p cca2d_nuisance=3`, and open
# `_build/executed/avdigits-quick/20_teach_cca_2d.ipynb` each time. Expect, with a weak
# nuisance, the green PCA line to swing towards the signal axis and close to the black CCA
# line, and PCA's correlation in {numref}`tbl-teach-cca-2d-directions` to come close to CCA's.
# With a strong nuisance, PCA's line lies on the noise axis and its correlation drops further,
# while CCA's correlation hardly moves: CCA looks across the loud axis, whatever its loudness.
# :::
#
# Because the views are two-dimensional we can try every pair of directions. Write
# $e(\theta) = (\cos\theta, \sin\theta)$ for the unit direction at angle $\theta$; the map
# below shows $|\mathrm{corr}(e(\theta_x)^\top x,\, e(\theta_y)^\top y)|$ for all angles. CCA
# sits on the highest peak ({numref}`fig-teach-cca-2d-correlation-landscape`); no pair of
# directions can beat it (this is what "canonical" promises).

# %% tags=["hide-input"]
angles, landscape = tc.correlation_landscape(X, Y, n_angles=180)
run.glue("teach_cca_2d_landscape_max", float(landscape.max()))
run.figure(tc.plot_landscape(angles, landscape, directions), "correlation_landscape",
           "The absolute correlation of the two projections for every pair of directions, by "
           "the angle of w_x (horizontal) and of w_y (vertical), on a one-degree grid. Star: the "
           "CCA pair; green dot: the PCA pair; crosses: the random pairs.",
           reproduces=None, data=TOY_SETTING)

# %% [markdown]
# The grid's best value, {glue:text}`teach_cca_2d_landscape_max:.4f`, approaches the CCA value
# {glue:text}`teach_cca_2d_rho_sample:.4f` from below (the grid has one-degree steps).
#
# ## The maths
#
# ### The objective
#
# Centre both views by their means $\bar x$, $\bar y$ and write $\Sigma_{xx}, \Sigma_{yy}$ for
# their covariances and $\Sigma_{xy} = \frac1N\sum_i (x_i-\bar x)(y_i-\bar y)^\top$ for the
# cross-covariance of the $N$ pairs. The correlation of the projections is
#
# $$
# \rho(w_x, w_y) = \frac{w_x^\top \Sigma_{xy} w_y}
#                       {\sqrt{w_x^\top \Sigma_{xx} w_x}\,\sqrt{w_y^\top \Sigma_{yy} w_y}} ,
# $$ (eq-teach-cca-objective)
#
# and CCA maximises it. Rescaling $w_x$ or $w_y$ does not change
# {eq}`eq-teach-cca-objective`, so we may fix the scales and solve the equivalent problem
#
# $$
# \begin{aligned}
# &\max_{w_x, w_y}\; w_x^\top \Sigma_{xy} w_y \\
# &\text{subject to} \quad w_x^\top \Sigma_{xx} w_x = 1,\;\; w_y^\top \Sigma_{yy} w_y = 1 .
# \end{aligned}
# $$ (eq-teach-cca-constrained)
#
# ### Whitening turns it into an SVD
#
# Substitute $\tilde w_x = \Sigma_{xx}^{1/2} w_x$ and $\tilde w_y = \Sigma_{yy}^{1/2} w_y$. The
# constraints of {eq}`eq-teach-cca-constrained` become
# $\lVert \tilde w_x \rVert = \lVert \tilde w_y \rVert = 1$ and the objective becomes
# $\tilde w_x^\top T_0\, \tilde w_y$ with
#
# $$
# T_0 = \Sigma_{xx}^{-1/2}\, \Sigma_{xy}\, \Sigma_{yy}^{-1/2} = U S V^\top
# $$ (eq-teach-cca-svd)
#
# (the subscript 0 is the ridge $r = 0$; the section on the ridge below turns it on). The
# maximum of $\tilde w_x^\top T_0 \tilde w_y$ over unit vectors is the largest singular value
# $s_1$ of $T_0$, reached at the first singular vectors $u_1$, $v_1$. So the canonical
# correlations are the singular values $\rho_1 = s_1 \ge \rho_2 = s_2 \ge \dots$ of $T_0$, and
# the canonical directions are
#
# $$
# W_x = \Sigma_{xx}^{-1/2} U, \qquad W_y = \Sigma_{yy}^{-1/2} V .
# $$ (eq-teach-cca-directions)
#
# Multiplying by $\Sigma_{xx}^{-1/2}$ is *whitening*: it makes every direction of the view have
# unit variance, so no direction can win by being loud. After whitening both views look round;
# the SVD then only sees how they co-vary ({numref}`fig-teach-cca-2d-whitened-views`):

# %% tags=["hide-input"]
run.figure(tc.plot_whitened(X, Y, z), "whitened_views",
           "Both views of the toy after whitening (every direction has unit variance), coloured "
           "by the shared latent z, with the top pair of singular vectors of T₀ (black).",
           reproduces=None, data=TOY_SETTING)

# %% [markdown]
# ### Ten lines of numpy
#
# Here is the whole of CCA, with the ridge $r$ of the section below already in place (this
# page runs it with $r$ = {glue:text}`teach_cca_2d_numpy_ridge:g`, the knob `cca2d_ridge`):
# centre, form the three covariances, whiten, take one SVD.

# %%
r = RIDGE                                               # the ridge r (knob cca2d_ridge)
N = X.shape[0]
Xc, Yc = X - X.mean(axis=0), Y - Y.mean(axis=0)        # centre both views
S_xx = Xc.T @ Xc / N + r * np.eye(X.shape[1])          # Σ_xx + r I
S_yy = Yc.T @ Yc / N + r * np.eye(Y.shape[1])          # Σ_yy + r I
S_xy = Xc.T @ Yc / N                                    # Σ_xy


def inv_sqrt(S: np.ndarray) -> np.ndarray:              # S^(-1/2) of a symmetric S > 0
    lam, E = np.linalg.eigh(S)
    return E @ np.diag(lam ** -0.5) @ E.T


T_r = inv_sqrt(S_xx) @ S_xy @ inv_sqrt(S_yy)            # the whitened cross-covariance
U, s, Vt = np.linalg.svd(T_r)                           # s: the canonical correlations
W_x, W_y = inv_sqrt(S_xx) @ U, inv_sqrt(S_yy) @ Vt.T    # the canonical directions

# %% [markdown]
# The library's estimator must give the same correlations and the same directions, up to the
# sign of each pair (a direction $w$ and $-w$ are the same line). The next cell fits it with
# the same ridge and stops the page if any number differs by more than $10^{-8}$:

# %%
lib = CCA(n_components=2, reg=r, drop_zero_correlations=False).fit(X, Y)
diff = tc.max_difference_to_library(s, W_x, W_y, lib)
assert diff < 1e-8, f"numpy and paper_lib.methods.cca.CCA differ by {diff}"
run.glue("teach_cca_2d_numpy_max_diff", diff)
run.glue("teach_cca_2d_numpy_ridge", r)

# %% [markdown]
# The largest difference is {glue:text}`teach_cca_2d_numpy_max_diff:.1e`: round-off. (The
# library whitens with a Cholesky factor instead of the symmetric $\Sigma^{-1/2}$; any factor
# $F$ with $F F^\top = \Sigma$ gives the same directions, exercise 1 shows why.)
#
# ### The toy's answer in closed form
#
# For the toy {eq}`eq-teach-cca-toy` everything is known in closed form:
# $\Sigma_{xy} = b_x b_y^\top$ has rank one, so only one canonical correlation is non-zero, and
# with the signal-to-noise ratios $\tau_x = b_x^\top \Psi_x^{-1} b_x$ and
# $\tau_y = b_y^\top \Psi_y^{-1} b_y$ (Sherman–Morrison)
#
# $$
# \begin{aligned}
# \rho_1 &= \sqrt{\frac{\tau_x}{1 + \tau_x}\cdot\frac{\tau_y}{1 + \tau_y}}, \\
# w_x &\propto \Psi_x^{-1} b_x,\quad w_y \propto \Psi_y^{-1} b_y .
# \end{aligned}
# $$ (eq-teach-cca-analytic)
#
# The formula gives {glue:text}`teach_cca_2d_rho_analytic:.4f`; the library's solver applied
# to the exact population covariances gives {glue:text}`teach_cca_2d_rho_population:.4f`, and
# fitted on the {glue:text}`teach_cca_2d_n_points` sampled pairs
# {glue:text}`teach_cca_2d_rho_sample:.4f` (a sample estimate: it moves with the seed). The
# second canonical correlation of the sample is {glue:text}`teach_cca_2d_rho_second:.3f`:
# noise only, since the population value is exactly zero.
#
# :::{admonition} Try this
# :class: tip
# Shrink the sample: `paper-lib reproduce --profile quick --only 20_teach_cca_2d -p cca2d_n_points=6`. Expect
# the sample's first canonical correlation to climb towards 1, far above the closed-form
# value: with six pairs in two dimensions almost any two clouds can be lined up, and CCA
# reports the best agreement it finds, chance included. With `-p cca2d_n_points=20000` both
# sample values settle on their population values (the closed form for the first, zero for
# the second).
# :::
#
# ### The canonical variates are uncorrelated
#
# The projections $Z_x = X W_x$ and $Z_y = Y W_y$ are the *canonical variates*. From
# {eq}`eq-teach-cca-svd` and {eq}`eq-teach-cca-directions`,
#
# $$
# \begin{aligned}
# W_x^\top \Sigma_{xx} W_x &= I, \qquad W_y^\top \Sigma_{yy} W_y = I, \\
# W_x^\top \Sigma_{xy} W_y &= \operatorname{diag}(\rho_1, \rho_2, \dots) :
# \end{aligned}
# $$ (eq-teach-cca-variates)
#
# within a view the variates are uncorrelated with unit variance, and across the views the
# $j$-th variate of $x$ correlates only with the $j$-th variate of $y$, by $\rho_j$. The
# correlation matrix of the toy's four variates shows exactly this pattern
# ({numref}`tbl-teach-cca-2d-variate-correlations`):

# %% tags=["hide-input"]
R = tc.variate_correlations(*cca.transform(X, Y))
run.glue("teach_cca_2d_max_off_diagonal", tc.max_off_diagonal(R))
run.table(R.reset_index(names="variate"), "variate_correlations",
          "Correlations between the canonical variates of the toy: x₁, x₂ from view x and y₁, "
          "y₂ from view y, rounded to four decimals.", reproduces=None,
          data=TOY_SETTING, shown=tc.variate_view(R), digits=4)

# %% [markdown]
# The largest correlation that {eq}`eq-teach-cca-variates` requires to vanish is
# {glue:text}`teach_cca_2d_max_off_diagonal:.1e` (round-off). This is why the paper can keep
# the first $k = 10$ components as a $k$-dimensional embedding: each component adds
# information the others do not carry, and cosine similarity in that space compares the views
# component by component.
#
# ### Ridge
#
# With many features and few clips, $\Sigma_{xx}$ is poorly estimated or singular (the images
# of `avdigits` have pixels that are blank in every clip; exercise 6 counts them), and
# $\Sigma_{xx}^{-1/2}$ amplifies the directions of tiny variance, where a spurious perfect
# correlation is easy to find. Ridge CCA adds $r I$ to both covariances before whitening
# {cite:p}`hardoon2004canonical`:
#
# $$
# T_r = (\Sigma_{xx} + r I)^{-1/2}\, \Sigma_{xy}\, (\Sigma_{yy} + r I)^{-1/2} = U S V^\top,
# \qquad W_x = (\Sigma_{xx} + r I)^{-1/2} U, \quad W_y = (\Sigma_{yy} + r I)^{-1/2} V .
# $$ (eq-teach-cca-ridge)
#
# As $r$ grows the singular values $s_j$ of $T_r$ shrink (they are no longer correlations).
# For a large $r$, $(\Sigma_{xx} + rI)^{-1/2} \approx r^{-1/2} I$, so
# $T_r \approx \Sigma_{xy} / r$: the directions move towards the singular vectors of the
# cross-covariance $\Sigma_{xy}$ alone. Those are the directions of *partial least squares*
# (PLS) in its simplest form: the pair of unit directions that maximises the covariance
# $w_x^\top \Sigma_{xy} w_y$ of the projections, not their correlation, with no whitening
# (exercise 2). The correlation the ridge directions actually reach drops more slowly than
# the value the SVD reports ({numref}`fig-teach-cca-2d-ridge-path`). The authors add
# $r = 10^{-4}$.

# %% tags=["hide-input"]
ridge = tc.ridge_path(X, Y, [0.0, *RIDGES])
run.save_table(ridge, "ridge_path")
reg1 = tc.ridge_path(X, Y, [1.0]).iloc[0]
run.glue("teach_cca_2d_ridge1_rho_svd", float(reg1.rho_svd))
run.glue("teach_cca_2d_ridge1_sample_corr", float(reg1.sample_correlation))
run.figure(tc.plot_ridge_path(ridge[ridge.reg > 0], rho_sample), "ridge_path",
           "The first canonical correlation of ridge CCA on the toy against the ridge r (log "
           "scale): the value the SVD reports, s₁(T_r) (solid), and the sample correlation its "
           "directions actually reach (dashed); dotted: the value at r = 0.",
           reproduces=None, data=TOY_SETTING)

# %% [markdown]
# At $r = 1$ (the noise variances of the toy are of order one) the SVD reports
# {glue:text}`teach_cca_2d_ridge1_rho_svd:.3f` while the directions still reach a sample
# correlation of {glue:text}`teach_cca_2d_ridge1_sample_corr:.3f` (the value at $r = 0$ is
# {glue:text}`teach_cca_2d_rho_sample:.3f`). Because the ridge is *absolute* (added in the
# units of the features), its effect depends on the feature scale.
#
# :::{admonition} Try this
# :class: tip
# Push the ridge further: `paper-lib reproduce --profile quick --only 20_teach_cca_2d -p
# cca2d_ridges=0.1,1,10,100,1000`. Expect the solid line to fall towards zero like $1/r$ and
# the dashed line to level off at the correlation that the PLS directions reach (close to the
# toy's signal axes, exercise 2): below the value at $r = 0$ but far above zero. Then add `-p cca2d_ridge=1` to run the
# ten lines of numpy with a ridge: they still agree with the library.
# :::
#
# ## CCA on the build's dataset
#
# The same estimator on real features (described in {ref}`the dataset box <teach-dataset-box>`): it is fitted
# on the training rows of the first fold, and the correlation of each pair of canonical
# variates is then measured on those training rows and on the held-out test fold, for the
# authors' ridge and a stronger one ({numref}`fig-teach-cca-2d-dataset-train-test-correlations`,
# {numref}`tbl-teach-cca-2d-dataset-train-test-correlations`).

# %% tags=["hide-input"]
split = next(ds.splits([folds[0]]))
Xa_tr, Xv_tr = ds.audio[split.train], ds.visual[split.train]
Xa_te, Xv_te = ds.audio[split.test], ds.visual[split.test]
mean_var = float(np.mean(np.r_[Xa_tr.var(axis=0), Xv_tr.var(axis=0)]))
# [choice] the stronger ridge: 0.1 x the mean per-feature variance of the training rows
ridges = {"authors": 1e-4, "strong": 0.1 * mean_var}
n_comp = min(10, ds.audio.shape[1], ds.visual.shape[1])
tt = tc.train_test_canonical_correlations(Xa_tr, Xv_tr, Xa_te, Xv_te, n_comp, ridges)
one_fit = f"fold {folds[0]}, one fit"
setting = (f"fitted on the {split.train.size} training rows of fold {folds[0]} "
           f"({ds.audio.shape[1]}-d audio, {ds.visual.shape[1]}-d visual), evaluated on its "
           f"{split.test.size} test rows")
run.figure(tc.plot_train_test_correlations(tt, ds.name), "dataset_train_test_correlations",
           f"The correlation of the j-th pair of canonical variates on the training rows "
           f"(solid) and on the held-out test rows (dashed), with the authors' ridge (left) and "
           f"the strong ridge (right); CCA {setting}.", reproduces=None, over=one_fit)
run.table(tt, "dataset_train_test_correlations",
          f"The correlation of the j-th pair of canonical variates on the training and on the "
          f"test rows, for each ridge r; CCA {setting}.", reproduces=None, over=one_fit,
          shown=tc.train_test_view(tt), digits=3)

run.glue("teach_cca_2d_ds_n_train", int(split.train.size))
run.glue("teach_cca_2d_ds_n_test", int(split.test.size))
run.glue("teach_cca_2d_ds_dims", f"{ds.audio.shape[1]} + {ds.visual.shape[1]}")
run.glue("teach_cca_2d_ds_strong_reg", ridges["strong"])
gaps = {name: tc.mean_train_test_gap(tt, name) for name in ridges}
for name in ridges:
    for part in ("train", "test"):
        run.glue(f"teach_cca_2d_ds_{name}_{part}_rho1",
                 tc.first_component_correlation(tt, name, part))
    run.glue(f"teach_cca_2d_ds_{name}_mean_gap", gaps[name])
smaller_gap = "strong" if gaps["strong"] < gaps["authors"] else "authors'"
run.glue("teach_cca_2d_ds_smaller_gap", smaller_gap)

# %% [markdown]
# On {glue:text}`teach_cca_2d_ds_name` ({glue:text}`teach_cca_2d_ds_n_train` training rows,
# {glue:text}`teach_cca_2d_ds_dims` features) the first canonical correlation with the authors'
# ridge is {glue:text}`teach_cca_2d_ds_authors_train_rho1:.3f` on the training rows and
# {glue:text}`teach_cca_2d_ds_authors_test_rho1:.3f` on the held-out fold; with the strong
# ridge ($r$ = {glue:text}`teach_cca_2d_ds_strong_reg:.2g`) it is
# {glue:text}`teach_cca_2d_ds_strong_train_rho1:.3f` and
# {glue:text}`teach_cca_2d_ds_strong_test_rho1:.3f`. Averaged over the components, the
# train-minus-test gap is {glue:text}`teach_cca_2d_ds_authors_mean_gap:.3f` with the authors'
# ridge and {glue:text}`teach_cca_2d_ds_strong_mean_gap:.3f` with the strong one; the
# {glue:text}`teach_cca_2d_ds_smaller_gap` ridge has the smaller gap here. Training
# correlations are what CCA optimised, so only the held-out values say how much of the shared
# structure generalises; this is also why the book never reports a number measured on the
# rows a model was fitted on.
#
# ## Summary
#
# - CCA looks for one direction per view such that the two projections correlate as much as
#   possible; PCA, which looks at one view at a time, follows the loudest axis, which may be
#   a nuisance both views do not share.
# - Whitening each view turns the problem into one SVD: the canonical correlations are the
#   singular values $s_j$ of $T_r$, the directions are $W_x = (\Sigma_{xx}+rI)^{-1/2}U$ and
#   $W_y = (\Sigma_{yy}+rI)^{-1/2}V$ {eq}`eq-teach-cca-ridge`; ten lines of numpy match the
#   library to round-off.
# - The canonical variates are uncorrelated within each view and pair up across the views, so
#   the first $k$ of them form a $k$-dimensional common space.
# - The ridge $r$ makes the whitening possible when a covariance is singular; it shrinks the
#   reported values and, for a large $r$, turns CCA into PLS ($T_r \approx \Sigma_{xy}/r$).
# - CCA always reports the best agreement it found on the rows it was fitted on: with few rows
#   or many features that includes chance, so only held-out correlations measure what
#   generalises.
#
# ## Exercises
#
# :::{exercise}
# :label: ex-teach-cca-2d-1
# **Derive** the ridge directions {eq}`eq-teach-cca-ridge`. Maximise
# $w_x^\top \Sigma_{xy} w_y$ subject to $w_x^\top(\Sigma_{xx}+rI)w_x = 1$ and
# $w_y^\top(\Sigma_{yy}+rI)w_y = 1$: substitute $\tilde w_x = (\Sigma_{xx}+rI)^{1/2}w_x$ and
# $\tilde w_y = (\Sigma_{yy}+rI)^{1/2}w_y$, show that the maximum is the largest singular
# value $s_1$ of $T_r$ and that it is reached at $w_x = (\Sigma_{xx}+rI)^{-1/2}u_1$,
# $w_y = (\Sigma_{yy}+rI)^{-1/2}v_1$. Why may a Cholesky factor $F$ ($F F^\top =
# \Sigma_{xx}+rI$) replace the symmetric square root? Then **check** it on the chapter's
# default toy (its population covariances) at $r = 1$: compute $s_1(T_1)$, and, without any
# SVD, the largest $w_x^\top \Sigma_{xy} w_y$ over directions on the two constraint ellipses
# (try every angle).
# :::
#
# ```{solution-start} ex-teach-cca-2d-1
# :class: dropdown
# ```

# %% tags=["hide-input"]
cov = tc.default_latent_toy().covariances()
run.glue("teach_cca_2d_ex1_s1", float(tc.ridge_cca(cov, 1.0)[2][0]))
run.glue("teach_cca_2d_ex1_grid", tc.constrained_grid_max(cov, 1.0, n_angles=360))

# %% [markdown]
# Write $\Sigma_{xx,r} = \Sigma_{xx}+rI$ and $\Sigma_{yy,r} = \Sigma_{yy}+rI$; both are symmetric positive definite
# for $r > 0$, so $\Sigma_{xx,r}^{1/2}$ and $\Sigma_{xx,r}^{-1/2}$ exist. With $w_x = \Sigma_{xx,r}^{-1/2}\tilde w_x$,
# $w_y = \Sigma_{yy,r}^{-1/2}\tilde w_y$ the constraints become $\tilde w_x^\top \tilde w_x = 1$,
# $\tilde w_y^\top \tilde w_y = 1$ and the objective
# $\tilde w_x^\top \Sigma_{xx,r}^{-1/2}\Sigma_{xy}\Sigma_{yy,r}^{-1/2}\tilde w_y = \tilde w_x^\top T_r \tilde w_y$.
# Write $T_r = \sum_j s_j u_j v_j^\top$. For unit vectors, by Cauchy–Schwarz,
# $\tilde w_x^\top T_r \tilde w_y \le \lVert T_r \tilde w_y\rVert \le s_1$, because
# $\lVert T_r \tilde w_y\rVert^2 = \sum_j s_j^2 (v_j^\top \tilde w_y)^2 \le s_1^2$; and
# $\tilde w_x = u_1$, $\tilde w_y = v_1$ give exactly $u_1^\top T_r v_1 = s_1$. Back in the
# original coordinates, $w_x = \Sigma_{xx,r}^{-1/2}u_1$ and $w_y = \Sigma_{yy,r}^{-1/2}v_1$. The next pairs
# maximise the same objective under the extra constraints that their variates are uncorrelated
# with the earlier ones, $\tilde w_x \perp u_1$, $\tilde w_y \perp v_1$, which gives $u_2$,
# $v_2$, and so on. Any factors with $F_x F_x^\top = \Sigma_{xx,r}$ and $F_y F_y^\top = \Sigma_{yy,r}$ can be
# written $F_x = \Sigma_{xx,r}^{1/2}Q_x$, $F_y = \Sigma_{yy,r}^{1/2}Q_y$ with orthogonal $Q_x$, $Q_y$ (because
# $\Sigma_{xx,r}^{-1/2}F_x$ has orthonormal columns). Then $F_x^{-1}\Sigma_{xy}F_y^{-\top} =
# Q_x^\top T_r Q_y$ has the same singular values, its singular vectors are $Q_x^\top u_j$ and
# $Q_y^\top v_j$, and $F_x^{-\top}Q_x^\top u_j = \Sigma_{xx,r}^{-1/2}Q_xQ_x^\top u_j = \Sigma_{xx,r}^{-1/2}u_j$:
# the same directions (each up to sign when the singular values are distinct).
#
# On the default toy at $r = 1$: $s_1(T_1)$ = {glue:text}`teach_cca_2d_ex1_s1:.4f`; the best
# value on a grid of half-degree steps over both ellipses is
# {glue:text}`teach_cca_2d_ex1_grid:.4f`, just below it (the grid misses the exact optimum
# by a fraction of a step).
#
# ```{solution-end}
# ```
#
# :::{exercise}
# :label: ex-teach-cca-2d-2
# **Derive** the large-ridge limit. Using the eigendecomposition
# $\Sigma_{xx} = Q\Lambda Q^\top$, show that
# $(\Sigma_{xx}+rI)^{-1/2} = r^{-1/2}\big(I - \Sigma_{xx}/(2r) + O(r^{-2})\big)$, hence
# $r\,T_r = \Sigma_{xy} + O(1/r)$: $r\,s_j(T_r)$ tends to the $j$-th singular value
# $\sigma_j(\Sigma_{xy})$ of the cross-covariance, and the canonical directions tend to the
# PLS directions, its singular vectors. What are the PLS directions of the toy
# {eq}`eq-teach-cca-toy`? **Check** on the default toy at $r = 1000$: $r\,s_1(T_r)$ against
# $\sigma_1(\Sigma_{xy})$, and the angle between the CCA and PLS directions in each view (and
# at $r = 0$).
# :::
#
# ```{solution-start} ex-teach-cca-2d-2
# :class: dropdown
# ```

# %% tags=["hide-input"]
large = tc.exercise_large_ridge(cov, 1000.0)
for key, value in large.items():
    run.glue(f"teach_cca_2d_ex2_{key}", value)

# %% [markdown]
# $(\Sigma_{xx}+rI)^{-1/2} = Q(\Lambda+rI)^{-1/2}Q^\top$ and, per eigenvalue,
# $(\lambda+r)^{-1/2} = r^{-1/2}(1+\lambda/r)^{-1/2} = r^{-1/2}\big(1 - \lambda/(2r) +
# O(r^{-2})\big)$, so $(\Sigma_{xx}+rI)^{-1/2} = r^{-1/2}\big(I - \Sigma_{xx}/(2r) +
# O(r^{-2})\big)$, and the same for $y$. Multiplying out,
# $T_r = r^{-1}\big(\Sigma_{xy} + O(1/r)\big)$, i.e. $r\,T_r \to \Sigma_{xy}$. Singular values
# and (for distinct singular values) singular vectors depend continuously on the matrix, so
# $r\,s_j(T_r) \to \sigma_j(\Sigma_{xy})$ and $U, V$ tend to the singular vectors of
# $\Sigma_{xy}$; since $W_x = (\Sigma_{xx}+rI)^{-1/2}U \approx r^{-1/2}U$, the directions
# tend to them too. For the toy, $\Sigma_{xy} = b_x b_y^\top$, whose only non-zero singular
# value is $\lVert b_x\rVert\,\lVert b_y\rVert$, with singular vectors $b_x/\lVert b_x\rVert$ and
# $b_y/\lVert b_y\rVert$: the PLS directions are the signal axes themselves, $e(0°)$ in $x$
# and $e(90°)$ in $y$.
#
# At $r = 1000$: $r\,s_1(T_r)$ = {glue:text}`teach_cca_2d_ex2_r_times_s1:.4f` against
# $\sigma_1(\Sigma_{xy})$ = {glue:text}`teach_cca_2d_ex2_sigma1:.4f`; the CCA directions lie
# {glue:text}`teach_cca_2d_ex2_angle_x:.2f`° ($x$) and {glue:text}`teach_cca_2d_ex2_angle_y:.2f`°
# ($y$) from the PLS ones, against {glue:text}`teach_cca_2d_ex2_angle_x_r0:.1f`° and
# {glue:text}`teach_cca_2d_ex2_angle_y_r0:.1f`° at $r = 0$. This is the direction claim of the
# ridge figure's title: towards the cross-covariance (PLS) directions, not towards PCA's.
#
# ```{solution-end}
# ```
#
# :::{exercise}
# :label: ex-teach-cca-2d-3
# **Compute by hand** the canonical correlations and the first pair of canonical directions
# of the $2\times2$ toy
#
# $$
# \Sigma_{xx} = \begin{pmatrix}4 & 0\\ 0 & 1\end{pmatrix},\quad
# \Sigma_{yy} = \begin{pmatrix}1 & 0\\ 0 & 1\end{pmatrix},\quad
# \Sigma_{xy} = \begin{pmatrix}0.8 & 0.6\\ 0.15 & -0.2\end{pmatrix},
# $$
#
# with $r = 0$ (hint: look at the rows of $T_0$). Then check your answer with the library, on
# the covariances and on a sample drawn from a Gaussian with these covariances.
# :::
#
# ```{solution-start} ex-teach-cca-2d-3
# :class: dropdown
# ```

# %% tags=["hide-input"]
hand = tc.exercise_hand_toy(n_sample=20_000, seed=p.seed)
for key, value in hand.items():
    run.glue(f"teach_cca_2d_ex3_{key}", int(value) if key == "n_sample" else value)

# %% [markdown]
# $\Sigma_{xx}^{-1/2} = \operatorname{diag}(1/2, 1)$ and $\Sigma_{yy}^{-1/2} = I$, so
# $T_0 = \begin{pmatrix}0.4 & 0.3\\ 0.15 & -0.2\end{pmatrix}$. Its rows are orthogonal
# ($0.4\cdot0.15 + 0.3\cdot(-0.2) = 0$) with lengths $1/2$ and $1/4$, so
# $T_0 = \operatorname{diag}(1/2, 1/4)\begin{pmatrix}0.8 & 0.6\\ 0.6 & -0.8\end{pmatrix}$ is
# already an SVD: $U = I$, $S = \operatorname{diag}(1/2, 1/4)$ and $V^\top$ the orthogonal
# matrix on the right. Hence $\rho_1 = 1/2$, $\rho_2 = 1/4$,
# $w_x = \Sigma_{xx}^{-1/2}u_1 = (1/2, 0)$ and $w_y = v_1 = (0.8, 0.6)$ (up to a common sign;
# check $w_x^\top\Sigma_{xx}w_x = 1$ and
# $w_x^\top\Sigma_{xy}w_y = 0.4\cdot0.8 + 0.3\cdot0.6 = 1/2$).
#
# The library on the covariances: $\rho_1$ = {glue:text}`teach_cca_2d_ex3_rho1:.4f`,
# $\rho_2$ = {glue:text}`teach_cca_2d_ex3_rho2:.4f`, $w_x$ =
# ({glue:text}`teach_cca_2d_ex3_w_x1:.3f`, {glue:text}`teach_cca_2d_ex3_w_x2:.3f`), $w_y$ =
# ({glue:text}`teach_cca_2d_ex3_w_y1:.3f`, {glue:text}`teach_cca_2d_ex3_w_y2:.3f`). Fitted on
# {glue:text}`teach_cca_2d_ex3_n_sample` pairs drawn from the joint Gaussian, CCA gives
# $\rho_1$ = {glue:text}`teach_cca_2d_ex3_sample_rho1:.3f`, a sample estimate of $1/2$.
#
# ```{solution-end}
# ```
#
# :::{exercise}
# :label: ex-teach-cca-2d-4
# **Change a knob, predict, re-run.** In the default toy the loud noise of view $x$ lies at
# $\nu_x = 50°$ while the signal lies at $0°$. Show that
# $\tau_x = \lVert b_x\rVert^2\big(\cos^2\nu_x/\sigma_{\text{loud}}^2 +
# \sin^2\nu_x/\sigma_{\text{quiet}}^2\big)$, where $\sigma_{\text{loud}}$ and
# $\sigma_{\text{quiet}}$ are the noise's standard deviations along and across its loud axis.
# **Predict**, for $\nu_x = 0°$ (the loud noise along the signal): does $\rho_1$
# {eq}`eq-teach-cca-analytic` rise or fall, and where do the CCA and the PCA directions of
# view $x$ lie in the population (for a very large sample)? Compute $\rho_1$, then re-run with
# `paper-lib reproduce --profile quick --only 20_teach_cca_2d -p cca2d_noise_angle_x=0` and look at
# {numref}`fig-teach-cca-2d-views-directions` and {numref}`tbl-teach-cca-2d-directions`.
# :::
#
# ```{solution-start} ex-teach-cca-2d-4
# :class: dropdown
# ```

# %% tags=["hide-input"]
at_default = tc.exercise_noise_angle(tc.CCA2D_NOISE_ANGLE_X.default)
at_zero = tc.exercise_noise_angle(0.0)
for key in at_default:
    run.glue(f"teach_cca_2d_ex4_default_{key}", at_default[key])
    run.glue(f"teach_cca_2d_ex4_zero_{key}", at_zero[key])
run.glue("teach_cca_2d_ex4_tilt", tc.EXERCISE_TILT)

# %% [markdown]
# $\Psi_x = \Omega(\nu_x)\operatorname{diag}(\sigma_{\text{loud}}^2, \sigma_{\text{quiet}}^2)
# \Omega(\nu_x)^\top$ for the rotation $\Omega(\nu_x)$, so $\Psi_x^{-1} = \Omega(\nu_x)
# \operatorname{diag}(\sigma_{\text{loud}}^{-2}, \sigma_{\text{quiet}}^{-2})\Omega(\nu_x)^\top$;
# with $b_x = \lVert b_x\rVert\,e(0°)$,
# $\Omega(\nu_x)^\top b_x = \lVert b_x\rVert(\cos\nu_x, -\sin\nu_x)$, which gives the formula. At $\nu_x = 0°$ only the small term
# $\lVert b_x\rVert^2/\sigma_{\text{loud}}^2$ is left: $\tau_x$ collapses and $\rho_1$
# **falls**, from {glue:text}`teach_cca_2d_ex4_default_rho1:.3f` to
# {glue:text}`teach_cca_2d_ex4_zero_rho1:.3f`, because no direction of $x$ can separate the
# signal from a noise that lies on the same axis. The directions: $\Psi_x$ is diagonal, so
# $w_x \propto \Psi_x^{-1}b_x$ lies along $e(0°)$, and
# $\Sigma_{xx} = b_x b_x^\top + \Psi_x$ is diagonal with its largest entry first, so PCA's axis
# is $e(0°)$ too: CCA at {glue:text}`teach_cca_2d_ex4_zero_cca_angle_x:.0f`°, PCA at
# {glue:text}`teach_cca_2d_ex4_zero_pca_angle_x:.0f`° (at $\nu_x = 50°$ they lie at
# {glue:text}`teach_cca_2d_ex4_default_cca_angle_x:.0f`° and
# {glue:text}`teach_cca_2d_ex4_default_pca_angle_x:.0f`°).
#
# In the re-run page the sample's $\rho_1$ lies near the new value, and PCA's line of view $x$
# lies on the signal axis. CCA's line may not: at $\nu_x = 0°$ the correlation hardly depends
# on $w_x$ near the optimum, because tilting $w_x$ towards the quiet axis adds almost no
# variance. Turning $w_x$ by {glue:text}`teach_cca_2d_ex4_tilt:.0f`° away from the optimum
# lowers the population correlation only from {glue:text}`teach_cca_2d_ex4_zero_rho1:.3f` to
# {glue:text}`teach_cca_2d_ex4_zero_rho_tilted:.3f` (at $\nu_x = 50°$: from
# {glue:text}`teach_cca_2d_ex4_default_rho1:.3f` to
# {glue:text}`teach_cca_2d_ex4_default_rho_tilted:.3f`), so a sample of a few hundred pairs
# can place the black line tens of degrees off: a flat optimum is a poorly estimated
# direction, however well its correlation is estimated.
#
# ```{solution-end}
# ```
#
# :::{exercise}
# :label: ex-teach-cca-2d-5
# **The ridge and the reported correlation.** For the toy, $\Sigma_{xy} = b_x b_y^\top$ has
# rank one. Show that
# $s_1(T_r) = \sqrt{b_x^\top(\Sigma_{xx}+rI)^{-1}b_x \cdot b_y^\top(\Sigma_{yy}+rI)^{-1}b_y}$
# and that it decreases as $r$ grows. The directions are then
# $w_x \propto (\Sigma_{xx}+rI)^{-1}b_x$, $w_y \propto (\Sigma_{yy}+rI)^{-1}b_y$: write the
# correlation they actually reach, {eq}`eq-teach-cca-objective` with the covariances *without*
# the ridge. Compute both for the default toy's population covariances at $r = 1$, and say
# which line of {numref}`fig-teach-cca-2d-ridge-path` each one corresponds to.
# :::
#
# ```{solution-start} ex-teach-cca-2d-5
# :class: dropdown
# ```

# %% tags=["hide-input"]
default_toy = tc.default_latent_toy()
for r_ex in (0.0, 1.0):
    for key, value in tc.exercise_ridge_population(default_toy, r_ex).items():
        run.glue(f"teach_cca_2d_ex5_r{r_ex:g}_{key}", value)

# %% [markdown]
# With $\Sigma_{xx,r} = \Sigma_{xx}+rI$, $\Sigma_{yy,r} = \Sigma_{yy}+rI$, $t_x = \Sigma_{xx,r}^{-1/2}b_x$ and
# $t_y = \Sigma_{yy,r}^{-1/2}b_y$: $T_r = t_x t_y^\top$ is an outer product, whose only non-zero
# singular value is $\lVert t_x\rVert\,\lVert t_y\rVert$, with singular vectors
# $t_x/\lVert t_x\rVert$ and $t_y/\lVert t_y\rVert$. Here
# $\lVert t_x\rVert^2 = b_x^\top \Sigma_{xx,r}^{-1}b_x$, which gives the formula, and
# $w_x = \Sigma_{xx,r}^{-1/2}t_x/\lVert t_x\rVert \propto \Sigma_{xx,r}^{-1}b_x$. It decreases, since for any
# $h \neq 0$, $\frac{d}{dr}\,h^\top(\Sigma+rI)^{-1}h = -h^\top(\Sigma+rI)^{-2}h$, which is
# negative. The correlation reached is
# $\rho(w_x, w_y) = \dfrac{(w_x^\top b_x)(b_y^\top w_y)}{\sqrt{w_x^\top\Sigma_{xx}w_x}\,
# \sqrt{w_y^\top\Sigma_{yy}w_y}}$, since $\Sigma_{xy} = b_x b_y^\top$.
#
# At $r = 1$: $s_1(T_1)$ = {glue:text}`teach_cca_2d_ex5_r1_reported:.3f`, the correlation its
# directions reach {glue:text}`teach_cca_2d_ex5_r1_reached:.3f`; at $r = 0$ both equal
# {glue:text}`teach_cca_2d_ex5_r0_reported:.3f`. The first is the solid line of the ridge
# figure (the SVD value), the second the dashed line (the figure shows the sample's values
# {glue:text}`teach_cca_2d_ridge1_rho_svd:.3f` and
# {glue:text}`teach_cca_2d_ridge1_sample_corr:.3f`, sample estimates of these two when the
# page runs with the default knobs). The ridge shrinks the *reported* number much more than it
# hurts the directions: never read $s_j(T_r)$ as a correlation when $r$ is not small against
# the feature variances.
#
# ```{solution-end}
# ```
#
# :::{exercise}
# :label: ex-teach-cca-2d-6
# **Count** what CCA estimates on the dataset of this build. With $d_a$ audio and $d_v$ visual
# features, how many distinct numbers do $\Sigma_{xx}$, $\Sigma_{yy}$ and $\Sigma_{xy}$ hold?
# Compare with the number $N$ of training rows of the first fold. How many visual features are
# constant on those rows, and what is then the largest possible rank of $\Sigma_{yy}$? Why
# does CCA on this dataset need $r > 0$?
# :::
#
# ```{solution-start} ex-teach-cca-2d-6
# :class: dropdown
# ```

# %% tags=["hide-input"]
d_a, d_v = int(ds.audio.shape[1]), int(ds.visual.shape[1])
n_const = tc.constant_columns(Xv_tr)
run.glue("teach_cca_2d_ex6_count", tc.exercise_parameter_count(d_a, d_v))
run.glue("teach_cca_2d_ex6_n_train", int(Xv_tr.shape[0]))
run.glue("teach_cca_2d_ex6_constant", n_const)
run.glue("teach_cca_2d_ex6_rank_bound", tc.covariance_rank_bound(Xv_tr.shape[0], d_v, n_const))

# %% [markdown]
# $\Sigma_{xx}$ is symmetric, so it holds $d_a(d_a+1)/2$ distinct numbers, $\Sigma_{yy}$
# $d_v(d_v+1)/2$, and $\Sigma_{xy}$ all $d_a d_v$: with $d_a$ = {glue:text}`teach_cca_2d_ds_d_a`
# and $d_v$ = {glue:text}`teach_cca_2d_ds_d_v`, that is {glue:text}`teach_cca_2d_ex6_count`
# numbers, estimated from $N$ = {glue:text}`teach_cca_2d_ex6_n_train` training rows. A feature
# that is constant on the training rows has zero variance: its row and column of
# $\Sigma_{yy}$ are zero. {glue:text}`teach_cca_2d_ex6_constant` visual features are constant
# here, and centring removes one more dimension from the $N$ rows, so
# $\operatorname{rank}\Sigma_{yy} \le \min(N-1,\ d_v - \text{constant})$ =
# {glue:text}`teach_cca_2d_ex6_rank_bound`, below $d_v$ whenever a feature is constant or
# $N \le d_v$. A singular $\Sigma_{yy}$ has no $\Sigma_{yy}^{-1/2}$; with $r > 0$ every
# eigenvalue of $\Sigma_{yy}+rI$ is at least $r$, so the whitening exists, and the directions of
# (near) zero variance, where a spurious perfect correlation hides, are damped.
#
# ```{solution-end}
# ```

# %% tags=["remove-cell"]
run.finish()
