"""Qualitative retrieval examples: the top results of several methods for a few queries.

The paper shows example queries with their top-ranked results (with mel-spectrograms for the
audio side). Here the top ``k`` of each method come from the ranking every metric uses, in its
display order (:func:`paper_lib.metrics.retrieval.rank_gallery`: cosine scores, descending,
tied results in gallery order) over the whole test fold, and a result is relevant when it has
the query's class, as in :mod:`paper_lib.metrics.retrieval`. Only the display depends on that
order of tied results; no metric does (a tied group straddling ``k`` counts in P@k with the
share of it inside the top k).

Directions: A→V (an audio query ranks the visual test embeddings) and V→A (the reverse).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from paper_lib.data.dataset import PairedDataset, Split
from paper_lib.experiment import SplitResult
from paper_lib.methods.registry import display_name
from paper_lib.metrics.retrieval import rank_gallery

#: the columns of :func:`top_k_table`
EXAMPLE_COLUMNS = ["direction", "query_clip", "query_class", "method", "rank", "clip_id", "class",
                   "relevant", "score"]
DIRECTIONS = {"a2v": "A→V", "v2a": "V→A"}
METHODS = ("cca", "c_cca", "tnn_c_cca")
RELEVANT_COLOUR, IRRELEVANT_COLOUR = "#2ca02c", "#d62728"
DEFAULT_K = 5
# [choice] three query classes, spread over the class list: enough to see a pattern, few enough
# that the page stays readable.
DEFAULT_N_QUERIES = 3


# ---------------------------------------------------------------------------------------------
# which queries
# ---------------------------------------------------------------------------------------------
def choose_queries(test_labels: np.ndarray, n_queries: int = DEFAULT_N_QUERIES,
                   seed: int = 0) -> np.ndarray:
    """Positions (inside the test fold) of ``n_queries`` query clips, one per chosen class.

    [choice] Classes evenly spaced over the classes present in the fold (first, middle, last for
    three), one clip of each drawn with ``seed``; deterministic, and not picked by how well any
    method does. The same clips query both directions (their sound for A→V, their image for V→A).
    """
    test_labels = np.asarray(test_labels)
    classes = np.unique(test_labels)
    if not 1 <= n_queries <= classes.size:
        raise ValueError(f"n_queries must lie in 1..{classes.size} (classes in the test fold), "
                         f"got {n_queries}")
    picked = classes[np.round(np.linspace(0, classes.size - 1, n_queries)).astype(int)]
    rng = np.random.default_rng(seed)
    return np.array([rng.choice(np.flatnonzero(test_labels == c)) for c in picked])


# ---------------------------------------------------------------------------------------------
# the top-k table
# ---------------------------------------------------------------------------------------------
def top_k_table(ds: PairedDataset, split: Split, results: dict[str, SplitResult],
                queries: Sequence[int], k: int = DEFAULT_K,
                directions: Sequence[str] = tuple(DIRECTIONS)) -> pd.DataFrame:
    """Tidy top-``k`` results (:data:`EXAMPLE_COLUMNS`) of every method for every query.

    ``queries`` are positions inside ``split.test``; ``results[m]`` holds the test embeddings of
    method ``m`` on that split. Rank 1 is the best; ``score`` is the similarity the split was
    ranked with (cosine in the paper).
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    positions = np.asarray(queries, dtype=np.int64)
    if positions.size and (positions.min() < 0 or positions.max() >= split.test.size):
        raise ValueError(f"queries must be positions in 0..{split.test.size - 1} of the test fold")
    ids = np.asarray(ds.clip_ids)[split.test]
    labels = ds.labels[split.test]
    rows = []
    for direction in directions:
        for method, res in results.items():
            if not np.array_equal(res.split.test, split.test):
                raise ValueError(f"results[{method!r}] was evaluated on {res.split.name}, not "
                                 f"{split.name}")
            S = res.scores(direction)[positions]                     # (n_queries, n_test)
            order = rank_gallery(S)[:, :k]                 # the metrics' ranking, display order
            for qi, q in enumerate(positions):
                for rank, g in enumerate(order[qi], start=1):
                    rows.append({"direction": direction, "query_clip": ids[q],
                                 "query_class": ds.class_names[labels[q]], "method": method,
                                 "rank": rank, "clip_id": ids[g],
                                 "class": ds.class_names[labels[g]],
                                 "relevant": bool(labels[g] == labels[q]),
                                 "score": float(S[qi, g])})
    return pd.DataFrame(rows, columns=EXAMPLE_COLUMNS)


