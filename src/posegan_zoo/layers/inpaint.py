"""`Inpaint`: classical, learning-free hole filling in the graph (push-pull + diffusion).

The fill is the multi-scale push-pull of Gortler et al. (the Lumigraph, 1996) followed by
masked diffusion, i.e. an approximate harmonic (membrane) interpolation of the hole from
its boundary:

- push: the known pixels are averaged into a pyramid of half-size levels, each level's
  weight being the clamped sum of the four weights under it, so that a coarse pixel is
  fully known as soon as any pixel under it is; this goes on down to one pixel, so every
  hole is eventually covered;
- pull: from the coarsest level up, each level keeps its own colour where it is known and
  takes the bilinearly upsampled coarser fill elsewhere, then relaxes the unknown part a
  few damped Jacobi steps of the Laplace equation (which removes the blocks of the
  pyramid);
- a few more relaxation steps at full resolution.

Known pixels (hole 0) come out unchanged; a soft hole blends the fill in proportionally.
"""

import keras
from keras import ops

from posegan_zoo.errors import InvalidConfigError

# A pyramid pixel whose weight is below this holds no colour (its colour reads 0).
_EPS = 1e-6


def _pad_even(x):
    """Pads the bottom row / right column by symmetry when the height / width is odd."""
    height, width = x.shape[1], x.shape[2]
    if height % 2 or width % 2:
        x = ops.pad(x, [[0, 0], [0, height % 2], [0, width % 2], [0, 0]], mode="symmetric")
    return x


def _halve(x):
    return ops.average_pool(_pad_even(x), pool_size=2, strides=2, padding="valid")


def _double(x, height, width):
    """Bilinear 2x upsampling of `x`, cropped to `(height, width)` (undoes `_pad_even`)."""
    up = ops.image.resize(x, (2 * x.shape[1], 2 * x.shape[2]), interpolation="bilinear")
    return up[:, :height, :width]


def _neighbour_mean(x):
    """Mean of the four neighbours, the border mirrored (zero normal derivative)."""
    padded = ops.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="symmetric")
    return 0.25 * (
        padded[:, :-2, 1:-1] + padded[:, 2:, 1:-1] + padded[:, 1:-1, :-2] + padded[:, 1:-1, 2:]
    )


def _relax(x, colour, weight, iterations):
    """Damped Jacobi steps of Laplace's equation where `weight` < 1, `colour` where known."""
    pinned = weight * colour
    for _ in range(iterations):
        smooth = 0.5 * x + 0.5 * _neighbour_mean(x)
        x = pinned + (1.0 - weight) * smooth
    return x


@keras.saving.register_keras_serializable(package="posegan_zoo")
class Inpaint(keras.layers.Layer):
    """Fills the holes of `(batch, H, W, C)` images from their surroundings, no weights.

    `layer(image, hole)`: `hole` is `(batch, H, W, 1)` in [0, 1], 1 where the pixel is to
    be filled. Returns `(1 - hole) * image + hole * fill`, where the fill is a push-pull
    pyramid relaxed into a smooth (nearly harmonic) membrane over the hole (see the module
    docstring): pixels outside the hole are kept exactly, a constant image is filled with
    its constant, a linear ramp with (nearly) the ramp, and an image with no known pixel at
    all is filled with zeros. Runs in float32 whatever the dtype policy.

    Args:
        level_iterations: relaxation steps at every pyramid level (coarse to fine).
        final_iterations: further relaxation steps at full resolution.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.layers import Inpaint
    >>> ramp = np.tile(np.linspace(-1, 1, 32, dtype="float32"), (32, 1))[None, ..., None]
    >>> hole = np.zeros((1, 32, 32, 1), "float32")
    >>> hole[:, 8:24, 8:24] = 1.0
    >>> filled = np.asarray(Inpaint()(ramp * np.ones(3, "float32"), hole))
    >>> bool(np.abs(filled - ramp).max() < 0.05), bool((filled[:, :8] == ramp[:, :8]).all())
    (True, True)
    """

    def __init__(self, level_iterations=4, final_iterations=16, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.level_iterations = _non_negative(level_iterations, "level_iterations")
        self.final_iterations = _non_negative(final_iterations, "final_iterations")

    def call(self, image, hole):
        image = ops.cast(image, "float32")
        hole = ops.clip(ops.cast(hole, "float32"), 0.0, 1.0)
        height, width = image.shape[1], image.shape[2]
        if height is None or width is None:
            raise ValueError("`Inpaint` needs images of a static height and width.")
        # Push: colour and clamped weight of every level, fine to coarse.
        weight = 1.0 - hole
        colour = image
        levels = [(colour, weight)]
        while colour.shape[1] > 1 or colour.shape[2] > 1:
            weighted = _halve(colour * weight)
            total = _halve(weight)
            colour = weighted / ops.maximum(total, _EPS)
            weight = ops.minimum(4.0 * total, 1.0)
            levels.append((colour, weight))
        # Pull: coarse to fine, each level's known colour over the upsampled coarser fill.
        filled = levels[-1][0]
        for colour, weight in reversed(levels[:-1]):
            coarse = _double(filled, colour.shape[1], colour.shape[2])
            filled = weight * colour + (1.0 - weight) * coarse
            filled = _relax(filled, colour, weight, self.level_iterations)
        weight = levels[0][1]
        filled = _relax(filled, image, weight, self.final_iterations)
        return weight * image + hole * filled

    def compute_output_shape(self, image_shape, hole_shape=None):
        return image_shape

    def get_config(self):
        return {
            **super().get_config(),
            "level_iterations": self.level_iterations,
            "final_iterations": self.final_iterations,
        }


def _non_negative(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidConfigError(f"`{name}` must be a non-negative int, got {value!r}.")
    return value
