"""`PoseCycleTrainer`: pose transfer there and back, the regeneration loop as a training signal."""

import keras
import tensorflow as tf

from posegan_zoo.errors import InvalidConfigError
from posegan_zoo.losses import L1Loss
from posegan_zoo.models.posewarp.trainer import PoseWarpTrainer

# Keys `pair_dataset(..., reverse_inputs=True)` adds for the way back.
REVERSE_KEYS = ("target_mask_prior", "reverse_transforms")


@keras.saving.register_keras_serializable(package="posegan_zoo")
class PoseCycleTrainer(PoseWarpTrainer):
    """Trains a generator on the way to the target pose and on the way back.

    For a pair of the same person (A in pose a, B in pose b): `fake_B = G(A, a -> b)` and
    `rec_A = G(fake_B, b -> a)`. The generator minimizes
    `reconstruction(fake_B, B) + cycle_weight * L1(rec_A, A)` (+ the adversarial term of
    `PoseWarpTrainer` against the discriminator's verdict on `fake_B`, any of "bce",
    "lsgan", "wgan-gp"). The data must come from `pair_dataset(..., reverse_inputs=True)`,
    which adds the mask prior of pose b and the b -> a limb transforms. Works with
    `PoseWarpGenerator` and `UNetBaseline`.

    The other arguments (generator, discriminator, adversarial loss and weights) are those
    of `PoseWarpTrainer`.

    Args:
        cycle_weight: weight of the L1 distance between `rec_A` and A.

    Example:

    >>> from posegan_zoo.models import PoseCycleTrainer, PoseWarpGenerator
    >>> trainer = PoseCycleTrainer(PoseWarpGenerator.tiny(64), cycle_weight=5.0)
    >>> trainer.compile(reconstruction_loss="l1")
    >>> trainer.generator_term_names()
    ('reconstruction', 'cycle')
    """

    def __init__(self, generator, discriminator=None, cycle_weight=10.0, **kwargs):
        if float(cycle_weight) < 0:
            raise InvalidConfigError(f"`cycle_weight` must be >= 0, got {cycle_weight}.")
        self.cycle_weight = float(cycle_weight)
        self._cycle_loss = L1Loss()
        super().__init__(generator, discriminator, **kwargs)

    def generator_term_names(self):
        return (*super().generator_term_names(), "cycle")

    @staticmethod
    def reverse_inputs(inputs, fake, fake_mask=None):
        """The generator's inputs for the way back: `fake` in pose b, towards pose a.

        `fake_mask`, the fake's person mask from the way there, becomes the way back's
        "source_mask" (for generators that read one, like `WarpOnlyGenerator`)."""
        missing = [key for key in REVERSE_KEYS if key not in inputs]
        if missing:
            raise InvalidConfigError(
                f"PoseCycleTrainer needs {missing} in its inputs: build the dataset with "
                "`pair_dataset(..., reverse_inputs=True)`."
            )
        back = {
            "source_image": fake,
            "source_pose": inputs["target_pose"],
            "target_pose": inputs["source_pose"],
            "mask_prior": inputs["target_mask_prior"],
            "transforms": inputs["reverse_transforms"],
        }
        if fake_mask is not None:
            back["source_mask"] = fake_mask
        return back

    def regenerate(self, inputs, training=False):
        """`(fake_B, rec_A)` for a batch of inputs."""
        fake, fake_mask = self.generate(inputs, training=training)
        recovered = self.generator(self.reverse_inputs(inputs, fake, fake_mask), training=training)
        return fake, tf.cast(recovered, "float32")

    def generator_terms(self, inputs, target, fake, fake_mask=None):
        terms = super().generator_terms(inputs, target, fake, fake_mask)
        recovered = tf.cast(
            self.generator(self.reverse_inputs(inputs, fake, fake_mask), training=True), "float32"
        )
        source = tf.cast(inputs["source_image"], "float32")
        terms["cycle"] = (self._cycle_loss(source, recovered), self.cycle_weight)
        return terms

    def get_config(self):
        return {**super().get_config(), "cycle_weight": self.cycle_weight}
