"""``paper-lib fit | embed | index build | search``: fit a method once, save it, embed, retrieve.

::

    paper-lib fit --dataset D --method M [--dim 10 --epochs 10 --seed 0 --fold all|K
                  --set KEY=VALUE ...] --out MODEL_DIR
    paper-lib embed MODEL_DIR --audio FILE.npy | --visual FILE.npy [--lengths L.npy] --out Z.npy
    paper-lib index build MODEL_DIR --dataset D --view audio|visual --out INDEX_DIR
                  [--kind exact|ivf|hnsw --metric M --fold all|K]
    paper-lib search INDEX_DIR --audio FILE.npy | --visual FILE.npy [--model MODEL_DIR --k 10]

``fit`` [choice]: with ``--fold all`` (the default) the method is fitted on every clip of the
dataset (a model to use, not to evaluate: ``paper-lib run`` evaluates); with ``--fold K`` on the
training rows of fold K only, so that fold K's test rows stay unseen (``index build --fold K``
then indexes exactly those). The model directory records the dataset, its checksum, the fold and
the settings (``metadata`` of :func:`paper_lib.methods.persist.save_model`).

``embed`` and ``search`` read clip features from ``.npy`` files (``allow_pickle=False``): (n, d)
clip-level rows, or one row (d,); a sequence method (lstm_c_cca) takes (n, T, d) with the valid
lengths in ``--lengths`` (default: all T steps). ``index build`` embeds one view of every clip of
a dataset (or of fold K's test rows) and indexes it with the clip ids, labels and class names;
``search`` embeds the query features with the model that built the index (checked by the
model's checksum) and prints, for every query, the ``k`` best clips: rank, clip id, class, score.
The index ranks by the model's own retrieval metric (cosine; Hamming for a hashing method's
codes) unless ``--metric`` says otherwise.

Bad input raises :class:`~paper_lib.errors.UserError` naming the argument (the ``paper-lib``
command prints one line and exits with status 2).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from paper_lib import atomic
from paper_lib.data.registry import DEFAULT_DATASET
from paper_lib.errors import UserError
from paper_lib.experiment.cli import check_dim, parse_settings
from paper_lib.experiment.evaluate import method_inputs

#: the subcommands :func:`run_model_command` runs (``args.command``)
MODEL_COMMANDS: tuple[str, ...] = ("fit", "embed", "index", "search")
#: estimator parameters ``fit`` sets from its own options, so ``--set`` may not
RESERVED = {"n_components": "--dim", "random_state": "--seed", "epochs": "--epochs"}


# -- parsers -------------------------------------------------------------------------------------
def _add_data_args(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--dataset", required=required, default=None if required else DEFAULT_DATASET,
                   help="dataset name (see `paper-lib data list`) or a path to a generic .h5 file")
    p.add_argument("--data-dir", default="", help="root folder of real datasets")
    p.add_argument("--data-option", action="append", default=[], metavar="KEY=VALUE",
                   help="an option of the dataset's generator or reader (repeatable), e.g. "
                        "--data-option n_per_class=20 for `synthetic`")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the method and of the generator of an embedded dataset")
    p.add_argument("--fold", "--folds", dest="fold", default="all", metavar="all|K",
                   help="'all': every clip; K: fit on fold K's training rows / index fold K's "
                        "test rows")


def _add_query_args(p: argparse.ArgumentParser) -> None:
    views = p.add_mutually_exclusive_group(required=True)
    views.add_argument("--audio", metavar="FILE.npy", help="audio features to embed")
    views.add_argument("--visual", metavar="FILE.npy", help="visual features to embed")
    p.add_argument("--lengths", metavar="FILE.npy",
                   help="valid time steps of every clip (sequence methods; default: all)")


def add_model_parsers(sub: Any) -> None:
    """Add ``fit``, ``embed``, ``index`` (``index build``) and ``search`` to the ``paper-lib``
    subparsers ``sub``."""
    fit = sub.add_parser("fit", help="fit a method on a dataset and save the model directory")
    _add_data_args(fit, required=False)
    fit.add_argument("--method", required=True, help="method name (`paper-lib run "
                     "--list-methods`)")
    fit.add_argument("--dim", type=int, default=10, help="embedding dimension d")
    fit.add_argument("--epochs", type=int, default=10, help="epochs of the deep methods")
    fit.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="hyper",
                     help="a hyper-parameter of the estimator (repeatable)")
    fit.add_argument("--out", required=True, metavar="MODEL_DIR", help="the model directory")
    fit.add_argument("--overwrite", action="store_true", help="replace an existing model")

    embed = sub.add_parser("embed", help="embed features with a saved model")
    embed.add_argument("model", metavar="MODEL_DIR", help="a model directory (`paper-lib fit`)")
    _add_query_args(embed)
    embed.add_argument("--out", required=True, metavar="Z.npy", help="where to write Z")

    index = sub.add_parser("index", help="nearest-neighbour indexes of embedded collections")
    index_sub = index.add_subparsers(dest="index_command", metavar="ACTION", required=True)
    build = index_sub.add_parser("build", help="embed one view of a dataset and index it")
    build.add_argument("model", metavar="MODEL_DIR", help="a model directory (`paper-lib fit`)")
    _add_data_args(build, required=True)
    build.add_argument("--view", required=True, choices=("audio", "visual"),
                       help="the modality of the collection")
    build.add_argument("--kind", default="exact", choices=("exact", "ivf", "hnsw"),
                       help="exact (brute force), ivf or hnsw (approximate)")
    build.add_argument("--metric", default="", choices=("", "cosine", "euclidean", "hamming"),
                       help="the score (default: the model's own, cosine for most)")
    build.add_argument("--nprobe", type=int, default=None, help="IVF cells scanned per query")
    build.add_argument("--out", required=True, metavar="INDEX_DIR", help="the index folder")
    build.add_argument("--overwrite", action="store_true", help="replace an existing index")

    search = sub.add_parser("search", help="the nearest clips of an index for query features")
    search.add_argument("index", metavar="INDEX_DIR", help="an index folder (`paper-lib index "
                        "build`)")
    _add_query_args(search)
    search.add_argument("--model", default="", metavar="MODEL_DIR",
                        help="the model that built the index (default: the one it records)")
    search.add_argument("--k", type=int, default=10, help="results per query")
    search.add_argument("--nprobe", type=int, default=None, help="IVF cells scanned per query")


# -- helpers -------------------------------------------------------------------------------------
def _fold(text: str) -> int | None:
    if text.strip().lower() == "all":
        return None
    try:
        return int(text)
    except ValueError:
        raise UserError(f"--fold: expected 'all' or a fold number, got {text!r}") from None


def _load_data(args: argparse.Namespace) -> Any:
    from paper_lib.data.registry import load_dataset

    options = parse_settings(args.data_option, "--data-option")
    try:
        return load_dataset(args.dataset, args.data_dir or None, seed=args.seed, **options)
    except TypeError as err:        # an option the generator or reader does not take
        raise UserError(f"--data-option: {err}") from None


def _rows(ds: Any, fold: int | None, part: str) -> np.ndarray:
    """Every row (fold None), or the ``part`` ("train" / "test") rows of fold ``fold``."""
    if fold is None:
        return np.arange(ds.n_clips)
    if ds.folds is None:
        raise UserError(f"--fold: dataset {ds.name!r} has a fixed train/test split, no folds: "
                        f"use --fold all, or --fold 0 for its split")
    if not 0 <= fold < ds.n_folds:
        raise UserError(f"--fold: fold {fold} does not exist (dataset {ds.name!r} has "
                        f"{ds.n_folds} folds, 0..{ds.n_folds - 1})")
    split = next(ds.splits([fold]))
    rows: np.ndarray = split.train if part == "train" else split.test
    return rows


def _read_npy(path: str, option: str) -> np.ndarray:
    file = Path(path)
    if not file.is_file():
        raise UserError(f"{option}: {file}: no such file")
    try:
        A = np.load(file, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise UserError(f"{option}: {file}: not a .npy array ({err})") from None
    if not isinstance(A, np.ndarray):
        raise UserError(f"{option}: {file}: holds several arrays; give one .npy array")
    return A


def _query(args: argparse.Namespace) -> tuple[str, str, np.ndarray, dict[str, Any]]:
    """(view, option, features, keyword arguments) of the --audio / --visual query."""
    view = "audio" if args.audio else "visual"
    option = f"--{view}"
    X = _read_npy(args.audio or args.visual, option)
    kw: dict[str, Any] = {}
    if args.lengths:
        kw["lengths"] = _read_npy(args.lengths, "--lengths")
    return view, option, X, kw


def _embed(model: Any, X: np.ndarray, view: str, option: str, kw: dict[str, Any]) -> np.ndarray:
    """``model``'s embedding of the query features; ``UserError`` naming ``option``."""
    if model.input_kind == "mean" and X.ndim == 1:
        X = X[None, :]                                      # one clip
    if model.input_kind == "sequence":
        if X.ndim == 2:
            X = X[None]                                     # one clip
        if "lengths" not in kw and X.ndim == 3:
            kw = {**kw, "lengths": np.full(X.shape[0], X.shape[1], dtype=np.int64)}
    try:
        Z: np.ndarray = model.transform_view(X, view, **kw)
    except UserError as err:
        raise UserError(f"{option}: {err}") from None
    return Z


