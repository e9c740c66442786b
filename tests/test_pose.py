"""Pose geometry: `Pose`, heatmaps, limb masks and prior, limb transforms, crops, warps.

The vectorized package code is checked against the plain re-implementations of
`reference_impl` (joint by joint, limb by limb, one lstsq per limb), on random poses, on the
real poses of the tennis clip cropped the paper's way, and on poses with missing joints and
joints outside the frame; the warps are checked against scipy and the gather sampler.
"""

import numpy as np
import pytest
import reference_impl as ref
import scipy.io
import scipy.ndimage
import tensorflow as tf

from posegan_zoo.errors import InvalidPoseError
from posegan_zoo.layers import LayerWarp
from posegan_zoo.models import SpatialTransformer
from posegan_zoo.pose import (
    FLIP_PERMUTATION,
    LIMBS,
    NUM_LIMBS,
    Pose,
    centre_and_scale,
    crop_matrix,
    crop_scale,
    joint_heatmaps,
    limb_masks,
    limb_transforms,
    mask_log_prior,
    person_scale,
    warp_image,
)

SIZE = 256


# --------------------------------------------------------------------------- helpers


def random_poses(rng, count, size=64, low=None, high=None):
    """`count` poses with joints uniform in (a margin around) a `size` frame."""
    low = 0.1 * size if low is None else low
    high = 0.9 * size if high is None else high
    return Pose(rng.uniform(low, high, (count, 14, 2)))


def poses_with_gaps(rng, count, size=64):
    """Poses with about a fifth of the joints missing and many joints outside the frame.

    A few joints sit exactly on the frame's (and the half-resolution grid's) border.
    """
    xy = rng.uniform(-0.4 * size, 1.4 * size, (count, 14, 2))
    xy[rng.random((count, 14)) < 0.2] = np.nan
    xy[0, 0] = (0.0, size / 2)  # on the left border: x == 0
    xy[0, 1] = (size - 2.0, size / 2)  # on the half grid's last column: x / 2 == w - 1
    xy[0, 2] = (size / 2, size - 3.0)  # y / 2 just inside the half grid's last row
    return Pose(xy)


def similarity(scale, angle, tx, ty):
    c, s = scale * np.cos(angle), scale * np.sin(angle)
    return np.array([[c, -s, tx], [s, c, ty]])


def apply(matrix, points):
    """A 2x3 affine map applied to (..., 2) points."""
    return points @ np.asarray(matrix)[:, :2].T + np.asarray(matrix)[:, 2]


def assert_same_pose(actual, expected):
    np.testing.assert_array_equal(actual.visible, expected.visible)
    np.testing.assert_allclose(actual.joints, expected.joints, rtol=0, atol=1e-12)


def load_tennis(tennis_dir):
    """Joints (N, 14, 2), 0-based, and boxes (N, 4) as (x, y, w, h) of the tennis clip."""
    info = scipy.io.loadmat(tennis_dir / "info" / "Flavia Pennetta in 4k.mat")["data"]
    joints = np.transpose(info["X"][0, 0], (2, 0, 1)) - 1.0  # (14, 2, N), 1-based
    boxes = np.asarray(info["bbox"][0, 0], np.float64)
    boxes[:, :2] -= 1.0
    return joints, boxes


def paper_crop_matrices(joints, boxes, pairs, size=SIZE):
    """The paper's crop of each (source, target) frame pair: one matrix per pair."""
    scales = person_scale(Pose(joints))
    centres = boxes[:, :2] + boxes[:, 2:] / 2.0
    matrices = []
    for i, j in pairs:
        centre = (centres[i] + centres[j]) / 2.0
        matrices.append(crop_matrix(centre, crop_scale([scales[i], scales[j]], size), size))
    return np.stack(matrices)


@pytest.fixture(scope="module")
def tennis_pairs(tennis_dir):
    """(source, target) batches of 8 pairs of real poses, cropped the paper's way to 256."""
    joints, boxes = load_tennis(tennis_dir)
    assert joints.shape == (8, 14, 2) and boxes.shape == (8, 4)
    pairs = [(k, (k + 3) % len(joints)) for k in range(len(joints))]
    matrices = paper_crop_matrices(joints, boxes, pairs)
    source = Pose(joints[[i for i, _ in pairs]]).transform(matrices)
    target = Pose(joints[[j for _, j in pairs]]).transform(matrices)
    return source, target


