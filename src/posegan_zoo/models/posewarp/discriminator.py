"""The pose-conditioned discriminator of PoseWarp's adversarial stage."""

import keras

from posegan_zoo._functional import KeyedFunctionalModel
from posegan_zoo._validation import as_image_size, as_widths
from posegan_zoo.models.posewarp._config import pose_input

DISCRIMINATOR_CONV_WIDTHS = (64, 128, 256, 256, 256, 256)
DISCRIMINATOR_DENSE_WIDTHS = (256, 256)


@keras.saving.register_keras_serializable(package="posegan_zoo")
class PoseDiscriminator(KeyedFunctionalModel):
    """Scores whether an image is a real photo of a person in the given poses.

    Layers: 5x5 conv, max-pool, concatenate the source and target pose maps, 5x5 conv,
    max-pool, three times {3x3 conv, max-pool}, a last 3x3 conv (all LeakyReLU 0.2), flatten,
    two ReLU dense layers and a dense layer to one logit. The final feature map is
    H/32 x W/32 (8 x 8 at 256), the size the paper's parameter count implies.

    Inputs (a dict): "image" `(batch, H, W, 3)` in [-1, 1]; "source_pose", "target_pose"
    `(batch, H/2, W/2, 14)`. Output: `(batch, 1)` float32 logits (the paper applies a
    sigmoid; our losses take logits).

    Args:
        image_size: int or (height, width), divisible by 32.
        conv_widths: 6 conv widths. dense_widths: 2 hidden dense widths.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models import PoseDiscriminator
    >>> model = PoseDiscriminator(64, conv_widths=[8] * 6, dense_widths=[16, 16])
    >>> poses = np.zeros((2, 32, 32, 14))
    >>> tuple(model({"image": np.zeros((2, 64, 64, 3)), "source_pose": poses,
    ...              "target_pose": poses}).shape)
    (2, 1)
    """

    def __init__(
        self,
        image_size=256,
        conv_widths=DISCRIMINATOR_CONV_WIDTHS,
        dense_widths=DISCRIMINATOR_DENSE_WIDTHS,
        name="pose_discriminator",
        **kwargs,
    ):
        height, width = as_image_size(image_size, multiple_of=32)
        conv_widths = as_widths(conv_widths, "conv_widths", len(DISCRIMINATOR_CONV_WIDTHS))
        dense_widths = as_widths(dense_widths, "dense_widths", len(DISCRIMINATOR_DENSE_WIDTHS))
        dtype = kwargs.pop("dtype", None)
        self.convs = [
            keras.layers.Conv2D(
                filters,
                5 if i < 2 else 3,
                padding="same",
                activation="leaky_relu",
                dtype=dtype,
                name=f"conv_{i}",
            )
            for i, filters in enumerate(conv_widths)
        ]
        self.dense_layers = [
            keras.layers.Dense(units, activation="relu", dtype=dtype, name=f"dense_{i}")
            for i, units in enumerate(dense_widths)
        ]
        self.logit = keras.layers.Dense(1, dtype="float32", name="logit")

        image = keras.Input((height, width, 3), name="image")
        source_pose = pose_input(height, width, "source_pose")
        target_pose = pose_input(height, width, "target_pose")
        x = image
        for i, conv in enumerate(self.convs):
            x = conv(x)
            if i < len(self.convs) - 1:
                x = keras.layers.MaxPooling2D(dtype=dtype, name=f"pool_{i}")(x)
            if i == 0:
                x = keras.layers.Concatenate(dtype=dtype, name="concat_poses")(
                    [x, source_pose, target_pose]
                )
        x = keras.layers.Flatten(dtype=dtype, name="flatten")(x)
        for dense in self.dense_layers:
            x = dense(x)
        self._init_functional(
            {"image": image, "source_pose": source_pose, "target_pose": target_pose},
            self.logit(x),
            name,
            dtype,
            kwargs,
        )
        self.image_size = (height, width)
        self.conv_widths = conv_widths
        self.dense_widths = dense_widths

    def get_config(self):
        return {
            **super().get_config(),
            "image_size": self.image_size,
            "conv_widths": self.conv_widths,
            "dense_widths": self.dense_widths,
        }
