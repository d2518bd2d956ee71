"""Cache of generated (embedded) datasets: one ``.npz`` per generator, parameters and code version.

``load_cached(name, params, build_fn, code_version=...)`` returns the dataset stored at
``<cache_dir>/datasets/<name>-<key>.npz`` when it exists, otherwise calls ``build_fn()``, writes the
result atomically (:mod:`paper_lib.atomic`) and returns it. The key is a hash of the parameters and
the code version, so changing either gives a new file; a stale or corrupt file is rebuilt (with a
warning), never half-read. Loading gives arrays bit-identical to the ones written.

Every field of :class:`~paper_lib.data.dataset.PairedDataset` is stored; ``media`` may hold numpy
arrays and plain scalars (int, float, str, bool). Arrays are loaded with ``allow_pickle=False``.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from paper_lib import atomic, paths
from paper_lib.atomic import jsonable
from paper_lib.data.dataset import DataError, PairedDataset

#: bump when the on-disk layout below changes
FORMAT_VERSION = "1"
_META_KEY = "__meta__"
_MEDIA_PREFIX = "media."
_ARRAY_FIELDS = ("audio", "visual", "labels", "clip_ids", "folds", "is_test", "audio_seq",
                 "visual_seq", "seq_len")
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


# --- keys -----------------------------------------------------------------------------------
def canonical_params(params: Mapping[str, Any]) -> str:
    """The parameters as canonical JSON (sorted keys; tuples become lists)."""
    try:
        return json.dumps(dict(params), sort_keys=True, default=jsonable, separators=(",", ":"))
    except TypeError as err:
        raise ValueError(f"params: every value must be JSON-like (numbers, strings, lists, dicts); "
                         f"{err}") from err


def cache_key(params: Mapping[str, Any], code_version: str) -> str:
    """16 hex digits of sha256(canonical params, code version, format version)."""
    text = json.dumps({"params": canonical_params(params), "code": code_version,
                       "format": FORMAT_VERSION}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_path(generator_name: str, params: Mapping[str, Any], code_version: str) -> Path:
    """``<cache_dir>/datasets/<generator_name>-<key>.npz``."""
    if not _NAME_PATTERN.match(generator_name):
        raise ValueError(f"generator_name: {generator_name!r} must be a plain file-name token "
                         "(letters, digits, '_', '.', '-')")
    return paths.cache_dir() / "datasets" / f"{generator_name}-{cache_key(params, code_version)}.npz"


# --- (de)serialisation ------------------------------------------------------------------------
def dataset_to_arrays(ds: PairedDataset) -> dict[str, np.ndarray]:
    """Flatten a dataset into named arrays (None fields are left out)."""
    out: dict[str, np.ndarray] = {"name": np.array(ds.name), "source": np.array(ds.source),
                                  "class_names": np.array(ds.class_names, dtype=str)}
    for key in _ARRAY_FIELDS:
        value = getattr(ds, key)
        if value is not None:
            out[key] = np.asarray(value, dtype=str) if key == "clip_ids" else np.asarray(value)
    for key, value in (ds.media or {}).items():
        out[_MEDIA_PREFIX + key] = _media_array(key, value)
    for key, arr in out.items():
        if arr.dtype == object:
            raise ValueError(f"{key}: object arrays cannot be cached (allow_pickle=False)")
    return out


def _media_array(key: str, value: Any) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, bool | int | float | str | np.generic):
        return np.asarray(value)
    raise ValueError(f"media[{key!r}]: only numpy arrays and scalars can be cached, got "
                     f"{type(value).__name__} (stack lists into a padded array + lengths)")


def arrays_to_dataset(arrays: Mapping[str, np.ndarray]) -> PairedDataset:
    """Inverse of :func:`dataset_to_arrays`."""
    kwargs: dict[str, Any] = {k: arrays[k] for k in _ARRAY_FIELDS if k in arrays}
    kwargs["name"] = str(arrays["name"])
    kwargs["source"] = str(arrays["source"])
    kwargs["class_names"] = tuple(str(c) for c in arrays["class_names"])
    media = {k[len(_MEDIA_PREFIX):]: (v.item() if v.ndim == 0 else v)
             for k, v in arrays.items() if k.startswith(_MEDIA_PREFIX)}
    kwargs["media"] = media or None
    return PairedDataset(**kwargs)


def save_npz(ds: PairedDataset, target: str | Path, meta: Mapping[str, Any] | None = None) -> Path:
    """Write ``ds`` (and a JSON ``meta`` record) to ``target`` atomically (uncompressed npz)."""
    arrays: dict[str, Any] = dataset_to_arrays(ds)     # Any: savez(**) also has allow_pickle
    arrays[_META_KEY] = np.array(json.dumps(dict(meta or {}), sort_keys=True, default=jsonable))
    # [choice] uncompressed: the synthetic features are noise-like and barely compress, and
    # loading uncompressed arrays is several times faster.
    return atomic.write_with(target, lambda tmp: np.savez(tmp, **arrays))


def read_meta(target: str | Path) -> dict[str, Any]:
    """The JSON meta record stored with a cached dataset."""
    with np.load(target, allow_pickle=False) as z:
        return json.loads(str(z[_META_KEY]))


def load_npz(target: str | Path) -> PairedDataset:
    """Read a dataset written by :func:`save_npz`; :class:`DataError` names the file if it is bad."""
    target = Path(target)
    try:
        with np.load(target, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if k != _META_KEY}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise DataError(f"{target}: not a readable dataset cache ({err})") from err
    missing = {"name", "source", "class_names", "audio", "visual", "labels",
               "clip_ids"} - set(arrays)
    if missing:
        raise DataError(f"{target}: dataset cache lacks {sorted(missing)}")
    return arrays_to_dataset(arrays)


# --- the cache ------------------------------------------------------------------------------
def load_cached(generator_name: str, params: Mapping[str, Any],
                build_fn: Callable[[], PairedDataset], *, code_version: str,
                use_cache: bool = True) -> PairedDataset:
    """Return the cached dataset for (generator, params, code version), building it if needed.

    ``build_fn()`` must be deterministic given ``params``: the cache stores its first result and
    later calls return exactly those arrays. ``use_cache=False`` builds without reading or
    writing the cache.
    """
    if not use_cache:
        return build_fn()
    target = cache_path(generator_name, params, code_version)
    if target.exists():
        try:
            return load_npz(target)
        except DataError as err:
            atomic.discard_entry(target, reason=str(err))
    ds = build_fn()
    if not isinstance(ds, PairedDataset):
        raise TypeError(f"build_fn for {generator_name!r} returned {type(ds).__name__}, "
                        "not a PairedDataset")
    save_npz(ds, target, meta={"generator": generator_name, "params": json.loads(
        canonical_params(params)), "code_version": code_version, "format": FORMAT_VERSION,
        "checksum": ds.checksum()})
    return ds
