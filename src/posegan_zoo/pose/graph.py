"""Pose geometry as tensor ops: joint heatmaps, limb masks, the mask prior, limb transforms.

Every function takes joints as a `(batch, 14, 2)` tensor of pixel coordinates (x, y), a
missing joint being NaN, and works with `keras.ops` only, so that it runs inside a
`tf.data` map, a compiled train step or a model, on the CPU or an accelerator.
`posegan_zoo.layers.PoseGeometry` wraps them as a layer that turns an input dict of
images and joints into the inputs of the PoseWarp networks.

Each limb's exponent is computed in float64 up to the subtraction of its peak on the grid,
and the rest in float32: a limb whose centre lies off the frame peaks at the grid's
border, and the background prior `1 - max(mask)` next to such a peak depends on the small
difference of two exponents of about -10 to -30, which float32 would keep to only about
1e-3 in the log. Everything is returned as float32.

`posegan_zoo.pose.joint_heatmaps`, `limb_masks`, `mask_log_prior` and `limb_transforms`
are the numpy entry points to these functions (any batch shape, `Pose` objects);
`tests/reference_impl.py` holds the plain loop-per-limb version they are checked against.
"""

import numpy as np
from keras import ops

from posegan_zoo.pose.skeleton import LIMBS, NUM_LIMBS, TORSO

# The paper's joint Gaussian: sigma 7/4 pixels on the half-resolution grid.
DEFAULT_SIGMA = 7.0 / 4.0
DEFAULT_DOWNSAMPLE = 2
# Variance across each limb, in pixels^2 (the torso is wider).
ACROSS_VARIANCE = (11.0**2,) * (NUM_LIMBS - 1) + (13.0**2,)
MIN_ALONG_VARIANCE = 5.0
ALONG_VARIANCE_DIVISOR = 1.5
PRIOR_EPSILON = 1e-10
# A limb mask is divided by (its largest value on the pixel grid + this).
PEAK_EPSILON = 1e-6
# The log of a missing limb's mask: exp() of it is exactly 0, and it stays finite.
_NO_MASK = -1e30

# LIMBS padded to four joints (the last one repeated); _LIMB_SLOTS marks the real ones.
_LIMB_JOINTS = np.array([limb + (limb[-1],) * (4 - len(limb)) for limb in LIMBS])
_LIMB_SLOTS = np.array([[k < len(limb) for k in range(4)] for limb in LIMBS])
_STARTS = [limb[0] for limb in LIMBS]
_ENDS = [limb[1] for limb in LIMBS]


def _joints_and_visibility(keypoints):
    """`keypoints` as float64 with missing joints at 0, and `(batch, 14)` visibility."""
    keypoints = ops.cast(keypoints, "float64")
    visible = ops.all(ops.isfinite(keypoints), axis=-1)
    return ops.where(visible[..., None], keypoints, 0.0), visible


def joint_heatmaps(keypoints, height, width, downsample=DEFAULT_DOWNSAMPLE, sigma=DEFAULT_SIGMA):
    """`(batch, H / downsample, W / downsample, 14)` float32 Gaussian joint heatmaps.

    Joint `j` gives `exp(-d^2 / (2 sigma^2))`, `d` being the distance to the joint on the
    downsampled grid (coordinates divided by `downsample`). A missing joint, or one on or
    beyond the border of that grid, gives an all-zero channel.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.pose.graph import joint_heatmaps
    >>> maps = joint_heatmaps(np.full((1, 14, 2), 64.0), 128, 128)
    >>> tuple(maps.shape), float(maps[0, 32, 32, 0])
    ((1, 64, 64, 14), 1.0)
    """
    joints, visible = _joints_and_visibility(keypoints)
    rows, cols = height // downsample, width // downsample
    x, y = joints[..., 0] / downsample, joints[..., 1] / downsample  # (batch, 14)
    on_grid = visible & (x > 0) & (y > 0) & (x < cols - 1) & (y < rows - 1)
    scale = -0.5 / sigma**2
    gx = ops.exp(scale * ops.square(ops.arange(cols, dtype="float64")[:, None] - x[:, None]))
    gy = ops.exp(scale * ops.square(ops.arange(rows, dtype="float64")[:, None] - y[:, None]))
    gy = gy * ops.cast(on_grid, "float64")[:, None]
    return ops.cast(gy[:, :, None, :] * gx[:, None, :, :], "float32")


