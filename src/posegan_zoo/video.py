"""Reading and writing videos with PyAV (FFmpeg).

`read_video` yields RGB frames (upright when the file carries a rotation), `video_info`
reads a video's size, frame count and frame rate, and `write_video` writes an H.264 MP4 or
an animated GIF atomically. Every failure (a missing, unreadable, empty or truncated file)
raises `InvalidVideoError` naming the file; PyAV's own errors never escape.

Example:

>>> import pathlib, tempfile
>>> import numpy as np
>>> from posegan_zoo.video import read_video, video_info, write_video
>>> path = pathlib.Path(tempfile.mkdtemp()) / "clip.mp4"
>>> write_video(path, [np.full((24, 32, 3), 10 * k, np.uint8) for k in range(6)], fps=12)
>>> info = video_info(path)
>>> (info.width, info.height, info.frame_count, info.fps)
(32, 24, 6, 12.0)
>>> [index for index, frame in read_video(path, every=2)]
[0, 2, 4]
"""

import dataclasses
import fractions
import pathlib

import av
import numpy as np
from PIL import Image

from posegan_zoo.errors import InvalidConfigError, InvalidVideoError

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")
GIF_SUFFIX = ".gif"

# What PyAV raises: its own FFmpeg errors (several also subclass OSError or ValueError)
# and, for files it cannot reach, plain OSError.
_AV_ERRORS = (av.FFmpegError, OSError)


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """What a video file says about itself.

    Attributes:
        width, height: the size of the frames `read_video` yields (after the rotation).
        frame_count: the number of frames the container declares, or None when it does not
            say (Matroska/WebM often do not). An edit list can make fewer frames decode.
        fps: the average frame rate, or None when unknown.
        rotation: the counter-clockwise rotation (0, 90, 180 or 270 degrees) applied to
            the stored frames to show them upright.
        codec: the video codec's FFmpeg name (e.g. "h264").

    Example:

    >>> from posegan_zoo.video import VideoInfo
    >>> VideoInfo(width=64, height=48, frame_count=None, fps=25.0).rotation
    0
    """

    width: int
    height: int
    frame_count: int | None
    fps: float | None
    rotation: int = 0
    codec: str = ""


def _where(path):
    return repr(str(path))


def _check_file(path):
    path = pathlib.Path(path)
    if not path.exists():
        raise InvalidVideoError(f"video {_where(path)} does not exist.")
    if not path.is_file():
        raise InvalidVideoError(f"video {_where(path)} is not a file.")
    if path.stat().st_size == 0:
        raise InvalidVideoError(f"video {_where(path)} is empty (0 bytes).")
    return path


def _open(path):
    """Opens `path` for reading: returns (container, its first video stream)."""
    try:
        container = av.open(str(path), mode="r")
    except _AV_ERRORS as error:
        raise InvalidVideoError(
            f"video {_where(path)} cannot be opened (not a video, or damaged): {error}"
        ) from None
    if not container.streams.video:
        container.close()
        raise InvalidVideoError(f"video {_where(path)} holds no video stream.")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"  # frame threads: decoded pixels are the same, only faster
    return container, stream


def _quarter_turns(frame):
    """Counter-clockwise quarter turns that make `frame` upright (its display matrix)."""
    try:
        degrees = frame.rotation
    except (AttributeError, ValueError):
        return 0
    return round((degrees or 0) / 90.0) % 4


def _fps(stream):
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else None


def video_info(path):
    """Reads a video's frame size, declared frame count, frame rate and rotation.

    Decodes the first frame (to read its rotation and to check that the file decodes);
    raises `InvalidVideoError` for a missing, unreadable or empty video.

    Example:

    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from posegan_zoo.video import video_info, write_video
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "clip.gif"
    >>> write_video(path, [np.full((16, 20, 3), k * 50, np.uint8) for k in range(3)], fps=10)
    >>> info = video_info(path)
    >>> info.width, info.height, info.fps
    (20, 16, 10.0)
    """
    path = _check_file(path)
    container, stream = _open(path)
    try:
        first = next(container.decode(stream), None)
        if first is None:
            raise InvalidVideoError(f"video {_where(path)} holds no frame.")
        turns = _quarter_turns(first)
        width, height = first.width, first.height
        if turns % 2:
            width, height = height, width
        return VideoInfo(
            width=int(width),
            height=int(height),
            frame_count=int(stream.frames) or None,
            fps=_fps(stream),
            rotation=90 * turns,
            codec=stream.codec_context.name,
        )
    except _AV_ERRORS as error:
        raise InvalidVideoError(
            f"video {_where(path)}: decoding stopped at frame 0: {error}"
        ) from None
    finally:
        container.close()


