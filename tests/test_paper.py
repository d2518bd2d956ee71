"""The paper's facts and the one rule choosing which reported numbers go beside ours."""

from __future__ import annotations

import pandas as pd
import pytest

from paper_lib import paper
from paper_lib.methods.registry import METHODS


def test_the_thirteen_methods_of_the_main_comparison_are_all_registered():
    assert all(m in METHODS for m in paper.PAPER_METHODS)
    assert len(paper.PAPER_METHODS) == len(set(paper.PAPER_METHODS)) == 13
    assert paper.PAPER_METHODS == (*paper.CCA_BASELINES, *paper.SOTA_BASELINES,
                                   *paper.OWN_METHODS)
    assert [METHODS[m].paper_name for m in paper.SOTA_BASELINES] == ["UGACH", "UCAL", "ACMR",
                                                                     "AGAH"]


def test_reference_falls_back_to_vegas_and_says_so():
    vegas = paper.load_reported("vegas")
    for dataset in ("avdigits", "synthetic", "mv10k", "/some/file.h5"):
        ref = paper.reference("ablation_margin", dataset)  # MV-10K has no margin ablation
        assert (ref.dataset, ref.label, ref.own) == ("VEGAS", "paper, VEGAS", False)
        expected = vegas[vegas["table"] == "ablation_margin"].reset_index(drop=True)
        pd.testing.assert_frame_equal(ref.rows, expected)
    own = paper.reference("main_comparison", "mv10k")
    assert (own.dataset, own.label, own.own) == ("MV-10K", "paper, MV-10K", True)
    assert set(own.rows["dataset"]) == {"mv10k"} and set(own.rows["table"]) == {"main_comparison"}
    assert paper.reference("main_comparison", "vegas").own
    with pytest.raises(ValueError, match="no table"):
        paper.reference("ablation_nope", "avdigits")


def test_reported_for_gives_every_table_of_the_reference_dataset():
    rows, name = paper.reported_for("avdigits")
    assert name == "VEGAS" and set(rows["dataset"]) == {"vegas"}
    assert {"main_comparison", "ablation_d", "ablation_margin"} <= set(rows["table"])
    rows, name = paper.reported_for("mv10k")
    assert name == "MV-10K" and set(rows["dataset"]) == {"mv10k"}



def test_every_reported_block_cites_the_paper_with_a_bibtex_key():
    import re

    from paper_lib.paths import REPO_ROOT

    keys = set(re.findall(r"@\w+\{([^,]+),", (REPO_ROOT / "book" / "references.bib").read_text()))
    for name in ("vegas", "mv10k"):
        for source in set(paper.load_reported(name)["source"]):
            assert "paper.md" not in source
            cited = re.findall(r"\[([a-z0-9_]+)\]", source)
            assert cited and set(cited) <= keys, source
