"""paper_lib: the library behind the TNN-C-CCA reproducible companion.

Find the room for a change by name; each layer imports only the layers below it (enforced by
``lint-imports``, see ``[tool.importlinter]`` in ``pyproject.toml`` and the book's "Extending the
companion" page):

- ``paper_lib.cli``         the ``paper-lib`` command;
- ``paper_lib.pipeline``    papermill execution, notebook parameters, provenance, the book build;
- ``paper_lib.report``      the tables and figures of each artefact and teaching chapter;
- ``paper_lib.search``      saved models in use: faiss indexes, ``paper-lib fit``, ``embed``,
  ``index build``, ``search``;
- ``paper_lib.experiment``  the protocol: evaluate a split, the shared cache, grids, knobs and
  profiles, ``paper-lib run``;
- ``paper_lib.paper``       the paper's facts and the rule choosing its numbers to show beside ours;
- ``paper_lib.methods``     CCA, Cluster-CCA, KCCA, DCCA, lstm_C-CCA, the triplet network, the
  baselines and related systems, the registry, saving and loading a fitted method;
- ``paper_lib.data``        the dataset model, the authors' formats, embedded datasets, the manifest,
  a folder of videos to the per-clip layout (``paper-lib extract``);
- ``paper_lib.extract``     feature extraction of one clip: decoding, the log-mel front-end, VGGish,
  Inception V3, PCA and quantisation;
- ``paper_lib.metrics``     the one retrieval-metrics module behind every table and curve;
- ``paper_lib.engine``      where independent tasks run: in this process or on a Dask cluster;
- core: ``errors`` (``UserError``), ``threads`` (the thread policy), ``fingerprint``, ``atomic``,
  ``paths``.
"""

# The one home of the version: pyproject.toml reads it ([tool.setuptools.dynamic]), the wheel's
# metadata carries it, CHANGELOG.md's newest entry names it (tests/test_packaging.py).
__version__ = "0.1.0"
