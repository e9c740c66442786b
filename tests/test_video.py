"""Video reading and writing (PyAV): frames, sampling, rotation, sizes, and every failure."""

import pathlib
import wave

import av
import numpy as np
import pytest
from PIL import Image

from posegan_zoo.errors import InvalidConfigError, InvalidVideoError, PoseGanZooError
from posegan_zoo.video import VIDEO_SUFFIXES, VideoInfo, read_video, video_info, write_video

ROOT = pathlib.Path(__file__).resolve().parents[1]
FRAMES = ROOT / "examples" / "data" / "posewarp_tennis" / "frames" / "Flavia Pennetta in 4k"


def _gradient_frames(count, height=48, width=64):
    """Smooth, distinct frames (easy to compress, so a decoded frame stays close)."""
    y, x = np.mgrid[0:height, 0:width]
    return [
        np.stack(
            [(x * 3 + 20 * k) % 256, (y * 4 + 10 * k) % 256, np.full_like(x, 40 * k % 256)],
            axis=-1,
        ).astype(np.uint8)
        for k in range(count)
    ]


def _encode(path, frames, fps=10, options=None, rotation=None):
    """Writes `frames` with PyAV directly (for cases `write_video` does not make)."""
    with av.open(str(path), "w", format="mp4", options=options or {}) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_suffixes_and_error_type():
    assert VIDEO_SUFFIXES == (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")
    assert issubclass(InvalidVideoError, PoseGanZooError)
    assert issubclass(InvalidVideoError, ValueError)


def test_mp4_round_trip_keeps_frames_order_and_size(tmp_path):
    frames = _gradient_frames(7)
    path = tmp_path / "clip.mp4"
    write_video(path, frames, fps=12.5)
    read = list(read_video(path))
    assert [index for index, _ in read] == list(range(7))
    for (_, frame), original in zip(read, frames, strict=True):
        assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
        assert np.abs(frame.astype(int) - original).mean() < 4.0
    info = video_info(path)
    assert info == VideoInfo(width=64, height=48, frame_count=7, fps=12.5, rotation=0, codec="h264")
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]  # no temporary file left


def test_every_and_max_frames(tmp_path):
    path = tmp_path / "clip.mp4"
    write_video(path, _gradient_frames(10), fps=10)
    assert [i for i, _ in read_video(path, every=3)] == [0, 3, 6, 9]
    assert [i for i, _ in read_video(path, every=2, max_frames=3)] == [0, 2, 4]
    assert [i for i, _ in read_video(path, max_frames=50)] == list(range(10))
    frames = dict(read_video(path, every=4))
    full = dict(read_video(path))
    assert all(np.array_equal(frames[i], full[i]) for i in frames)
    for bad in ({"every": 0}, {"every": 1.5}, {"max_frames": 0}, {"every": True}):
        with pytest.raises(InvalidConfigError, match=next(iter(bad))):
            read_video(path, **bad)


def test_real_tennis_frames_round_trip(tmp_path):
    originals = [
        np.asarray(Image.open(FRAMES / f"{k}.jpg").convert("RGB").reduce(8)) for k in (1, 2, 3)
    ]
    height, width = originals[0].shape[:2]  # 85 x 160: an odd height
    path = tmp_path / "tennis.mp4"
    write_video(path, originals, fps=25)
    info = video_info(path)
    assert (info.width, info.height) == (width, height + 1)  # padded by one row
    for (_, frame), original in zip(read_video(path), originals, strict=True):
        assert frame.shape == (height + 1, width, 3)
        assert np.abs(frame[:height].astype(int) - original).mean() < 6.0


def test_odd_sizes_are_padded_by_repeating_the_edge(tmp_path):
    frame = np.zeros((15, 21, 3), np.uint8)
    frame[:, -1] = 200  # last column bright: the padded column repeats it
    path = tmp_path / "odd.mp4"
    write_video(path, [frame, frame], fps=5)
    [(_, first), _] = list(read_video(path))
    assert first.shape == (16, 22, 3)
    assert first[:, -1].mean() > 150 and first[:, :10].mean() < 30


