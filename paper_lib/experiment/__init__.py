"""The experiment layer: evaluate a method on a dataset's splits under the paper's protocol.

- :mod:`~paper_lib.experiment.result`   ``SplitResult``: test embeddings, the similarity they are
  ranked with, ``scores(direction)``, metrics, cost;
- :mod:`~paper_lib.experiment.evaluate` ``evaluate_split``: fit on the training rows, embed the
  test rows per view, score both directions; ``records``: tidy rows;
- :mod:`~paper_lib.experiment.cache`    evaluated splits shared by every notebook;
- :mod:`~paper_lib.experiment.grid`     ``Config``, ``run_configs``, ``cross_validate``,
  ``summarise``;
- :mod:`~paper_lib.experiment.knobs`    a knob's levels per profile (ablations);
- :mod:`~paper_lib.experiment.cli`      ``paper-lib run``.
"""

from paper_lib.experiment.evaluate import RECORD_COLUMNS, evaluate_split, records
from paper_lib.experiment.grid import (
    Config,
    cross_validate,
    dim_label,
    fits_label,
    ranking_label,
    run_configs,
    summarise,
)
from paper_lib.experiment.result import SplitResult
from paper_lib.metrics.cross_modal import DIRECTIONS

__all__ = ["DIRECTIONS", "RECORD_COLUMNS", "Config", "SplitResult", "cross_validate",
           "dim_label", "evaluate_split", "fits_label", "ranking_label", "records", "run_configs",
           "summarise"]
