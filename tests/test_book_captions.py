"""Every figure and table of the built book has a number and a caption, and every page that
regenerates an artefact of the paper names it in a caption (read from the quick build's HTML)."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup

#: pages that regenerate an artefact of the paper: at least one caption names it
REPRODUCING_PAGES = ("02_main_table", "03_pr_curves", "04_ablation_dims", "05_ablation_margin",
                     "06_ablation_batch_number", "11_embeddings_tsne", "12_retrieval_examples")
#: the sentences with which a caption ties its artefact to the paper (pipeline.present)
TIES = ("Reproduces the paper's", "Not in the paper")


def _content_pages(html: Path) -> list[Path]:
    """The book's own pages: notebooks and prose, not the API reference (autodoc's summary
    tables are navigation, not results) nor Sphinx's index and search pages."""
    pages = sorted((html / "notebooks").glob("*.html")) + sorted((html / "book").glob("*.html"))
    return [p for p in pages if not p.name.startswith("api")]


def _article(page: Path) -> BeautifulSoup:
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    article = soup.find("article")
    assert article is not None, f"{page.name}: no <article>"
    return article


def _caption_number(tag, kind: str) -> str:
    number = tag.find("span", class_="caption-number")
    return number.get_text(strip=True) if number is not None and kind in number.get_text() else ""


@pytest.mark.slow
def test_every_figure_and_table_has_a_number_and_a_caption(quick_book):
    html: Path = quick_book["html"]
    unnumbered: list[str] = []
    for page in _content_pages(html):
        article = _article(page)
        for table in article.find_all("table"):
            caption = table.find("caption")
            if caption is None or not _caption_number(caption, "Table"):
                head = " ".join(table.get_text(" ", strip=True).split()[:6])
                unnumbered.append(f"{page.name}: table starting {head!r}")
        for img in article.find_all("img"):
            figure = img.find_parent("figure")
            caption = figure.find("figcaption") if figure is not None else None
            if caption is None or not _caption_number(caption, "Fig."):
                unnumbered.append(f"{page.name}: image {img.get('src')}")
            elif img.get("alt", "").endswith((".png", ".svg")) or not img.get("alt"):
                unnumbered.append(f"{page.name}: image {img.get('src')} has no alt text")
    assert not unnumbered, "figures/tables without a number and caption:\n  " + \
        "\n  ".join(unnumbered)


@pytest.mark.slow
def test_notebook_captions_state_their_tie_to_the_paper(quick_book):
    html: Path = quick_book["html"]
    untied: list[str] = []
    for page in sorted((html / "notebooks").glob("*.html")):
        article = _article(page)
        # Sphinx's smart quotes print "paper’s"
        captions = [c.get_text(" ", strip=True).replace("\u2019", "'")
                    for c in article.find_all(["caption", "figcaption"])]
        untied += [f"{page.name}: {c[:60]!r}" for c in captions
                   if not any(tie in c for tie in TIES)]
        if page.stem in REPRODUCING_PAGES:
            assert any(TIES[0] in c for c in captions), \
                f"{page.name} regenerates an artefact of the paper, but no caption names it"
    assert not untied, "captions that do not say how they relate to the paper:\n  " + \
        "\n  ".join(untied)
