"""`PoseWarpTrainer`: the paper's two-stage training of a pose-transfer generator."""

import keras
import tensorflow as tf

from posegan_zoo import losses as loss_lib
from posegan_zoo.errors import InvalidConfigError
from posegan_zoo.models.posewarp.warp_only import reads_person_mask

ADVERSARIAL_LOSSES = ("bce", "lsgan", "wgan-gp")
_POSE_KEYS = ("source_pose", "target_pose")


def _replicas():
    return tf.distribute.get_strategy().num_replicas_in_sync


def resolve_reconstruction_loss(spec):
    """A loss object from a name ("perceptual", "l1", "ssim") or a loss object itself."""
    if not isinstance(spec, str):
        return spec
    if spec == "l1":
        return loss_lib.L1Loss()
    if spec == "ssim":
        return loss_lib.SSIMLoss()
    if spec == "perceptual":
        return loss_lib.PerceptualLoss()
    raise InvalidConfigError(
        f"`reconstruction_loss` must be 'perceptual', 'l1', 'ssim' or a loss object, got {spec!r}."
    )


@keras.saving.register_keras_serializable(package="posegan_zoo")
class PoseWarpTrainer(keras.Model):
    """Trains a pose-transfer generator, alone (stage 1) or against a discriminator (stage 2).

    Stage 1 (no `discriminator`, or `adversarial_weight=0`): the generator minimizes the
    reconstruction loss between its output and the real target. Stage 2: a
    `PoseDiscriminator` learns to tell real targets from generated ones (given both poses),
    and the generator minimizes reconstruction + `adversarial_weight` x adversarial loss.
    The paper: perceptual loss, Adam 1e-4, batch 4; then BCE with weight 0.1.

    The generator is anything called as `generator(inputs)` on the dict of
    `posegan_zoo.data.pair_dataset` (`PoseWarpGenerator`, `UNetBaseline`). Use `fit` on
    `(inputs, target_image)` batches; Keras callbacks and progress bars work as usual.
    Losses are averaged over the global batch, so `tf.distribute` strategies give the same
    updates as one device. `save()` keeps both optimizers' states; a loaded trainer resumes.

    Args:
        generator: the generator model.
        discriminator: a `PoseDiscriminator`, or None for stage 1.
        adversarial: "bce" (the paper), "lsgan" or "wgan-gp".
        adversarial_weight: weight of the generator's adversarial term.
        discriminator_steps: discriminator updates per generator update.
        gradient_penalty_weight: for "wgan-gp".
        l1_weight: weight of a pixel L1 term beside the reconstruction loss (0: none). A
            perceptual loss alone lets colours drift; a little L1 holds them.

    Example:

    >>> import keras
    >>> from posegan_zoo.models import PoseDiscriminator, PoseWarpGenerator, PoseWarpTrainer
    >>> trainer = PoseWarpTrainer(
    ...     PoseWarpGenerator.tiny(64),
    ...     PoseDiscriminator(64, conv_widths=[8] * 6, dense_widths=[8, 8]))
    >>> trainer.compile(reconstruction_loss="l1")
    >>> trainer.stage
    2
    """

    def __init__(
        self,
        generator,
        discriminator=None,
        adversarial="bce",
        adversarial_weight=0.1,
        discriminator_steps=1,
        gradient_penalty_weight=10.0,
        l1_weight=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if adversarial not in ADVERSARIAL_LOSSES:
            raise InvalidConfigError(
                f"`adversarial` must be one of {ADVERSARIAL_LOSSES}, got {adversarial!r}."
            )
        if not float(l1_weight) >= 0:
            raise InvalidConfigError(f"`l1_weight` must be >= 0, got {l1_weight}.")
        if int(discriminator_steps) < 1:
            raise InvalidConfigError(
                f"`discriminator_steps` must be >= 1, got {discriminator_steps}."
            )
        self.generator = generator
        self.discriminator = discriminator
        self.adversarial = adversarial
        self.adversarial_weight = float(adversarial_weight)
        self.discriminator_steps = int(discriminator_steps)
        self.gradient_penalty_weight = float(gradient_penalty_weight)
        self.l1_weight = float(l1_weight)
        self._pixel_loss = loss_lib.L1Loss()
        self._discriminator_loss, self._generator_adversarial_loss = loss_lib.adversarial_losses(
            adversarial
        )
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.l1_tracker = keras.metrics.Mean(name="l1")
        self.discriminator_tracker = keras.metrics.Mean(name="discriminator")
        self.term_trackers = {
            name: keras.metrics.Mean(name=name) for name in self.generator_term_names()
        }
        # The sub-models are built on construction.
        self.built = True

    @property
    def stage(self):
        """1 for reconstruction only, 2 with the adversarial term."""
        return 2 if self.discriminator is not None and self.adversarial_weight > 0 else 1

    @property
    def step_counter(self):
        """Generator updates so far (saved with the trainer)."""
        return self.generator_optimizer.iterations

    def compile(
        self,
        generator_optimizer=None,
        discriminator_optimizer=None,
        reconstruction_loss="perceptual",
        **kwargs,
    ):
        """Sets the optimizers (default: Adam 1e-4 each) and the reconstruction loss.

        `reconstruction_loss` is "perceptual" (the paper's; needs VGG19 weights), "l1",
        "ssim", or a serializable loss object.
        """
        generator_optimizer = generator_optimizer or keras.optimizers.Adam(1e-4)
        discriminator_optimizer = discriminator_optimizer or keras.optimizers.Adam(1e-4)
        # float16 needs loss scaling, whether the policy is global or the generator's own.
        policies = (keras.config.dtype_policy().name, self.generator.dtype_policy.name)
        mixed = "mixed_float16" in policies
        if mixed and not isinstance(generator_optimizer, keras.optimizers.LossScaleOptimizer):
            generator_optimizer = keras.optimizers.LossScaleOptimizer(generator_optimizer)
        if mixed and not isinstance(discriminator_optimizer, keras.optimizers.LossScaleOptimizer):
            discriminator_optimizer = keras.optimizers.LossScaleOptimizer(discriminator_optimizer)
        super().compile(optimizer=generator_optimizer, **kwargs)
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        self.reconstruction_loss = resolve_reconstruction_loss(reconstruction_loss)

    def generator_term_names(self):
        """Names of the terms `generator_terms` returns, in order."""
        names = ("reconstruction",)
        if self.l1_weight > 0:
            names += ("pixel_l1",)
        return (*names, "adversarial") if self.stage == 2 else names

    @property
    def metrics(self):
        trackers = [self.loss_tracker, *self.term_trackers.values(), self.l1_tracker]
        if self.stage == 2:
            trackers.append(self.discriminator_tracker)
        return trackers

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def _discriminator_inputs(self, inputs, image):
        return {"image": image, **{key: inputs[key] for key in _POSE_KEYS}}

    def _discriminator_step(self, inputs, target, fake):
        poses = {key: inputs[key] for key in _POSE_KEYS}
        with tf.GradientTape() as tape:
            real_logits = self.discriminator({"image": target, **poses}, training=True)
            fake_logits = self.discriminator({"image": fake, **poses}, training=True)
            loss = self._discriminator_loss(real_logits, fake_logits)
            if self.adversarial == "wgan-gp":
                penalty = loss_lib.gradient_penalty(
                    self.discriminator, target, fake, conditions=poses
                )
                loss = loss + self.gradient_penalty_weight * penalty
            scaled = self.discriminator_optimizer.scale_loss(loss)
        variables = self.discriminator.trainable_variables
        grads = tape.gradient(scaled, variables)
        self.discriminator_optimizer.apply_gradients(zip(grads, variables, strict=True))
        return loss

    def generate(self, inputs, training=False):
        """`(fake, fake_mask)`: the generator's image (float32) and, for generators that
        read a person mask and the inputs carry one, the fake's person mask (else None)."""
        if "source_mask" in inputs and reads_person_mask(self.generator):
            out = self.generator(inputs, training=training, return_intermediates=True)
            return tf.cast(out["image"], "float32"), out["foreground_mask"]
        return tf.cast(self.generator(inputs, training=training), "float32"), None

    def generator_terms(self, inputs, target, fake, fake_mask=None):
        """The weighted terms of the generator's loss: `{name: (value, weight)}`.

        Subclasses add terms (`PoseCycleTrainer` adds "cycle"); each gets a metric of its name.
        """
        terms = {"reconstruction": (self.reconstruction_loss(target, fake), 1.0)}
        if self.l1_weight > 0:
            terms["pixel_l1"] = (self._pixel_loss(target, fake), self.l1_weight)
        if self.stage == 2:
            poses = {key: inputs[key] for key in _POSE_KEYS}
            logits = self.discriminator({"image": fake, **poses})
            terms["adversarial"] = (
                self._generator_adversarial_loss(logits),
                self.adversarial_weight,
            )
        return terms

    def train_step(self, data):
        # The losses average over the global batch: each replica's value is already divided
        # by the number of replicas (see `posegan_zoo.losses`), so summed gradients are right;
        # the metrics get the undivided values.
        inputs, target, _ = keras.utils.unpack_x_y_sample_weight(data)
        target = tf.cast(target, "float32")
        replicas = _replicas()
        if self.stage == 2:
            fake = tf.stop_gradient(tf.cast(self.generator(inputs, training=True), "float32"))
            for _ in range(self.discriminator_steps):
                discriminator_loss = self._discriminator_step(inputs, target, fake)
            self.discriminator_tracker.update_state(discriminator_loss * replicas)
        with tf.GradientTape() as tape:
            fake, fake_mask = self.generate(inputs, training=True)
            terms = self.generator_terms(inputs, target, fake, fake_mask)
            loss = tf.add_n([value * weight for value, weight in terms.values()])
            scaled = self.generator_optimizer.scale_loss(loss)
        variables = self.generator.trainable_variables
        grads = tape.gradient(scaled, variables)
        self.generator_optimizer.apply_gradients(zip(grads, variables, strict=True))
        self.loss_tracker.update_state(loss * replicas)
        for name, (value, _) in terms.items():
            self.term_trackers[name].update_state(value * replicas)
        self.l1_tracker.update_state(tf.reduce_mean(tf.abs(target - fake)))
        return {metric.name: metric.result() for metric in self.metrics}

    def test_step(self, data):
        inputs, target, _ = keras.utils.unpack_x_y_sample_weight(data)
        target = tf.cast(target, "float32")
        fake = tf.cast(self.generator(inputs, training=False), "float32")
        reconstruction = self.reconstruction_loss(target, fake) * _replicas()
        reconstruction_tracker = self.term_trackers["reconstruction"]
        self.loss_tracker.update_state(reconstruction)
        reconstruction_tracker.update_state(reconstruction)
        self.l1_tracker.update_state(tf.reduce_mean(tf.abs(target - fake)))
        trackers = (self.loss_tracker, reconstruction_tracker, self.l1_tracker)
        return {metric.name: metric.result() for metric in trackers}

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": (
                keras.saving.serialize_keras_object(self.discriminator)
                if self.discriminator is not None
                else None
            ),
            "adversarial": self.adversarial,
            "adversarial_weight": self.adversarial_weight,
            "discriminator_steps": self.discriminator_steps,
            "gradient_penalty_weight": self.gradient_penalty_weight,
            "l1_weight": self.l1_weight,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        if config.get("discriminator") is not None:
            config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)

    def get_compile_config(self):
        return {
            "generator_optimizer": keras.saving.serialize_keras_object(self.generator_optimizer),
            "discriminator_optimizer": keras.saving.serialize_keras_object(
                self.discriminator_optimizer
            ),
            "reconstruction_loss": keras.saving.serialize_keras_object(self.reconstruction_loss),
        }

    def compile_from_config(self, config):
        self.compile(
            **{key: keras.saving.deserialize_keras_object(value) for key, value in config.items()}
        )
        # Create the optimizers' slots now, so that loading fills them instead of skipping.
        self.generator_optimizer.build(self.generator.trainable_variables)
        if self.discriminator is not None:
            self.discriminator_optimizer.build(self.discriminator.trainable_variables)
