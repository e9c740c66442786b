"""Model families of the zoo. Each family lives in its own sub-package."""

from posegan_zoo.models.cyclegan import (
    CycleGANTrainer,
    ImageHistoryPool,
    LinearDecaySchedule,
    PatchDiscriminator,
    ResnetGenerator,
    TranslationGridCallback,
    unpaired_image_dataset,
)
from posegan_zoo.models.dcgan import DCGANDiscriminator, DCGANGenerator, DCGANTrainer
from posegan_zoo.models.posewarp import (
    BackgroundSynthesis,
    ForegroundSynthesis,
    PoseCycleTrainer,
    PoseDiscriminator,
    PoseWarpGenerator,
    PoseWarpTrainer,
    RefinedWarpGenerator,
    SourceSegmentation,
    SpatialTransformer,
    UNetBaseline,
    WarpOnlyGenerator,
    convert_posewarp_checkpoint,
    posewarp_inputs,
)
from posegan_zoo.models.wgan_gp import WGANGPCritic, WGANGPTrainer

__all__ = [
    "BackgroundSynthesis",
    "CycleGANTrainer",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "DCGANTrainer",
    "ForegroundSynthesis",
    "ImageHistoryPool",
    "LinearDecaySchedule",
    "PatchDiscriminator",
    "PoseCycleTrainer",
    "PoseDiscriminator",
    "PoseWarpGenerator",
    "PoseWarpTrainer",
    "RefinedWarpGenerator",
    "ResnetGenerator",
    "SourceSegmentation",
    "SpatialTransformer",
    "TranslationGridCallback",
    "UNetBaseline",
    "WGANGPCritic",
    "WGANGPTrainer",
    "WarpOnlyGenerator",
    "convert_posewarp_checkpoint",
    "posewarp_inputs",
    "unpaired_image_dataset",
]
