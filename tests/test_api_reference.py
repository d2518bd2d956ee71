"""The API reference (book/api*.md, rendered by Sphinx autodoc) lists every public name of paper_lib.

A name is *public* when
- it is listed in the ``__all__`` of a module or package of paper_lib, or
- it is a class or function whose name does not start with ``_``, defined in (not imported into)
  a module without ``__all__``,
in a module whose dotted path has no part starting with ``_`` (``paper_lib.methods._linalg`` is
private). A name is documented once, in the module that defines it; a package re-exporting names
lists them in a table linking there. Classes and functions carry ``__module__``, constants do not:
a constant is documented where its source gives it a ``#:`` comment (what autodoc reads).

Two checks: on the sources (fast: every public name falls under an ``automodule`` directive that
documents it), and on the rendered HTML of the book the test-suite already builds (the
``quick_book`` fixture): every public name has an entry, with its full dotted name as anchor, on
the page that documents its module.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import paper_lib
from paper_lib.paths import REPO_ROOT

API_PAGES = sorted((REPO_ROOT / "book").glob("api*.md"))
_DIRECTIVE = re.compile(r"^\.\. automodule:: (\S+)\n((?:   :[\w-]+:.*\n)*)", re.MULTILINE)


@dataclass(frozen=True)
class PublicName:
    module: str      # where the name is public
    name: str
    obj: Any

    @property
    def label(self) -> str:
        return f"{self.module}.{self.name}"


def _is_private(dotted: str) -> bool:
    return any(part.startswith("_") for part in dotted.split("."))


def _defines(obj: Any, module: str) -> bool:
    """A class or function (possibly wrapped, e.g. by ``functools.cache``) defined in ``module``."""
    target = inspect.unwrap(obj) if callable(obj) else obj
    return ((inspect.isclass(target) or inspect.isfunction(target))
            and getattr(obj, "__module__", None) == module)


@cache
def public_modules() -> tuple[ModuleType, ...]:
    names = ["paper_lib"] + [m.name for m in pkgutil.walk_packages(paper_lib.__path__,
                                                                    "paper_lib.")]
    return tuple(importlib.import_module(n) for n in sorted(names) if not _is_private(n))


@cache
def public_names() -> tuple[PublicName, ...]:
    found = []
    for mod in public_modules():
        exported = getattr(mod, "__all__", None)
        if exported is not None:
            found += [PublicName(mod.__name__, n, getattr(mod, n)) for n in exported]
        else:
            found += [PublicName(mod.__name__, n, obj) for n, obj in vars(mod).items()
                      if not n.startswith("_") and _defines(obj, mod.__name__)]
    return tuple(found)


@cache
def documented_constants(module: str) -> frozenset[str]:
    """Module-level names with a ``#:`` documentation comment (as autodoc finds them)."""
    from sphinx.pycode import ModuleAnalyzer

    docs = ModuleAnalyzer.for_module(module).find_attr_docs()
    return frozenset(name for (scope, name) in docs if scope == "")


def home(entry: PublicName) -> str | None:
    """The dotted name of the entry documenting ``entry``: its definition for a class or
    function, the module whose ``#:`` comment documents it for a constant."""
    obj = entry.obj
    if inspect.isclass(obj) or callable(obj) and inspect.isfunction(inspect.unwrap(obj)):
        return f"{obj.__module__}.{obj.__qualname__}"
    for mod in public_modules():
        if entry.name in documented_constants(mod.__name__) \
                and getattr(mod, entry.name, None) is obj:
            return f"{mod.__name__}.{entry.name}"
    return None


@dataclass(frozen=True)
class Directive:
    page: str                    # the page's stem, e.g. "api_methods"
    module: str
    members: bool
    excluded: frozenset[str]


def directives() -> list[Directive]:
    found = []
    for page in API_PAGES:
        for m in _DIRECTIVE.finditer(page.read_text()):
            options = dict(re.findall(r":([\w-]+):\s*(.*)", m.group(2)))
            excluded = {x.strip() for x in options.get("exclude-members", "").split(",")}
            found.append(Directive(page.stem, m.group(1), "no-members" not in options,
                                   frozenset(excluded - {""})))
    return found


