"""Save a fitted estimator to a folder and load it back: versioned, checksummed, never pickled.

A *model directory* holds::

    model.json            what the model is: format and version, the class (an import path under
                          paper_lib.methods), the hyper-parameters, a description of every fitted
                          attribute, the sha256 of every other file, and a checksum of itself
    arrays.npz            the numpy arrays of the fitted state (read with allow_pickle=False)
    weights.safetensors   the torch tensors: every module's state_dict under "<attribute>.<key>",
                          and any loose tensor of the fitted state

(``arrays.npz`` and ``weights.safetensors`` only when there is something to put in them: a CCA
model has no weights file.)

What is saved, generically, for every method (no method has save/load code of its own):

- the constructor's hyper-parameters, ``get_params(deep=False)``;
- the fitted state: every instance attribute that is not a hyper-parameter. That is every
  attribute ending in ``_`` (scikit-learn's convention) and also private ones that ``transform``
  reads (AGAH's ``_feature_map``); [choice] all of them, so a loaded estimator is the fitted one,
  attribute for attribute. Each value is, recursively: a JSON value (``None``, bool, int, float,
  str; lists, tuples and dicts of values, their type kept); a numpy scalar or array (arrays go to
  ``arrays.npz``; object arrays are refused); a torch tensor; a torch module (its ``state_dict``
  goes to ``weights.safetensors``); a nested estimator (TNN-C-CCA's ``ccca_``, DCCA's ``cca_``) or
  a helper object (``Standardizer``, a kernel map) of a class under ``paper_lib.methods``,
  described by its class path and its own attributes.
- torch modules are described, not serialised as code: loading restores every other attribute,
  then asks the estimator to re-create its untrained modules with the one hook of the base class,
  :meth:`~paper_lib.methods.base.CrossModalEstimator._build_modules` (each deep method builds its
  modules in one helper that ``_fit`` shares), and loads the saved weights into them, after
  checking every key, shape and dtype. ``save_model`` runs the same check before writing, so it
  never writes a model it could not load.

Safety: nothing is unpickled and no code named by the file runs, except importing a module under
``paper_lib.methods`` (or a module the caller trusts, ``trusted_modules``) to find the class, and
the few scikit-learn classes of :data:`FOREIGN_CLASSES`. A directory from an unknown format
version, a missing or corrupted file, a checksum mismatch, or a description that does not match
what this version of the class builds raises :class:`~paper_lib.errors.DataError` naming the
file and the problem; ``load_model`` never returns a model other than the one saved.

Writing is atomic (:func:`paper_lib.atomic.atomic_directory`): the files go into a temporary
sibling folder renamed to ``directory`` at the end, so an interrupted save leaves no directory
(or the previous one), never half a model.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import BaseEstimator

from paper_lib import __version__
from paper_lib.atomic import atomic_directory
from paper_lib.described_folder import check_replaceable, read_description, write_description
from paper_lib.errors import DataError, UserError
from paper_lib.methods.base import CrossModalEstimator, NotFittedError

if TYPE_CHECKING:
    import torch

#: the ``format`` field of every model.json
FORMAT = "paper_lib-model"
#: the version of the layout this code writes and reads
FORMAT_VERSION = 1
#: the description of the model (the file ``load_model`` reads first)
MODEL_FILE = "model.json"
#: the numpy arrays of the fitted state
ARRAYS_FILE = "arrays.npz"
#: the torch tensors (module weights) of the fitted state
WEIGHTS_FILE = "weights.safetensors"
#: where the classes of a loadable model live (their module's import path starts with this)
LOADABLE_PREFIX = "paper_lib.methods."
#: classes from outside paper_lib that a fitted state may hold (a kernel map's ``Nystroem``):
#: scikit-learn estimators rebuilt from their JSON parameters and arrays
FOREIGN_CLASSES = frozenset({"sklearn.kernel_approximation.Nystroem"})

_KIND = "__kind__"
_DATA_FILES = (ARRAYS_FILE, WEIGHTS_FILE)
_CLASS_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")
_SCALAR_DTYPES = frozenset({"bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
                            "uint32", "uint64", "float16", "float32", "float64"})
_ARRAY_KINDS = frozenset("biufUS")     # bool, ints, floats, fixed-width strings: no objects
#: instance attributes that are scikit-learn bookkeeping, not fitted state
_SKIPPED = frozenset({"_metadata_request"})


def class_path(obj_or_cls: Any) -> str:
    """``module.QualName`` of an object's class (or of a class)."""
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    return f"{cls.__module__}.{cls.__qualname__}"