def assert_prior_close(prior, expected, atol=1e-3):
    """The log prior agrees where the reference is above -15 (float32 tails differ)."""
    checked = expected > -15.0
    assert checked.mean() > 0.2
    np.testing.assert_allclose(prior[checked], expected[checked], atol=atol, rtol=0)


def limb_peak_pixels(expected):
    """(H, W) bool: the pixels where a limb mask of a reference prior reaches its grid max."""
    masks = np.exp(expected[..., 1:]) - 1e-10
    return ((masks == masks.max(axis=(0, 1))) & (masks > 1e-3)).any(axis=-1)


def check_against_reference(pose, size):
    """Heatmaps, masks and prior of every pose of a batch against reference_impl."""
    height, width = size
    heatmaps = joint_heatmaps(pose, size)
    masks = limb_masks(pose, size)
    prior = mask_log_prior(pose, size)
    assert heatmaps.shape == (len(pose), height // 2, width // 2, 14)
    assert masks.shape == (len(pose), height, width, 10)
    assert prior.shape == (len(pose), height, width, 11)
    for k in range(len(pose)):
        joints, visible = pose.joints[k], pose.visible[k]
        np.testing.assert_allclose(
            heatmaps[k], ref.joint_heatmaps(joints, visible, height, width), atol=1e-6, rtol=0
        )
        np.testing.assert_allclose(
            masks[k], ref.limb_masks(joints, visible, height, width), atol=1e-5, rtol=0
        )
        assert_prior_close(prior[k], ref.mask_log_prior(joints, visible, height, width))


def check_transforms_against_reference(source, target):
    """Limb transforms of fully visible limbs against the per-limb lstsq."""
    transforms = limb_transforms(source, target)
    assert transforms.shape == (len(source), 2, 3, 11)
    compared = 0
    for k in range(len(source)):
        expected = ref.limb_transforms(source.joints[k], target.joints[k])
        np.testing.assert_array_equal(transforms[k, :, :, 0], np.eye(2, 3))
        for limb_index, limb in enumerate(LIMBS):
            if source.visible[k, list(limb)].all() and target.visible[k, list(limb)].all():
                np.testing.assert_allclose(
                    transforms[k, :, :, limb_index + 1],
                    expected[:, :, limb_index + 1],
                    atol=1e-4,
                    rtol=1e-6,
                )
                compared += 1
    return transforms, compared


# --------------------------------------------------------------------------- Pose


def test_nan_joints_become_missing():
    xy = np.arange(28, dtype=np.float64).reshape(14, 2)
    xy[3] = np.nan
    xy[7, 1] = np.nan  # one NaN coordinate is enough
    pose = Pose(xy)
    assert pose.visible.dtype == bool
    assert pose.visible.tolist() == [j not in (3, 7) for j in range(14)]
    np.testing.assert_array_equal(pose.joints[[3, 7]], 0.0)
    np.testing.assert_array_equal(pose.joints[0], xy[0])
    assert np.isnan(pose.to_array()[[3, 7]]).all()
    np.testing.assert_array_equal(pose.to_array()[:3], xy[:3])


def test_explicit_visible_flags_hide_finite_joints():
    xy = np.arange(28, dtype=np.float64).reshape(14, 2)
    visible = np.ones(14, bool)
    visible[[0, 13]] = False
    pose = Pose(xy, visible=visible.astype(int))
    assert pose.visible.dtype == bool
    np.testing.assert_array_equal(pose.visible, visible)
    np.testing.assert_array_equal(pose.joints[[0, 13]], 0.0)
    # A NaN joint marked missing is fine.
    xy[0] = np.nan
    assert Pose(xy, visible=visible) == pose


@pytest.mark.parametrize("shape", [(13, 2), (14, 3), (14,), (2, 14), (3, 13, 2)])
def test_wrong_joint_shapes_name_the_argument(shape):
    with pytest.raises(InvalidPoseError, match=r"`joints`.*\(\.\.\., 14, 2\)"):
        Pose(np.zeros(shape))


def test_non_numeric_joints_are_rejected():
    with pytest.raises(InvalidPoseError, match="`joints`"):
        Pose([["a", "b"]] * 14)


@pytest.mark.parametrize("shape", [(13,), (14, 1), (2, 14)])
def test_visible_of_the_wrong_shape_names_the_argument(shape):
    with pytest.raises(InvalidPoseError, match=r"`visible`.*\(14,\)"):
        Pose(np.zeros((14, 2)), visible=np.ones(shape, bool))


def test_nan_joint_marked_visible_is_an_error_naming_the_joint():
    xy = np.zeros((2, 14, 2))
    xy[1, 4] = np.nan
    xy[0, 12, 0] = np.inf
    with pytest.raises(InvalidPoseError, match=r"`joints`.*left_knee, right_wrist"):
        Pose(xy, visible=np.ones((2, 14), bool))


def test_flip_horizontal_mirrors_x_and_swaps_left_and_right():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, (14, 2))
    xy[2] = np.nan  # right shoulder missing: the left one must become missing
    pose = Pose(xy)
    flipped = pose.flip_horizontal(image_width=120)
    perm = list(FLIP_PERMUTATION)
    assert perm[2] == 5 and perm[5] == 2 and perm[10] == 13 and perm[0] == 0
    np.testing.assert_allclose(
        flipped.joints[:, 0], np.where(pose.visible, 119 - xy[:, 0], 0)[perm]
    )
    np.testing.assert_allclose(flipped.joints[:, 1], pose.joints[perm, 1])
    np.testing.assert_array_equal(flipped.visible, pose.visible[perm])
    assert not flipped.visible[5] and flipped.visible[2]
    np.testing.assert_allclose(flipped.joints[2], (119 - xy[5, 0], xy[5, 1]))
    # Twice gives the pose back, also for a batch.
    assert_same_pose(flipped.flip_horizontal(120), pose)
    batch = Pose(rng.uniform(0, 100, (2, 3, 14, 2)))
    assert_same_pose(batch.flip_horizontal(100).flip_horizontal(100), batch)
    assert batch.flip_horizontal(100)[1, 2] == batch[1, 2].flip_horizontal(100)