def documented_by_source() -> dict[str, str]:
    """What the automodule directives document: full dotted name -> page, as autodoc decides
    (members listed in ``__all__`` or public in a module without it, defined in the module, with
    a docstring or, for a constant, a ``#:`` comment; minus ``:exclude-members:``)."""
    out = {}
    for d in directives():
        if not d.members:
            continue
        mod = importlib.import_module(d.module)
        exported = getattr(mod, "__all__", None)
        candidates = exported if exported is not None else [
            n for n in vars(mod) if not n.startswith("_")]
        for name in candidates:
            if name in d.excluded:
                continue
            obj = getattr(mod, name)
            if _defines(obj, d.module):          # a class or function defined there
                if inspect.getdoc(obj):
                    out[f"{d.module}.{name}"] = d.page
            elif name in documented_constants(d.module):
                out[f"{d.module}.{name}"] = d.page
    return out


# -- the reference's own example runs ---------------------------------------------------------
def test_the_first_example_of_the_reference_runs():
    page = (REPO_ROOT / "book" / "api.md").read_text()
    code = re.search(r"```python\n(.*?)```", page, flags=re.DOTALL)
    assert code is not None
    scope: dict[str, Any] = {}
    exec(compile(code.group(1), "book/api.md", "exec"), scope)
    assert scope["Z_audio"].shape == scope["Z_visual"].shape == (100, 3)
    assert set(scope["maps"]) == {"a2v", "v2a"} and min(scope["maps"].values()) > 0.9


# -- the definition of "public" ----------------------------------------------------------------
def test_public_names_follow_the_definition():
    labels = {e.label for e in public_names()}
    # from __all__ (a package re-export, a constant), from a module without __all__ (a class, a
    # function wrapped by functools.cache); private modules and imported names are not public
    assert {"paper_lib.metrics.mean_average_precision", "paper_lib.metrics.DEFAULT_KS",
            "paper_lib.methods.cluster_cca.ClusterCCA", "paper_lib.fingerprint.code_fingerprint",
            "paper_lib.experiment.DIRECTIONS"} <= labels
    assert not any("._" in label for label in labels)
    assert "paper_lib.methods.cca.check_views" not in labels          # imported from _validation
    assert "paper_lib.data.dataset.validate" not in labels             # not in its __all__
    assert len(labels) > 400


# -- the sources: every public name falls under a directive that documents it ----------------
def test_every_api_page_is_in_the_table_of_contents():
    toc = (REPO_ROOT / "_toc.yml").read_text()
    assert API_PAGES and all(f"file: book/{page.stem}\n" in toc for page in API_PAGES)


def test_every_module_is_documented_once():
    listed = [d.module for d in directives()]
    assert len(listed) == len(set(listed)), "a module has two automodule directives"
    public = {m.__name__ for m in public_modules()}
    assert set(listed) - public == set(), "a directive names a missing or private module"
    assert public - set(listed) == set(), "a public module has no automodule directive"


def test_every_public_name_is_documented_in_the_sources():
    documented = documented_by_source()
    missing = sorted(f"{e.label} (documented as {home(e)})" for e in public_names()
                     if home(e) not in documented)
    assert not missing, ("public names without an entry in book/api*.md (add a docstring, a "
                         "`#:` comment for a constant, or the module's directive):\n  "
                         + "\n  ".join(missing))


def test_the_checks_catch_an_undocumented_name(monkeypatch):
    """The source check is not vacuous: a public function without a docstring, or a constant
    without a ``#:`` comment, has no entry."""
    from paper_lib.metrics import retrieval

    monkeypatch.setattr(retrieval.precision_at_k, "__doc__", None)
    assert "paper_lib.metrics.retrieval.precision_at_k" not in documented_by_source()
    undocumented = PublicName("paper_lib.metrics.retrieval", "NOT_DOCUMENTED", object())
    assert home(undocumented) is None


