"""PoseWarp (Balakrishnan et al., CVPR 2018): the four modules, the generator, the pose
discriminator, the UNet baseline, the trainer, and the converter for the authors' checkpoints."""

from posegan_zoo.models.posewarp.checkpoint_converter import convert_posewarp_checkpoint
from posegan_zoo.models.posewarp.cycle_trainer import PoseCycleTrainer
from posegan_zoo.models.posewarp.discriminator import PoseDiscriminator
from posegan_zoo.models.posewarp.generator import (
    GENERATOR_INPUTS,
    INTERMEDIATES,
    PoseWarpGenerator,
)
from posegan_zoo.models.posewarp.inputs import posewarp_inputs
from posegan_zoo.models.posewarp.refined_warp import RefinedWarpGenerator
from posegan_zoo.models.posewarp.source_segmentation import SourceSegmentation
from posegan_zoo.models.posewarp.spatial_transformer import SpatialTransformer
from posegan_zoo.models.posewarp.synthesis import BackgroundSynthesis, ForegroundSynthesis
from posegan_zoo.models.posewarp.trainer import PoseWarpTrainer
from posegan_zoo.models.posewarp.unet_baseline import UNetBaseline
from posegan_zoo.models.posewarp.warp_only import WarpOnlyGenerator

__all__ = [
    "GENERATOR_INPUTS",
    "INTERMEDIATES",
    "BackgroundSynthesis",
    "ForegroundSynthesis",
    "PoseCycleTrainer",
    "PoseDiscriminator",
    "PoseWarpGenerator",
    "PoseWarpTrainer",
    "RefinedWarpGenerator",
    "SourceSegmentation",
    "SpatialTransformer",
    "UNetBaseline",
    "WarpOnlyGenerator",
    "convert_posewarp_checkpoint",
    "posewarp_inputs",
]
