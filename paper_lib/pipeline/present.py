"""How a figure or a table appears in the book: numbered, captioned, tied to the paper, with the
files behind it one click away.

A notebook calls :meth:`~paper_lib.pipeline.notebook.NotebookRun.figure` or
:meth:`~paper_lib.pipeline.notebook.NotebookRun.table`; they save the files and display one
MyST block, which myst-nb renders as MyST (``nb_render_markdown_format: myst`` in
``_config.yml``)::

    :::{figure} ../results/avdigits-full/pr_curves/pr_curves.png
    :name: fig-pr-curves-pr-curves
    :alt: Precision-recall curves of every method, ...
    :width: 100%

    Precision-recall curves of every method, ... (avdigits, full profile, 5 folds × 3 seeds).
    Reproduces the paper's precision-recall curves. Files: PNG · SVG · provenance
    :::

Sphinx numbers it ("Fig. 4.2", "Table 4.1"), the prose cites it with ``{numref}`` and its
label (:func:`label`), a click on the image opens it at full size, and the data links are
``{download}`` roles. The paths are relative to the page: the book's staging copy holds the
executed notebooks in ``notebooks/`` and this build's results in ``results/<dataset>-<profile>/``
(:data:`STAGED_RESULTS`, :func:`paper_lib.pipeline.book.stage`), so no build-machine path appears.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

#: the folder of the staged book that mirrors ``results/<dataset>-<profile>/``
STAGED_RESULTS = "results"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def label(kind: str, notebook: str, name: str) -> str:
    """The cross-reference label of a figure (``kind="fig"``) or table (``"tbl"``) of a
    notebook: ``fig-pr-curves-pr-curves`` (cite it with ``{numref}`` in the prose)."""
    if kind not in ("fig", "tbl"):
        raise ValueError(f"kind must be 'fig' or 'tbl', got {kind!r}")
    return f"{kind}-{notebook}-{name}".replace("_", "-").replace(".", "-").lower()


def staged_path(root: str, notebook: str, filename: str) -> str:
    """A result file as the book's pages see it: ``../results/<root>/<notebook>/<file>``."""
    return f"../{STAGED_RESULTS}/{root}/{notebook}/{filename}"


def paper_sentence(reproduces: str | None) -> str:
    """How the artefact is tied to the paper: ``"Reproduces the paper's <it>."``, or, without
    a counterpart, ``"Not in the paper."``. The paper's artefacts are named by what they show,
    not by number: this build has not checked the numbering of a particular version of the
    paper (arXiv or TOMM)."""
    if reproduces is None:
        return "Not in the paper."
    text = reproduces.strip()
    if not text:
        raise ValueError("reproduces: name the paper's artefact, or None when there is none")
    return f"Reproduces the paper's {text}."


def caption_text(caption: str, setting: str, reproduces: str | None) -> str:
    """The full caption: what is shown, the setting (dataset, profile, folds × seeds) and the
    tie to the paper. ``caption`` must be a sentence or more, ending with a full stop."""
    text = " ".join(caption.split())
    if not text or text[-1] not in ".!?":
        raise ValueError(f"caption must be one or more sentences ending with a full stop, "
                         f"got {caption!r}")
    return f"{text[:-1]} ({setting}){text[-1]} {paper_sentence(reproduces)}"


def alt_text(caption: str) -> str:
    """The image's alternative text: the caption's first sentence."""
    first = _SENTENCE_END.split(" ".join(caption.split()), maxsplit=1)[0]
    return first.replace("\n", " ")


def downloads(links: Sequence[tuple[str, str]]) -> str:
    """``Files: {download}`CSV <path>` · ...`` for (text, staged path) pairs."""
    return "Files: " + " · ".join(f"{{download}}`{text} <{path}>`" for text, path in links)


def parameters_line(params: dict[str, object]) -> str:
    """The parameters a page ran with, in one line for its top (the folder of the data is not
    shown: it would be a path of the build machine)::

        Run with: dataset avdigits · profile full · folds all · seeds 0, 1, 2 · epochs 10
    """
    def shown(value: object) -> str:
        return ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)

    keys = ("dataset", "profile", "folds", "seeds", "epochs")
    parts = [f"{k} **{shown(params[k])}**" for k in keys if k in params]
    return "*Run with:* " + " · ".join(parts)


def figure_block(image: str, name: str, caption: str, alt: str,
                 links: Sequence[tuple[str, str]]) -> str:
    """A numbered figure: the staged ``image``, its label ``name``, caption and file links."""
    alt = alt.replace("\n", " ").strip()
    return (f":::{{figure}} {image}\n:name: {name}\n:alt: {alt}\n:width: 100%\n\n"
            f"{caption} {downloads(links)}\n:::")


def table_block(markdown: str, name: str, caption: str,
                links: Sequence[tuple[str, str]] = ()) -> str:
    """A numbered table: the pipe table ``markdown``, its label ``name``, and its caption with
    the links to its files, if any (a colon fence: a backtick fence could not hold the roles)."""
    files = f" {downloads(links)}" if links else ""
    return f":::{{table}} {caption}{files}\n:name: {name}\n:align: left\n\n{markdown}\n:::"