def _load(model_dir: str, option: str) -> tuple[Any, dict[str, Any]]:
    """The model and its model.json; a ``DataError`` names the file (and the option)."""
    from paper_lib.errors import DataError
    from paper_lib.methods.persist import load_model, read_model_info

    try:
        return load_model(model_dir), read_model_info(model_dir)
    except DataError as err:
        raise DataError(f"{option}: {err}") from None


# -- commands ------------------------------------------------------------------------------------
def _check_model_out(out: Path, overwrite: bool) -> None:
    """``--out``: a model directory that may be (re)placed there, in a writable folder."""
    from paper_lib.described_folder import check_replaceable
    from paper_lib.methods.persist import MODEL_FILE

    try:
        check_replaceable(out, MODEL_FILE, "a model directory", overwrite)
    except UserError as err:
        raise UserError(f"--out: {err}".replace("overwrite=True", "--overwrite")) from None
    atomic.check_can_create(out, "--out")


def fit_command(args: argparse.Namespace) -> int:
    """``paper-lib fit``: fit a registered method on a dataset (or a fold's training rows)."""
    from paper_lib.methods.persist import save_model
    from paper_lib.methods.registry import get_method

    spec = get_method(args.method)
    hyper = parse_settings(args.hyper, "--set")
    for key in hyper:
        if key in RESERVED:
            raise UserError(f"--set: {key} is set by {RESERVED[key]}")
    allowed = type(spec.build(args.dim, args.seed, args.epochs))._get_param_names()
    unknown = sorted(set(hyper) - set(allowed))
    if unknown:
        raise UserError(f"--set: {args.method} has no hyper-parameter {unknown[0]!r}; it has: "
                        f"{', '.join(p for p in allowed if p not in RESERVED)}")
    est = spec.build(args.dim, args.seed, args.epochs, **hyper).check_hyperparameters()
    fold = _fold(args.fold)
    _check_model_out(Path(args.out), args.overwrite)      # before any work, not after the fit
    ds = _load_data(args)
    rows = _rows(ds, fold, "train")
    if est.retrieval_metric != "hamming":      # a hashing method's size is its code length
        # the training rows bound every method's components; the columns are checked by the
        # estimator itself, which knows whether its directions live in them
        check_dim(args.dim, ds, int(rows.size),
                  "every clip" if fold is None else f"fold {fold}", "--dim", columns=False)
    Xa, Xv, kw = method_inputs(ds, rows, est)
    est.fit(Xa, Xv, ds.labels[rows], **kw)
    metadata = {"command": "paper-lib fit", "method": args.method, "dataset": ds.name,
                "dataset_checksum": ds.checksum(),
                "data_options": parse_settings(args.data_option,
                                                                          "--data-option"),
                "fold": "all" if fold is None else fold, "rows": "train" if fold is not None
                else "all", "n_train": int(rows.size), "dim": args.dim, "epochs": args.epochs,
                "seed": args.seed, "hyper": hyper, "class_names": list(ds.class_names)}
    out = save_model(est, args.out, metadata=metadata, overwrite=args.overwrite)
    print(f"fitted {args.method} on {rows.size} clips of {ds.name} "
          f"({'every clip' if fold is None else f'fold {fold} training rows'}); "
          f"saved to {out}")
    return 0


