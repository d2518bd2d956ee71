"""The adversary ablation: its configs share the main table's fits, separability is recorded per
fit, and the computed sentences quote the summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paper_lib.data.registry import load_dataset
from paper_lib.experiment.cache import cache_key
from paper_lib.metrics.modality import modality_separability
from paper_lib.paper import SOTA_BASELINES
from paper_lib.report import ablations as ab
from paper_lib.report import adversaries as adv
from paper_lib.report import main_table as mt
from paper_lib.report.tables import mean_std


def test_configs_switch_only_the_adversary_and_the_on_cells_are_the_main_tables():
    configs = adv.adversary_configs(epochs=3)
    assert [(c.method, c.setting) for c in configs] == [
        (m, f"adversarial={on}") for m in SOTA_BASELINES for on in (True, False)]
    ds = load_dataset("synthetic", n_per_class=6, d_audio=16, d_visual=24, use_cache=False)
    split = next(ds.splits([0]))
    main = {c.method: c for c in mt.main_configs(3, SOTA_BASELINES)}
    for c in configs:
        m = main[c.method]
        same = cache_key(ds, c.method, split, 0, c.dim, c.epochs, "cosine", c.hyper) == \
            cache_key(ds, m.method, split, 0, m.dim, m.epochs, "cosine", m.hyper)
        assert same == (c.hyper == {"adversarial": True})   # on: the main table's cached fit


def test_separability_is_high_for_shifted_modalities_and_chance_for_mixed_ones():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(200, 5))
    assert modality_separability(Z, Z + 3.0) > 0.95                       # an offset: separable
    assert abs(modality_separability(Z, rng.normal(size=(200, 5))) - 0.5) < 0.1  # same law
    with pytest.raises(ValueError, match="same width"):
        modality_separability(Z, Z[:, :3])


def test_run_records_one_separability_per_fit_and_describe_quotes_the_summaries(isolated_dirs):
    ds = load_dataset("synthetic", n_per_class=12, d_audio=16, d_visual=24, use_cache=False)
    configs = adv.adversary_configs(epochs=1, methods=("ucal",))
    records, per_fit = adv.run_adversary_ablation(ds, configs, folds=[0, 1], seed=0)
    assert list(per_fit.columns) == adv.SEPARABILITY_COLUMNS and len(per_fit) == 4
    assert per_fit["separability"].between(0, 1).all()
    summary = ab.summarise_sweep(records)
    sep = adv.separability_summary(per_fit)
    assert list(sep["n"]) == [2, 2]
    np.testing.assert_allclose(
        sep["separability_mean"], per_fit.groupby("setting", sort=False)["separability"].mean())
    text = adv.describe(summary, sep, {"ucal": "UCAL"})
    on = summary[(summary["setting"] == "adversarial=True") & (summary["direction"] == "a2v")]
    assert text.startswith("- **UCAL**: MAP ") and f"{on['mean'].iloc[0]:.3f}" in text
    with pytest.raises(ValueError, match="no complete cell"):
        adv.describe(summary, sep.iloc[:1], {})


def test_separability_summary_of_one_fit_has_zero_std():
    per_fit = pd.DataFrame([{"method": "acmr", "setting": "adversarial=True", "fold": 0,
                             "seed": 0, "separability": 0.6}])
    out = adv.separability_summary(per_fit)
    assert out["separability_std"].tolist() == [0.0] and out["n"].tolist() == [1]


def test_separability_view_reads_as_one_line_per_cell_with_display_names():
    per_fit = pd.DataFrame([{"method": m, "setting": f"adversarial={on}", "fold": f, "seed": 0,
                             "separability": 0.5 + 0.1 * f + (0.2 if on else 0.0)}
                            for m in ("acmr", "ugach") for on in (True, False) for f in (0, 1)])
    sep = adv.separability_summary(per_fit)
    view = adv.separability_view(sep)
    assert list(view.columns) == ["method", "setting", "modality separability"]
    assert list(view["method"]) == ["ACMR", "ACMR", "UGACH", "UGACH"]       # display names
    assert list(view["setting"]) == ["adversarial=True", "adversarial=False"] * 2
    assert view["modality separability"].iloc[0] == mean_std(0.75, float(np.std([0.7, 0.8],
                                                                                   ddof=1)), 3)
    assert not any("\n" in c or c.startswith("**") for c in view["modality separability"])
    # the number of fits stays when it differs between cells (else the caption states it)
    uneven = adv.separability_view(adv.separability_summary(per_fit.iloc[1:]))
    assert list(uneven["fits"]) == [1, 2, 2, 2]
