"""One entry point for every dataset: ``load_dataset(name_or_path, data_dir, seed, **options)``.

Names (see ``data_manifest/<name>.yaml``):

- ``synthetic``, ``avdigits``, ``avdigits-pretrained``: embedded, generated from ``seed``
  (``make_synthetic`` / ``make_avdigits`` / ``make_avdigits_pretrained``; ``options`` go to the
  generator);
- ``vegas``: the per-clip arrays with the paper's 5 folds if present, else ``vegas_feature.h5``
  (one fixed split); ``format="h5"`` or ``format="clips"`` forces one;
- ``mv10k``: the per-clip arrays;
- ``ave``: AVE annotations + feature files;
- any path to an existing ``.h5``/``.hdf5`` file: the generic HDF5 format.

Real data live in ``paths.data_dir()/<name>/`` unless ``data_dir`` is given (the dataset's own
folder, or a root holding ``<name>/``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paper_lib.data.dataset import PairedDataset
from paper_lib.data.formats._checks import fetch_hint, missing_file
from paper_lib.data.formats.ave import read_ave
from paper_lib.data.formats.clip_arrays import AUDIO_DIR, find_clip_root, read_clip_arrays
from paper_lib.data.formats.generic_h5 import GENERIC_SUFFIXES, read_generic_h5
from paper_lib.data.formats.vegas_h5 import VEGAS_H5_NAME, read_vegas_h5
from paper_lib.data.locate import dataset_dir
from paper_lib.data.manifest import load_manifest
from paper_lib.errors import DataError, ParamError

EMBEDDED = ("synthetic", "avdigits", "avdigits-pretrained")
#: the book's default dataset: the AV-digits clips in the paper's regime (pretrained features)
DEFAULT_DATASET = "avdigits-pretrained"
REAL = ("vegas", "mv10k", "ave")


def dataset_names() -> list[str]:
    """Every dataset name ``load_dataset`` accepts (a generic ``.h5`` path is accepted too)."""
    return [*EMBEDDED, *REAL]


def load_dataset(name_or_path: str, data_dir: str | Path | None = None, seed: int = 0,
                 **options: Any) -> PairedDataset:
    """Load a dataset by name, or a generic-format HDF5 file by path.

    Parameters
    ----------
    name_or_path : str or Path
        One of :func:`dataset_names`, a path to a ``.h5``/``.hdf5`` file, or a path to a folder
        in the per-clip layout (e.g. written by ``paper-lib extract``).
    data_dir : str or Path, optional
        Real datasets only: the dataset's folder, or a root holding ``<name>/`` (default
        ``paths.data_dir()/<name>``). Ignored for embedded datasets.
    seed : int, default=0
        Generator seed (embedded) and fold seed where folds must be made (AVE without its
        official split, generic files without a split). The authors' fixed folds never depend
        on it.
    **options
        Passed to the generator or the format reader (e.g. ``sequences=True``,
        ``format="clips"``, ``class_dir=...``, ``difficulty=...``).

    Returns
    -------
    PairedDataset
        The dataset, checked.

    Raises
    ------
    DataError
        For an unknown name, a missing file or bad data; the message names the file and the
        problem (and how to get a missing dataset).

    Examples
    --------
    A small synthetic dataset (generated, not cached):

    >>> ds = load_dataset("synthetic", n_classes=3, n_per_class=10, d_audio=4, d_visual=6,
    ...                   max_seconds=3, use_cache=False)
    >>> ds.audio.shape, ds.visual.shape, ds.n_classes, ds.n_folds
    ((30, 4), (30, 6), 3, 5)
    """
    name = str(name_or_path)
    if name in EMBEDDED:
        return _load_embedded(name, seed, options)
    if name in REAL:
        root = dataset_dir(name, data_dir)
        return _REAL_LOADERS[name](root, seed, options)
    path = Path(name).expanduser()
    if path.is_dir() and find_clip_root(path) is not None:
        return _load_extracted(path, options)
    if path.suffix.lower() in GENERIC_SUFFIXES:
        if not path.is_file():
            raise DataError(f"{path}: generic HDF5 dataset file not found (looked for "
                            f"{path.name!r} in {path.parent.resolve()})")
        return _call(read_generic_h5, f"generic file {path.name}", options, path, seed=seed)
    raise DataError(f"unknown dataset {name!r}: allowed names are {', '.join(dataset_names())}; "
                    f"a path to a generic HDF5 file (.h5/.hdf5, see data_manifest/README.md) "
                    f"or to a folder written by `paper-lib extract` is accepted too")


def _load_extracted(path: Path, options: dict[str, Any]) -> PairedDataset:
    """A folder in the per-clip layout, e.g. written by ``paper-lib extract``: any feature
    widths, the class folder named in its extraction manifest (or the one ending in
    "classes"), the class names from the manifest when there is one."""
    base = find_clip_root(path)
    assert base is not None
    opts = dict(options)
    manifest_path = base / "extraction.json"
    classes: list[str] | None = None
    if manifest_path.is_file():
        from paper_lib.data.from_video import read_manifest

        manifest = read_manifest(base)
        opts.setdefault("class_dir", manifest.get("class_dir"))
        classes = list(manifest.get("classes") or []) or None
    if opts.get("class_dir") is None:
        opts["class_dir"] = _guess_class_dir(base, base.name)
    if classes is not None:
        opts.setdefault("class_names", classes)
        opts.setdefault("n_classes", len(classes))
    opts.setdefault("audio_dim", None)
    opts.setdefault("visual_dim", None)
    return _call(read_clip_arrays, f"per-clip folder {base.name}", opts, base, name=base.name)


# -- embedded --------------------------------------------------------------------------------
def _load_embedded(name: str, seed: int, options: dict[str, Any]) -> PairedDataset:
    """Import the generator lazily (it may pull heavier dependencies) and call it."""
    if name == "synthetic":
        from paper_lib.data.synthetic import make_synthetic

        return _call(make_synthetic, name, options, seed=seed)
    if name == "avdigits-pretrained":
        from paper_lib.data.avdigits_pretrained import make_avdigits_pretrained

        return _call(make_avdigits_pretrained, name, options, seed=seed)
    from paper_lib.data.avdigits import make_avdigits

    return _call(make_avdigits, name, options, seed=seed)


# -- real ------------------------------------------------------------------------------------
def _load_vegas(root: Path, seed: int, options: dict[str, Any]) -> PairedDataset:
    """The per-clip arrays with the paper's 5 folds if present (or ``format="clips"``), else
    vegas_feature.h5 (one fixed train/test split; or ``format="h5"``)."""
    del seed                                 # the authors' split and folds are fixed
    opts = dict(options)
    fmt = opts.pop("format", "auto")
    if fmt not in ("auto", "h5", "clips"):
        raise ParamError(f"format must be 'auto', 'h5' or 'clips', got {fmt!r}")
    man = load_manifest("vegas")
    h5_path = root / VEGAS_H5_NAME
    # the paper's protocol is 5-fold cross-validation: the per-clip release with its fold files
    # wins over the single-split HDF5 file when both are present
    has_clips = find_clip_root(root) is not None
    use_h5 = fmt == "h5" or (fmt == "auto" and not has_clips and h5_path.is_file())
    if fmt == "auto" and not use_h5 and not has_clips:
        raise DataError(
            f"{root}: VEGAS not found: looked for {VEGAS_H5_NAME} and for the per-clip folders "
            f"({AUDIO_DIR}/, inception/, VEGAS_classes/, folds/) in {root}; {fetch_hint('vegas')}")
    if use_h5:
        return _call(read_vegas_h5, "vegas (h5)", opts, h5_path,
                     class_names=man["classes"]["names"], hint=fetch_hint("vegas"))
    return _load_clips("vegas", root, man, opts)


def _load_mv10k(root: Path, seed: int, options: dict[str, Any]) -> PairedDataset:
    del seed
    return _load_clips("mv10k", root, load_manifest("mv10k"), dict(options))


def _load_clips(name: str, root: Path, man: dict[str, Any], opts: dict[str, Any]
                ) -> PairedDataset:
    """The per-clip layout with the manifest's defaults (class folder, widths, 10 s)."""
    layout = man.get("layout") or {}
    base = find_clip_root(root)
    if base is None:
        raise missing_file(root / AUDIO_DIR, f"{name} per-clip audio feature folder",
                           fetch_hint(name))
    if opts.get("class_dir") is None:
        opts["class_dir"] = layout.get("class_dir") or _guess_class_dir(base, name)
    defaults = {"audio_dim": layout.get("audio_dim"), "visual_dim": layout.get("visual_dim"),
                "max_seconds": layout.get("max_seconds", 10)}
    for key, value in defaults.items():
        if value is not None:
            opts.setdefault(key, value)
    return _call(read_clip_arrays, f"{name} (per-clip arrays)", opts, base, name=name,
                 hint=fetch_hint(name))


