"""Render a small audio-visual clip with PyAV: a still image (or one image per second) as the video
track and a waveform as the audio track. Test fixtures and the book's examples use it to make
media files that :mod:`~paper_lib.extract.decode` reads back.

Containers, chosen by the file's suffix, and their codecs (all encoders of av 18.1.0's bundled
FFmpeg; the first available one of each list is used):

=========  ====================================  ==========================================
suffix     video (yuv420p)                        audio
=========  ====================================  ==========================================
``.mp4``   H.264 (libx264), else MPEG-4 part 2    AAC (FFmpeg's native encoder)
``.mkv``   H.264 (libx264), else MPEG-4 part 2    FLAC (lossless)
``.webm``  VP8 (libvpx), else VP9 (libvpx-vp9)    Opus (libopus)
``.avi``   MPEG-4 part 2                          PCM 16-bit
``.wav``   (audio only)                           PCM 16-bit
=========  ====================================  ==========================================

- [choice] yuv420p needs even sizes: an odd height or width is **padded** by repeating the last
  row or column (not resized), so the decoded frame's top-left ``H x W`` block is the image.
- [choice] An encoder that does not take ``sample_rate`` (Opus: 8, 12, 16, 24, 48 kHz) gets the
  next higher rate it takes; PyAV's encoder resamples.
- The video has ``max(1, round(seconds * fps))`` frames, frame ``i`` at ``i / fps`` s, showing
  ``images[i // fps]`` (the last image once they run out). Video and audio are written second by
  second, so the file is interleaved.
- The file is written atomically (:func:`paper_lib.atomic.atomic_path`): a failure leaves no file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from numbers import Integral, Real
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from paper_lib._optional import require
from paper_lib.atomic import atomic_path
from paper_lib.errors import ParamError

if TYPE_CHECKING:
    from os import PathLike


@dataclass(frozen=True)
class ContainerFormat:
    """An FFmpeg muxer and the encoders to try for its video and audio tracks."""

    muxer: str
    video: tuple[str, ...]       # empty: the container holds audio only
    audio: tuple[str, ...]


#: the containers write_clip makes, by file suffix, with the encoders tried for each track
FORMATS = {
    ".mp4": ContainerFormat("mp4", ("libx264", "mpeg4"), ("aac",)),
    ".mkv": ContainerFormat("matroska", ("libx264", "mpeg4"), ("flac",)),
    ".webm": ContainerFormat("webm", ("libvpx", "libvpx-vp9"), ("libopus",)),
    ".avi": ContainerFormat("avi", ("mpeg4",), ("pcm_s16le",)),
    ".wav": ContainerFormat("wav", (), ("pcm_s16le",)),
}
_MAX_CHANNELS = 2      # mono or stereo waveforms


def write_clip(path: str | PathLike[str], *, image: np.ndarray | None,
               waveform: np.ndarray | None, sample_rate: int = 16_000,
               seconds: float | None = None, fps: int = 25,
               images: Sequence[np.ndarray] | None = None) -> Path:
    """Write a clip showing ``image`` while playing ``waveform``; returns the path.

    Parameters
    ----------
    path : str or path-like
        Target file; its suffix picks the container and codecs (module docstring).
    image : np.ndarray or None
        (H, W) grayscale or (H, W, 3) RGB uint8 still, shown for ``seconds``; None for no video.
    waveform : np.ndarray or None
        (n,) mono or (n, 2) stereo float samples in [-1, 1]; None for no audio.
    sample_rate : int, default=16000
        Rate of ``waveform`` in Hz.
    seconds : float, optional
        Video duration; default: the waveform's duration (or ``len(images)``).
    fps : int, default=25
        Video frame rate.
    images : sequence of np.ndarray, optional
        Instead of ``image``: one still per second (same shape each), ``images[k]`` shown
        during ``[k, k + 1)`` s.

    Returns
    -------
    Path
        ``path``, written atomically.

    Raises
    ------
    ParamError
        An unknown suffix, an image or waveform of the wrong dtype, shape or range, both tracks
        missing, a non-positive ``seconds``, ``fps`` or ``sample_rate``; the message names it.
    """
    target = Path(path)
    fmt = _container_format(target)
    stills = _check_stills(image, images, fmt, target)
    audio = None if waveform is None else _check_waveform(waveform)
    rate, fps = _check_positive_int(sample_rate, "sample_rate"), _check_positive_int(fps, "fps")
    if not stills and audio is None:
        raise ParamError("write_clip: image and waveform are both None: nothing to write")
    if seconds is not None:
        seconds = _check_seconds(seconds)
    elif images is not None:
        seconds = len(images)
    n_frames = _n_video_frames(seconds, fps, audio, rate) if stills else 0
    av = require("av", extra="extract")
    with atomic_path(target) as tmp, av.open(str(tmp), "w", format=fmt.muxer) as container:
        video = _add_video(av, container, fmt, stills[0].shape, fps) if stills else None
        sound = _add_audio(av, container, fmt, audio.shape[1], rate) if audio is not None else None
        n_seconds = max(math.ceil(n_frames / fps), 0 if audio is None else
                        math.ceil(len(audio) / rate))
        frames = [_video_frame(av, s) for s in stills]
        for second in range(n_seconds):
            if video is not None:
                stop = min((second + 1) * fps, n_frames)
                _encode_video(container, video, frames, range(second * fps, stop), fps)
            if sound is not None and audio is not None:
                _encode_audio(av, container, sound, audio[second * rate:(second + 1) * rate],
                              second * rate, rate)
        for stream in (video, sound):
            if stream is not None:
                container.mux(stream.encode(None))          # flush the encoder
    return target


# --- arguments -----------------------------------------------------------------------------------
def _container_format(path: Path) -> ContainerFormat:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ParamError(f"path: unknown suffix {path.suffix!r} of {path}; use one of "
                         f"{', '.join(FORMATS)}")
    return fmt


def _check_stills(image: np.ndarray | None, images: Sequence[np.ndarray] | None,
                  fmt: ContainerFormat, path: Path) -> list[np.ndarray]:
    """The RGB stills to show, padded to even sizes; [] for an audio-only file."""
    if image is not None and images is not None:
        raise ParamError("write_clip: give image or images, not both")
    named = [("image", image)] if image is not None else [
        (f"images[{k}]", im) for k, im in enumerate(images or [])]
    if images is not None and not named:
        raise ParamError("images: an empty sequence (use image=None for an audio-only file)")
    if named and not fmt.video:
        raise ParamError(f"image: {path.suffix} files hold audio only; pass image=None")
    stills = [_rgb_even(name, im) for name, im in named]
    if any(s.shape != stills[0].shape for s in stills):
        raise ParamError(f"images: all images need one shape, got "
                         f"{sorted({s.shape for s in stills})}")
    return stills


def _rgb_even(name: str, image: np.ndarray) -> np.ndarray:
    """(H', W', 3) uint8 with even H', W' (edge rows/columns repeated) from (H, W) or (H, W, 3)."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ParamError(f"{name}: expected a uint8 numpy array, got "
                         f"{getattr(image, 'dtype', type(image).__name__)}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
        raise ParamError(f"{name}: expected shape (H, W) or (H, W, 3), got {image.shape}")
    pad = ((0, image.shape[0] % 2), (0, image.shape[1] % 2), (0, 0))
    return np.ascontiguousarray(np.pad(image, pad, mode="edge"))


