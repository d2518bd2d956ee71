"""The page "Using this book in a course" (book/course.md), read from its Markdown source: the
lecture plan's timings, the glossary, the quiz and its solutions, and that every cross-reference,
command and file path it gives exists; the quiz's exact arithmetic is checked against brute force
and the library."""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from itertools import product
from pathlib import Path

import numpy as np
import pytest
import torch

from paper_lib.cli import _parse_param
from paper_lib.methods.cluster_cca import cluster_covariances
from paper_lib.methods.triplet import BatchAllMiner, BatchHardMiner
from paper_lib.metrics import average_precision
from paper_lib.paths import REPO_ROOT
from paper_lib.pipeline import present
from paper_lib.pipeline.execute import notebook_sources
from paper_lib.pipeline.params import COMMON_KNOBS, notebook_knobs

PAGE = REPO_ROOT / "book" / "course.md"
#: the timed plan: the two lectures and the lab, 90 minutes each
PLAN_TABLES = ("tbl-course-lecture-1", "tbl-course-lecture-2", "tbl-course-lab")
LESSON_MINUTES = 90
N_QUIZ = 10
MIN_GLOSSARY = 20
#: terms the glossary must define (a term matches when it starts with one of these)
REQUIRED_TERMS = ("CCA", "canonical correlation", "whitening", "ridge", "PLS", "Cluster-CCA",
                  "C-CCA (Rasiwasia)", "C-CCA (β = 0.2)", "within-class correspondence",
                  "triplet", "anchor, positive, negative", "margin", "hinge", "active triplet",
                  "batch-all mining", "semi-hard", "query", "gallery", "AP", "MAP", "fold",
                  "held-out", "leakage", "modality gap")
_FENCE = re.compile(r"^:::\{(?P<kind>[\w-]+)\}(?P<arg>[^\n]*)\n(?P<body>.*?)^:::[ \t]*$",
                    re.M | re.S)
_ROLE = re.compile(r"\{(?P<role>doc|ref|numref|cite:p|cite:t)\}`(?P<text>[^`]*)`")


# -- reading the page ------------------------------------------------------------------------------
@cache
def _text() -> str:
    return PAGE.read_text(encoding="utf-8")


def _blocks(kind: str) -> list[dict[str, object]]:
    """The colon-fenced ``{kind}`` directives of the page: argument, options and body."""
    out = []
    for m in _FENCE.finditer(_text()):
        if m["kind"] != kind:
            continue
        lines = m["body"].split("\n")
        options = {}
        while lines and (opt := re.match(r"^:(\w+):\s*(.*)$", lines[0])):
            options[opt[1]] = opt[2].strip()
            lines.pop(0)
        out.append({"arg": m["arg"].strip(), "options": options,
                    "body": "\n".join(lines).strip()})
    return out


def _table(name: str) -> tuple[list[str], list[list[str]]]:
    """The header and rows of the page's table named ``name``."""
    (block,) = [b for b in _blocks("table") if b["options"].get("name") == name]
    lines = [ln for ln in str(block["body"]).split("\n") if ln.startswith("|")]
    cells = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines]
    return cells[0], cells[2:]


def _section(title: str) -> str:
    """The page's text under ``## title``, up to the next second-level heading."""
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", _text(), re.M | re.S)
    assert m, f"course.md: no section '## {title}'"
    return m[1]


def _glossary() -> dict[str, str]:
    """The glossary's definition list: term -> definition (its lines joined)."""
    lines = _section("Glossary").split("\n")
    terms: dict[str, str] = {}
    current = None
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line and not line.startswith((":", " ")) and nxt.startswith(": "):
            current = line.strip()
            terms[current] = ""
        elif current is not None and line.startswith((": ", "  ")):
            terms[current] = (terms[current] + " " + line.lstrip(": ").strip()).strip()
        elif not line.strip():
            continue
        else:
            current = None
    return terms


def _solution(n: int) -> str:
    (block,) = [b for b in _blocks("solution") if b["arg"] == f"ex-course-quiz-{n}"]
    return str(block["body"])


