"""Ablations: sweep one knob, summarise MAP over folds, and show ours beside the paper's curve.

Every ablation notebook follows the same steps::

    margins = run.knob(ab.MARGINS, margins)                               # the profile's levels
    configs = ab.margin_configs(margins, epochs=p.epochs)                 # one Config per level
    records = ab.run_sweep(ds, configs, folds=folds, seed=p.seed)         # run_configs(cache=True)
    ref = reference("ablation_margin", ds.name)                           # paper_lib.paper's rule
    summary = ab.attach_paper(ab.summarise_sweep(records), ref.rows, ref.label)
    run.table(summary, "summary", caption, reproduces=..., over=ab.common_fits(summary),
              shown=ab.summary_view(summary), digits=ab.VIEW_DIGITS)      # the reader's table
    run.figure(ab.plot_sweep(summary, xlabel="margin"), "ablation_margin", caption,
               reproduces=..., over=ab.common_fits(summary))             # A→V | V→A panels

Conventions
-----------
* A *setting* is the label ``"<knob>=<level>"`` written with every record, spelled as in the
  paper's tables (``d=10``, ``margin=0.5``, ``batch_number=300``), so our rows and the paper's
  rows join on ``(method, setting, direction)``.
* Our numbers are ``mean`` / ``std`` (sample std, ddof=1, over folds x seeds) / ``n``; the paper's
  are in the separate columns ``paper_map`` / ``paper_dataset`` / ``paper_source``. They never
  share a column, and the paper's are labelled with the dataset they were measured on (for
  ``avdigits`` or ``synthetic`` that is VEGAS: "paper, VEGAS").
* All fits go through :func:`~paper_lib.experiment.grid.run_configs` with ``cache=True``: a cell whose
  estimator has the same effective parameters as another notebook's (e.g. ``margin=0.5`` and
  the main table's TNN-C-CCA) is fitted once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from paper_lib.data.dataset import PairedDataset
from paper_lib.experiment import DIRECTIONS, Config, dim_label, fits_label, run_configs, summarise
from paper_lib.experiment.knobs import Knob, float_list, int_list
from paper_lib.methods.registry import get_method
from paper_lib.metrics.cross_modal import DIRECTION_LABELS
from paper_lib.paper import VEGAS_TRAIN_CLIPS
from paper_lib.report.tables import MISSING, mean_std

DIRECTION_TITLES = {"a2v": "A→V (audio query, visual gallery)",
                    "v2a": "V→A (visual query, audio gallery)"}
SUMMARY_COLUMNS = ["method", "setting", "knob", "level", "direction", "mean", "std", "n",
                   "fits", "d", "fit_s"]
PAPER_COLUMNS = ["paper_map", "paper_dataset", "paper_source"]


# -- settings ------------------------------------------------------------------------------------
def format_level(value: Any) -> str:
    """A knob level as written in a setting: ``10``, ``0.5``, ``1.0``, ``True``, ``batch_all``."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return repr(round(float(value), 10))  # 1.0 -> "1.0" (as the paper's "margin=1.0")
    if isinstance(value, str) and value and "=" not in value:
        return value
    raise ValueError(f"level: {value!r} is not a bool, int, float or non-empty string without '='")


def setting_label(knob: str, value: Any) -> str:
    """``"<knob>=<level>"``, e.g. ``setting_label("margin", 0.5) == "margin=0.5"``."""
    if not knob or "=" in knob:
        raise ValueError(f"knob: must be a non-empty name without '=', got {knob!r}")
    return f"{knob}={format_level(value)}"


def parse_setting(setting: str) -> tuple[str, Any]:
    """Inverse of :func:`setting_label`: ``"d=10" -> ("d", 10)``, ``"margin=0.5" -> ("margin",
    0.5)``; a level that is not a number stays a string. A label without ``=`` is its own knob
    with an empty level."""
    knob, sep, text = str(setting).partition("=")
    if not sep:
        return knob, ""
    for cast in (int, float):
        try:
            return knob, cast(text)
        except ValueError:
            continue
    return knob, text


def is_numeric_level(level: Any) -> bool:
    """Numeric levels are drawn as a curve; the others (``"rasiwasia"``) as reference lines."""
    return isinstance(level, int | float | np.integer | np.floating) and not isinstance(
        level, bool | np.bool_)


