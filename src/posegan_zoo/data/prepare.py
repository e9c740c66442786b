"""Videos -> a training dataset in the PoseWarp paper's format (`prepare_videos`).

Each video is decoded (`posegan_zoo.video.read_video`), its person is tracked by a pose
detector, and the frames where the whole person is seen clearly are kept::

    out/
      frames/<video>/1.jpg, 2.jpg, ...   kept frames, renumbered from 1 (JPEG quality 95)
      masks/<video>/1.png, 2.png, ...    person masks, 8-bit grey, 255 = person
      info/<video>.mat                   joints (X, 1-based) and boxes (bbox), as in the paper
      reports/<video>.json               frames read and kept, frames dropped by reason,
                                         thresholds, source size and frame rate, camera motion

PoseWarp assumes a static camera: its background comes from the source frame. The camera
motion figure of a report is the median, over the kept frames, of each frame's median
absolute grey-level difference (0..255, on a 64 pixel wide copy) to the first kept frame,
over the pixels that are background in both; above `CAMERA_MOTION_THRESHOLD` a
`CameraMotionWarning` names the video.

A video's report is written last, so a video that has a report is complete: a later run
skips it (unless `overwrite=True`), and a run killed half-way resumes with the video it was
on. Frames and masks are written into a hidden staging folder in `out` and moved into place
when the video is done.
"""

import collections
import json
import math
import os
import pathlib
import re
import shutil
import sys
import warnings

import numpy as np
from PIL import Image

from posegan_zoo.data.posewarp_format import write_posewarp_info
from posegan_zoo.errors import InvalidConfigError, InvalidImageError, InvalidVideoError
from posegan_zoo.pose import NUM_JOINTS, Pose

# Measured on real clips (grey levels, see the module docstring): static cameras 0.2-2.7
# (compression noise, exposure, the rim of the person mask); a slowly panning broadcast
# camera 4.9, a hand-held phone 13, panning cameras 15-20.
CAMERA_MOTION_THRESHOLD = 4.0
MOTION_WIDTH = 64
JPEG_QUALITY = 95
DROP_REASONS = ("no person", "low score", "joints not visible", "joints outside the frame")
_STAGING_PREFIX = ".prepare-"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class CameraMotionWarning(UserWarning):
    """A prepared video's background moves (a panning or shaking camera): PoseWarp, which
    takes the background from the source frame, trains poorly on it."""


