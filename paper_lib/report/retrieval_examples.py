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

import html
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from paper_lib._optional import require
from paper_lib.data.dataset import PairedDataset, Split
from paper_lib.experiment import SplitResult
from paper_lib.metrics.retrieval import rank_gallery

#: the columns of :func:`top_k_table`
EXAMPLE_COLUMNS = ["direction", "query_clip", "query_class", "method", "rank", "clip_id", "class",
                   "relevant", "score"]
DIRECTIONS = {"a2v": "A→V", "v2a": "V→A"}
METHODS = ("cca", "c_cca", "tnn_c_cca")
METHOD_TITLES = {"cca": "CCA", "c_cca": "C-CCA", "tnn_c_cca": "TNN-C-CCA"}
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
    """Methods x ranks text grid for one query: ``clip id (class) ✓/✗``."""
    sub = table[(table.direction == direction) & (table.query_clip == query_clip)]
    if sub.empty:
        raise ValueError(f"no results for query {query_clip!r} in direction {direction!r}")
    cell = sub["clip_id"] + " (" + sub["class"] + ") " + np.where(sub["relevant"], "✓", "✗")
    grid = sub.assign(cell=cell).pivot(index="method", columns="rank", values="cell")
    return grid.loc[list(dict.fromkeys(sub["method"]))]


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


def _frame(ax: plt.Axes, relevant: bool) -> None:
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color(RELEVANT_COLOUR if relevant else IRRELEVANT_COLOUR)
        spine.set_linewidth(4)
    ax.set_xticks([])
    ax.set_yticks([])


def _method_grid(table: pd.DataFrame, direction: str, query_clip: str,
                 draw: Callable[[plt.Axes, dict[str, Any]], None], title: str, cell_size: tuple[float, float]) -> plt.Figure:
    """Rows = methods, columns = ranks; ``draw(ax, record)`` fills a cell; coloured frames."""
    sub = table[(table.direction == direction) & (table.query_clip == query_clip)]
    methods = list(dict.fromkeys(sub["method"]))
    k = int(sub["rank"].max())
    fig, axes = plt.subplots(len(methods), k, figsize=(cell_size[0] * k + 1.2,
                                                       cell_size[1] * len(methods) + 0.6),
                             squeeze=False)
    for i, method in enumerate(methods):
        for r in sub[sub.method == method].to_dict("records"):
            ax = axes[i, int(r["rank"]) - 1]
            draw(ax, r)
            _frame(ax, bool(r["relevant"]))
            ax.set_title(f"#{r['rank']} {r['class']} ({r['score']:.2f})", fontsize=7)
        axes[i, 0].set_ylabel(METHOD_TITLES.get(method, method), fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    plt.close(fig)
    return fig


def image_grid(ds: PairedDataset, table: pd.DataFrame, query_clip: str) -> plt.Figure:
    """A→V: the retrieved images (rows = methods, columns = ranks, green/red = relevant or not)."""
    images = (ds.media or {})["images"]

    def draw(ax: plt.Axes, r: dict[str, Any]) -> None:
        ax.imshow(np.asarray(images[row_of(ds, r["clip_id"])]), cmap="gray_r")

    qclass = ds.class_names[ds.labels[row_of(ds, query_clip)]]
    return _method_grid(table, "a2v", query_clip, draw,
                        f"A→V: images retrieved for the sound of {query_clip} (class {qclass})",
                        (1.3, 1.5))


def waveform(ds: PairedDataset, row: int) -> tuple[np.ndarray, int]:
    """(samples,) int16 waveform of a clip (padding removed) and its sample rate."""
    from paper_lib.report.data_overview import clip_media

    media = clip_media(ds, row)
    if media.waveform is None:
        raise ValueError(f"dataset {ds.name!r} keeps no waveforms")
    return media.waveform, media.sample_rate


def spectrogram_grid(ds: PairedDataset, table: pd.DataFrame, query_clip: str) -> plt.Figure:
    """V→A: log-mel spectrograms of the retrieved clips (rows = methods, columns = ranks)."""
    from paper_lib.extract.logmel import log_mel

    sub = table[(table.direction == "v2a") & (table.query_clip == query_clip)]
    longest = max(waveform(ds, row_of(ds, c))[0].size / waveform(ds, row_of(ds, c))[1]
                  for c in sub["clip_id"])

    def draw(ax: plt.Axes, r: dict[str, Any]) -> None:
        wav, rate = waveform(ds, row_of(ds, r["clip_id"]))
        # one time axis for every cell, so clip lengths compare
        ax.imshow(log_mel(wav, rate).T, origin="lower", aspect="auto", cmap="magma",
                  extent=(0.0, wav.size / rate, 0, 64))
        ax.set_xlim(0.0, longest)

    qclass = ds.class_names[ds.labels[row_of(ds, query_clip)]]
    return _method_grid(table, "v2a", query_clip, draw,
                        f"V→A: log-mel spectrograms (time →, 64 mel bands ↑) of the sounds "
                        f"retrieved for the image of {query_clip} (class {qclass})", (1.5, 1.3))


def audio_players_html(ds: PairedDataset, table: pd.DataFrame, query_clip: str,
                       direction: str = "v2a") -> str:
    """An HTML table (rows = methods, columns = ranks) of embedded audio players with ✓/✗."""
    from paper_lib.report.data_overview import wav_bytes

    Audio = require("IPython.display", extra="book", package="ipython").Audio

    sub = table[(table.direction == direction) & (table.query_clip == query_clip)]
    cells = []
    for method in dict.fromkeys(sub["method"]):
        tds = [f"<th>{html.escape(METHOD_TITLES.get(method, method))}</th>"]
        for r in sub[sub.method == method].to_dict("records"):
            wav, rate = waveform(ds, row_of(ds, r["clip_id"]))
            colour = RELEVANT_COLOUR if r["relevant"] else IRRELEVANT_COLOUR
            player = Audio(wav_bytes(wav, rate))._repr_html_()
            tds.append(f'<td style="border:3px solid {colour}">#{r["rank"]} '
                       f'{html.escape(r["class"])} {"✓" if r["relevant"] else "✗"}<br>{player}</td>')
        cells.append("<tr>" + "".join(tds) + "</tr>")
    return "<table>" + "".join(cells) + "</table>"
