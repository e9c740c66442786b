"""`DCGANTrainer`, and the machinery it shares with `WGANGPTrainer`.

Latent noise. The trainers draw their noise with stateless random ops keyed by the
trainer's `seed`, the optimizer step counter and the purpose of the draw (and the replica
under a `tf.distribute` strategy). The step counters are saved with the optimizers, so a
trainer saved to `.keras` and loaded again draws the same noise as the original would
have: training resumes exactly where it stopped.
"""

import random
from typing import ClassVar

import keras
import numpy as np
import tensorflow as tf

from posegan_zoo import losses as loss_lib
from posegan_zoo.errors import InvalidConfigError

#: Latent distributions: standard normal, or uniform in [-1, 1] (the DCGAN paper's).
NOISE_DISTRIBUTIONS = ("normal", "uniform")

# Purposes of the noise draws (folded into the key).
DISCRIMINATOR_NOISE, GENERATOR_NOISE = 0, 1


def replicas_in_sync():
    return tf.distribute.get_strategy().num_replicas_in_sync


def real_images(data):
    """The image batch of `data`: images, `(images,)` or `(images, anything...)`, as float32."""
    images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    return tf.cast(images, "float32")


def draw_noise(shape, seed, distribution):
    """Latent noise of `shape` from a stateless seed (a `(2,)` int tensor)."""
    if distribution == "uniform":
        return tf.random.stateless_uniform(shape, seed, minval=-1.0, maxval=1.0)
    return tf.random.stateless_normal(shape, seed)


def _wants_loss_scaling(*models):
    if keras.config.dtype_policy().name == "mixed_float16":
        return True
    return any(model.dtype_policy.compute_dtype == "float16" for model in models)


def _latent_dim_of(generator):
    shape = generator.input_shape
    if not isinstance(shape, tuple) or len(shape) != 2 or shape[-1] is None:
        raise InvalidConfigError(
            f"`generator` must take a batch of latent vectors (batch, latent_dim); its input "
            f"shape is {shape}."
        )
    return int(shape[-1])


