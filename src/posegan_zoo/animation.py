"""From a photo and a pose sequence to a video of the person following the poses.

The paper's "coherent video" use: one photo of a person, and a sequence of target poses
(a dance, a swing), give one fake per pose, the person moved into it and pasted back into
the photo. `read_pose_sequence` reads the poses from

- a folder of keypoint JSON files (one per frame, in natural order: what
  `posegan-zoo detect` writes), or one keypoint JSON file holding a list of image records;
- a prepared dataset in the paper's layout (`frames/`, `info/`: what `posegan-zoo
  prepare` writes; name the video with `clip=` when it holds several), or one of its
  `info/<video>.mat` files;
- a video file (`.mp4`, `.mov`, `.avi`, `.mkv`, `.webm`, `.m4v`), whose person the bundled
  detector follows frame by frame;
- poses in memory: a `Pose` of batch shape `(frames,)`, a `(frames, 14, 2)` array, or a
  list of anything `load_pose` reads.

A frame without a usable pose (nobody detected, too few joints to frame the person) takes
the previous frame's pose (the first usable one at the start), so the animation keeps the
sequence's timing; `PoseSequence.missing` counts them.

`animate` renders the frames in batches (`PoseRegenerator.generate_frames`, one compiled
generator call per batch) and writes an H.264 MP4 (PyAV) or an animated GIF (Pillow),
chosen by the output's extension, atomically (a temporary file renamed into place), and,
with `frames_dir`, one PNG per frame.

By default (`align="person"`) the sequence is moved and scaled onto the photo's person:
its mean body centre lands on the person's centre and its median person scale becomes the
person's, so the poses of someone else, filmed elsewhere, fit the photo; the motion within
the sequence is kept. `align="none"` uses the poses as they are, in the photo's pixels
(poses read from the photo's own video).

Example:

>>> import pathlib, tempfile
>>> import numpy as np
>>> from posegan_zoo import PoseRegenerator, WarpOnlyGenerator
>>> from posegan_zoo.animation import animate
>>> rng = np.random.default_rng(0)
>>> photo = rng.integers(0, 255, (96, 80, 3), dtype=np.uint8)
>>> pose = rng.uniform(20, 70, (14, 2))
>>> poses = np.stack([pose + [k, 0.0] for k in range(4)])
>>> out = pathlib.Path(tempfile.mkdtemp()) / "walk.gif"
>>> result = animate(PoseRegenerator(WarpOnlyGenerator(64)), photo, poses, out,
...                  source_pose=pose, fps=4)
>>> result.frame_count, result.size, result.path.name
(4, (96, 80), 'walk.gif')
"""

import dataclasses
import itertools
import pathlib

import numpy as np

from posegan_zoo.errors import (
    DataFormatError,
    InvalidConfigError,
    InvalidPoseError,
    InvalidVideoError,
)
from posegan_zoo.pose import Pose, person_scale

# Output formats, by extension.
MP4_SUFFIX, GIF_SUFFIX = ".mp4", ".gif"
OUTPUT_SUFFIXES = (MP4_SUFFIX, GIF_SUFFIX)
# Frame rate of sequences that do not carry one (keypoint folders, datasets).
DEFAULT_FPS = 10.0
ALIGN_CHOICES = ("person", "none")
_VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")


@dataclasses.dataclass(frozen=True)
class PoseSequence:
    """Target poses, one per frame of an animation.

    Attributes:
        poses: a `Pose` of batch shape `(frames,)`, in the pixels of the frames the poses
            were read from; frames without a usable pose already hold a neighbour's.
        fps: the frame rate the poses were filmed at, or None when the source has none.
        source: what they were read from (for messages).
        missing: how many frames had no usable pose and took a neighbour's.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.animation import PoseSequence
    >>> from posegan_zoo.pose import Pose
    >>> len(PoseSequence(Pose(np.zeros((5, 14, 2))), fps=25.0, source="memory"))
    5
    """

    poses: Pose
    fps: float | None
    source: str
    missing: int = 0

    def __len__(self):
        return len(self.poses)