# -- building the configurations -------------------------------------------------------------------
def sweep_configs(method: str, knob: str, values: Sequence[Any], *, epochs: int, dim: int = 10,
                  to_hyper: Callable[[Any], dict[str, Any]] | None = None,
                  to_dim: Callable[[Any], int] | None = None,
                  base_hyper: dict[str, Any] | None = None) -> list[Config]:
    """One :class:`Config` per level of one knob, labelled ``"<knob>=<level>"``.

    ``to_hyper(level)`` gives the hyper-parameters of the level (default ``{knob: level}``),
    merged over ``base_hyper``; ``to_dim(level)`` its dimension d (default ``dim``).
    """
    get_method(method)  # an unknown method fails here, before any fit
    if not values:
        raise ValueError(f"values: the sweep over {knob!r} needs at least one level")
    if len({format_level(v) for v in values}) != len(values):
        raise ValueError(f"values: the levels of {knob!r} must be distinct, got {list(values)}")
    hyper_of = to_hyper or (lambda v: {knob: v})
    configs = []
    for v in values:
        hyper = dict(base_hyper or {}) | hyper_of(v)
        configs.append(Config(method, dim=int(to_dim(v)) if to_dim else dim, epochs=epochs,
                              hyper=hyper, setting=setting_label(knob, v)))
    return configs


def valid_dims(dims: Sequence[int], ds: PairedDataset) -> tuple[list[int], list[str]]:
    """The d that CCA can deliver on ``ds`` (d <= min view width), and why the others were cut."""
    limit = min(ds.audio.shape[1], ds.visual.shape[1])
    kept = [int(d) for d in dims if 1 <= int(d) <= limit]
    dropped = [f"d={d}: more than the {limit} columns of the narrower view"
               for d in dims if not 1 <= int(d) <= limit]
    return kept, dropped


#: the d ablation's levels (the paper's: 10 ... 50; quick: two of them)
DIMS = Knob("dims", [10, 20, 30, 40, 50], quick=[10, 20], check=int_list(minimum=1))


def dims_configs(dims: Sequence[int], *, epochs: int,
                 methods: Sequence[str] = ("cca", "c_cca", "c_cca_rasiwasia", "c_dcca",
                                           "tnn_c_cca")) -> list[Config]:
    """d ∈ dims for every method: the d of CCA/C-CCA/S-DCCA, and of TNN-C-CCA's C-CCA stage.

    [choice] TNN-C-CCA keeps its branch output at 10 (``out_dim``, the paper's MLP ends at 10
    units) for every d: only the C-CCA stage and so the branch *input* width change, and every
    TNN embedding that is ranked has the same width.
    """
    # [choice] out_dim stays at TNNCCCA's default 10 (only n_components = d changes); the
    # published C-CCA (Rasiwasia) is swept too: closed form, cheap, and it shows the rank bound.
    return [c for m in methods
            for c in sweep_configs(m, "d", dims, epochs=epochs, to_hyper=lambda v: {},
                                   to_dim=int)]


#: the margin ablation's levels (the paper's: 0.1 ... 1.1)
MARGINS = Knob("margins", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1],
               quick=[0.1, 0.5, 1.1], check=float_list(lo=0.0))


def margin_configs(margins: Sequence[float], *, epochs: int) -> list[Config]:
    """TNN-C-CCA (batch-all) with each triplet margin (``margin=0.5`` is the default cell)."""
    return sweep_configs("tnn_c_cca", "margin", [float(m) for m in margins], epochs=epochs)


def clips_per_batch(batch_number: int, n_train: int = VEGAS_TRAIN_CLIPS) -> int:
    """Clips in one of the paper's batches: ``round(n_train / batch_number)`` (VEGAS: 22,483).

    [choice] The paper's "batch number" bn cuts the ~22,483 VEGAS training clips into bn chunks
    (bn = 300 ... 900, i.e. ~75 ... ~25 clips). On a smaller dataset the same *number of chunks*
    would leave one or two clips per batch, so each bn is mapped to the VEGAS batch *size* it
    meant, and that size is used.
    """
    if isinstance(batch_number, bool) or int(batch_number) != batch_number or batch_number < 1:
        raise ValueError(f"batch_number: must be an integer >= 1, got {batch_number!r}")
    if int(n_train) < 1:
        raise ValueError(f"n_train: must be >= 1, got {n_train!r}")
    # [choice] same clips per batch as on VEGAS, not the same number of chunks
    return max(1, round(int(n_train) / int(batch_number)))


def vegas_clips_per_batch_axis(x: Any) -> Any:
    """22,483 / x (its own inverse): the secondary axis "clips per batch" of a batch-number axis
    (x <= 0, which matplotlib may probe, maps to +inf)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(x > 0, VEGAS_TRAIN_CLIPS / np.where(x > 0, x, 1.0), np.inf)


def with_clips_per_batch(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary with a ``clips_per_batch`` column (the batch size each batch number used)."""
    out = summary.copy()
    out.insert(int(out.columns.get_loc("level")) + 1, "clips_per_batch",
               [clips_per_batch(int(bn)) for bn in out["level"]])
    return out


