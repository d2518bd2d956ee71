"""t-SNE report: neighbourhoods, purity and mixing on toys with known answers; panels keep pairs."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from paper_lib.data.dataset import PairedDataset, Split
from paper_lib.experiment import SplitResult
from paper_lib.metrics.similarity import cosine_similarity
from paper_lib.report import tsne


def _toy(n_per_class: int = 6, n_classes: int = 3, seed: int = 0) -> PairedDataset:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    n = labels.size
    return PairedDataset(
        name="toy", audio=rng.normal(size=(n, 5)) + 4 * labels[:, None],
        visual=rng.normal(size=(n, 7)) - 4 * labels[:, None], labels=labels,
        class_names=tuple(f"c{c}" for c in range(n_classes)),
        clip_ids=np.array([f"clip{i:03d}" for i in range(n)]),
        folds=np.arange(n) % 2)


def _result(ds: PairedDataset, split: Split, method: str, seed: int = 0) -> SplitResult:
    rng = np.random.default_rng(seed)
    m = split.test.size
    return SplitResult(method, split, 0, rng.normal(size=(m, 3)), rng.normal(size=(m, 3)),
                       ds.labels[split.test], {}, 0.0, 0.0, None)  # type: ignore[arg-type]


# --- neighbourhoods ---------------------------------------------------------------------------
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_knn_weights_equal_a_naive_loop_without_ties(metric):
    X = np.random.default_rng(1).normal(size=(25, 4))
    got = tsne.knn_weights(X, 4, metric)
    for i in range(X.shape[0]):
        if metric == "euclidean":
            score = [-np.linalg.norm(X[i] - X[j]) for j in range(25)]
        else:
            score = [X[i] @ X[j] / np.linalg.norm(X[i]) / np.linalg.norm(X[j]) for j in range(25)]
        naive = sorted((j for j in range(25) if j != i), key=lambda j: -score[j])[:4]
        assert set(np.flatnonzero(got[i])) == set(naive) and np.all(got[i][naive] == 1.0)


def test_knn_weights_agree_with_sklearn():
    X = np.random.default_rng(2).normal(size=(40, 3))
    sk = NearestNeighbors(n_neighbors=6).fit(X).kneighbors(X, return_distance=False)[:, 1:]
    W = tsne.knn_weights(X, 5, "euclidean")
    for i in range(40):
        assert set(np.flatnonzero(W[i])) == set(sk[i])
    with pytest.raises(ValueError, match="k must lie"):
        tsne.knn_weights(X, 40, "euclidean")


# --- purity -------------------------------------------------------------------------------------
def test_purity_on_a_line_with_a_known_answer():
    # points 0..5, classes [0,0,0,1,1,1]; k = 1 nearest (tied neighbours share the place):
    # 0->1 ok, 1->{0,2} ok, 2->{1,3} half, 3->{2,4} half, 4->{3,5} ok, 5->4 ok  => 5/6
    X = np.arange(6.0)[:, None]
    y = np.array([0, 0, 0, 1, 1, 1])
    assert tsne.knn_class_purity(X, y, k=1) == pytest.approx(5 / 6)
    # k = 2: 0:{1,2} 2/2, 1:{0,2} 2/2, 2:{1,3} 1/2, 3:{2,4} 1/2, 4:{3,5} 2/2, 5:{4,3} 2/2
    assert tsne.knn_class_purity(X, y, k=2) == pytest.approx((2 + 2 + 1 + 1 + 2 + 2) / 12)


def test_purity_is_one_for_separated_classes_and_near_chance_for_random_labels():
    rng = np.random.default_rng(3)
    y = np.repeat(np.arange(4), 50)
    X = rng.normal(size=(200, 2)) * 0.1 + 10 * y[:, None]
    assert tsne.knn_class_purity(X, y, k=10) == 1.0
    shuffled = rng.permutation(y)
    assert tsne.knn_class_purity(X, shuffled, k=10) == pytest.approx(
        tsne.chance_purity(shuffled), abs=0.05)


def test_chance_purity_equals_the_random_neighbour_expectation():
    y = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 3])
    n = y.size
    # a random other point shares i's class with probability (n_c - 1) / (n - 1)
    naive = np.mean([(np.sum(y == y[i]) - 1) / (n - 1) for i in range(n)])
    assert tsne.chance_purity(y) == pytest.approx(naive)


# --- modality mixing ----------------------------------------------------------------------------
def test_mixing_is_zero_for_separate_islands():
    rng = np.random.default_rng(4)
    X = np.vstack([rng.normal(size=(30, 2)), rng.normal(size=(30, 2)) + 100])
    modality = np.repeat(["audio", "visual"], 30)
    assert tsne.modality_mixing(X, modality, k=5) == 0.0


def test_mixing_when_every_nearest_neighbour_is_the_partner():
    # audio and visual copies of each point, a tiny offset apart: the 1-NN is always the partner,
    # observed share = 1, expected = (n/2) / (n - 1)  =>  score = 2 (n - 1) / n
    base = np.arange(10.0)[:, None] * 10
    X = np.vstack([base, base + 0.01])
    modality = np.repeat(["audio", "visual"], 10)
    n = 20
    assert tsne.modality_mixing(X, modality, k=1) == pytest.approx(2 * (n - 1) / n)


def test_mixing_is_about_one_when_modality_ignores_position():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(1000, 2))
    modality = rng.permutation(np.repeat(["audio", "visual"], [400, 600]))
    assert tsne.modality_mixing(X, modality, k=10) == pytest.approx(1.0, abs=0.05)


def test_mixing_needs_two_modalities():
    with pytest.raises(ValueError, match="two modalities"):
        tsne.modality_mixing(np.zeros((4, 2)) + np.arange(4)[:, None], np.array(["a"] * 4), k=1)


# --- panels -------------------------------------------------------------------------------------
def test_subsample_is_seeded_sorted_and_unique():
    a, b = tsne.subsample(100, 30, seed=7), tsne.subsample(100, 30, seed=7)
    np.testing.assert_array_equal(a, b)
    assert a.size == 30 and np.all(np.diff(a) > 0)
    np.testing.assert_array_equal(tsne.subsample(10, 30, seed=0), np.arange(10))
    assert not np.array_equal(a, tsne.subsample(100, 30, seed=8))


def test_joint_panels_keep_pairs_and_raw_panels_read_the_test_rows():
    ds = _toy()
    split = next(ds.splits([1]))
    res = _result(ds, split, "c_cca")
    rows = np.array([0, 2, 4])
    raw_a, raw_v, joint = tsne.build_panels(ds, split, {"c_cca": res}, rows)
    test_rows = split.test[rows]
    np.testing.assert_array_equal(raw_a.X, ds.audio[test_rows])
    np.testing.assert_array_equal(raw_v.X, ds.visual[test_rows])
    # rows 0..2 are the audio embeddings, 3..5 the visual embeddings of the same clips
    np.testing.assert_array_equal(joint.X[:3], res.Z_audio[rows])
    np.testing.assert_array_equal(joint.X[3:], res.Z_visual[rows])
    np.testing.assert_array_equal(joint.clip_ids[:3], joint.clip_ids[3:])
    np.testing.assert_array_equal(joint.clip_ids[:3], ds.clip_ids[test_rows])
    assert list(joint.modality) == ["audio"] * 3 + ["visual"] * 3
    assert joint.metric == "cosine" and raw_a.metric == "euclidean"


def test_a_result_of_another_fold_is_refused():
    ds = _toy()
    other = _result(ds, next(ds.splits([0])), "c_cca")
    with pytest.raises(ValueError, match="evaluated on fold0"):
        tsne.build_panels(ds, next(ds.splits([1])), {"c_cca": other}, np.arange(3))


def test_tables_are_tidy_deterministic_and_scores_match_the_functions():
    ds = _toy(n_per_class=8)
    split = next(ds.splits([0]))
    panels = tsne.build_panels(ds, split, {"c_cca": _result(ds, split, "c_cca")},
                               np.arange(split.test.size))
    points, scores = tsne.tsne_tables(ds, panels, seed=0, k=3)
    assert list(points.columns) == ["panel", "modality", "class", "x", "y", "clip_id"]
    again = tsne.tsne_2d(panels[2].X, seed=0, metric="cosine")     # same seed, same map
    np.testing.assert_array_equal(points.loc[points.panel == "c_cca", ["x", "y"]].to_numpy(),
                                  again)
    assert points.groupby("panel").size().to_dict() == {"raw_audio": 12, "raw_visual": 12,
                                                        "c_cca": 24}
    joint = panels[2]
    got = scores[(scores.panel == "c_cca") & (scores.space == "embedding")].set_index("score")
    assert got.loc["knn_purity", "value"] == pytest.approx(
        tsne.knn_class_purity(joint.X, joint.labels, 3, "cosine"))
    assert got.loc["modality_mixing", "value"] == pytest.approx(
        tsne.modality_mixing(joint.X, joint.modality, 3, "cosine"))
    # the raw panels have no mixing score (one modality)
    assert not ((scores.panel == "raw_audio") & (scores.score == "modality_mixing")).any()
    # the table as read: one row per panel (its title), numbers, "no mixing" as NaN (a dash)
    titles = {pn.name: pn.title for pn in panels}
    view = tsne.scores_view(scores, titles)
    assert list(view["panel"]) == [pn.title for pn in panels]
    assert list(view.columns) == ["panel", "purity, embedding", "purity, t-SNE map",
                                  "chance purity", "mixing, embedding", "mixing, t-SNE map"]
    assert view.loc[2, "purity, embedding"] == got.loc["knn_purity", "value"]
    assert np.isnan(view.loc[0, "mixing, embedding"])
    # the figure: at most 8 inches wide, 10-point text, one legend outside the maps
    fig = tsne.plot_tsne(points, scores, titles, ds.class_names)
    assert fig.get_size_inches()[0] <= 8.0
    (legend,) = fig.legends
    assert min(t.get_fontsize() for t in legend.get_texts()) >= 10
    assert [t.get_text() for t in legend.get_texts()][:len(ds.class_names)] == list(
        ds.class_names)
    maps = [ax for ax in fig.axes if ax.get_visible()]
    assert len(maps) == 3 and all(ax.title.get_fontsize() >= 10 for ax in maps)


def test_tsne_map_keeps_well_separated_classes_apart():
    rng = np.random.default_rng(6)
    y = np.repeat(np.arange(3), 20)
    X = rng.normal(size=(60, 8)) + 20 * np.eye(8)[y]
    Y = tsne.tsne_2d(X, seed=0)
    assert Y.shape == (60, 2)
    assert tsne.knn_class_purity(Y, y, k=5) == 1.0
    # cosine neighbourhoods of the embeddings are cosine_similarity's
    nn = tsne.knn_weights(X, 1, "cosine").argmax(axis=1)
    S = cosine_similarity(X, X)
    np.fill_diagonal(S, -np.inf)
    np.testing.assert_array_equal(nn, S.argmax(axis=1))


def test_knn_scores_do_not_depend_on_the_order_of_tied_points():
    rng = np.random.default_rng(3)
    X = rng.integers(0, 3, size=(40, 2)).astype(float)   # many exact ties
    y = rng.integers(0, 3, size=40)
    m = rng.integers(0, 2, size=40)
    perm = rng.permutation(40)
    for k in (1, 3, 7):
        W = tsne.knn_weights(X, k, "euclidean")
        np.testing.assert_allclose(W.sum(axis=1), k)
        assert np.all(np.diag(W) == 0)
        assert tsne.knn_class_purity(X[perm], y[perm], k) == pytest.approx(
            tsne.knn_class_purity(X, y, k), abs=1e-12)
        assert tsne.modality_mixing(X[perm], m[perm], k) == pytest.approx(
            tsne.modality_mixing(X, m, k), abs=1e-12)


def test_tied_neighbours_share_the_last_places():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    # point 1 is equidistant from 0 and 2: with k = 1 each counts one half
    np.testing.assert_allclose(tsne.knn_weights(X, 1, "euclidean")[1], [0.5, 0, 0.5, 0])
    y = np.array([0, 1, 1, 1])
    # k = 1: 0->1 wrong (0), 1->{0,2} half (0.5), 2->{1,3} right (1), 3->2 right (1)
    assert tsne.knn_class_purity(X, y, k=1) == pytest.approx((0 + 0.5 + 1 + 1) / 4)