def test_transform_moves_visible_joints_and_broadcasts():
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 100, (3, 14, 2))
    xy[1, 6] = np.nan
    pose = Pose(xy)
    matrix = np.array([[0.5, -2.0, 3.0], [1.5, 0.25, -7.0]])
    moved = pose.transform(matrix)
    expected = np.stack(
        [xy[..., 0] * 0.5 - 2 * xy[..., 1] + 3, 1.5 * xy[..., 0] + 0.25 * xy[..., 1] - 7], -1
    )
    np.testing.assert_allclose(moved.joints[moved.visible], expected[pose.visible])
    np.testing.assert_array_equal(moved.visible, pose.visible)
    assert moved.joints[1, 6].tolist() == [0.0, 0.0]
    # One matrix per pose of the batch.
    matrices = np.stack([matrix, np.eye(2, 3), similarity(2.0, 0.3, 1, 2)])
    per_pose = pose.transform(matrices)
    for k in range(3):
        assert per_pose[k] == pose[k].transform(matrices[k])
    assert per_pose[1] == pose[1]
    with pytest.raises(InvalidPoseError, match="`matrix`"):
        pose.transform(np.eye(3))


def test_stack_and_indexing():
    rng = np.random.default_rng(2)
    poses = [Pose(rng.uniform(0, 10, (14, 2))) for _ in range(3)]
    xy = rng.uniform(0, 10, (14, 2))
    xy[4] = np.nan
    poses.append(Pose(xy))
    batch = Pose.stack(poses)
    assert batch.batch_shape == (4,) and len(batch) == 4
    assert batch.joints.shape == (4, 14, 2) and batch.visible.shape == (4, 14)
    for k, pose in enumerate(poses):
        assert batch[k] == pose
    assert batch[1:3] == Pose.stack(poses[1:3])
    assert batch[-1] != batch[0]
    nested = Pose.stack([batch, batch[::-1]])
    assert nested.batch_shape == (2, 4) and nested[1, 0] == poses[3]
    with pytest.raises(TypeError):
        poses[0][0]
    with pytest.raises(TypeError):
        len(poses[0])
    with pytest.raises(InvalidPoseError, match=r"Pose\.stack"):
        Pose.stack([])
    with pytest.raises(InvalidPoseError, match=r"Pose\.stack"):
        Pose.stack([poses[0], xy])