def _sentences(text: str) -> int:
    """How many sentences ``text`` has (roles and maths removed, so their dots do not count)."""
    plain = re.sub(r"\$[^$]*\$", "x", _ROLE.sub("x", text))
    return len(re.findall(r"[.!?](?=\s+[A-Z(`]|\s*$)", plain.strip()))


# -- what the book defines -----------------------------------------------------------------------
@dataclass(frozen=True)
class _Notebook:
    """What the course page may cite of one notebook (read from its jupytext source)."""

    start: str                  # the name it passes to start(): its results folder
    figures: frozenset[str]     # the names of its run.figure calls
    tables: frozenset[str]      # the names of its run.table calls
    params: frozenset[str]      # the names its parameters cell declares
    headings: frozenset[str]    # its section titles
    text: str


@cache
def _notebooks() -> dict[str, _Notebook]:
    """Every notebook of the book, by file stem."""
    out: dict[str, _Notebook] = {}
    for source in notebook_sources():
        text = source.read_text(encoding="utf-8")
        start, figures, tables = "", set(), set()
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0] if node.args else None
            second = node.args[1] if len(node.args) > 1 else None
            if name == "start" and isinstance(first, ast.Constant):
                start = str(first.value)
            elif name in ("figure", "table") and isinstance(second, ast.Constant):
                (figures if name == "figure" else tables).add(str(second.value))
        cell = re.search(r'^# %% tags=\["parameters"\]\n(.*?)(?=^# %%|\Z)', text, re.M | re.S)
        params = set(re.findall(r"^(\w+)\s*=", cell[1], re.M)) if cell else set()
        headings = set(re.findall(r"^# #{1,4} (.+?)\s*$", text, re.M))
        out[source.stem] = _Notebook(start, frozenset(figures), frozenset(tables),
                                     frozenset(params), frozenset(headings), text)
    return out


@cache
def _labels() -> set[str]:
    """Every figure/table label of the book (notebooks' run.figure/run.table, the prose's
    ``:name:``), every ``(target)=`` and every exercise ``:label:``."""
    labels: set[str] = set()
    for nb in _notebooks().values():
        labels |= {present.label("fig", nb.start, n) for n in nb.figures}
        labels |= {present.label("tbl", nb.start, n) for n in nb.tables}
    texts = [nb.text for nb in _notebooks().values()]
    texts += [p.read_text(encoding="utf-8") for p in (REPO_ROOT / "book").glob("*.md")]
    for text in texts:
        labels |= set(re.findall(r"^#?\s*:name:\s*(\S+)\s*$", text, re.M))
        labels |= set(re.findall(r"^#?\s*\(([\w-]+)\)=\s*$", text, re.M))
        labels |= set(re.findall(r"^#?\s*:label:\s*(\S+)\s*$", text, re.M))
    return labels


def _role_targets(role: str) -> list[str]:
    """The targets of every ``{role}`...``` of the page (``text <target>`` or ``target``)."""
    out = []
    for m in _ROLE.finditer(_text()):
        if m["role"] == role:
            inner = re.search(r"<([^>]+)>\s*$", m["text"])
            out.append(inner[1] if inner else m["text"].strip())
    return out


# -- structure ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", PLAN_TABLES)
def test_each_lesson_of_the_plan_sums_to_90_minutes(name):
    header, rows = _table(name)
    assert header[0] == "minutes", f"{name}: the first column gives the minutes of each block"
    minutes = [int(r[0]) for r in rows]
    assert all(m > 0 for m in minutes) and len(minutes) >= 4
    assert sum(minutes) == LESSON_MINUTES, f"{name}: {minutes} sums to {sum(minutes)}"


@pytest.mark.parametrize("name", PLAN_TABLES[:2])
def test_every_lecture_block_names_a_chapter_section_and_what_to_show(name):
    header, rows = _table(name)
    assert header == ["minutes", "block", "chapter section", "show"]
    for row in rows:
        assert "{doc}`" in row[2], f"{name}: block {row[1]!r} names no chapter"
        assert "{numref}`" in row[3], f"{name}: block {row[1]!r} shows no figure or table"