def embed_command(args: argparse.Namespace) -> int:
    """``paper-lib embed``: embed one view's features with a saved model; write Z (.npy)."""

    model, _ = _load(args.model, "MODEL_DIR")
    view, option, X, kw = _query(args)
    Z = _embed(model, X, view, option, kw)
    out = Path(args.out)
    atomic.write_with(out, lambda tmp: np.save(tmp, Z, allow_pickle=False))
    print(f"embedded {Z.shape[0]} {view} rows -> {Z.shape} written to {out}")
    return 0


def index_build_command(args: argparse.Namespace) -> int:
    """``paper-lib index build``: embed one view of a dataset with a model and index it."""
    from paper_lib.search.index import build_index, save_index

    model, info = _load(args.model, "MODEL_DIR")
    fold = _fold(args.fold)
    ds = _load_data(args)
    rows = _rows(ds, fold, "test")
    Xa, Xv, kw = method_inputs(ds, rows, model)
    try:
        Z = model.transform_view(Xa if args.view == "audio" else Xv, args.view, **kw)
    except UserError as err:
        raise UserError(f"--dataset: {ds.name} does not fit the model: {err}") from None
    metric = args.metric or model.retrieval_metric or "cosine"
    metadata = {"model": str(Path(args.model).resolve()), "model_sha256": info["content_sha256"],
                "model_class": info["class"], "dataset": ds.name,
                "dataset_checksum": ds.checksum(), "view": args.view,
                "fold": "all" if fold is None else fold,
                "rows": "all" if fold is None else "test"}
    index = build_index(Z, ds.clip_ids[rows], ds.labels[rows], kind=args.kind, metric=metric,
                        class_names=ds.class_names, nprobe=args.nprobe, metadata=metadata)
    out = save_index(index, args.out, overwrite=args.overwrite)
    print(f"indexed {index.n_items} {args.view} clips of {ds.name} ({index.kind}, {metric}, "
          f"{index.dim}-d) in {out}")
    return 0


