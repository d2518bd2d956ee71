"""The papermill -> Jupyter Book pipeline, end to end on the embedded `synthetic` data (quick)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from fixtures_data import write_vegas_h5

from paper_lib.data.locate import dataset_status
from paper_lib.errors import DataError
from paper_lib.pipeline import execute
from paper_lib.pipeline.book import broken_internal_links, remote_references
from paper_lib.pipeline.execute import NotebookFailed, notebook_sources, run_notebook

BROKEN = '''# %% tags=["parameters"]
x = 1

# %%
y = x + 1

# %%
raise RuntimeError("deliberate failure in cell three")
'''


def test_a_failing_notebook_keeps_its_partial_output_and_reports_the_cell(tmp_path):
    source = tmp_path / "99_broken.py"
    source.write_text(BROKEN)
    output = tmp_path / "out" / "99_broken.ipynb"
    with pytest.raises(NotebookFailed) as err:
        run_notebook(source, output, {"x": 5})
    assert "deliberate failure in cell three" in err.value.traceback
    assert not output.exists()
    partial = json.loads(err.value.partial.read_text())
    outputs = [c.get("outputs") for c in partial["cells"] if c["cell_type"] == "code"]
    assert any(o for o in outputs)  # the cells before the failure ran
    assert source.read_text() == BROKEN  # the source is never written to


def test_cache_key_follows_every_input(tmp_path):
    source = tmp_path / "01_x.py"
    source.write_text("a = 1\n")
    k0 = execute.input_key(source, {"profile": "quick"}, "embedded:synthetic")
    assert k0 == execute.input_key(source, {"profile": "quick"}, "embedded:synthetic")
    assert k0 != execute.input_key(source, {"profile": "full"}, "embedded:synthetic")
    assert k0 != execute.input_key(source, {"profile": "quick"}, "embedded:avdigits")
    source.write_text("a = 2\n")
    assert k0 != execute.input_key(source, {"profile": "quick"}, "embedded:synthetic")


def test_real_data_fingerprint_changes_with_the_files(tmp_path):
    root = tmp_path / "vegas"
    root.mkdir()
    (root / "a.txt").write_text("1")
    f0 = execute.data_fingerprint("vegas", str(tmp_path))
    (root / "b.txt").write_text("2")
    assert execute.data_fingerprint("vegas", str(tmp_path)) != f0


def _touch_data(path: Path) -> None:
    """Change a data file's content and size (and so its modification time)."""
    with path.open("ab") as f:
        f.write(b"\0" * 4096)


def test_data_fingerprint_of_the_datasets_own_folder_follows_its_files(tmp_path):
    """``--data-dir`` may name the dataset's own folder (the data layer accepts it): the
    fingerprint must hash that folder's files, not a non-existent ``<folder>/vegas``."""
    own = tmp_path / "vegas_own_folder"
    h5 = own / "vegas_feature.h5"
    write_vegas_h5(h5)
    assert dataset_status("vegas", str(own))["present"]       # the data layer finds it here
    f0 = execute.data_fingerprint("vegas", str(own))
    _touch_data(h5)
    assert execute.data_fingerprint("vegas", str(own)) != f0, "changed data, same fingerprint"


def test_data_fingerprint_same_files_from_the_root_or_the_own_folder(tmp_path):
    root = tmp_path / "data"
    h5 = root / "vegas" / "vegas_feature.h5"
    write_vegas_h5(h5)
    via_root = execute.data_fingerprint("vegas", str(root))
    via_own = execute.data_fingerprint("vegas", str(root / "vegas"))
    assert via_root == via_own                                 # one folder, one identity
    empty = tmp_path / "empty"
    empty.mkdir()
    assert via_root != execute.data_fingerprint("vegas", str(empty))   # the files are seen
    _touch_data(h5)
    assert execute.data_fingerprint("vegas", str(root)) != via_root
    assert execute.data_fingerprint("vegas", str(root / "vegas")) != via_own


def test_check_data_present_accepts_the_root_or_the_own_folder(tmp_path):
    root = tmp_path / "data"
    write_vegas_h5(root / "vegas" / "vegas_feature.h5")
    execute.check_data_present("vegas", str(root))
    execute.check_data_present("vegas", str(root / "vegas"))
    with pytest.raises(DataError, match="VEGAS not found"):
        execute.check_data_present("vegas", str(tmp_path / "nowhere"))


