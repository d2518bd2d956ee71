"""Retrieval examples: the top-k table is the metrics' ranking in its display order (tied results
in gallery order, as ``rank_gallery``), with the metrics' relevance. The metrics themselves do
not depend on the order of tied results."""

from __future__ import annotations

import matplotlib.colors as mcolors
import numpy as np
import pytest

from paper_lib.data.dataset import PairedDataset, Split
from paper_lib.experiment import SplitResult
from paper_lib.metrics import retrieval
from paper_lib.metrics.similarity import cosine_similarity
from paper_lib.report import retrieval_examples as rx

RATE = 16000


def _toy(n_per_class: int = 6, n_classes: int = 4, media: bool = False) -> PairedDataset:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    n = labels.size
    extra = None
    if media:
        lengths = rng.integers(RATE // 2, RATE, n)
        waves = np.zeros((n, int(lengths.max())), dtype=np.int16)
        for i, m in enumerate(lengths):
            waves[i, :m] = (rng.normal(size=m) * 3000).astype(np.int16)
        extra = {"waveforms": waves, "waveform_lengths": lengths, "sample_rate": RATE,
                 "images": rng.integers(0, 255, size=(n, 28, 28)).astype(np.uint8)}
    return PairedDataset(name="toy", audio=rng.normal(size=(n, 4)), visual=rng.normal(size=(n, 4)),
                         labels=labels, class_names=tuple(f"c{c}" for c in range(n_classes)),
                         clip_ids=np.array([f"id{i:03d}" for i in range(n)]),
                         folds=np.arange(n) % 2, media=extra)


def _result(ds: PairedDataset, split: Split, method: str, seed: int,
            ties: bool = False) -> SplitResult:
    rng = np.random.default_rng(seed)
    m = split.test.size
    Za, Zv = rng.normal(size=(m, 3)), rng.normal(size=(m, 3))
    if ties:  # several identical gallery embeddings: only the tie rule orders them
        Zv[1::3] = Zv[0]
        Za[2::4] = Za[0]
    S = cosine_similarity(Za, Zv)
    y = ds.labels[split.test]
    metrics = {"a2v": retrieval.retrieval_report(S, y, y),
               "v2a": retrieval.retrieval_report(S.T, y, y)}
    return SplitResult(method, split, seed, Za, Zv, y, metrics, 0.0, 0.0, None)  # type: ignore[arg-type]


def _setup(ties: bool = True, media: bool = False):
    ds = _toy(media=media)
    split = next(ds.splits([0]))
    results = {m: _result(ds, split, m, s, ties) for s, m in enumerate(rx.METHODS)}
    return ds, split, results


def test_top_k_equals_a_manual_stable_argsort_with_the_metrics_relevance():
    ds, split, results = _setup(ties=True)
    queries = np.array([0, 5, 9])
    k = 5
    table = rx.top_k_table(ds, split, results, queries, k=k)
    y, ids = ds.labels[split.test], ds.clip_ids[split.test]
    for method, res in results.items():
        for direction in ("a2v", "v2a"):
            Q, G = (res.Z_audio, res.Z_visual) if direction == "a2v" else (res.Z_visual,
                                                                          res.Z_audio)
            S = cosine_similarity(Q, G)
            rel = retrieval.relevance(S, y, y)           # the metrics module's relevance
            for q in queries:
                # manual: sort by descending score, ties by ascending gallery index
                manual = sorted(range(G.shape[0]), key=lambda j, q=q: (-S[q, j], j))[:k]
                sub = table[(table.method == method) & (table.direction == direction)
                            & (table.query_clip == ids[q])].sort_values("rank")
                assert list(sub["clip_id"]) == list(ids[manual])
                assert list(sub["relevant"]) == list(rel[q, :k])
                np.testing.assert_allclose(sub["score"], S[q, manual])
                assert list(sub["rank"]) == list(range(1, k + 1))
    assert list(table.columns) == rx.EXAMPLE_COLUMNS


def test_ties_really_occur_in_the_toy_and_are_broken_by_gallery_order():
    ds, split, results = _setup(ties=True)
    res = results["cca"]
    S = cosine_similarity(res.Z_audio, res.Z_visual)
    n = S.shape[1]
    table = rx.top_k_table(ds, split, {"cca": res}, np.arange(split.test.size), k=n,
                           directions=["a2v"])
    ids = list(ds.clip_ids[split.test])
    tied = [j for j in range(n) if np.isclose(S[0, j], S[0, 0])]
    assert len(tied) >= 2
    order = [ids.index(c) for c in table[table.query_clip == ids[0]]["clip_id"]]
    positions = [order.index(j) for j in tied]
    assert positions == sorted(positions)               # tied items keep gallery order


def test_precision_over_all_queries_equals_the_metrics_precision_at_k():
    # without ties the shown top-k is the only one; with ties it is one order of the tied
    # results, while P@k is the expectation over their orders (tests/test_metrics.py)
    ds, split, results = _setup(ties=False)
    table = rx.top_k_table(ds, split, results, np.arange(split.test.size), k=5)
    got = table.groupby(["method", "direction"])["relevant"].mean()
    for method, res in results.items():
        for direction in ("a2v", "v2a"):
            assert got[(method, direction)] == pytest.approx(res.metrics[direction]["p@5"])
    fold = rx.fold_precision_at_k(results).set_index(["method", "direction"])
    assert fold.loc[("c_cca", "v2a"), "p@5"] == results["c_cca"].metrics["v2a"]["p@5"]


def test_hits_summary_equals_a_manual_count():
    ds, split, results = _setup()
    table = rx.top_k_table(ds, split, results, [1, 2, 3], k=4)
    summary = rx.hits_summary(table).set_index(["method", "direction"])
    for (method, direction), sub in table.groupby(["method", "direction"]):
        assert summary.loc[(method, direction), "relevant"] == int(sub["relevant"].sum())
        assert summary.loc[(method, direction), "shown"] == 12


def test_choose_queries_is_deterministic_and_spreads_classes():
    labels = np.repeat(np.arange(10), 5)
    q = rx.choose_queries(labels, n_queries=3, seed=0)
    np.testing.assert_array_equal(q, rx.choose_queries(labels, n_queries=3, seed=0))
    assert list(labels[q]) == [0, 4, 9]          # round(linspace(0, 9, 3)) = 0, 4, 9
    assert list(labels[rx.choose_queries(labels, n_queries=10, seed=1)]) == list(range(10))
    with pytest.raises(ValueError, match="n_queries"):
        rx.choose_queries(labels, n_queries=11)


def test_bad_arguments_are_named():
    ds, split, results = _setup()
    with pytest.raises(ValueError, match="queries"):
        rx.top_k_table(ds, split, results, [split.test.size], k=2)
    with pytest.raises(ValueError, match="k must"):
        rx.top_k_table(ds, split, results, [0], k=0)
    other = next(ds.splits([1]))
    with pytest.raises(ValueError, match="evaluated on fold0"):
        rx.top_k_table(ds, other, results, [0], k=2)


def test_results_grid_marks_relevance():
    ds, split, results = _setup()
    table = rx.top_k_table(ds, split, results, [0], k=3)
    q = table["query_clip"].iloc[0]
    grid = rx.results_grid(table, "v2a", q)
    # ranks as rows, methods (display names) as columns: narrow enough for the page
    assert list(grid.columns) == ["rank", "CCA", "C-CCA (β = 0.2)", "TNN-C-CCA (batch-all)"]
    assert list(grid["rank"]) == [1, 2, 3]
    sub = table[(table.direction == "v2a") & (table.method == "c_cca")].sort_values("rank")
    for cell, (_, r) in zip(grid["C-CCA (β = 0.2)"], sub.iterrows(), strict=True):
        assert cell.startswith(r["clip_id"]) and cell.endswith("✓" if r["relevant"] else "✗")


def test_context_view_has_display_names_and_one_column_per_number_and_direction():
    ds, split, results = _setup()
    table = rx.top_k_table(ds, split, results, [0, 1], k=3)
    context = rx.fold_precision_at_k(results, k=5).merge(rx.hits_summary(table),
                                                         on=["method", "direction"])
    view = rx.context_view(context, k=5)
    assert list(view["method"]) == ["CCA", "C-CCA (β = 0.2)", "TNN-C-CCA (batch-all)"]
    assert list(view.columns) == ["method", "P@5 A→V", "P@5 V→A", "MAP A→V", "MAP V→A",
                                  "relevant / shown A→V", "relevant / shown V→A"]
    row = context[(context.method == "c_cca") & (context.direction == "v2a")].iloc[0]
    assert view.loc[1, "MAP V→A"] == row["map"]
    assert view.loc[1, "relevant / shown V→A"] == f"{int(row['relevant'])} / 6"


def test_media_grids_frame_each_cell_by_relevance():
    ds, split, results = _setup(media=True)
    table = rx.top_k_table(ds, split, results, [0], k=3)
    q = table["query_clip"].iloc[0]
    green, red = mcolors.to_rgba(rx.RELEVANT_COLOUR), mcolors.to_rgba(rx.IRRELEVANT_COLOUR)
    for fig, direction in ((rx.image_grid(ds, table, q), "a2v"),
                           (rx.spectrogram_grid(ds, table, q), "v2a")):
        assert fig.get_size_inches()[0] <= 8.0
        # the results first (rows = methods, columns = ranks), then the query
        assert len(fig.axes) == len(rx.METHODS) * 3 + 1
        axes = np.array(fig.axes[:-1]).reshape(len(rx.METHODS), 3)
        assert fig.axes[-1].get_title().startswith("query")
        for i, method in enumerate(rx.METHODS):
            sub = table[(table.direction == direction) & (table.method == method)]
            for r in sub.itertuples():
                ax = axes[i, r.rank - 1]
                assert ax.spines["top"].get_edgecolor() == (green if r.relevant else red)
                assert ax.title.get_fontsize() >= 10
    html = rx.audio_players_html(ds, table, q)
    assert html.count("<audio") == 3 * len(rx.METHODS)
    # a grid that fits the page (not an HTML table: the book numbers every table): a header,
    # then one row per rank, one column per method
    assert "<table" not in html and "display:grid" in html
    assert html.count('class="rx-result"') == 3 * len(rx.METHODS)
    assert f"repeat({len(rx.METHODS)},minmax(0,1fr))" in html
    n_rel = int(table[table.direction == "v2a"]["relevant"].sum())
    assert html.count(f"border:3px solid {rx.RELEVANT_COLOUR}") == n_rel
    assert rx.query_player_html(ds, q).count("<audio") == 1


def test_each_spectrogram_spans_its_own_clip_with_no_blank_part():
    ds, split, results = _setup(media=True)
    table = rx.top_k_table(ds, split, results, [0], k=3)
    q = table["query_clip"].iloc[0]
    fig = rx.spectrogram_grid(ds, table, q)
    sub = table[table.direction == "v2a"]
    for ax, clip in zip(fig.axes[:-1], sub["clip_id"], strict=True):
        seconds = ds.media["waveform_lengths"][rx.row_of(ds, clip)] / RATE
        image = ax.get_images()[0]
        assert image.get_extent()[:2] == [0.0, seconds]
        assert ax.get_xlim() == pytest.approx((0.0, seconds))   # the axis ends with the data
    # the clips really differ in length: a common axis would have left blank parts
    assert len({ds.media["waveform_lengths"][rx.row_of(ds, c)] for c in sub["clip_id"]}) > 1


def test_row_of_and_waveform_strip_padding():
    ds = _toy(media=True)
    row = rx.row_of(ds, "id005")
    assert row == 5
    wav, rate = rx.waveform(ds, row)
    assert rate == RATE and wav.size == ds.media["waveform_lengths"][5]
    with pytest.raises(ValueError, match="not found"):
        rx.row_of(ds, "nope")
