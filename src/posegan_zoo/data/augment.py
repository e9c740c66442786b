"""The paper's augmentation, as one affine map per pair drawn with a stateless RNG."""

import dataclasses

import tensorflow as tf

from posegan_zoo.errors import InvalidConfigError


@dataclasses.dataclass(frozen=True)
class Augmentation:
    """Ranges of the random changes applied to a training pair (the same draw for both images).

    Defaults are the paper's: horizontal flip with probability 0.5 (left and right joints
    swap), scale 0.90-1.05 and rotation of up to 5 degrees about the crop's centre, a shift of
    up to 5 pixels along each axis, and an intensity factor 0.95-1.05 (on images in [-1, 1],
    clipped at 1). `Augmentation.none()` changes nothing.

    Example:

    >>> from posegan_zoo.data import Augmentation
    >>> Augmentation(max_rotation=10.0).max_rotation, Augmentation.none().flip_probability
    (10.0, 0.0)
    """

    flip_probability: float = 0.5
    scale_range: tuple = (0.90, 1.05)
    max_shift: float = 5.0
    max_rotation: float = 5.0
    intensity_range: tuple = (0.95, 1.05)

    def __post_init__(self):
        if not 0.0 <= self.flip_probability <= 1.0:
            raise InvalidConfigError(
                f"`flip_probability` must be in [0, 1], got {self.flip_probability}."
            )
        for name in ("scale_range", "intensity_range"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise InvalidConfigError(f"`{name}` must be (low, high) with 0 < low <= high.")
        if self.max_shift < 0 or self.max_rotation < 0:
            raise InvalidConfigError("`max_shift` and `max_rotation` must be >= 0.")

    @classmethod
    def none(cls):
        return cls(0.0, (1.0, 1.0), 0.0, 0.0, (1.0, 1.0))

    def draw(self, seed):
        """One random draw (a dict of scalar tensors) from a stateless `seed` (2 ints)."""
        seeds = tf.random.experimental.stateless_split(seed, 6)

        def uniform(i, low, high):
            return tf.random.stateless_uniform([], seeds[i], low, high, dtype=tf.float32)

        return {
            "flip": uniform(0, 0.0, 1.0) < self.flip_probability,
            "scale": uniform(1, *self.scale_range),
            "shift": tf.stack(
                [
                    uniform(2, -self.max_shift, self.max_shift + 1e-9),
                    uniform(3, -self.max_shift, self.max_shift + 1e-9),
                ]
            ),
            "angle": uniform(4, -self.max_rotation, self.max_rotation + 1e-9),
            "intensity": uniform(5, *self.intensity_range),
        }


def augmentation_matrix(draw, height, width):
    """The 3x3 map (crop pixels -> augmented pixels) of one draw, flip included."""
    centre_x, centre_y = (width - 1) / 2.0, (height - 1) / 2.0
    flip_sign = tf.where(draw["flip"], -1.0, 1.0)
    flip = tf.stack(
        [
            tf.stack([flip_sign, 0.0, tf.where(draw["flip"], width - 1.0, 0.0)]),
            tf.constant([0.0, 1.0, 0.0]),
            tf.constant([0.0, 0.0, 1.0]),
        ]
    )
    radians = draw["angle"] * (3.141592653589793 / 180.0)
    cos, sin = draw["scale"] * tf.cos(radians), draw["scale"] * tf.sin(radians)
    # p' = scale * rotation * (p - centre) + centre + shift
    tx = centre_x - (cos * centre_x - sin * centre_y) + draw["shift"][0]
    ty = centre_y - (sin * centre_x + cos * centre_y) + draw["shift"][1]
    similarity = tf.stack(
        [
            tf.stack([cos, -sin, tx]),
            tf.stack([sin, cos, ty]),
            tf.constant([0.0, 0.0, 1.0]),
        ]
    )
    return similarity @ flip
