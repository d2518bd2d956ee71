"""What the hashing methods (UGACH, AGAH) share: the code length and the sign quantiser.

A hashing method learns a real-valued "hash layer" h(x) (e.g. tanh outputs) and answers with the
binary code b = sign(h(x)) ∈ {-1, +1}^K. Codes are ranked by the Hamming distance
(:func:`paper_lib.metrics.similarity.negative_hamming`); the estimator says so through its
``retrieval_metric`` (``"hamming"`` while ``output="codes"``). ``output="relaxed"`` returns the
real-valued layer behind the codes (whose signs are the codes; e.g. UGACH's centred 2h − 1),
ranked by cosine like any real-valued method: reported separately, never in place of the codes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from paper_lib.methods._validation import check_choice, check_positive_int

#: [choice] 64 bits by default: UGACH (Zhang et al. 2018) and AGAH (Gu et al. 2019) report 16,
#: 32, 64 and 128 bits; 64 is the largest of them that is still a "short" code and is far more
#: than the log2(10) bits that ten classes need, so the comparison is not limited by capacity.
DEFAULT_CODE_LENGTH = 64
#: what a hashing estimator returns from ``transform``
HASH_OUTPUTS: tuple[str, ...] = ("codes", "relaxed")


def check_code_length(n_bits: Any) -> int:
    """``n_bits`` must be a positive integer (the code length K)."""
    return check_positive_int(n_bits, "n_bits")


def check_output(output: Any) -> str:
    """``output`` must be ``"codes"`` (binary, Hamming ranking) or ``"relaxed"`` (real-valued)."""
    return check_choice(output, "output", HASH_OUTPUTS)


def sign_codes(H: np.ndarray) -> np.ndarray:
    """b = sign(h) ∈ {-1, +1} as float64; an exact 0 becomes +1 (sign(0) = 0 is not a bit)."""
    return np.where(np.asarray(H, dtype=np.float64) >= 0.0, 1.0, -1.0)


def hashing_metric(output: str) -> str | None:
    """The ``retrieval_metric`` of a hashing estimator: Hamming for codes, the run's for relaxed."""
    return "hamming" if output == "codes" else None
