"""``paper-lib extract VIDEO_DIR OUT_DIR``: features from raw videos, on a laptop or a cluster.

Engines: by default a Dask ``LocalCluster`` sized to this machine; ``--scheduler ADDRESS`` uses
an existing Dask cluster; ``--serial`` stays in this process (no Dask needed). ``--shard I/N``
extracts one N-th of the corpus (array jobs); a final run without ``--shard`` writes the folds
and the manifest. Exit status: 0 all clips done, 1 some clips failed (listed), 2 bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from paper_lib.extract.weights import WEIGHT_NAMES

#: exit codes: every clip extracted / some failed (listed) / bad input (one line)
EXIT_OK, EXIT_SOME_FAILED = 0, 1


def add_extract_parser(subparsers: Any) -> None:
    """Add the ``extract`` command to the ``paper-lib`` subparsers."""
    p = subparsers.add_parser(
        "extract", help="per-second VGGish and Inception V3 features of a folder of videos",
        description="Decode every clip of VIDEO_DIR/<class>/, compute VGGish (audio) and "
                    "Inception V3 + PCA (visual) features per second and write the per-clip "
                    "layout (vgg/, inception/, classes/, folds/, extraction.json) to OUT_DIR. "
                    "Resumable: clips already done are skipped.")
    p.add_argument("video_dir", metavar="VIDEO_DIR", help="one sub-folder of clips per class")
    p.add_argument("out_dir", metavar="OUT_DIR", help="where the features are written")
    p.add_argument("--weights", choices=("pretrained", "random"), default="pretrained",
                   help="published weights from local files (default; see "
                        "data_manifest/extractors.yaml), or seeded random networks (a demo of "
                        "the pipeline, not of the features' quality)")
    for name in WEIGHT_NAMES:
        p.add_argument(f"--{name.replace('_', '-')}", dest=f"w_{name}", default="",
                       metavar="PATH", help=f"the {name} weight file (default: its environment "
                                            f"variable or $PAPER_LIB_WEIGHTS_DIR)")
    p.add_argument("--seed", type=int, default=0, help="seed of --weights random")
    p.add_argument("--max-seconds", type=float, default=10.0,
                   help="use the first N seconds of each clip (default 10, as the paper)")
    engine = p.add_mutually_exclusive_group()
    engine.add_argument("--scheduler", default="", metavar="ADDRESS",
                        help="run on this Dask scheduler (e.g. tcp://10.0.0.5:8786)")
    engine.add_argument("--workers", type=int, default=0,
                        help="LocalCluster workers (default: one per available core)")
    engine.add_argument("--serial", action="store_true", help="run in this process, no Dask")
    p.add_argument("--shard", default="", metavar="I/N",
                   help="extract only shard I of N (e.g. $SLURM_ARRAY_TASK_ID/16)")
    p.add_argument("--folds", type=int, default=5, help="class-balanced folds to write")
    p.add_argument("--fold-seed", type=int, default=0, help="seed of the fold assignment")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


@contextlib.contextmanager
def _client(args: argparse.Namespace) -> Iterator[Any]:
    if args.serial:
        yield None
        return
    from paper_lib.engine import dask_client

    with dask_client(args.scheduler or None, args.workers or None) as client:
        yield client


def _progress_bar(enabled: bool) -> tuple[Any, Any]:
    """A tqdm bar showing clips done, clips/s, ETA and seconds of video per second."""
    if not enabled:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=0, unit="clip", file=sys.stderr, dynamic_ncols=True)
    start = time.perf_counter()

    def update(done: int, total: int, video_seconds: float) -> None:
        bar.total = total
        bar.n = done
        speed = video_seconds / max(time.perf_counter() - start, 1e-9)
        bar.set_postfix_str(f"{speed:.1f} s of video/s", refresh=False)
        bar.refresh()

    return bar, update


def run_extract(args: argparse.Namespace) -> int:
    """Run ``paper-lib extract``; bad input raises a UserError (one line, exit 2)."""
    from paper_lib import threads
    from paper_lib.data.from_video import MANIFEST, extract_corpus, parse_shard
    from paper_lib.extract.clip import ExtractorSpec

    threads.apply_policy()     # a serial run computes as each single-threaded worker does
    shard = parse_shard(args.shard) if args.shard else (0, 1)
    paths = tuple((name, getattr(args, f"w_{name}")) for name in WEIGHT_NAMES
                  if getattr(args, f"w_{name}"))
    spec = ExtractorSpec(weights=args.weights, seed=args.seed, max_seconds=args.max_seconds,
                         paths=paths)
    if spec.weights == "pretrained":           # missing or wrong weights: say so before any work
        from paper_lib.extract.clip import extractor_for

        extractor_for(spec)
    bar, update = _progress_bar(not args.no_progress)
    try:
        with _client(args) as client:
            report = extract_corpus(args.video_dir, args.out_dir, spec, shard=shard,
                                    client=client, n_folds=args.folds, fold_seed=args.fold_seed,
                                    progress=update)
    finally:
        if bar is not None:
            bar.close()
    out = Path(args.out_dir)
    print(f"{len(report.extracted)} clip(s) extracted, {len(report.skipped)} already done, "
          f"{len(report.failures)} failed; {report.video_seconds:.1f} s of video in "
          f"{report.wall_seconds:.1f} s ({report.realtime_factor:.2f} s of video per second)")
    for f in report.failures:
        print(f"failed: {f['error']}", file=sys.stderr)
    if shard[1] > 1:
        print(f"shard {shard[0]}/{shard[1]} done; when every shard is, run once without --shard "
              f"to write the folds and {MANIFEST}")
    elif report.folds_written:
        print(f"written: {out} (load it with load_dataset({str(out)!r}) or "
              f"--dataset {out})")
    else:
        print(f"folds not written: a class has fewer than {args.folds} extracted clips "
              f"(see {out / MANIFEST})", file=sys.stderr)
    return EXIT_SOME_FAILED if report.failures else EXIT_OK