def _trusted(path: str, trusted_modules: Iterable[str]) -> bool:
    """May the class ``path`` be loaded: under paper_lib.methods, a trusted module, or foreign."""
    if not _CLASS_PATH.fullmatch(path):
        return False
    module = path.rsplit(".", 1)[0]
    prefixes = (LOADABLE_PREFIX.rstrip("."), *trusted_modules)
    return path in FOREIGN_CLASSES or any(module == p or module.startswith(p + ".")
                                          for p in prefixes)


# -- save ----------------------------------------------------------------------------------------
class _Encoder:
    """Fitted state -> JSON description + the arrays and tensors it refers to."""

    def __init__(self, trusted_modules: tuple[str, ...]) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.tensors: dict[str, Any] = {}
        self.trusted_modules = trusted_modules
        self.torch = sys.modules.get("torch")  # no torch object exists unless torch is loaded

    def _refuse(self, path: str, value: Any, why: str = "") -> UserError:
        return UserError(f"save_model: cannot save {path or 'the estimator'} "
                         f"({class_path(value)}){': ' + why if why else ''}.")

    def value(self, v: Any, path: str) -> Any:
        torch = self.torch
        if v is None or type(v) in (bool, int, str):
            return v
        if type(v) is float:
            return v if math.isfinite(v) else {_KIND: "float", "value": repr(v)}
        if isinstance(v, np.generic):
            dtype = str(v.dtype)
            if dtype not in _SCALAR_DTYPES:
                raise self._refuse(path, v, f"numpy scalars of dtype {dtype} are not supported")
            return {_KIND: "numpy_scalar", "dtype": dtype, "value": self.value(v.item(), path)}
        if isinstance(v, np.ndarray):
            if type(v) is not np.ndarray:
                raise self._refuse(path, v, "only plain numpy arrays are supported")
            if v.dtype.kind not in _ARRAY_KINDS:
                raise self._refuse(path, v, f"arrays of dtype {v.dtype} are not supported "
                                            f"(they would need pickle)")
            self.arrays[path] = v
            return {_KIND: "ndarray", "file": ARRAYS_FILE, "key": path, "dtype": v.dtype.str,
                    "shape": list(v.shape)}
        if type(v) in (list, tuple):
            return {_KIND: type(v).__name__,
                    "items": [self.value(x, f"{path}[{i}]") for i, x in enumerate(v)]}
        if type(v) is dict:
            return {_KIND: "dict", "items": [[self.value(k, f"{path}[{i}].key"),
                                              self.value(x, f"{path}[{i}]")]
                                             for i, (k, x) in enumerate(v.items())]}
        if torch is not None and isinstance(v, torch.nn.Module):
            raise self._refuse(path, v, "a torch module is saved only as an attribute of an "
                                        "estimator (which rebuilds it with _build_modules)")
        if torch is not None and isinstance(v, torch.Tensor):
            self.tensors[path] = v.detach().cpu().contiguous().clone()
            return {_KIND: "tensor", "file": WEIGHTS_FILE, "key": path,
                    "dtype": str(v.dtype).removeprefix("torch."), "shape": list(v.shape),
                    "requires_grad": bool(v.requires_grad),
                    "parameter": isinstance(v, torch.nn.Parameter)}
        if isinstance(v, BaseEstimator):
            return self.estimator(v, path)
        return self.object(v, path)

    def _check_class(self, v: Any, path: str) -> str:
        cls = class_path(v)
        if not _trusted(cls, self.trusted_modules):
            raise self._refuse(path, v, f"only classes under {LOADABLE_PREFIX.rstrip('.')} (or "
                                        f"trusted_modules) can be loaded back")
        return cls

    def object(self, v: Any, path: str) -> dict[str, Any]:
        cls = self._check_class(v, path)
        if not hasattr(v, "__dict__") or isinstance(v, type):
            raise self._refuse(path, v, "it has no attributes to describe")
        return {_KIND: "object", "class": cls,
                "state": {k: self.value(x, _join(path, k)) for k, x in vars(v).items()}}

    def estimator(self, est: BaseEstimator, path: str) -> dict[str, Any]:
        cls = self._check_class(est, path)
        params = est.get_params(deep=False)
        modules: dict[str, Any] = {}
        state: dict[str, Any] = {}
        torch = self.torch
        for name, v in vars(est).items():
            if name in params or name in _SKIPPED:
                continue
            where = _join(path, name)
            if torch is not None and isinstance(v, torch.nn.Module):
                modules[name] = v
                state[name] = self.module(v, where)
            else:
                state[name] = self.value(v, where)
        if modules:
            _check_rebuilt(est, modules, state, path or "the estimator", UserError)
        return {_KIND: "estimator", "class": cls,
                "params": {k: self.value(v, _join(path, k)) for k, v in params.items()},
                "state": state}

    def module(self, m: torch.nn.Module, path: str) -> dict[str, Any]:
        sd = m.state_dict()
        for key, t in sd.items():
            self.tensors[f"{path}.{key}"] = t.detach().cpu().contiguous().clone()
        return {_KIND: "module", "class": class_path(m), "file": WEIGHTS_FILE, "prefix": path,
                "keys": list(sd), "training": [n for n, sub in m.named_modules() if sub.training]}


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


