"""Chapter 23 (``paper_lib.report.teach_protocol``): the hand-made AP is exact, the truncated
pitfall equals a naive loop, and every library object and test named in the pitfall table
exists (this check lives here, in the test-suite, not in the library)."""

from __future__ import annotations

import ast
import importlib
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from paper_lib.metrics.retrieval import average_precision
from paper_lib.report import teach_protocol as T

TESTS_DIR = Path(__file__).resolve().parent


def test_hand_ap_equals_the_metrics_module_and_the_table():
    ap = T.hand_ap()
    assert ap == (Fraction(1) + Fraction(2, 3) + Fraction(3, 4) + Fraction(4, 7)
                  + Fraction(5, 10)) / 5
    S, q, g = T.hand_toy()
    assert average_precision(S, q, g)[0] == pytest.approx(float(ap), abs=1e-15)
    steps = T.ap_steps()
    assert steps.precision_x_rel.sum() / steps.rel_k.sum() == pytest.approx(float(ap))


def test_truncated_pitfall_inflates_the_hand_toy():
    S, q, g = T.hand_toy()
    table = T.truncation_table(S, q, g, [1, 3, 5, 10])
    assert table.truncated_map_pitfall.tolist() == pytest.approx(
        [1.0, (1 + 2 / 3) / 2, (1 + 2 / 3 + 3 / 4) / 3, float(T.hand_ap())])
    assert (table.truncated_map_pitfall[:-1] > table.map_full_ranking[:-1]).all()
    # at k = n_g (all relevant items found) the pitfall coincides with the protocol
    assert table.truncated_map_pitfall.iloc[-1] == pytest.approx(table.map_full_ranking.iloc[-1])


def test_truncated_pitfall_equals_a_naive_loop_and_zero_without_hits():
    rng = np.random.default_rng(9)
    S = rng.normal(size=(7, 15))
    q, g = rng.integers(0, 3, 7), rng.integers(0, 3, 15)
    for k in (1, 4, 15):
        vals = []
        for i in range(7):
            order = np.argsort(-S[i], kind="stable")[:k]
            rel = g[order] == q[i]
            hits = np.cumsum(rel)
            vals.append(0.0 if hits[-1] == 0 else
                        sum(hits[j] / (j + 1) for j in range(k) if rel[j]) / hits[-1])
        assert T.truncated_map_pitfall(S, q, g, k) == pytest.approx(np.mean(vals), abs=1e-12)
    with pytest.raises(ValueError, match="k must be"):
        T.truncated_map_pitfall(S, q, g, 0)


def test_tie_demo_does_not_depend_on_gallery_order():
    demo = T.tie_demo()
    # the gallery-order rule: relevant items at ranks 1, 2 -> AP 1; at ranks 5, 6 -> 0.267
    assert demo.ap_gallery_order_rule.tolist() == pytest.approx([1.0, (1 / 5 + 2 / 6) / 2])
    # the library: one tie group -> AP = P@2 = 2/6 (chance) for both listings, = scikit-learn
    assert demo.ap.tolist() == pytest.approx([1 / 3, 1 / 3], abs=1e-15)
    assert demo.p_at_2.tolist() == pytest.approx([1 / 3, 1 / 3], abs=1e-15)
    for labels in demo.gallery_labels:
        g = np.array(labels.split(), dtype=int)
        assert average_precision_score(g == 1, np.zeros(6)) == pytest.approx(1 / 3)


def test_collapsed_embedding_gets_chance_not_a_gallery_order_bonus():
    out = T.collapsed_embedding_map(n_classes=10, per_class=50)
    assert out["map"] == pytest.approx(0.1, abs=1e-12) and out["chance"] == 0.1
    # the gallery-order rule: class c's queries find their class at ranks 50c+1 .. 50c+50
    naive = np.mean([np.mean([i / (50 * c + i) for i in range(1, 51)]) for c in range(10)])
    assert out["map_gallery_order_rule"] == pytest.approx(naive, abs=1e-12)
    assert 0.2 < out["map_gallery_order_rule"] < 0.22               # the 0.21
    with pytest.raises(ValueError, match="n_classes"):
        T.collapsed_embedding_map(n_classes=0)


def test_tied_query_fraction_counts_rows_with_a_repeated_score():
    assert T.tied_query_fraction(np.array([[1.0, 1.0, 0.0], [3.0, 2.0, 1.0]])) == 0.5
    assert T.tied_query_fraction(np.zeros((3, 4))) == 1.0


