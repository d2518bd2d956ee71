"""Datasets: the dataset model, the authors' file formats, embedded datasets, the manifest."""

from paper_lib.data.dataset import DataError, PairedDataset

__all__ = ["DataError", "PairedDataset"]
