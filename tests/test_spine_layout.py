"""The repository's contract: layout, pinned environment, table of contents, notebook sources."""

from __future__ import annotations

import re
import subprocess

import jupytext
import yaml

from paper_lib.paths import REPO_ROOT
from paper_lib.pipeline.execute import notebook_sources


def _requirements() -> dict[str, str]:
    pins = {}
    for line in (REPO_ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            assert "==" in line, f"requirements.txt: {line!r} is not pinned with =="
            name, version = line.split("==", 1)
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_every_requirement_is_pinned_and_torch_is_the_cpu_release():
    pins = _requirements()
    assert pins["torch"] == "2.13.0"
    for needed in ("jupyter-book", "jupytext", "papermill", "numpy", "scipy", "h5py", "pandas",
                   "seaborn", "scikit-learn", "django-static-mathjax"):
        assert needed in pins, f"{needed} missing from requirements.txt"
    assert int(pins["jupyter-book"].split(".")[0]) == 1, "Jupyter Book 2 cannot build offline"


def test_environment_yml_describes_the_same_environment():
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert "-r requirements.txt" in pip_section
    # nothing pinned twice: every package of the conda file comes from requirements.txt
    conda_pkgs = [d for d in deps if isinstance(d, str)]
    assert set(conda_pkgs) <= {"python=3.11", "pip"}, conda_pkgs
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.11"' in pyproject


def test_layout_of_the_design_card():
    for path in ("book", "notebooks", "paper_lib", "data_manifest", "tests", "environment.yml",
                 "_config.yml", "_toc.yml", "README.md", "Makefile", ".ci/run",
                 "book/references.bib", "pyproject.toml", "requirements.txt"):
        assert (REPO_ROOT / path).exists(), path


def test_no_ipynb_is_committed():
    tracked = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=REPO_ROOT, capture_output=True,
                             text=True).stdout.split()
    assert tracked == []


def _toc_files(entries) -> list[str]:
    out = []
    for e in entries:
        if "file" in e:
            out.append(e["file"])
        for key in ("sections", "chapters", "parts"):
            out += _toc_files(e.get(key, []))
    return out


def test_toc_entries_exist_and_every_source_is_in_the_toc():
    toc = yaml.safe_load((REPO_ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + _toc_files(toc["parts"])
    assert len(files) == len(set(files)), "duplicate toc entry"
    generated = {"book/build_report", "book/choices_index"}  # written by the build from execution stamps
    for f in files:
        if f in generated:
            continue
        assert (REPO_ROOT / f"{f}.md").is_file() or (REPO_ROOT / f"{f}.py").is_file(), f
    sources = {f"book/{p.stem}" for p in (REPO_ROOT / "book").glob("*.md")}
    sources |= {f"notebooks/{p.stem}" for p in notebook_sources()}
    assert sources <= set(files), f"not in _toc.yml: {sorted(sources - set(files))}"


def test_chapters_in_the_papers_order():
    toc = yaml.safe_load((REPO_ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + _toc_files(toc["parts"])
    order = ["book/intro", "book/method", "book/data", "book/experiments", "book/real_data",
             "book/performance", "book/references"]
    positions = [files.index(f) for f in order]
    assert positions == sorted(positions)


def test_every_notebook_has_a_parameters_cell_with_the_common_parameters():
    for source in notebook_sources():
        nb = jupytext.read(source)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{source.name}: needs exactly one cell tagged parameters"
        names = set(re.findall(r"^(\w+)\s*=", tagged[0].source, flags=re.M))
        assert {"dataset", "profile", "seed", "folds", "data_dir"} <= names, source.name


def test_ci_runs_the_readme_test_command_and_fails_on_no_tests():
    ci = (REPO_ROOT / ".ci/run").read_text()
    assert "make test" in ci
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "-eq 5" in makefile and "-eq 5" in ci
    readme = (REPO_ROOT / "README.md").read_text()
    assert "make book" in readme and "make test" in readme and "_build/html" in readme
