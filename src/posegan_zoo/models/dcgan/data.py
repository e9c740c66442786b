"""Image data for unconditional GANs: a folder of pictures, or synthetic discs.

Both give float32 images in [-1, 1], channels last, the input `DCGANTrainer` and
`WGANGPTrainer` expect.
"""

import pathlib

import numpy as np
import tensorflow as tf
from PIL import Image

from posegan_zoo.errors import DataFormatError, InvalidConfigError

#: Background and disc colours of `disc_images` (RGB in [-1, 1]).
DISC_BACKGROUND = (-0.9, -0.7, -0.8)
DISC_COLOUR = (0.9, 0.4, -0.3)
#: File suffixes `read_image_folder` reads.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def disc_images(count, image_size=32, seed=0, radius=(0.125, 0.3)):
    """`count` images of one bright disc of random centre and radius on a dark background.

    A small synthetic distribution to check that a GAN learns: each pixel is either
    `DISC_BACKGROUND` or `DISC_COLOUR`; the radius is uniform in `radius` (fractions of
    `image_size`) and the disc lies wholly inside the image. Deterministic per `seed`.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models.dcgan.data import DISC_COLOUR, disc_images
    >>> images = disc_images(4, image_size=32, seed=0)
    >>> images.shape, images.dtype.name
    ((4, 32, 32, 3), 'float32')
    >>> bool(np.isclose(images, DISC_COLOUR).all(axis=-1).any(axis=(1, 2)).all())
    True
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise InvalidConfigError(f"`count` must be a non-negative int, got {count!r}.")
    low, high = radius
    if not 0 < low <= high < 0.5:
        raise InvalidConfigError(
            f"`radius` must be (low, high) fractions with 0 < low <= high < 0.5, got {radius}."
        )
    rng = np.random.default_rng(seed)
    radii = rng.uniform(low, high, count) * image_size
    centre_x = rng.uniform(radii, image_size - radii)
    centre_y = rng.uniform(radii, image_size - radii)
    ys, xs = np.mgrid[:image_size, :image_size] + 0.5
    inside = (xs[None] - centre_x[:, None, None]) ** 2 + (
        ys[None] - centre_y[:, None, None]
    ) ** 2 < radii[:, None, None] ** 2
    background = np.asarray(DISC_BACKGROUND, np.float32)
    colour = np.asarray(DISC_COLOUR, np.float32)
    return np.where(inside[..., None], colour, background).astype(np.float32)


def read_image_folder(directory, image_size, channels=3, limit=None):
    """The pictures in `directory` (recursively), centre-cropped square, resized, in [-1, 1].

    Returns a float32 array `(n, image_size, image_size, channels)` (`channels` 1 or 3),
    files in sorted order, at most `limit` of them.

    Raises:
        DataFormatError: `directory` is not a folder or holds no readable picture.
    """
    directory = pathlib.Path(directory)
    if not directory.is_dir():
        raise DataFormatError(f"Image folder `{directory}` (`directory`) is not a folder.")
    paths = sorted(
        path
        for path in directory.rglob("*")
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
    )
    if limit is not None:
        paths = paths[: int(limit)]
    if not paths:
        raise DataFormatError(
            f"Image folder `{directory}` holds no picture ({', '.join(IMAGE_SUFFIXES)})."
        )
    mode = {1: "L", 3: "RGB"}.get(channels)
    if mode is None:
        raise InvalidConfigError(f"`channels` must be 1 or 3, got {channels!r}.")
    images = []
    for path in paths:
        try:
            with Image.open(path) as picture:
                picture = picture.convert(mode)
                side = min(picture.size)
                left, top = (picture.width - side) // 2, (picture.height - side) // 2
                picture = picture.crop((left, top, left + side, top + side))
                picture = picture.resize((image_size, image_size), Image.BICUBIC)
                pixels = np.asarray(picture, np.float32)
        except OSError as error:
            raise DataFormatError(f"Image file `{path}` cannot be read: {error}") from None
        images.append(pixels.reshape(image_size, image_size, channels) / 127.5 - 1.0)
    return np.stack(images).astype(np.float32)


def image_dataset(images, batch_size, seed=0, repeat=True):
    """A shuffled `tf.data.Dataset` of image batches (whole batches only) from an array."""
    images = np.asarray(images, np.float32)
    if len(images) < batch_size:
        raise InvalidConfigError(
            f"`batch_size`={batch_size} is larger than the {len(images)} images."
        )
    dataset = tf.data.Dataset.from_tensor_slices(images).shuffle(
        len(images), seed=seed, reshuffle_each_iteration=True
    )
    if repeat:
        dataset = dataset.repeat()
    return dataset.batch(batch_size, drop_remainder=True).prefetch(2)