def test_every_table_is_numbered_captioned_and_named():
    tables = _blocks("table")
    assert len(tables) >= 4
    for t in tables:
        assert str(t["options"].get("name", "")).startswith("tbl-course-"), t["options"]
        assert len(str(t["arg"])) > 20 and str(t["arg"]).endswith("."), t["arg"]
    # no pipe table outside a {table} block
    outside = _FENCE.sub("", _text())
    assert not re.search(r"^\|", outside, re.M), "a pipe table without a numbered caption"


def test_the_glossary_defines_at_least_20_terms_each_linking_its_chapter():
    terms = _glossary()
    assert len(terms) >= MIN_GLOSSARY, f"{len(terms)} glossary terms"
    for required in REQUIRED_TERMS:
        assert any(t == required or t.startswith((required + " ", required + ","))
                   for t in terms), f"glossary: no entry for {required!r}"
    for term, definition in terms.items():
        assert "{doc}`" in definition, f"glossary: {term!r} links no chapter"
        assert 1 <= _sentences(definition) <= 2, f"glossary: {term!r} is not one or two sentences"


def test_the_quiz_has_ten_exercises_each_with_a_dropdown_solution():
    exercises = _blocks("exercise")
    labels = [e["options"].get("label") for e in exercises]
    assert labels == [f"ex-course-quiz-{n}" for n in range(1, N_QUIZ + 1)]
    solutions = _blocks("solution")
    assert sorted(s["arg"] for s in solutions) == sorted(labels), "one solution per exercise"
    for s in solutions:
        assert s["options"].get("class") == "dropdown", f"{s['arg']}: not in a dropdown"
        assert len(str(s["body"])) > 200, f"{s['arg']}: the answer is too short"
    for e in exercises:
        assert str(e["body"]).rstrip().endswith("?"), f"{e['options']['label']}: not a question"


# -- every reference resolves ------------------------------------------------------------------
def test_every_doc_target_exists():
    targets = _role_targets("doc")
    assert len(set(targets)) >= 10
    for target in targets:
        path = (PAGE.parent / target).resolve()
        assert path.with_suffix(".md").is_file() or path.with_suffix(".py").is_file(), target


def test_every_numref_and_ref_target_is_defined_in_the_book():
    cited = _role_targets("numref") + _role_targets("ref")
    assert cited
    missing = sorted(set(cited) - _labels())
    assert not missing, f"course.md cites labels that no page defines: {missing}"


def test_a_ref_to_a_target_that_is_not_a_heading_gives_its_text():
    """Sphinx finds no title for a label before a box (an admonition): ``{ref}`label``` then
    fails the strict build, ``{ref}`text <label>``` does not."""
    texts = [nb.text for nb in _notebooks().values()]
    texts += [p.read_text(encoding="utf-8") for p in (REPO_ROOT / "book").glob("*.md")]
    before_heading = set()
    for text in texts:
        before_heading |= set(re.findall(r"^#?\s*\(([\w-]+)\)=\s*\n#?\s*#+ ", text, re.M))
    bare = [m["text"] for m in _ROLE.finditer(_text())
            if m["role"] == "ref" and "<" not in m["text"]]
    assert bare, "the page refers to its own section on figures"
    for label in bare:
        assert label.strip() in before_heading, f"{{ref}}`{label}`: give the link a text"


def test_every_chapter_section_named_in_the_plan_exists():
    named = re.findall(r"\{doc\}`\.\./notebooks/(\w+)`((?:,? § \*[^*]+\*)+)", _text())
    assert len(named) >= 12
    for stem, sections in named:
        for title in re.findall(r"§ \*([^*]+)\*", sections):
            assert title in _notebooks()[stem].headings, f"{stem}: no section {title!r}"


