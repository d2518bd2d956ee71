"""Pretrained files of the feature extractors: where they are, whether they are the published ones.

The extractors never download anything: the files are fetched by hand (each entry of
``data_manifest/extractors.yaml`` says from where) and found on local paths, in this order:

1. an explicit ``path`` argument (on the command line: ``paper-lib extract --vggish PATH``, ...);
2. the entry's environment variable (``PAPER_LIB_VGGISH_WEIGHTS``, ...);
3. ``$PAPER_LIB_WEIGHTS_DIR/<file>``, with [choice] ``<data dir>/weights`` as the folder when the
   variable is unset (``<data dir>`` is :func:`paper_lib.paths.data_dir`).

The first of these that is *given* is used: a path given explicitly or through the variable that
does not exist is an error, never a silent fall-back to the next. A missing file raises
:class:`MissingWeightsError` naming the file, where it was looked for, where to get it and which
variable or argument to set.

Checksums (:func:`verify`): torch.hub file names carry the first 8 hex digits of the file's
sha256 (``vggish-10086976.pth``; torch.hub's ``check_hash`` convention), and that prefix is
checked; a full ``sha256`` is checked when the manifest has one; ``null`` for both means that no
checksum is published: the file is accepted and its computed sha256 returned, for the caller to
record. A folder (``yt8m_pca``) is hashed as [choice] the sha256 over, for each of its three
``.npy`` files in sorted name order, the file name, a NUL byte and the file's sha256 hex digest
and a newline: one digest for the set of files the loader reads, stable under renaming the folder.

:func:`read_torch_file` and :func:`load_checked_state_dict` are the shared, strict loaders of the
networks' ``.pth`` files (``torch.load(weights_only=True)``; every problem a
:class:`~paper_lib.errors.DataError` naming the file).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from paper_lib import paths
from paper_lib.errors import DataError
from paper_lib.fingerprint import sha256_file

#: the manifest of the extractors' files
MANIFEST_FILE = "extractors.yaml"
#: the entries of the manifest, the four files of the pretrained extractors
WEIGHT_NAMES = ("vggish", "vggish_pca", "inception_v3", "yt8m_pca")
#: environment variable naming the folder of the weight files (used when no explicit path and no
#: per-file variable is given)
DIR_ENV_VAR = "PAPER_LIB_WEIGHTS_DIR"
#: the three files of the YouTube-8M PCA folder: role -> accepted names, in order of preference
#: (the released yt8m_pca.tgz holds mean.npy, eigenvals.npy, eigenvecs.npy)
YT8M_PCA_FILES: dict[str, tuple[str, ...]] = {
    "mean": ("mean.npy", "pca_mean.npy"),
    "eigenvals": ("eigenvals.npy", "pca_eigenvals.npy"),
    "eigenvecs": ("eigenvecs.npy", "pca_eigenvecs.npy"),
}
_FOLDER_WEIGHTS = {"yt8m_pca"}


class MissingWeightsError(DataError):
    """A pretrained file is not where it was looked for; the message says how to get it."""


@dataclass(frozen=True)
class WeightSpec:
    """One entry of ``data_manifest/extractors.yaml``."""

    name: str
    file: str
    env: str
    source: str
    sha256: str | None
    sha256_prefix: str | None
    what: str
    licence: str = ""


def manifest_path() -> Path:
    """``data_manifest/extractors.yaml``."""
    return paths.manifest_dir() / MANIFEST_FILE


def weight_specs() -> dict[str, WeightSpec]:
    """Every entry of ``data_manifest/extractors.yaml``, by name (checked; DataError otherwise)."""
    path = manifest_path()
    try:
        man = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(f"{path}: cannot read the extractors' manifest: {exc}") from exc
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(man, dict) or not isinstance(man.get("weights"), dict):
        raise DataError(f"{path}: expected a mapping with a 'weights' mapping")
    specs: dict[str, WeightSpec] = {}
    for name, entry in man["weights"].items():
        specs[str(name)] = _spec(str(name), entry, path)
    return specs


def _spec(name: str, entry: Any, path: Path) -> WeightSpec:
    if not isinstance(entry, dict):
        raise DataError(f"{path}: entry {name!r} must be a mapping")
    for key in ("file", "env", "source", "what"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise DataError(f"{path}: entry {name!r}: {key!r} must be a non-empty string")
    digests: dict[str, str | None] = {}
    for key, length in (("sha256", 64), ("sha256_prefix", None)):
        value = entry.get(key)
        if value is not None:
            value = str(value).lower()
            hexdigits = all(c in "0123456789abcdef" for c in value)
            if not hexdigits or (length is not None and len(value) != length) or not value:
                raise DataError(f"{path}: entry {name!r}: {key} must be "
                                f"{'64' if length else 'up to 64'} hex digits or null, "
                                f"got {entry.get(key)!r}")
        digests[key] = value
    return WeightSpec(name=name, file=entry["file"], env=entry["env"], source=entry["source"],
                      sha256=digests["sha256"], sha256_prefix=digests["sha256_prefix"],
                      what=" ".join(entry["what"].split()), licence=str(entry.get("licence", "")))


def _get_spec(name: str) -> WeightSpec:
    specs = weight_specs()
    if name not in specs:
        raise DataError(f"{manifest_path()}: no weight file named {name!r} (known: "
                        f"{', '.join(sorted(specs))})")
    return specs[name]


def weights_dir() -> Path:
    """``$PAPER_LIB_WEIGHTS_DIR``, else ``<data dir>/weights``."""
    value = os.environ.get(DIR_ENV_VAR)
    return Path(value).expanduser() if value else paths.data_dir() / "weights"


def locate(name: str, path: str | Path | None = None) -> Path:
    """The local path of weight file ``name``: explicit ``path`` > ``$ENV`` > weights dir.

    Raises :class:`MissingWeightsError` naming the file, where it was looked for, where to get it
    and what to set.
    """
    spec = _get_spec(name)
    kind = "folder" if name in _FOLDER_WEIGHTS else "file"
    env_value = os.environ.get(spec.env)
    if path is not None:
        candidate, how = Path(path).expanduser(), f"the path given for {name!r}"
    elif env_value:
        candidate, how = Path(env_value).expanduser(), f"${spec.env}"
    else:
        candidate = weights_dir() / spec.file
        how = f"${DIR_ENV_VAR}/{spec.file}" if os.environ.get(DIR_ENV_VAR) \
            else f"<data dir>/weights/{spec.file} (${DIR_ENV_VAR} is not set)"
    found = candidate.is_dir() if kind == "folder" else candidate.is_file()
    if not found:
        raise MissingWeightsError(
            f"{name}: the {kind} {spec.file} was not found at {candidate} (looked at {how}). "
            f"Get it from {spec.source} (nothing is downloaded by paper_lib), then either pass "
            f"its path explicitly (the path argument, or paper-lib extract "
            f"--{name.replace('_', '-')} PATH), set ${spec.env} to it, or put it in "
            f"${DIR_ENV_VAR} (now {weights_dir()}).")
    return candidate


def yt8m_pca_files(folder: str | Path) -> dict[str, Path]:
    """The three files of a YouTube-8M PCA folder, by role (``mean``, ``eigenvals``,
    ``eigenvecs``); a missing one raises :class:`MissingWeightsError`."""
    root = Path(folder)
    if not root.is_dir():
        raise MissingWeightsError(f"{root}: no such folder (the YouTube-8M PCA folder: the "
                                  f"extracted yt8m_pca.tgz)")
    found: dict[str, Path] = {}
    for role, names in YT8M_PCA_FILES.items():
        hit = next((root / n for n in names if (root / n).is_file()), None)
        if hit is None:
            raise MissingWeightsError(f"{root}: no {' or '.join(names)} in the YouTube-8M PCA "
                                      f"folder (extract yt8m_pca.tgz into it)")
        found[role] = hit
    return found


def folder_sha256(files: Iterable[Path]) -> str:
    """sha256 over ``name NUL sha256(file) newline`` of each file, in sorted name order."""
    h = hashlib.sha256()
    for f in sorted(files, key=lambda p: p.name):
        h.update(f.name.encode() + b"\0" + sha256_file(f).encode() + b"\n")
    return h.hexdigest()


def verify(name: str, path: Path) -> str:
    """The sha256 hex digest of ``path``, checked against the manifest's ``sha256`` (full) or
    ``sha256_prefix``; a mismatch raises DataError naming the file, the expected and the computed
    digest. No published digest: accepted, digest returned."""
    spec = _get_spec(name)
    path = Path(path)
    if name in _FOLDER_WEIGHTS:
        digest = folder_sha256(yt8m_pca_files(path).values())
    else:
        if not path.is_file():
            raise MissingWeightsError(f"{path}: no such file (weight file {name!r})")
        digest = sha256_file(path)
    if spec.sha256 is not None and digest != spec.sha256:
        raise DataError(f"{path}: sha256 mismatch for {name!r}: expected {spec.sha256}, got "
                        f"{digest}; the file is corrupt or not the published one ({spec.source})")
    if spec.sha256_prefix is not None and not digest.startswith(spec.sha256_prefix):
        raise DataError(f"{path}: sha256 mismatch for {name!r}: expected a digest starting with "
                        f"{spec.sha256_prefix} (the published file name's hash), got {digest}; "
                        f"the file is corrupt or not the published one ({spec.source})")
    return digest


# --- strict loading of .pth files ----------------------------------------------------------------
def _numpy_safe_globals() -> list[Any]:
    """What ``weights_only`` unpickling needs for plain numpy arrays (the PCA files), and
    nothing else: the array reconstructor (under numpy 2's and numpy 1's module names), the
    ndarray and dtype classes."""
    reconstruct = np.zeros(0).__reduce__()[0]      # numpy's _reconstruct, whatever its module
    dtypes = {type(np.dtype(t)) for t in (np.float16, np.float32, np.float64, np.int8, np.int16,
                                          np.int32, np.int64, np.uint8, np.bool_)}
    return [reconstruct, (reconstruct, "numpy.core.multiarray._reconstruct"),
            (reconstruct, "numpy._core.multiarray._reconstruct"),
            np.ndarray, np.dtype, *sorted(dtypes, key=lambda t: t.__name__)]


def read_torch_file(path: str | Path, *, allow_numpy: bool = False) -> Any:
    """``torch.load(path, map_location="cpu", weights_only=True)``; any failure -> DataError
    naming the file. ``allow_numpy`` also admits plain numpy arrays (and nothing else)."""
    import torch  # here, not at import: `paper-lib --help` reads WEIGHT_NAMES from this module

    path = Path(path)
    if not path.is_file():
        raise MissingWeightsError(f"{path}: no such file")
    try:
        if allow_numpy:
            with torch.serialization.safe_globals(_numpy_safe_globals()):
                return torch.load(path, map_location="cpu", weights_only=True)
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError,
            TypeError, AttributeError, KeyError, IndexError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: not a readable PyTorch weights file ({first})") from exc


def load_checked_state_dict(model: Any, state: Any, path: str | Path) -> None:
    """``model.load_state_dict(state, strict=True)`` after checking keys and shapes, with
    DataErrors naming ``path``, the missing / unexpected keys and the mismatched shapes."""
    import torch

    if not isinstance(state, Mapping) or not all(isinstance(k, str) for k in state):
        raise DataError(f"{path}: expected a state dict (a mapping of parameter names to "
                        f"tensors), got {type(state).__name__}")
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise DataError(f"{path}: state dict does not match {type(model).__name__}: "
                        f"{len(missing)} missing key(s) {_first(missing)}, "
                        f"{len(unexpected)} unexpected key(s) {_first(unexpected)}")
    bad = [f"{k}: file {_describe(state[k])} vs model {tuple(v.shape)}"
           for k, v in expected.items()
           if not isinstance(state[k], torch.Tensor) or state[k].shape != v.shape]
    if bad:
        raise DataError(f"{path}: {len(bad)} tensor(s) of the wrong shape or type: "
                        f"{'; '.join(bad[:3])}{' ...' if len(bad) > 3 else ''}")
    model.load_state_dict(dict(state), strict=True)


def _describe(value: Any) -> str:
    import torch

    if isinstance(value, torch.Tensor):
        return str(tuple(value.shape))
    return f"a {type(value).__name__}, not a tensor"


def _first(keys: list[str], n: int = 4) -> str:
    return "[" + ", ".join(keys[:n]) + (", ..." if len(keys) > n else "") + "]"