@dataclasses.dataclass(frozen=True)
class Animation:
    """What `animate` made.

    Attributes:
        path: the video written (`.mp4` or `.gif`), or None when only frames were asked for.
        frame_count: frames rendered.
        fps: the frame rate written.
        size: the frames' (height, width): the photo's size.
        frame_paths: the PNG frames written under `frames_dir` (empty without it).
        poses: the target poses used, in the photo's pixels (after `align`).
        missing: frames of the sequence that had no usable pose (see `PoseSequence`).
    """

    path: pathlib.Path | None
    frame_count: int
    fps: float
    size: tuple
    frame_paths: tuple
    poses: Pose
    missing: int = 0


def _frameable(pose):
    """Whether the paper's crop can frame `pose` (it has a person scale)."""
    if not pose.visible.any():
        return False
    try:
        return bool(float(person_scale(pose)) > 0)
    except InvalidPoseError:
        return False


def _fill_missing(poses, source, fps):
    """A `PoseSequence` from per-frame poses (None = none usable), gaps held."""
    usable = [pose is not None and _frameable(pose) for pose in poses]
    if not any(usable):
        raise InvalidPoseError(
            f"`poses`: no usable pose found in {source} ({len(poses)} frame(s) read; a pose "
            "needs the head and a hip, or a knee and its ankle)."
        )
    first = usable.index(True)
    held, filled = poses[first], []
    for pose, ok in zip(poses, usable, strict=True):
        if ok:
            held = pose
        filled.append(held)
    return PoseSequence(Pose.stack(filled), fps, source, missing=usable.count(False))


def _check_every(every, max_frames):
    for name, value, allow_none in (("every", every, False), ("max_frames", max_frames, True)):
        if value is None and allow_none:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            expected = "a positive int or None" if allow_none else "a positive int"
            raise InvalidConfigError(f"`{name}` must be {expected}, got {value!r}.")


def read_pose_sequence(poses, clip=None, person=0, every=1, max_frames=None, detector=None):
    """Reads target poses for an animation: a `PoseSequence` (see the module docstring).

    Args:
        poses: a keypoint JSON folder or file, a dataset folder (or its `.mat`), a video
            file, or poses in memory.
        clip: the video of a dataset that holds several.
        person: in keypoint files, which person of each image (0: the first listed,
            the largest for `posegan-zoo detect`).
        every: keep every Nth frame (a video's frame rate is divided by N).
        max_frames: keep at most this many frames (after `every`).
        detector: the `PoseDetector` for videos (default: a new one).

    Raises `InvalidPoseError` when no usable pose is found, `DataFormatError` for a file
    or folder that is none of the above, `InvalidVideoError` for an unreadable video, each
    naming `poses`.

    Example:

    >>> import json, pathlib, tempfile
    >>> import numpy as np
    >>> from posegan_zoo.animation import read_pose_sequence
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> joints = np.random.default_rng(0).uniform(10, 90, (14, 2))
    >>> for k in range(3):
    ...     people = [{"keypoints": (joints + k).tolist()}] if k != 1 else []
    ...     record = {"image": f"{k}.jpg", "layout": "posewarp14", "people": people}
    ...     _ = (folder / f"{k}.json").write_text(json.dumps(record))
    >>> sequence = read_pose_sequence(folder)
    >>> len(sequence), sequence.missing, sequence.fps
    (3, 1, None)
    """
    _check_every(every, max_frames)
    if isinstance(poses, PoseSequence):
        sequence = poses
    elif isinstance(poses, (str, pathlib.Path)):
        sequence = _read_path(pathlib.Path(poses), clip, person, every, max_frames, detector)
        return sequence  # `every` and `max_frames` are applied while reading
    else:
        sequence = _from_memory(poses)
    selected = sequence.poses[::every]
    if max_frames is not None:
        selected = selected[:max_frames]
    fps = None if sequence.fps is None else sequence.fps / every
    return dataclasses.replace(sequence, poses=selected, fps=fps)


