"""`CycleGANTrainer`: unpaired image-to-image translation (Zhu et al., ICCV 2017)."""

import keras
import tensorflow as tf

from posegan_zoo import losses as loss_lib
from posegan_zoo.errors import InvalidConfigError
from posegan_zoo.models.cyclegan.pool import ImageHistoryPool


def _replicas():
    return tf.distribute.get_strategy().num_replicas_in_sync


def _l1(x, y):
    """Mean absolute error over the global batch (see `posegan_zoo.losses`)."""
    return loss_lib.L1Loss()(x, y)


def _non_negative(value, name):
    value = float(value)
    if not value >= 0:
        raise InvalidConfigError(f"`{name}` must be >= 0, got {value!r}.")
    return value


def _paper_adam():
    return keras.optimizers.Adam(2e-4, beta_1=0.5)


@keras.saving.register_keras_serializable(package="posegan_zoo")
class CycleGANTrainer(keras.Model):
    """Trains two generators and two discriminators on unpaired images of domains A and B.

    `generator_ab` maps A to B and `generator_ba` B to A; `discriminator_a` tells real A
    images from `generator_ba`'s, `discriminator_b` real B from `generator_ab`'s. One
    `train_step` on a batch `(a, b)`:

    1. Generators (one optimizer for both): minimize
       `adversarial_weight * (mse(D_B(G_AB(a)), 1) + mse(D_A(G_BA(b)), 1))`
       `+ cycle_weight * (|G_BA(G_AB(a)) - a| + |G_AB(G_BA(b)) - b|)`
       `+ identity_weight * cycle_weight * (|G_BA(a) - a| + |G_AB(b) - b|)`,
       each term a mean over pixels and batch. The least-squares adversarial term is
       `posegan_zoo.losses`' "lsgan" generator loss times 2 (that loss is `0.5 (D - 1)^2`;
       the paper's is `(D - 1)^2`, against a cycle weight of 10).
    2. Discriminators (one optimizer for both): the "lsgan" discriminator loss
       `0.5 (mse(D(real), 1) + mse(D(fake), 0))` (the paper halves it too), where the fakes
       come from the generators of step 1 (before their update) through an
       `ImageHistoryPool` of `pool_size` images per domain.

    Defaults are the paper's: cycle weight 10, identity weight 0.5 relative to the cycle
    weight (the paper's "0.5 lambda"; the authors' code multiplies `lambda_identity=0.5`
    by the cycle weight), so the identity terms weigh 5; pools of 50; Adam(2e-4,
    beta_1=0.5) for both optimizers (pass `LinearDecaySchedule` learning rates for the
    paper's decay). With `identity_weight=0` the identity forward passes are skipped.

    Use `fit` on a dataset of `(a_batch, b_batch)` (e.g. `unpaired_image_dataset`).
    Metrics: "generator" (the total above), "adversarial_ab", "adversarial_ba", "cycle_a",
    "cycle_b" (plain L1, unweighted), "identity_a", "identity_b" (plain L1) and
    "discriminator_a", "discriminator_b". Losses follow the package's convention (divided
    by the number of replicas; the metrics multiply back). `save()` keeps the four models,
    both optimizers' states and the pools; a loaded trainer resumes. Under
    mixed_float16 both optimizers are wrapped in `LossScaleOptimizer`.

    Args:
        generator_ab, generator_ba: e.g. `ResnetGenerator`s (images in [-1, 1]).
        discriminator_a, discriminator_b: e.g. `PatchDiscriminator`s.
        cycle_weight: lambda of the cycle-consistency terms.
        identity_weight: of the identity terms, as a fraction of `cycle_weight`.
        adversarial_weight: of the adversarial terms (1 in the paper).
        pool_size: images per history pool; 0 feeds the discriminators the newest fakes.
        pool_seed: seed of the pools' random draws.

    Example:

    >>> from posegan_zoo.models.cyclegan import (
    ...     CycleGANTrainer, PatchDiscriminator, ResnetGenerator)
    >>> trainer = CycleGANTrainer(
    ...     ResnetGenerator(32, num_blocks=2, base_width=8, name="g_ab"),
    ...     ResnetGenerator(32, num_blocks=2, base_width=8, name="g_ba"),
    ...     PatchDiscriminator(32, base_width=8, name="d_a"),
    ...     PatchDiscriminator(32, base_width=8, name="d_b"))
    >>> trainer.compile()
    >>> float(trainer.generator_optimizer.beta_1), trainer.identity_weight
    (0.5, 0.5)
    """

    def __init__(
        self,
        generator_ab,
        generator_ba,
        discriminator_a,
        discriminator_b,
        cycle_weight=10.0,
        identity_weight=0.5,
        adversarial_weight=1.0,
        pool_size=50,
        pool_seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        models = {
            "generator_ab": generator_ab,
            "generator_ba": generator_ba,
            "discriminator_a": discriminator_a,
            "discriminator_b": discriminator_b,
        }
        for argument, model in models.items():
            if not isinstance(model, keras.Model):
                raise InvalidConfigError(
                    f"`{argument}` must be a keras.Model, got {type(model).__name__}."
                )
        names = [model.name for model in models.values()]
        if len(set(names)) != len(names):
            raise InvalidConfigError(
                f"the four models need distinct names (their weights are saved by name), got "
                f"{dict(zip(models, names, strict=True))}; pass name=... to their constructors."
            )
        if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 0:
            raise InvalidConfigError(f"`pool_size` must be an int >= 0, got {pool_size!r}.")
        self.generator_ab = generator_ab
        self.generator_ba = generator_ba
        self.discriminator_a = discriminator_a
        self.discriminator_b = discriminator_b
        self.cycle_weight = _non_negative(cycle_weight, "cycle_weight")
        self.identity_weight = _non_negative(identity_weight, "identity_weight")
        self.adversarial_weight = _non_negative(adversarial_weight, "adversarial_weight")
        self.pool_size = pool_size
        self.pool_seed = pool_seed
        self._discriminator_loss, self._generator_loss = loss_lib.adversarial_losses("lsgan")
        # Pool b holds fakes of domain b (from generator_ab), for discriminator_b.
        seeds = (None, None) if pool_seed is None else (pool_seed, pool_seed + 1)
        self.pool_a = ImageHistoryPool(pool_size, seed=seeds[0], name="pool_a")
        self.pool_b = ImageHistoryPool(pool_size, seed=seeds[1], name="pool_b")
        self.pool_a.build((None, *generator_ba.output_shape[1:]))
        self.pool_b.build((None, *generator_ab.output_shape[1:]))
        self.generator_tracker = keras.metrics.Mean(name="generator")
        self.trackers = {
            name: keras.metrics.Mean(name=name)
            for name in (
                "adversarial_ab",
                "adversarial_ba",
                "cycle_a",
                "cycle_b",
                "identity_a",
                "identity_b",
                "discriminator_a",
                "discriminator_b",
            )
        }
        # The sub-models are built on construction.
        self.built = True

    @property
    def step_counter(self):
        """Generator updates so far (saved with the trainer)."""
        return self.generator_optimizer.iterations

    @property
    def generator_variables(self):
        return self.generator_ab.trainable_variables + self.generator_ba.trainable_variables

    @property
    def discriminator_variables(self):
        return self.discriminator_a.trainable_variables + self.discriminator_b.trainable_variables

    def compile(self, generator_optimizer=None, discriminator_optimizer=None, **kwargs):
        """Sets the two optimizers (default: the paper's Adam(2e-4, beta_1=0.5) each)."""
        generator_optimizer = generator_optimizer or _paper_adam()
        discriminator_optimizer = discriminator_optimizer or _paper_adam()
        if generator_optimizer is discriminator_optimizer:
            raise InvalidConfigError(
                "`generator_optimizer` and `discriminator_optimizer` must be two optimizer "
                "objects (each keeps its own slots and step counter)."
            )
        if keras.config.dtype_policy().name == "mixed_float16":
            if not isinstance(generator_optimizer, keras.optimizers.LossScaleOptimizer):
                generator_optimizer = keras.optimizers.LossScaleOptimizer(generator_optimizer)
            if not isinstance(discriminator_optimizer, keras.optimizers.LossScaleOptimizer):
                discriminator_optimizer = keras.optimizers.LossScaleOptimizer(
                    discriminator_optimizer
                )
        super().compile(optimizer=generator_optimizer, **kwargs)
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        # Create the optimizers' slots now: outside the traced train step (a variable
        # created while tracing makes tf.function trace twice), and before a saved
        # trainer's optimizer states are loaded into them.
        for optimizer, variables in (
            (generator_optimizer, self.generator_variables),
            (discriminator_optimizer, self.discriminator_variables),
        ):
            if not optimizer.built:
                optimizer.build(variables)

    @property
    def metrics(self):
        names = ["adversarial_ab", "adversarial_ba", "cycle_a", "cycle_b"]
        if self.identity_weight > 0:
            names += ["identity_a", "identity_b"]
        names += ["discriminator_a", "discriminator_b"]
        return [self.generator_tracker] + [self.trackers[name] for name in names]

    def call(self, images, training=False):
        """Translates domain A images to domain B (`generator_ba` goes the other way)."""
        return self.generator_ab(images, training=training)

    def _generator_losses(self, a, b, training):
        fake_b = tf.cast(self.generator_ab(a, training=training), "float32")
        fake_a = tf.cast(self.generator_ba(b, training=training), "float32")
        cycled_a = tf.cast(self.generator_ba(fake_b, training=training), "float32")
        cycled_b = tf.cast(self.generator_ab(fake_a, training=training), "float32")
        terms = {
            # 2 x the package's 0.5 (D - 1)^2: the paper's (D - 1)^2.
            "adversarial_ab": 2.0 * self._generator_loss(self.discriminator_b(fake_b)),
            "adversarial_ba": 2.0 * self._generator_loss(self.discriminator_a(fake_a)),
            "cycle_a": _l1(a, cycled_a),
            "cycle_b": _l1(b, cycled_b),
        }
        total = self.adversarial_weight * (terms["adversarial_ab"] + terms["adversarial_ba"])
        total = total + self.cycle_weight * (terms["cycle_a"] + terms["cycle_b"])
        if self.identity_weight > 0:
            same_a = tf.cast(self.generator_ba(a, training=training), "float32")
            same_b = tf.cast(self.generator_ab(b, training=training), "float32")
            terms["identity_a"] = _l1(a, same_a)
            terms["identity_b"] = _l1(b, same_b)
            weight = self.identity_weight * self.cycle_weight
            total = total + weight * (terms["identity_a"] + terms["identity_b"])
        return total, terms, fake_a, fake_b

    def _discriminator_losses(self, a, b, fake_a, fake_b):
        return {
            "discriminator_a": self._discriminator_loss(
                self.discriminator_a(a, training=True), self.discriminator_a(fake_a, training=True)
            ),
            "discriminator_b": self._discriminator_loss(
                self.discriminator_b(b, training=True), self.discriminator_b(fake_b, training=True)
            ),
        }

    def _record(self, total, terms):
        # Each loss is a replica's share of the global mean: multiply back for the metrics.
        replicas = _replicas()
        self.generator_tracker.update_state(total * replicas)
        for name, value in terms.items():
            self.trackers[name].update_state(value * replicas)
        return {metric.name: metric.result() for metric in self.metrics}

    def train_step(self, data):
        a, b, _ = keras.utils.unpack_x_y_sample_weight(data)
        a, b = tf.cast(a, "float32"), tf.cast(b, "float32")
        if self.pool_size and _replicas() > 1:
            raise InvalidConfigError(
                "CycleGANTrainer's image pools keep one store per process and cannot run "
                f"on {_replicas()} replicas; construct the trainer with `pool_size=0`."
            )
        with tf.GradientTape() as tape:
            total, terms, fake_a, fake_b = self._generator_losses(a, b, training=True)
            scaled = self.generator_optimizer.scale_loss(total)
        variables = self.generator_variables
        grads = tape.gradient(scaled, variables)
        self.generator_optimizer.apply_gradients(zip(grads, variables, strict=True))

        fake_a = self.pool_a(tf.stop_gradient(fake_a))
        fake_b = self.pool_b(tf.stop_gradient(fake_b))
        with tf.GradientTape() as tape:
            discriminator_terms = self._discriminator_losses(a, b, fake_a, fake_b)
            loss = discriminator_terms["discriminator_a"] + discriminator_terms["discriminator_b"]
            scaled = self.discriminator_optimizer.scale_loss(loss)
        variables = self.discriminator_variables
        grads = tape.gradient(scaled, variables)
        self.discriminator_optimizer.apply_gradients(zip(grads, variables, strict=True))
        return self._record(total, {**terms, **discriminator_terms})

    def test_step(self, data):
        # The same losses without updates; the discriminators see the newest fakes.
        a, b, _ = keras.utils.unpack_x_y_sample_weight(data)
        a, b = tf.cast(a, "float32"), tf.cast(b, "float32")
        total, terms, fake_a, fake_b = self._generator_losses(a, b, training=False)
        return self._record(total, {**terms, **self._discriminator_losses(a, b, fake_a, fake_b)})

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            **{
                key: keras.saving.serialize_keras_object(getattr(self, key))
                for key in ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b")
            },
            "cycle_weight": self.cycle_weight,
            "identity_weight": self.identity_weight,
            "adversarial_weight": self.adversarial_weight,
            "pool_size": self.pool_size,
            "pool_seed": self.pool_seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)

    def get_compile_config(self):
        return {
            "generator_optimizer": keras.saving.serialize_keras_object(self.generator_optimizer),
            "discriminator_optimizer": keras.saving.serialize_keras_object(
                self.discriminator_optimizer
            ),
        }

    def compile_from_config(self, config):
        self.compile(
            **{key: keras.saving.deserialize_keras_object(value) for key, value in config.items()}
        )