def test_map_without_partner_equals_a_naive_loop():
    rng = np.random.default_rng(10)
    y = rng.integers(0, 3, 12)
    S = rng.normal(size=(12, 12)) + 2 * np.eye(12)
    naive = []
    for i in range(12):
        g = [j for j in range(12) if j != i]
        order = sorted(g, key=lambda j: -S[i, j])
        rel = [y[j] == y[i] for j in order]
        if sum(rel):
            hits = np.cumsum(rel)
            naive.append(sum(hits[k] / (k + 1) for k in range(len(rel)) if rel[k]) / sum(rel))
    assert T.map_without_partner(S, y) == pytest.approx(np.mean(naive), abs=1e-12)


def test_prevalence_is_where_the_pr_curve_ends():
    from paper_lib.metrics.retrieval import pr_curve

    rng = np.random.default_rng(11)
    y = rng.integers(0, 4, 30)
    S = rng.normal(size=(30, 30))
    precision, recall = pr_curve(S, y, y)
    assert recall[-1] == pytest.approx(1.0)
    assert precision[-1] == pytest.approx(T.mean_prevalence(y, y))


def test_fold_rounds_have_one_test_fold_each():
    table = T.fold_rounds(5)
    tests = table[table.role == "test"]
    assert len(tests) == 5 and (tests["round"] == tests["fold"]).all()
    assert (table.groupby("round").role.apply(lambda r: (r == "train").sum()) == 4).all()