def test_gif_round_trip(tmp_path):
    frames = _gradient_frames(4, 20, 30)
    path = tmp_path / "anim.GIF"
    write_video(path, frames, fps=10)
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 4 and gif.size == (30, 20)
    read = list(read_video(path))
    assert len(read) == 4 and read[0][1].shape == (20, 30, 3)


def test_rotation_metadata_is_applied(tmp_path):
    frame = np.zeros((32, 64, 3), np.uint8)
    frame[:, :16] = 255  # bright left quarter
    path = _encode(tmp_path / "rotated.mp4", [frame] * 3, rotation=90)
    info = video_info(path)
    assert (info.width, info.height, info.rotation) == (32, 64, 90)
    [(_, upright), *_] = list(read_video(path))
    # Turned 90 degrees counter-clockwise: the left band is now at the bottom.
    assert upright.shape == (64, 32, 3)
    assert upright[-16:].mean() > 200 and upright[:40].mean() < 30


def test_write_video_rejects_bad_frames_and_leaves_nothing(tmp_path):
    path = tmp_path / "bad.mp4"
    with pytest.raises(InvalidVideoError, match="no frame"):
        write_video(path, [], fps=10)
    with pytest.raises(InvalidVideoError, match="frame 1 has shape"):
        write_video(path, [np.zeros((16, 16, 3), np.uint8), np.zeros((8, 8, 3), np.uint8)], 10)
    with pytest.raises(InvalidVideoError, match=r"frame 0 must be an \(H, W, 3\)"):
        write_video(tmp_path / "bad.gif", [np.zeros((4, 4, 5), np.uint8)], 10)
    with pytest.raises(InvalidConfigError, match="fps"):
        write_video(path, [np.zeros((16, 16, 3), np.uint8)], fps=0)
    assert list(tmp_path.iterdir()) == []


def test_write_video_accepts_grey_and_float_frames(tmp_path):
    path = tmp_path / "mixed.mp4"
    write_video(path, [np.full((16, 16), 128, np.uint8), np.full((16, 16, 3), 0.5)], fps=4)
    frames = [frame for _, frame in read_video(path)]
    assert [round(float(f.mean())) for f in frames] == [128, 128]


def test_missing_empty_and_non_video_files(tmp_path):
    missing = tmp_path / "missing.mp4"
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    for path, message in (
        (missing, "does not exist"),
        (empty, "is empty"),
        (text, "cannot be opened"),
        (tmp_path, "is not a file"),
    ):
        for call in (read_video, video_info):
            with pytest.raises(InvalidVideoError, match=message) as caught:
                call(path)
            assert str(path) in str(caught.value)


def test_a_file_without_video_stream(tmp_path):
    path = tmp_path / "sound.wav"
    with wave.open(str(path), "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(np.zeros(800, np.int16).tobytes())
    with pytest.raises(InvalidVideoError, match="no video stream"):
        read_video(path)
    with pytest.raises(InvalidVideoError, match="no video stream"):
        video_info(path)


@pytest.mark.parametrize("faststart", [False, True])
@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.95])
def test_truncated_video_raises_naming_the_file_and_frame(tmp_path, faststart, fraction):
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(20)]
    options = {"movflags": "faststart"} if faststart else None
    whole = _encode(tmp_path / "whole.mp4", frames, options=options).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: int(len(whole) * fraction)])
    with pytest.raises(InvalidVideoError) as caught:
        for _ in read_video(cut):
            pass
    message = str(caught.value)
    assert str(cut) in message
    if faststart:  # the index is at the front: frames decode until the data ends
        assert "frame" in message and "stopped at frame" in message
    assert not isinstance(caught.value, av.FFmpegError)


def test_a_video_cut_on_a_packet_boundary_reads_as_truncated(tmp_path):
    # The container declares 20 frames but the data of the last ones is gone: decoding ends
    # without an error, and the frame count shows the truncation.
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(20)]
    path = _encode(tmp_path / "whole.mp4", frames, options={"movflags": "faststart"})
    with av.open(str(path)) as container:
        offsets = [packet.pos for packet in container.demux(video=0) if packet.size]
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: offsets[12]])
    with pytest.raises(InvalidVideoError, match=r"truncated|stopped at frame") as caught:
        list(read_video(cut))
    assert str(cut) in str(caught.value)
