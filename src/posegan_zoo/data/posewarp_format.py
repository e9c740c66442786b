"""Reader (and `.mat` writer) for the PoseWarp paper's dataset layout.

The layout, one video per person::

    root/
      frames/<video>/1.jpg, 2.jpg, ...   (or .png; numbered from 1, no gaps)
      info/<video>.mat                   struct `data` with fields
                                           X:    14 x 2 x N joints, 1-based pixel coordinates
                                           bbox: N x 4 boxes (x, y, w, h)
      masks/<video>/1.png, 2.png, ...    optional: person masks, 8-bit grey, 255 = person

Names starting with a dot (temporary files of an unfinished write) are ignored.

Joints are in our 14-joint order (`posegan_zoo.pose.JOINT_NAMES`); NaN joints are missing.
The reader subtracts 1 from the joints (MATLAB counts pixels from 1) and keeps the boxes as
stored. A `.mat` holding `X` and `bbox` as top-level variables instead of inside `data` is
read too.
"""

import io
import pathlib
import re

import numpy as np
import scipy.io

from posegan_zoo.data.clip import Clip
from posegan_zoo.errors import DataFormatError
from posegan_zoo.pose import NUM_JOINTS, Pose

FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")
MASK_SUFFIXES = (".png",)
# The first 116 bytes of a MAT-file are free text; scipy puts the time of writing there. A
# fixed text makes the same poses give the same bytes.
_MAT_DESCRIPTION = b"MATLAB 5.0 MAT-file, Platform: posix, written by posegan_zoo".ljust(116)
_FRAME_NAME = re.compile(r"[0-9]+")


def read_posewarp_dataset(root):
    """Reads every video of a PoseWarp-format dataset as a `Clip`, sorted by video name.

    Frames are listed in numeric order (10 after 9); joints become 0-based. A video with a
    `masks/<video>/` folder gets its masks as `Clip.mask_paths` (one PNG per frame). Raises
    `DataFormatError` naming the folder or file at fault and what is wrong: a missing
    folder, a video without its `.mat` (or a `.mat` without frames), an unreadable or
    incomplete `.mat`, wrong shapes, a frame count that differs from the `.mat`'s (or, for
    masks, from the frames'), frame numbers with gaps, or non-finite values (NaN joints are
    allowed: they are missing).

    Example:

    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from posegan_zoo.data import read_posewarp_dataset, write_posewarp_info
    >>> from posegan_zoo.pose import Pose
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "frames" / "walk").mkdir(parents=True)
    >>> for k in range(1, 11):
    ...     _ = (root / "frames" / "walk" / f"{k}.png").write_bytes(b"")
    >>> poses, boxes = Pose(np.ones((10, 14, 2))), np.ones((10, 4))
    >>> write_posewarp_info(root / "info" / "walk.mat", poses, boxes)
    >>> [clip] = read_posewarp_dataset(root)
    >>> clip.name, len(clip), clip.frame_paths[-1].name, clip.poses.joints[0, 0].tolist()
    ('walk', 10, '10.png', [1.0, 1.0])
    """
    root = pathlib.Path(root)
    if not root.is_dir():
        raise DataFormatError(
            f"PoseWarp dataset root {str(root)!r} does not exist or is not a folder."
        )
    frames_dir, info_dir = root / "frames", root / "info"
    for folder, holds in (
        (frames_dir, "one sub-folder of frames per video"),
        (info_dir, "one .mat per video"),
    ):
        if not folder.is_dir():
            raise DataFormatError(
                f"PoseWarp dataset {str(root)!r} has no {folder.name!r} folder: expected "
                f"{str(folder)!r} holding {holds}."
            )
    videos = {path.name: path for path in _listed(frames_dir) if path.is_dir()}
    infos = {
        path.stem: path
        for path in _listed(info_dir)
        if path.is_file() and path.suffix.lower() == ".mat"
    }
    without_info = sorted(set(videos) - set(infos))
    if without_info:
        raise DataFormatError(
            f"PoseWarp dataset {str(root)!r}: no .mat in {str(info_dir)!r} for the video "
            f"folder(s) {_some(without_info)} (expected info/<video>.mat for frames/<video>/)."
        )
    without_frames = sorted(set(infos) - set(videos))
    if without_frames:
        raise DataFormatError(
            f"PoseWarp dataset {str(root)!r}: no frame folder in {str(frames_dir)!r} for "
            f"{_some([infos[name].name for name in without_frames])} (expected frames/<video>/ "
            f"for info/<video>.mat)."
        )
    if not videos:
        raise DataFormatError(
            f"PoseWarp dataset {str(root)!r} holds no video: {str(frames_dir)!r} has no sub-folder."
        )

    clips = []
    for name in sorted(videos):
        joints, boxes = read_posewarp_info(infos[name])
        paths = _frame_paths(videos[name])
        if len(paths) != len(joints):
            raise DataFormatError(
                f"video {name!r}: {len(paths)} frames in {str(videos[name])!r} but "
                f"{len(joints)} poses in {str(infos[name])!r}; they must match."
            )
        masks = _mask_paths(root / "masks" / name, len(paths), videos[name])
        clips.append(Clip(name, paths, Pose(joints), boxes, mask_paths=masks))
    return clips