def prepare_videos(
    inputs,
    out,
    detector=None,
    every=1,
    max_frames=None,
    min_score=0.5,
    min_visibility=0.5,
    min_visible_joints=14,
    overwrite=False,
    progress=True,
    max_camera_motion=CAMERA_MOTION_THRESHOLD,
):
    """Turns videos into a PoseWarp-format dataset in `out`; returns one report per video.

    Args:
        inputs: a video file, a folder (searched recursively for `VIDEO_SUFFIXES`, in sorted
            order), or a list of those. A video is named after its file stem (characters
            other than letters, digits, `.`, `_` and `-` become `_`); two videos with one
            stem get their parent folder's name in front (`pose2sim_cam01`).
        out: the dataset folder (created if needed).
        detector: has `track(frames)` yielding a detection (fields `joints`, `visibility`,
            `score`, `box`, `mask`, as `posegan_zoo.detection.PersonDetection`) or None per
            frame; default `posegan_zoo.detection.PoseDetector(min_visibility=...)`.
        every, max_frames: read every Nth frame, and at most M frames per video.
        min_score: a frame is kept when the detection's score is at least this ...
        min_visibility, min_visible_joints: ... and at least `min_visible_joints` of the 14
            joints have a visibility of at least `min_visibility` and lie inside the frame.
            The joints of a kept frame that do not are written as missing (NaN).
        overwrite: prepare videos that already have a report in `out` again.
        progress: print a line per video (frames read and kept) on stderr.
        max_camera_motion: the camera-motion figure above which a `CameraMotionWarning`
            is issued (default `CAMERA_MOTION_THRESHOLD`).

    Returns:
        the reports (dicts, as in `reports/<video>.json`), in input order, each with an
        extra `"status"`: "prepared", "no frame kept" (then only the report is written,
        no frames, masks or `.mat`), or "skipped" (a report was already there).

    Raises `InvalidVideoError` for a missing or undecodable video (the videos before it
    stay prepared) and `InvalidConfigError` for an out-of-range argument.

    Example:

    >>> import pathlib, tempfile, types
    >>> import numpy as np
    >>> from posegan_zoo.data import prepare_videos, read_posewarp_dataset
    >>> from posegan_zoo.video import write_video
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> write_video(root / "walk.mp4", [np.full((48, 64, 3), 90, np.uint8)] * 3, fps=10)
    >>> class StandStill:  # a stand-in detector: the same person in every frame
    ...     def track(self, frames):
    ...         for frame in frames:
    ...             joints = np.column_stack([np.linspace(20, 40, 14), np.linspace(5, 40, 14)])
    ...             yield types.SimpleNamespace(joints=joints, visibility=np.ones(14),
    ...                 score=0.9, box=np.array([20.0, 5, 20, 35]), mask=np.zeros((48, 64)))
    >>> [report] = prepare_videos(root / "walk.mp4", root / "data", StandStill(), progress=False)
    >>> report["status"], report["frames_read"], report["frames_kept"]
    ('prepared', 3, 3)
    >>> [clip] = read_posewarp_dataset(root / "data")
    >>> clip.name, len(clip), len(clip.mask_paths)
    ('walk', 3, 3)
    """
    from posegan_zoo.video import _check_positive

    every = _check_positive(every, "every")
    max_frames = _check_positive(max_frames, "max_frames", allow_none=True)
    min_score = _fraction(min_score, "min_score")
    min_visibility = _fraction(min_visibility, "min_visibility")
    if (
        isinstance(min_visible_joints, bool)
        or not isinstance(min_visible_joints, (int, np.integer))
        or not 0 <= min_visible_joints <= NUM_JOINTS
    ):
        raise InvalidConfigError(
            f"`min_visible_joints` must be an int in 0..{NUM_JOINTS}, got {min_visible_joints!r}."
        )
    if not (isinstance(max_camera_motion, (int, float)) and max_camera_motion >= 0):
        raise InvalidConfigError(
            f"`max_camera_motion` must be a number >= 0, got {max_camera_motion!r}."
        )
    paths = find_videos(inputs)
    out = pathlib.Path(out)
    if out.exists() and not out.is_dir():
        raise InvalidConfigError(f"`out` {str(out)!r} exists and is not a folder.")
    out.mkdir(parents=True, exist_ok=True)
    settings = {
        "every": every,
        "max_frames": max_frames,
        "min_score": min_score,
        "min_visibility": min_visibility,
        "min_visible_joints": int(min_visible_joints),
        "max_camera_motion": float(max_camera_motion),
    }
    summary = []
    names = video_names(paths)
    for number, (path, name) in enumerate(zip(paths, names, strict=True), start=1):
        label = f"prepare [{number}/{len(paths)}] {name}"
        report_path = out / "reports" / f"{name}.json"
        existing = None if overwrite else _read_report(report_path)
        if existing is not None:
            if progress:
                print(f"{label}: already prepared, skipped", file=sys.stderr, flush=True)
            summary.append({**existing, "status": "skipped"})
            continue
        report_path.unlink(missing_ok=True)  # from here on the video reads as not done
        if detector is None:  # loaded only when a video needs it
            from posegan_zoo.detection import PoseDetector

            detector = PoseDetector(min_visibility=min_visibility)
        report = _prepare_one(path, name, out, detector, settings, label if progress else None)
        if report["camera_motion_warning"]:
            warnings.warn(
                f"video {name!r} ({str(path)!r}): the background moves (camera motion "
                f"{report['camera_motion']:.1f} > {max_camera_motion:g} grey levels); PoseWarp "
                f"assumes a static camera, consider leaving this video out.",
                CameraMotionWarning,
                stacklevel=2,
            )
        summary.append(
            {**report, "status": "prepared" if report["frames_kept"] else "no frame kept"}
        )
    return summary