def test_pose_arrays_are_read_only_and_copied():
    xy = np.ones((14, 2))
    visible = np.ones(14, bool)
    pose = Pose(xy, visible)
    with pytest.raises(ValueError, match="read-only"):
        pose.joints[0, 0] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        pose.visible[0] = False
    xy[0, 0] = 5.0
    visible[1] = False
    assert pose.joints[0, 0] == 1.0 and pose.visible[1]
    assert pose.flip_horizontal(10).joints.flags.writeable is False
    assert pose.transform(np.eye(2, 3)).joints.flags.writeable is False
    with pytest.raises(AttributeError):
        pose.extra = 1


# --------------------------------------------------------------------------- against reference_impl


def test_maps_agree_with_the_reference_on_random_poses():
    rng = np.random.default_rng(3)
    size = (48, 64)
    check_against_reference(random_poses(rng, 6, 48, high=48), size)


def test_transforms_agree_with_the_reference_on_random_poses():
    rng = np.random.default_rng(4)
    _, compared = check_transforms_against_reference(
        random_poses(rng, 8, 256), random_poses(rng, 8, 256)
    )
    assert compared == 8 * NUM_LIMBS


def test_maps_agree_with_the_reference_on_the_tennis_clip(tennis_pairs):
    source, target = tennis_pairs
    assert source.visible.all() and target.visible.all()
    # The crops hold the whole person: every joint inside the 256 x 256 frame.
    assert (source.joints > 0).all() and (source.joints < SIZE - 1).all()
    check_against_reference(source, (SIZE, SIZE))
    check_against_reference(target, (SIZE, SIZE))


def test_transforms_agree_with_the_reference_on_the_tennis_clip(tennis_pairs):
    source, target = tennis_pairs
    transforms, compared = check_transforms_against_reference(source, target)
    assert compared == len(source) * NUM_LIMBS
    # Real pairs: the limbs move, so the transforms are not the identity.
    assert np.abs(transforms[..., 1:] - np.eye(2, 3)[..., None]).max() > 1.0


def test_maps_agree_with_the_reference_with_missing_and_outside_joints():
    rng = np.random.default_rng(5)
    pose = poses_with_gaps(rng, 6, 64)
    assert (~pose.visible).sum() > 5
    outside = pose.visible & ((pose.joints < 0) | (pose.joints > 63)).any(axis=-1)
    assert outside.sum() > 5
    heatmaps = joint_heatmaps(pose, 64)
    # Missing, outside and on-border joints give all-zero channels.
    channel_max = heatmaps.max(axis=(1, 2))
    assert (channel_max[~pose.visible] == 0).all() and (channel_max[outside] == 0).all()
    assert channel_max[0, 0] == 0 and channel_max[0, 1] == 0 and channel_max[0, 2] > 0.5
    check_against_reference(pose, (64, 64))
    # Limbs with a missing joint have all-zero masks and a -23 (log 1e-10) prior.
    limb_ok = np.array([[pose.visible[k, list(limb)].all() for limb in LIMBS] for k in range(6)])
    assert (~limb_ok).any() and limb_ok.any()
    masks = limb_masks(pose, 64)
    assert (masks.max(axis=(1, 2))[~limb_ok] == 0).all()
    prior = mask_log_prior(pose, 64)
    np.testing.assert_allclose(prior[..., 1:].max(axis=(1, 2))[~limb_ok], np.log(1e-10), atol=1e-4)


def test_transforms_with_missing_joints_fit_the_common_joints():
    rng = np.random.default_rng(6)
    source, target = poses_with_gaps(rng, 12, 64), poses_with_gaps(rng, 12, 64)
    transforms, compared = check_transforms_against_reference(source, target)
    assert 0 < compared < 12 * NUM_LIMBS
    identities = partial_torsos = 0
    for k in range(len(source)):
        common = source.visible[k] & target.visible[k]
        for limb_index, limb in enumerate(LIMBS):
            joints = [j for j in limb if common[j]]
            got = transforms[k, :, :, limb_index + 1]
            if len(joints) < 2:
                np.testing.assert_array_equal(got, np.eye(2, 3))
                identities += 1
            elif len(joints) < len(limb):
                expected = ref.similarity_lstsq(target.joints[k, joints], source.joints[k, joints])
                np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-6)
                partial_torsos += 1
    assert identities > 5 and partial_torsos > 0


