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
    table = rs.protocol_table(_records(), kept)
    assert list(table["system"]) == ["VM-NET", "S-DCCA", "TNN-C-CCA"]
    assert table.loc[1, "MAP A→V"] == f"0.510 ± {np.std([0.5, 0.52], ddof=1):.3f}"
    assert table.loc[0, "R@1 A→V"] == "—"               # not in the records: shown as missing
    assert rs.leaders(_records(), kept) == {"true-pair Recall@10": "VM-NET",
                                            "class MAP": "S-DCCA", "class nDCG@30": "S-DCCA"}
