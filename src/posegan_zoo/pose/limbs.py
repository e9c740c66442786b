"""Limb geometry: soft limb masks, the log mask prior, and per-limb similarity transforms."""

import numpy as np

from posegan_zoo._validation import as_image_size
from posegan_zoo.errors import InvalidPoseError
from posegan_zoo.pose.pose import Pose
from posegan_zoo.pose.skeleton import LIMBS, NUM_LIMBS, TORSO

# Variance across each limb, in pixels^2 (the torso is wider).
ACROSS_VARIANCE = np.array([11.0**2] * (NUM_LIMBS - 1) + [13.0**2])
MIN_ALONG_VARIANCE = 5.0
ALONG_VARIANCE_DIVISOR = 1.5
PRIOR_EPSILON = 1e-10
_PEAK_EPSILON = 1e-6

# LIMBS padded to four slots; _LIMB_SLOTS marks the real ones.
_LIMB_JOINTS = np.array([limb + (limb[-1],) * (4 - len(limb)) for limb in LIMBS])
_LIMB_SLOTS = np.array([[k < len(limb) for k in range(4)] for limb in LIMBS])


def _as_pose(pose):
    return pose if isinstance(pose, Pose) else Pose(pose)


def limb_axes(pose):
    """Returns each limb's start point, end point and validity.

    Shapes: `(..., 10, 2)`, `(..., 10, 2)`, `(..., 10)`. The torso runs from the midpoint
    of the shoulders to the midpoint of the hips. A limb is valid when all its joints are.
    """
    pose = _as_pose(pose)
    start = pose.joints[..., [a for a, *_ in LIMBS], :]
    end = pose.joints[..., [limb[1] for limb in LIMBS], :]
    shoulders, hips = LIMBS[TORSO][:2], LIMBS[TORSO][2:]
    start[..., TORSO, :] = pose.joints[..., list(shoulders), :].mean(axis=-2)
    end[..., TORSO, :] = pose.joints[..., list(hips), :].mean(axis=-2)
    valid = (pose.visible[..., _LIMB_JOINTS] | ~_LIMB_SLOTS).all(axis=-1)
    return start, end, valid


def limb_masks(pose, image_size):
    """Soft masks of the 10 limbs, `(..., H, W, 10)` float32 in [0, 1].

    Each mask is a Gaussian centred on the limb's midpoint and oriented along it: variance
    `max(5, length^2 / 1.5)` along the limb, 11^2 across it (13^2 for the torso). It is
    divided by (its largest value on the pixel grid + 1e-6), so it peaks at 1 when the
    limb's centre is inside the image. A limb with a missing joint has an all-zero mask.

    The exponent is a quadratic form in (x, y) and splits into a term in x, a term in y
    and a rank-one cross term, so the cost per output value is a few adds and one `exp`.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.pose import Pose, limb_masks
    >>> xy = np.stack([np.full(14, 32.0), np.linspace(8, 56, 14)], axis=-1)
    >>> masks = limb_masks(Pose(xy), image_size=64)
    >>> masks.shape, round(float(masks.max()), 3)
    ((64, 64, 10), 1.0)
    """
    return np.exp(_log_limb_masks(pose, image_size))


def _log_limb_masks(pose, image_size):
    """The log of `limb_masks` (-inf for missing limbs), `(..., H, W, 10)` float32."""
    height, width = as_image_size(image_size)
    start, end, valid = limb_axes(pose)
    centre = (start + end) / 2.0
    delta = end - start
    length_sq = np.square(delta).sum(axis=-1)
    length = np.sqrt(length_sq)
    safe = length > 0
    ux = np.where(safe, delta[..., 0] / np.where(safe, length, 1.0), 1.0)
    uy = np.where(safe, delta[..., 1] / np.where(safe, length, 1.0), 0.0)
    along = 0.5 / np.maximum(MIN_ALONG_VARIANCE, length_sq / ALONG_VARIANCE_DIVISOR)
    across = 0.5 / ACROSS_VARIANCE
    # -exponent = along * u^2 + across * v^2 with u, v the coordinates along and across the
    # limb = qx(x) + qy(y) + cross * x' * y' with x', y' measured from the centre.
    qxx = along * ux**2 + across * uy**2
    qyy = along * uy**2 + across * ux**2
    cross = 2.0 * (along - across) * ux * uy
    dx = np.arange(width) - centre[..., 0, None]  # (..., 10, W)
    dy = np.arange(height) - centre[..., 1, None]  # (..., 10, H)
    term_x = np.swapaxes(-(qxx[..., None] * dx**2), -1, -2).astype(np.float32)  # (..., W, 10)
    term_y = np.swapaxes(-(qyy[..., None] * dy**2), -1, -2).astype(np.float32)  # (..., H, 10)
    cross_x = np.swapaxes(-(cross[..., None] * dx), -1, -2).astype(np.float32)
    dy_t = np.swapaxes(dy, -1, -2).astype(np.float32)

    exponent = cross_x[..., None, :, :] * dy_t[..., :, None, :]  # (..., H, W, 10)
    exponent += term_x[..., None, :, :]
    exponent += term_y[..., :, None, :]
    peak = exponent.max(axis=(-3, -2))  # (..., 10)
    # mask / (grid max + eps) == exp(exponent - peak - log(1 + eps * exp(-peak))). Subtracting
    # the peak first keeps the peak pixel's exponent exact (0 minus a tiny term), which the
    # background prior 1 - max(mask) needs. A missing limb gets -inf.
    exponent -= peak[..., None, None, :]
    tail = -np.log1p(_PEAK_EPSILON * np.exp(-peak.astype(np.float64)))
    exponent += np.where(valid, tail, -np.inf).astype(np.float32)[..., None, None, :]
    return exponent