def _limb_points(joints, first_joints, torso_joints):
    """One point per limb: `first_joints` of the nine two-joint limbs, the torso's mean."""
    torso = ops.mean(ops.take(joints, torso_joints, axis=1), axis=1, keepdims=True)
    return ops.concatenate([ops.take(joints, first_joints, axis=1), torso], axis=1)


def limb_axes(keypoints):
    """Each limb's start point, end point and validity: `(batch, 10, 2)` twice, `(batch, 10)`.

    The torso runs from the midpoint of the shoulders to the midpoint of the hips. A limb is
    valid when all its joints are visible. Coordinates are float64; a missing joint counts
    as (0, 0), as in `Pose.joints`.
    """
    joints, visible = _joints_and_visibility(keypoints)
    start = _limb_points(joints, _STARTS[:TORSO], list(LIMBS[TORSO][:2]))
    end = _limb_points(joints, _ENDS[:TORSO], list(LIMBS[TORSO][2:]))
    limb_visible = ops.reshape(ops.take(visible, _LIMB_JOINTS.reshape(-1), axis=1), (-1, 10, 4))
    valid = ops.all(limb_visible | ~_LIMB_SLOTS[None], axis=-1)
    return start, end, valid


def _log_limb_masks(keypoints, height, width):
    """`(batch, H, W, 10)` float32 log limb masks (`_NO_MASK` for a missing limb).

    Each mask is a Gaussian centred on the limb's midpoint and oriented along it (variance
    `max(5, length^2 / 1.5)` along the limb, 11^2 across it, 13^2 for the torso), divided by
    its largest value on the pixel grid + 1e-6.
    """
    start, end, valid = limb_axes(keypoints)
    centre = (start + end) / 2.0
    delta = end - start
    length_sq = ops.sum(ops.square(delta), axis=-1)
    length = ops.sqrt(length_sq)
    has_length = length > 0
    safe_length = ops.where(has_length, length, 1.0)
    ux = ops.where(has_length, delta[..., 0] / safe_length, 1.0)
    uy = ops.where(has_length, delta[..., 1] / safe_length, 0.0)
    along = 0.5 / ops.maximum(MIN_ALONG_VARIANCE, length_sq / ALONG_VARIANCE_DIVISOR)
    across = 0.5 / np.array(ACROSS_VARIANCE)
    qxx = along * ux**2 + across * uy**2
    qyy = along * uy**2 + across * ux**2
    cross = 2.0 * (along - across) * ux * uy
    # (batch, 1, W, 10) and (batch, H, 1, 10) offsets from each limb's centre.
    dx = ops.arange(width, dtype="float64")[None, None, :, None] - centre[:, None, None, :, 0]
    dy = ops.arange(height, dtype="float64")[None, :, None, None] - centre[:, None, None, :, 1]
    exponent = -(
        qxx[:, None, None] * dx**2 + cross[:, None, None] * dx * dy + qyy[:, None, None] * dy**2
    )
    peak = ops.max(exponent, axis=(1, 2), keepdims=True)
    # mask / (grid max + eps) = exp(exponent - peak - log(1 + eps exp(-peak))), the last term
    # a softplus, which does not overflow for a limb far off the frame.
    log_masks = exponent - peak - ops.softplus(np.log(PEAK_EPSILON) - peak)
    # Relative to the peak, float32 keeps what the prior needs.
    return ops.cast(ops.where(valid[:, None, None], log_masks, _NO_MASK), "float32")


def limb_masks(keypoints, height, width):
    """Soft masks of the 10 limbs, `(batch, H, W, 10)` float32 in [0, 1].

    A mask peaks at 1 (less 1e-6) when its limb's centre is inside the image; a limb with a
    missing joint has an all-zero mask.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.pose.graph import limb_masks
    >>> xy = np.stack([np.full(14, 32.0), np.linspace(8, 56, 14)], axis=-1)[None]
    >>> masks = limb_masks(xy, 64, 64)
    >>> tuple(masks.shape), round(float(np.max(masks)), 3)
    ((1, 64, 64, 10), 1.0)
    """
    return ops.exp(_log_limb_masks(keypoints, height, width))