def _check_waveform(waveform: np.ndarray) -> np.ndarray:
    """(n, channels) float32 from a (n,) or (n, channels) float array in [-1, 1]."""
    if not isinstance(waveform, np.ndarray) or not np.issubdtype(waveform.dtype, np.floating):
        raise ParamError(f"waveform: expected a float numpy array, got "
                         f"{getattr(waveform, 'dtype', type(waveform).__name__)}")
    x = waveform[:, None] if waveform.ndim == 1 else waveform
    if x.ndim != 2 or not 1 <= x.shape[1] <= _MAX_CHANNELS or len(x) == 0:
        raise ParamError(f"waveform: expected shape (n,) or (n, 2) with n > 0, got "
                         f"{waveform.shape}")
    if not np.isfinite(x).all() or np.abs(x).max() > 1.0:
        raise ParamError("waveform: samples must be finite and within [-1, 1]")
    return x.astype(np.float32)


def _check_positive_int(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value <= 0:
        raise ParamError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def _check_seconds(seconds: float) -> float:
    if (isinstance(seconds, bool) or not isinstance(seconds, Real)
            or not math.isfinite(seconds) or seconds <= 0):
        raise ParamError(f"seconds: expected a positive finite number, got {seconds!r}")
    return float(seconds)


def _n_video_frames(seconds: float | None, fps: int, audio: np.ndarray | None, rate: int) -> int:
    """``max(1, round(seconds * fps))``, ``seconds`` defaulting to the waveform's duration."""
    if seconds is None:
        if audio is None:
            raise ParamError("seconds: required for a still image without a waveform")
        seconds = len(audio) / rate
    return max(1, round(seconds * fps))


# --- encoding ------------------------------------------------------------------------------------
def _encoder(av: ModuleType, names: tuple[str, ...]) -> str:
    """The first of ``names`` that this FFmpeg build can encode with."""
    for name in names:
        try:
            av.codec.Codec(name, "w")
        except av.error.FFmpegError:
            continue
        return name
    raise ParamError(f"no encoder among {names} in PyAV's bundled FFmpeg")


def _add_video(av: ModuleType, container: Any, fmt: ContainerFormat,
               shape: tuple[int, ...], fps: int) -> Any:
    stream = container.add_stream(_encoder(av, fmt.video), rate=fps)
    stream.height, stream.width = shape[0], shape[1]
    stream.pix_fmt = "yuv420p"
    return stream


def _add_audio(av: ModuleType, container: Any, fmt: ContainerFormat, channels: int,
               rate: int) -> Any:
    name = _encoder(av, fmt.audio)
    rates = av.codec.Codec(name, "w").audio_rates
    if rates and rate not in rates:          # e.g. Opus at 44.1 kHz -> 48 kHz
        rate = min((r for r in rates if r >= rate), default=max(rates))
    stream = container.add_stream(name, rate=rate)
    stream.layout = "mono" if channels == 1 else "stereo"
    return stream


def _video_frame(av: ModuleType, rgb: np.ndarray) -> Any:
    """A yuv420p frame of one still, converted once and re-sent with each timestamp."""
    return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")


def _encode_video(container: Any, stream: Any, frames: list[Any], indices: range,
                  fps: int) -> None:
    for i in indices:
        frame = frames[min(i // fps, len(frames) - 1)]
        frame.pts, frame.time_base = i, Fraction(1, fps)
        container.mux(stream.encode(frame))


def _encode_audio(av: ModuleType, container: Any, stream: Any, chunk: np.ndarray, start: int,
                  rate: int) -> None:
    """Encode ``chunk`` (n, channels) float32 starting at sample ``start``."""
    if len(chunk) == 0:
        return
    layout = "mono" if chunk.shape[1] == 1 else "stereo"
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk.T), format="fltp",
                                       layout=layout)
    frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
    container.mux(stream.encode(frame))
