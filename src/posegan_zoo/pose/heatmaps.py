"""Joint heatmaps: one Gaussian per joint, the pose input of every PoseWarp network."""

import numpy as np

from posegan_zoo._validation import as_image_size
from posegan_zoo.pose._parallel import aligned_empty
from posegan_zoo.pose.pose import Pose

# The paper's joint Gaussian: sigma 7/4 pixels on the half-resolution grid.
DEFAULT_SIGMA = 7.0 / 4.0
DEFAULT_DOWNSAMPLE = 2


def joint_heatmaps(pose, image_size, downsample=DEFAULT_DOWNSAMPLE, sigma=DEFAULT_SIGMA):
    """Renders a `Pose` as `(..., H / downsample, W / downsample, 14)` float32 heatmaps.

    Joint `j` gives `exp(-d^2 / (2 sigma^2))`, `d` being the distance to the joint on the
    downsampled grid (joint coordinates divided by `downsample`). A missing joint, or one
    on or beyond the border of that grid, gives an all-zero channel.

    Each 2-D Gaussian is the outer product of two 1-D ones, so the cost is one multiply
    per output value.

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
    gx = np.exp(scale * np.square(np.arange(width) - x[..., None])).astype(np.float32)
    gy = np.exp(scale * np.square(np.arange(height) - y[..., None])).astype(np.float32)
    gy *= on_grid[..., None]
    maps = aligned_empty((*pose.batch_shape, height, width, x.shape[-1]))
    return np.einsum("...jh,...jw->...hwj", gy, gx, out=maps)