@contextlib.contextmanager
def _rng_untouched() -> Iterator[None]:
    """Building modules draws initial weights from torch's global RNG: leave the caller's alone."""
    import torch

    with torch.random.fork_rng(devices=[]):
        yield


def _check_rebuilt(est: BaseEstimator, modules: Mapping[str, Any], state: Mapping[str, Any],
                   where: str, error: type[UserError]) -> dict[str, Any]:
    """Ask ``est._build_modules()`` for its untrained modules and check that they have the class
    and state_dict keys, shapes and dtypes the description ``state`` records for ``modules``
    (the saved attributes that hold modules); returns the rebuilt modules by attribute."""
    hook = getattr(est, "_build_modules", None)
    name = type(est).__name__
    with _rng_untouched():
        built = dict(hook()) if hook is not None else {}
    problems = []
    for attr in sorted(set(built) - set(modules)):
        if built[attr] is not None:
            problems.append(f"the hook builds a module {attr} that the model does not hold")
    for attr, saved in modules.items():
        rebuilt = built.get(attr)
        desc = state[attr]
        if rebuilt is None:
            problems.append(f"{name}._build_modules() does not rebuild {attr}")
            continue
        if class_path(rebuilt) != desc["class"]:
            problems.append(f"{attr} is a {desc['class']}, the hook builds a "
                            f"{class_path(rebuilt)}")
            continue
        sd = rebuilt.state_dict()
        if list(sd) != list(desc["keys"]):
            problems.append(f"{attr}: the hook builds a module with the state_dict keys "
                            f"{_short(list(sd))}, the model holds {_short(desc['keys'])}")
            continue
        if saved is not None:  # at save time: compare with the trained module itself
            for key, t in saved.state_dict().items():
                if tuple(t.shape) != tuple(sd[key].shape) or t.dtype != sd[key].dtype:
                    problems.append(f"{attr}.{key}: shape {tuple(t.shape)} {t.dtype}, the hook "
                                    f"builds {tuple(sd[key].shape)} {sd[key].dtype}")
    if problems:
        hint = (" (implement CrossModalEstimator._build_modules for this method, sharing the "
                "helper that _fit builds its modules with)" if error is UserError else
                " (a model saved by a different version of the method?)")
        raise error(f"{where}: cannot rebuild the torch modules of {name}: "
                    + "; ".join(problems) + hint)
    return built


