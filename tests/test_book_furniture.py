"""What readers of a paper companion expect around the results: a licence, a citation file and a
"How to cite" page that agree with each other and with the bibliography, numbered sections, each
page's notebook to download, the build's commit and date stated once (in the build report), and
no inline script declared twice."""

from __future__ import annotations

import json
import os
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from pybtex.database import parse_file, parse_string

import paper_lib
from paper_lib import paths
from paper_lib.paths import REPO_ROOT

PAPER_KEY = "zeng2020deep"
PAPER_DOI = "10.1145/3387164"


def _cff() -> dict:
    return yaml.safe_load((REPO_ROOT / "CITATION.cff").read_text())


def _config() -> dict:
    return yaml.safe_load((REPO_ROOT / "_config.yml").read_text())


def _toc() -> dict:
    return yaml.safe_load((REPO_ROOT / "_toc.yml").read_text())


def _cite_page_entries():
    blocks = re.findall(r"```bibtex\n(.*?)```", (REPO_ROOT / "book/cite.md").read_text(), re.S)
    assert len(blocks) == 2, "book/cite.md: one BibTeX block for the paper, one for the companion"
    return [next(iter(parse_string(b, "bibtex").entries.items())) for b in blocks]


def _plain(text: str) -> str:
    return re.sub(r"[{}\\]", "", text)


def test_the_licence_covers_code_and_text():
    text = (REPO_ROOT / "LICENSE").read_text()
    assert "MIT License" in text and "Permission is hereby granted, free of charge" in text
    assert "CC-BY-4.0" in text and "creativecommons.org/licenses/by/4.0" in text
    assert _cff()["license"] == ["MIT", "CC-BY-4.0"]


def test_the_citation_file_cites_the_companion_and_the_paper_as_the_bibliography_does():
    cff = _cff()
    assert cff["cff-version"] == "1.2.0"
    assert cff["type"] == "software" and cff["message"] and cff["authors"]
    assert cff["title"] == _config()["title"]
    assert str(cff["version"]) == paper_lib.__version__, \
        "CITATION.cff's version follows paper_lib.__version__ (and book/cite.md with it)"
    bib = parse_file(REPO_ROOT / "book/references.bib").entries[PAPER_KEY]
    (paper,) = [r for r in cff["references"] if r.get("doi") == PAPER_DOI]
    assert paper["type"] == "article"
    assert _plain(paper["title"]) == _plain(bib.fields["title"])
    assert paper["journal"] == bib.fields["journal"]
    assert str(paper["volume"]) == bib.fields["volume"] and str(paper["issue"]) == \
        bib.fields["number"]
    assert f"{paper['start']}--{paper['end']}" == bib.fields["pages"]
    assert str(paper["year"]) == bib.fields["year"]
    assert [a["family-names"] for a in paper["authors"]] == \
        [p.last_names[0] for p in bib.persons["author"]]


def test_the_cite_page_gives_both_entries_in_step_with_the_citation_file():
    (paper_key, paper), (_, companion) = _cite_page_entries()
    bib = parse_file(REPO_ROOT / "book/references.bib").entries[PAPER_KEY]
    assert paper_key == PAPER_KEY
    for name in ("title", "journal", "volume", "number", "pages", "year"):
        assert paper.fields[name] == bib.fields[name], name
    assert paper.fields["doi"] == PAPER_DOI
    assert [str(p) for p in paper.persons["author"]] == [str(p) for p in bib.persons["author"]]
    cff = _cff()
    assert _plain(companion.fields["title"]) == cff["title"]
    assert f"version {cff['version']}" in companion.fields["howpublished"]
    assert "book/cite" in (REPO_ROOT / "_toc.yml").read_text()


