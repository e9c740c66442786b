"""Keypoint layouts of common pose estimators, and their conversion to our 14 joints.

Our layout (`posegan_zoo.pose.JOINT_NAMES`) is MPII-style: head (the top of the head),
neck, then shoulder, elbow, wrist of the right and the left arm, then hip, knee, ankle of
the right and the left leg. "Left" and "right" are the person's own, as in every layout
below, so a left joint always lands on a left joint.

Conversion rules (`to_posewarp_pose`):

- Joints are mapped by name. Source joints we have no slot for (eyes, ears, feet,
  fingers, the mid-hip...) are dropped.
- A source joint is *missing* when its x or y is not finite or, when the keypoints carry a
  third column (confidence, or COCO's visibility flag v), when that value is not finite,
  is 0 or less, or is below `min_confidence`. Missing joints stay missing (NaN).
- Neck, for layouts without one (COCO-17, BlazePose-33): the midpoint of the two
  shoulders, only when both are present. Layouts with a neck (OpenPose, LSP) keep theirs.
- Head, for layouts without a head-top point (COCO-17, OpenPose BODY-18 / BODY-25,
  BlazePose-33), estimated from the face:
  `head = F + k * (F - neck)`, with `F` the mean of the eyes and ears that are present and
  `k = HEAD_FROM_EYES_EARS` (0.6); when no eye or ear is present, `F` is the nose and
  `k = HEAD_FROM_NOSE` (0.8). `neck` is the (possibly derived) neck above; the head is
  missing when the neck is, or when no face point is present.
"""

import dataclasses
import types

import numpy as np

from posegan_zoo.errors import InvalidConfigError, InvalidPoseError
from posegan_zoo.pose.pose import Pose
from posegan_zoo.pose.skeleton import JOINT_NAMES, NUM_JOINTS

# The head estimate extends the line from the neck through the face beyond the face: the
# joint "head" of the PoseWarp data is the top of the head (MPII's head top), not the face.
# In the bundled tennis clip it sits on or just above the hair, 53-59 px from the neck
# (upper neck) for a shoulder-to-hip length of 86-92 px. By usual adult proportions the eyes
# and ears lie about one head height above the shoulder line and the top of the skull about
# 0.6 of that above them; the nose tip is lower, so from the nose we go further (0.8). On the
# fully labelled people of a COCO sample this puts the estimate on the top of the skull
# (0.3-0.9 torso lengths above the shoulders depending on the pose; about 0.7 in the
# tennis clip).
HEAD_FROM_EYES_EARS = 0.6
HEAD_FROM_NOSE = 0.8

_HEAD, _NECK = JOINT_NAMES.index("head"), JOINT_NAMES.index("neck")
_SHOULDERS = (JOINT_NAMES.index("right_shoulder"), JOINT_NAMES.index("left_shoulder"))
_EYES_EARS = ("left_eye", "right_eye", "left_ear", "right_ear")
# Source names that fill one of our joints under another name.
_ALIASES = {"head": ("head", "head_top")}


@dataclasses.dataclass(frozen=True)
class Layout:
    """A keypoint layout: its name, its joint names in order, and where it comes from.

    Joint names are snake_case, "left" and "right" being the person's own.

    Example:

    >>> from posegan_zoo.data import LAYOUTS
    >>> layout = LAYOUTS["coco17"]
    >>> layout.num_joints, layout.joint_names[5]
    (17, 'left_shoulder')
    """

    name: str
    joint_names: tuple
    description: str

    @property
    def num_joints(self):
        """The number of keypoints K."""
        return len(self.joint_names)

    def index(self, joint_name):
        """The position of `joint_name` in this layout (ValueError when absent)."""
        return self.joint_names.index(joint_name)


_COCO17 = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
_OPENPOSE_BODY = (
    "nose",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
)
_OPENPOSE18 = (
    *_OPENPOSE_BODY,
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_eye",
    "left_eye",
    "right_ear",
    "left_ear",
)
_OPENPOSE25 = (
    *_OPENPOSE_BODY,
    "mid_hip",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_eye",
    "left_eye",
    "right_ear",
    "left_ear",
    "left_big_toe",
    "left_small_toe",
    "left_heel",
    "right_big_toe",
    "right_small_toe",
    "right_heel",
)
_BLAZEPOSE33 = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)
_LSP14 = (
    "right_ankle",
    "right_knee",
    "right_hip",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_wrist",
    "right_elbow",
    "right_shoulder",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "neck",
    "head_top",
)

LAYOUTS = types.MappingProxyType(
    {
        layout.name: layout
        for layout in (
            Layout("posewarp14", JOINT_NAMES, "ours: MPII-style 14 joints (identity)"),
            Layout("coco17", _COCO17, "COCO person keypoints (also ViTPose, MMPose, YOLO-pose)"),
            Layout("openpose18", _OPENPOSE18, "OpenPose BODY-18: COCO-18 order with a neck"),
            Layout("openpose25", _OPENPOSE25, "OpenPose BODY-25"),
            Layout("blazepose33", _BLAZEPOSE33, "MediaPipe BlazePose, 33 landmarks"),
            Layout("lsp14", _LSP14, "Leeds Sports Pose, 14 joints"),
        )
    }
)
"""Known layouts by name (read-only mapping of `Layout`)."""


