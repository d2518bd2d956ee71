"""The teaching chapters are course material (issue 16), read from the quick build's HTML: each
has an Overview with prerequisites and learning objectives, links the notation page, ends with a
Summary and at least five exercises each with its solution; method variants have one display name.

The exercises' numeric answers are checked against independent computations by the chapters' own
tests (``tests/test_report_teach_*.py`` and ``tests/test_teach_*_exercises.py``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup, Tag

from paper_lib.paths import REPO_ROOT

TEACHING = ("20_teach_cca_2d", "21_teach_cluster_cca", "22_teach_triplets", "23_teach_protocol")
MIN_EXERCISES = 5
#: a bare "C-CCA": not part of TNN-C-CCA / lstm_C-CCA and not followed by its variant
BARE_CCCA = re.compile(r"(?<![\w-])C-CCA(?!\s*\((?:Rasiwasia|β\s*=\s*0\.2)\))")


def _article(html: Path, page: str) -> Tag:
    soup = BeautifulSoup((html / "notebooks" / f"{page}.html").read_text(encoding="utf-8"),
                         "html.parser")
    article = soup.find("article")
    assert isinstance(article, Tag), f"{page}: no <article>"
    return article


def _section(article: Tag, title: str) -> Tag | None:
    for section in article.find_all("section"):
        heading = section.find(re.compile("^h[1-6]$"))
        if heading is not None and heading.get_text(" ", strip=True).rstrip("#").strip() \
                .split(maxsplit=1)[-1] == title:
            return section
    return None


def _headings_in_order(article: Tag) -> list[str]:
    return [h.get_text(" ", strip=True).rstrip("#").strip().split(maxsplit=1)[-1]
            for h in article.find_all(re.compile("^h[2-3]$"))]


def test_the_teaching_part_runs_chapters_then_card_notation_and_course():
    toc = yaml.safe_load((REPO_ROOT / "_toc.yml").read_text())
    part = next(p for p in toc["parts"] if p["caption"] == "The method, taught")
    files = [c["file"] for c in part["chapters"]]
    assert files == [*(f"notebooks/{t}" for t in TEACHING), "book/method", "book/notation",
                     "book/course"]


@pytest.mark.slow
@pytest.mark.parametrize("page", TEACHING)
def test_teaching_chapter_has_the_course_furniture(quick_book, page):
    article = _article(quick_book["html"], page)
    order = _headings_in_order(article)
    for title in ("Overview", "Summary", "Exercises"):
        assert title in order, f"{page}: no '{title}' section (sections: {order})"
    # the Overview comes first, the Summary and the Exercises last, in that order
    assert order.index("Overview") == 0, f"{page}: Overview is not the first section: {order}"
    assert order.index("Summary") < order.index("Exercises"), order
    overview = _section(article, "Overview")
    assert overview is not None
    text = overview.get_text(" ", strip=True)
    assert "Prerequisites" in text and "You will learn" in text, f"{page}: {text[:200]}"
    assert overview.find("a", href=re.compile(r"book/notation\.html")) is not None, \
        f"{page}: the Overview does not link the notation page"
    summary = _section(article, "Summary")
    assert summary is not None and len(summary.find_all("li")) >= 3, f"{page}: summary bullets"

    exercises = _section(article, "Exercises")
    assert exercises is not None
    boxes = exercises.find_all(class_="exercise")
    solutions = exercises.find_all(class_="solution")
    assert len(boxes) >= MIN_EXERCISES, f"{page}: {len(boxes)} exercises"
    # every exercise has exactly one solution, folded away in a dropdown
    ids = [box.get("id") for box in boxes]
    targets = [a.get("href", "").split("#")[-1] for s in solutions
               for a in s.find_all("a", class_="reference")[:1]]
    assert sorted(targets) == sorted(ids), f"{page}: exercises {ids} vs solutions {targets}"
    assert all("dropdown" in s.get("class", []) for s in solutions), f"{page}: solution not folded"


@pytest.mark.slow
@pytest.mark.parametrize("page", TEACHING)
def test_teaching_chapter_names_each_ccca_variant(quick_book, page):
    article = _article(quick_book["html"], page)
    for tag in article.find_all(["script", "style"]):
        tag.decompose()
    bare = [m.group(0) + "…" + article.get_text(" ")[m.end():m.end() + 30]
            for m in BARE_CCCA.finditer(article.get_text(" "))]
    assert not bare, f"{page}: a C-CCA without its variant: {bare[:5]}"


def test_bare_ccca_pattern():
    assert BARE_CCCA.search("C-CCA beats CCA")
    assert not BARE_CCCA.search("C-CCA (Rasiwasia) and C-CCA (β = 0.2)")
    assert not BARE_CCCA.search("TNN-C-CCA and lstm_C-CCA")