def test_every_command_runs_real_notebooks_with_knobs_they_take():
    knobs = notebook_knobs()
    common = {k.name for k in COMMON_KNOBS}
    commands = re.findall(r"paper-lib (?:reproduce|book)[^`\n]*", _text())
    assert len(commands) >= 5
    for command in commands:
        args = shlex.split(command.replace("\\", ""))
        only = [args[i + 1] for i, a in enumerate(args) if a == "--only"]
        params = [args[i + 1] for i, a in enumerate(args) if a == "-p"]
        for stem in only:
            assert stem in _notebooks(), f"{command}: no notebook {stem}"
        for param in params:
            if "<" in param:           # a placeholder: "-p <knob>=<value>"
                continue
            name, value = _parse_param(param)
            assert name in knobs or name in common, f"{command}: no knob {name!r}"
            if name in knobs:
                chosen = knobs[name].resolve("quick", value)   # raises if the value is invalid
                assert chosen != knobs[name].resolve("quick"), \
                    f"{command}: {name}={value} is the default: the re-run would change nothing"
            for stem in only:
                assert name in _notebooks()[stem].params, \
                    f"{command}: {stem} has no parameter {name!r}"


def test_the_shared_knob_example_is_taken_by_both_notebooks():
    m = re.search(r"`(\w+)`, for example, is taken\s+both by chapter (\d+) and by\s+"
                  r"\{doc\}`\.\./notebooks/(\w+)`", _text())
    assert m, "the page gives an example of a knob that two notebooks share"
    knob, chapter, other = m.groups()
    (stem,) = [s for s in _notebooks() if s.startswith(f"{chapter}_")]
    assert knob in _notebooks()[stem].params and knob in _notebooks()[other].params


def test_every_results_path_is_a_file_a_chapter_writes():
    by_start = {nb.start: nb for nb in _notebooks().values()}
    paths = re.findall(r"results/avdigits-pretrained-(?:quick|full)/(\w+)/(?:(\w+)\.(png|svg|csv))?",
                       _text())
    assert len(paths) >= 3
    for folder, name, ext in paths:
        assert folder in by_start, f"results/…/{folder}/: no notebook starts with that name"
        if name:
            written = by_start[folder].tables if ext == "csv" else by_start[folder].figures
            assert name in written, f"{folder} writes no {name}.{ext}"
    _, rows = _table("tbl-course-figure-files")
    for _, source, folder, example in rows:
        stem = Path(source.strip("`")).stem
        nb = _notebooks()[stem]
        assert folder.strip("`") == f"{nb.start}/", f"{stem}: folder {folder}"
        assert Path(example.strip("`")).stem in nb.figures, f"{stem}: no figure {example}"


def test_the_page_uses_the_books_notation_and_method_names():
    text = _text()
    bare = re.findall(r"(?<![\w-])C-CCA(?! \((?:Rasiwasia|β = 0\.2)\))", text)
    assert not bare, "a bare 'C-CCA': say 'C-CCA (Rasiwasia)' or 'C-CCA (β = 0.2)'"
    for old in ("\\kappa", "κ", "\\rVert_2", "\\mu_c", "μ_c", "Sigma_{xy}^{\\text"):
        assert old not in text, f"notation: {old!r} is not the book's notation"
    assert "{doc}`notation`" in text


# -- the quiz's arithmetic ---------------------------------------------------------------------
def test_quiz_4_counts_pairs_and_within_class_correspondences():
    labels = np.array([0, 0, 0, 1, 1, 2])
    brute = sum(1 for i, j in product(range(labels.size), repeat=2) if labels[i] == labels[j])
    assert brute == 14 and labels.size == 6
    answer = _solution(4)
    assert f"N = 3 + 2 + 1 = {labels.size}" in answer
    assert f"= 9 + 4 + 1 = {brute}" in answer


