"""posegan_zoo: pose-guided human image generation for Keras 3.

Example:

>>> import posegan_zoo
>>> generator = posegan_zoo.PoseWarpGenerator.tiny(image_size=64)
>>> generator.count_params() > 0
True
"""

__version__ = "0.1.0"

from typing import TYPE_CHECKING

from posegan_zoo._lazy import lazy_attributes

_MODELS = (
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
)
_EXPORTS = {
    **dict.fromkeys(_MODELS, "posegan_zoo.models"),
    **dict.fromkeys(
        ("PersonDetection", "PoseDetector", "detect_pose", "detect_poses"), "posegan_zoo.detection"
    ),
    "Pose": "posegan_zoo.pose",
    "list_presets": "posegan_zoo.presets",
    "load_generator": "posegan_zoo.presets",
    "PoseRegenerator": "posegan_zoo.regenerator",
    "RegenerationResult": "posegan_zoo.regenerator",
}
_SUBMODULES = (
    "backbones",
    "data",
    "detection",
    "errors",
    "layers",
    "losses",
    "metrics",
    "models",
    "pose",
    "presets",
    "training",
)
# Names load on first use, so that `import posegan_zoo` (and `posegan-zoo --help`) does not
# import TensorFlow; the imports below are for type checkers and the API reference.
__getattr__, __dir__ = lazy_attributes(__name__, _EXPORTS, _SUBMODULES)

if TYPE_CHECKING:
    from posegan_zoo import (
        backbones,
        data,
        detection,
        errors,
        layers,
        losses,
        metrics,
        models,
        pose,
        presets,
        training,
    )
    from posegan_zoo.detection import PersonDetection, PoseDetector, detect_pose, detect_poses
    from posegan_zoo.models import (
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
    from posegan_zoo.pose import Pose
    from posegan_zoo.presets import list_presets, load_generator
    from posegan_zoo.regenerator import PoseRegenerator, RegenerationResult

__all__ = [
    "BackgroundSynthesis",
    "ForegroundSynthesis",
    "PersonDetection",
    "Pose",
    "PoseCycleTrainer",
    "PoseDetector",
    "PoseDiscriminator",
    "PoseRegenerator",
    "PoseWarpGenerator",
    "PoseWarpTrainer",
    "RefinedWarpGenerator",
    "RegenerationResult",
    "SourceSegmentation",
    "SpatialTransformer",
    "UNetBaseline",
    "WarpOnlyGenerator",
    "__version__",
    "backbones",
    "convert_posewarp_checkpoint",
    "data",
    "detect_pose",
    "detect_poses",
    "detection",
    "errors",
    "layers",
    "list_presets",
    "load_generator",
    "losses",
    "metrics",
    "models",
    "pose",
    "posewarp_inputs",
    "presets",
    "training",
]