def test_limbs_with_fewer_than_two_common_joints_get_the_identity():
    rng = np.random.default_rng(7)
    source_xy, target_xy = rng.uniform(0, 64, (2, 14, 2))
    source_xy[[2, 3, 5]] = np.nan
    target_xy[[4, 8]] = np.nan  # (3, 4): no common joint; torso: only hip 11 in common
    transforms = limb_transforms(Pose(source_xy), Pose(target_xy))
    for limb_index in (1, 2, 3, 5, 9):  # (2, 3), (3, 4), (5, 6), (8, 9), torso
        np.testing.assert_array_equal(transforms[:, :, limb_index + 1], np.eye(2, 3))
    for limb_index in (0, 4, 6, 7, 8):
        assert not np.allclose(transforms[:, :, limb_index + 1], np.eye(2, 3))
    # Coinciding target joints cannot be fitted either.
    target_xy = rng.uniform(0, 64, (14, 2))
    target_xy[1] = target_xy[0]
    transforms = limb_transforms(Pose(rng.uniform(0, 64, (14, 2))), Pose(target_xy))
    np.testing.assert_array_equal(transforms[:, :, 1], np.eye(2, 3))
    assert np.isfinite(transforms).all()


def test_background_prior_at_limb_peaks_keeps_its_precision():
    # At the pixel where a limb mask peaks, background = 1 - 1 / (1 + 1e-6 / grid max),
    # about 1e-6: float32 must not lose it (a limb whose centre lies outside the frame
    # peaks at an edge or a corner of the grid). Next to such off-frame peaks the
    # background is ~1e-5 and the float32 exponent of the limb (~ -10 .. -30) limits the
    # log to about 1e-3 (measured 1.01e-3 on the second batch).
    rng = np.random.default_rng(0)
    peak_values = []
    for pose in [random_poses(rng, 20, 64, low=-5.0, high=70.0), poses_with_gaps(rng, 12, 64)]:
        prior = mask_log_prior(pose, 64)
        for k in range(len(pose)):
            expected = ref.mask_log_prior(pose.joints[k], pose.visible[k], 64, 64)
            assert_prior_close(prior[k], expected, atol=2e-3)
            peaks = limb_peak_pixels(expected)
            np.testing.assert_allclose(
                prior[k, ..., 0][peaks], expected[..., 0][peaks], atol=1e-4, rtol=0
            )
            peak_values.append(expected[..., 0][peaks])
    assert np.concatenate(peak_values).max() < -9.0  # background < 1.2e-4 at every peak


# --------------------------------------------------------------------------- batching


def test_batched_calls_equal_a_loop_of_single_calls():
    rng = np.random.default_rng(8)
    xy = rng.uniform(-10, 74, (2, 3, 14, 2))
    xy[rng.random((2, 3, 14)) < 0.15] = np.nan
    source, target = Pose(xy), Pose(rng.uniform(0, 64, (2, 3, 14, 2)))
    batched = {
        "heatmaps": joint_heatmaps(source, (64, 32)),
        "masks": limb_masks(source, (32, 64)),
        "prior": mask_log_prior(source, (32, 64)),
        "transforms": limb_transforms(source, target),
        "scale": person_scale(target),
    }
    assert batched["heatmaps"].shape == (2, 3, 32, 16, 14)
    assert batched["prior"].shape == (2, 3, 32, 64, 11)
    assert batched["transforms"].shape == (2, 3, 2, 3, 11)
    assert batched["scale"].shape == (2, 3)
    for i in range(2):
        for j in range(3):
            single = {
                "heatmaps": joint_heatmaps(source[i, j], (64, 32)),
                "masks": limb_masks(source[i, j], (32, 64)),
                "prior": mask_log_prior(source[i, j], (32, 64)),
                "transforms": limb_transforms(source[i, j], target[i, j]),
                "scale": person_scale(target[i, j]),
            }
            for name, value in single.items():
                np.testing.assert_allclose(
                    batched[name][i, j], value, rtol=1e-6, atol=1e-7, err_msg=name
                )


def test_transforms_need_the_same_batch_shape():
    rng = np.random.default_rng(9)
    with pytest.raises(InvalidPoseError, match="batch shape"):
        limb_transforms(random_poses(rng, 2), random_poses(rng, 3))


# --------------------------------------------------------------------------- transforms