def _resolve(dotted: str) -> object:
    """The object a dotted name points to: the longest importable module prefix, then
    attributes (``paper_lib.methods.tnn.TNNCCCA``)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def _test_functions() -> set[str]:
    """Names of the test functions defined in the test-suite (parsed, not imported)."""
    return {node.name for file in TESTS_DIR.glob("test_*.py")
            for node in ast.walk(ast.parse(file.read_text(encoding="utf-8")))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.name.startswith("test_")}


def test_every_pitfall_names_existing_code_and_tests():
    assert len(T.PITFALLS) == 10
    defined = _test_functions()
    for p in T.PITFALLS:
        assert p.where and p.tests, p.pitfall
        for where in p.where:
            assert where.startswith("paper_lib."), where
            _resolve(where)                             # raises if the guard is gone
        missing = [t for t in p.tests if t not in defined]
        assert not missing, f"{p.pitfall}: no test function named {missing} in {TESTS_DIR}"


def test_the_reference_check_catches_a_broken_reference():
    with pytest.raises(AttributeError):
        _resolve("paper_lib.metrics.retrieval.nope")
    with pytest.raises(ImportError):
        _resolve("no_such_package.module")
    assert "test_does_not_exist" not in _test_functions()
    assert "test_every_pitfall_names_existing_code_and_tests" in _test_functions()


def test_pitfall_table_shows_each_reference():
    table = T.pitfall_table()                       # the CSV: plain names, no Markdown
    assert list(table.columns) == ["pitfall", "guard", "where", "tests"]
    assert len(table) == len(T.PITFALLS)
    first = T.PITFALLS[0]
    assert table["where"].iloc[0] == ", ".join(first.where)
    assert table["tests"].iloc[0] == ", ".join(first.tests)
    assert not table.apply(lambda col: col.str.contains("`")).any().any()


def test_pitfall_view_is_a_narrow_markdown_table_with_every_reference():
    from paper_lib.report.tables import markdown_table

    view = T.pitfall_view()
    assert list(view.columns) == ["pitfall",
                                  "what the library does, where, and the tests that check it"]
    assert view["pitfall"].tolist() == [p.pitfall for p in T.PITFALLS]
    text = markdown_table(view)
    lines = text.splitlines()
    assert len(lines) == 2 + len(T.PITFALLS)
    for line, p in zip(lines[2:], T.PITFALLS, strict=True):
        assert line.count(" | ") == 1                # two cells: nothing spills into a third
        assert line.count("`") % 2 == 0              # every code span closed
        for where in p.where:
            assert f"`{where.removeprefix('paper_lib.')}`" in line
        for name in p.tests:
            assert f"`{name}`" in line
        assert p.guard in line


# -- what the chapter shows: readable tables and figures ------------------------------------------
def test_chapter_figures_fit_the_text_column():
    import matplotlib.pyplot as plt

    from paper_lib.metrics.retrieval import pr_curve
    from paper_lib.report._teaching_common import figure_problems

    S, q, g = T.hand_toy()
    rng = np.random.default_rng(12)
    y = rng.integers(0, 3, 40)
    S2 = rng.normal(size=(40, 40)) + 2 * (y[:, None] == y[None, :])
    tables = {name: T.truncation_table(S2, y, y, [1, 5, 10, 40]) for name in ("a", "b")}
    for fig in (T.plot_ap_steps(T.ap_steps(), float(T.hand_ap())), T.plot_truncation(tables),
                T.plot_pr_curves({"a": pr_curve(S2, y, y)}, T.mean_prevalence(y, y)),
                T.plot_fold_diagram(5)):
        assert figure_problems(fig) == []
        plt.close(fig)


def test_tables_for_reading():
    steps = T.steps_view(T.ap_steps())
    assert list(steps.columns) == ["rank j", "rel_j", "hits in the top j", "P@j", "P@j · rel_j"]
    assert steps["rank j"].tolist() == list(range(1, 11))
    S, q, g = T.hand_toy()
    single = T.truncation_view(T.truncation_table(S, q, g, [1, 2, 10]))
    assert list(single.columns) == ["K", T.FULL, T.TRUNCATED]
    t1 = T.truncation_table(S, q, g, [1, 10])
    t2 = t1.copy()
    t1.insert(0, "method", "C-CCA (β = 0.2)")
    t2.insert(0, "method", "TNN-C-CCA (batch-all)")
    import pandas as pd

    wide = T.truncation_view(pd.concat([t1, t2], ignore_index=True))
    assert list(wide.columns) == ["K", f"C-CCA (β = 0.2): {T.TRUNCATED}",
                                  f"TNN-C-CCA (batch-all): {T.TRUNCATED}"]
    assert wide.K.tolist() == [1, 10]
    ties = T.tie_view(T.tie_demo())
    assert ties.columns[0] == "gallery order" and len(ties) == 2
    partner = T.partner_view(pd.DataFrame({"method": ["C-CCA (β = 0.2)"], "map_protocol": [0.5],
                                           "map_without_own_partner": [0.49]}))
    assert list(partner.columns) == ["method", "MAP A→V (protocol)",
                                     "MAP A→V without the own partner"]
    rows = pd.DataFrame([T.random_ranking_row("toy", *T.toy_labels(10, 2), n_draws=50)])
    random_view = T.random_ranking_view(rows)
    assert list(random_view.columns) == [
        "case", "G", "R (mean over queries)", "class share R/G",
        "expected AP of a random ranking (exact)", "mean AP of simulated random rankings",
        "AP when every score is tied"]
    assert random_view["R (mean over queries)"].tolist() == ["2"]      # no trailing ".0"
    leak = pd.DataFrame({"setting": list(T.LEAK_SETTINGS), "scaler_test_rows": [0, 8, 0],
                         "c_cca_test_rows": [0, 0, 8], "map_a2v": [0.5, 0.51, 0.7]})
    leak_view = T.leakage_view(leak, 0.5)
    assert list(leak_view.columns) == ["setting", "held-out clips the scaler saw",
                                       "held-out clips C-CCA (β = 0.2) saw", "MAP A→V"]
    assert "50% of the held-out fold" in leak_view.setting.iloc[1]
    # every name in the chapter's tables is a display name: no bare "C-CCA"
    import re

    for text in (*leak_view.setting, *T.pitfall_table().pitfall):
        assert not re.search(r"(?<![-\w])C-CCA(?! \()", text), text


def test_figure_axes_use_the_notation():
    import matplotlib.pyplot as plt

    fig = T.plot_ap_steps(T.ap_steps(), float(T.hand_ap()))
    assert fig.axes[0].get_xlabel().startswith("rank j") and fig.axes[0].get_ylabel() == "P@j"
    plt.close(fig)
    S, q, g = T.hand_toy()
    fig = T.plot_truncation({"a": T.truncation_table(S, q, g, [1, 5, 10])}, cutoff=5)
    assert fig.axes[0].get_xlabel() == "cut-off K"
    assert any("K = 5" in t.get_text() for t in fig.legends[0].get_texts())
    plt.close(fig)


def test_knobs_are_registered_and_checked():
    from paper_lib.errors import ParamError
    from paper_lib.experiment.knobs import known_knobs

    knobs = known_knobs()
    for knob in (T.PROTOCOL_CUTOFF, T.PROTOCOL_RANDOM_GALLERY, T.PROTOCOL_RANDOM_RELEVANT,
                 T.PROTOCOL_FOLD, T.PROTOCOL_LEAK_SHARE):
        assert knob.name.startswith("protocol_") and knobs[knob.name] is knob
        assert knob.resolve("quick") == knob.resolve("full")
    assert T.PROTOCOL_LEAK_SHARE.resolve("quick", 0.5) == 0.5
    with pytest.raises(ParamError, match="protocol_leak_share"):
        T.PROTOCOL_LEAK_SHARE.resolve("quick", 1.5)
    with pytest.raises(ParamError, match="protocol_cutoff"):
        T.PROTOCOL_CUTOFF.resolve("quick", 0)
    with pytest.raises(ParamError, match="protocol_random_relevant"):
        T.check_random_toy(5, 6)
    with pytest.raises(ParamError, match="protocol_fold"):
        T.check_fold(5, 5)
    assert T.check_fold(4, 5) == 4