def _from_memory(poses):
    from posegan_zoo.regenerator import load_pose

    if isinstance(poses, Pose):
        if len(poses.batch_shape) != 1:
            raise InvalidPoseError(
                f"`poses` must be a Pose of batch shape (frames,), got {poses.batch_shape}."
            )
        frames = [poses[k] for k in range(len(poses))]
    else:
        array = None
        if isinstance(poses, np.ndarray):
            array = poses
        if array is not None and array.ndim == 3 and array.shape[1:] in ((14, 2), (14, 3)):
            poses = list(array)
        if isinstance(poses, (str, bytes)) or not hasattr(poses, "__iter__"):
            raise InvalidPoseError(
                "`poses` must be a keypoint folder or file, a dataset, a video, a Pose of "
                f"batch shape (frames,) or a sequence of poses; got {type(poses).__name__}."
            )
        frames = [_maybe_pose(pose, f"poses[{k}]", load_pose) for k, pose in enumerate(poses)]
    if not frames:
        raise InvalidPoseError("`poses` is empty: give at least one pose.")
    return _fill_missing(frames, "the poses given", None)


def _maybe_pose(pose, name, load_pose):
    """`load_pose(pose)`, or None for a pose with no joint at all (a frame with nobody)."""
    if isinstance(pose, Pose) and not pose.visible.any():
        return None
    if isinstance(pose, np.ndarray) and pose.dtype.kind == "f" and pose.shape[-1:] == (2,):
        if not np.isfinite(pose).all(axis=-1).any():
            return None
    return load_pose(pose, name)


def _read_path(path, clip, person, every, max_frames, detector):
    if not path.exists():
        raise DataFormatError(f"`poses`: {str(path)!r} does not exist.")
    if path.is_dir():
        if (path / "frames").is_dir() and (path / "info").is_dir():
            return _read_dataset(path, clip, every, max_frames)
        return _read_keypoints(_json_files(path), str(path), person, every, max_frames)
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _read_keypoints([path], str(path), person, every, max_frames)
    if suffix == ".mat":
        return _read_info(path, every, max_frames)
    if suffix in _VIDEO_SUFFIXES:
        return _read_video(path, every, max_frames, detector)
    raise DataFormatError(
        f"`poses`: {str(path)!r} is not a pose sequence: give a folder of keypoint JSON, a "
        f"keypoint .json file, a dataset folder (frames/, info/) or its .mat, or a video "
        f"({', '.join(_VIDEO_SUFFIXES)})."
    )


def _json_files(folder):
    files = [
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() == ".json" and not p.name.startswith(".")
    ]
    if not files:
        raise DataFormatError(
            f"`poses`: folder {str(folder)!r} holds no keypoint .json file (and is not a "
            "dataset with frames/ and info/)."
        )
    from posegan_zoo.data.keypoints_json import _natural_key

    return sorted(files, key=_natural_key)


def _keep(items, every, max_frames):
    """Every Nth of `items`, at most `max_frames` of them."""
    return list(
        itertools.islice(items, 0, None if max_frames is None else max_frames * every, every)
    )


def _read_keypoints(files, source, person, every, max_frames):
    from posegan_zoo.data import read_keypoints_json

    if isinstance(person, bool) or not isinstance(person, (int, np.integer)) or person < 0:
        raise InvalidConfigError(f"`person` must be an int >= 0, got {person!r}.")
    frames = []
    for path in files:
        # One frame per image record: a file may hold a list of them, some with nobody.
        people = read_keypoints_json(path)
        records = [[] for _ in range(_record_count(path))]
        for found in people:
            where = found.source[len(f"{path}: ") :]
            index = int(where[1 : where.index("]")]) if where.startswith("[") else 0
            records[index].append(found)
        frames.extend(found[person].pose if len(found) > person else None for found in records)
    return _fill_missing(_keep(frames, every, max_frames), source, None)


def _record_count(path):
    """How many image records keypoint file `path` holds (read once it parsed)."""
    import json

    document = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    return len(document) if isinstance(document, list) else 1