def get_layout(layout):
    """Returns the `Layout` named `layout` (a `Layout` is returned as is).

    Raises `InvalidConfigError` naming the known layouts for an unknown name.

    Example:

    >>> from posegan_zoo.data import get_layout
    >>> get_layout("lsp14").joint_names[-2:]
    ('neck', 'head_top')
    """
    if isinstance(layout, Layout):
        return layout
    try:
        return LAYOUTS[layout]
    except (KeyError, TypeError):
        known = ", ".join(f"{name} (K={lay.num_joints})" for name, lay in LAYOUTS.items())
        raise InvalidConfigError(
            f"unknown keypoint layout {layout!r}; known layouts: {known}."
        ) from None


def _source_index(layout, joint_name):
    for name in _ALIASES.get(joint_name, (joint_name,)):
        if name in layout.joint_names:
            return layout.index(name)
    return None


def to_posewarp_pose(keypoints, layout, min_confidence=0.0):
    """Converts keypoints of a known `layout` to a `Pose` in our 14-joint layout.

    `keypoints` has shape `(..., K, 2)` as (x, y), or `(..., K, 3)` as (x, y, confidence)
    (COCO's visibility flag v works as a confidence: v = 0 is missing). Leading axes are
    batch axes. A joint is missing when its coordinates are not finite, or its confidence
    is not finite, is 0 or less, or is below `min_confidence`. Missing joints stay missing;
    a neck without one in the source is the shoulders' midpoint, a head without a head-top
    point is estimated from the face (see the module docstring for the exact rules).

    Raises `InvalidConfigError` for an unknown layout name and `InvalidPoseError` when K
    does not match the layout (the message names the layout and its K).

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.data import to_posewarp_pose
    >>> keypoints = np.zeros((17, 3)); keypoints[:, 2] = 2.0
    >>> keypoints[5, :2], keypoints[6, :2] = (60.0, 40.0), (40.0, 40.0)  # shoulders
    >>> keypoints[1:5, :2] = (50.0, 20.0)  # eyes and ears
    >>> keypoints[15, 2] = 0.0  # left ankle not labelled
    >>> pose = to_posewarp_pose(keypoints, "coco17")
    >>> pose.joints[[0, 1, 5]].tolist(), bool(pose.visible[13])
    ([[50.0, 8.0], [50.0, 40.0], [60.0, 40.0]], False)
    """
    layout = get_layout(layout)
    try:
        points = np.array(keypoints, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InvalidPoseError(
            f"`keypoints` for layout {layout.name!r} must be numeric, got "
            f"{type(keypoints).__name__}: {error}"
        ) from None
    count = layout.num_joints
    if points.ndim < 2 or points.shape[-2] != count or points.shape[-1] not in (2, 3):
        raise InvalidPoseError(
            f"`keypoints` for layout {layout.name!r} must have shape (..., {count}, 2) as "
            f"(x, y) or (..., {count}, 3) as (x, y, confidence): K = {count} joints, got "
            f"shape {points.shape}."
        )
    try:
        threshold = float(min_confidence)
    except (TypeError, ValueError):
        threshold = float("nan")
    if not np.isfinite(threshold):
        raise InvalidConfigError(
            f"`min_confidence` must be a finite number, got {min_confidence!r}."
        )

    xy = points[..., :2]
    present = np.isfinite(xy).all(axis=-1)
    if points.shape[-1] == 3:
        confidence = points[..., 2]
        with np.errstate(invalid="ignore"):
            present &= np.isfinite(confidence) & (confidence > 0) & (confidence >= threshold)
    source = np.where(present[..., None], xy, np.nan)

    joints = np.full((*points.shape[:-2], NUM_JOINTS, 2), np.nan)
    for target, name in enumerate(JOINT_NAMES):
        index = _source_index(layout, name)
        if index is not None:
            joints[..., target, :] = source[..., index, :]

    if _source_index(layout, "neck") is None:
        # nanmean would accept one shoulder; a plain mean is NaN unless both are present.
        joints[..., _NECK, :] = joints[..., list(_SHOULDERS), :].mean(axis=-2)
    if _source_index(layout, "head") is None:
        joints[..., _HEAD, :] = _head_from_face(layout, source, joints[..., _NECK, :])
    return Pose(joints)


def _head_from_face(layout, source, neck):
    """Head-top estimate `F + k (F - neck)` (see the module docstring), NaN when unknown."""
    head = np.full_like(neck, np.nan)
    indices = [layout.index(name) for name in _EYES_EARS if name in layout.joint_names]
    if indices:
        face_points = source[..., indices, :]
        found = np.isfinite(face_points[..., 0])
        total = np.where(found[..., None], face_points, 0.0).sum(axis=-2)
        count = found.sum(axis=-1)[..., None]
        centre = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        head = centre + HEAD_FROM_EYES_EARS * (centre - neck)
    if "nose" in layout.joint_names:
        nose = source[..., layout.index("nose"), :]
        from_nose = nose + HEAD_FROM_NOSE * (nose - neck)
        head = np.where(np.isfinite(head), head, from_nose)
    return head