def test_quiz_5_rank_bound_with_and_without_centring():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), [5, 3, 6, 4])
    Xa, Xv = rng.normal(size=(labels.size, 6)), rng.normal(size=(labels.size, 5))
    C = np.unique(labels).size
    centred = cluster_covariances(Xa, Xv, labels, 1e-4, "rasiwasia")[2]
    sums_a = np.stack([Xa[labels == c].sum(axis=0) for c in range(C)])
    sums_v = np.stack([Xv[labels == c].sum(axis=0) for c in range(C)])
    uncentred = sums_a.T @ sums_v / np.sum(np.bincount(labels) ** 2)
    assert np.linalg.matrix_rank(centred, tol=1e-10) == C - 1
    assert np.linalg.matrix_rank(uncentred, tol=1e-10) == C
    assert "$10 - 1 = 9$" in _solution(5)


def test_quiz_6_beta_zero_is_rasiwasia_only_for_balanced_classes():
    rng = np.random.default_rng(1)
    Xa, Xv = rng.normal(size=(15, 4)), rng.normal(size=(15, 3))
    balanced = np.repeat(np.arange(3), 5)
    unbalanced = np.repeat(np.arange(3), [8, 4, 3])
    for labels, same in ((balanced, True), (unbalanced, False)):
        ras = cluster_covariances(Xa, Xv, labels, 1e-3, "rasiwasia")
        beta0 = cluster_covariances(Xa, Xv, labels, 1e-3, "beta", 0.0)
        equal = all(np.allclose(r, b, atol=1e-12) for r, b in zip(ras, beta0, strict=True))
        assert equal is same
    assert "balanced" in _solution(6) and "unbalanced" in _solution(6)


def test_quiz_7_batch_all_and_batch_hard_counts():
    labels = np.repeat(np.arange(3), [4, 2, 2])
    B = labels.size
    brute = sum(1 for i, j, k in product(range(B), repeat=3)
                if labels[i] == labels[j] and labels[k] != labels[i])
    counts = np.bincount(labels)
    assert brute == int(np.sum(counts ** 2 * (B - counts))) == 112
    z = torch.randn(B, 3, generator=torch.Generator().manual_seed(0))
    y = torch.as_tensor(labels)
    assert BatchAllMiner().mine(z, z.flip(0), y).anchor.numel() == brute
    assert BatchHardMiner().mine(z, z.flip(0), y).anchor.numel() == B
    answer = _solution(7)
    assert f"= {brute}$" in answer and f"$B = {B}$" in answer


def test_quiz_8_gradient_of_an_active_triplet():
    g = torch.Generator().manual_seed(2)
    a, p = torch.randn(4, generator=g), torch.randn(4, generator=g)
    n = a + 0.01 * torch.randn(4, generator=g)           # a close negative: the triplet is active
    a, p, n = (t.clone().requires_grad_(True) for t in (a, p, n))
    loss = torch.clamp((a - p).pow(2).sum() - (a - n).pow(2).sum() + 0.5, min=0)
    assert loss.item() > 0
    loss.backward()
    assert torch.allclose(a.grad, 2 * (n - p).detach())
    assert torch.allclose(p.grad, 2 * (p - a).detach())
    assert torch.allclose(n.grad, 2 * (a - n).detach())
    answer = _solution(8)
    assert "= 2(n-p)$" in answer and "= 2(p-a)$" in answer and "= 2(a-n)$" in answer


def test_quiz_9_ap_by_hand_and_the_truncated_score():
    rel = [1, 0, 1, 0, 0, 1]
    ranks = [j + 1 for j, r in enumerate(rel) if r]
    ap = sum(Fraction(i + 1, j) for i, j in enumerate(ranks)) / len(ranks)
    assert ap == Fraction(13, 18)
    top = [j for j in ranks if j <= 3]
    truncated = sum(Fraction(i + 1, j) for i, j in enumerate(top)) / len(top)
    assert truncated == Fraction(5, 6)
    # the library, on scores that rank the gallery in this order
    S = np.arange(len(rel), 0, -1, dtype=float)[None, :]
    lib = average_precision(S, np.array([1]), np.array(rel))[0]
    assert lib == pytest.approx(float(ap), abs=1e-12)
    answer = _solution(9)
    assert f"= 13/18 \\approx {float(ap):.3f}$" in answer
    assert f"= 5/6 \\approx {float(truncated):.3f}$" in answer