def search_command(args: argparse.Namespace) -> int:
    """``paper-lib search``: the ``k`` nearest clips of an index for every query row."""
    from paper_lib.search.index import load_index

    index = load_index(args.index)
    if args.nprobe is not None:
        index.set_search_params(nprobe=args.nprobe)
    recorded = index.metadata.get("model", "")
    model_dir = args.model or recorded
    if not model_dir:
        raise UserError("--model: the index records no model; give the model directory")
    option = "--model" if args.model else f"--model (default {recorded})"
    model, info = _load(model_dir, option)
    if info["content_sha256"] != index.metadata.get("model_sha256"):
        raise UserError(f"{option}: {model_dir} is not the model that built the index "
                        f"{args.index} (checksums differ): its embeddings would not be "
                        f"comparable")
    view, query_option, X, kw = _query(args)
    Z = _embed(model, X, view, query_option, kw)
    ids, scores = index.search(Z, args.k)
    positions = {clip: i for i, clip in enumerate(index.ids)}
    gallery = index.metadata.get("view", "?")
    print(f"{Z.shape[0]} {view} quer{'y' if Z.shape[0] == 1 else 'ies'} -> {index.n_items} "
          f"{gallery} clips of {index.metadata.get('dataset', '?')} ({index.kind} index, "
          f"{index.metric})")
    for q in range(Z.shape[0]):
        print(f"query {q}:")
        print(f"  {'rank':>4}  {'clip_id':<24} {'class':<16} {'score':>10}")
        for r, (clip, score) in enumerate(zip(ids[q], scores[q], strict=True), start=1):
            if not clip:
                continue
            label = "-"
            if index.labels is not None:
                c = int(index.labels[positions[clip]])
                label = index.class_names[c] if index.class_names else str(c)
            print(f"  {r:>4}  {clip:<24} {label:<16} {score:>10.4f}")
    return 0


def run_model_command(args: argparse.Namespace) -> int:
    """Run ``fit``, ``embed``, ``index build`` or ``search`` (``args.command``); the exit status.

    Applies the thread policy (:mod:`paper_lib.threads`) first, after loading faiss for the
    index commands so that the policy covers its OpenMP threads too.
    """
    from paper_lib import threads

    if args.command in ("index", "search"):
        from paper_lib.search.index import require_faiss

        require_faiss()        # the search extra, or MissingExtraError naming it
    threads.apply_policy()
    if args.command == "fit":
        return fit_command(args)
    if args.command == "embed":
        return embed_command(args)
    if args.command == "index":
        return index_build_command(args)
    if args.command == "search":
        return search_command(args)
    raise UserError(f"unknown command {args.command!r}; expected one of {MODEL_COMMANDS}")


__all__ = ["MODEL_COMMANDS", "RESERVED", "add_model_parsers", "embed_command", "fit_command",
           "index_build_command", "run_model_command", "search_command"]
