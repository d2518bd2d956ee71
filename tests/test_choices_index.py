"""The generated "Every choice in the code" page shows each [choice] marker's whole explanation,
not its first line cut mid-sentence, and never a line of code."""

from __future__ import annotations

from paper_lib.pipeline.book import choice_explanation, choices_index

SOURCE = '''\
#: [choice] 101 levels: finer than any test fold's recall steps that matter to the eye, coarse
#: enough for a small CSV (10 methods x 2 directions x 101 points).
GRID = 101
N_CLIPS = 2000        # [choice] 2,000 clips: 1,600 training clips a fold
RATE = (120, 220)     # [choice] words per minute (eSpeak default 175)
def f(hidden=256):
    """Width of the common-representation layer ([choice]).

    - step [choice]: a first sentence that goes on
      over a second line and ends here. Not this one.
    """
'''


def test_an_explanation_is_followed_to_the_end_of_its_sentence():
    lines = SOURCE.splitlines()
    assert choice_explanation(lines, 0) == (
        "101 levels: finer than any test fold's recall steps that matter to the eye, coarse "
        "enough for a small CSV (10 methods x 2 directions x 101 points).")
    # a trailing comment never swallows the next line of code (or its own marker)
    assert choice_explanation(lines, 3) == "2,000 clips: 1,600 training clips a fold"
    assert choice_explanation(lines, 4) == "words per minute (eSpeak default 175)"
    # a marker with nothing after it is explained by what precedes it
    assert choice_explanation(lines, 6) == "Width of the common-representation layer."
    assert choice_explanation(lines, 8) == (
        ": a first sentence that goes on over a second line and ends here. Not this one.")


def test_the_page_is_one_numbered_table_of_every_marker():
    page = choices_index()
    assert page.count(":::{table}") == 1 and ":name: tbl-choices-index" in page
    rows = [line for line in page.splitlines() if line.startswith("| `paper_lib/")]
    assert len(rows) > 100
    assert not any(" = (" in row.split(" | ")[2] for row in rows), "code in an explanation"