class UnconditionalGANTrainer(keras.Model):
    """Base of the trainers of unconditional image generators (DCGAN, WGAN-GP).

    Holds the generator and its adversary (named by `ADVERSARY`: "discriminator" or
    "critic"), the two optimizers, the latent noise and the save / load logic; a subclass
    writes `train_step`, `test_step` and `metrics`. `fit` takes batches of real images in
    [-1, 1]: a dataset of images, of `(images,)` or of `(images, labels)` (labels are
    ignored). Losses average over the global batch (see `posegan_zoo.losses`); the
    metrics report the undivided values.
    """

    ADVERSARY = "discriminator"
    DEFAULT_GENERATOR_OPTIMIZER: ClassVar[dict] = {"learning_rate": 2e-4, "beta_1": 0.5}
    DEFAULT_ADVERSARY_OPTIMIZER: ClassVar[dict] = {"learning_rate": 2e-4, "beta_1": 0.5}

    def __init__(self, generator, adversary, latent_dim=None, noise="normal", seed=None, **kwargs):
        super().__init__(**kwargs)
        inferred = _latent_dim_of(generator)
        if latent_dim is None:
            latent_dim = inferred
        if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim <= 0:
            raise InvalidConfigError(f"`latent_dim` must be a positive int, got {latent_dim!r}.")
        if latent_dim != inferred:
            raise InvalidConfigError(
                f"`latent_dim`={latent_dim} does not match the generator's input "
                f"(batch, {inferred})."
            )
        image_shape = tuple(generator.output_shape[1:])
        adversary_shape = tuple(adversary.input_shape[1:])
        if image_shape != adversary_shape:
            raise InvalidConfigError(
                f"The generator makes images of shape {image_shape} but the `{self.ADVERSARY}` "
                f"takes {adversary_shape}."
            )
        if noise not in NOISE_DISTRIBUTIONS:
            raise InvalidConfigError(
                f"`noise` must be one of {list(NOISE_DISTRIBUTIONS)}, got {noise!r}."
            )
        if seed is None:
            seed = random.getrandbits(31)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InvalidConfigError(f"`seed` must be an int or None, got {seed!r}.")
        self.generator = generator
        setattr(self, self.ADVERSARY, adversary)
        self.latent_dim = latent_dim
        self.noise = noise
        self.seed = seed
        # The sub-models are built on construction.
        self.built = True

    @property
    def adversary(self):
        """The discriminator or critic."""
        return getattr(self, self.ADVERSARY)

    @property
    def adversary_optimizer(self):
        return getattr(self, f"{self.ADVERSARY}_optimizer")

    @property
    def step_counter(self):
        """Generator updates so far (saved with the trainer)."""
        return self.generator_optimizer.iterations

    def compile(self, generator_optimizer=None, adversary_optimizer=None, **kwargs):
        """Sets both optimizers (`None`: the class defaults); other arguments go to Keras.

        Under mixed precision both are wrapped in `keras.optimizers.LossScaleOptimizer`.
        Both are built here, for their own model's trainable variables.
        """
        if generator_optimizer is None:
            generator_optimizer = keras.optimizers.Adam(**self.DEFAULT_GENERATOR_OPTIMIZER)
        if adversary_optimizer is None:
            adversary_optimizer = keras.optimizers.Adam(**self.DEFAULT_ADVERSARY_OPTIMIZER)
        if _wants_loss_scaling(self.generator, self.adversary):
            if not isinstance(generator_optimizer, keras.optimizers.LossScaleOptimizer):
                generator_optimizer = keras.optimizers.LossScaleOptimizer(generator_optimizer)
            if not isinstance(adversary_optimizer, keras.optimizers.LossScaleOptimizer):
                adversary_optimizer = keras.optimizers.LossScaleOptimizer(adversary_optimizer)
        super().compile(optimizer=generator_optimizer, **kwargs)
        self.generator_optimizer = generator_optimizer
        setattr(self, f"{self.ADVERSARY}_optimizer", adversary_optimizer)
        # Build the optimizers now, each for its own model's variables: left unbuilt, Keras'
        # `fit` would build the generator's (`self.optimizer`) for every trainable variable
        # of the trainer, and the other one would be built while tracing `train_step`
        # (which makes TensorFlow trace it twice). Loading fills these slots.
        generator_optimizer.build(self.generator.trainable_variables)
        adversary_optimizer.build(self.adversary.trainable_variables)

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    # ----------------------------------------------------------------------- noise

    def noise_seed(self, counter, purpose):
        """The stateless seed of one draw: `seed`, a step counter, a purpose, the replica."""
        key = tf.constant([self.seed, 0], tf.int64)
        key = tf.random.experimental.stateless_fold_in(key, tf.cast(counter, tf.int64))
        key = tf.random.experimental.stateless_fold_in(key, purpose)
        if replicas_in_sync() > 1:
            replica = tf.distribute.get_replica_context().replica_id_in_sync_group
            key = tf.random.experimental.stateless_fold_in(key, tf.cast(replica, tf.int64))
        return key

    def sample_noise(self, batch_size, counter, purpose):
        """A `(batch_size, latent_dim)` float32 batch of latent vectors for one draw."""
        return draw_noise(
            tf.stack([batch_size, self.latent_dim]), self.noise_seed(counter, purpose), self.noise
        )

    def random_noise(self, batch_size):
        """Latent vectors from TensorFlow's global random state (evaluation, sampling)."""
        seed = tf.random.uniform((2,), 0, 2**31 - 1, tf.int64)
        return draw_noise(tf.stack([batch_size, self.latent_dim]), seed, self.noise)

    def generate(self, num_images, seed=None, batch_size=64):
        """`num_images` generated images (inference mode) as a float32 numpy array in [-1, 1].

        An int `seed` gives the same latent vectors on every call (and the same images
        while the weights stay the same); `None` draws fresh noise from TensorFlow's global
        random state.
        """
        if isinstance(num_images, bool) or not isinstance(num_images, int) or num_images < 0:
            raise InvalidConfigError(
                f"`num_images` must be a non-negative int, got {num_images!r}."
            )
        if seed is None:
            noise = self.random_noise(num_images)
        else:
            seed = tf.constant([int(seed), 1], tf.int64)
            noise = draw_noise((num_images, self.latent_dim), seed, self.noise)
        chunks = [
            keras.ops.convert_to_numpy(
                self.generator(noise[start : start + batch_size], training=False)
            ).astype(np.float32)
            for start in range(0, num_images, batch_size)
        ]
        if not chunks:
            return np.zeros((0, *self.generator.output_shape[1:]), np.float32)
        return np.concatenate(chunks)

    # ----------------------------------------------------------------------- steps

    def apply_loss(self, tape, loss, model, optimizer):
        """Gradients of `loss` (recorded on `tape`) to `model`'s variables, one update.

        The backward pass starts from `optimizer.scale_loss(1)` (the loss scale under
        mixed precision, else 1): the gradients of the scaled loss, which a
        `LossScaleOptimizer` unscales, without recording the scaling on `tape`.
        """
        variables = model.trainable_variables
        seed = optimizer.scale_loss(tf.ones_like(loss))
        grads = tape.gradient(loss, variables, output_gradients=seed)
        optimizer.apply_gradients(zip(grads, variables, strict=True))

    # ----------------------------------------------------------------------- saving

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "generator": keras.saving.serialize_keras_object(self.generator),
            self.ADVERSARY: keras.saving.serialize_keras_object(self.adversary),
            "latent_dim": self.latent_dim,
            "noise": self.noise,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("generator", cls.ADVERSARY):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)

    def get_compile_config(self):
        if not self.compiled:
            return {}
        return {
            "generator_optimizer": keras.saving.serialize_keras_object(self.generator_optimizer),
            f"{self.ADVERSARY}_optimizer": keras.saving.serialize_keras_object(
                self.adversary_optimizer
            ),
            "steps_per_execution": self.steps_per_execution,
            "jit_compile": bool(self.jit_compile),
        }

    def compile_from_config(self, config):
        config = dict(config)
        for key in ("generator_optimizer", f"{self.ADVERSARY}_optimizer"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        self.compile(**config)


@keras.saving.register_keras_serializable(package="posegan_zoo")
class DCGANTrainer(UnconditionalGANTrainer):
    """Trains a `DCGANGenerator` against a `DCGANDiscriminator` (Radford et al. 2015).

    One `train_step` per batch of real images (in [-1, 1]): draw one latent vector per
    real image; update the discriminator once on the real batch and the generated batch
    (two separate calls, so batch norm sees real and fake apart, as in the paper) with
    binary cross-entropy (`posegan_zoo.losses.bce_discriminator_loss`); then update the
    generator once with the non-saturating loss (`bce_generator_loss`) on the same
    generated batch scored by the updated discriminator. One generator forward pass
    serves both updates.

    Metrics: `d_loss`, `g_loss`, and `d_real` / `d_fake`, the mean of D(x) and D(G(z))
    (sigmoid probabilities) in the discriminator's update. `step_counter` counts
    generator updates. `save()` keeps both optimizers' states and the noise stream; a
    loaded trainer resumes. `generate(n, seed)` samples images.

    Args:
        generator: a model mapping `(batch, latent_dim)` to images (`DCGANGenerator`).
        discriminator: a model mapping those images to one logit (`DCGANDiscriminator`).
        latent_dim: the generator's latent length; None reads it from the generator.
        noise: "normal" (default) or "uniform" in [-1, 1] (the paper's).
        seed: seed of the noise stream; None picks one at random (kept in the config).

    `compile(generator_optimizer, discriminator_optimizer)`: default Adam(2e-4,
    beta_1=0.5) for each, the paper's.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models.dcgan import DCGANDiscriminator, DCGANGenerator, DCGANTrainer
    >>> trainer = DCGANTrainer(DCGANGenerator(8, 32, base_width=4),
    ...                        DCGANDiscriminator(32, base_width=4), seed=0)
    >>> trainer.compile()
    >>> real = np.random.default_rng(0).uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
    >>> history = trainer.fit(real, batch_size=4, epochs=1, verbose=0).history
    >>> sorted(history), int(trainer.step_counter.numpy())
    (['d_fake', 'd_loss', 'd_real', 'g_loss'], 2)
    >>> trainer.generate(3, seed=1).shape
    (3, 32, 32, 3)
    """

    ADVERSARY = "discriminator"

    def __init__(self, generator, discriminator, latent_dim=None, noise="normal", seed=None, **kw):
        super().__init__(generator, discriminator, latent_dim, noise, seed, **kw)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")

    def compile(self, generator_optimizer=None, discriminator_optimizer=None, **kwargs):
        """Sets the optimizers (default: Adam(2e-4, beta_1=0.5) each); see the class doc."""
        super().compile(generator_optimizer, discriminator_optimizer, **kwargs)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker, self.d_fake_tracker]

    def _discriminator_losses(self, real, fake, training):
        real_logits = self.discriminator(real, training=training)
        fake_logits = self.discriminator(fake, training=training)
        loss = loss_lib.bce_discriminator_loss(real_logits, fake_logits)
        return loss, real_logits, fake_logits

    def _track_discriminator(self, loss, real_logits, fake_logits):
        self.d_loss_tracker.update_state(loss * replicas_in_sync())
        self.d_real_tracker.update_state(tf.reduce_mean(tf.sigmoid(real_logits)))
        self.d_fake_tracker.update_state(tf.reduce_mean(tf.sigmoid(fake_logits)))

    def train_step(self, data):
        real = real_images(data)
        noise = self.sample_noise(tf.shape(real)[0], self.step_counter, GENERATOR_NOISE)
        with tf.GradientTape() as generator_tape:
            fake = tf.cast(self.generator(noise, training=True), "float32")
            with generator_tape.stop_recording():
                with tf.GradientTape() as discriminator_tape:
                    d_loss, real_logits, fake_logits = self._discriminator_losses(
                        real, tf.stop_gradient(fake), training=True
                    )
                self.apply_loss(
                    discriminator_tape, d_loss, self.discriminator, self.discriminator_optimizer
                )
            g_loss = loss_lib.bce_generator_loss(self.discriminator(fake, training=True))
        self.apply_loss(generator_tape, g_loss, self.generator, self.generator_optimizer)
        self._track_discriminator(d_loss, real_logits, fake_logits)
        self.g_loss_tracker.update_state(g_loss * replicas_in_sync())
        return {metric.name: metric.result() for metric in self.metrics}

    def test_step(self, data):
        """The losses on a batch of real images and as many generated ones, no update."""
        real = real_images(data)
        noise = self.random_noise(tf.shape(real)[0])
        fake = tf.cast(self.generator(noise, training=False), "float32")
        d_loss, real_logits, fake_logits = self._discriminator_losses(real, fake, training=False)
        self._track_discriminator(d_loss, real_logits, fake_logits)
        self.g_loss_tracker.update_state(
            loss_lib.bce_generator_loss(fake_logits) * replicas_in_sync()
        )
        return {metric.name: metric.result() for metric in self.metrics}
