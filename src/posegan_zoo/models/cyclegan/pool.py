"""The history of generated images that CycleGAN's discriminators learn from."""

import random

import keras
import tensorflow as tf

from posegan_zoo.errors import InvalidConfigError


@keras.saving.register_keras_serializable(package="posegan_zoo")
class ImageHistoryPool(keras.layers.Layer):
    """Keeps up to `size` generated images and mixes old ones into the discriminator's input.

    Shrivastava et al.'s buffer, as CycleGAN uses it (size 50). Calling the pool with a
    batch of new images returns a batch of the same shape; the images are handled one
    after the other, in batch order, exactly as if they came in batches of one:

    - while the pool holds fewer than `size` images, the new image is stored and returned;
    - once it is full, with probability `probability` (0.5) a uniformly chosen stored image
      is returned and the new one takes its place; otherwise the new image is returned and
      the pool is left unchanged.

    So a later image of a batch can get back an earlier image of the same batch. With
    `size=0` the pool returns its input unchanged and keeps nothing.

    The state (stored images, their count, the random state) lives in
    non-trainable variables, so the pool works eagerly and inside `tf.function` (a
    `tf.while_loop` over the batch, one-image reads and writes of the store), and is saved
    with the model that owns it. The store is float32, of shape `(size, H, W, C)` fixed at
    the first call (or `build`). It is one store per process: under a `tf.distribute`
    strategy with several replicas the variables would be mirrored, so `CycleGANTrainer`
    refuses a pool there.

    Args:
        size: the number of images kept; 0 disables the pool.
        probability: the chance, once full, of returning a stored image.
        seed: int in [0, 2**31), or None for one drawn with Python's `random` (so
            `keras.utils.set_random_seed` fixes it).

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models.cyclegan import ImageHistoryPool
    >>> pool = ImageHistoryPool(size=2, seed=0)
    >>> images = np.arange(3, dtype="float32").reshape(3, 1, 1, 1)
    >>> np.asarray(pool(images[:2])).ravel().tolist()  # filling: returned as they come
    [0.0, 1.0]
    >>> int(pool.count.numpy()), sorted(pool.images.numpy().ravel().tolist())
    (2, [0.0, 1.0])
    >>> float(np.asarray(pool(images[2:])).ravel()[0]) in (0.0, 1.0, 2.0)
    True
    """

    def __init__(self, size=50, probability=0.5, seed=None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise InvalidConfigError(f"`size` must be an int >= 0, got {size!r}.")
        if not 0.0 <= float(probability) <= 1.0:
            raise InvalidConfigError(f"`probability` must be in [0, 1], got {probability!r}.")
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 1 << 31
        ):
            raise InvalidConfigError(f"`seed` must be None or an int in [0, 2**31), got {seed!r}.")
        self.size = size
        self.probability = float(probability)
        self.seed = seed
        # The random state is a variable of the layer, so that it is saved with the store.
        self._initial_seed = random.randrange(1 << 31) if seed is None else int(seed)

    def build(self, input_shape):
        shape = tuple(input_shape[1:])
        if any(dim is None for dim in shape):
            raise InvalidConfigError(
                f"ImageHistoryPool needs images of a known shape, got {tuple(input_shape)}."
            )
        if self.size == 0:
            self.images = self.count = self.random_state = None
            return
        self.images = self.add_weight(
            shape=(self.size, *shape),
            initializer="zeros",
            dtype="float32",
            trainable=False,
            name="images",
        )
        self.count = self.add_weight(
            shape=(), initializer="zeros", dtype="int32", trainable=False, name="count"
        )
        # (seed, number of batches drawn so far): the key of stateless random draws.
        self.random_state = self.add_weight(
            shape=(2,),
            initializer=keras.initializers.Constant([self._initial_seed, 0]),
            dtype="int32",
            trainable=False,
            name="random_state",
        )

    def call(self, images):
        images = tf.cast(images, "float32")
        if self.size == 0:
            return images
        batch = tf.shape(images)[0]
        key = self.random_state.value.read_value()
        with tf.control_dependencies([key]):
            advance = self.random_state.value.assign_add([0, 1])
        seeds = tf.random.experimental.stateless_split(key, 2)
        draws = tf.random.stateless_uniform((batch,), seeds[0])
        slots = tf.random.stateless_uniform((batch,), seeds[1], 0, self.size, dtype="int32")
        store, count = self.images.value, self.count.value

        def body(i, outputs):
            image = images[i]
            filled = count.read_value()
            full = filled >= self.size
            swap = tf.logical_and(full, draws[i] < self.probability)
            slot = tf.where(full, tf.cast(slots[i], "int32"), filled)
            stored = store.sparse_read(slot)
            outputs = outputs.write(i, tf.where(swap, stored, image))
            # Write when filling or swapping; otherwise write back what was there.
            kept = tf.where(tf.logical_or(swap, tf.logical_not(full)), image, stored)
            with tf.control_dependencies([stored]):
                write = store.scatter_update(tf.IndexedSlices(kept[None], slot[None]))
            with tf.control_dependencies([write]):
                grow = count.assign(tf.minimum(filled + 1, self.size))
            with tf.control_dependencies([grow]):
                return i + 1, outputs

        outputs = tf.TensorArray(
            "float32", size=batch, element_shape=images.shape[1:], name="pool_outputs"
        )
        with tf.control_dependencies([advance]):
            start = tf.constant(0)
        _, outputs = tf.while_loop(lambda i, _: i < batch, body, (start, outputs))
        result = outputs.stack()
        result.set_shape(images.shape)
        return result

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "size": self.size,
            "probability": self.probability,
            "seed": self.seed,
        }
