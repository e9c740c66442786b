"""Sample grids of unconditional generators (DCGAN, WGAN-GP) as PNG files."""

import math
import pathlib

import keras
import numpy as np
from PIL import Image

from posegan_zoo.errors import InvalidConfigError, InvalidImageError
from posegan_zoo.training.checkpoints import atomic_path


def image_grid(images, columns=None, padding=2):
    """A uint8 grid of `images` (in [-1, 1], `(n, H, W, C)` with C 1 or 3), row by row.

    `columns` defaults to about `sqrt(n)`; `padding` black pixels separate the images.
    Returns `(rows x (H + padding) - padding, columns x (W + padding) - padding, C)`.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models.dcgan import image_grid
    >>> image_grid(np.zeros((6, 8, 8, 3)), columns=3, padding=1).shape
    (17, 26, 3)
    """
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or len(images) == 0:
        raise InvalidImageError(
            f"`images` must be a non-empty batch (n, height, width, 1 or 3), got shape "
            f"{images.shape}."
        )
    count, height, width, channels = images.shape
    columns = int(columns) if columns else math.ceil(math.sqrt(count))
    if columns <= 0:
        raise InvalidConfigError(f"`columns` must be a positive int, got {columns}.")
    rows = math.ceil(count / columns)
    pixels = np.uint8(np.clip((images + 1.0) * 127.5, 0, 255).round())
    grid = np.zeros(
        (rows * (height + padding) - padding, columns * (width + padding) - padding, channels),
        np.uint8,
    )
    for index in range(count):
        top = (index // columns) * (height + padding)
        left = (index % columns) * (width + padding)
        grid[top : top + height, left : left + width] = pixels[index]
    return grid


def save_image_grid(images, path, columns=None):
    """Writes `image_grid(images, columns)` to the PNG file `path` atomically."""
    grid = image_grid(images, columns)
    picture = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    with atomic_path(path) as tmp:
        picture.save(tmp, format="PNG")
    return pathlib.Path(path)


class GeneratedImagesCallback(keras.callbacks.Callback):
    """Every `every_epochs` epochs, writes a grid of images from fixed latent vectors.

    For `DCGANTrainer` and `WGANGPTrainer` (any model with `generate(n, seed)` and a
    `step_counter`): the same `seed` gives the same latent vectors each time, so the grids
    show how the generator's output for them evolves. Files are
    `directory/step-<generator step>.png`, written atomically (a killed run never leaves a
    half-written PNG).

    Args:
        directory: where the PNGs go (created when needed).
        num_images: images per grid.
        seed: seed of the fixed latent vectors.
        every_epochs: write after every this many epochs.
        columns: images per grid row (default: about the square root of `num_images`).

    Example:

    >>> from posegan_zoo.models.dcgan import GeneratedImagesCallback
    >>> callback = GeneratedImagesCallback("runs/dcgan/samples", num_images=16, seed=0)
    >>> callback.num_images, callback.every_epochs
    (16, 1)
    """

    def __init__(self, directory, num_images=16, seed=0, every_epochs=1, columns=None):
        super().__init__()
        for name, value in (("num_images", num_images), ("every_epochs", every_epochs)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise InvalidConfigError(f"`{name}` must be a positive int, got {value!r}.")
        self.directory = pathlib.Path(directory)
        self.num_images = num_images
        self.seed = int(seed)
        self.every_epochs = every_epochs
        self.columns = columns
        self.paths = []

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_epochs == 0:
            self.write()

    def write(self):
        """Writes one grid now; returns its path."""
        images = self.model.generate(self.num_images, seed=self.seed)
        step = int(self.model.step_counter.numpy())
        path = save_image_grid(images, self.directory / f"step-{step:08d}.png", self.columns)
        self.paths.append(path)
        return path
