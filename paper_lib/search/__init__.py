"""Search a collection with a saved model: nearest-neighbour indexes and the model commands.

- :mod:`paper_lib.search.index`: faiss indexes (exact, IVF, HNSW) over embeddings with their clip
  ids, labels and class names; ``search``, ``save_index`` / ``load_index``, recall against the
  exact index;
- :mod:`paper_lib.search.cli`: ``paper-lib fit`` (fit a method and save it,
  :mod:`paper_lib.methods.persist`), ``embed``, ``index build`` and ``search``.

A layer above :mod:`paper_lib.experiment`: it reuses the runner's inputs of a method
(``paper_lib.experiment.evaluate.method_inputs``) and its ``--set`` parsing. faiss is the ``search`` extra (``pip install "paper_lib[search]"``).
"""
