"""paper_lib: the library behind the TNN-C-CCA reproducible companion.

Sub-packages (find the room for a change by name):
- ``paper_lib.data``     datasets: the dataset model, the authors' file formats, embedded datasets;
- ``paper_lib.methods``  CCA, Cluster-CCA, KCCA, DCCA, the triplet network (TNN-C-CCA), ...;
- ``paper_lib.metrics``  the one retrieval-metrics module behind every table and curve;
- ``paper_lib.experiment`` the cross-validation runner;
- ``paper_lib.pipeline`` papermill execution, results with provenance, the book build.
"""

__version__ = "0.1.0"
