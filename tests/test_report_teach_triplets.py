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
    assert "10–100–100–100–10" in texts and "= 128 per clip" in texts and "= 784 per clip" in texts
    # the book's notation and display names: k components, W_x and W_y, "C-CCA (β = 0.2)"
    assert "k = 10" in texts and "W$_x$" in texts and "C-CCA (β = 0.2)" in texts
    assert "d = 10" not in texts


# -- what the chapter shows: readable tables and figures ------------------------------------------
def test_chapter_figures_fit_the_text_column():
    import matplotlib.pyplot as plt
    import pandas as pd

    from paper_lib.report._teaching_common import figure_problems

    toy = T.make_hinge_toy(seed=0)
    landscape = T.projection_loss_landscape(toy, 0.5, angles=np.arange(0.0, 180.0, 10.0))
    history = pd.DataFrame({"epoch": [1, 2], "loss": [0.4, 0.3], "mean_hinge": [0.3, 0.1],
                            "active_fraction": [0.8, 0.4]})
    for fig in (T.plot_triplet_geometry(0.5), T.plot_hinge([0.1, 0.5, 1.1]),
                T.plot_loss_landscape(toy, landscape, T.landscape_optima(landscape)),
                T.plot_pipeline_diagram(128, 784), T.plot_training_history(history, "toy")):
        assert figure_problems(fig) == []
        plt.close(fig)


def test_hinge_plot_colours_the_margins_on_a_scale_with_the_legend_outside():
    import matplotlib.pyplot as plt

    margins = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1]      # the full profile's
    fig = T.plot_hinge(margins, paper_margin=0.5)
    ax = fig.axes[0]
    hinges = [line for line in ax.get_lines() if line.get_linestyle() == "-"
              and len(line.get_xdata()) > 2]
    colours = {tuple(line.get_color()) for line in hinges}
    assert len(hinges) == len(margins) and len(colours) == len(margins)   # no repeated colour
    assert ax.get_legend() is None and fig.legends                          # legend off the axes
    bar = fig.axes[1]                                                       # the colour bar
    assert bar.get_ylabel() == "margin m"
    assert [float(t) for t in bar.get_yticks()] == pytest.approx(margins)
    plt.close(fig)


def test_tables_for_reading():
    labels = np.array([0, 0, 0, 1, 1, 2])
    view = T.class_count_view(T.class_count_table(labels))
    assert view["class"].tolist() == ["0", "1", "2", "total"]
    assert view["batch-all triplets"].iloc[-1] == T.valid_triplet_count(labels) == 48
    assert view["anchors n_c"].iloc[-1] == labels.size
    from paper_lib.report.tables import MISSING, markdown_table

    text = markdown_table(view, digits=T.CLASS_COUNT_DIGITS)
    assert f"| total | 6 | {MISSING} | {MISSING} | 48 |" in text and "3.0" not in text
    rng = np.random.default_rng(3)
    counts = T.mined_counts(rng.random((6, 2)), rng.random((6, 2)), labels, 0.5)
    mv = T.mined_counts_view(counts)
    assert list(mv.columns) == ["miner", "triplets mined", "formula", "active", "active fraction",
                                "mean hinge"]
    counts.insert(0, "stage", "before training")
    assert T.mined_counts_view(counts).columns[0] == "stage"
    toy = T.make_hinge_toy(seed=0)
    optima = T.landscape_optima(T.projection_loss_landscape(toy, 0.5))
    ov = T.optima_view(optima)
    assert ov["loss"].tolist() == ["with the hinge", "without the hinge"]
    assert set(T.OPTIMA_DIGITS) == set(ov.columns[1:])


def test_triplet_figure_labels_the_segment_as_a_length_and_the_circle_by_its_squared_radius():
    import matplotlib.pyplot as plt

    fig = T.plot_triplet_geometry(0.5)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert T.SEGMENT_LABEL == "‖a − p‖" and T.SEGMENT_LABEL in texts
    assert "‖a − p‖²" not in texts                       # a segment's length is not squared
    assert any("radius²" in t and "‖a − p‖² + m" in t for t in texts)
    plt.close(fig)


def test_hinge_plot_shows_every_kink():
    import matplotlib.pyplot as plt

    fig = T.plot_hinge([0.5, 1.5, 3.0])
    delta = fig.axes[0].get_lines()[0].get_xdata()
    assert delta.min() < -3.0                            # the kink of m = 3 sits at Δ = −3
    plt.close(fig)


def test_training_history_draws_the_loss_beside_the_mean_hinge():
    import matplotlib.pyplot as plt
    import pandas as pd

    history = pd.DataFrame({"epoch": [1, 2, 3], "loss": [0.40, 0.39, 0.41],
                            "mean_hinge": [0.3, 0.1, 0.05], "active_fraction": [0.8, 0.3, 0.1]})
    fig = T.plot_training_history(history, "toy")
    left = fig.axes[0].get_lines()
    assert [list(line.get_ydata()) for line in left] == [[0.40, 0.39, 0.41], [0.3, 0.1, 0.05]]
    assert list(fig.axes[1].get_lines()[0].get_ydata()) == [0.8, 0.3, 0.1]
    plt.close(fig)


def test_hinge_toy_far_class_position():
    toy = T.make_hinge_toy(n_per_class=5, seed=0, far=2.0)
    assert toy.audio.shape == (15, 2)
    assert abs(toy.audio[toy.labels == 2, 0].mean() - 2.0) < 0.5
    default = T.make_hinge_toy(seed=0)
    np.testing.assert_array_equal(default.audio, T.make_hinge_toy(seed=0, far=6.0).audio)


def test_the_chapters_knobs_are_prefixed_registered_and_checked():
    from paper_lib.errors import ParamError
    from paper_lib.pipeline.params import notebook_knobs

    knobs = {k.name: k for k in (T.TRIPLET_MARGIN, T.TRIPLET_MARGINS, T.TRIPLET_BATCH_SIZE,
                                 T.TRIPLET_TOY_PER_CLASS, T.TRIPLET_TOY_FAR)}
    registered = notebook_knobs()
    for name, knob in knobs.items():
        assert name.startswith("triplet_") and registered[name] is knob
    assert T.TRIPLET_MARGIN.resolve("full") == T.TRIPLET_MARGIN.resolve("quick") == 0.5
    assert T.TRIPLET_BATCH_SIZE.resolve("quick") == 40
    assert len(T.TRIPLET_MARGINS.resolve("quick")) == 11
    # the command line gives a tuple, which reaches the parameter cell as its text
    assert T.TRIPLET_MARGINS.resolve("quick", "(0.5, 2, 4)") == [0.5, 2.0, 4.0]
    assert T.TRIPLET_MARGINS.resolve("quick", (0.5, 2)) == [0.5, 2.0]
    with pytest.raises(ParamError, match="triplet_batch_size"):
        T.TRIPLET_BATCH_SIZE.resolve("quick", 1)
    with pytest.raises(ParamError, match="triplet_margin"):
        T.TRIPLET_MARGIN.resolve("quick", -0.1)
