"""The reproduction pipeline: notebook parameters and profiles, papermill execution with a cache,
results with provenance, and the Jupyter Book build."""
