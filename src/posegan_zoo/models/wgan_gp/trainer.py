"""`WGANGPTrainer`: Wasserstein GAN with gradient penalty (Gulrajani et al. 2017)."""

from typing import ClassVar

import keras
import tensorflow as tf

from posegan_zoo import losses as loss_lib
from posegan_zoo.errors import InvalidConfigError
from posegan_zoo.models.dcgan.trainer import (
    DISCRIMINATOR_NOISE,
    GENERATOR_NOISE,
    UnconditionalGANTrainer,
    real_images,
    replicas_in_sync,
)

#: The paper's Adam settings, for the generator and the critic alike.
PAPER_ADAM = {"learning_rate": 1e-4, "beta_1": 0.0, "beta_2": 0.9}


@keras.saving.register_keras_serializable(package="posegan_zoo")
class WGANGPTrainer(UnconditionalGANTrainer):
    """Trains a generator against a `WGANGPCritic` with WGAN-GP's algorithm 1.

    Each `train_step` makes `critic_steps` critic updates, then one generator update.
    Keras' `fit` hands `train_step` one batch, so the batch is split: with `m = batch //
    critic_steps`, critic step `i` gets the real images `i, i + critic_steps, i + 2
    critic_steps, ...` (m of them; the last `batch % critic_steps` images of the batch are
    left out) and m fresh latent vectors, and the generator step draws m latent vectors
    again. Feed batches of `critic_steps x m` images for the paper's batch size `m` (64
    in the paper: batches of 320 with the default 5 critic steps). Why split rather than
    reuse one batch five times with fresh noise: algorithm 1 draws a new real minibatch
    for every critic update, and a critic trained five times on the same real images
    starts to fit those images instead of the distribution; split, every real image is
    used once per epoch, as in the paper, and a step costs what the paper's costs.
    Batches must hold at least `critic_steps` images.

    The critic minimizes `D(G(z)) - D(x) + gradient_penalty_weight x GP`, where GP is
    `posegan_zoo.losses.gradient_penalty` at `x + alpha (G(z) - x)` with `alpha` uniform
    in [0, 1) per sample; the generator minimizes `-D(G(z))`. Metrics, averaged over the
    critic steps: `critic_loss` (penalty included), `wasserstein` (the estimate
    `D(x) - D(G(z))`), `gradient_penalty` (unweighted); and `g_loss`.

    Args:
        generator: a model mapping `(batch, latent_dim)` to images (`DCGANGenerator`).
        critic: a model mapping images to one score each, with no batch normalization
            (`WGANGPCritic`).
        latent_dim: the generator's latent length; None reads it from the generator.
        critic_steps: critic updates per generator update (5 in the paper).
        gradient_penalty_weight: lambda (10 in the paper).
        noise: "normal" (default, the paper's) or "uniform" in [-1, 1].
        seed: seed of the latent noise stream; None picks one (kept in the config). The
            interpolation factors come from TensorFlow's global random state.

    `compile(generator_optimizer, critic_optimizer)`: default Adam(1e-4, beta_1=0,
    beta_2=0.9) for each, the paper's.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models.dcgan import DCGANGenerator
    >>> from posegan_zoo.models.wgan_gp import WGANGPCritic, WGANGPTrainer
    >>> trainer = WGANGPTrainer(DCGANGenerator(8, 32, base_width=4),
    ...                         WGANGPCritic(32, base_width=4), critic_steps=2, seed=0)
    >>> trainer.compile()
    >>> real = np.random.default_rng(0).uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
    >>> history = trainer.fit(real, batch_size=4, epochs=1, verbose=0).history
    >>> sorted(history)
    ['critic_loss', 'g_loss', 'gradient_penalty', 'wasserstein']
    >>> int(trainer.step_counter.numpy()), int(trainer.critic_optimizer.iterations.numpy())
    (2, 4)
    """

    ADVERSARY = "critic"
    DEFAULT_GENERATOR_OPTIMIZER: ClassVar[dict] = PAPER_ADAM
    DEFAULT_ADVERSARY_OPTIMIZER: ClassVar[dict] = PAPER_ADAM

    def __init__(
        self,
        generator,
        critic,
        latent_dim=None,
        critic_steps=5,
        gradient_penalty_weight=10.0,
        noise="normal",
        seed=None,
        **kwargs,
    ):
        super().__init__(generator, critic, latent_dim, noise, seed, **kwargs)
        if isinstance(critic_steps, bool) or not isinstance(critic_steps, int) or critic_steps < 1:
            raise InvalidConfigError(f"`critic_steps` must be an int >= 1, got {critic_steps!r}.")
        try:
            gradient_penalty_weight = float(gradient_penalty_weight)
        except (TypeError, ValueError):
            gradient_penalty_weight = -1.0
        if not gradient_penalty_weight >= 0:
            raise InvalidConfigError(
                f"`gradient_penalty_weight` must be a number >= 0, got {gradient_penalty_weight!r}."
            )
        self.critic_steps = critic_steps
        self.gradient_penalty_weight = gradient_penalty_weight
        self.critic_loss_tracker = keras.metrics.Mean(name="critic_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.wasserstein_tracker = keras.metrics.Mean(name="wasserstein")
        self.penalty_tracker = keras.metrics.Mean(name="gradient_penalty")

    def compile(self, generator_optimizer=None, critic_optimizer=None, **kwargs):
        """Sets the optimizers (default: Adam(1e-4, 0, 0.9) each); see the class doc."""
        super().compile(generator_optimizer, critic_optimizer, **kwargs)

    @property
    def metrics(self):
        return [
            self.critic_loss_tracker,
            self.g_loss_tracker,
            self.wasserstein_tracker,
            self.penalty_tracker,
        ]

    def _critic_losses(self, real, fake, training):
        """`(total, wasserstein loss, penalty)`; one critic call scores reals and fakes."""
        scores = self.critic(tf.concat([real, fake], axis=0), training=training)
        count = tf.shape(real)[0]
        loss = loss_lib.wgan_critic_loss(scores[:count], scores[count:])
        penalty = loss_lib.gradient_penalty(self.critic, real, fake, training=training)
        return loss + self.gradient_penalty_weight * penalty, loss, penalty

    def _track_critic(self, total, loss, penalty):
        replicas = replicas_in_sync()
        self.critic_loss_tracker.update_state(total * replicas)
        self.wasserstein_tracker.update_state(-loss * replicas)
        self.penalty_tracker.update_state(penalty * replicas)

    def _check_batch(self, real):
        batch = real.shape[0]
        if batch is not None and batch < self.critic_steps:
            raise InvalidConfigError(
                f"WGANGPTrainer splits each batch across its `critic_steps`={self.critic_steps} "
                f"critic updates; a batch of {batch} images is too small."
            )

    def _critic_step(self, real):
        noise = self.sample_noise(
            tf.shape(real)[0], self.critic_optimizer.iterations, DISCRIMINATOR_NOISE
        )
        fake = tf.cast(self.generator(noise, training=True), "float32")
        with tf.GradientTape() as tape:
            total, loss, penalty = self._critic_losses(real, fake, training=True)
        self.apply_loss(tape, total, self.critic, self.critic_optimizer)
        self._track_critic(total, loss, penalty)

    def train_step(self, data):
        real = real_images(data)
        self._check_batch(real)
        steps = self.critic_steps
        # Critic step i gets images i, i + steps, i + 2 steps, ... of the batch: the batch
        # reshaped to (m, steps, ...), column i. Static shapes, so XLA compiles it.
        per_step = tf.shape(real)[0] // steps
        columns = tf.reshape(
            real[: per_step * steps], tf.concat([[per_step, steps], tf.shape(real)[1:]], 0)
        )

        if tf.distribute.has_strategy():
            # Optimizer updates synchronize the replicas, which a graph loop cannot hold.
            for step in range(steps):
                self._critic_step(columns[:, step])
        else:
            # A graph loop: the critic step is traced once, not `critic_steps` times
            # (tracing dominates short runs). Keras traces `train_step` without autograph.
            def critic_step(step):
                self._critic_step(tf.gather(columns, step, axis=1))
                return (step + 1,)

            tf.while_loop(lambda step: step < steps, critic_step, (tf.constant(0),))
        noise = self.sample_noise(per_step, self.step_counter, GENERATOR_NOISE)
        with tf.GradientTape() as tape:
            fake = tf.cast(self.generator(noise, training=True), "float32")
            g_loss = loss_lib.wgan_generator_loss(self.critic(fake, training=True))
        self.apply_loss(tape, g_loss, self.generator, self.generator_optimizer)
        self.g_loss_tracker.update_state(g_loss * replicas_in_sync())
        return {metric.name: metric.result() for metric in self.metrics}

    def test_step(self, data):
        """The losses on a batch of real images and as many generated ones, no update."""
        real = real_images(data)
        noise = self.random_noise(tf.shape(real)[0])
        fake = tf.cast(self.generator(noise, training=False), "float32")
        total, loss, penalty = self._critic_losses(real, fake, training=False)
        self._track_critic(total, loss, penalty)
        g_loss = loss_lib.wgan_generator_loss(self.critic(fake, training=False))
        self.g_loss_tracker.update_state(g_loss * replicas_in_sync())
        return {metric.name: metric.result() for metric in self.metrics}

    def get_config(self):
        return {
            **super().get_config(),
            "critic_steps": self.critic_steps,
            "gradient_penalty_weight": self.gradient_penalty_weight,
        }
