"""Pretrained backbones that work offline: ImageNet MobileNetV2 (for a perceptual loss).

Example:

>>> from posegan_zoo.backbones import FEATURE_LAYER_NAMES
>>> FEATURE_LAYER_NAMES[0], FEATURE_LAYER_NAMES[-1]
('block_1_expand', 'top_conv')
"""

from posegan_zoo.backbones.mobilenet_v2 import (
    FEATURE_LAYER_CHANNELS,
    FEATURE_LAYER_NAMES,
    FEATURE_LAYER_STRIDES,
    MOBILENET_V2_WEIGHTS,
    build_mobilenet_v2,
    convert_mobilenet_v2_tflite,
    load_mobilenet_v2_weights,
    mobilenet_v2_classifier,
    mobilenet_v2_features,
    save_mobilenet_v2_weights,
)

__all__ = [
    "FEATURE_LAYER_CHANNELS",
    "FEATURE_LAYER_NAMES",
    "FEATURE_LAYER_STRIDES",
    "MOBILENET_V2_WEIGHTS",
    "build_mobilenet_v2",
    "convert_mobilenet_v2_tflite",
    "load_mobilenet_v2_weights",
    "mobilenet_v2_classifier",
    "mobilenet_v2_features",
    "save_mobilenet_v2_weights",
]