def _read_dataset(root, clip, every, max_frames):
    from posegan_zoo.data import read_posewarp_dataset

    clips = read_posewarp_dataset(root)
    names = [c.name for c in clips]
    if clip is None:
        if len(clips) > 1:
            raise InvalidConfigError(
                f"`poses`: dataset {str(root)!r} holds {len(clips)} videos; name one with "
                f"`clip` (--clip): {', '.join(names[:8])}{', ...' if len(names) > 8 else ''}."
            )
        chosen = clips[0]
    else:
        if clip not in names:
            raise InvalidConfigError(
                f"`clip`: dataset {str(root)!r} has no video {clip!r}; it holds "
                f"{', '.join(names[:8])}{', ...' if len(names) > 8 else ''}."
            )
        chosen = clips[names.index(clip)]
    frames = [chosen.poses[k] for k in range(len(chosen))]
    return _fill_missing(_keep(frames, every, max_frames), f"{root} ({chosen.name})", None)


def _read_info(path, every, max_frames):
    from posegan_zoo.data import read_posewarp_info

    joints, _ = read_posewarp_info(path)
    frames = [Pose(joints[k]) for k in range(len(joints))]
    if not frames:
        raise InvalidPoseError(f"`poses`: {str(path)!r} holds no pose.")
    return _fill_missing(_keep(frames, every, max_frames), str(path), None)


def _read_video(path, every, max_frames, detector):
    from posegan_zoo.video import read_video, video_info

    try:
        info = video_info(path)
        frames = (frame for _, frame in read_video(path, every=every, max_frames=max_frames))
        if detector is None:
            from posegan_zoo.detection import PoseDetector

            detector = PoseDetector()
        poses = [None if found is None else found.pose for found in detector.track(frames)]
    except InvalidVideoError as error:
        raise InvalidVideoError(f"`poses`: {error}") from None
    fps = None if info.fps is None else info.fps / every
    return _fill_missing(poses, str(path), fps)


def align_poses(poses, source_pose):
    """`poses` (batch `(frames,)`) moved and scaled onto the person of `source_pose`.

    Scaled by `person_scale(source_pose)` over the sequence's median person scale, about
    the sequence's mean body centre (the middle of the visible joints' extent), which
    lands on the source's body centre.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.animation import align_poses
    >>> from posegan_zoo.pose import Pose
    >>> xy = np.zeros((14, 2)); xy[:, 0] = np.arange(14); xy[8:, 1] = 80.0; xy[[10, 13], 1] = 120.0
    >>> moved = align_poses(Pose(np.stack([xy, xy + 10])), Pose(xy * 0.5 + 100))
    >>> moved.joints[:, 0].round(2).tolist()  # the heads: half the motion, about the source
    [[97.5, 97.5], [102.5, 102.5]]
    """
    source_pose = source_pose if isinstance(source_pose, Pose) else Pose(source_pose)
    scales = np.array([float(person_scale(poses[k])) for k in range(len(poses))])
    ratio = float(person_scale(source_pose)) / float(np.median(scales))
    centres = np.stack([_centre(poses[k]) for k in range(len(poses))])
    offset = _centre(source_pose) - ratio * centres.mean(axis=0)
    matrix = np.array([[ratio, 0.0, offset[0]], [0.0, ratio, offset[1]]])
    return poses.transform(matrix)


def _centre(pose):
    joints = pose.joints[pose.visible]
    return (joints.min(axis=0) + joints.max(axis=0)) / 2.0


def check_output(out, frames_dir=None):
    """Checks where `animate` writes before anything runs: `out` must end in .mp4 or .gif
    (or be None with a `frames_dir`), and neither may be in the way of a file or folder."""
    if out is None and frames_dir is None:
        raise InvalidConfigError("give `out` (an .mp4 or .gif file) or `frames_dir`.")
    if out is not None:
        out = pathlib.Path(out)
        if out.suffix.lower() not in OUTPUT_SUFFIXES:
            raise InvalidConfigError(
                f"`out`: {str(out)!r} has the extension {out.suffix or '(none)'!r}; write an "
                f"animation as {' or '.join(OUTPUT_SUFFIXES)}."
            )
        if out.is_dir():
            raise InvalidConfigError(f"`out`: {str(out)!r} is a folder; give a file name.")
    if frames_dir is not None and pathlib.Path(frames_dir).exists():
        if not pathlib.Path(frames_dir).is_dir():
            raise InvalidConfigError(f"`frames_dir`: {str(frames_dir)!r} is not a folder.")