def _short(keys: list[str]) -> str:
    return str(keys if len(keys) <= 6 else [*keys[:6], "..."])


def _library_versions(has_weights: bool) -> dict[str, str]:
    from importlib import metadata

    names = ["numpy", "scikit-learn"] + (["torch", "safetensors"] if has_weights else [])
    return {n: metadata.version(n) for n in names}


def save_model(est: CrossModalEstimator, directory: str | Path, *,
               metadata: Mapping[str, Any] | None = None, overwrite: bool = False,
               trusted_modules: Iterable[str] = ()) -> Path:
    """Save a fitted estimator to the model directory ``directory`` (atomically); returns it.

    Parameters
    ----------
    est : CrossModalEstimator
        A fitted estimator.
    directory : str or Path
        The folder to create (see the module docstring for its files).
    metadata : mapping, optional
        JSON-serialisable facts stored as they are under ``"metadata"`` in model.json (the
        command line records the dataset, fold and seed the model was fitted on).
    overwrite : bool, default=False
        Replace an existing model directory. A folder that is not a model directory is never
        replaced.
    trusted_modules : iterable of str, default=()
        Further module prefixes whose classes may be saved (and loaded back with the same
        argument), e.g. a method of your own outside ``paper_lib.methods``.

    Returns
    -------
    Path
        ``directory``.

    Raises
    ------
    NotFittedError
        ``est`` is not fitted.
    UserError
        A hyper-parameter or fitted attribute of a type that cannot be saved safely, a method
        whose ``_build_modules`` hook does not rebuild its modules, or ``directory`` exists
        (without ``overwrite``, or it is not a model directory).

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from paper_lib.methods.cca import CCA
    >>> rng = np.random.default_rng(0)
    >>> Xa, Xv = rng.normal(size=(50, 4)), rng.normal(size=(50, 5))
    >>> cca = CCA(n_components=2).fit(Xa, Xv)
    >>> folder = tempfile.mkdtemp() + "/cca"
    >>> loaded = load_model(save_model(cca, folder))
    >>> bool(np.array_equal(loaded.transform_view(Xa, "audio"), cca.transform_view(Xa, "audio")))
    True
    """
    if not isinstance(est, CrossModalEstimator):
        raise UserError(f"save_model: est must be a CrossModalEstimator, got {class_path(est)}.")
    if not est.__sklearn_is_fitted__():
        raise NotFittedError(f"save_model: {type(est).__name__} is not fitted: call fit first.")
    target = Path(directory)
    check_replaceable(target, MODEL_FILE, "a model directory", overwrite)
    encoder = _Encoder(tuple(trusted_modules))
    description = encoder.estimator(est, "")
    try:
        meta = json.loads(json.dumps(dict(metadata or {}), allow_nan=False))
    except (TypeError, ValueError) as err:
        raise UserError(f"save_model: metadata must be JSON-serialisable: {err}") from None
    doc: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "paper_lib_version": __version__,
        "library_versions": _library_versions(bool(encoder.tensors)),
        "class": description["class"], "params": description["params"],
        "state": description["state"], "metadata": meta, "files": {}}
    with atomic_directory(target, overwrite=overwrite) as tmp:
        files = []
        if encoder.arrays:
            np.savez(tmp / ARRAYS_FILE, allow_pickle=False, **encoder.arrays)
            files.append(ARRAYS_FILE)
        if encoder.tensors:
            from safetensors.torch import save_file

            save_file(encoder.tensors, str(tmp / WEIGHTS_FILE), metadata={"format": FORMAT})
            files.append(WEIGHTS_FILE)
        write_description(tmp, MODEL_FILE, doc, files)
    return target


