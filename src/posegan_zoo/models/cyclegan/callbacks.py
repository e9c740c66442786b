"""Translation sample grids of a `CycleGANTrainer`, written as PNG files."""

import pathlib

import keras
import numpy as np
from PIL import Image

from posegan_zoo.training import atomic_path


def _to_uint8(images):
    images = np.asarray(keras.ops.convert_to_numpy(images), np.float32)
    return np.uint8(np.clip((images + 1.0) * 127.5, 0, 255).round())


def translation_grid(generator_ab, generator_ba, a, b):
    """A uint8 grid of both translations, one row per example.

    Columns: real A | A -> B | A -> B -> A (reconstructed) | real B | B -> A | B -> A -> B.
    `a` and `b` are image batches in [-1, 1] of the same size; a shorter batch leaves its
    columns of the extra rows black.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models.cyclegan import ResnetGenerator, translation_grid
    >>> g = ResnetGenerator(16, num_blocks=1, base_width=4)
    >>> translation_grid(g, g, np.zeros((2, 16, 16, 3)), np.zeros((1, 16, 16, 3))).shape
    (32, 96, 3)
    """
    a = np.asarray(keras.ops.convert_to_numpy(a), np.float32)
    b = np.asarray(keras.ops.convert_to_numpy(b), np.float32)
    fake_b = generator_ab(a, training=False)
    fake_a = generator_ba(b, training=False)
    columns = [
        a,
        fake_b,
        generator_ba(fake_b, training=False),
        b,
        fake_a,
        generator_ab(fake_a, training=False),
    ]
    columns = [_to_uint8(column) for column in columns]
    height, width = columns[0].shape[1:3]
    rows = max(len(a), len(b))
    grid = np.zeros((rows * height, len(columns) * width, 3), np.uint8)
    for index, column in enumerate(columns):
        if column.shape[1:3] != (height, width):
            raise ValueError(
                f"translation_grid: all images must be {height} x {width}, column {index} "
                f"is {column.shape[1]} x {column.shape[2]}."
            )
        pixels = column if column.shape[-1] == 3 else np.repeat(column[..., :1], 3, axis=-1)
        for row, image in enumerate(pixels):
            grid[row * height : (row + 1) * height, index * width : (index + 1) * width] = image
    return grid


class TranslationGridCallback(keras.callbacks.Callback):
    """Every `every_epochs` epochs, writes `directory/step-<step>.png`, a `translation_grid`.

    `a` and `b` are fixed batches of each domain; `<step>` is the trainer's step counter
    (8 digits). Files are written atomically (`posegan_zoo.training.atomic_path`), so a
    reader never sees half a PNG. Use with a `CycleGANTrainer`.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models.cyclegan import TranslationGridCallback
    >>> callback = TranslationGridCallback(np.zeros((1, 32, 32, 3)), np.zeros((1, 32, 32, 3)),
    ...                                    "runs/demo/samples")
    >>> callback.every_epochs
    1
    """

    def __init__(self, a, b, directory, every_epochs=1):
        super().__init__()
        self.a = a
        self.b = b
        self.directory = pathlib.Path(directory)
        self.every_epochs = int(every_epochs)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_epochs == 0:
            self.write()

    def write(self):
        """Writes the grid now; returns its path."""
        grid = translation_grid(self.model.generator_ab, self.model.generator_ba, self.a, self.b)
        step = int(keras.ops.convert_to_numpy(self.model.step_counter))
        path = self.directory / f"step-{step:08d}.png"
        with atomic_path(path) as tmp:
            Image.fromarray(grid).save(tmp, format="PNG")
        return path