def animate(
    regenerator,
    image,
    poses,
    out=None,
    *,
    source_pose=None,
    person=0,
    fps=None,
    frames_dir=None,
    batch_size=None,
    align="person",
    clip=None,
    every=1,
    max_frames=None,
):
    """Renders the person in `image` following `poses`; writes a video and/or PNG frames.

    Args:
        regenerator: a `PoseRegenerator` (or a generator model, wrapped in one).
        image: the photo (a path, PIL image or array).
        poses: the pose sequence (see `read_pose_sequence`) or a `PoseSequence`.
        out: the video to write, `.mp4` (H.264) or `.gif`; None writes frames only.
        source_pose: the person's joints in `image` (None: detected, the `person`-th
            largest; generators that read a person mask then get the detected one).
        person: which person, when detecting in the photo and reading keypoint files.
        fps: frames per second written (default: the sequence's, else 10).
        frames_dir: also write `frame-0000.png`, ... there.
        batch_size: target poses per generator call (default: the regenerator's).
        align: "person" fits the sequence onto the photo's person, "none" uses the poses
            as they are (in the photo's pixels).
        clip, every, max_frames: see `read_pose_sequence`.

    Returns an `Animation`. The video appears only once complete (a temporary file is
    renamed into place); each PNG likewise.
    """
    from posegan_zoo.regenerator import PoseRegenerator, _check_batch_size
    from posegan_zoo.reporting import save_png
    from posegan_zoo.video import write_video

    if not isinstance(regenerator, PoseRegenerator):
        if not hasattr(regenerator, "image_size"):
            raise InvalidConfigError(
                "`regenerator` must be a PoseRegenerator or a generator model, got "
                f"{type(regenerator).__name__}."
            )
        regenerator = PoseRegenerator(regenerator)
    if align not in ALIGN_CHOICES:
        raise InvalidConfigError(f"`align` must be one of {ALIGN_CHOICES}, got {align!r}.")
    if fps is not None and not (
        isinstance(fps, (int, float, np.number))
        and not isinstance(fps, bool)
        and np.isfinite(fps)
        and fps > 0
    ):
        raise InvalidConfigError(f"`fps` must be a positive number, got {fps!r}.")
    if batch_size is not None:
        batch_size = _check_batch_size(batch_size)
    check_output(out, frames_dir)

    sequence = read_pose_sequence(
        poses,
        clip=clip,
        person=person,
        every=every,
        max_frames=max_frames,
        detector=regenerator.detector,
    )
    frame, source, _ = regenerator._source(image, source_pose, person)
    targets = sequence.poses if align == "none" else align_poses(sequence.poses, source.pose)
    rate = float(fps if fps is not None else sequence.fps or DEFAULT_FPS)
    frames = regenerator._frames_from(frame, source, targets, batch_size)

    written = []
    digits = max(4, len(str(len(targets) - 1)))

    def rendered():
        for k, picture in enumerate(frames):
            if frames_dir is not None:
                path = pathlib.Path(frames_dir) / f"frame-{k:0{digits}d}.png"
                written.append(save_png(picture, path))
            yield picture

    if out is None:
        count = sum(1 for _ in rendered())
    else:
        counted = []

        def counting():
            for picture in rendered():
                counted.append(None)
                yield picture

        write_video(out, counting(), rate)
        count = len(counted)
    return Animation(
        path=None if out is None else pathlib.Path(out),
        frame_count=count,
        fps=rate,
        size=tuple(frame.shape[:2]),
        frame_paths=tuple(written),
        poses=targets,
        missing=sequence.missing,
    )