def _check_positive(value, name, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        expected = "a positive int or None" if allow_none else "a positive int"
        raise InvalidConfigError(f"`{name}` must be {expected}, got {value!r}.")
    return int(value)


def read_video(path, every=1, max_frames=None):
    """Yields `(index, frame)` for the frames of a video: `index` counts the video's frames
    from 0 and `frame` is an RGB uint8 `(H, W, 3)` array, turned upright when the file
    carries a rotation.

    `every=N` keeps every Nth frame (indices 0, N, 2N, ...); `max_frames=M` stops after M
    kept frames. The file is checked when `read_video` is called (a missing, unreadable
    file, or one without a video stream, raises `InvalidVideoError` at once); a decoding
    failure raises `InvalidVideoError` naming the frame where decoding stopped, and so does
    a file that ends before the frames its container declares (a truncated download).

    Example:

    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from posegan_zoo.video import read_video, write_video
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "clip.mp4"
    >>> write_video(path, [np.zeros((16, 16, 3), np.uint8)] * 5, fps=5)
    >>> for index, frame in read_video(path, max_frames=2):
    ...     print(index, frame.shape)
    0 (16, 16, 3)
    1 (16, 16, 3)
    """
    every = _check_positive(every, "every")
    max_frames = _check_positive(max_frames, "max_frames", allow_none=True)
    path = _check_file(path)
    container, _ = _open(path)
    container.close()
    return _frames(path, every, max_frames)


def _frames(path, every, max_frames):
    container, stream = _open(path)
    declared = int(stream.frames)
    index = packets = kept = 0
    try:
        for packet in container.demux(stream):
            if packet.size:
                packets += 1
            for frame in packet.decode():
                if index % every == 0:
                    array = frame.to_ndarray(format="rgb24")
                    turns = _quarter_turns(frame)
                    if turns:
                        array = np.ascontiguousarray(np.rot90(array, turns))
                    yield index, array
                    kept += 1
                    if max_frames is not None and kept >= max_frames:
                        return
                index += 1
    except _AV_ERRORS as error:
        raise InvalidVideoError(
            f"video {_where(path)}: decoding stopped at frame {index} (0-based; {index} "
            f"frames decoded): {error}"
        ) from None
    finally:
        container.close()
    if index == 0:
        raise InvalidVideoError(f"video {_where(path)} holds no frame.")
    if declared and packets < declared:
        raise InvalidVideoError(
            f"video {_where(path)} is truncated: decoding stopped at frame {index} (0-based) "
            f"after {packets} of the {declared} frames its container declares."
        )


def _as_frame(frame, index, path):
    array = np.asarray(frame)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=-1)
    if array.ndim != 3 or array.shape[-1] not in (3, 4) or min(array.shape[:2]) < 1:
        raise InvalidVideoError(
            f"video {_where(path)}: frame {index} must be an (H, W, 3) RGB array, got shape "
            f"{array.shape}."
        )
    if array.dtype != np.uint8:
        if array.dtype.kind != "f":
            raise InvalidVideoError(
                f"video {_where(path)}: frame {index} must be uint8 (or float in [0, 1]), got "
                f"{array.dtype}."
            )
        array = np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)
    return np.ascontiguousarray(array[..., :3])


def _even(array):
    """Pads an odd width or height by one pixel (repeating the last column or row)."""
    height, width = array.shape[:2]
    pad = ((0, height % 2), (0, width % 2), (0, 0))
    return np.pad(array, pad, mode="edge") if height % 2 or width % 2 else array


def write_video(path, frames, fps):
    """Writes RGB uint8 `(H, W, 3)` frames (all of one size) as a video, atomically.

    The suffix chooses the format: `.gif` writes an animated GIF (Pillow, looping; Pillow
    merges identical consecutive frames into one longer frame), any other an H.264 MP4
    (yuv420p; an odd width or height is padded by one pixel, repeating the edge). The file
    appears only once complete. Raises `InvalidVideoError` for no frames, frames of
    different sizes, or a failed write.

    Example:

    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from posegan_zoo.video import video_info, write_video
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "odd.mp4"
    >>> write_video(path, [np.zeros((15, 21, 3), np.uint8)] * 2, fps=25)
    >>> info = video_info(path)
    >>> info.width, info.height, info.frame_count
    (22, 16, 2)
    """
    from posegan_zoo.training.checkpoints import atomic_path

    path = pathlib.Path(path)
    if not (isinstance(fps, (int, float, np.number)) and np.isfinite(fps) and fps > 0):
        raise InvalidConfigError(f"`fps` must be a positive number, got {fps!r}.")
    gif = path.suffix.lower() == GIF_SUFFIX
    try:
        with atomic_path(path) as tmp:
            count = (_write_gif if gif else _write_mp4)(tmp, frames, fps, path)
            if count == 0:
                raise InvalidVideoError(f"video {_where(path)}: no frame to write.")
    except _AV_ERRORS as error:
        raise InvalidVideoError(f"video {_where(path)} cannot be written: {error}") from None


def _check_size(array, size, index, path):
    if size is not None and array.shape != size:
        raise InvalidVideoError(
            f"video {_where(path)}: frame {index} has shape {array.shape}, but frame 0 has "
            f"{size}; every frame must have the same size."
        )
    return array.shape


def _write_mp4(tmp, frames, fps, path):
    rate = fractions.Fraction(float(fps)).limit_denominator(1001)
    count, size = 0, None
    with av.open(str(tmp), mode="w", format="mp4") as container:
        stream = None
        for index, frame in enumerate(frames):
            array = _even(_as_frame(frame, index, path))
            size = _check_size(array, size, index, path)
            if stream is None:
                stream = container.add_stream("libx264", rate=rate)
                stream.width, stream.height = array.shape[1], array.shape[0]
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": "18"}
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
            count += 1
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)
    return count


def _write_gif(tmp, frames, fps, path):
    images, size = [], None
    for index, frame in enumerate(frames):
        array = _as_frame(frame, index, path)
        size = _check_size(array, size, index, path)
        images.append(Image.fromarray(array))
    if images:
        duration = max(round(1000.0 / float(fps)), 10)
        images[0].save(
            tmp, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0
        )
    return len(images)
