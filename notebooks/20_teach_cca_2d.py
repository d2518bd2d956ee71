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
# # CCA from first principles
#
# Every method of the paper {cite:p}`zeng2020deep` starts from canonical correlation analysis
# (CCA) {cite:p}`hotelling1936relations,hardoon2004canonical`: plain CCA is the first baseline,
# Cluster-CCA changes what counts as a correspondence, and TNN-C-CCA trains its triplet network
# on top of a Cluster-CCA projection. This chapter builds CCA from a picture: two
# two-dimensional views that share one hidden variable. We look for the pair of directions
# whose projections agree best, compare them with the directions PCA or chance would pick, and
# only then write the maths down (objective, whitening, SVD, uncorrelated variates, ridge).
# Every number is computed below with the library's `paper_lib.methods.cca.CCA`; the last
# section runs the same estimator on the dataset this book was built on.

# %% tags=["parameters"]
dataset = "avdigits"
profile = "quick"
seed = 0
folds = "all"
data_dir = ""

# %% tags=["remove-input"]
import numpy as np

from paper_lib.methods.cca import CCA, cca_from_covariances
from paper_lib.pipeline.notebook import start
from paper_lib.report import teach_cca as tc
from paper_lib.report._teaching_common import TOY_SETTING

run = start("teach_cca_2d", dataset=dataset, profile=profile, seed=seed, folds=folds,
            data_dir=data_dir)
ds = run.dataset()
p = run.params
folds = p.fold_list(ds.n_folds)

# %% [markdown]
# ## A picture first
#
# Draw a hidden variable $z \sim \mathcal N(0, 1)$ and observe it twice, through two different
# two-dimensional "sensors", each adding its own noise:
#
# $$
# \begin{aligned}
# x &= a_x z + \varepsilon_x, & \varepsilon_x &\sim \mathcal N(0, \Psi_x), \\
# y &= a_y z + \varepsilon_y, & \varepsilon_y &\sim \mathcal N(0, \Psi_y).
# \end{aligned}
# $$ (eq-teach-cca-toy)
#
# Here $x$ plays the audio view and $y$ the visual view of the same clips. The loadings put the
# signal along the first axis of $x$ and the second axis of $y$, while each view's noise is
# strongest along a tilted axis (see `default_latent_toy` for the values). Below are
# {glue:text}`teach_cca_2d_n_points` pairs, coloured by the hidden $z$: the colour gradient is
# what the two views share, the elongated clouds are mostly noise
# ({numref}`fig-teach-cca-2d-views-directions`).

# %% tags=["hide-input"]
# [choice] 500 points: enough for a clean picture, few enough to see single points
N_POINTS = 500
toy = tc.default_latent_toy()
X, Y, z = toy.sample(N_POINTS, seed=p.seed)
# reg = 0 on the toy: the exact textbook CCA (the ridge gets its own section below)
cca = CCA(n_components=2, reg=0.0).fit(X, Y)
directions = tc.compare_directions(X, Y, cca, n_random=3, seed=p.seed)

rho_sample = float(cca.correlations_[0])
rho_analytic = toy.analytic_rho()
rho_population = float(cca_from_covariances(*toy.covariances(), 1)[2][0])
pca_corr = float(directions.loc[directions.kind == "PCA", "abs_correlation"].iloc[0])
random_max = float(directions.loc[directions.kind == "random", "abs_correlation"].max())
run.glue("teach_cca_2d_n_points", N_POINTS)
run.glue("teach_cca_2d_rho_sample", rho_sample)
run.glue("teach_cca_2d_rho_analytic", rho_analytic)
run.glue("teach_cca_2d_rho_population", rho_population)
run.glue("teach_cca_2d_rho_second", float(cca.correlations_[1]))
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
# line is each view's first principal axis (PCA: the direction of largest variance); the grey
# lines are random directions. Projecting each view on its direction turns every point into
# one number, $w_x^\top x$ and $w_y^\top y$. A good pair of directions makes these two numbers
# agree across the pairs ({numref}`fig-teach-cca-2d-projection-pairs`,
# {numref}`tbl-teach-cca-2d-directions`):

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
# only {glue:text}`teach_cca_2d_pca_corr:.3f` and the best of the random pairs
# {glue:text}`teach_cca_2d_random_max_corr:.3f`. PCA looks at one view at a time and follows
# the largest variance, which here is the noise (its $x$ axis lies at
# {glue:text}`teach_cca_2d_angle_pca_x:.0f`° against CCA's
# {glue:text}`teach_cca_2d_angle_cca_x:.0f`°). CCA looks at both views together and follows
# what they *share*.
#
# Because the views are two-dimensional we can try every pair of directions: the map below
# shows $|\mathrm{corr}(u(\theta_x)^\top x,\, u(\theta_y)^\top y)|$ for all angles. CCA sits on
# the highest peak ({numref}`fig-teach-cca-2d-correlation-landscape`); no pair of directions
# can beat it (this is what "canonical" promises).

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
# Centre both views and write $\Sigma_{xx}, \Sigma_{yy}$ for their covariances and
# $\Sigma_{xy}$ for the cross-covariance. The correlation of the projections is
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
# Substitute $u = \Sigma_{xx}^{1/2} w_x$ and $v = \Sigma_{yy}^{1/2} w_y$. The constraints of
# {eq}`eq-teach-cca-constrained` become $\lVert u \rVert = \lVert v \rVert = 1$ and the
# objective becomes $u^\top T v$ with
#
# $$
# T = \Sigma_{xx}^{-1/2}\, \Sigma_{xy}\, \Sigma_{yy}^{-1/2} = U S V^\top .
# $$ (eq-teach-cca-svd)
#
# The maximum of $u^\top T v$ over unit vectors is the largest singular value of $T$, reached
# at the first singular vectors. So the canonical correlations are the singular values
# $\rho_1 \ge \rho_2 \ge \dots$ of $T$, and the canonical directions are
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
           "by the shared latent z, with the top pair of singular vectors of T (black).",
           reproduces=None, data=TOY_SETTING)

