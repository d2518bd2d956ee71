"""Decoding media files (paper_lib.extract.decode) and rendering them (paper_lib.extract.render).

Every file is generated here with ``render.write_clip`` (or, for odd timestamps and an empty
audio track, with PyAV directly): 32 x 48 images, 2-4 s of audio.
"""

from __future__ import annotations

import errno
import math
import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from paper_lib.errors import DataError, ParamError

av = pytest.importorskip("av")

from paper_lib.extract import decode, render  # noqa: E402  (needs PyAV)
from paper_lib.extract.decode import (  # noqa: E402
    SAMPLE_RATE,
    MediaError,
    decode_audio,
    decode_clip,
    decode_frames,
)

FPS = 25
SECONDS = 3
INPUT_RATE = 44_100       # the round-trip audio is resampled 44.1 kHz -> 16 kHz by the decoder
TONE_HZ = 440.0
TONE_AMP = 0.5
VIDEO_SUFFIXES = (".mp4", ".webm", ".mkv")


def tone(seconds: float, sr: int = INPUT_RATE, freq: float = TONE_HZ,
         amp: float = TONE_AMP) -> np.ndarray:
    t = np.arange(round(seconds * sr)) / sr
    return amp * np.sin(2 * np.pi * freq * t)


def colour_image() -> np.ndarray:
    """32 x 48 RGB: a red left half, a blue right half, a green top band (a swap of R and B, a
    flip or another frame's content is far from it)."""
    img = np.empty((32, 48, 3), np.uint8)
    img[:, :24] = (200, 40, 40)
    img[:, 24:] = (30, 60, 210)
    img[:8] = (40, 180, 60)
    return img


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 3 s clip (colour still + 440 Hz tone at 44.1 kHz) in each video container."""
    root = tmp_path_factory.mktemp("clips")
    return {suffix: render.write_clip(root / f"clip{suffix}", image=colour_image(),
                                      waveform=tone(SECONDS), sample_rate=INPUT_RATE, fps=FPS)
            for suffix in VIDEO_SUFFIXES}


def write_timed_video(path: Path, times: list[float], levels: list[int], *,
                      empty_audio: bool = False) -> Path:
    """A lossless (FFV1) Matroska video whose frame k shows gray ``levels[k]`` at ``times[k]`` s
    (timestamps in ms): irregular frame times and gaps that write_clip cannot make.
    ``empty_audio`` adds an audio track without a single sample."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("ffv1", rate=10)
        video.width, video.height, video.pix_fmt = 48, 32, "yuv420p"
        video.codec_context.time_base = Fraction(1, 1000)
        audio = container.add_stream("flac", rate=SAMPLE_RATE) if empty_audio else None
        for time, level in zip(times, levels, strict=True):
            frame = av.VideoFrame.from_ndarray(np.full((32, 48, 3), level, np.uint8))
            frame.pts, frame.time_base = round(time * 1000), Fraction(1, 1000)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if audio is not None:
            container.mux(audio.encode(None))
    return path


# --- round trips: mp4, webm, mkv ----------------------------------------------------------------
@pytest.mark.parametrize("suffix", VIDEO_SUFFIXES)
def test_round_trip_frames_one_per_second_close_to_the_image(clips: dict[str, Path],
                                                             suffix: str) -> None:
    frames, times = decode_frames(clips[suffix])
    assert frames.dtype == np.uint8 and frames.shape == (SECONDS, 32, 48, 3)
    assert times.dtype == np.float64
    np.testing.assert_allclose(times, np.arange(SECONDS), atol=1 / FPS)
    diff = np.abs(frames.astype(float) - colour_image()).mean(axis=(1, 2, 3))
    assert diff.max() < 6.0, diff          # lossy codecs: about 1.3 grey levels on this image


