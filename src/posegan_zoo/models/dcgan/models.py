"""DCGAN's generator and discriminator (Radford, Metz, Chintala 2015).

Both are functional subclasses of `keras.Model` (built on construction, constructor
arguments in `get_config`). They take plain tensors, not dicts: the generator a batch of
latent vectors, the discriminator a batch of images in [-1, 1].
"""

import keras

from posegan_zoo._functional import base_config
from posegan_zoo.errors import InvalidConfigError

#: Image sizes the DCGAN layouts support: a 4 x 4 map doubled 3, 4 or 5 times.
SUPPORTED_IMAGE_SIZES = (32, 64, 128)
#: The paper's width of the last hidden map (generator: 1024 channels at 4 x 4 for 64 x 64).
DEFAULT_BASE_WIDTH = 128


def dcgan_initializer():
    """A fresh N(0, 0.02) initializer, the paper's for every weight."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


def check_image_size(image_size):
    """`image_size` as an int, one of `SUPPORTED_IMAGE_SIZES`; else `InvalidConfigError`."""
    if isinstance(image_size, bool) or not isinstance(image_size, int):
        raise InvalidConfigError(
            f"`image_size` must be an int, one of {list(SUPPORTED_IMAGE_SIZES)}, "
            f"got {image_size!r}."
        )
    if image_size not in SUPPORTED_IMAGE_SIZES:
        raise InvalidConfigError(
            f"`image_size` must be a power of two from 32 to 128, one of "
            f"{list(SUPPORTED_IMAGE_SIZES)}, got {image_size}."
        )
    return image_size


def check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidConfigError(f"`{name}` must be a positive int, got {value!r}.")
    return value


def stage_count(image_size):
    """Number of stride-2 stages between a 4 x 4 map and `image_size` (3, 4 or 5)."""
    return image_size.bit_length() - 3


def resolve_widths(image_size, base_width, widths, largest_first):
    """The per-stage channel counts: `widths` if given, else powers of two of `base_width`.

    The default doubles `base_width` per stage away from the image: largest first for
    the generator (4 x 4 first), smallest first for the discriminator (image side first).
    """
    count = stage_count(image_size)
    check_positive_int(base_width, "base_width")
    if widths is None:
        widths = [base_width * 2**i for i in range(count)]
        return tuple(reversed(widths)) if largest_first else tuple(widths)
    try:
        widths = tuple(int(w) for w in widths)
    except (TypeError, ValueError):
        raise InvalidConfigError(f"`widths` must be a sequence of ints, got {widths!r}.") from None
    if len(widths) != count or min(widths) <= 0:
        raise InvalidConfigError(
            f"`widths` must hold {count} positive ints for image_size {image_size} (one per "
            f"stride-2 stage), got {list(widths)}."
        )
    return widths


@keras.saving.register_keras_serializable(package="posegan_zoo")
class DCGANGenerator(keras.Model):
    """DCGAN's generator: latent vector to image, by fractionally-strided convolutions.

    A dense projection of the latent vector to a 4 x 4 map (batch norm, ReLU), then
    transposed convolutions (kernel 4, stride 2, "same") that double the resolution, each
    but the last followed by batch norm and ReLU; the last gives `channels` channels and
    tanh, so the output lies in [-1, 1]. At 64 x 64 with the default `base_width` of 128
    the maps are 4x4x1024, 8x8x512, 16x16x256, 32x32x128, then 64x64x3: the paper's
    figure 1. Weights are drawn from N(0, 0.02), as in the paper. Batch norm uses
    momentum 0.9 and epsilon 1e-5. Under mixed precision the tanh output is float32.

    Input: `(batch, latent_dim)`. Output: `(batch, image_size, image_size, channels)`.

    Args:
        latent_dim: length of the latent vector.
        image_size: 32, 64 or 128.
        channels: image channels (3 for RGB, 1 for grey).
        base_width: channels of the last hidden map (at half the image size); each
            earlier map has twice as many.
        widths: or the hidden widths themselves, from the 4 x 4 map to the half-size map
            (`log2(image_size) - 2` ints); overrides `base_width`.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models.dcgan import DCGANGenerator
    >>> generator = DCGANGenerator(latent_dim=8, image_size=32, base_width=4)
    >>> generator.widths
    (16, 8, 4)
    >>> images = generator(np.zeros((2, 8), "float32"))
    >>> tuple(images.shape), bool(np.abs(images).max() <= 1)
    ((2, 32, 32, 3), True)
    """

    def __init__(
        self,
        latent_dim=100,
        image_size=64,
        channels=3,
        base_width=DEFAULT_BASE_WIDTH,
        widths=None,
        name="dcgan_generator",
        **kwargs,
    ):
        latent_dim = check_positive_int(latent_dim, "latent_dim")
        image_size = check_image_size(image_size)
        channels = check_positive_int(channels, "channels")
        widths = resolve_widths(image_size, base_width, widths, largest_first=True)
        dtype = kwargs.pop("dtype", None)

        self.projection = keras.layers.Dense(
            4 * 4 * widths[0],
            use_bias=False,
            kernel_initializer=dcgan_initializer(),
            dtype=dtype,
            name="projection",
        )
        self.batch_norms = [
            keras.layers.BatchNormalization(
                momentum=0.9, epsilon=1e-5, dtype=dtype, name=f"batch_norm_{i}"
            )
            for i in range(len(widths))
        ]
        self.up_convs = [
            keras.layers.Conv2DTranspose(
                filters,
                4,
                strides=2,
                padding="same",
                use_bias=last,
                kernel_initializer=dcgan_initializer(),
                dtype=dtype,
                name=f"up_conv_{i}",
            )
            for i, (filters, last) in enumerate(
                [(w, False) for w in widths[1:]] + [(channels, True)]
            )
        ]

        noise = keras.Input((latent_dim,), name="noise")
        x = self.projection(noise)
        x = keras.layers.Reshape((4, 4, widths[0]), dtype=dtype, name="to_map")(x)
        for i, up_conv in enumerate(self.up_convs):
            x = self.batch_norms[i](x)
            x = keras.layers.ReLU(dtype=dtype, name=f"relu_{i}")(x)
            x = up_conv(x)
        image = keras.layers.Activation("tanh", dtype="float32", name="tanh")(x)
        super().__init__(inputs=noise, outputs=image, name=name, dtype=dtype, **kwargs)

        self.latent_dim = latent_dim
        self.image_size = image_size
        self.channels = channels
        self.base_width = base_width
        self.widths = widths

    def get_config(self):
        return {
            **base_config(self),
            "latent_dim": self.latent_dim,
            "image_size": self.image_size,
            "channels": self.channels,
            "base_width": self.base_width,
            "widths": self.widths,
        }


def build_conv_critic(model, image_size, channels, widths, normalization, dtype):
    """The layers and graph shared by `DCGANDiscriminator` and `WGANGPCritic`.

    Convolutions (kernel 4, stride 2, "same", N(0, 0.02)) from the image down to a
    4 x 4 map, each followed by LeakyReLU 0.2 and, for all but the first, by the
    normalization ("batch", "layer": per-sample over height, width and channels, with a
    per-channel scale and offset; or "none"); then flatten and a dense layer to one
    float32 logit. Sets `model.convs`, `model.norms`, `model.logit`; returns
    `(image_input, logit_output)`.
    """
    model.convs = [
        keras.layers.Conv2D(
            filters,
            4,
            strides=2,
            padding="same",
            # A normalization with an offset follows every conv but the first.
            use_bias=i == 0 or normalization == "none",
            kernel_initializer=dcgan_initializer(),
            dtype=dtype,
            name=f"conv_{i}",
        )
        for i, filters in enumerate(widths)
    ]
    norms = []
    for i in range(1, len(widths)):
        if normalization == "batch":
            norms.append(
                keras.layers.BatchNormalization(
                    momentum=0.9, epsilon=1e-5, dtype=dtype, name=f"batch_norm_{i}"
                )
            )
        elif normalization == "layer":
            norms.append(
                keras.layers.GroupNormalization(
                    groups=1, epsilon=1e-5, dtype=dtype, name=f"layer_norm_{i}"
                )
            )
    model.norms = norms
    model.logit = keras.layers.Dense(
        1, kernel_initializer=dcgan_initializer(), dtype="float32", name="logit"
    )

    image = keras.Input((image_size, image_size, channels), name="image")
    x = image
    for i, conv in enumerate(model.convs):
        x = conv(x)
        if i > 0 and norms:
            x = norms[i - 1](x)
        x = keras.layers.LeakyReLU(0.2, dtype=dtype, name=f"leaky_relu_{i}")(x)
    x = keras.layers.Flatten(dtype=dtype, name="flatten")(x)
    return image, model.logit(x)


@keras.saving.register_keras_serializable(package="posegan_zoo")
class DCGANDiscriminator(keras.Model):
    """DCGAN's discriminator: strided convolutions to one real / fake logit.

    Convolutions with kernel 4 and stride 2 halve the image down to a 4 x 4 map, each
    followed by LeakyReLU 0.2, with batch norm on every one but the first (the paper's
    layout); the 4 x 4 map is flattened into a dense layer with one float32 logit (the
    paper's sigmoid is in the loss). Widths double per stage: 128, 256, 512, 1024 at
    64 x 64 with the default `base_width`. Weights are drawn from N(0, 0.02).

    Input: `(batch, image_size, image_size, channels)` in [-1, 1]. Output: `(batch, 1)`.

    Args:
        image_size: 32, 64 or 128.
        channels: image channels.
        base_width: channels of the first convolution; each later one has twice as many.
        widths: or all the conv widths (`log2(image_size) - 2` ints); overrides
            `base_width`.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models.dcgan import DCGANDiscriminator
    >>> discriminator = DCGANDiscriminator(image_size=32, base_width=4)
    >>> discriminator.widths
    (4, 8, 16)
    >>> tuple(discriminator(np.zeros((2, 32, 32, 3), "float32")).shape)
    (2, 1)
    """

    def __init__(
        self,
        image_size=64,
        channels=3,
        base_width=DEFAULT_BASE_WIDTH,
        widths=None,
        name="dcgan_discriminator",
        **kwargs,
    ):
        image_size = check_image_size(image_size)
        channels = check_positive_int(channels, "channels")
        widths = resolve_widths(image_size, base_width, widths, largest_first=False)
        dtype = kwargs.pop("dtype", None)
        image, logit = build_conv_critic(self, image_size, channels, widths, "batch", dtype)
        super().__init__(inputs=image, outputs=logit, name=name, dtype=dtype, **kwargs)
        self.image_size = image_size
        self.channels = channels
        self.base_width = base_width
        self.widths = widths

    def get_config(self):
        return {
            **base_config(self),
            "image_size": self.image_size,
            "channels": self.channels,
            "base_width": self.base_width,
            "widths": self.widths,
        }
