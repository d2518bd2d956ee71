"""Decode a media file into the paper's two inputs: 16 kHz mono audio and one frame per second.

The paper (Sec. 4.1, after the VEGAS release and YouTube-8M) feeds VGGish with the clip's sound
as 16 kHz mono and Inception V3 with one frame per second. Any container and codec FFmpeg reads
works: PyAV's wheels bundle FFmpeg, the ``extract`` extra of paper_lib installs PyAV.

**Audio** (:func:`decode_audio`): the first audio stream is decoded, converted by
``av.AudioResampler(format="fltp", rate=16000)`` (FFmpeg's libswresample, its default polyphase
filter) keeping the channels, then averaged over channels, concatenated, clipped to ``[-1, 1]``
and cut to ``round(max_seconds * 16000)`` samples.

- [choice] Mono is the plain **mean over channels** (VGGish: ``np.mean(data, axis=1)``), done in
  numpy after resampling (resampling is linear, so the order does not matter). FFmpeg's own
  ``layout="mono"`` is *not* an average: libswresample mixes stereo as ``(L + R) / sqrt(2)`` for
  float output (no normalisation), which leaves ``[-1, 1]`` for loud in-phase channels.
- [choice] Decoded samples are clipped to ``[-1, 1]``: lossy decoders (AAC, Opus) overshoot full
  scale slightly; VGGish reads 16-bit PCM, which cannot.
- [choice] Samples are taken from the first decoded one: an audio track that starts late is not
  padded with silence, and encoder padding that the container does not trim (AAC in MP4 keeps
  the last frame's padding: up to 1,024 samples at the coded rate) is kept.

**Frames** (:func:`decode_frames`): the first video stream (cover art, an "attached picture", is
not a video track). For each second ``t = 0, 1, 2, ... < max_seconds`` the first decoded frame
whose presentation time ``pts * time_base - start_time`` (exact fractions, relative to the
stream's start time) is ``>= t`` is kept, converted by ``frame.to_ndarray(format="rgb24")``.

- A frame serves one second only. If the video has a gap (no frame in ``[t, t + 1)``), the next
  frame serves ``t`` and the seconds it jumps over get none: the frame count is then smaller
  than ``ceil(min(duration, max_seconds))`` and ``frame_times`` says which times were kept.
- A frame at or after ``max_seconds`` is never kept, and decoding stops as soon as the last
  second below ``max_seconds`` has its frame (the rest of the file is not decoded).
- [choice] A frame without a timestamp (raw H.264 streams) gets ``index / average_rate``.
- [choice] All frames have the first kept frame's size (a mid-stream size change is rescaled).

:func:`decode_clip` opens the file once and demuxes both streams in one pass. Every per-file
problem raises :class:`MediaError` (a :class:`~paper_lib.errors.DataError`) whose one-line
message starts with the path; no PyAV exception escapes. Decoding is deterministic: the same file
gives identical arrays.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from numbers import Integral, Real
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, cast

import numpy as np

from paper_lib._optional import require
from paper_lib.errors import DataError, ParamError

if TYPE_CHECKING:
    from os import PathLike

    from av.audio.frame import AudioFrame
    from av.audio.resampler import AudioResampler
    from av.container import InputContainer
    from av.stream import Stream
    from av.video.frame import VideoFrame

SAMPLE_RATE = 16_000   # Hz, VGGish's input rate


class MediaError(DataError):
    """A per-file decoding problem; the one-line message starts with the file's path."""


@dataclass(frozen=True)
class DecodedClip:
    """What :func:`decode_clip` returns.

    Attributes
    ----------
    path : Path
        The decoded file.
    audio : np.ndarray
        (n_samples,) float32 mono at 16 kHz, values in [-1, 1].
    frames : np.ndarray
        (n_frames, H, W, 3) uint8 RGB, one frame per whole second; (0, 0, 0, 3) without video.
    frame_times : np.ndarray
        (n_frames,) float64 presentation time (s) of each kept frame.
    seconds : float
        Decoded duration used, ``len(audio) / 16000`` = min(audio duration, max_seconds).
    """

    path: Path
    audio: np.ndarray
    frames: np.ndarray
    frame_times: np.ndarray
    seconds: float


