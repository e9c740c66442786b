"""Unpaired training images for CycleGAN: two folders, one endless `tf.data` stream."""

import pathlib

import numpy as np
import tensorflow as tf
from PIL import Image, UnidentifiedImageError

from posegan_zoo._exit_safe_callbacks import exit_safe
from posegan_zoo._validation import as_image_size
from posegan_zoo.errors import DataFormatError, InvalidConfigError, InvalidImageError

#: File name endings `image_files` picks up (case does not matter).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
# The authors load 286 x 286 and crop 256 x 256.
_PAPER_LOAD_RATIO = 286 / 256


def image_files(folder, argument="folder"):
    """The image files directly in `folder`, sorted by name; each one's header is checked.

    Raises:
        DataFormatError: `folder` is missing, not a folder, or holds no image file.
        InvalidImageError: a file with an image ending that Pillow cannot identify.

    Example:

    >>> import pathlib, tempfile
    >>> from PIL import Image
    >>> from posegan_zoo.models.cyclegan import image_files
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("b.png", "a.jpg"):
    ...     Image.new("RGB", (4, 4)).save(folder / name)
    >>> [path.name for path in image_files(folder)]
    ['a.jpg', 'b.png']
    """
    folder = pathlib.Path(folder)
    if not folder.exists():
        raise DataFormatError(f"image folder `{folder}` (`{argument}`) does not exist.")
    if not folder.is_dir():
        raise DataFormatError(f"`{argument}`: `{folder}` is not a folder.")
    paths = sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS
    )
    if not paths:
        raise DataFormatError(
            f"image folder `{folder}` (`{argument}`) holds no image file "
            f"(looked for {', '.join(IMAGE_EXTENSIONS)})."
        )
    for path in paths:
        try:
            with Image.open(path) as image:
                image.size  # noqa: B018  (Pillow reads the header on open)
        except (OSError, UnidentifiedImageError) as error:
            raise InvalidImageError(
                f"`{argument}`: cannot read image `{path}` in `{folder}`: {error}"
            ) from None
    return paths


@exit_safe
def _decode(path):
    path = path.decode() if isinstance(path, bytes) else str(path)
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, ValueError) as error:
        raise InvalidImageError(f"cannot decode image `{path}`: {error}") from None


def _domain_stream(paths, seed, domain, load_size, image_size, flip, start):
    """An endless stream of augmented images of one domain, fixed by `seed`."""
    count = len(paths)
    paths = tf.constant([str(path) for path in paths])
    height, width = image_size
    base = tf.constant([int(seed), domain], tf.int64)

    def load(index):
        # Every pass over the folder visits each image once, in its own random order.
        epoch, position = index // count, index % count
        order_seed = tf.random.experimental.stateless_fold_in(base, epoch)
        order = tf.argsort(tf.random.stateless_uniform([count], order_seed))
        path = tf.gather(paths, tf.gather(order, position))
        image = tf.numpy_function(_decode, [path], tf.uint8, stateful=False)
        image = tf.ensure_shape(image, [None, None, 3])
        draw = tf.random.experimental.stateless_split(
            tf.random.experimental.stateless_fold_in(base, index + (1 << 40)), 2
        )
        image = tf.image.resize(
            tf.cast(image, tf.float32), load_size, method="bicubic", antialias=True
        )
        image = tf.image.stateless_random_crop(image, [height, width, 3], seed=draw[0])
        if flip:
            image = tf.image.stateless_random_flip_left_right(image, seed=draw[1])
        return tf.clip_by_value(image / 127.5 - 1.0, -1.0, 1.0)

    return tf.data.Dataset.counter(start=int(start)).map(
        load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )


def unpaired_image_dataset(
    folder_a,
    folder_b,
    image_size=256,
    batch_size=1,
    seed=0,
    *,
    load_size=None,
    flip=True,
    start=0,
):
    """An endless dataset of `(a_batch, b_batch)` from two folders of unpaired images.

    Each domain is read in its own random order, a new one every pass over the folder
    (the two folders may hold different numbers of images). Each image is resized to
    `load_size` (bicubic; aspect ratio not kept), randomly cropped to `image_size`,
    randomly flipped left-right (with `flip`), and scaled to [-1, 1]: the authors'
    "resize_and_crop" with their 286 -> 256 sizes. Batches are float32
    `(batch_size, height, width, 3)`; images are read as RGB whatever their mode.

    All randomness is stateless and derived from `seed` and the example's index, so a seed
    fixes the whole stream (however many threads decode); a run resumed after `k` steps
    passes `start=k * batch_size` to continue where it stopped.

    Args:
        folder_a, folder_b: folders of images (`IMAGE_EXTENSIONS`; sub-folders ignored).
        image_size: int or (height, width) of the crops.
        batch_size: images per domain and batch.
        seed: an int.
        load_size: int or (height, width) of the resize before cropping, at least
            `image_size`; default `image_size * 286 / 256` rounded.
        flip: random horizontal flips.
        start: index of the first example of each stream.

    Raises:
        DataFormatError: a folder is missing or holds no image (the message names it).
        InvalidImageError: an image file cannot be read (named, with its folder).
        InvalidConfigError: bad sizes.

    Example:

    >>> import pathlib, tempfile
    >>> from PIL import Image
    >>> from posegan_zoo.models.cyclegan import unpaired_image_dataset
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for domain, colour in (("a", "red"), ("b", "lime")):
    ...     (root / domain).mkdir()
    ...     Image.new("RGB", (40, 30), colour).save(root / domain / "0.png")
    >>> a, b = next(iter(unpaired_image_dataset(root / "a", root / "b", 16, batch_size=2)))
    >>> tuple(a.shape), a.numpy()[0, 0, 0].round(3).tolist(), b.numpy()[0, 0, 0].round(3).tolist()
    ((2, 16, 16, 3), [1.0, -1.0, -1.0], [-1.0, 1.0, -1.0])
    """
    image_size = as_image_size(image_size)
    if load_size is None:
        load_size = tuple(round(side * _PAPER_LOAD_RATIO) for side in image_size)
    else:
        load_size = as_image_size(load_size, "load_size")
    if load_size[0] < image_size[0] or load_size[1] < image_size[1]:
        raise InvalidConfigError(
            f"`load_size` {load_size} must be at least `image_size` {image_size} on each side."
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidConfigError(f"`batch_size` must be a positive int, got {batch_size!r}.")
    streams = [
        _domain_stream(
            image_files(folder, argument), seed, domain, load_size, image_size, flip, start
        )
        for domain, (folder, argument) in enumerate(
            ((folder_a, "folder_a"), (folder_b, "folder_b"))
        )
    ]
    batches = [stream.batch(batch_size, drop_remainder=True) for stream in streams]
    return tf.data.Dataset.zip(tuple(batches)).prefetch(tf.data.AUTOTUNE)