#: the batch-number ablation's levels (the paper's: 300 ... 900 chunks of the VEGAS training set)
BATCH_NUMBERS = Knob("batch_numbers", [300, 350, 400, 450, 500, 550, 600, 650, 700, 800, 900],
                     quick=[300, 600, 900], check=int_list(minimum=1))


def batch_number_configs(batch_numbers: Sequence[int], *, epochs: int,
                         n_train: int = VEGAS_TRAIN_CLIPS, exact: bool = False) -> list[Config]:
    """TNN-C-CCA for each paper batch number bn.

    ``exact=True`` (a dataset the paper used): the training set is cut into exactly bn
    near-equal batches (``n_batches=bn``, as the authors' ``np.array_split``). Otherwise the
    VEGAS batch size bn meant, ``batch_size = clips_per_batch(bn)`` (see there).
    """
    def hyper(bn: int) -> dict[str, Any]:
        return {"n_batches": int(bn)} if exact else {"batch_size": clips_per_batch(bn, n_train)}

    return sweep_configs("tnn_c_cca", "batch_number", [int(b) for b in batch_numbers],
                         epochs=epochs, to_hyper=hyper)


def mining_configs(*, epochs: int) -> list[Config]:
    """Random, batch-all (default), batch-hard, and batch-all with symmetric triplets.

    The random cell uses the registry's ``tnn_c_cca_random`` (the main table's row), so both
    notebooks share its fits.
    """
    # [choice] batch-hard and symmetric batch-all are our additions (the paper compares only
    # random and batch-all, in its main table)
    return [Config("tnn_c_cca_random", epochs=epochs, setting="mining=random"),
            Config("tnn_c_cca", epochs=epochs, hyper={"mining": "batch_all"},
                   setting="mining=batch_all"),
            Config("tnn_c_cca", epochs=epochs, hyper={"mining": "batch_hard"},
                   setting="mining=batch_hard"),
            Config("tnn_c_cca", epochs=epochs, hyper={"mining": "batch_all", "symmetric": True},
                   setting="mining=batch_all_symmetric")]


#: the mining cells' display name: every cell is TNN-C-CCA, the setting says how it mines
#: (the registry's names "TNN-C-CCA (batch-all)", "... (random triplets)" would contradict it)
MINING_NAMES = {"tnn_c_cca": "TNN-C-CCA", "tnn_c_cca_random": "TNN-C-CCA"}

#: the main table's rows that stand for our mining cells (the paper has no mining ablation)
MINING_PAPER_ROWS = {("tnn_c_cca_random", ""): ("tnn_c_cca_random", "mining=random"),
                     ("tnn_c_cca", ""): ("tnn_c_cca", "mining=batch_all")}


#: the β levels of the Cluster-CCA variant ablation ([choice]: the paper fixes β = 0.2)
BETAS = Knob("betas", [0.0, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0], quick=[0.0, 0.2, 1.0],
             check=float_list(lo=0.0, hi=1.0))


def ccca_variant_configs(betas: Sequence[float], *, epochs: int) -> list[Config]:
    """C-CCA alone and as TNN-C-CCA's first stage: the β variant for β ∈ betas, and Rasiwasia's.

    β = 1 is CCA on the one-to-one pairs, β = 0 the within-class pairs only (the authors' code
    fixes β = 0.2: the main table's C-CCA and TNN-C-CCA).
    """
    betas = [float(b) for b in betas]
    return [*sweep_configs("c_cca", "beta", betas, epochs=epochs,
                           to_hyper=lambda b: {"variant": "beta", "beta": b}),
            Config("c_cca_rasiwasia", epochs=epochs, setting="variant=rasiwasia"),
            *sweep_configs("tnn_c_cca", "beta", betas, epochs=epochs,
                           to_hyper=lambda b: {"ccca_variant": "beta", "beta": b}),
            Config("tnn_c_cca", epochs=epochs, hyper={"ccca_variant": "rasiwasia"},
                   setting="variant=rasiwasia")]