def _guess_class_dir(base: Path, name: str) -> str:
    """The single sub-folder whose name ends in "classes" (MV-10K's name is unpublished)."""
    found = sorted(p.name for p in base.iterdir()
                   if p.is_dir() and p.name.lower().endswith("classes"))
    if len(found) != 1:
        seen = ", ".join(found) if found else "no folder whose name ends in 'classes'"
        raise DataError(f"{base}: cannot tell which folder holds the class ids (found: {seen}); "
                        f"pass class_dir='FOLDER' to load_dataset({name!r}, ...)")
    return found[0]


def _load_ave(root: Path, seed: int, options: dict[str, Any]) -> PairedDataset:
    return _call(read_ave, "ave", dict(options), root, seed=seed, hint=fetch_hint("ave"))


_REAL_LOADERS: dict[str, Callable[[Path, int, dict[str, Any]], PairedDataset]] = {
    "vegas": _load_vegas, "mv10k": _load_mv10k, "ave": _load_ave}


# -- option checking -------------------------------------------------------------------------
def _call(fn: Callable[..., PairedDataset], what: str, options: dict[str, Any], *args: Any,
          **fixed: Any) -> PairedDataset:
    """Call a reader/generator with ``options``, rejecting unknown options by name first."""
    params = inspect.signature(fn).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        allowed = [n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY
                   or (p.default is not inspect.Parameter.empty)]
        allowed = [n for n in allowed if n not in fixed and n not in ("hint", "name")]
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise ParamError(f"{what}: unknown option(s) {unknown}; accepted: "
                             f"{', '.join(allowed) or 'none'}")
    return fn(*args, **fixed, **options)
