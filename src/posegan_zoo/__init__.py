"""posegan_zoo: pose-guided human image generation for Keras 3.

Example:

>>> import posegan_zoo
>>> generator = posegan_zoo.PoseWarpGenerator.tiny(image_size=64)
>>> generator.count_params() > 0
True
"""

__version__ = "0.1.0"

from posegan_zoo import errors, layers, models, pose
from posegan_zoo.models import (
    BackgroundSynthesis,
    ForegroundSynthesis,
    PoseDiscriminator,
    PoseWarpGenerator,
    SourceSegmentation,
    SpatialTransformer,
    UNetBaseline,
    posewarp_inputs,
)
from posegan_zoo.pose import Pose

__all__ = [
    "BackgroundSynthesis",
    "ForegroundSynthesis",
    "Pose",
    "PoseDiscriminator",
    "PoseWarpGenerator",
    "SourceSegmentation",
    "SpatialTransformer",
    "UNetBaseline",
    "__version__",
    "errors",
    "layers",
    "models",
    "pose",
    "posewarp_inputs",
]