# -- load ----------------------------------------------------------------------------------------
def read_model_info(directory: str | Path) -> dict[str, Any]:
    """model.json of a model directory, after checking its format, version and every checksum.

    The cheap half of :func:`load_model` (nothing is imported or built): for a command that
    needs a model's class, hyper-parameters or metadata. Raises ``DataError`` naming the file
    and the problem (see :func:`load_model`).
    """
    return read_description(directory, MODEL_FILE, fmt=FORMAT, version=FORMAT_VERSION,
                            what="model directory", noun="model", allowed=_DATA_FILES,
                            redo="save it again with this version")


class _Decoder:
    """JSON description + the data files -> the fitted objects, checking every step."""

    def __init__(self, root: Path, doc: dict[str, Any], trusted_modules: tuple[str, ...]) -> None:
        self.root, self.doc, self.trusted_modules = root, doc, trusted_modules
        self.model_json = root / MODEL_FILE
        self._arrays: Any = None
        self._tensors: dict[str, Any] | None = None
        self.used_arrays: set[str] = set()
        self.used_tensors: set[str] = set()

    def fail(self, where: str, problem: str) -> DataError:
        return DataError(f"{self.model_json}: {where or 'the model'}: {problem}")

    # the data files, opened on first use
    def _file(self, name: str, where: str) -> Path:
        if name not in self.doc["files"]:
            raise self.fail(where, f"refers to {name}, which model.json does not list")
        return self.root / name

    def array(self, desc: dict[str, Any], where: str) -> np.ndarray:
        file = self._file(ARRAYS_FILE, where)
        if self._arrays is None:
            try:
                self._arrays = np.load(file, allow_pickle=False)
            except (OSError, ValueError) as err:
                raise DataError(f"{file}: corrupted: {err}") from None
        key = desc["key"]
        if key not in self._arrays.files:
            raise DataError(f"{file}: no array {key!r} (model.json refers to it at {where}).")
        try:
            value = self._arrays[key]
        except (OSError, ValueError) as err:
            raise DataError(f"{file}: array {key!r} is unreadable: {err}") from None
        if value.dtype.str != desc["dtype"] or list(value.shape) != list(desc["shape"]):
            raise DataError(f"{file}: array {key!r} is {value.dtype.str} {list(value.shape)}, "
                            f"model.json records {desc['dtype']} {desc['shape']}.")
        self.used_arrays.add(key)
        return np.asarray(value)

    def tensors(self, where: str) -> dict[str, Any]:
        file = self._file(WEIGHTS_FILE, where)
        if self._tensors is None:
            from safetensors import SafetensorError
            from safetensors.torch import load_file

            try:
                self._tensors = load_file(str(file))
            except (SafetensorError, OSError, ValueError) as err:
                raise DataError(f"{file}: corrupted: {err}") from None
        return self._tensors

    def tensor(self, key: str, where: str) -> Any:
        tensors = self.tensors(where)
        if key not in tensors:
            raise DataError(f"{self.root / WEIGHTS_FILE}: no tensor {key!r} (model.json refers "
                            f"to it at {where}).")
        self.used_tensors.add(key)
        return tensors[key]

    # values
    def value(self, v: Any, where: str) -> Any:
        if v is None or type(v) in (bool, int, float, str):
            return v
        if type(v) is not dict or not isinstance(v.get(_KIND), str):
            raise self.fail(where, f"not a value description: {str(v)[:80]}")
        kind = v[_KIND]
        if kind == "float":
            if v.get("value") not in ("nan", "inf", "-inf"):
                raise self.fail(where, f"bad non-finite float {v.get('value')!r}")
            return float(v["value"])
        if kind == "numpy_scalar":
            if v.get("dtype") not in _SCALAR_DTYPES:
                raise self.fail(where, f"unsupported numpy scalar dtype {v.get('dtype')!r}")
            return np.dtype(v["dtype"]).type(self.value(v["value"], where))
        if kind == "ndarray":
            return self.array(v, where)
        if kind in ("list", "tuple"):
            items = [self.value(x, f"{where}[{i}]") for i, x in enumerate(v["items"])]
            return items if kind == "list" else tuple(items)
        if kind == "dict":
            return {self.value(k, f"{where}[{i}].key"): self.value(x, f"{where}[{i}]")
                    for i, (k, x) in enumerate(v["items"])}
        if kind == "tensor":
            return self.loose_tensor(v, where)
        if kind == "estimator":
            return self.estimator(v, where)
        if kind == "object":
            return self.object(v, where)
        if kind == "module":
            raise self.fail(where, "a torch module outside an estimator's attributes")
        raise self.fail(where, f"unknown kind {kind!r}")

    def loose_tensor(self, v: dict[str, Any], where: str) -> Any:
        import torch

        t = self.tensor(v["key"], where)
        if str(t.dtype).removeprefix("torch.") != v["dtype"] or list(t.shape) != v["shape"]:
            raise DataError(f"{self.root / WEIGHTS_FILE}: tensor {v['key']!r} is {t.dtype} "
                            f"{list(t.shape)}, model.json records {v['dtype']} {v['shape']}.")
        if v.get("parameter"):
            return torch.nn.Parameter(t, requires_grad=bool(v["requires_grad"]))
        return t.requires_grad_(bool(v["requires_grad"]))

    def resolve(self, path: Any, where: str) -> type[Any]:
        if not isinstance(path, str) or not _trusted(path, self.trusted_modules):
            raise self.fail(where, f"class {path!r} is outside {LOADABLE_PREFIX.rstrip('.')}: "
                                   f"refusing to load it (pass trusted_modules to allow it)")
        module_name, _, name = path.rpartition(".")
        try:
            cls = getattr(importlib.import_module(module_name), name)
        except (ImportError, AttributeError) as err:
            raise self.fail(where, f"class {path} does not exist in this paper_lib "
                                   f"({err})") from None
        if not isinstance(cls, type) or class_path(cls) != path:
            raise self.fail(where, f"{path} is not a class defined there")
        return cls

    def object(self, v: dict[str, Any], where: str) -> Any:
        cls = self.resolve(v.get("class"), where)
        if issubclass(cls, BaseEstimator):
            raise self.fail(where, f"{v['class']} is an estimator, described as an object")
        obj = object.__new__(cls)   # no __init__: the attributes are restored as saved
        vars(obj).update({k: self.value(x, _join(where, k)) for k, x in v["state"].items()})
        return obj

    def estimator(self, v: dict[str, Any], where: str) -> BaseEstimator:
        cls = self.resolve(v.get("class"), where)
        if not issubclass(cls, BaseEstimator):
            raise self.fail(where, f"{v['class']} is not an estimator")
        params = {k: self.value(x, _join(where, k)) for k, x in v["params"].items()}
        expected = set(cls._get_param_names())
        if set(params) != expected:
            raise self.fail(where, f"the hyper-parameters of {cls.__name__} in this paper_lib "
                                   f"differ from the saved ones (missing: "
                                   f"{sorted(expected - set(params))}, unknown: "
                                   f"{sorted(set(params) - expected)})")
        est = cls(**params)
        state: dict[str, Any] = v["state"]
        modules = {k: None for k, x in state.items()
                   if type(x) is dict and x.get(_KIND) == "module"}
        vars(est).update({k: self.value(x, _join(where, k)) for k, x in state.items()
                          if k not in modules})
        if modules:
            built = _check_rebuilt(est, modules, state,
                                   f"{self.model_json}: {where}" if where else str(self.model_json),
                                   DataError)
            loaded = {name: self.module(built[name], state[name], _join(where, name))
                      for name in modules}
            ordered = {k: x for k, x in vars(est).items() if k not in state} | {
                k: loaded[k] if k in loaded else vars(est)[k] for k in state}
            vars(est).clear()
            vars(est).update(ordered)        # the attributes in their saved order
        return est

    def module(self, m: torch.nn.Module, desc: dict[str, Any], where: str) -> torch.nn.Module:
        expected = m.state_dict()
        weights = {}
        for key, like in expected.items():
            t = self.tensor(f"{desc['prefix']}.{key}", where)
            if t.shape != like.shape or t.dtype != like.dtype:
                raise DataError(f"{self.root / WEIGHTS_FILE}: {desc['prefix']}.{key} is "
                                f"{t.dtype} {list(t.shape)}, the model needs {like.dtype} "
                                f"{list(like.shape)}.")
            weights[key] = t
        m.load_state_dict(weights, strict=True)
        training = set(desc["training"])
        for name, sub in m.named_modules():
            sub.training = name in training
        return m

    def check_all_used(self) -> None:
        """Every array and tensor of the files belongs to the description (else: a mismatch)."""
        if self._arrays is not None and set(self._arrays.files) - self.used_arrays:
            extra = sorted(set(self._arrays.files) - self.used_arrays)
            raise DataError(f"{self.root / ARRAYS_FILE}: arrays {_short(extra)} are not in "
                            f"model.json.")
        if self._tensors is not None and set(self._tensors) - self.used_tensors:
            extra = sorted(set(self._tensors) - self.used_tensors)
            raise DataError(f"{self.root / WEIGHTS_FILE}: tensors {_short(extra)} are not in "
                            f"model.json.")


