"""Feature extraction from raw media.

- :mod:`paper_lib.extract.logmel`: the VGGish-style log-mel audio front-end (numpy/scipy only),
  pooled to one 128-d vector per second and per clip.

The real VGGish (128-d audio) and Inception V3 (1024-d visual) extractors used for VEGAS are a later
issue; :func:`~paper_lib.extract.logmel.frame_examples` already cuts the 0.96 s x 64-band patches that
VGGish takes as input.
"""

from paper_lib.extract.logmel import (
    clip_level,
    frame_examples,
    log_mel,
    log_mel_many,
    mel_filterbank,
    pool_per_second,
    waveform_features,
)

__all__ = [
    "clip_level",
    "frame_examples",
    "log_mel",
    "log_mel_many",
    "mel_filterbank",
    "pool_per_second",
    "waveform_features",
]
