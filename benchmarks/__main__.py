"""``python -m benchmarks``: every ``bench_*.py`` of this folder, one process each, in turn.

Each writes ``results/bench_<question>.csv``; the Performance chapter of the book reads them.
``python -m benchmarks metrics cluster_cca`` runs only those questions.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def questions() -> list[str]:
    """The benchmark questions, by script name (``bench_<question>.py``)."""
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def main(argv: list[str]) -> int:
    known = questions()
    chosen = argv or known
    unknown = [q for q in chosen if q not in known]
    if unknown:
        print(f"error: unknown benchmark {unknown[0]!r}; known: {', '.join(known)}",
              file=sys.stderr)
        return 2
    t_all = time.perf_counter()
    for question in chosen:
        t0 = time.perf_counter()
        print(f"bench {question} ...", flush=True)
        done = subprocess.run([sys.executable, "-m", f"benchmarks.bench_{question}"],
                              cwd=HERE.parent)
        if done.returncode != 0:
            print(f"error: benchmark {question} failed (exit {done.returncode})", file=sys.stderr)
            return 1
        print(f"bench {question}: {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"all benchmarks: {time.perf_counter() - t_all:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
