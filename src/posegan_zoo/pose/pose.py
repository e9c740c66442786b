"""`Pose`: joints of one person (or a batch) in the 14-joint layout, with visibility."""

import numpy as np

from posegan_zoo.errors import InvalidPoseError
from posegan_zoo.pose.skeleton import FLIP_PERMUTATION, JOINT_NAMES, NUM_JOINTS


class Pose:
    """Joints in pixel coordinates (x right, y down, pixel centres at integers).

    `joints` has shape `(..., 14, 2)`; leading axes are batch axes. A joint that was not
    annotated is *missing*: its `visible` flag is False. Pass it as NaN in `joints`, or pass
    `visible` explicitly; missing joints never take part in any geometry.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.pose import Pose
    >>> xy = np.zeros((14, 2)); xy[:, 0] = np.arange(14); xy[3] = np.nan
    >>> pose = Pose(xy)
    >>> pose.visible.sum(), pose.batch_shape
    (np.int64(13), ())
    >>> pose.flip_horizontal(image_width=100).joints[2].tolist()  # right shoulder <- left one
    [94.0, 0.0]
    """

    __slots__ = ("_joints", "_visible")

    def __init__(self, joints, visible=None):
        try:
            xy = np.array(joints, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise InvalidPoseError(
                f"`joints` must be numeric, got {type(joints).__name__}: {error}"
            ) from None
        if xy.ndim < 2 or xy.shape[-2:] != (NUM_JOINTS, 2):
            raise InvalidPoseError(
                f"`joints` must have shape (..., {NUM_JOINTS}, 2) as (x, y) pixel coordinates "
                f"in the 14-joint layout, got shape {xy.shape}."
            )
        finite = np.isfinite(xy).all(axis=-1)
        if visible is None:
            flags = finite
        else:
            flags = np.asarray(visible)
            if flags.shape != xy.shape[:-1]:
                raise InvalidPoseError(
                    f"`visible` must have shape {xy.shape[:-1]} (one flag per joint), "
                    f"got {flags.shape}."
                )
            flags = flags.astype(bool)
            bad = flags & ~finite
            if bad.any():
                names = sorted({JOINT_NAMES[i] for i in np.nonzero(bad)[-1]})
                raise InvalidPoseError(
                    f"`joints` holds NaN or infinite coordinates for joints marked visible: "
                    f"{', '.join(names)}."
                )
        infinite = np.isinf(xy).any(axis=-1)
        if infinite.any():
            names = sorted({JOINT_NAMES[i] for i in np.nonzero(infinite)[-1]})
            raise InvalidPoseError(
                f"`joints` holds infinite coordinates for {', '.join(names)}; mark a missing "
                "joint with NaN."
            )
        self._joints = np.where(flags[..., None], xy, 0.0)
        self._visible = flags
        self._joints.setflags(write=False)
        self._visible.setflags(write=False)

    @property
    def joints(self):
        """Coordinates, `(..., 14, 2)` float64; missing joints hold 0 (check `visible`)."""
        return self._joints

    @property
    def visible(self):
        """Visibility flags, `(..., 14)` bool."""
        return self._visible

    @property
    def batch_shape(self):
        return self._visible.shape[:-1]

    def to_array(self):
        """Coordinates with NaN for missing joints, `(..., 14, 2)`."""
        return np.where(self._visible[..., None], self._joints, np.nan)

    def __len__(self):
        if not self.batch_shape:
            raise TypeError("len() of a single (unbatched) Pose")
        return self.batch_shape[0]

    def __getitem__(self, index):
        if not self.batch_shape:
            raise TypeError("a single (unbatched) Pose cannot be indexed")
        return Pose(self._joints[index], self._visible[index])

    def __eq__(self, other):
        return (
            isinstance(other, Pose)
            and np.array_equal(self._visible, other._visible)
            and np.array_equal(self._joints, other._joints)
        )

    __hash__ = None

    def __repr__(self):
        return (
            f"Pose(batch_shape={self.batch_shape}, "
            f"visible={int(self._visible.sum())}/{self._visible.size})"
        )

    def check_in_frame(self, height, width, name="pose", margin=0.5, min_extent=4.0):
        """Raises `InvalidPoseError` unless this single pose can be a person in the frame.

        Every visible joint must lie inside the `height` x `width` frame grown by `margin`
        of its size on each side (detectors place occluded joints a little outside), at
        least two joints must be visible, and they must span `min_extent` pixels: joints
        all at one point are a typo, not a person. Returns the pose.

        >>> import numpy as np
        >>> from posegan_zoo.pose import Pose
        >>> xy = np.stack([np.linspace(10, 50, 14), np.linspace(5, 90, 14)], axis=-1)
        >>> Pose(xy).check_in_frame(100, 60).visible.all()
        np.True_
        """
        if self.batch_shape:
            raise InvalidPoseError(f"`{name}`: expected one pose, got a batch {self.batch_shape}.")
        if self._visible.sum() < 2:
            raise InvalidPoseError(
                f"`{name}`: at least 2 joints must be visible, got {int(self._visible.sum())}."
            )
        x, y = self._joints[:, 0], self._joints[:, 1]
        outside = self._visible & (
            (x < -margin * width)
            | (x > (1 + margin) * width)
            | (y < -margin * height)
            | (y > (1 + margin) * height)
        )
        if outside.any():
            joint = int(np.nonzero(outside)[0][0])
            raise InvalidPoseError(
                f"`{name}`: joint {JOINT_NAMES[joint]} at ({x[joint]:.6g}, {y[joint]:.6g}) lies "
                f"far outside the {width} x {height} image; coordinates are pixels of that image "
                "(x right, y down)."
            )
        seen = self._joints[self._visible]
        extent = float(np.max(seen.max(axis=0) - seen.min(axis=0)))
        if extent < min_extent:
            raise InvalidPoseError(
                f"`{name}`: the visible joints span {extent:.3g} pixels; a person's joints "
                f"must span at least {min_extent:g} pixels."
            )
        return self

    @classmethod
    def stack(cls, poses):
        """Stacks poses of the same batch shape along a new leading axis."""
        poses = list(poses)
        if not poses or not all(isinstance(p, Pose) for p in poses):
            raise InvalidPoseError("`Pose.stack` needs a non-empty sequence of Pose objects.")
        return cls(np.stack([p.joints for p in poses]), np.stack([p.visible for p in poses]))

    def flip_horizontal(self, image_width):
        """Mirrors the pose in an image `image_width` pixels wide, swapping left and right."""
        flipped = self._joints[..., FLIP_PERMUTATION, :].copy()
        flipped[..., 0] = (image_width - 1) - flipped[..., 0]
        return Pose(flipped, self._visible[..., FLIP_PERMUTATION])

    def transform(self, matrix):
        """Applies a `(..., 2, 3)` affine matrix (broadcast over the batch) to every joint."""
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.shape[-2:] != (2, 3):
            raise InvalidPoseError(f"`matrix` must have shape (..., 2, 3), got {matrix.shape}.")
        moved = np.einsum("...ij,...kj->...ki", matrix[..., :, :2], self._joints)
        moved = moved + matrix[..., None, :, 2]
        return Pose(moved, self._visible)
