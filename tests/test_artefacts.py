"""Every artefact of the paper has a notebook, a _toc.yml entry, its results after a quick run,
and every glue key quoted in the prose exists."""

from __future__ import annotations

import json
import re

import jupytext
import pytest
import yaml

from paper_lib.paths import REPO_ROOT
from paper_lib.pipeline.artefacts import ARTEFACTS
from paper_lib.pipeline.execute import notebook_sources

GLUE_REF = re.compile(r"\{glue:?(?:text|figure|md|math)?\}`([^`]+)`|```\{glue:figure\}\s+(\S+)")


def _toc_files() -> list[str]:
    def walk(entries):
        for e in entries:
            if "file" in e:
                yield e["file"]
            for key in ("sections", "chapters", "parts"):
                yield from walk(e.get(key, []))
    toc = yaml.safe_load((REPO_ROOT / "_toc.yml").read_text())
    return [toc["root"], *walk(toc["parts"])]


@pytest.mark.parametrize("art", ARTEFACTS, ids=lambda a: a.name)
def test_artefact_has_a_notebook_that_writes_under_its_name_and_a_toc_entry(art):
    source = REPO_ROOT / "notebooks" / f"{art.notebook}.py"
    assert source.is_file(), f"missing notebook {source}"
    assert f'start("{art.name}"' in source.read_text()
    assert f"notebooks/{art.notebook}" in _toc_files()


def test_artefacts_are_in_the_papers_order_in_the_toc():
    files = _toc_files()
    positions = [files.index(f"notebooks/{a.notebook}") for a in ARTEFACTS]
    assert positions == sorted(positions)


def _glue_refs(text: str) -> set[str]:
    return {a or b for a, b in GLUE_REF.findall(text)}


def _glued_keys(executed_notebook) -> set[str]:
    nb = json.loads(executed_notebook.read_text())
    keys = set()
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            scrap = out.get("metadata", {}).get("scrapbook", {})
            if "name" in scrap:
                keys.add(scrap["name"])
    return keys


def test_glue_reference_parser():
    text = "MAP {glue:text}`main_a2v:.3f` and {glue:}`n` and\n```{glue:figure} fig_key\n```"
    assert _glue_refs(text) == {"main_a2v:.3f", "n", "fig_key"}


@pytest.mark.slow
def test_every_artefact_writes_its_results_in_a_quick_run(quick_book):
    for art in ARTEFACTS:
        folder = quick_book["results"] / art.name
        for name in art.results:
            assert (folder / name).is_file(), f"{art.notebook} did not write {name}"
        assert (folder / "provenance.json").is_file()


@pytest.mark.slow
def test_every_glue_key_used_in_the_prose_exists(quick_book):
    executed = {p.stem: _glued_keys(p) for p in quick_book["executed"].glob("*.ipynb")
                if not p.name.endswith(".failed.ipynb")}
    all_keys = set().union(*executed.values())
    missing = []
    for md in sorted((REPO_ROOT / "book").glob("*.md")):
        for ref in _glue_refs(md.read_text()):
            doc, _, key = ref.rpartition("::")
            key = key.split(":")[0]
            pool = executed.get(doc.split("/")[-1], set()) if doc else all_keys
            if key not in pool:
                missing.append(f"{md.name}: {ref}")
    for source in notebook_sources():
        nb = jupytext.read(source)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        for ref in _glue_refs(text):
            doc, _, key = ref.rpartition("::")
            key = key.split(":")[0]
            pool = executed.get(doc.split("/")[-1], set()) if doc else executed.get(source.stem, set())
            if key not in pool:
                missing.append(f"{source.name}: {ref}")
    assert missing == []
