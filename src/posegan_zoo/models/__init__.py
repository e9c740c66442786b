"""Model families of the zoo. Each family lives in its own sub-package."""

from posegan_zoo.models.posewarp import (
    BackgroundSynthesis,
    ForegroundSynthesis,
    PoseCycleTrainer,
    PoseDiscriminator,
    PoseWarpGenerator,
    PoseWarpTrainer,
    SourceSegmentation,
    SpatialTransformer,
    UNetBaseline,
    WarpOnlyGenerator,
    convert_posewarp_checkpoint,
    posewarp_inputs,
)

__all__ = [
    "BackgroundSynthesis",
    "ForegroundSynthesis",
    "PoseCycleTrainer",
    "PoseDiscriminator",
    "PoseWarpGenerator",
    "PoseWarpTrainer",
    "SourceSegmentation",
    "SpatialTransformer",
    "UNetBaseline",
    "WarpOnlyGenerator",
    "convert_posewarp_checkpoint",
    "posewarp_inputs",
]
