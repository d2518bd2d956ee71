"""The related-systems chapter's tables: AVE-Net skipped with a message on feature-only data,
the class-only ceiling of true-pair recall, and the tables read from the runner's records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paper_lib.data.registry import load_dataset
from paper_lib.report import related_systems as rs


@pytest.fixture(scope="module")
def ds():
    return load_dataset("synthetic", n_classes=3, n_per_class=20, d_audio=8, d_visual=12,
                        max_seconds=3, use_cache=False)


def test_ave_net_is_skipped_with_a_message_on_a_dataset_without_media(ds) -> None:
    kept, skipped = rs.systems_for(ds)
    assert [s.method for s in kept] == ["vm_net", "c_dcca", "tnn_c_cca"]
    assert len(skipped) == 1 and "AVE-Net is skipped" in skipped[0] and ds.name in skipped[0]


def test_reference_levels(ds) -> None:
    levels = rs.chance_levels(ds, [0])
    n_test = 12                                        # 60 clips, 5 folds, 4 per class
    assert levels["pair_r@10"] == pytest.approx(10 / n_test)
    assert levels["map"] == pytest.approx(1 / 3)
    assert levels["pair_r@10_class_only"] == 1.0       # 4 clips per class <= 10


def _records() -> pd.DataFrame:
    rows = []
    for method, base in (("vm_net", 0.1), ("c_dcca", 0.5), ("tnn_c_cca", 0.3)):
        for fold, jitter in ((0, 0.0), (1, 0.02)):
            for d in ("a2v", "v2a"):
                for metric, value in (("map", base + jitter), ("pair_r@10", 0.9 - base),
                                      ("ndcg@30", base)):
                    rows.append({"method": method, "fold": fold, "direction": d,
                                 "metric": metric, "value": value})
    return pd.DataFrame(rows)


def test_tables_and_leaders_come_from_the_records(ds) -> None:
    kept, _ = rs.systems_for(ds)
    summary = rs.protocol_summary(_records(), kept)
    row = summary[(summary.system == "S-DCCA") & (summary.direction == "a2v")
                  & (summary.metric == "map")].iloc[0]
    assert row["mean"] == pytest.approx(0.51) and row["std"] == pytest.approx(
        np.std([0.5, 0.52], ddof=1)) and row["n"] == 2
    assert not (summary.metric == "pair_r@1").any()     # not in the records: no row
    view = rs.protocol_view(summary)
    assert list(view.columns) == ["system", "direction", "R@1", "R@5", "R@10", "MAP", "nDCG@30"]
    assert list(view["system"]) == ["VM-NET", "S-DCCA", "TNN-C-CCA"] * 2
    assert list(view["direction"]) == ["A→V"] * 3 + ["V→A"] * 3
    # mean ± std on one line; the best of each direction in bold; a missing metric as a dash
    assert view.loc[1, "MAP"] == f"**0.510\u00a0±\u00a0{np.std([0.5, 0.52], ddof=1):.3f}**"
    assert view.loc[2, "MAP"] == f"0.310\u00a0±\u00a0{np.std([0.3, 0.32], ddof=1):.3f}"
    assert view.loc[0, "R@10"].startswith("**0.800")
    assert view.loc[0, "R@1"] == "—"
    assert rs.leaders(_records(), kept) == {"true-pair Recall@10": "VM-NET",
                                            "class MAP": "S-DCCA", "class nDCG@30": "S-DCCA"}
    assert list(rs.systems_view(kept)["system"]) == ["VM-NET", "S-DCCA", "TNN-C-CCA"]


def test_intra_modal_view_and_index_view() -> None:
    per_fold = pd.DataFrame([
        {"system": s, "direction": d, "fold": f, "metric": m, "value": v + 0.01 * f}
        for s, v in (("VM-NET", 0.2), ("S-DCCA", 0.6)) for d in ("a2a", "v2v")
        for f in (0, 1) for m in ("map", "ndcg@30")])
    view = rs.intra_modal_view(per_fold)
    assert list(view.columns) == ["system", "direction", "MAP", "nDCG@30"]
    assert list(view["direction"]) == ["A→A", "A→A", "V→V", "V→V"]
    assert view.loc[1, "MAP"].startswith("**0.605\u00a0±") and not view.loc[0, "MAP"].startswith("**")
    indexes = pd.DataFrame({"index": ["exact", "hnsw"], "items": [10, 10], "queries": [2, 2],
                            "build (s)": [0.1, 0.2], "search (s)": [0.01, 0.02],
                            "recall@10 vs exact": [1.0, 0.9]})
    shown = rs.index_view(indexes)
    assert list(shown.columns)[:2] == ["index", "recall@10 vs exact"]
    assert list(shown["index"]) == ["exact (inner product)", "HNSW (approximate)"]


def test_protocol_figure_fits_the_page(ds) -> None:
    kept, _ = rs.systems_for(ds)
    rows = [{"method": s.method, "fold": 0, "direction": d, "metric": f"{m}@{k}", "value": 0.5}
            for s in kept for d in ("a2v", "v2a") for m in ("pair_r", "p") for k in rs.KS]
    fig = rs.plot_protocols(pd.DataFrame(rows), kept)
    assert fig.get_size_inches()[0] <= 8.0
    (legend,) = fig.legends
    assert min(t.get_fontsize() for t in legend.get_texts()) >= 10