def test_a_known_similarity_is_recovered_for_every_limb():
    rng = np.random.default_rng(10)
    target = random_poses(rng, 6, 128)
    matrices = np.stack(
        [
            similarity(rng.uniform(0.5, 2.0), rng.uniform(-np.pi, np.pi), *rng.uniform(-50, 50, 2))
            for _ in range(6)
        ]
    )
    source = target.transform(matrices)
    transforms = limb_transforms(source, target)
    np.testing.assert_array_equal(transforms[..., 0], np.broadcast_to(np.eye(2, 3), (6, 2, 3)))
    expected = np.broadcast_to(matrices[..., None], (6, 2, 3, NUM_LIMBS))
    np.testing.assert_allclose(transforms[..., 1:], expected, atol=1e-4, rtol=0)


def test_transforms_map_target_joints_onto_source_joints():
    # Any two distinct points map onto any two others by a similarity, so every two-joint
    # limb of unrelated poses is fitted exactly: the direction is target -> source.
    rng = np.random.default_rng(11)
    source, target = random_poses(rng, 4, 128), random_poses(rng, 4, 128)
    # Make the torso exactly similar, too: source torso = S(target torso).
    torso = list(LIMBS[-1])
    source_xy = source.joints.copy()
    shift = similarity(1.3, 0.7, 5.0, -8.0)
    source_xy[:, torso] = apply(shift, target.joints[:, torso])
    source = Pose(source_xy)
    transforms = limb_transforms(source, target).astype(np.float64)
    for k in range(4):
        for limb_index, limb in enumerate(LIMBS):
            moved = apply(transforms[k, :, :, limb_index + 1], target.joints[k, list(limb)])
            np.testing.assert_allclose(moved, source.joints[k, list(limb)], atol=1e-3)
        np.testing.assert_allclose(transforms[k, :, :, -1], shift, atol=1e-5)


# --------------------------------------------------------------------------- person scale


def scale_example():
    xy = np.zeros((14, 2))
    xy[0] = (50, 10)  # head
    xy[[8, 11]] = [(40, 100), (60, 120)]  # hips: mean y 110, upper body 100 -> 250
    xy[[9, 10]] = [(40, 150), (40, 180)]  # calf 30
    xy[[12, 13]] = [(60, 150), (90, 190)]  # calf 50 -> mean 40 -> 200
    return xy


def test_person_scale_of_a_hand_computed_pose():
    xy = scale_example()
    assert person_scale(Pose(xy)) == pytest.approx(250 / 200)
    assert person_scale(xy) == pytest.approx(250 / 200)  # plain arrays work too
    xy[[10, 13], 1] += 40  # calves 70 and ~78.1: the calf term wins
    calf = (70 + np.hypot(30, 80)) / 2
    assert person_scale(Pose(xy)) == pytest.approx(5 * calf / 200)


def test_person_scale_leaves_missing_terms_out():
    xy = scale_example()
    no_head = xy.copy()
    no_head[0] = np.nan  # upper body gone: calves only
    assert person_scale(Pose(no_head)) == pytest.approx(200 / 200)
    one_hip = xy.copy()
    one_hip[11] = np.nan  # upper body from hip 8 alone: 90
    assert person_scale(Pose(one_hip)) == pytest.approx(2.5 * 90 / 200)
    one_calf = no_head.copy()
    one_calf[13] = np.nan  # left calf gone: right calf alone, 30
    assert person_scale(Pose(one_calf)) == pytest.approx(5 * 30 / 200)
    no_calves = xy.copy()
    no_calves[[9, 12]] = np.nan
    no_calves[0, 1] = 90  # upper body 20 -> 50, less than the (missing) calves' 200
    assert person_scale(Pose(no_calves)) == pytest.approx(50 / 200)
    batch = Pose(np.stack([xy, no_head, one_hip]))
    np.testing.assert_allclose(person_scale(batch), [1.25, 1.0, 2.5 * 90 / 200])


def test_person_scale_without_either_term_raises():
    xy = scale_example()
    xy[[0, 10, 12]] = np.nan  # no head, no complete calf
    with pytest.raises(InvalidPoseError, match="person_scale"):
        person_scale(Pose(xy))
    # One bad pose in a batch is enough.
    with pytest.raises(InvalidPoseError, match="person_scale"):
        person_scale(Pose(np.stack([scale_example(), xy])))


# --------------------------------------------------------------------------- crops and warps


def dot_frame(shape, x, y):
    frame = np.zeros(shape, np.float32)
    frame[y, x] = 255.0
    return frame


