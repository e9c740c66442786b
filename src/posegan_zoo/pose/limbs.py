"""Limb geometry: soft limb masks, the log mask prior, and per-limb similarity transforms."""

import numpy as np

from posegan_zoo._validation import as_image_size
from posegan_zoo.errors import InvalidPoseError
from posegan_zoo.pose._parallel import (
    aligned_empty,
    matmul_on_this_thread,
    scratch_buffer,
    split_over_cores,
)
from posegan_zoo.pose.pose import Pose
from posegan_zoo.pose.skeleton import LIMBS, NUM_LIMBS, TORSO

# Variance across each limb, in pixels^2 (the torso is wider).
ACROSS_VARIANCE = np.array([11.0**2] * (NUM_LIMBS - 1) + [13.0**2])
MIN_ALONG_VARIANCE = 5.0
ALONG_VARIANCE_DIVISOR = 1.5
PRIOR_EPSILON = 1e-10
_PEAK_EPSILON = 1e-6
# The exponent of a missing limb's mask: exp() of it is exactly 0 in float32, and being
# finite it keeps infinities out of the BLAS products.
_NO_MASK = -1e30

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

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.pose import Pose, limb_masks
    >>> xy = np.stack([np.full(14, 32.0), np.linspace(8, 56, 14)], axis=-1)
    >>> masks = limb_masks(Pose(xy), image_size=64)
    >>> masks.shape, round(float(masks.max()), 3)
    ((64, 64, 10), 1.0)
    """
    pose = _as_pose(pose)
    height, width = as_image_size(image_size)
    rows, cols, valid = _limb_factors(_limb_quadratics(pose), height, width)
    masks = aligned_empty((len(rows), height, width, NUM_LIMBS))

    def fill(examples):
        with scratch_buffer((NUM_LIMBS, height, width)) as scratch:
            for k in examples:
                log_masks, _ = _log_limb_masks(rows[k], cols[k], valid[k], scratch)
                masks[k] = np.exp(log_masks, out=log_masks).transpose(1, 2, 0)

    split_over_cores(fill, len(masks))
    return masks.reshape(*pose.batch_shape, height, width, NUM_LIMBS)


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
    pose = _as_pose(pose)
    height, width = as_image_size(image_size)
    limbs = _limb_quadratics(pose)
    rows, cols, valid = _limb_factors(limbs, height, width)
    basis, columns = _prior_factors(limbs, height, width)
    prior = aligned_empty((len(rows), height, width, NUM_LIMBS + 1))

    def fill(examples):
        # One pose at a time, limbs first in a scratch buffer that stays in the CPU cache.
        with scratch_buffer((NUM_LIMBS, height, width)) as scratch:
            for k in examples:
                log_masks, offsets = _log_limb_masks(rows[k], cols[k], valid[k], scratch)
                strongest = log_masks.max(axis=0)
                # The limb channels: the same exponents and offsets, recomputed by one
                # product written in the prior's own layout (cheaper than transposing
                # `log_masks`; as precise, measured against float64).
                out = prior[k]
                limb_columns = columns[k].copy()
                limb_columns[2, :, 1:] += offsets.astype(np.float32)
                matmul_on_this_thread(basis, limb_columns.reshape(3, -1), out.reshape(height, -1))
                np.exp(out, out=out)
                # 1 - max(mask) via expm1 keeps its precision where a mask is close to 1.
                out[..., 0] = -np.expm1(strongest)
                out += np.float32(PRIOR_EPSILON)
                np.log(out, out=out)

    split_over_cores(fill, len(prior))
    return prior.reshape(*pose.batch_shape, height, width, NUM_LIMBS + 1)


def _limb_quadratics(pose):
    """Each limb's Gaussian as a quadratic form: `(centre, qxx, qyy, cross, valid)`.

    With (dx, dy) a pixel's offset from the limb's centre `(..., 10, 2)`, the log of the
    unnormalized mask is `-(qxx dx^2 + cross dx dy + qyy dy^2)` = `-(along u^2 + across
    v^2)`, u and v the coordinates along and across the limb. Coefficients and the
    validity flags are `(..., 10)`, float64.
    """
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
    qxx = along * ux**2 + across * uy**2
    qyy = along * uy**2 + across * ux**2
    cross = 2.0 * (along - across) * ux * uy
    return centre, qxx, qyy, cross, valid


def _limb_factors(limbs, height, width):
    """Each limb's exponent as a product of per-row and per-column factors.

    The exponent of limb `l` at pixel (x, y) is `rows[k, l, y] @ cols[k, l, :, x]`, with
    `rows` `(n, 10, H, 3)` and `cols` `(n, 10, 3, W)` float32 for the n poses of the batch
    (flattened). Returns `(rows, cols, valid)`, `valid` `(n, 10)`.

    Per row, the exponent `-(qxx dx^2 + cross dx dy + qyy dy^2)` is a term in x scaled by
    dy, plus a term in x and a term in y; a batched matrix product evaluates it in one pass.
    """
    centre, qxx, qyy, cross, valid = limbs
    dx = np.arange(width) - centre[..., 0, None]  # (..., 10, W)
    dy = np.arange(height) - centre[..., 1, None]  # (..., 10, H)
    # Summed in the order cross term, x term, y term: with float32, the order (cross, y, x)
    # doubled the error of the background prior next to off-frame peaks (4e-3 in the log).
    rows = np.stack([dy, np.ones_like(dy), -qyy[..., None] * dy**2], axis=-1)
    cols = np.stack([-cross[..., None] * dx, -qxx[..., None] * dx**2, np.ones_like(dx)], axis=-2)
    count = valid.size // NUM_LIMBS
    return (
        rows.astype(np.float32).reshape(count, NUM_LIMBS, height, 3),
        cols.astype(np.float32).reshape(count, NUM_LIMBS, 3, width),
        valid.reshape(count, NUM_LIMBS),
    )


def _prior_factors(limbs, height, width):
    """The limb exponents in the prior's `(H, W, 11)` layout, one matrix product per pose.

    Returns `basis` `(H, 3)` and `columns` `(n, 3, W, 11)` float32: the exponent of limb
    `l` at pixel (x, y) is `basis[y] @ columns[k, :, x, l + 1]`; channel 0 (the
    background) and the channels of missing limbs are zero. The square in y is expanded
    around the middle row, `t = y - (H - 1) / 2`: `basis[y] = (t^2, t, 1)`, which keeps
    the float32 error at that of `_limb_factors` (both ~1e-5 where the exponent is above
    -15, measured on 256 x 256 crops against float64).
    """
    centre, qxx, qyy, cross, valid = limbs
    middle = (height - 1) / 2.0
    t = np.arange(height) - middle
    basis = np.stack([t**2, t, np.ones_like(t)], axis=-1).astype(np.float32)
    cy = (centre[..., 1] - middle)[..., None]  # (..., 10, 1)
    dx = np.arange(width) - centre[..., 0, None]  # (..., 10, W)
    qxx, qyy, cross = qxx[..., None], qyy[..., None], cross[..., None]
    # -(qxx dx^2 + cross dx (t - cy) + qyy (t - cy)^2), collected by powers of t.
    by_power = np.stack(
        [
            np.broadcast_to(-qyy, dx.shape),
            2.0 * qyy * cy - cross * dx,
            -qxx * dx**2 + cross * cy * dx - qyy * cy**2,
        ],
        axis=-3,
    )  # (..., 3, 10, W)
    by_power = np.where(valid[..., None, :, None], by_power, 0.0)
    count = valid.size // NUM_LIMBS
    columns = np.zeros((count, 3, width, NUM_LIMBS + 1), np.float32)
    columns[..., 1:] = by_power.reshape(count, 3, NUM_LIMBS, width).transpose(0, 1, 3, 2)
    return basis, columns


def _log_limb_masks(rows, cols, valid, out):
    """One pose's log limb masks, `(10, H, W)` float32 in `out`, and their offsets.

    The offsets `(10,)` float64 are what was added to each limb's exponent (normalization
    by the grid max + 1e-6; `_NO_MASK` for a missing limb).
    """
    matmul_on_this_thread(rows, cols, out)
    peak = out.reshape(len(out), -1).max(axis=1)
    # mask / (grid max + eps) == exp(exponent - peak - log(1 + eps * exp(-peak))), the last
    # term as a logaddexp, which does not overflow for a limb far off the frame. Subtracting
    # the peak first keeps the peak pixel's exponent exact (0 minus a tiny term), which the
    # background prior 1 - max(mask) needs.
    out -= peak[:, None, None]
    tail = np.where(
        valid, -np.logaddexp(0.0, np.log(_PEAK_EPSILON) - peak.astype(np.float64)), _NO_MASK
    )
    out += tail.astype(np.float32)[:, None, None]
    return out, np.where(valid, tail - peak, _NO_MASK)


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
