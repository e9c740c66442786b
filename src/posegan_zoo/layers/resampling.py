"""Resampling layers: 2x bilinear upsampling and the per-layer affine warp of PoseWarp.

Both come in two arithmetics:
- "standard": Keras' own (`ops.image.resize` with half-pixel centres; warp samples outside
  the frame as zero);
- "reference": the arithmetic of the authors' TensorFlow graph, so that their converted
  weights give their outputs. Upsampled pixel `i` samples input position `i / 2`, and every
  sample reads a one-pixel reflect-padded copy of the input, clamped at its border.
"""

import keras
from keras import ops

from posegan_zoo.layers._layer_sampler import layer_table, sample_layers, sampling_taps

RESAMPLING_MODES = ("standard", "reference")


def _check_mode(resampling):
    if resampling not in RESAMPLING_MODES:
        raise ValueError(f"`resampling` must be one of {RESAMPLING_MODES}, got {resampling!r}.")
    return resampling


def _reference_double(x, axis):
    """Doubles `axis` (1 or 2): even outputs copy the input, odd ones average neighbours.

    The neighbour of the last element is its reflection (the one before it), as in the
    reference's reflect padding.
    """
    size = x.shape[axis]
    last_neighbour = ops.take(x, [size - 2], axis=axis)
    following = ops.concatenate([ops.take(x, range(1, size), axis=axis), last_neighbour], axis)
    midpoints = (x + following) * 0.5
    interleaved = ops.stack([x, midpoints], axis=axis + 1)
    shape = list(ops.shape(x))
    shape[axis] = size * 2
    return ops.reshape(interleaved, [-1 if i == 0 else s for i, s in enumerate(shape)])


@keras.saving.register_keras_serializable(package="posegan_zoo")
class Upsample2x(keras.layers.Layer):
    """Bilinear 2x upsampling of `(batch, H, W, C)` feature maps.

    Args:
        resampling: "standard" or "reference" (see the module docstring).

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.layers import Upsample2x
    >>> x = np.arange(3, dtype="float32").reshape(1, 1, 3, 1) * np.ones((1, 2, 1, 1), "float32")
    >>> np.asarray(Upsample2x("reference")(x))[0, 0, :, 0].tolist()
    [0.0, 0.5, 1.0, 1.5, 2.0, 1.5]
    """

    def __init__(self, resampling="standard", **kwargs):
        super().__init__(**kwargs)
        self.resampling = _check_mode(resampling)

    def call(self, x):
        if self.resampling == "standard":
            height, width = x.shape[1], x.shape[2]
            return ops.image.resize(x, (2 * height, 2 * width), interpolation="bilinear")
        return _reference_double(_reference_double(x, 1), 2)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (batch, 2 * height, 2 * width, channels)

    def get_config(self):
        return {**super().get_config(), "resampling": self.resampling}


@keras.saving.register_keras_serializable(package="posegan_zoo")
class LayerWarp(keras.layers.Layer):
    """Splits an image into mask-weighted layers and warps each with its own affine map.

    Inputs (a dict):
    - "image": `(batch, H, W, C)`;
    - "masks": `(batch, H, W, L)` soft layer masks (layer 0 is the background);
    - "transforms": `(batch, 2, 3, L)`; `transforms[..., l]` maps an output pixel (x, y, 1)
      to the input pixel that layer `l` reads.

    Outputs (a dict): "background" `(batch, H, W, C)`, the image times mask 0, not warped;
    "limbs" `(batch, H, W, C * (L - 1))`, layer `l` (1..L-1) warped, in channels
    `[(l - 1) * C, l * C)`. All `L - 1` warps are one XLA-compiled gather (with the exact
    gradient with respect to image and masks; none with respect to the transforms).

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.layers import LayerWarp
    >>> image = np.random.rand(1, 8, 8, 3).astype("float32")
    >>> masks = np.ones((1, 8, 8, 2), "float32")
    >>> shift = np.array([[1, 0, 1], [0, 1, 0]], "float32")  # read one pixel to the right
    >>> transforms = np.stack([np.eye(2, 3, dtype="float32"), shift], -1)[None]
    >>> out = LayerWarp()({"image": image, "masks": masks, "transforms": transforms})
    >>> bool(np.allclose(np.asarray(out["limbs"])[0, :, :7], image[0, :, 1:]))
    True
    """

    def __init__(self, resampling="standard", **kwargs):
        super().__init__(**kwargs)
        self.resampling = _check_mode(resampling)

    def call(self, inputs):
        image = ops.cast(inputs["image"], self.compute_dtype)
        masks = ops.cast(inputs["masks"], self.compute_dtype)
        transforms = ops.cast(inputs["transforms"], "float32")
        height, width = image.shape[1], image.shape[2]
        table = layer_table(image, masks[..., 1:], self.resampling)
        rows, fx, fy = sampling_taps(transforms[..., 1:], height, width)
        return {
            "background": image * masks[..., :1],
            "limbs": sample_layers(table, rows, fx, fy),
        }

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape["image"]
        num_warped = input_shape["masks"][-1] - 1
        return {
            "background": (batch, height, width, channels),
            "limbs": (batch, height, width, channels * num_warped),
        }

    def get_config(self):
        return {**super().get_config(), "resampling": self.resampling}
