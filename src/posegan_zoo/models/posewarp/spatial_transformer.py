"""Module 2 of PoseWarp: move each limb layer of the source to its place in the target."""

import keras

from posegan_zoo._functional import KeyedFunctionalModel
from posegan_zoo._validation import as_image_size
from posegan_zoo.layers import LayerWarp
from posegan_zoo.models.posewarp._config import NUM_LAYERS


@keras.saving.register_keras_serializable(package="posegan_zoo")
class SpatialTransformer(KeyedFunctionalModel):
    """Masks the source with each layer mask and warps the 10 limb layers to the target pose.

    It has no weights. Each limb layer is warped with bilinear sampling by its affine map
    (`posegan_zoo.pose.limb_transforms`, target pixel -> source pixel); the background layer
    stays where it is.

    Inputs (a dict): "image" `(batch, H, W, 3)`; "masks" `(batch, H, W, 11)` (from
    `SourceSegmentation`, or the normalized prior); "transforms" `(batch, 2, 3, 11)`.
    Outputs (a dict): "background" `(batch, H, W, 3)`, the source times the background mask;
    "limbs" `(batch, H, W, 30)`, the warped limb layers (3 channels each, limb order of
    `posegan_zoo.pose.LIMBS`).

    Args:
        image_size: int or (height, width).
        resampling: "standard" (zero outside the frame) or "reference" (the authors'
            reflect-padded, clamped sampling).

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models import SpatialTransformer
    >>> identity = np.repeat(np.eye(2, 3, dtype="float32")[None, :, :, None], 11, axis=-1)
    >>> out = SpatialTransformer(32)({"image": np.ones((1, 32, 32, 3)),
    ...     "masks": np.full((1, 32, 32, 11), 1 / 11), "transforms": identity})
    >>> tuple(out["background"].shape), tuple(out["limbs"].shape)
    ((1, 32, 32, 3), (1, 32, 32, 30))
    """

    def __init__(self, image_size=256, resampling="standard", name="spatial_transformer", **kwargs):
        height, width = as_image_size(image_size)
        dtype = kwargs.pop("dtype", None)
        self.warp = LayerWarp(resampling, dtype=dtype, name="layer_warp")

        image = keras.Input((height, width, 3), name="image")
        masks = keras.Input((height, width, NUM_LAYERS), name="masks")
        transforms = keras.Input((2, 3, NUM_LAYERS), name="transforms")
        inputs = {"image": image, "masks": masks, "transforms": transforms}
        self._init_functional(inputs, self.warp(inputs), name, dtype, kwargs)
        self.image_size = (height, width)
        self.resampling = resampling

    def get_config(self):
        return {
            **super().get_config(),
            "image_size": self.image_size,
            "resampling": self.resampling,
        }
