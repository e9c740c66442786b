"""Small registered layers shared by the models."""

from posegan_zoo.layers.inpaint import Inpaint
from posegan_zoo.layers.pose_geometry import PoseGeometry
from posegan_zoo.layers.resampling import RESAMPLING_MODES, LayerWarp, Upsample2x
from posegan_zoo.layers.unet import UNet

__all__ = ["RESAMPLING_MODES", "Inpaint", "LayerWarp", "PoseGeometry", "UNet", "Upsample2x"]
