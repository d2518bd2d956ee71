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