def find_videos(inputs):
    """The video files named by `inputs` (a path or a list of paths; a folder is searched
    recursively for `posegan_zoo.video.VIDEO_SUFFIXES`, sorted), each once, in order.

    A file named directly is taken whatever its suffix. Raises `InvalidVideoError` for a
    path that does not exist, a folder without videos, or no input at all.

    Example:

    >>> import pathlib, tempfile
    >>> from posegan_zoo.data.prepare import find_videos
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("b/clip.MP4", "a/clip.mov", "a/notes.txt"):
    ...     (root / name).parent.mkdir(exist_ok=True)
    ...     _ = (root / name).write_bytes(b"")
    >>> [str(p.relative_to(root)) for p in find_videos(root)]
    ['a/clip.mov', 'b/clip.MP4']
    """
    from posegan_zoo.video import VIDEO_SUFFIXES

    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    found, seen = [], set()
    for item in inputs:
        path = pathlib.Path(item)
        if path.is_dir():
            videos = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in VIDEO_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not videos:
                raise InvalidVideoError(
                    f"folder {str(path)!r} holds no video (looked for {', '.join(VIDEO_SUFFIXES)}"
                    f" in it and its sub-folders)."
                )
        elif path.is_file():
            videos = [path]
        else:
            raise InvalidVideoError(f"video or folder {str(path)!r} does not exist.")
        for video in videos:
            key = video.resolve()
            if key not in seen:
                seen.add(key)
                found.append(video)
    if not found:
        raise InvalidVideoError("no video given: pass video files or folders of videos.")
    return found


def video_names(paths):
    """Filesystem-safe, distinct (also ignoring case) dataset names for video files.

    Example:

    >>> from posegan_zoo.data.prepare import video_names
    >>> video_names(["pose2sim/cam01.mp4", "other/cam01.mp4", "My clip (2).mov"])
    ['pose2sim_cam01', 'other_cam01', 'My_clip_2']
    """
    paths = [pathlib.Path(p) for p in paths]
    stems = [_safe_name(p.stem) for p in paths]
    counts = collections.Counter(stem.lower() for stem in stems)
    names, used = [], set()
    for path, stem in zip(paths, stems, strict=True):
        name = stem
        if counts[stem.lower()] > 1 and path.parent.name:
            name = _safe_name(f"{path.parent.name}_{path.stem}")
        candidate, k = name, 2
        while candidate.lower() in used:
            candidate, k = f"{name}-{k}", k + 1
        used.add(candidate.lower())
        names.append(candidate)
    return names


def _safe_name(text):
    return _UNSAFE.sub("_", text).strip("._-") or "video"


def _fraction(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise InvalidConfigError(f"`{name}` must be a number in [0, 1], got {value!r}.")
    return float(value)


def _read_report(path):
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) else None


def _verdict(detection, height, width, settings):
    """(joints with NaN for the unusable ones, box) of a frame to keep, or a drop reason."""
    if detection is None:
        return "no person"
    if not float(detection.score) >= settings["min_score"]:
        return "low score"
    joints = np.asarray(detection.joints, dtype=np.float64).reshape(NUM_JOINTS, 2)
    visibility = np.asarray(detection.visibility, dtype=np.float64).reshape(NUM_JOINTS)
    needed = settings["min_visible_joints"]
    visible = (visibility >= settings["min_visibility"]) & np.isfinite(joints).all(axis=1)
    if visible.sum() < needed:
        return "joints not visible"
    with np.errstate(invalid="ignore"):
        inside = (
            (joints[:, 0] >= 0)
            & (joints[:, 0] <= width - 1)
            & (joints[:, 1] >= 0)
            & (joints[:, 1] <= height - 1)
        )
    usable = visible & inside
    if usable.sum() < needed:
        return "joints outside the frame"
    box = np.asarray(detection.box, dtype=np.float64).reshape(4)
    if not np.isfinite(box).all() or (box[2:] < 0).any():
        if not usable.any():
            return "joints not visible"
        low, high = joints[usable].min(axis=0), joints[usable].max(axis=0)
        box = np.concatenate([low, high - low])
    return np.where(usable[:, None], joints, np.nan), box


def _mask_image(detection, height, width, name, index):
    mask = np.asarray(detection.mask, dtype=np.float32)
    if mask.shape != (height, width):
        raise InvalidImageError(
            f"video {name!r}, frame {index}: the detector's mask has shape {mask.shape}, "
            f"expected the frame's ({height}, {width})."
        )
    return np.round(np.clip(np.nan_to_num(mask), 0.0, 1.0) * 255.0).astype(np.uint8)