def test_every_part_of_the_book_is_numbered_and_the_thebe_script_is_gone():
    toc = _toc()
    assert all(part.get("numbered") is True for part in toc["parts"])
    html = _config()["html"]
    assert html["use_multitoc_numbering"] is True and html["use_download_button"] is True
    from jupyter_book.config import get_default_sphinx_config, get_final_config

    final, _ = get_final_config(user_yaml=REPO_ROOT / "_config.yml",
                                cli_config={"latex_individualpages": False},
                                sourcedir=REPO_ROOT, raise_on_invalid=True)
    # every extension of Jupyter Book's own list but sphinx_thebe (its inline script is written
    # twice into every page by Sphinx 7: "Identifier 'THEBE_JS_URL' has already been declared")
    expected = [e for e in get_default_sphinx_config()["extensions"] if e != "sphinx_thebe"]
    assert [e for e in final["extensions"] if e in expected] == expected
    assert "sphinx_thebe" not in final["extensions"]
    for needed in ("sphinxcontrib.bibtex", "sphinx.ext.autodoc", "sphinx_multitoc_numbering"):
        assert needed in final["extensions"]
    assert final["html_last_updated_fmt"] is None, "no date on every page"
    assert final["html_context"]["default_mode"] in ("light", "dark", "auto")


def _stamp(folder: Path, name: str, when: datetime) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.stamp.json"
    path.write_text(json.dumps({"notebook": name, "seconds": 1.0}))
    os.utime(path, (when.timestamp(), when.timestamp()))


def test_the_build_report_states_the_commit_and_the_date_once(isolated_dirs):
    from paper_lib.pipeline.book import build_commit, build_report
    from paper_lib.pipeline.execute import executed_dir

    _stamp(executed_dir("avdigits", "quick"), "01_a", datetime(2026, 3, 4, 23, 0, tzinfo=UTC))
    _stamp(executed_dir("avdigits", "full"), "01_a", datetime(2026, 3, 5, 1, 0, tzinfo=UTC))
    report = build_report()
    sha, dirty = build_commit()
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        head = "unknown"
    assert sha == head
    if head != "unknown":
        assert report.count(f"built from commit `{head}`") == 1
        assert ("with uncommitted changes" in report) == dirty
    # the newest stamp's day, in UTC: no clock time, so an unchanged book stays unchanged
    assert report.count("last ran on 2026-03-05 (UTC)") == 1
    assert build_report() == report


def test_the_build_report_never_fails_outside_git(isolated_dirs, tmp_path, monkeypatch):
    from paper_lib.pipeline.book import build_commit, build_report

    monkeypatch.setattr(paths, "REPO_ROOT", tmp_path)          # not a git checkout
    assert build_commit() == ("unknown", False)
    monkeypatch.setenv("PATH", str(tmp_path))                  # no git at all
    assert build_commit() == ("unknown", False)
    assert "its commit is unknown" in build_report()


@pytest.mark.slow
def test_the_built_book_is_numbered_downloadable_citable_and_dated_once(quick_book):
    html: Path = quick_book["html"]
    pages = [p for p in html.rglob("*.html")
             if not {"_static", "_vendor", "_sources", "_modules"} & set(p.relative_to(html).parts)]
    texts = {p.relative_to(html).as_posix(): p.read_text(encoding="utf-8") for p in pages}
    # problem 9: no thebe configuration script at all (it was written twice into every <head>)
    assert not [p for p, t in texts.items() if "THEBE_JS_URL" in t]
    # the build date and commit: once, in the build report, not in every page's footer
    assert not [p for p, t in texts.items() if "Last updated on" in t]
    stamped = [p for p, t in texts.items() if "built from commit" in t
               or "built outside a git checkout" in t]
    assert stamped == ["book/build_report.html"]
    # numbered sections: a notebook page of the Experiments part has a section number
    main = texts["notebooks/02_main_table.html"]
    assert re.search(r'<h1><span class="section-number">\d+\.\d+\. </span>', main)
    # each notebook page offers its executed notebook to download
    for page, text in texts.items():
        if page.startswith("notebooks/"):
            link = f"../_sources/{page.removesuffix('.html')}.ipynb"
            assert link in text, f"{page}: no download link to {link}"
            assert (html / "notebooks" / link).resolve().is_file()
    # the "How to cite" page, in the table of contents, with both BibTeX entries
    cite = texts["book/cite.html"]
    assert cite.count("highlight-bibtex") == 2 and PAPER_DOI in cite
    assert 'href="cite.html"' in texts["book/intro.html"]    # in the toc (the root page)