@pytest.mark.parametrize(
    ("centre", "scale", "size"),
    [((100.0, 60.0), 1.0, 64), ((91.3, 47.8), 2.5, (48, 80)), ((100.0, 60.0), 1.7, (80, 40))],
)
def test_centre_and_scale_moves_pixels_and_joints_alike(centre, scale, size):
    x, y = 97, 55
    frame = dot_frame((90, 160, 3), x, y)
    xy = np.full((14, 2), np.nan)
    xy[5] = (x, y)
    crop, moved = centre_and_scale(frame, Pose(xy), centre, scale, size)
    height, width = (size, size) if isinstance(size, int) else size
    assert crop.shape == (height, width, 3) and crop.dtype == np.float32
    assert moved.visible.sum() == 1
    assert (moved.joints[5] > 1).all() and (moved.joints[5] < (width - 2, height - 2)).all()
    brightest = np.unravel_index(crop[..., 0].argmax(), crop.shape[:2])
    # The dot's brightest pixel is the pixel nearest to the moved joint.
    np.testing.assert_allclose(brightest[::-1], moved.joints[5], atol=0.5 + 1e-6)
    assert crop.max() >= 255.0 / 4 - 1e-3  # a quarter of the dot at worst
    # The crop centre shows the frame at `centre`.
    np.testing.assert_allclose(
        Pose(np.full((14, 2), centre)).transform(crop_matrix(centre, scale, size)).joints[0],
        ((width - 1) / 2, (height - 1) / 2),
    )


def test_a_rotated_crop_moves_pixels_and_joints_alike():
    matrix = similarity(1.6, 0.5, 80.0, -10.0)
    for x, y in [(30, 20), (150, 70), (77, 44), (3, 85)]:
        frame = dot_frame((90, 160, 1), x, y)
        moved = Pose(np.tile([x, y], (14, 1))).transform(matrix).joints[0]
        np.testing.assert_allclose(moved, apply(matrix, np.array([x, y], float)))
        crop = warp_image(frame, matrix, (260, 320))
        assert (moved > 5).all() and (moved < (314, 254)).all()
        brightest = np.unravel_index(crop[..., 0].argmax(), crop.shape[:2])
        np.testing.assert_allclose(brightest[::-1], moved, atol=0.75)


def scipy_warp(image, matrix, output_size):
    """`output = matrix @ input` with scipy: its matrix maps output (row, col) to input."""
    inverse = np.linalg.inv(np.vstack([matrix, [0.0, 0.0, 1.0]]))[:2]
    return scipy_pull(image, inverse, output_size)


def scipy_pull(image, pull, output_size):
    """Bilinear, zero outside: output pixel (x, y) reads input pixel `pull @ (x, y, 1)`."""
    rowcol = pull[::-1, 1::-1]  # (row, col) order: swap both axes
    offset = pull[::-1, 2]
    return np.stack(
        [
            scipy.ndimage.affine_transform(
                image[..., c].astype(np.float64),
                rowcol,
                offset,
                output_shape=output_size,
                order=1,
                mode="grid-constant",
                cval=0.0,
            )
            for c in range(image.shape[-1])
        ],
        axis=-1,
    )


def test_warp_image_matches_scipy():
    rng = np.random.default_rng(13)
    images = rng.random((3, 30, 40, 2)).astype(np.float32)
    matrices = np.stack(
        [
            similarity(0.9, 0.3, 5.0, -4.0),
            np.array([[1.3, 0.4, -6.0], [-0.2, 0.8, 3.5]]),  # shear, unequal scales
            similarity(2.0, -2.5, 60.0, 50.0),
        ]
    )
    for size in [(35, 45), (20, 64)]:
        warped = warp_image(images, matrices, size)
        assert warped.shape == (3, *size, 2)
        for k in range(3):
            expected = scipy_warp(images[k], matrices[k], size)
            np.testing.assert_allclose(warped[k], expected, atol=1e-4, rtol=0)
            np.testing.assert_allclose(
                warp_image(images[k], matrices[k], size), expected, atol=1e-4, rtol=0
            )
        # Zero outside, image inside: the checks are not trivially satisfied.
        assert (warped == 0).mean() > 0.05 and (warped > 0).mean() > 0.3


# --------------------------------------------------------------------------- spatial transformer