def architecture_configs(*, epochs: int, audio_dim: int, visual_dim: int
                         ) -> tuple[list[Config], list[str]]:
    """The 2 x 2 grid order x branches; a cell the data cannot support is skipped with a reason.

    A shared branch after ``tnn_first`` sees the raw features, so it needs equal view widths.
    """
    cells = [("ccca_first", False), ("tnn_first", False), ("ccca_first", True),
             ("tnn_first", True)]
    configs, skipped = [], []
    for order, shared in cells:
        setting = f"order={order}" + ("_shared" if shared else "_separate")
        # [choice] skip (and say so) rather than project the raw views to a common width
        if order == "tnn_first" and shared and audio_dim != visual_dim:
            skipped.append(f"{setting}: one shared MLP on the raw features needs equal view "
                           f"widths (audio {audio_dim}, visual {visual_dim})")
            continue
        configs.append(Config("tnn_c_cca", epochs=epochs,
                              hyper={"order": order, "shared_branch": shared}, setting=setting))
    return configs, skipped


# -- running and summarising ---------------------------------------------------------------------
def run_sweep(ds: PairedDataset, configs: Sequence[Config], *, folds: Sequence[int],
              seed: int, log: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Every config on every fold with one seed, through the shared cache; tidy records."""
    if not configs:
        raise ValueError("configs: nothing to run")
    # [choice] one seed (the notebook's): the ablations compare settings over folds; the main
    # table's seed, so default-valued cells are its cached fits
    return run_configs(ds, list(configs), folds=list(folds), seeds=[int(seed)], cache=True,
                       log=log)[0]


def summarise_sweep(records: pd.DataFrame, metric: str = "map") -> pd.DataFrame:
    """Mean ± std (ddof=1) over folds and seeds per (method, setting, direction), in run order.

    Adds the knob and its parsed level, ``d`` (the directions kept: "9 of 10" when numerically
    zero correlations were dropped), ``fits`` (what a mean covers, in words: "5 folds × 1
    seed", "1 split × 1 seed") and ``fit_s``: the mean fit time of the cell (seconds, as measured
    when the fit was computed, also for a cache hit).
    """
    missing = {"method", "setting", "direction", "metric", "value"} - set(records.columns)
    if missing:
        raise ValueError(f"records: missing columns {sorted(missing)}")
    out = summarise(records, metric)
    if out.empty:
        raise ValueError(f"records: no {metric!r} rows in directions {DIRECTIONS}")
    times = records[records["metric"] == "wall_time_s"].groupby(
        ["method", "setting"], sort=False)["value"].mean().rename("fit_s").reset_index()
    out = out.merge(times, on=["method", "setting"], how="left")
    cells = records[records["metric"] == metric].groupby(["method", "setting"], sort=False)
    labels = {key: fits_label(g) for key, g in cells}
    out["fits"] = [labels[(m, s)] for m, s in zip(out["method"], out["setting"], strict=True)]
    dims = {key: dim_label(g) for key, g in records.groupby(["method", "setting"], sort=False)}
    out["d"] = [dims[(m, s)] for m, s in zip(out["method"], out["setting"], strict=True)]
    parsed = out["setting"].map(parse_setting)
    out["knob"] = [k for k, _ in parsed]
    out["level"] = pd.Series([lv for _, lv in parsed], index=out.index, dtype=object)
    return out[SUMMARY_COLUMNS]


# -- the paper's numbers ---------------------------------------------------------------------------
def relabel_paper(paper: pd.DataFrame,
                  mapping: dict[tuple[str, str], tuple[str, str]]) -> pd.DataFrame:
    """Keep the paper's rows named in ``mapping`` and rename their (method, setting).

    E.g. ``{("tnn_c_cca_random", ""): ("tnn_c_cca_random", "mining=random")}`` puts the main
    table's random-triplet row on our ``mining=random`` cell.
    """
    keys = list(zip(paper["method"], paper["setting"], strict=True))
    absent = [k for k in mapping if k not in keys]
    if absent:
        raise ValueError(f"mapping: the paper has no row {absent[0]} (method, setting)")
    keep = [k in mapping for k in keys]
    out = paper[keep].copy()
    new = [mapping[k] for k in zip(out["method"], out["setting"], strict=True)]
    out["method"] = [m for m, _ in new]
    out["setting"] = [s for _, s in new]
    return out.reset_index(drop=True)


def attach_paper(summary: pd.DataFrame, paper: pd.DataFrame, label: str) -> pd.DataFrame:
    """Our summary with the paper's value of the same (method, setting, direction) beside it.

    The paper's number goes to ``paper_map`` (NaN where the paper has none), ``paper_dataset``
    holds ``label`` (e.g. "paper, VEGAS") and ``paper_source`` its provenance; ours stay in
    ``mean``/``std``.
    """
    key = ["method", "setting", "direction"]
    if paper.duplicated(key).any():
        raise ValueError("paper: more than one value for a (method, setting, direction)")
    ref = paper[key + ["value", "source"]].rename(columns={"value": "paper_map",
                                                           "source": "paper_source"})
    out = summary.drop(columns=[c for c in PAPER_COLUMNS if c in summary], errors="ignore")
    out = out.merge(ref, on=key, how="left", validate="one_to_one")
    out["paper_dataset"] = np.where(out["paper_map"].notna(), label, "")
    out["paper_source"] = out["paper_source"].fillna("")
    return out[[*summary.columns.drop(PAPER_COLUMNS, errors="ignore"), *PAPER_COLUMNS]]


# -- the table a reader sees -----------------------------------------------------------------------
#: decimals of the numeric columns of :func:`summary_view` (``run.table(..., digits=...)``)
VIEW_DIGITS = {"fit time (s)": 2}


def common_fits(summary: pd.DataFrame) -> str:
    """What every mean of the summary covers ("5 folds × 1 seed"), for a caption's setting, or
    ``""`` when the cells differ (then :func:`summary_view` keeps a "fits" column)."""
    labels = list(dict.fromkeys(summary["fits"]))
    return str(labels[0]) if len(labels) == 1 else ""


def best_cells(summary: pd.DataFrame, across_methods: bool = False) -> set[tuple[str, str, str]]:
    """The (method, setting, direction) cells with the highest mean MAP (every tie) per method
    and direction, or per direction over all methods when ``across_methods``. A method with one
    cell only has no best (nothing to compare it with)."""
    keys = ["direction"] if across_methods else ["method", "direction"]
    out: set[tuple[str, str, str]] = set()
    for _, g in summary.groupby(keys, sort=False):
        if len(g) < 2 or not g["mean"].notna().any():
            continue
        top = g["mean"].max()
        out |= {(str(r["method"]), str(r["setting"]), str(r["direction"]))
                for _, r in g[g["mean"] == top].iterrows()}
    return out


def summary_view(summary: pd.DataFrame, *, across_methods: bool = False, digits: int = 4,
                 names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The summary for reading: one row per (method, setting), in run order.

    Columns: ``method`` (display name: ``names`` or the registry's; left out when every row has
    the same, which the caption names), ``setting`` (as in the paper's tables), ``clips per
    batch`` (the batch-number ablation), per direction ``MAP A→V (ours)`` as "mean ± std" on one
    line, in bold the best of ours per method and direction (per direction when
    ``across_methods``, see :func:`best_cells`), and beside it ``MAP A→V (paper, VEGAS)`` where
    the paper reports a value of this ablation; then ``d`` (the directions kept), ``fits`` (only
    when the cells differ: else the caption states it, :func:`common_fits`) and ``fit time (s)``.
    """
    bold = best_cells(summary, across_methods)
    paper = "paper_map" in summary and summary["paper_map"].notna().any()
    label = next((str(v) for v in summary.get("paper_dataset", []) if v), "paper")
    paper_dirs = {d for d in DIRECTIONS
                  if paper and summary.loc[summary["direction"] == d, "paper_map"].notna().any()}
    rows = []
    for (method, setting), g in summary.groupby(["method", "setting"], sort=False):
        row: dict[str, Any] = {"method": _name(method, names), "setting": setting}
        if "clips_per_batch" in g:
            row["clips per batch"] = int(g["clips_per_batch"].iloc[0])
        for d in DIRECTIONS:
            arrow = DIRECTION_LABELS[d]
            r = g[g["direction"] == d]
            cell = MISSING if r.empty else mean_std(float(r["mean"].iloc[0]),
                                                    float(r["std"].iloc[0]), digits)
            if (method, setting, d) in bold and cell != MISSING:
                cell = f"**{cell}**"
            row[f"MAP {arrow} (ours)"] = cell
            if d in paper_dirs:
                value = np.nan if r.empty else float(r["paper_map"].iloc[0])
                row[f"MAP {arrow} ({label})"] = MISSING if np.isnan(value) else \
                    f"{value:.{digits}f}"
        row["d"] = str(g["d"].iloc[0])
        row["fits"] = str(g["fits"].iloc[0])
        row["fit time (s)"] = float(g["fit_s"].iloc[0])
        rows.append(row)
    out = pd.DataFrame(rows)
    if common_fits(summary):
        out = out.drop(columns="fits")
    if out["method"].nunique() == 1:
        out = out.drop(columns="method")
    return out


def _name(method: str, names: Mapping[str, str] | None) -> str:
    return (names or {}).get(method) or get_method(method).paper_name


# -- the mathematics behind the d ablation ----------------------------------------------------------
def plot_spectrum(spectrum: pd.DataFrame, n_classes: int) -> plt.Figure:
    """Canonical correlation against component index, one line per estimator, the C − 1 bound
    marked (7 in wide, legend below the axes)."""
    fig, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
    for name, g in spectrum.groupby("estimator", sort=False):
        ax.plot(g["component"], g["correlation"], marker="o", ms=4, label=name)
    ax.axvline(n_classes - 1, color="grey", ls=":", lw=1)
    ax.annotate(f"C − 1 = {n_classes - 1}", xy=(n_classes - 1, 0.97),
                xycoords=("data", "axes fraction"), xytext=(4, 0), textcoords="offset points",
                color="grey", fontsize=10, va="top")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(labelsize=10)
    ax.set_xlabel("canonical component", fontsize=11)
    ax.set_ylabel("canonical correlation\n(training rows)", fontsize=11)
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(3, len(labels)),
               fontsize=10, frameon=False)
    plt.close(fig)
    return fig


