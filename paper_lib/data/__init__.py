"""Datasets: the dataset model, the authors' file formats, embedded datasets, the manifest.

One job per module: ``dataset`` (the model), ``registry`` (``load_dataset``), ``formats`` (the
readers), ``synthetic``/``avdigits`` (embedded generators), ``manifest`` (the YAML schema),
``locate`` (where a dataset's files are), ``verify`` (files against the manifest), ``fetch``
(downloads), ``cli`` (``paper-lib data``).
"""

from paper_lib.data.dataset import DataError, PairedDataset

__all__ = ["DataError", "PairedDataset"]