# -- what the estimators' entries say ---------------------------------------------------------
def _sections(doc: str) -> dict[str, str]:
    """NumPy-style sections of a docstring: title -> body."""
    parts = re.split(r"^([A-Z]\w+)\n-{3,}\n", doc, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _estimator_classes() -> list[type]:
    from paper_lib.methods.registry import METHODS

    classes = {type(spec.build(2, 0, 1)) for spec in METHODS.values()}
    return sorted(classes, key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", _estimator_classes(), ids=lambda c: c.__name__)
def test_each_estimator_states_its_parameters_attributes_references_and_an_example(cls):
    sections = _sections(inspect.getdoc(cls) or "")
    assert {"Parameters", "Attributes", "References", "Examples"} <= set(sections), cls
    documented = set(re.findall(r"^(\w+) :", sections["Parameters"], flags=re.MULTILINE))
    assert documented == set(cls().get_params()), "Parameters differ from the constructor's"
    assert ">>> " in sections["Examples"]


def _tiny_dataset():
    from paper_lib.data.synthetic import make_synthetic

    return make_synthetic(seed=0, n_classes=3, n_per_class=20, d_audio=6, d_visual=8,
                          max_seconds=3, use_cache=False)


@pytest.mark.parametrize("cls", _estimator_classes(), ids=lambda c: c.__name__)
def test_each_estimators_documented_attributes_are_what_fit_sets(cls):
    """The Attributes section names exactly the public fitted attributes (ending in ``_``)."""
    ds = _tiny_dataset()
    est = cls()
    small = {k: v for k, v in {"n_components": 2, "epochs": 1, "n_bits": 8, "hidden": 16,
                               "emb_dim": 16, "pool_ratio": 5, "max_seconds": 3}.items()
             if k in est.get_params()}
    if "hidden" in small and isinstance(est.get_params()["hidden"], tuple):
        small["hidden"] = (16,)
    est.set_params(**small)
    if est.input_kind == "media":             # raw media: small spectrogram- and image-like arrays
        rng = np.random.default_rng(0)
        est.set_params(audio_channels=(4,), visual_channels=(4,), embedding_dim=8)
        est.fit(rng.normal(size=(60, 12, 8)), rng.uniform(size=(60, 8, 8)), ds.labels[:60])
    elif est.input_kind == "sequence":
        est.fit(ds.audio_seq, ds.visual_seq, ds.labels, lengths=ds.seq_len)
    else:
        est.fit(ds.audio, ds.visual, ds.labels)
    fitted = {k for k in vars(est) if k.endswith("_") and not k.startswith("_")}
    section = _sections(inspect.getdoc(cls) or "")["Attributes"]
    documented = set(re.findall(r"^(\w+_) :", section, flags=re.MULTILINE))
    assert documented == fitted


# -- the rendered HTML -------------------------------------------------------------------------
def _anchors(html: Path) -> dict[str, set[str]]:
    """Every object entry of the API pages: page stem -> the ids of its ``<dt>`` signatures."""
    out = {}
    for page in sorted((html / "book").glob("api*.html")):
        text = page.read_text(encoding="utf-8")
        out[page.stem] = set(re.findall(r'<dt class="sig sig-object py"[^>]*\bid="([^"]+)"', text))
    return out


def _resolve(dotted: str) -> Any:
    """The object called ``dotted`` (longest importable module prefix, then attributes)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


@pytest.mark.slow
def test_the_rendered_reference_lists_every_public_name(quick_book):
    anchors = _anchors(quick_book["html"])
    assert set(anchors) == {page.stem for page in API_PAGES}
    where = documented_by_source()
    missing, misplaced = [], []
    for entry in public_names():
        target = home(entry)
        pages = [page for page, ids in anchors.items() if target in ids]
        if not pages:
            missing.append(f"{entry.label} (anchor {target})")
        elif pages != [where.get(target)]:
            misplaced.append(f"{entry.label}: on {pages}, expected {where.get(target)}")
        elif _resolve(target) is not entry.obj:
            misplaced.append(f"{entry.label}: the anchor {target} is another object")
    assert not missing, "public names without an entry in the HTML:\n  " + "\n  ".join(missing)
    assert not misplaced, "\n".join(misplaced)


def _entry(page: str, anchor: str) -> str:
    """The HTML of the ``<dl>`` element whose signature carries ``id="anchor"``."""
    at = page.index(f'id="{anchor}"')
    start = page.rindex("<dl", 0, at)
    depth = 0
    for tag in re.finditer(r"<dl\b|</dl>", page[start:]):
        depth += 1 if tag.group() == "<dl" else -1
        if depth == 0:
            return page[start:start + tag.end()]
    raise AssertionError(f"unterminated entry {anchor}")


@pytest.mark.slow
def test_the_rendered_estimator_entries_show_their_sections_and_source(quick_book):
    page = (quick_book["html"] / "book" / "api_methods.html").read_text(encoding="utf-8")
    for cls in _estimator_classes():
        entry = _entry(page, f"{cls.__module__}.{cls.__qualname__}")
        for rubric in ("Parameters", "Attributes", "References", "Examples"):
            assert re.search(rf">{rubric}\b", entry), f"{cls.__name__}: no {rubric}"
        assert "viewcode-link" in entry, f"{cls.__name__}: no link to its source"
        assert "n_components_" in entry
