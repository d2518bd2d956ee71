"""How a result table reads in the book: one home for the cell formats and the Markdown table.

- :func:`mean_std` writes "mean ± std" on one line (a no-break space keeps it together);
- :func:`p_value` writes p-values in scientific notation below 10⁻³ (never "0.0000");
- :func:`markdown_table` turns a DataFrame into a pipe table (no index column, every row, numbers
  right-aligned, the best value of chosen columns in bold), which the book renders with a caption
  and a number (:mod:`paper_lib.pipeline.present`).

Examples
--------
>>> import pandas as pd
>>> mean_std(0.71234, 0.0123)
'0.712\\xa0±\\xa00.012'
>>> p_value(8.3e-58), p_value(0.0312)
('8.3e-58', '0.031')
>>> print(markdown_table(pd.DataFrame({"method": ["CCA", "C-CCA"], "MAP": [0.5, 0.61]}),
...                      best={"MAP": "max"}))
| method | MAP |
|:--|--:|
| CCA | 0.500 |
| C-CCA | **0.610** |
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

#: the dash shown where a table has no number (a missing value, not a zero)
MISSING = "—"
_NBSP = "\u00a0"


def mean_std(mean: float, std: float, digits: int = 3) -> str:
    """``mean ± std`` on one line, or :data:`~paper_lib.report.tables.MISSING` when the mean is not a number."""
    if mean is None or not np.isfinite(mean):
        return MISSING
    spread = "" if std is None or not np.isfinite(std) else f"{_NBSP}±{_NBSP}{std:.{digits}f}"
    return f"{mean:.{digits}f}{spread}"


def p_value(p: float) -> str:
    """A p-value as read: three decimals from 0.001 up, scientific notation below."""
    if p is None or not np.isfinite(p):
        return MISSING
    return f"{p:.3f}" if p >= 1e-3 else f"{p:.1e}".replace("e-0", "e-")


def number(value: Any, digits: int = 3) -> str:
    """One cell: floats with ``digits`` decimals, integers as they are, text escaped for a
    pipe table, missing values as :data:`~paper_lib.report.tables.MISSING`."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        return f"{float(value):.{digits}f}"
    text = str(value)
    if text in ("", "nan", "None"):
        return MISSING
    return text.replace("|", "\\|").replace("\n", " ")


def _numeric(series: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series)) and not pd.api.types.is_bool_dtype(series)


def markdown_table(df: pd.DataFrame, *, digits: int | Mapping[str, int] = 3,
                   best: Mapping[str, str] | None = None) -> str:
    """``df`` as a Markdown pipe table: every row, no index, numeric columns right-aligned.

    ``digits`` is one number of decimals or one per column (default 3); ``best`` maps a numeric
    column to ``"max"`` or ``"min"``: its best value (every tie) is set in bold."""
    if df.columns.duplicated().any():
        raise ValueError(f"markdown_table: duplicate column names {list(df.columns)}")
    bold: dict[str, set[int]] = {}
    for column, direction in (best or {}).items():
        if direction not in ("max", "min"):
            raise ValueError(f"markdown_table: best[{column!r}] must be 'max' or 'min', "
                             f"got {direction!r}")
        values = pd.to_numeric(df[column], errors="coerce")
        if values.notna().any():
            target = values.max() if direction == "max" else values.min()
            bold[column] = {i for i, v in enumerate(values) if v == target}
    header = "| " + " | ".join(number(c) for c in df.columns) + " |"
    rule = "|" + "|".join("--:" if _numeric(df[c]) else ":--" for c in df.columns) + "|"
    lines = [header, rule]
    for i, row in enumerate(df.itertuples(index=False)):
        cells = []
        for column, value in zip(df.columns, row, strict=True):
            places = digits if isinstance(digits, int) else digits.get(column, 3)
            cell = number(value, places)
            if i in bold.get(column, ()) and cell != MISSING:
                cell = f"**{cell}**"
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
