"""The project's own user-facing errors: one base type, :class:`UserError`.

A ``UserError`` means *the input is wrong* (a bad data file, a bad parameter or argument), never
*the code is wrong*. The command line turns it into one line and exit status 2; any other
exception is a bug and surfaces with its traceback.

``UserError`` is a ``ValueError``, so library callers that follow scikit-learn's convention
(``except ValueError``) keep working.
"""

from __future__ import annotations


class UserError(ValueError):
    """Bad input: the message names the file, field, argument or parameter and the problem."""


class DataError(UserError):
    """Bad or missing data. The message names the file (or field) and the problem."""


class ParamError(UserError):
    """A bad notebook or command-line parameter; the message is one line."""


def check_int(value: object, name: str, minimum: int = 0) -> int:
    """``value`` as an ``int`` of at least ``minimum`` (bools refused), or a
    :class:`ParamError` naming the argument ``name``: the integer-argument check of the layers
    that cannot reach :mod:`paper_lib.methods._validation` (feature networks, corpora, training).

    >>> check_int(3, "epochs", 1)
    3
    >>> check_int(0, "epochs", 1)
    Traceback (most recent call last):
    ...
    paper_lib.errors.ParamError: epochs must be an integer >= 1, got 0
    """
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ParamError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