def warp_inputs(rng, batch, height, width, num_layers=11):
    image = rng.uniform(-1, 1, (batch, height, width, 3)).astype(np.float32)
    logits = rng.normal(size=(batch, height, width, num_layers)) * 2
    masks = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    transforms = np.zeros((batch, 2, 3, num_layers))
    transforms[:, :, :, 0] = np.eye(2, 3)
    centre = np.array([(width - 1) / 2, (height - 1) / 2])
    for b in range(batch):
        for layer in range(1, num_layers):  # a different map per limb layer
            # Rotate, scale and shear about the centre, then shift by up to 40% of the frame:
            # part of each layer leaves the frame, most of it stays.
            linear = similarity(rng.uniform(0.6, 1.6), rng.uniform(-np.pi, np.pi), 0, 0)[:, :2]
            linear += rng.normal(0, 0.1, (2, 2))
            shift = rng.uniform(-0.4, 0.4, 2) * (width, height)
            transforms[b, :, :2, layer] = linear
            transforms[b, :, 2, layer] = centre + shift - linear @ centre
    return {
        "image": image,
        "masks": masks.astype(np.float32),
        "transforms": transforms.astype(np.float32),
    }


@pytest.fixture(scope="module")
def warp_case():
    return warp_inputs(np.random.default_rng(14), 2, 24, 32)


def check_spatial_transformer(mode, inputs, warp_layer):
    image, masks, transforms = inputs["image"], inputs["masks"], inputs["transforms"]
    batch, height, width, _ = image.shape
    out = SpatialTransformer((height, width), resampling=mode)(inputs)
    background, limbs = np.asarray(out["background"]), np.asarray(out["limbs"])
    assert limbs.shape == (batch, height, width, 30)
    np.testing.assert_allclose(background, image * masks[..., :1], atol=1e-6)
    for layer in range(1, 11):
        layer_image = image * masks[..., layer : layer + 1]
        expected = warp_layer(layer_image, transforms[..., layer])
        got = limbs[..., 3 * (layer - 1) : 3 * layer]
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0, err_msg=f"layer {layer}")
        assert np.abs(got).max() > 0.05
    return limbs


def test_standard_spatial_transformer_matches_scipy(warp_case):
    def scipy_layer(layer_image, matrices):
        return np.stack(
            [
                scipy_pull(im, m.astype(np.float64), im.shape[:2])
                for im, m in zip(layer_image, matrices, strict=True)
            ]
        )

    limbs = check_spatial_transformer("standard", warp_case, scipy_layer)
    assert (limbs == 0).mean() > 0.05  # samples outside the frame are zero


def test_reference_spatial_transformer_matches_the_gather_sampler(warp_case):
    def reference_layer(layer_image, matrices):
        return np.asarray(ref.affine_warp_reference(layer_image, matrices))

    limbs = check_spatial_transformer("reference", warp_case, reference_layer)
    assert (limbs == 0).mean() < 0.01  # clamped: no zero fill


@pytest.mark.parametrize("resampling", ["standard", "reference"])
def test_layer_warp_gradient_is_the_adjoint_of_the_warp(resampling):
    # For fixed masks the limbs are a linear map A of the image (and for a fixed image, of
    # the masks): the gradient of <upstream, limbs> must be A^T upstream. A's columns are
    # the warps of the unit images. (The gradient TensorFlow registers for its warp op, the
    # output gradient warped back by the inverse maps, fails this.)
    layer = LayerWarp(resampling)
    rng = np.random.default_rng(3)
    case = warp_inputs(rng, 2, 6, 5, num_layers=3)
    upstream = rng.normal(size=(2, 6, 5, 6)).astype("float32")
    image, masks = tf.constant(case["image"]), tf.constant(case["masks"])
    with tf.GradientTape() as tape:
        tape.watch([image, masks])
        out = layer({"image": image, "masks": masks, "transforms": case["transforms"]})
        objective = tf.reduce_sum(out["limbs"] * upstream)
    image_grad, masks_grad = tape.gradient(objective, [image, masks])

    def adjoint(name):
        expected = np.zeros_like(case[name])
        for k in np.ndindex(case[name].shape):
            unit = np.zeros_like(case[name])
            unit[k] = 1.0
            limbs = layer({**case, name: unit})["limbs"]
            # Linear in `name` once the other input is fixed; the background is not warped.
            expected[k] = np.sum(np.asarray(limbs) * upstream)
        return expected

    np.testing.assert_allclose(image_grad, adjoint("image"), atol=1e-5)
    expected_masks = adjoint("masks")
    expected_masks[..., 0] = 0.0  # mask 0 only scales the background, not the limbs
    np.testing.assert_allclose(masks_grad, expected_masks, atol=1e-5)