def load_model(directory: str | Path, *,
               trusted_modules: Iterable[str] = ()) -> CrossModalEstimator:
    """Load the fitted estimator saved by :func:`save_model` in ``directory``.

    Checks, in order: model.json exists and is valid JSON of format ``paper_lib-model`` and
    version :data:`FORMAT_VERSION`; its own checksum; every listed file exists and has its
    recorded sha256; the class lives under ``paper_lib.methods`` (or ``trusted_modules``) and
    takes the saved hyper-parameters; every array and tensor has the recorded dtype and shape;
    the modules the class rebuilds (``_build_modules``) take the saved weights exactly.

    Parameters
    ----------
    directory : str or Path
        A model directory.
    trusted_modules : iterable of str, default=()
        Further module prefixes whose classes may be imported (a method of your own).

    Returns
    -------
    CrossModalEstimator
        The fitted estimator, equal to the saved one attribute for attribute: its
        ``transform`` gives identical embeddings.

    Raises
    ------
    DataError
        Naming the file and the problem, for any failed check; never a wrong model.
    """
    root = Path(directory)
    doc = read_model_info(root)
    decoder = _Decoder(root, doc, tuple(trusted_modules))
    desc = {_KIND: "estimator", "class": doc.get("class"), "params": doc.get("params"),
            "state": doc.get("state")}
    try:
        est = decoder.estimator(desc, "")
    except DataError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as err:
        raise DataError(f"{root / MODEL_FILE}: malformed model description "
                        f"({type(err).__name__}: {err}).") from None
    decoder.check_all_used()
    if not isinstance(est, CrossModalEstimator) or not est.__sklearn_is_fitted__():
        raise DataError(f"{root / MODEL_FILE}: {doc.get('class')} is not a fitted "
                        f"CrossModalEstimator.")
    return est


__all__ = ["ARRAYS_FILE", "FOREIGN_CLASSES", "FORMAT", "FORMAT_VERSION", "LOADABLE_PREFIX",
           "MODEL_FILE", "WEIGHTS_FILE", "class_path", "load_model", "read_model_info",
           "save_model"]