def _listed(folder):
    """The entries of `folder`, less hidden ones (an unfinished write's temporary files)."""
    return [path for path in folder.iterdir() if not path.name.startswith(".")]


def _mask_paths(folder, count, frames_folder):
    """The masks of one video (None without a mask folder), checked against its frames."""
    if not folder.is_dir():
        return None
    paths = _frame_paths(folder, MASK_SUFFIXES, "mask")
    if len(paths) != count:
        raise DataFormatError(
            f"mask folder {str(folder)!r} holds {len(paths)} masks but {str(frames_folder)!r} "
            f"holds {count} frames; there must be one mask <k>.png per frame."
        )
    return paths


def read_posewarp_info(path):
    """Reads one PoseWarp `.mat`: returns joints `(N, 14, 2)` (0-based, NaN = missing) and
    boxes `(N, 4)` as (x, y, w, h), both float64.

    Example:

    >>> import pathlib, tempfile
    >>> import numpy as np, scipy.io
    >>> from posegan_zoo.data import read_posewarp_info
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "clip.mat"
    >>> X = np.full((14, 2, 3), 5.0); X[0, :, 1] = np.nan  # head missing in frame 2
    >>> scipy.io.savemat(path, {"data": {"X": X, "bbox": np.ones((3, 4))}})
    >>> joints, boxes = read_posewarp_info(path)
    >>> joints.shape, joints[0, 0].tolist(), bool(np.isnan(joints[1, 0]).all())
    ((3, 14, 2), [4.0, 4.0], True)
    """
    path = pathlib.Path(path)
    where = repr(str(path))
    if not path.is_file():
        raise DataFormatError(f"pose file {where} does not exist.")
    try:
        contents = scipy.io.loadmat(str(path), squeeze_me=False, struct_as_record=True)
    except NotImplementedError:
        raise DataFormatError(
            f"pose file {where} is a MATLAB v7.3 (HDF5) file, which is not supported: save it "
            f"with save(..., '-v7')."
        ) from None
    except Exception as error:  # scipy raises several types for a non-MATLAB file
        raise DataFormatError(
            f"pose file {where} is not a readable MATLAB .mat file: {error}"
        ) from None

    if "data" in contents:
        data = contents["data"]
        if data.dtype.names is None or data.size != 1:
            raise DataFormatError(
                f"pose file {where}: `data` must be a struct with fields X and bbox, got a "
                f"{_describe(data)}."
            )
        record = data.reshape(-1)[0]
        fields = {name: record[name] for name in data.dtype.names}
        prefix = "data."
    else:
        fields = {k: v for k, v in contents.items() if not k.startswith("__")}
        prefix = ""
        if not {"X", "bbox"} <= set(fields):
            raise DataFormatError(
                f"pose file {where} has no struct `data` (with fields X and bbox); found "
                f"variables {sorted(fields) or 'none'}."
            )
    for field in ("X", "bbox"):
        if field not in fields:
            raise DataFormatError(
                f"pose file {where}: `{prefix}{field}` is missing (found {sorted(fields)}); "
                f"expected X (14 x 2 x N joints) and bbox (N x 4 boxes)."
            )

    joints = _numeric(fields["X"], f"{prefix}X", where)
    if joints.ndim == 2:  # MATLAB drops the trailing axis of a single frame (14 x 2 x 1)
        joints = joints[:, :, None]
    if joints.ndim != 3 or joints.shape[:2] != (NUM_JOINTS, 2):
        raise DataFormatError(
            f"pose file {where}: `{prefix}X` must be {NUM_JOINTS} x 2 x N (joints x (x, y) x "
            f"frames), got {' x '.join(map(str, joints.shape))}."
        )
    count = joints.shape[2]
    if np.isinf(joints).any():
        frame = int(np.nonzero(np.isinf(joints).any(axis=(0, 1)))[0][0]) + 1
        raise DataFormatError(
            f"pose file {where}: `{prefix}X` holds infinite coordinates (frame {frame}); only "
            f"NaN is allowed, for a missing joint."
        )

    boxes = _numeric(fields["bbox"], f"{prefix}bbox", where)
    if boxes.ndim == 1 and boxes.size == 4:
        boxes = boxes[None]
    if boxes.shape != (count, 4):
        raise DataFormatError(
            f"pose file {where}: `{prefix}bbox` must be N x 4 (x, y, w, h) with N = {count} "
            f"frames as in `{prefix}X`, got {' x '.join(map(str, boxes.shape))}."
        )
    bad = ~np.isfinite(boxes).all(axis=1)
    if bad.any():
        raise DataFormatError(
            f"pose file {where}: `{prefix}bbox` holds NaN or infinite values in frame(s) "
            f"{_some(list(np.nonzero(bad)[0] + 1))}; every frame needs a finite box."
        )
    negative = (boxes[:, 2:] < 0).any(axis=1)
    if negative.any():
        raise DataFormatError(
            f"pose file {where}: `{prefix}bbox` has a negative width or height in frame(s) "
            f"{_some(list(np.nonzero(negative)[0] + 1))}."
        )
    return np.moveaxis(joints, 2, 0) - 1.0, boxes