# %% [markdown]
# For the toy {eq}`eq-teach-cca-toy` everything is known in closed form:
# $\Sigma_{xy} = a_x a_y^\top$ has rank one, so only one canonical correlation is non-zero, and
# with $s_x = a_x^\top \Psi_x^{-1} a_x$, $s_y = a_y^\top \Psi_y^{-1} a_y$ (Sherman-Morrison)
#
# $$
# \begin{aligned}
# \rho_1 &= \sqrt{\frac{s_x}{1 + s_x}\cdot\frac{s_y}{1 + s_y}}, \\
# w_x &\propto \Psi_x^{-1} a_x,\quad w_y \propto \Psi_y^{-1} a_y .
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
# $k$-th variate of $x$ correlates only with the $k$-th variate of $y$, by $\rho_k$. The
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
# the first $d = 10$ components as a $d$-dimensional embedding: each component adds information
# the others do not carry, and cosine similarity in that space compares the views component by
# component.
#
# ### Ridge
#
# With many features and few clips, $\Sigma_{xx}$ is poorly estimated or singular (the
# avdigits images have pixels that are always blank), and $\Sigma_{xx}^{-1/2}$ amplifies the
# directions of tiny variance, where a spurious perfect correlation is easy to find. Ridge CCA
# adds $r I$ to both covariances before whitening {cite:p}`hardoon2004canonical`:
#
# $$
# T_r = (\Sigma_{xx} + r I)^{-1/2}\, \Sigma_{xy}\, (\Sigma_{yy} + r I)^{-1/2} .
# $$ (eq-teach-cca-ridge)
#
# As $r$ grows the singular values of $T_r$ shrink (they are no longer correlations), and the
# directions move towards those of the cross-covariance alone, as in PLS; the actual
# correlation the directions reach drops more slowly
# ({numref}`fig-teach-cca-2d-ridge-path`). The authors add $r = 10^{-4}$.

# %% tags=["hide-input"]
ridge = tc.ridge_path(X, Y, [0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0])
run.save_table(ridge, "ridge_path")
reg1 = ridge[ridge.reg == 1.0].iloc[0]
run.glue("teach_cca_2d_ridge1_rho_svd", float(reg1.rho_svd))
run.glue("teach_cca_2d_ridge1_sample_corr", float(reg1.sample_correlation))
run.figure(tc.plot_ridge_path(ridge[ridge.reg > 0], rho_sample), "ridge_path",
           "The first canonical correlation of ridge CCA on the toy against the ridge r (log "
           "scale): the value the SVD reports (solid) and the sample correlation its directions "
           "actually reach (dashed); dotted: the value without ridge.",
           reproduces=None, data=TOY_SETTING)

# %% [markdown]
# At $r = 1$ (the noise variances of the toy are of order one) the SVD reports
# {glue:text}`teach_cca_2d_ridge1_rho_svd:.3f` while the directions still reach a sample
# correlation of {glue:text}`teach_cca_2d_ridge1_sample_corr:.3f` (the unregularised value is
# {glue:text}`teach_cca_2d_rho_sample:.3f`). Because the ridge is *absolute* (added in the
# units of the features), its effect depends on the feature scale.
#
# ## CCA on the build's dataset
#
# The same estimator on real features: it is fitted on the training rows of the first fold of
# the dataset this book was built on, and the correlation of each pair of canonical variates
# is then measured on those training rows and on the held-out test fold, for the authors'
# ridge and a stronger one ({numref}`fig-teach-cca-2d-dataset-train-test-correlations`,
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
           f"The correlation of the k-th pair of canonical variates on the training rows "
           f"(solid) and on the held-out test rows (dashed), with the authors' ridge (left) and "
           f"the strong ridge (right); CCA {setting}.", reproduces=None, over=one_fit)
run.table(tt, "dataset_train_test_correlations",
          f"The correlation of the k-th pair of canonical variates on the training and on the "
          f"test rows, for each ridge; CCA {setting}.", reproduces=None, over=one_fit,
          shown=tc.train_test_view(tt), digits=3)

run.glue("teach_cca_2d_ds_name", ds.name)
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

# %% tags=["remove-cell"]
run.finish()
