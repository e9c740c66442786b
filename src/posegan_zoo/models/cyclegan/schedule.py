"""CycleGAN's learning-rate schedule: constant, then linear decay to zero."""

import keras
from keras import ops

from posegan_zoo.errors import InvalidConfigError


@keras.saving.register_keras_serializable(package="posegan_zoo")
class LinearDecaySchedule(keras.optimizers.schedules.LearningRateSchedule):
    """`initial_learning_rate` for `constant_steps` steps, then linearly down to zero.

    `lr(step) = initial_learning_rate * (1 - clip((step - constant_steps) / decay_steps, 0, 1))`:
    the rate is still the initial one at `step = constant_steps`, half of it at
    `constant_steps + decay_steps / 2`, and zero from `constant_steps + decay_steps` on.
    The paper: 2e-4 for 100 epochs, then linear decay to zero over the next 100 epochs
    (`from_epochs(2e-4, 100, 100, steps_per_epoch)`). The authors' code lowers the rate
    once per epoch; this schedule lowers it every step, along the same line.

    Args:
        initial_learning_rate: a positive float.
        constant_steps: an int >= 0.
        decay_steps: an int >= 1.

    Example:

    >>> from posegan_zoo.models.cyclegan import LinearDecaySchedule
    >>> schedule = LinearDecaySchedule(2e-4, constant_steps=100, decay_steps=100)
    >>> [round(float(schedule(step)) / 2e-4, 3) for step in (0, 100, 150, 200, 300)]
    [1.0, 1.0, 0.5, 0.0, 0.0]
    """

    def __init__(self, initial_learning_rate=2e-4, constant_steps=0, decay_steps=1, name=None):
        if not float(initial_learning_rate) > 0:
            raise InvalidConfigError(
                f"`initial_learning_rate` must be positive, got {initial_learning_rate!r}."
            )
        for value, argument, smallest in (
            (constant_steps, "constant_steps", 0),
            (decay_steps, "decay_steps", 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < smallest:
                raise InvalidConfigError(
                    f"`{argument}` must be an int >= {smallest}, got {value!r}."
                )
        self.initial_learning_rate = float(initial_learning_rate)
        self.constant_steps = constant_steps
        self.decay_steps = decay_steps
        self.name = name

    @classmethod
    def from_epochs(cls, initial_learning_rate, constant_epochs, decay_epochs, steps_per_epoch):
        """The schedule counted in epochs of `steps_per_epoch` optimizer steps."""
        return cls(
            initial_learning_rate,
            constant_steps=int(constant_epochs * steps_per_epoch),
            decay_steps=max(int(decay_epochs * steps_per_epoch), 1),
        )

    def __call__(self, step):
        step = ops.cast(step, "float32")
        progress = ops.clip((step - self.constant_steps) / float(self.decay_steps), 0.0, 1.0)
        return self.initial_learning_rate * (1.0 - progress)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "constant_steps": self.constant_steps,
            "decay_steps": self.decay_steps,
            "name": self.name,
        }
