"""Training callbacks: sample grids as PNG files and TensorBoard images."""

import pathlib

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from posegan_zoo.training.checkpoints import atomic_path
from posegan_zoo.visualize import SOURCE_COLOUR, TARGET_COLOUR, draw_skeleton, to_uint8


def _pose_panel(heatmaps, size):
    """The joint heatmaps (max over joints) at image size, grey on black."""
    peak = np.asarray(heatmaps).max(axis=-1)
    panel = Image.fromarray(np.uint8(np.clip(peak, 0, 1) * 255)).convert("RGB")
    return panel.resize(size[::-1], Image.BILINEAR)


def sample_grid(inputs, fake, target):
    """A uint8 grid, one row per example: source, target pose, fake, real target.

    The source carries its skeleton, the other three the target skeleton (when the inputs
    hold "source_keypoints" / "target_keypoints").

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.training import sample_grid
    >>> inputs = {"source_image": np.zeros((2, 32, 32, 3)),
    ...           "target_pose": np.zeros((2, 16, 16, 14))}
    >>> sample_grid(inputs, np.zeros((2, 32, 32, 3)), np.zeros((2, 32, 32, 3))).shape
    (64, 128, 3)
    """
    sources, fakes, targets = (to_uint8(x) for x in (inputs["source_image"], fake, target))
    count, height, width = sources.shape[:3]
    grid = Image.new("RGB", (4 * width, count * height))
    for row in range(count):
        panels = [
            Image.fromarray(sources[row]),
            _pose_panel(inputs["target_pose"][row], (height, width)),
            Image.fromarray(fakes[row]),
            Image.fromarray(targets[row]),
        ]
        if "source_keypoints" in inputs:
            draw_skeleton(panels[0], np.asarray(inputs["source_keypoints"][row]), SOURCE_COLOUR)
        if "target_keypoints" in inputs:
            for panel in panels[1:]:
                draw_skeleton(panel, np.asarray(inputs["target_keypoints"][row]), TARGET_COLOUR)
        for column, panel in enumerate(panels):
            grid.paste(panel, (column * width, row * height))
    return np.asarray(grid)


class SampleGridCallback(keras.callbacks.Callback):
    """At the end of every `every_epochs` epochs, renders a fixed batch through the model.

    Writes `directory/step-<step>.png` (a `sample_grid`) and, with `tensorboard_dir`, an
    image summary "samples" at that step.

    Example:

    >>> from posegan_zoo.training import SampleGridCallback
    >>> SampleGridCallback(batch=None, directory="runs/demo/samples").every_epochs
    1
    """

    def __init__(self, batch, directory, every_epochs=1, tensorboard_dir=None):
        super().__init__()
        self.batch = batch
        self.directory = pathlib.Path(directory)
        self.every_epochs = int(every_epochs)
        self._writer = (
            tf.summary.create_file_writer(str(tensorboard_dir)) if tensorboard_dir else None
        )

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_epochs == 0:
            self.write()

    def write(self):
        inputs, target = self.batch
        fake = keras.ops.convert_to_numpy(self.model(inputs, training=False))
        grid = sample_grid(inputs, fake, target)
        step = int(self.model.step_counter.numpy())
        path = self.directory / f"step-{step:08d}.png"
        with atomic_path(path) as tmp:
            Image.fromarray(grid).save(tmp, format="PNG")
        if self._writer is not None:
            with self._writer.as_default():
                tf.summary.image("samples", grid[None], step=step)
            self._writer.flush()
        return path