def hits_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Relevant results among the shown top-k, per method and direction (a description of the
    examples on this page, not a metric of the method)."""
    return (table.groupby(["method", "direction"], sort=False)["relevant"]
            .agg(relevant="sum", shown="count").reset_index())


def fold_precision_at_k(results: dict[str, SplitResult], k: int = DEFAULT_K) -> pd.DataFrame:
    """P@k and MAP of each method over *all* queries of the fold (from the runner's metrics)."""
    rows = [{"method": m, "direction": d, f"p@{k}": res.metrics[d][f"p@{k}"],
             "map": res.metrics[d]["map"]}
            for m, res in results.items() for d in DIRECTIONS]
    return pd.DataFrame(rows)


def results_grid(table: pd.DataFrame, direction: str, query_clip: str) -> pd.DataFrame:
    """One query's results for reading, ranks as rows and methods as columns (narrow enough for
    the page): cells ``clip id (class) ✓/✗``; the first column is the rank."""
    sub = table[(table.direction == direction) & (table.query_clip == query_clip)]
    if sub.empty:
        raise ValueError(f"no results for query {query_clip!r} in direction {direction!r}")
    cell = sub["clip_id"] + " (" + sub["class"] + ") " + np.where(sub["relevant"], "✓", "✗")
    grid = sub.assign(cell=cell).pivot(index="rank", columns="method", values="cell")
    methods = list(dict.fromkeys(sub["method"]))
    grid = grid[methods].rename(columns=display_name)
    grid.columns.name = None
    return grid.reset_index()


def context_view(context: pd.DataFrame, k: int = DEFAULT_K) -> pd.DataFrame:
    """The fold-wide P@k and MAP and the relevant share of the shown examples, for reading: one
    row per method (display names), one column per number and direction."""
    rows = []
    for method in dict.fromkeys(context["method"]):
        sub = context[context["method"] == method].set_index("direction")
        row: dict[str, Any] = {"method": display_name(method)}
        for prefix, column in ((f"P@{k}", f"p@{k}"), ("MAP", "map")):
            for d in DIRECTIONS:
                row[f"{prefix} {DIRECTIONS[d]}"] = (float(sub.loc[d, column]) if d in sub.index
                                                    else float("nan"))
        for d in DIRECTIONS:
            row[f"relevant / shown {DIRECTIONS[d]}"] = (
                f"{int(sub.loc[d, 'relevant'])} / {int(sub.loc[d, 'shown'])}"
                if d in sub.index else "—")
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# media (datasets that keep them, e.g. avdigits)
# ---------------------------------------------------------------------------------------------
def row_of(ds: PairedDataset, clip_id: str) -> int:
    """Dataset row of a clip id."""
    hit = np.flatnonzero(np.asarray(ds.clip_ids) == clip_id)
    if hit.size != 1:
        raise ValueError(f"clip_id {clip_id!r} not found in dataset {ds.name!r}")
    return int(hit[0])


def has_media(ds: PairedDataset) -> bool:
    """Whether the dataset keeps waveforms and images (avdigits does)."""
    media = ds.media or {}
    return media.get("waveforms") is not None and media.get("images") is not None


def _frame(ax: plt.Axes, colour: str, width: float = 4) -> None:
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color(colour)
        spine.set_linewidth(width)
    ax.set_xticks([])
    ax.set_yticks([])


#: the width of the retrieval figures (inches): the book's text column at its PNG resolution
FIGURE_WIDTH = 8.0
#: the font size of every text in the retrieval figures (points)
FONT_SIZE = 10


def _method_grid(table: pd.DataFrame, direction: str, query_clip: str,
                 draw: Callable[[plt.Axes, str], Any], draw_query: Callable[[plt.Axes], Any],
                 query_title: str, cell_height: float) -> plt.Figure:
    """Rows = methods, columns = ranks, with the query on the left: ``draw(ax, clip_id)`` fills a
    result's cell, ``draw_query(ax)`` the query's; each result is framed green (relevant) or red, titled with its rank, class and score.

    The figure's first ``methods × k`` axes are the results, row by row; the last is the query.
    """
    sub = table[(table.direction == direction) & (table.query_clip == query_clip)]
    if sub.empty:
        raise ValueError(f"no results for query {query_clip!r} in direction {direction!r}")
    methods = list(dict.fromkeys(sub["method"]))
    k = int(sub["rank"].max())
    fig = plt.figure(figsize=(FIGURE_WIDTH, cell_height * len(methods) + 0.2))
    # the query's column, a gap for the method names, then one column per rank
    grid = fig.add_gridspec(len(methods), k + 2, width_ratios=[1.0, 0.32] + [1.0] * k,
                            left=0.01, right=0.99, bottom=0.02, top=0.93, wspace=0.12,
                            hspace=0.5)
    axes = np.array([[fig.add_subplot(grid[i, j + 2]) for j in range(k)]
                     for i in range(len(methods))])
    for i, method in enumerate(methods):
        for r in sub[sub.method == method].to_dict("records"):
            ax = axes[i, int(r["rank"]) - 1]
            draw(ax, str(r["clip_id"]))
            _frame(ax, RELEVANT_COLOUR if r["relevant"] else IRRELEVANT_COLOUR)
            ax.set_title(f"#{r['rank']} {r['class']} {r['score']:.2f}", fontsize=FONT_SIZE)
        axes[i, 0].set_ylabel(display_name(method), fontsize=FONT_SIZE)
    query = fig.add_subplot(grid[len(methods) // 2, 0])
    draw_query(query)
    _frame(query, "black", 2)
    query.set_title(query_title, fontsize=FONT_SIZE)
    plt.close(fig)
    return fig


def image_grid(ds: PairedDataset, table: pd.DataFrame, query_clip: str) -> plt.Figure:
    """A→V: the query's sound (its log-mel spectrogram, left) and the images each method
    retrieves for it (rows = methods, columns = ranks, framed green/red = relevant or not)."""
    images = (ds.media or {})["images"]

    def draw(ax: plt.Axes, clip_id: str) -> None:
        ax.imshow(np.asarray(images[row_of(ds, clip_id)]), cmap="gray_r")

    qclass = ds.class_names[ds.labels[row_of(ds, query_clip)]]
    return _method_grid(table, "a2v", query_clip, draw,
                        lambda ax: spectrogram(ax, ds, query_clip), f"query: {qclass}", 1.55)


def waveform(ds: PairedDataset, row: int) -> tuple[np.ndarray, int]:
    """(samples,) int16 waveform of a clip (padding removed) and its sample rate."""
    from paper_lib.report.data_overview import clip_media

    media = clip_media(ds, row)
    if media.waveform is None:
        raise ValueError(f"dataset {ds.name!r} keeps no waveforms")
    return media.waveform, media.sample_rate


def spectrogram(ax: plt.Axes, ds: PairedDataset, clip_id: str) -> float:
    """Draw a clip's log-mel spectrogram (time →, 64 mel bands ↑) over exactly its own duration
    (the padding removed: no blank part), with the duration in the corner; returns it (s)."""
    from paper_lib.extract.logmel import log_mel

    wav, rate = waveform(ds, row_of(ds, clip_id))
    seconds = wav.size / rate
    ax.imshow(log_mel(wav, rate).T, origin="lower", aspect="auto", cmap="magma",
              extent=(0.0, seconds, 0, 64))
    ax.set_xlim(0.0, seconds)
    ax.text(0.96, 0.04, f"{seconds:.1f} s", transform=ax.transAxes, ha="right", va="bottom",
            color="white", fontsize=FONT_SIZE)
    return seconds


def spectrogram_grid(ds: PairedDataset, table: pd.DataFrame, query_clip: str) -> plt.Figure:
    """V→A: the query's image (left) and the log-mel spectrograms of the sounds each method
    retrieves for it (rows = methods, columns = ranks, framed green/red), each panel spanning
    its own clip's duration."""
    images = (ds.media or {})["images"]

    def draw_query(ax: plt.Axes) -> None:
        ax.imshow(np.asarray(images[row_of(ds, query_clip)]), cmap="gray_r")

    qclass = ds.class_names[ds.labels[row_of(ds, query_clip)]]
    return _method_grid(table, "v2a", query_clip, lambda ax, c: spectrogram(ax, ds, c),
                        draw_query, f"query: {qclass}", 1.3)


def _audio_tag(wav: np.ndarray, rate: int) -> str:
    """An embedded audio player (WAV as a data URI) that fills its table cell."""
    from paper_lib.report.data_overview import wav_bytes

    data = base64.b64encode(wav_bytes(wav, rate)).decode("ascii")
    # a <source> with its type (as IPython's Audio writes it): a bare src data URI with
    # preload="none" stayed without a source in headless Chromium (networkState 3)
    return ('<audio controls style="width:100%;min-width:0">'
            f'<source src="data:audio/wav;base64,{data}" type="audio/wav"></audio>')


def query_player_html(ds: PairedDataset, query_clip: str) -> str:
    """One line: the query clip, its class and a player of its sound."""
    row = row_of(ds, query_clip)
    wav, rate = waveform(ds, row)
    return (f'<p><b>Query</b> <code>{html.escape(query_clip)}</code> (class '
            f'<b>{html.escape(ds.class_names[ds.labels[row]])}</b>), its sound:</p>'
            f'<div style="max-width:24em">{_audio_tag(wav, rate)}</div>')


def audio_players_html(ds: PairedDataset, table: pd.DataFrame, query_clip: str,
                       direction: str = "v2a") -> str:
    """The retrieved sounds as a grid that fits the page: ranks as rows, methods as columns,
    each cell framed green/red (relevant or not) with the class, ✓/✗, the score and a player.

    A CSS grid of ``div`` elements, not an HTML table: it lays out players, it is not a table
    of results (the book numbers and captions every table)."""
    sub = table[(table.direction == direction) & (table.query_clip == query_clip)]
    methods = list(dict.fromkeys(sub["method"]))
    cells = ["<div><b>rank</b></div>"]
    cells += [f"<div><b>{html.escape(display_name(m))}</b></div>" for m in methods]
    for rank in sorted(sub["rank"].unique()):
        cells.append(f"<div><b>#{int(rank)}</b></div>")
        for method in methods:
            hit = sub[(sub.method == method) & (sub["rank"] == rank)]
            if hit.empty:
                cells.append("<div>—</div>")
                continue
            r = hit.iloc[0]
            wav, rate = waveform(ds, row_of(ds, str(r["clip_id"])))
            colour = RELEVANT_COLOUR if r["relevant"] else IRRELEVANT_COLOUR
            cells.append(f'<div class="rx-result" style="border:3px solid {colour};'
                         f'padding:2px 4px;min-width:0">'
                         f'{html.escape(str(r["class"]))} {"✓" if r["relevant"] else "✗"} '
                         f'({r["score"]:.2f})<br>{_audio_tag(wav, rate)}</div>')
    return (f'<div class="rx-players" style="display:grid;grid-template-columns:3em '
            f'repeat({len(methods)},minmax(0,1fr));gap:4px;align-items:center;max-width:100%">'
            + "".join(cells) + "</div>")
