"""The paper's facts, and the one rule deciding which of its numbers go beside ours.

Facts (Zeng, Yu, Oyama, ACM TOMM 2020): the methods of its main comparison and their order, the
four state-of-the-art baselines, d = 10, the VEGAS training-fold size behind its "batch number",
the datasets it reports numbers on.

Reported numbers are stored with their provenance in ``data_manifest/<dataset>.yaml`` (block
``reported``); :func:`load_reported` reads and checks them, :func:`reference` is the rule every
table, figure and the "paper vs this book" page uses:

- a dataset the paper reports the table for (VEGAS, MV-10K) is compared with its own numbers;
- any other dataset (avdigits, synthetic, AVE, a generic file) is shown beside the paper's VEGAS
  numbers, labelled as such: a reference, never a target.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from paper_lib.data.manifest import load_manifest, manifest_path
from paper_lib.errors import DataError
from paper_lib.metrics.cross_modal import DIRECTIONS

#: the paper's six CCA-based baselines (the book's method keys)
CCA_BASELINES: tuple[str, ...] = ("cca", "kcca", "dcca", "c_cca", "c_kcca", "c_dcca")
#: the paper's four state-of-the-art baselines, each built from its own paper
#: (``paper_lib.methods.ugach`` / ``ucal`` / ``acmr`` / ``agah``)
SOTA_BASELINES: tuple[str, ...] = ("ugach", "ucal", "acmr", "agah")
#: the paper's own methods: lstm_C-CCA and TNN-C-CCA with random and batch-all triplets
OWN_METHODS: tuple[str, ...] = ("lstm_c_cca", "tnn_c_cca_random", "tnn_c_cca")
#: the paper's main comparison, in its order: 6 CCA-based + 4 state-of-the-art baselines, then
#: its own methods (thirteen rows)
PAPER_METHODS: tuple[str, ...] = (*CCA_BASELINES, *SOTA_BASELINES, *OWN_METHODS)
#: method keys a reported block may use
REPORTED_METHODS: tuple[str, ...] = PAPER_METHODS
#: the paper's number of correlation components in the main comparison (d = 10)
PAPER_DIM = 10
#: VEGAS training clips per fold (4/5 of the 28,103 clips used): the paper's "batch number" bn
#: cuts this many clips into bn chunks.
VEGAS_TRAIN_CLIPS = 22483
#: datasets the paper reports numbers on, with their printed names
PAPER_DATASETS: dict[str, str] = {"vegas": "VEGAS", "mv10k": "MV-10K"}
#: the dataset whose numbers stand as the reference for every other dataset
REFERENCE_DATASET = "vegas"
REPORTED_COLUMNS = ["dataset", "table", "method", "setting", "direction", "value", "source"]


# -- reading the reported numbers --------------------------------------------------------------
def _iter_block(block: dict[str, Any]) -> Iterator[tuple[str, str, str, Any]]:
    """(setting, method, direction, value) of one reported block; setting "" for plain tables."""
    if "values" in block:
        groups = {"": block["values"]}
    else:
        name = block.get("setting_name", "setting")
        groups = {f"{name}={key}": val for key, val in block["settings"].items()}
    for setting, methods in groups.items():
        for method, dirs in methods.items():
            for direction, value in dirs.items():
                yield setting, method, direction, value


def check_reported_block(block: Any, fail: Callable[[str], None]) -> None:
    """A reported block: table, source, and ``values`` or ``settings`` of {method: {a2v, v2a}}."""
    if not isinstance(block, dict):
        fail("every reported block must be a mapping")
    if not block.get("table") or not block.get("source"):
        fail(f"reported block {block.get('table')!r} needs 'table' and 'source'")
    if ("values" in block) == ("settings" in block):
        fail(f"reported block {block['table']!r} needs exactly one of 'values' or 'settings'")
    for _setting, method, direction, value in _iter_block(block):
        if method not in REPORTED_METHODS:
            fail(f"reported block {block['table']!r}: unknown method {method!r} "
                 f"(known: {', '.join(REPORTED_METHODS)})")
        if direction not in DIRECTIONS:
            fail(f"reported block {block['table']!r}: direction must be a2v or v2a")
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not 0.0 <= value <= 1.0:
            fail(f"reported block {block['table']!r}: {method} {direction} = {value!r} is not a "
                 f"number in [0, 1]")


def load_reported(name: str) -> pd.DataFrame:
    """The paper's reported numbers for dataset ``name`` as a tidy table.

    Columns: dataset, table, method, setting (``""`` for a plain table, else e.g. ``d=10``,
    ``margin=0.5``), direction (``a2v``/``v2a``), value, source (provenance of the block).
    A malformed block raises :class:`DataError` naming the manifest file.
    """
    man = load_manifest(name)
    path = manifest_path(name)

    def fail(msg: str) -> None:
        raise DataError(f"{path}: {msg}")

    for block in man["reported"]:
        check_reported_block(block, fail)
    rows = [{"dataset": name, "table": block["table"], "method": method, "setting": setting,
             "direction": direction, "value": float(value), "source": block["source"]}
            for block in man["reported"]
            for setting, method, direction, value in _iter_block(block)]
    return pd.DataFrame(rows, columns=REPORTED_COLUMNS)


# -- the rule ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reference:
    """The paper's rows of one table to show beside ours, and how to label them."""

    rows: pd.DataFrame      # REPORTED_COLUMNS, only the table's rows
    dataset: str            # the printed name of the dataset they were reported on ("VEGAS")
    own: bool               # True when they were reported on the dataset of this build

    @property
    def label(self) -> str:
        """Column and legend label: ``"paper, VEGAS"``."""
        return f"paper, {self.dataset}"


def reference(table: str, dataset: str) -> Reference:
    """The paper's numbers of ``table`` to show beside this build's results on ``dataset``.

    The dataset's own numbers where the paper reports ``table`` for it, else the reference
    dataset's (VEGAS). A table the paper does not report raises ``ValueError``.
    """
    key = str(dataset).lower()
    if key in PAPER_DATASETS:
        rows = _table_rows(key, table)
        if len(rows):
            return Reference(rows, PAPER_DATASETS[key], own=True)
    rep = load_reported(REFERENCE_DATASET)
    rows = rep[rep["table"] == table].reset_index(drop=True)
    if rows.empty:
        raise ValueError(f"table: the paper reports no table {table!r}; known: "
                         f"{', '.join(sorted(rep['table'].unique()))}")
    return Reference(rows, PAPER_DATASETS[REFERENCE_DATASET], own=False)


def _table_rows(name: str, table: str) -> pd.DataFrame:
    rep = load_reported(name)
    return rep[rep["table"] == table].reset_index(drop=True)


def reported_for(dataset: str) -> tuple[pd.DataFrame, str]:
    """Every reported number to compare with ``dataset`` (its own, or VEGAS's), and the printed
    name of the dataset they were reported on."""
    key = str(dataset).lower()
    name = key if key in PAPER_DATASETS else REFERENCE_DATASET
    return load_reported(name), PAPER_DATASETS[name]
