"""paper_lib: the library behind the TNN-C-CCA reproducible companion.

Sub-packages (find the room for a change by name):
- ``paper_lib.data``      datasets: the dataset model, the authors' file formats, embedded
  datasets (``synthetic``, ``avdigits``), the data manifest;
- ``paper_lib.extract``   feature extraction (the VGGish-style log-mel front-end);
- ``paper_lib.methods``   CCA, Cluster-CCA, KCCA, DCCA, lstm_C-CCA, the triplet network (TNN-C-CCA);
- ``paper_lib.metrics``   the one retrieval-metrics module behind every table and curve;
- ``paper_lib.experiment`` the cross-validation runner (``experiment_cache``: shared fits);
- ``paper_lib.report``    the tables and figures each notebook shows;
- ``paper_lib.pipeline``  parameters and profiles, papermill execution, provenance, the book build;
- ``paper_lib.cli``       the ``paper-lib`` command.
"""

__version__ = "0.1.0"