def mask_log_prior(keypoints, height, width):
    """The source segmentation's prior, `(batch, H, W, 11)` float32.

    Channel 0 is the background `1 - max(limb masks)`, channels 1..10 the limb masks; the
    result is `log(masks + 1e-10)`, ready to be added to the segmentation logits.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.pose.graph import mask_log_prior
    >>> prior = mask_log_prior(np.full((1, 14, 2), np.nan), 32, 32)
    >>> prior.shape, round(float(np.max(prior[..., 0])), 6), float(np.max(prior[..., 1:])) < -23
    (TensorShape([1, 32, 32, 11]), 0.0, True)
    """
    log_masks = _log_limb_masks(keypoints, height, width)
    # 1 - max(mask) as -expm1(max(log mask)) keeps its precision where a mask is close to 1.
    background = -ops.expm1(ops.max(log_masks, axis=-1, keepdims=True))
    masks = ops.concatenate([background, ops.exp(log_masks)], axis=-1)
    return ops.log(masks + PRIOR_EPSILON)


def limb_transforms(source_keypoints, target_keypoints):
    """Per-layer affine maps from target pixels to source pixels, `(batch, 2, 3, 11)` float32.

    Layer 0 (background) is the identity. Layer `l` (1..10) is the least-squares similarity
    transform (scale, rotation, translation; no reflection) that carries limb `l - 1`'s
    joints in the target pose onto the same joints in the source pose; the torso uses its
    four joints. Joints missing in either pose are left out of the fit; a limb with fewer
    than two joints in common, or whose target joints coincide, gets the identity.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.pose.graph import limb_transforms
    >>> target = np.random.default_rng(0).uniform(0, 64, (1, 14, 2))
    >>> maps = limb_transforms(target + [5.0, -3.0], target)  # a shift by (5, -3)
    >>> (np.round(np.asarray(maps)[0, :, :, 4], 4) + 0.0).tolist()
    [[1.0, 0.0, 5.0], [0.0, 1.0, -3.0]]
    """
    source, source_visible = _joints_and_visibility(source_keypoints)
    target, target_visible = _joints_and_visibility(target_keypoints)
    slots = _LIMB_JOINTS.reshape(-1)

    def by_limb(values):
        return ops.reshape(ops.take(values, slots, axis=1), (-1, NUM_LIMBS, 4, *values.shape[2:]))

    p, q = by_limb(source), by_limb(target)  # (batch, 10, 4, 2)
    weight = ops.cast(by_limb(source_visible & target_visible) & _LIMB_SLOTS[None], "float64")
    count = ops.sum(weight, axis=-1)  # (batch, 10)
    denominator = ops.maximum(count, 1.0)[..., None]
    p_mean = ops.sum(weight[..., None] * p, axis=-2) / denominator
    q_mean = ops.sum(weight[..., None] * q, axis=-2) / denominator
    pc = (p - p_mean[..., None, :]) * weight[..., None]
    qc = (q - q_mean[..., None, :]) * weight[..., None]
    spread = ops.sum(ops.square(qc), axis=(-2, -1))
    a_num = ops.sum(qc * pc, axis=(-2, -1))
    b_num = ops.sum(qc[..., 0] * pc[..., 1] - qc[..., 1] * pc[..., 0], axis=-1)
    fit = (count >= 2) & (spread > 1e-12)
    safe_spread = ops.where(fit, spread, 1.0)
    a = ops.where(fit, a_num / safe_spread, 1.0)
    b = ops.where(fit, b_num / safe_spread, 0.0)
    tx = ops.where(fit, p_mean[..., 0] - (a * q_mean[..., 0] - b * q_mean[..., 1]), 0.0)
    ty = ops.where(fit, p_mean[..., 1] - (b * q_mean[..., 0] + a * q_mean[..., 1]), 0.0)
    limbs = ops.stack(
        [ops.stack([a, -b, tx], axis=-1), ops.stack([b, a, ty], axis=-1)], axis=-2
    )  # (batch, 10, 2, 3)
    identity = ops.broadcast_to(ops.eye(2, 3, dtype="float64"), ops.shape(limbs[:, :1]))
    layers = ops.concatenate([identity, limbs], axis=1)  # (batch, 11, 2, 3)
    return ops.cast(ops.transpose(layers, (0, 2, 3, 1)), "float32")
