"""Joint heatmaps: one Gaussian per joint, the pose input of every PoseWarp network."""

import numpy as np

from posegan_zoo._validation import as_image_size
from posegan_zoo.pose import graph
from posegan_zoo.pose.graph import DEFAULT_DOWNSAMPLE, DEFAULT_SIGMA
from posegan_zoo.pose.pose import Pose


def as_pose(pose):
    """`pose` as a `Pose` (it may be one already, or a `(..., 14, 2)` array)."""
    return pose if isinstance(pose, Pose) else Pose(pose)


def flat_keypoints(pose):
    """A `Pose`'s joints as `(n, 14, 2)` float64, its batch axes flattened, NaN = missing."""
    joints = np.where(pose.visible[..., None], pose.joints, np.nan)
    return joints.reshape(-1, *joints.shape[-2:])


def joint_heatmaps(pose, image_size, downsample=DEFAULT_DOWNSAMPLE, sigma=DEFAULT_SIGMA):
    """Renders a `Pose` as `(..., H / downsample, W / downsample, 14)` float32 heatmaps.

    Joint `j` gives `exp(-d^2 / (2 sigma^2))`, `d` being the distance to the joint on the
    downsampled grid (joint coordinates divided by `downsample`). A missing joint, or one
    on or beyond the border of that grid, gives an all-zero channel. The numpy entry point
    to `posegan_zoo.pose.graph.joint_heatmaps` (any batch shape).

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.pose import Pose, joint_heatmaps
    >>> pose = Pose(np.full((14, 2), 64.0))
    >>> maps = joint_heatmaps(pose, image_size=128)
    >>> maps.shape, float(maps[32, 32, 0])
    ((64, 64, 14), 1.0)
    """
    pose = as_pose(pose)
    height, width = as_image_size(image_size, multiple_of=downsample)
    maps = graph.joint_heatmaps(flat_keypoints(pose), height, width, downsample, sigma)
    return np.asarray(maps).reshape(*pose.batch_shape, *maps.shape[1:])
