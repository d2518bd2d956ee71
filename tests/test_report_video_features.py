"""The "From video to features" chapter's tables as read: display headers, key columns first.
(Rendering and decoding real videos is covered by tests/test_from_video.py.)"""

from __future__ import annotations

import pandas as pd

from paper_lib.report import video_features as vf


def test_videos_view_has_units_in_the_headers():
    videos = pd.DataFrame({"clip": ["zero_0001"], "class": ["zero"], "file": ["zero/0001.mp4"],
                           "seconds": [2.0], "bytes": [12_345]})
    view = vf.videos_view(videos)
    assert list(view.columns) == ["class", "clip", "file", "length (s)", "file size (kB)"]
    assert view.loc[0, "file size (kB)"] == 12.345


def test_stage_and_throughput_views_put_the_key_columns_first():
    stages = pd.DataFrame({"stage": ["decode", "all stages"], "seconds": [0.5, 1.0],
                           "share": [0.5, 1.0], "video s per wall s": [8.0, 4.0]})
    assert list(vf.stages_view(stages).columns) == ["stage", "wall time (s)",
                                                    "share of the total", "video s per wall s"]
    runs = pd.DataFrame([{"clips extracted": 10, "clips failed": 0, "seconds of video": 20.0,
                          "wall time (s)": 5.0, "video s per wall s": 4.0, "workers": 1,
                          "cores available": 2, "engine": "this process"}])
    view = vf.throughput_view(runs)
    assert list(view.columns)[:4] == ["engine", "video s per wall s", "wall time (s)",
                                      "seconds of video"]
    assert set(view.columns) == set(runs.columns)
