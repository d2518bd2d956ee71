"""Cross-modal embedding methods, all with one scikit-learn-style API (see ``base.py``)."""