def write_posewarp_info(path, poses, boxes):
    """Writes poses (a `Pose` of batch shape `(N,)`, 0-based) and `(N, 4)` boxes as a PoseWarp
    `.mat` (struct `data` with `X` 14 x 2 x N, 1-based, and `bbox`), creating its folder.

    Missing joints are written as NaN. `read_posewarp_info` reads the file back. The file
    holds no time stamp: the same poses and boxes always give the same bytes.

    Example:

    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from posegan_zoo.data import read_posewarp_info, write_posewarp_info
    >>> from posegan_zoo.pose import Pose
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "info" / "clip.mat"
    >>> write_posewarp_info(path, Pose(np.zeros((2, 14, 2))), [[0, 0, 5, 9], [1, 1, 5, 9]])
    >>> joints, boxes = read_posewarp_info(path)
    >>> float(joints.max()), boxes[1].tolist()
    (0.0, [1.0, 1.0, 5.0, 9.0])
    """
    poses = poses if isinstance(poses, Pose) else Pose(poses)
    if len(poses.batch_shape) != 1:
        raise DataFormatError(
            f"`poses` must be a Pose of batch shape (N,), got {poses.batch_shape}."
        )
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.shape != (poses.batch_shape[0], 4):
        raise DataFormatError(
            f"`boxes` must have shape ({poses.batch_shape[0]}, 4) as (x, y, w, h), got "
            f"{boxes.shape}."
        )
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    joints = np.moveaxis(poses.to_array() + 1.0, 0, 2)
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {"data": {"X": joints, "bbox": boxes}})
    contents = bytearray(buffer.getvalue())
    contents[: len(_MAT_DESCRIPTION)] = _MAT_DESCRIPTION
    path.write_bytes(bytes(contents))


def _frame_paths(folder, suffixes=FRAME_SUFFIXES, kind="frame"):
    """The frames (or masks) of one video in numeric order, checking the numbering 1..N."""
    holder = "video folder" if kind == "frame" else f"{kind} folder"
    numbered = {}
    for path in _listed(folder):
        if not path.is_file() or path.suffix.lower() not in suffixes:
            continue
        if not _FRAME_NAME.fullmatch(path.stem):
            raise DataFormatError(
                f"{kind} {str(path)!r}: {kind} files must be named <k>{path.suffix} with k = "
                f"1, 2, ... (the frame number)."
            )
        number = int(path.stem)
        if number in numbered:
            raise DataFormatError(
                f"{holder} {str(folder)!r}: {kind} {number} appears twice "
                f"({numbered[number].name} and {path.name})."
            )
        numbered[number] = path
    if not numbered:
        expected = "1.jpg, 2.jpg, ... or .png" if kind == "frame" else "1.png, 2.png, ..."
        raise DataFormatError(f"{holder} {str(folder)!r} holds no {kind} (expected {expected}).")
    numbers = sorted(numbered)
    expected = range(1, len(numbers) + 1)
    if numbers != list(expected):
        missing = sorted(set(range(1, numbers[-1] + 1)) - set(numbers))
        detail = (
            f"frame numbers must start at 1, got {numbers[0]}"
            if numbers[0] != 1
            else f"{kind} number(s) {_some(missing)} are missing"
        )
        raise DataFormatError(
            f"{holder} {str(folder)!r}: {kind}s must be numbered 1..N without gaps; "
            f"{detail} (found {len(numbers)} {kind}s, numbered {numbers[0]}..{numbers[-1]})."
        )
    return [numbered[k] for k in numbers]


def _numeric(value, field, where):
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise DataFormatError(
            f"pose file {where}: `{field}` must be a numeric array, got a {_describe(array)}."
        )
    return array.astype(np.float64)


def _describe(array):
    kind = "struct" if array.dtype.names else f"{array.dtype} array"
    return f"{kind} of shape {' x '.join(map(str, array.shape))}"


def _some(items, limit=5):
    shown = ", ".join(repr(item) if isinstance(item, str) else str(item) for item in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
