"""Cache of evaluated splits, so several notebooks share one fit (main table, PR curves,
t-SNE, retrieval examples and statistics all read the same test embeddings).

An entry is keyed by everything that determines it: the dataset checksum, method, the estimator's
effective hyper-parameters, fold, seed, d, epochs, similarity and the fingerprint of the fitting
code (methods, metrics, data, experiment). It stores the test embeddings, labels, test row indices
and metrics (``.npz`` + ``.json``, written atomically).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from paper_lib import atomic, paths
from paper_lib.data.dataset import PairedDataset, Split
from paper_lib.experiment.evaluate import build_estimator, evaluate_split
from paper_lib.experiment.result import SplitResult
from paper_lib.fingerprint import code_fingerprint

#: the code an evaluated split depends on (report modules and the pipeline are not in it, so
#: editing a plot does not invalidate every cached fit)
FITTING_CODE = ("methods", "metrics", "data", "extract", "experiment")


def fitting_code_fingerprint() -> str:
    """The fingerprint of the :data:`FITTING_CODE` packages' sources (part of every key)."""
    root = paths.REPO_ROOT / "paper_lib"
    return "".join(code_fingerprint(root / part) for part in FITTING_CODE)


def cache_root() -> Path:
    """Where the entries live: ``<paths.cache_dir()>/experiments``."""
    return paths.cache_dir() / "experiments"


def cache_key(ds: PairedDataset, method: str, split: Split, seed: int, dim: int, epochs: int,
              metric: str, hyper: dict[str, Any] | None) -> str:
    """The entry's name: a hash of everything that determines the evaluated split."""
    # keyed by the estimator's *effective* parameters, so a default given explicitly
    # (e.g. margin=0.5) and left implicit share one entry
    est = build_estimator(method, dim, seed, epochs, hyper)
    spec = {"dataset": ds.checksum(), "method": method, "fold": split.fold, "split": split.name,
            "estimator": type(est).__name__, "params": est.get_params(), "metric": metric,
            "code": fitting_code_fingerprint()}
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _read_entry(arrays: Path, meta: Path, method: str, split: Split, seed: int
                ) -> SplitResult | None:
    """The stored result of ``split``, or ``None``: no entry, or one that cannot be read (it is
    then discarded, naming its files, and the caller recomputes it)."""
    info = atomic.read_json_entry(meta)
    if info is None or not arrays.is_file():
        return None
    try:
        with np.load(arrays, allow_pickle=False) as z:
            if not np.array_equal(z["test"], split.test):
                return None
            return SplitResult(method, split, seed, z["Z_audio"],
                               z["Z_visual"], z["labels"], info["metrics"], info["fit_seconds"],
                               info["peak_rss_mb"], metric=info["metric"], estimator=None,
                               effective_dim=info.get("effective_dim"))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        atomic.discard_entry(arrays, meta, reason=f"{type(exc).__name__}: {exc}")
        return None


def evaluate_split_cached(ds: PairedDataset, method: str, split: Split, *, seed: int = 0,
                          dim: int = 10, epochs: int = 10, metric: str = "cosine",
                          hyper: dict[str, Any] | None = None) -> SplitResult:
    """:func:`paper_lib.experiment.evaluate.evaluate_split`, stored and re-used (``estimator``
    is ``None`` for a result read from the cache)."""
    key = cache_key(ds, method, split, seed, dim, epochs, metric, hyper)
    arrays, meta = cache_root() / f"{key}.npz", cache_root() / f"{key}.json"
    stored = _read_entry(arrays, meta, method, split, seed)
    if stored is not None:
        return stored
    res = evaluate_split(ds, method, split, seed=seed, dim=dim, epochs=epochs, metric=metric,
                         hyper=hyper)
    atomic.write_with(arrays, lambda p: np.savez(p, Z_audio=res.Z_audio, Z_visual=res.Z_visual,
                                                  labels=res.labels, test=split.test))
    # not sorted: the metric order of the report is kept
    # the metric actually used (a hashing method's codes are ranked by Hamming, whatever was asked)
    atomic.write_text(meta, json.dumps({"method": method, "metric": res.metric,
                                        "metrics": res.metrics, "fit_seconds": res.fit_seconds,
                                        "peak_rss_mb": res.peak_rss_mb,
                                        "effective_dim": res.effective_dim}, indent=1))
    return res
