"""Tables and figures the notebooks show (the notebooks only call these and save the results)."""

from paper_lib._optional import require

# Every report draws with matplotlib, which the "book" extra installs: importing any module of
# this package without it raises MissingExtraError naming the extra.
require("matplotlib", extra="book")