@pytest.mark.slow
def test_quick_book_end_to_end(quick_book):
    outcomes, logs = quick_book["outcomes"], quick_book["logs"]
    assert [o.notebook for o in outcomes] == [s.stem for s in notebook_sources()]
    assert all(o.status == "executed" for o in outcomes)
    assert any(" left; running: " in line for line in logs)  # progress: left, and running now
    # every notebook wrote results with provenance
    provs = list(quick_book["results"].glob("*/provenance.json"))
    assert len(provs) == len(outcomes)
    for prov in provs:
        rec = json.loads(prov.read_text())
        assert rec["parameters"]["profile"] == "quick"
        # the Performance page reads the benchmarks' CSVs, not the dataset
        assert len(rec["dataset"]["sha256"]) == 64 or (
            rec["notebook"] == "performance" and rec["dataset"]["sha256"] == "not loaded")
        assert rec["git_commit"]
        assert rec["packages"]["torch"].startswith("2.13.0") and rec["wall_time_s"] > 0
        for name in rec["files"]:
            assert (prov.parent / name).is_file()

    html: Path = quick_book["html"]
    assert (html / "index.html").is_file()
    assert remote_references(html) == []
    assert broken_internal_links(html) == []
    assert (html / "_vendor" / "mathjax" / "tex-chtml.js").is_file()
    assert "_vendor/mathjax/tex-chtml.js" in (html / "book" / "method.html").read_text()
    # the parameter cells are removed from the page, which states the resolved values once
    overview = (html / "notebooks" / "01_data_overview.html").read_text()
    assert "injected-parameters" not in overview and 'profile = "' not in overview
    assert overview.count("Run with:") == 1 and "profile <strong>quick</strong>" in overview
    # every page closes with its notebook and its source to download (links checked above)
    from paper_lib.pipeline.execute import FILES_HEADING

    assert FILES_HEADING in overview
    assert re.search(r'href="[^"]*/01_data_overview\.py"', overview)
    assert re.search(r'href="[^"]*/01_data_overview\.ipynb"', overview)

    # a second run with nothing changed re-executes nothing and skips the HTML build
    assert all(o.status == "cached" for o in quick_book["again"])
    assert logs[-1].startswith("book: unchanged")


def test_link_checkers(tmp_path):
    """remote_references flags network loads, not data: URIs; broken relative links are found."""
    page = tmp_path / "p.html"
    page.write_text('<script src="_static/x.js"></script><audio src="data:audio/wav;base64,AA">'
                    '<link href="https://cdn.example/x.css" rel="stylesheet">')
    found = remote_references(Path(tmp_path))
    assert len(found) == 1 and "cdn.example" in found[0]
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "x.js").write_text("")
    (tmp_path / "q.html").write_text('<a href="p.html#top">ok</a><a href="missing.html">no</a>'
                                     '<a href="mailto:x@y.z">m</a>')
    assert broken_internal_links(tmp_path) == ["q.html -> missing.html"]


def test_tree_digest_follows_content_even_inside_a_build_folder(tmp_path):
    from paper_lib.pipeline.book import tree_digest

    src = tmp_path / "_build" / "src"  # the staging tree lives under _build itself
    (src / "book").mkdir(parents=True)
    (src / "book" / "a.md").write_text("one")
    (src / "_build" / "html").mkdir(parents=True)
    (src / "_build" / "html" / "x.html").write_text("output")
    d0 = tree_digest(src)
    (src / "_build" / "html" / "x.html").write_text("other output")  # build output: ignored
    assert tree_digest(src) == d0
    (src / "book" / "a.md").write_text("two")
    assert tree_digest(src) != d0


def test_no_executed_cell_prints_a_path_or_a_stray_value(quick_book):
    """A reader sees every cell output: no Python repr of a path (the build machine's) and no bare
    value left by a cell ending in ``run.glue`` or ``run.save_figure``."""
    stray = []
    for nb_path in sorted(quick_book["executed"].glob("*.ipynb")):
        nb = json.loads(nb_path.read_text())
        for i, cell in enumerate(nb["cells"]):
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                text = "".join(data.get("text/plain", [])) + "".join(out.get("text", []))
                plain_only = out.get("output_type") == "execute_result" and set(data) == {
                    "text/plain"}
                if "PosixPath(" in text or str(quick_book["dirs"]["results"]) in text \
                        or plain_only:
                    stray.append(f"{nb_path.name} cell {i}: {text[:80]!r}")
    assert not stray, "\n".join(stray)


HANGS = '''# %% tags=["parameters"]
x = 1

# %%
import time
time.sleep(120)
'''


def test_item9_a_hung_cell_fails_its_notebook_at_the_cell_timeout(tmp_path):
    """Issue 14, item 9: a hung kernel is a clear failure after the timeout, not a wait for CI."""
    source = tmp_path / "98_hangs.py"
    source.write_text(HANGS)
    output = tmp_path / "out" / "98_hangs.ipynb"
    t0 = time.perf_counter()
    with pytest.raises(NotebookFailed) as err:
        run_notebook(source, output, {"x": 5}, cell_timeout=3)
    assert time.perf_counter() - t0 < 60
    assert "ran longer than the cell timeout (3 s" in err.value.traceback, err.value.traceback
    assert not output.exists()


def test_the_cell_timeout_must_be_positive():
    from paper_lib.errors import ParamError
    from paper_lib.pipeline.execute import reproduce

    with pytest.raises(ParamError, match="cell-timeout: must be a positive number"):
        reproduce("synthetic", "quick", cell_timeout=0)
