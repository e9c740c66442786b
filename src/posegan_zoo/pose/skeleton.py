"""The 14-joint MPII-style skeleton used by PoseWarp, its 10 limbs and its mirror map."""

JOINT_NAMES = (
    "head",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
)
NUM_JOINTS = len(JOINT_NAMES)

# Each limb is a tuple of joint indices. Two-joint limbs run from the first joint to the
# second; the torso's axis runs from the shoulders' midpoint to the hips' midpoint.
LIMBS = (
    (0, 1),
    (2, 3),
    (3, 4),
    (5, 6),
    (6, 7),
    (8, 9),
    (9, 10),
    (11, 12),
    (12, 13),
    (2, 5, 8, 11),
)
LIMB_NAMES = (
    "head",
    "right_upper_arm",
    "right_forearm",
    "left_upper_arm",
    "left_forearm",
    "right_thigh",
    "right_shin",
    "left_thigh",
    "left_shin",
    "torso",
)
NUM_LIMBS = len(LIMBS)
TORSO = NUM_LIMBS - 1

# Index permutation that swaps every left joint with its right twin (used by horizontal flips).
FLIP_PERMUTATION = (0, 1, 5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10)

# Bones drawn by skeleton overlays.
BONES = (
    (0, 1),
    (1, 2),
    (1, 5),
    (2, 3),
    (3, 4),
    (5, 6),
    (6, 7),
    (2, 8),
    (5, 11),
    (8, 9),
    (9, 10),
    (11, 12),
    (12, 13),
    (8, 11),
)
