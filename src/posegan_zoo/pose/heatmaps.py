"""Joint heatmaps: one Gaussian per joint, the pose input of every PoseWarp network."""

import numpy as np

from posegan_zoo._validation import as_image_size
from posegan_zoo.pose._parallel import aligned_empty, matmul_on_this_thread, split_over_cores
from posegan_zoo.pose.pose import Pose

# The paper's joint Gaussian: sigma 7/4 pixels on the half-resolution grid.
DEFAULT_SIGMA = 7.0 / 4.0
DEFAULT_DOWNSAMPLE = 2


def joint_heatmaps(pose, image_size, downsample=DEFAULT_DOWNSAMPLE, sigma=DEFAULT_SIGMA):
    """Renders a `Pose` as `(..., H / downsample, W / downsample, 14)` float32 heatmaps.

    Joint `j` gives `exp(-d^2 / (2 sigma^2))`, `d` being the distance to the joint on the
    downsampled grid (joint coordinates divided by `downsample`). A missing joint, or one
    on or beyond the border of that grid, gives an all-zero channel.

    Each 2-D Gaussian is the outer product of two 1-D ones; per pose, one matrix product
    forms all 14 and writes them in the map's `(H, W, 14)` order. The poses of a batch are
    split over the CPU cores.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.pose import Pose, joint_heatmaps
    >>> pose = Pose(np.full((14, 2), 64.0))
    >>> maps = joint_heatmaps(pose, image_size=128)
    >>> maps.shape, float(maps[32, 32, 0])
    ((64, 64, 14), 1.0)
    """
    if not isinstance(pose, Pose):
        pose = Pose(pose)
    height, width = as_image_size(image_size, multiple_of=downsample)
    height, width = height // downsample, width // downsample
    xy = pose.joints / downsample
    x, y = xy[..., 0], xy[..., 1]
    on_grid = pose.visible & (x > 0) & (y > 0) & (x < width - 1) & (y < height - 1)
    scale = -0.5 / sigma**2
    # Per pose, (H, 14) row factors times a (14, W * 14) block-diagonal spread of the (W, 14)
    # column factors: map[y, x, j] = gy[y, j] * gx[x, j] plus 13 exact zeros.
    gx = np.exp(scale * np.square(np.arange(width)[:, None] - x[..., None, :]))
    gy = np.exp(scale * np.square(np.arange(height)[:, None] - y[..., None, :]))
    gy *= on_grid[..., None, :]
    count, joints = int(np.prod(pose.batch_shape)), x.shape[-1]
    gy = gy.astype(np.float32).reshape(count, height, joints)
    spread = np.zeros((count, joints, width, joints), np.float32)
    spread[:, np.arange(joints), :, np.arange(joints)] = np.moveaxis(
        gx.reshape(count, width, joints), -1, 0
    )
    maps = aligned_empty((count, height, width, joints))

    def fill(examples):
        for k in examples:
            matmul_on_this_thread(gy[k], spread[k].reshape(joints, -1), maps[k].reshape(height, -1))

    split_over_cores(fill, count)
    return maps.reshape(*pose.batch_shape, height, width, joints)