def _small(frame, mask):
    """A `MOTION_WIDTH` wide grey copy of `frame` (float) and its background pixels."""
    height, width = frame.shape[:2]
    size = (MOTION_WIDTH, max(1, round(height * MOTION_WIDTH / width)))
    grey = Image.fromarray(frame).convert("L").convert("F").resize(size, Image.Resampling.BOX)
    person = Image.fromarray(mask).resize(size, Image.Resampling.BOX)
    return np.asarray(grey, dtype=np.float32), np.asarray(person) < 128


def _frames_with_detections(path, detector, every, max_frames):
    """Yields (index, frame, detection), running `detector.track` over the frames."""
    from posegan_zoo.video import read_video

    pending = collections.deque()

    def frames():
        for index, frame in read_video(path, every=every, max_frames=max_frames):
            pending.append((index, frame))
            yield frame

    for detection in detector.track(frames()):
        index, frame = pending.popleft()
        yield index, frame, detection


def _prepare_one(path, name, out, detector, settings, label):
    from posegan_zoo.training.checkpoints import atomic_path
    from posegan_zoo.video import video_info

    info = video_info(path)
    staging = out / f"{_STAGING_PREFIX}{name}"
    shutil.rmtree(staging, ignore_errors=True)
    frames_dir, masks_dir = staging / "frames", staging / "masks"
    frames_dir.mkdir(parents=True)
    masks_dir.mkdir()
    dropped = dict.fromkeys(DROP_REASONS, 0)
    kept_indices, joints, boxes, motion = [], [], [], []
    reference = None
    read = 0
    tty = label is not None and sys.stderr.isatty()
    try:
        for index, frame, detection in _frames_with_detections(
            path, detector, settings["every"], settings["max_frames"]
        ):
            read += 1
            height, width = frame.shape[:2]
            verdict = _verdict(detection, height, width, settings)
            if isinstance(verdict, str):
                dropped[verdict] += 1
            else:
                mask = _mask_image(detection, height, width, name, index)
                k = len(kept_indices) + 1
                Image.fromarray(frame).save(frames_dir / f"{k}.jpg", quality=JPEG_QUALITY)
                Image.fromarray(mask, mode="L").save(masks_dir / f"{k}.png")
                kept_indices.append(index)
                joints.append(verdict[0])
                boxes.append(verdict[1])
                grey, background = _small(frame, mask)
                if reference is None:
                    reference = grey, background
                else:
                    both = background & reference[1]
                    if both.any():
                        motion.append(float(np.median(np.abs(grey - reference[0])[both])))
            if tty and read % 10 == 0:
                print(
                    f"\r{label}: {read} read, {len(kept_indices)} kept",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
        if label is not None:
            print(
                f"{chr(13) if tty else ''}{label}: {read} frames read, {len(kept_indices)} kept",
                file=sys.stderr,
                flush=True,
            )

        camera_motion = round(float(np.median(motion)), 3) if motion else None
        report = {
            "video": name,
            "source": {
                "path": str(path),
                "width": info.width,
                "height": info.height,
                "fps": _finite_or_none(info.fps),
                "frame_count": info.frame_count,
            },
            "thresholds": {
                "every": settings["every"],
                "max_frames": settings["max_frames"],
                "min_score": settings["min_score"],
                "min_visibility": settings["min_visibility"],
                "min_visible_joints": settings["min_visible_joints"],
                "max_camera_motion": settings["max_camera_motion"],
            },
            "detector": type(detector).__name__,
            "frames_read": read,
            "frames_kept": len(kept_indices),
            "dropped": dropped,
            "camera_motion": camera_motion,
            "camera_motion_warning": bool(
                camera_motion is not None and camera_motion > settings["max_camera_motion"]
            ),
            "kept_frames": kept_indices,
        }
        for sub in ("frames", "masks"):
            shutil.rmtree(out / sub / name, ignore_errors=True)
        (out / "info" / f"{name}.mat").unlink(missing_ok=True)
        if kept_indices:
            for sub in ("frames", "masks"):
                (out / sub).mkdir(exist_ok=True)
                os.replace(staging / sub, out / sub / name)
            with atomic_path(out / "info" / f"{name}.mat") as tmp:
                write_posewarp_info(tmp, Pose(np.stack(joints)), np.stack(boxes))
        with atomic_path(out / "reports" / f"{name}.json") as tmp:
            tmp.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report


def _finite_or_none(value):
    return value if value is None or math.isfinite(value) else None