# -- figures ----------------------------------------------------------------------------------------
#: a figure's width (inches): the book's text column is ~745 px, PNGs are saved at 120 dpi
FIG_WIDTH = 7.5


def _method_colours(methods: Sequence[str]) -> dict[str, Any]:
    cmap = plt.get_cmap("tab10")
    return {m: cmap(i % 10) for i, m in enumerate(methods)}


def _legend_below(fig: plt.Figure, handles: Sequence[Any], ncols: int) -> None:
    fig.legend(handles, [h.get_label() for h in handles], loc="outside lower center",
               ncols=max(1, min(ncols, len(handles))), fontsize=10, frameon=False)


def plot_sweep(summary: pd.DataFrame, *, xlabel: str, title: str | None = None,
               secondary: tuple[str, Callable[[Any], Any], Callable[[Any], Any]] | None = None,
               ) -> plt.Figure:
    """Twin panels (A→V, V→A), sized for the text column: per method our mean ± std against the
    knob's numeric level (solid, shaded band) and, where the paper has it, the paper's curve
    (dashed, hollow markers). Rows whose level is not a number (e.g. ``variant=rasiwasia``) are
    drawn as dotted horizontal reference lines. One legend below both panels: the colour is the
    method, the line style the source. The caption, not a title, says what is shown (``title``
    is drawn only when given).

    ``secondary = (label, forward, inverse)`` adds a top axis (e.g. clips per batch).
    """
    methods = list(dict.fromkeys(summary["method"]))
    colours = _method_colours(methods)
    legend = _sweep_legend(summary, methods, colours)
    rows = -(-len(legend) // 3) + (1 if secondary is not None else 0)
    fig, axes = plt.subplots(1, 2, figsize=(FIG_WIDTH, 3.4 + 0.3 * rows), sharey=True,
                             layout="constrained")
    for ax, direction in zip(axes, DIRECTIONS, strict=True):
        sub = summary[summary["direction"] == direction]
        for m in methods:
            _draw_method(ax, sub[sub["method"] == m], get_method(m).paper_name, colours[m])
        ax.set_title(DIRECTION_TITLES[direction], fontsize=10)
        ax.set_xlabel(xlabel, fontsize=11)
        levels = sorted({v for v in sub["level"] if is_numeric_level(v)}, key=float)
        if 1 < len(levels) <= 6:  # few levels: a tick at each, labelled as in the settings
            ax.set_xticks([float(v) for v in levels], [format_level(v) for v in levels])
        ax.tick_params(labelsize=10)
        ax.grid(alpha=0.3)
        if secondary is not None:
            sec = ax.secondary_xaxis("top", functions=(secondary[1], secondary[2]))
            sec.set_xlabel(secondary[0], fontsize=10)
            sec.tick_params(labelsize=10)
            below = [float(v) for v in levels]
            if len(levels) > 6:  # fixed bottom ticks, so that the top ones sit above them
                lo, hi = float(levels[0]), float(levels[-1])
                below = [float(t) for t in MaxNLocator(nbins=6).tick_values(lo, hi)
                         if lo <= t <= hi]
                ax.set_xticks(below)
            above = np.asarray(secondary[1](np.asarray(below)), dtype=np.float64)
            keep = np.isfinite(above)
            sec.set_xticks(above[keep], [f"{v:.0f}" for v in above[keep]])
    axes[0].set_ylabel("MAP (mean ± std over folds)", fontsize=11)
    if title:
        fig.suptitle(title, fontsize=11)
    _legend_below(fig, legend, ncols=3)
    plt.close(fig)
    return fig


def _sweep_legend(summary: pd.DataFrame, methods: Sequence[str],
                  colours: dict[str, Any]) -> list[Any]:
    numeric = summary["level"].map(is_numeric_level)
    curves = set(summary.loc[numeric, "method"])  # a method with reference lines only: dotted
    handles: list[Any] = [Line2D([], [], color=colours[m], marker="o", ms=5,
                                 label=get_method(m).paper_name) if m in curves else
                          Line2D([], [], color=colours[m], ls=":", lw=1.5,
                                 label=get_method(m).paper_name) for m in methods]
    if numeric.any():
        handles.append(Line2D([], [], color="dimgrey", marker="o", ms=5,
                              label="ours (band: ± std)"))
    if "paper_map" in summary and summary.loc[numeric, "paper_map"].notna().any():
        label = next(str(v) for v in summary.loc[numeric & summary["paper_map"].notna(),
                                                  "paper_dataset"])
        handles.append(Line2D([], [], color="dimgrey", ls="--", marker="o", mfc="none", ms=5,
                              label=label))
    for setting in dict.fromkeys(summary.loc[~numeric, "setting"]):
        handles.append(Line2D([], [], color="dimgrey", ls=":", lw=1.5,
                              label=f"ours, {setting}"))
    return handles


def _draw_method(ax: plt.Axes, rows: pd.DataFrame, name: str, colour: Any) -> None:
    numeric = rows[rows["level"].map(is_numeric_level)]
    refs = rows[~rows["level"].map(is_numeric_level)]
    if not numeric.empty:
        x = numeric["level"].astype(float).to_numpy()
        mean, std = numeric["mean"].to_numpy(), numeric["std"].to_numpy()
        ax.plot(x, mean, marker="o", ms=4, color=colour, label=f"{name} (ours)")
        ax.fill_between(x, mean - std, mean + std, color=colour, alpha=0.15, lw=0)
        if "paper_map" in numeric and numeric["paper_map"].notna().any():
            p = numeric[numeric["paper_map"].notna()]
            ax.plot(p["level"].astype(float), p["paper_map"], ls="--", marker="o", ms=4,
                    mfc="none", color=colour, label=f"{name} ({p['paper_dataset'].iloc[0]})")
    for _, r in refs.iterrows():
        ax.axhline(r["mean"], ls=":", color=colour, lw=1.5,
                   label=f"{name}, {r['setting']} (ours)")


def _bar_layout(summary: pd.DataFrame) -> tuple[list[tuple[str, str]], list[str], str,
                                                 list[str] | None]:
    """(cells in run order, tick labels, x label, bar groups or None). When every cell has its
    own setting, one bar per setting (the knob shared by all settings becomes the x label);
    when settings repeat across methods (the adversary on/off of each baseline), the bars are
    grouped by method and coloured by setting."""
    cells = list(dict.fromkeys(zip(summary["method"], summary["setting"], strict=True)))
    settings = [s for _, s in cells]
    if len(set(settings)) == len(settings):
        knobs = {parse_setting(s)[0] for s in settings}
        if len(knobs) == 1 and all("=" in s for s in settings):
            return cells, [s.partition("=")[2] for s in settings], knobs.pop(), None
        return cells, settings, "", None
    methods = list(dict.fromkeys(m for m, _ in cells))
    return cells, [get_method(m).paper_name for m in methods], "", list(dict.fromkeys(settings))


def plot_bars(summary: pd.DataFrame, *, title: str | None = None,
              xlabel: str | None = None) -> plt.Figure:
    """Twin panels (A→V, V→A) of bars, sized for the text column: our mean ± std per cell (one
    bar per setting, or bars grouped by method and coloured by setting when the settings repeat
    across methods, see ``_bar_layout``); the paper's value of a cell, where it has one, as a
    black diamond labelled with ``paper_dataset``. One legend below both panels. ``xlabel``
    replaces the x label drawn by default (the knob shared by the settings, if any)."""
    cells, ticks, knob, groups = _bar_layout(summary)
    xlabel = knob if xlabel is None else xlabel
    fig, axes = plt.subplots(1, 2, figsize=(FIG_WIDTH, 4.2), sharey=True, layout="constrained")
    if groups is None:
        x = np.arange(len(cells), dtype=float)
        colours = ["#4c72b0"] * len(cells)
        centres = x
    else:
        methods = list(dict.fromkeys(m for m, _ in cells))
        width = 0.8 / len(groups)
        palette = _method_colours(groups)
        x = np.array([methods.index(m) + (groups.index(s) - (len(groups) - 1) / 2) * width
                      for m, s in cells])
        colours = [palette[s] for _, s in cells]
        centres = np.arange(len(methods), dtype=float)
    handles: list[Any] = []
    for ax, direction in zip(axes, DIRECTIONS, strict=True):
        rows = summary[summary["direction"] == direction].set_index(["method", "setting"]).loc[cells]
        ax.bar(x, rows["mean"], yerr=rows["std"], color=colours, capsize=3,
               width=0.8 if groups is None else 0.8 / len(groups))
        if "paper_map" in rows and rows["paper_map"].notna().any():
            has = rows["paper_map"].notna().to_numpy()
            dots = ax.scatter(x[has], rows["paper_map"][has], marker="D", color="black",
                              zorder=3, label=str(rows["paper_dataset"][has].iloc[0]))
            if direction == DIRECTIONS[0]:
                handles.append(dots)
        rotate = groups is None and max(len(t) for t in ticks) * len(ticks) > 40
        ax.set_xticks(centres, ticks, rotation=30 if rotate else 0,
                      ha="right" if rotate else "center", fontsize=10)
        ax.tick_params(axis="y", labelsize=10)
        ax.set_title(DIRECTION_TITLES[direction], fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        if xlabel:
            ax.set_xlabel(xlabel, fontsize=11)
    axes[0].set_ylabel("MAP (mean ± std over folds)", fontsize=11)
    if title:
        fig.suptitle(title, fontsize=11)
    if groups is not None:
        palette = _method_colours(groups)
        handles = [Patch(color=palette[s], label=s) for s in groups] + handles
    else:
        handles = [Patch(color="#4c72b0", label="ours (error bar: ± std)")] + handles
    _legend_below(fig, handles, ncols=4)
    plt.close(fig)
    return fig


# -- glue and computed sentences -------------------------------------------------------------------
def _slug(text: str) -> str:
    """Lower-case letters, digits and single underscores: ``"margin=0.5" -> "margin_0_5"``."""
    out = "".join(ch if ch.isalnum() else "_" for ch in str(text).lower())
    return "_".join(part for part in out.split("_") if part)


def best_settings(summary: pd.DataFrame, across_methods: bool = False) -> pd.DataFrame:
    """The cell with the highest mean MAP (the first one on a tie), per (method, direction), or
    per direction over all methods when ``across_methods`` (e.g. the mining cells)."""
    keys = ["direction"] if across_methods else ["method", "direction"]
    rows = []
    for _, g in summary.groupby(keys, sort=False):
        best = g.iloc[int(np.argmax(g["mean"].to_numpy()))]
        rows.append({"method": best["method"], "direction": best["direction"],
                     "setting": best["setting"], "mean": float(best["mean"]),
                     "std": float(best["std"])})
    return pd.DataFrame(rows)


def glue_values(summary: pd.DataFrame, prefix: str, digits: int = 4,
                across_methods: bool = False) -> dict[str, float | str]:
    """Values to glue for the prose: ``<prefix>_<method>_<setting>_<direction>`` = our mean MAP,
    and ``<prefix>_<method>_best_<direction>`` (or ``<prefix>_best_<direction>`` when
    ``across_methods``) = the best cell's setting label."""
    out: dict[str, float | str] = {}
    for _, r in summary.iterrows():
        key = f"{prefix}_{r['method']}_{_slug(r['setting'])}_{r['direction']}"
        out[key] = round(float(r["mean"]), digits)
    for _, r in best_settings(summary, across_methods).iterrows():
        scope = "" if across_methods else f"_{r['method']}"
        out[f"{prefix}{scope}_best_{r['direction']}"] = str(r["setting"])
    return out


def describe_best(summary: pd.DataFrame, digits: int = 4, across_methods: bool = False,
                  names: Mapping[str, str] | None = None) -> str:
    """Markdown bullets computed from the summary: the best cell per (method,) direction
    (methods by their display name, ``names`` or the registry's); a method with one cell only
    has no bullet (nothing to compare it with)."""
    cells = summary.groupby(["direction"] if across_methods else ["method", "direction"],
                            sort=False).size()
    lines = [f"- {DIRECTION_LABELS[r['direction']]}, **{_name(r['method'], names)}**: "
             f"best `{r['setting']}` (MAP {mean_std(r['mean'], r['std'], digits)})"
             for _, r in best_settings(summary, across_methods).iterrows()
             if cells[r["direction"] if across_methods else (r["method"], r["direction"])] > 1]
    return "\n".join(lines)