@pytest.mark.parametrize("suffix", VIDEO_SUFFIXES)
def test_round_trip_audio_length_and_resampling(clips: dict[str, Path], suffix: str) -> None:
    """16 kHz mono float32 with the tone at 440 Hz (resampled from 44.1 kHz, not misread as
    16 kHz, which would put it at 1,213 Hz) and its amplitude.

    Length: the expected 48,000 samples within ONE AAC frame (1,024 samples at the coded 44.1 kHz
    = 372 samples at 16 kHz), never fewer: MP4's edit list removes the AAC encoder's priming
    (1,024 samples) but not the padding of its last frame. Opus in WebM (pre-skip and end
    trimming) and FLAC in Matroska come back exact."""
    audio = decode_audio(clips[suffix])
    expected = SECONDS * SAMPLE_RATE
    tolerance = math.ceil(1024 * SAMPLE_RATE / INPUT_RATE)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert 0 <= len(audio) - expected <= tolerance
    if suffix != ".mp4":
        assert len(audio) == expected
    body = audio[SAMPLE_RATE // 10: expected - SAMPLE_RATE // 10]   # away from the edges
    spectrum = np.abs(np.fft.rfft(body * np.hanning(len(body))))
    freqs = np.fft.rfftfreq(len(body), 1 / SAMPLE_RATE)
    assert abs(freqs[spectrum.argmax()] - TONE_HZ) < 2.0
    rms = float(np.sqrt(np.mean(body.astype(float) ** 2)))
    assert rms == pytest.approx(TONE_AMP / np.sqrt(2), rel=0.05)
    assert np.abs(audio).max() <= 1.0


def test_decode_clip_gathers_audio_frames_and_duration(clips: dict[str, Path]) -> None:
    clip = decode_clip(clips[".webm"])
    assert clip.path == clips[".webm"]
    np.testing.assert_array_equal(clip.audio, decode_audio(clips[".webm"]))
    frames, times = decode_frames(clips[".webm"])
    np.testing.assert_array_equal(clip.frames, frames)
    np.testing.assert_array_equal(clip.frame_times, times)
    assert clip.seconds == pytest.approx(SECONDS)


def test_lossy_overshoot_is_clipped_to_full_scale(tmp_path: Path) -> None:
    """A full-scale 200 Hz square wave through AAC decodes to peaks near 2.5 (Gibbs ringing);
    the decoder returns samples within [-1, 1], as 16-bit PCM would."""
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    square = np.where(np.sin(2 * np.pi * 200 * t) >= 0, 1.0, -1.0)
    audio = decode_audio(render.write_clip(tmp_path / "square.mp4", image=None, waveform=square))
    assert audio.max() == 1.0 and audio.min() == -1.0


def test_stereo_is_the_mean_of_its_channels(tmp_path: Path) -> None:
    """L = 0.6 sin, R = 0.2 sin -> 0.4 sin. FFmpeg's own "mono" layout would give
    (L + R) / sqrt(2) = 0.566 sin."""
    left, right = tone(2, SAMPLE_RATE, amp=0.6), tone(2, SAMPLE_RATE, amp=0.2)
    path = render.write_clip(tmp_path / "stereo.wav", image=None,
                             waveform=np.stack([left, right], axis=1))
    audio = decode_audio(path)
    np.testing.assert_allclose(audio, (left + right) / 2, atol=2 / 32768)   # 16-bit PCM


# --- which frame serves which second ------------------------------------------------------------
def test_each_second_gets_its_own_image(tmp_path: Path) -> None:
    levels = [30, 90, 150, 210]
    path = render.write_clip(tmp_path / "steps.mp4", image=None, waveform=None,
                             images=[np.full((32, 48), g, np.uint8) for g in levels])
    frames, times = decode_frames(path)
    np.testing.assert_allclose(times, [0, 1, 2, 3])
    np.testing.assert_allclose(frames.mean(axis=(1, 2, 3)), levels, atol=3)


def test_first_frame_at_or_after_each_second_and_gaps(tmp_path: Path) -> None:
    # frame k has gray level 10 k, so each kept frame says which one it is (FFV1 is lossless;
    # only the RGB -> YUV -> RGB conversion rounds)
    regular = [0.0, 0.5, 0.9, 1.3, 1.7, 2.6, 2.8, 3.5]
    path = write_timed_video(tmp_path / "irregular.mkv", regular, [10 * k for k in range(8)])
    frames, times = decode_frames(path, max_seconds=4)
    np.testing.assert_allclose(times, [0.0, 1.3, 2.6, 3.5])
    np.testing.assert_allclose(frames[:, 0, 0, 0], [0, 30, 50, 70], atol=2)   # RGB <-> YUV
    # a gap from 0.5 s to 2.4 s: 2.4 serves second 1, is not reused for second 2 (missing)
    gap = [0.0, 0.5, 2.4, 2.6, 3.1]
    path = write_timed_video(tmp_path / "gap.mkv", gap, [10 * k for k in range(5)])
    frames, times = decode_frames(path, max_seconds=4)
    np.testing.assert_allclose(times, [0.0, 2.4, 3.1])
    np.testing.assert_allclose(frames[:, 0, 0, 0], [0, 20, 40], atol=2)
    # a frame at or after max_seconds is never kept
    np.testing.assert_allclose(decode_frames(path, max_seconds=3)[1], [0.0, 2.4])
    # times are relative to the stream's start (here 0.5 s)
    late = [0.5, 1.0, 1.5, 2.0, 2.5]
    path = write_timed_video(tmp_path / "late.mkv", late, [10 * k for k in range(5)])
    frames, times = decode_frames(path, max_seconds=4)
    np.testing.assert_allclose(times, [0.0, 1.0, 2.0])
    np.testing.assert_allclose(frames[:, 0, 0, 0], [0, 20, 40], atol=2)


def test_max_seconds_cuts_audio_and_frames(tmp_path: Path) -> None:
    path = render.write_clip(tmp_path / "four.mkv", image=colour_image(),
                             waveform=tone(4, SAMPLE_RATE))
    clip = decode_clip(path, max_seconds=2.5)
    assert clip.frames.shape[0] == 3 and len(clip.audio) == 40_000
    np.testing.assert_allclose(clip.frame_times, [0, 1, 2])
    assert clip.seconds == 2.5
    assert len(decode_audio(path, max_seconds=2.5)) == 40_000
    assert len(decode_frames(path, max_seconds=2.5)[0]) == 3
    assert len(decode_audio(path, max_seconds=10)) == 64_000      # a short file: all of it


def test_decoding_stops_after_the_last_second_needed(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """max_seconds=1.5 on a 4 s, 25 fps video: frames 0..25 (t = 1.0 s) are decoded, and the
    file is read no further than that (a few packets of decoder delay), not its 100 frames."""
    path = render.write_clip(tmp_path / "long.mp4", image=colour_image(), waveform=None,
                             seconds=4)
    decoded: list[object] = []
    add = decode._FrameSink.add
    monkeypatch.setattr(decode._FrameSink, "add",
                        lambda self, frame: (decoded.append(frame), add(self, frame))[1])
    packets: list[object] = []
    demux = av.container.InputContainer.demux

    def counting_demux(self: object, *streams: object) -> object:
        for packet in demux(self, *streams):
            packets.append(packet)
            yield packet

    monkeypatch.setattr(av.container.InputContainer, "demux", counting_demux)
    _, times = decode_frames(path, max_seconds=1.5)
    np.testing.assert_allclose(times, [0, 1])
    assert len(decoded) == FPS + 1
    assert len(packets) < 2 * FPS


def test_audio_format_change_mid_stream_gets_a_new_resampler() -> None:
    """A stream that switches from 44.1 kHz stereo to 16 kHz mono (PyAV's resampler refuses a
    frame unlike its first) is resampled piece by piece, without losing the samples the first
    resampler still holds, and averaged over channels."""
    sink = decode._AudioSink(av, None, max_seconds=10, rate=SAMPLE_RATE)
    mono = av.AudioFrame.from_ndarray(np.full((1, SAMPLE_RATE), 0.5, np.float32), format="fltp",
                                      layout="mono")
    stereo = av.AudioFrame.from_ndarray(
        np.array([[0.2], [0.4]], np.float32).repeat(INPUT_RATE, axis=1), format="fltp",
        layout="stereo")
    mono.sample_rate, stereo.sample_rate = SAMPLE_RATE, INPUT_RATE
    sink.add(stereo)
    sink.add(mono)
    sink.finish()
    audio = sink.result("stream")
    assert len(audio) == 2 * SAMPLE_RATE
    np.testing.assert_allclose(audio[100:SAMPLE_RATE - 100], 0.3, atol=1e-4)
    np.testing.assert_allclose(audio[SAMPLE_RATE:], 0.5)


def test_audio_only_file_with_need_video_false(tmp_path: Path) -> None:
    path = render.write_clip(tmp_path / "voice.wav", image=None, waveform=tone(2, SAMPLE_RATE))
    clip = decode_clip(path, need_video=False)
    assert clip.frames.shape == (0, 0, 0, 3) and clip.frame_times.shape == (0,)
    assert len(clip.audio) == 2 * SAMPLE_RATE and clip.seconds == 2.0


def test_decoding_is_deterministic(clips: dict[str, Path]) -> None:
    for path in clips.values():
        first, second = decode_clip(path), decode_clip(path)
        np.testing.assert_array_equal(first.audio, second.audio)
        np.testing.assert_array_equal(first.frames, second.frames)
        np.testing.assert_array_equal(first.frame_times, second.frame_times)


# --- bad files -----------------------------------------------------------------------------------
def _bad_file(kind: str, root: Path, good: Path) -> Path:
    if kind == "missing":
        return root / "nothing_here.mp4"
    if kind == "directory":
        (root / "folder.mp4").mkdir()
        return root / "folder.mp4"
    if kind == "text":
        path = root / "notes.mp4"
        path.write_text("these are my notes, not a video\n" * 20)
        return path
    if kind == "truncated":
        path = root / "cut.mp4"
        path.write_bytes(good.read_bytes()[:300])
        return path
    if kind == "empty":
        path = root / "zero.mp4"
        path.touch()
        return path
    if kind == "wav":
        return render.write_clip(root / "speech.wav", image=None, waveform=tone(1, SAMPLE_RATE))
    if kind == "silent_video":
        return render.write_clip(root / "mute.mp4", image=colour_image(), waveform=None, seconds=1)
    assert kind == "empty_audio"
    return write_timed_video(root / "no_samples.mkv", [0.0, 1.0], [10, 20], empty_audio=True)


@pytest.mark.parametrize(("kind", "problem"), [
    ("missing", "not found"),
    ("directory", "is a directory"),
    ("text", "cannot be decoded (corrupt or unsupported stream?): Invalid data"),
    ("truncated", "cannot be decoded (corrupt or unsupported stream?)"),
    ("empty", "is empty (0 bytes)"),
    ("wav", "has no video track"),
    ("silent_video", "has no audio track"),
    ("empty_audio", "is empty: 0 s of audio"),
])
def test_bad_files_raise_media_error_naming_file_and_problem(
        tmp_path: Path, clips: dict[str, Path], kind: str, problem: str) -> None:
    path = _bad_file(kind, tmp_path, clips[".mp4"])
    with pytest.raises(MediaError) as caught:
        decode_clip(path)
    message = str(caught.value)
    assert isinstance(caught.value, DataError)
    assert message.startswith(f"{path}: ") and problem in message and "\n" not in message


def test_each_decoder_checks_its_own_track(tmp_path: Path, clips: dict[str, Path]) -> None:
    wav = _bad_file("wav", tmp_path, clips[".mp4"])
    mute = _bad_file("silent_video", tmp_path, clips[".mp4"])
    assert len(decode_audio(wav)) == SAMPLE_RATE
    assert len(decode_frames(mute)[0]) == 1
    with pytest.raises(MediaError, match="has no video track"):
        decode_frames(wav)
    with pytest.raises(MediaError, match="has no audio track"):
        decode_audio(mute)
    with pytest.raises(MediaError, match="has no audio track"):
        decode_clip(mute, need_video=False)


def test_unreadable_file(tmp_path: Path, clips: dict[str, Path],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.mp4"
    path.write_bytes(clips[".mp4"].read_bytes())
    path.chmod(0)
    if os.access(path, os.R_OK):         # root reads anything: raise what FFmpeg raises then
        def refuse(*args: object, **kwargs: object) -> None:
            raise av.error.PermissionError(errno.EACCES, "Permission denied", str(path))
        monkeypatch.setattr(av, "open", refuse)
    try:
        with pytest.raises(MediaError, match=r"locked\.mp4: cannot be read \(permission denied\)"):
            decode_clip(path)
    finally:
        path.chmod(0o644)


def test_corrupt_stream_during_decoding_is_a_media_error(
        clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """An FFmpeg error after opening (in demux or decode) does not escape as a PyAV error."""
    def broken(self: object, *streams: object) -> None:
        raise av.error.InvalidDataError(errno.EINVAL, "Invalid data found when processing input")
    monkeypatch.setattr(av.container.InputContainer, "demux", broken)
    with pytest.raises(MediaError, match="cannot be decoded.*Invalid data") as caught:
        decode_clip(clips[".mkv"])
    assert not isinstance(caught.value, av.error.FFmpegError)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), True, "3"])
def test_bad_max_seconds_is_a_param_error(clips: dict[str, Path], bad: object) -> None:
    for decoder in (decode_clip, decode_audio, decode_frames):
        with pytest.raises(ParamError, match="max_seconds"):
            decoder(clips[".mkv"], max_seconds=bad)


# --- render --------------------------------------------------------------------------------------
def test_odd_image_sizes_are_padded_by_repeating_the_edge(tmp_path: Path) -> None:
    gray = np.tile(np.linspace(40, 220, 47).astype(np.uint8), (33, 1))     # (33, 47) ramp
    path = render.write_clip(tmp_path / "odd.mp4", image=gray, waveform=None, seconds=1)
    frames, _ = decode_frames(path)
    assert frames.shape == (1, 34, 48, 3)
    assert np.abs(frames[0, :33, :47].astype(float) - gray[:, :, None]).mean() < 3
    assert np.abs(frames[0, 33, :47, 0].astype(float) - gray[-1]).mean() < 3   # repeated row


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"path": "clip.flv"}, "suffix"),
    ({"image": np.zeros((32, 48, 3), np.float32)}, "image"),
    ({"image": np.zeros((32, 48, 4), np.uint8)}, "image"),
    ({"waveform": np.zeros(100, np.int16)}, "waveform"),
    ({"waveform": np.full(100, 1.5)}, "waveform"),
    ({"seconds": 0}, "seconds"),
    ({"seconds": -1.0, "image": None}, "seconds"),
    ({"fps": 0}, "fps"),
    ({"image": None, "waveform": None}, "both None"),
    ({"path": "clip.wav"}, "audio only"),
])
def test_render_rejects_bad_arguments(tmp_path: Path, kwargs: dict, name: str) -> None:
    args: dict = {"image": colour_image(), "waveform": tone(1, SAMPLE_RATE), "seconds": 1.0}
    args |= kwargs
    path = tmp_path / args.pop("path", "clip.mp4")
    with pytest.raises(ParamError, match=name):
        render.write_clip(path, **args)
    assert list(tmp_path.iterdir()) == []


def test_render_failure_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    encode_audio = render._encode_audio

    def fail_on_second_call(*args: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        encode_audio(*args)

    monkeypatch.setattr(render, "_encode_audio", fail_on_second_call)
    target = tmp_path / "half.mp4"
    with pytest.raises(OSError, match="disk full"):
        render.write_clip(target, image=colour_image(), waveform=tone(3, SAMPLE_RATE))
    assert len(calls) == 2                   # one second of video and audio was already written
    assert list(tmp_path.iterdir()) == []    # neither the target nor a temporary file
