"""`RefinedWarpGenerator` and the person masks that `pair_dataset` gives it."""

import keras
import numpy as np
from PIL import Image

from posegan_zoo.data import Clip, pair_dataset, read_posewarp_dataset
from posegan_zoo.models import RefinedWarpGenerator, WarpOnlyGenerator
from posegan_zoo.training import TrainingConfig, run_training

SMALL = {"encoder_widths": [4] * 11, "decoder_widths": [4] * 5}


def _masked_clip(tennis_dir, tmp_path):
    """The tennis clip with a synthetic mask per frame: 255 left of the person's centre."""
    [clip] = read_posewarp_dataset(tennis_dir)
    paths = []
    for path, centre in zip(clip.frame_paths, clip.box_centres(), strict=True):
        with Image.open(path) as frame:
            width, height = frame.size
        mask = np.zeros((height, width), np.uint8)
        mask[:, : int(centre[0])] = 255
        paths.append(tmp_path / f"{path.stem}.png")
        Image.fromarray(mask).save(paths[-1])
    return Clip(clip.name, clip.frame_paths, clip.poses, clip.boxes, mask_paths=paths), clip


def test_pair_dataset_crops_masks_with_their_frames(tennis_dir, tmp_path):
    masked, plain = _masked_clip(tennis_dir, tmp_path)
    inputs, _ = next(iter(pair_dataset([masked], 64, batch_size=2, augmentation=None)))
    for key in ("source_mask", "target_mask"):
        assert tuple(inputs[key].shape) == (2, 64, 64, 1)
        values = inputs[key].numpy()
        assert values.min() >= 0.0 and values.max() <= 1.0 and 0 < values.mean() < 1
    # Same crops as without masks: the images do not change.
    reference, _ = next(iter(pair_dataset([plain], 64, batch_size=2, augmentation=None)))
    np.testing.assert_array_equal(inputs["source_image"], reference["source_image"])
    assert "source_mask" not in reference
    # The mask follows the frame: the part left of the person stays on the left of the crop
    # (no augmentation: the crop only scales and shifts), so every row only falls.
    mask = inputs["source_mask"].numpy()[..., 0]
    assert np.all(np.diff(mask, axis=-1) <= 1e-5)


def test_a_mixed_dataset_gives_no_masks(tennis_dir, tmp_path):
    masked, plain = _masked_clip(tennis_dir, tmp_path)
    inputs, _ = next(iter(pair_dataset([masked, plain], 64, batch_size=2)))
    assert "source_mask" not in inputs and "target_mask" not in inputs


def test_untrained_refined_warp_is_warp_only_and_round_trips(tennis_dir, tmp_path):
    masked, _ = _masked_clip(tennis_dir, tmp_path)
    inputs, _ = next(iter(pair_dataset([masked], 64, batch_size=2, augmentation=None)))
    model = RefinedWarpGenerator(64, **SMALL)
    np.testing.assert_allclose(model(inputs), WarpOnlyGenerator(64)(inputs), atol=1e-6)
    out = model(inputs, return_intermediates=True)
    assert set(out) >= {"image", "warped_image", "residual", "foreground_mask"}
    path = tmp_path / "refined.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_config()["encoder_widths"] == model.get_config()["encoder_widths"]
    np.testing.assert_allclose(loaded(inputs), model(inputs), atol=1e-6)


def test_training_moves_the_refined_warp_away_from_warp_only(tennis_dir, tmp_path):
    config = TrainingConfig(
        data=str(tennis_dir),
        output=str(tmp_path / "run"),
        model="refined-warp",
        image_size=64,
        width=4,
        steps=2,
        steps_per_epoch=2,
        batch_size=2,
        learning_rate=1e-2,
        reconstruction_loss="l1",
    )
    summary = run_training(config, verbose=0)
    assert summary["steps"] == 2
    generator = keras.saving.load_model(tmp_path / "run" / "model" / "generator.keras")
    assert isinstance(generator, RefinedWarpGenerator)
    kernel = generator.to_residual.kernel.numpy()
    assert np.abs(kernel).max() > 0  # the zero-initialized correction has been trained