def mask_log_prior(pose, image_size):
    """The source segmentation's prior, `(..., H, W, 11)` float32.

    Channel 0 is the background `1 - max(limb masks)`, channels 1..10 the limb masks; the
    result is `log(masks + 1e-10)`, ready to be added to the segmentation logits.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.pose import Pose, mask_log_prior
    >>> prior = mask_log_prior(Pose(np.full((14, 2), np.nan)), image_size=32)
    >>> prior.shape, float(prior[..., 0].max()), float(prior[..., 1:].max()) < -23
    ((32, 32, 11), 0.0, True)
    """
    log_masks = _log_limb_masks(pose, image_size)
    # 1 - max(mask) via expm1 keeps its precision where a mask is close to 1.
    background = -np.expm1(log_masks.max(axis=-1, keepdims=True))
    stacked = np.concatenate([background, np.exp(log_masks)], axis=-1)
    stacked += np.float32(PRIOR_EPSILON)
    return np.log(stacked, out=stacked)


def limb_transforms(source, target):
    """Per-layer affine maps from target pixels to source pixels, `(..., 2, 3, 11)` float32.

    Layer 0 (background) is the identity. Layer `l` (1..10) is the least-squares similarity
    transform (scale, rotation, translation; no reflection) that carries limb `l - 1`'s
    joints in `target` onto the same joints in `source`; the torso uses its four joints.
    Joints missing in either pose are left out of the fit; a limb with fewer than two joints
    in common, or whose target joints coincide, gets the identity.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.pose import Pose, limb_transforms
    >>> rng = np.random.default_rng(0)
    >>> target = Pose(rng.uniform(0, 64, (14, 2)))
    >>> source = target.transform([[1, 0, 5.0], [0, 1, -3.0]])  # shift by (5, -3)
    >>> (limb_transforms(source, target)[:, :, 4].round(4) + 0.0).tolist()
    [[1.0, 0.0, 5.0], [0.0, 1.0, -3.0]]
    """
    source, target = _as_pose(source), _as_pose(target)
    if source.batch_shape != target.batch_shape:
        raise InvalidPoseError(
            f"`source` and `target` must have the same batch shape, got {source.batch_shape} "
            f"and {target.batch_shape}."
        )
    p = source.joints[..., _LIMB_JOINTS, :]  # (..., 10, 4, 2)
    q = target.joints[..., _LIMB_JOINTS, :]
    weight = (source.visible & target.visible)[..., _LIMB_JOINTS] & _LIMB_SLOTS
    weight = weight.astype(np.float64)
    count = weight.sum(axis=-1)  # (..., 10)
    denom = np.maximum(count, 1.0)[..., None]
    p_mean = (weight[..., None] * p).sum(axis=-2) / denom
    q_mean = (weight[..., None] * q).sum(axis=-2) / denom
    pc = (p - p_mean[..., None, :]) * weight[..., None]
    qc = (q - q_mean[..., None, :]) * weight[..., None]
    spread = np.square(qc).sum(axis=(-2, -1))
    a_num = (qc * pc).sum(axis=(-2, -1))
    b_num = (qc[..., 0] * pc[..., 1] - qc[..., 1] * pc[..., 0]).sum(axis=-1)
    fit = (count >= 2) & (spread > 1e-12)
    safe_spread = np.where(fit, spread, 1.0)
    a = np.where(fit, a_num / safe_spread, 1.0)
    b = np.where(fit, b_num / safe_spread, 0.0)
    tx = np.where(fit, p_mean[..., 0] - (a * q_mean[..., 0] - b * q_mean[..., 1]), 0.0)
    ty = np.where(fit, p_mean[..., 1] - (b * q_mean[..., 0] + a * q_mean[..., 1]), 0.0)
    limbs = np.stack(
        [np.stack([a, -b, tx], axis=-1), np.stack([b, a, ty], axis=-1)], axis=-2
    )  # (..., 10, 2, 3)
    identity = np.broadcast_to(np.eye(2, 3), (*limbs.shape[:-3], 1, 2, 3))
    layers = np.concatenate([identity, limbs], axis=-3)  # (..., 11, 2, 3)
    return np.moveaxis(layers, -3, -1).astype(np.float32)
