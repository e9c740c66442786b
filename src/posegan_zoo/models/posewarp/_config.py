"""Config plumbing shared by the PoseWarp models (functional subclasses of keras.Model)."""

import keras

from posegan_zoo.pose import NUM_JOINTS, NUM_LIMBS

NUM_LAYERS = NUM_LIMBS + 1  # background + one layer per limb
# Paper widths of the PoseWarp modules' UNets.
MODULE_ENCODER_WIDTHS = (64, 64) + (128,) * 9
SEGMENTATION_DECODER_WIDTHS = (128,) * 4 + (32,)
SYNTHESIS_DECODER_WIDTHS = (128,) * 4 + (64,)


def pose_input(height, width, name, num_joints=NUM_JOINTS):
    return keras.Input((height // 2, width // 2, num_joints), name=name)
