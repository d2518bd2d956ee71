"""Chapter 22 (``paper_lib.report.teach_triplets``): the miners' counts equal the
combinatorial formulas and a naive triple loop, the hinge toy shows what the chapter claims,
and the untrained branches are the model's initial state."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest
import torch

from paper_lib.methods.tnn import TNNCCCA
from paper_lib.report import teach_triplets as T


def test_miner_counts_equal_the_combinatorial_formulas():
    rng = np.random.default_rng(6)
    for labels in (np.array([0, 0, 0, 1, 1, 2]), rng.integers(0, 5, 40)):
        B = labels.size
        za, zv = rng.random((B, 4)), rng.random((B, 4))
        table = T.mined_counts(za, zv, labels, margin=0.5).set_index("miner")
        n_c = np.bincount(labels)
        assert table.loc["batch-all", "triplets"] == int(np.sum(n_c ** 2 * (B - n_c)))
        assert table.loc["batch-hard", "triplets"] == B
        assert table.loc["random", "triplets"] == B
        assert (table.triplets == table.formula).all()
    assert T.valid_triplet_count(np.array([0, 0, 0, 1, 1, 2])) == 48     # 9·3 + 4·4 + 1·5
    assert T.class_count_table(np.array([0, 0, 0, 1, 1, 2])).batch_all_triplets.sum() == 48
    single = T.mined_counts(za[:5], zv[:5], np.zeros(5, dtype=int), margin=0.5)
    assert (single.triplets == 0).all() and (single.formula == 0).all()


def test_active_counts_equal_a_naive_triple_loop():
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 3, 9)
    za, zv = rng.random((9, 2)), rng.random((9, 2))
    margin = 0.3
    table = T.mined_counts(za, zv, labels, margin).set_index("miner")
    active = 0
    values = []
    for i, j, k in product(range(9), repeat=3):
        if labels[j] == labels[i] and labels[k] != labels[i]:
            v = max(0.0, ((za[i] - zv[j]) ** 2).sum() - ((za[i] - zv[k]) ** 2).sum() + margin)
            active += v > 0
            values.append(v)
    assert table.loc["batch-all", "active"] == active
    assert table.loc["batch-all", "mean_hinge"] == pytest.approx(np.mean(values), abs=1e-12)


def test_hinge_and_hingeless_values():
    delta = np.array([-1.0, -0.5, -0.2, 0.0, 0.4])
    np.testing.assert_allclose(T.hinge(delta, 0.5), [0.0, 0.0, 0.3, 0.5, 0.9])
    np.testing.assert_allclose(T.hingeless(delta, 0.5), [-0.5, 0.0, 0.3, 0.5, 0.9])


def test_hingeless_loss_prefers_a_direction_that_violates_triplets():
    toy = T.make_hinge_toy(seed=0)
    table = T.projection_loss_landscape(toy, margin=0.5)
    best = T.landscape_optima(table).set_index("loss")
    assert best.loc["hinge", "violated_fraction"] == 0.0
    assert best.loc["hingeless", "violated_fraction"] > 0.1
    assert best.loc["hinge", "map_a2v"] > best.loc["hingeless", "map_a2v"] + 0.2
    # hinge-less: the far class dominates, the preferred direction is close to the x axis
    assert min(best.loc["hingeless", "angle"], 180 - best.loc["hingeless", "angle"]) < 10


def test_untrained_branches_are_the_models_initial_state():
    rng = np.random.default_rng(8)
    y = np.repeat(np.arange(3), 20)
    Xa, Xv = rng.normal(size=(60, 8)) + y[:, None], rng.normal(size=(60, 9)) - y[:, None]
    # one epoch at a negligible learning rate: the trained weights are the initial ones
    model = TNNCCCA(n_components=2, epochs=1, lr=1e-12, random_state=11).fit(Xa, Xv, y)
    branch_a, branch_v = T.untrained_branches(2, 2, seed=11)
    for trained, fresh in ((model.branch_audio_, branch_a), (model.branch_visual_, branch_v)):
        for p, q in zip(trained.parameters(), fresh.parameters(), strict=True):
            torch.testing.assert_close(p, q, atol=1e-9, rtol=0)
    H = model.ccca_.transform(Xa, Xv)[0]
    np.testing.assert_allclose(T.branch_outputs(branch_a, H), model.transform(Xa)[0], atol=1e-6)
    hist = T.history_frame(model.history_)
    assert list(hist.columns) == ["epoch", "loss", "mean_hinge", "active_fraction"]


def test_batch_rows_and_pipeline_diagram():
    rows = T.batch_rows(100, 40, seed=0)
    assert rows.size == 40 and np.unique(rows).size == 40 and rows.max() < 100
    np.testing.assert_array_equal(rows, T.batch_rows(100, 40, seed=0))
    with pytest.raises(ValueError, match="batch_size"):
        T.batch_rows(10, 11, seed=0)
    fig = T.plot_pipeline_diagram(128, 784)
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "10–100–100–100–10" in texts and "128-d" in texts and "784-d" in texts