# --- public API ----------------------------------------------------------------------------------
def decode_audio(path: str | PathLike[str], max_seconds: float = 10.0,
                 sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(n_samples,) float32 mono waveform at ``sample_rate`` of the file's first audio stream.

    Parameters
    ----------
    path : str or path-like
        Any file FFmpeg reads (mp4, webm, mkv, avi, wav, mp3, ...).
    max_seconds : float, default=10.0
        Only the first ``round(max_seconds * sample_rate)`` samples are decoded and returned.
    sample_rate : int, default=16000
        Output rate in Hz.

    Raises
    ------
    MediaError
        The file is missing, a directory, unreadable, corrupt, has no audio track or no samples.
    ParamError
        ``max_seconds`` is not a positive finite number, ``sample_rate`` not a positive integer.
    """
    limit = _check_max_seconds(max_seconds)
    rate = _check_sample_rate(sample_rate)
    with _open(path) as (av, container):
        audio = _AudioSink(av, _need_stream(av, container, "audio", path), limit, rate)
        _run(av, container, path, [audio])
        return audio.result(path)


def decode_frames(path: str | PathLike[str],
                  max_seconds: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """One RGB frame per whole second of the file's first video stream, and their times.

    Returns ``frames`` (n_frames, H, W, 3) uint8 and ``frame_times`` (n_frames,) float64 in
    seconds; frame ``k`` is the first frame at or after its second (see the module docstring).

    Raises
    ------
    MediaError
        The file is missing, a directory, unreadable, corrupt, has no video track or no frame
        before ``max_seconds``.
    ParamError
        ``max_seconds`` is not a positive finite number.
    """
    limit = _check_max_seconds(max_seconds)
    with _open(path) as (av, container):
        video = _FrameSink(_need_stream(av, container, "video", path), limit)
        _run(av, container, path, [video])
        return video.result(path, required=True)


def decode_clip(path: str | PathLike[str], max_seconds: float = 10.0, *,
                need_video: bool = True) -> DecodedClip:
    """Decode audio (16 kHz mono) and one frame per second in one pass over the file.

    Parameters
    ----------
    path : str or path-like
        Any file FFmpeg reads.
    max_seconds : float, default=10.0
        Only the first ``max_seconds`` are decoded (the paper's clips are at most 10 s).
    need_video : bool, default=True
        False accepts audio-only files (then ``frames`` has shape (0, 0, 0, 3)).

    Returns
    -------
    DecodedClip
        ``audio`` as :func:`decode_audio`, ``frames`` and ``frame_times`` as
        :func:`decode_frames`, and ``seconds = len(audio) / 16000``.

    Raises
    ------
    MediaError
        A bad file (see :func:`decode_audio` and :func:`decode_frames`).
    ParamError
        ``max_seconds`` is not a positive finite number.
    """
    limit = _check_max_seconds(max_seconds)
    with _open(path) as (av, container):
        audio = _AudioSink(av, _need_stream(av, container, "audio", path), limit, SAMPLE_RATE)
        stream = (_need_stream if need_video else _find_stream)(av, container, "video", path)
        video = _FrameSink(stream, limit) if stream is not None else None
        _run(av, container, path, [audio] if video is None else [audio, video])
        waveform = audio.result(path)
        if video is None:
            frames, times = np.zeros((0, 0, 0, 3), np.uint8), np.zeros(0)
        else:
            frames, times = video.result(path, required=need_video)
    return DecodedClip(path=Path(path), audio=waveform, frames=frames, frame_times=times,
                       seconds=len(waveform) / SAMPLE_RATE)


# --- parameters ----------------------------------------------------------------------------------
def _check_max_seconds(max_seconds: float) -> float:
    if (isinstance(max_seconds, bool) or not isinstance(max_seconds, Real)
            or not math.isfinite(max_seconds) or max_seconds <= 0):
        raise ParamError(f"max_seconds must be a positive finite number of seconds, "
                         f"got {max_seconds!r}")
    return float(max_seconds)


def _check_sample_rate(sample_rate: int) -> int:
    if (isinstance(sample_rate, bool) or not isinstance(sample_rate, Integral)
            or sample_rate <= 0):
        raise ParamError(f"sample_rate must be a positive whole number of Hz, got {sample_rate!r}")
    return int(sample_rate)


# --- opening the file ----------------------------------------------------------------------------
@contextmanager
def _open(path: str | PathLike[str]) -> Iterator[tuple[ModuleType, InputContainer]]:
    """Check the path, then open it with PyAV; yields ``(av, container)`` and closes it."""
    file = Path(path)
    try:
        if not file.exists():
            raise MediaError(f"{path}: not found")
        if file.is_dir():
            raise MediaError(f"{path}: is a directory, not a media file")
        if file.stat().st_size == 0:
            raise MediaError(f"{path}: is empty (0 bytes)")
    except OSError as exc:                  # e.g. a folder on the way that cannot be listed
        raise MediaError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    av = require("av", extra="extract")
    try:   # metadata_errors: a badly encoded title must not stop decoding
        container = av.open(str(file), metadata_errors="replace")
    except PermissionError as exc:          # av.error.PermissionError is one too
        raise MediaError(f"{path}: cannot be read (permission denied)") from exc
    except av.error.FFmpegError as exc:
        raise _corrupt(path, exc) from exc
    try:
        yield av, container
    finally:
        container.close()


def _corrupt(path: str | PathLike[str], exc: Exception) -> MediaError:
    message = getattr(exc, "strerror", None) or str(exc)
    return MediaError(f"{path}: cannot be decoded (corrupt or unsupported stream?): {message}")


def _find_stream(av: ModuleType, container: InputContainer, kind: str,
                 path: str | PathLike[str]) -> Stream | None:
    """The first ``kind`` ("audio" or "video") stream, or None; cover art is not video."""
    streams = [s for s in getattr(container.streams, kind)
               if not s.disposition & av.stream.Disposition.attached_pic]
    if streams and streams[0].codec_context is None:
        raise MediaError(f"{path}: cannot be decoded (corrupt or unsupported stream?): "
                         f"no decoder for its first {kind} stream")
    return streams[0] if streams else None


def _need_stream(av: ModuleType, container: InputContainer, kind: str,
                 path: str | PathLike[str]) -> Stream:
    """The first ``kind`` stream; MediaError "has no <kind> track" if there is none."""
    stream = _find_stream(av, container, kind, path)
    if stream is None:
        raise MediaError(f"{path}: has no {kind} track")
    return stream


# --- decoding ------------------------------------------------------------------------------------
def _run(av: ModuleType, container: InputContainer, path: str | PathLike[str],
         sinks: Sequence[_AudioSink | _FrameSink]) -> None:
    """Demux the sinks' streams once, feeding each decoded frame to its sink, until all are done.

    The end of each stream (an empty packet) flushes its decoder's delayed frames.
    """
    by_index: dict[int, _AudioSink | _FrameSink] = {s.stream.index: s for s in sinks}
    try:
        for packet in container.demux(*[s.stream for s in sinks]):
            sink = by_index[packet.stream.index]
            if sink.done:
                continue
            for frame in packet.decode():
                sink.add(frame)
                if sink.done:
                    break
            if all(s.done for s in sinks):
                break
        for s in sinks:
            s.finish()
    except av.error.FFmpegError as exc:
        raise _corrupt(path, exc) from exc


class _AudioSink:
    """Resamples decoded audio frames to ``rate`` and keeps the channel mean, up to a limit."""

    def __init__(self, av: ModuleType, stream: Stream, max_seconds: float, rate: int) -> None:
        self.av, self.stream, self.rate = av, stream, rate
        self.limit = round(max_seconds * rate)          # samples to keep
        self.chunks: list[np.ndarray] = []
        self.n_samples = 0
        self.resampler: AudioResampler | None = None
        self.source: tuple[str, str, int] | None = None   # input format, layout, rate

    @property
    def done(self) -> bool:
        return self.n_samples >= self.limit

    def add(self, decoded: object) -> None:
        frame = cast("AudioFrame", decoded)
        source = (frame.format.name, frame.layout.name, frame.sample_rate)
        if source != self.source:        # first frame, or the input changed mid-stream
            self.finish()
            self.source = source
            self.resampler = self.av.AudioResampler(format="fltp", rate=self.rate)
        resampler = cast("AudioResampler", self.resampler)
        self._keep(resampler.resample(frame))

    def finish(self) -> None:
        """Flush the resampler's buffered samples."""
        if self.resampler is not None:
            self._keep(self.resampler.resample(None))
            self.resampler = None

    def _keep(self, frames: list[AudioFrame]) -> None:
        for out in frames:
            planes = out.to_ndarray()                       # (channels, samples) float32
            self.chunks.append(planes.mean(axis=0, dtype=np.float32))
            self.n_samples += out.samples

    def result(self, path: str | PathLike[str]) -> np.ndarray:
        if self.n_samples == 0:
            raise MediaError(f"{path}: is empty: 0 s of audio")
        waveform = np.concatenate(self.chunks)[: self.limit]
        return np.clip(waveform, -1.0, 1.0).astype(np.float32, copy=False)


class _FrameSink:
    """Keeps the first frame at or after each whole second below ``max_seconds``."""

    def __init__(self, stream: Stream, max_seconds: float) -> None:
        self.stream, self.max_seconds = stream, max_seconds
        self.time_base = Fraction(stream.time_base or 1)
        self.start = (stream.start_time or 0) * self.time_base
        self.next_second: float = 0          # the next second that needs a frame
        self.n_decoded = 0
        self.frames: list[np.ndarray] = []
        self.times: list[float] = []

    @property
    def done(self) -> bool:
        return self.next_second >= self.max_seconds

    def add(self, decoded: object) -> None:
        frame = cast("VideoFrame", decoded)
        time = self._time(frame)
        self.n_decoded += 1
        if time is None or time < self.next_second:
            return
        if time >= self.max_seconds:         # past the decoded span: nothing more to keep
            self.next_second = math.inf
            return
        size = {} if not self.frames else {"height": self.frames[0].shape[0],
                                           "width": self.frames[0].shape[1]}
        self.frames.append(frame.to_ndarray(format="rgb24", **size))
        self.times.append(float(time))
        self.next_second = math.floor(time) + 1     # this frame serves one second only

    def _time(self, frame: VideoFrame) -> Fraction | None:
        """Presentation time relative to the stream's start, exact; None if unknown."""
        if frame.pts is not None:
            return frame.pts * (frame.time_base or self.time_base) - self.start
        rate = self.stream.average_rate
        return Fraction(self.n_decoded) / rate if rate else None

    def finish(self) -> None:
        """Nothing is buffered here (the decoder's delayed frames come with the flush packet)."""

    def result(self, path: str | PathLike[str], required: bool) -> tuple[np.ndarray, np.ndarray]:
        if not self.frames:
            if required:
                raise MediaError(f"{path}: has no video frame before {self.max_seconds:g} s")
            return np.zeros((0, 0, 0, 3), np.uint8), np.zeros(0)
        return np.stack(self.frames), np.asarray(self.times, dtype=np.float64)
