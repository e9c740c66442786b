"""Files and tables for people: regeneration outputs, detections and Markdown tables.

The evaluation itself is `posegan_zoo.evaluation`.
"""

import json
import math
import os
import pathlib

import numpy as np
from PIL import Image

from posegan_zoo.errors import InvalidConfigError
from posegan_zoo.training.checkpoints import atomic_path
from posegan_zoo.visualize import SOURCE_COLOUR, TARGET_COLOUR, draw_skeleton, to_uint8

# The comparison image's panels are enlarged (by a whole factor, each pixel a block) until
# their smaller side is at least this: a 128-pixel model's crops are shown at 256.
MIN_PANEL_SIDE = 256
# Colours of the source segmentation's 11 layers: the background, then the limbs in the
# order of `posegan_zoo.pose.LIMB_NAMES` (right side warm, left side cool).
LAYER_COLOURS = np.array(
    [
        (40, 40, 40),  # background
        (255, 215, 0),  # head
        (230, 25, 75),  # right upper arm
        (245, 130, 48),  # right forearm
        (0, 130, 200),  # left upper arm
        (70, 240, 240),  # left forearm
        (145, 30, 180),  # right thigh
        (240, 50, 230),  # right shin
        (60, 180, 75),  # left thigh
        (210, 245, 60),  # left shin
        (250, 250, 250),  # torso
    ],
    np.float32,
)
INTERMEDIATES_FOLDER = "intermediates"


def save_png(array, path):
    """Writes the uint8 image `array` as a PNG at `path` (atomically); returns `path`."""
    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format="PNG")
    return path


def _enlarge(image, factor):
    """`image` (H, W, C) with each pixel repeated into a `factor` x `factor` block."""
    return image if factor == 1 else np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def comparison_grid(result, min_side=MIN_PANEL_SIDE):
    """Crops side by side: source (source skeleton), fake and real target (target skeleton),
    recovered (source skeleton).

    The panels are the model's crops at its resolution, enlarged by the smallest whole
    factor that makes their smaller side at least `min_side` (nearest neighbour: every
    pixel the model made stays visible as it is).
    """
    height, width = result.source_crop.shape[:2]
    factor = max(1, math.ceil(min_side / min(height, width)))
    source, target = result.source_pose.to_array(), result.target_pose.to_array()
    panels = [
        (result.source_crop, source, SOURCE_COLOUR),
        (result.fake_crop, target, TARGET_COLOUR),
        (result.recovered_crop, source, SOURCE_COLOUR),
    ]
    if result.target_crop is not None:
        panels.insert(2, (result.target_crop, target, TARGET_COLOUR))
    line = max(2, round(1.5 * factor))
    images = [
        # A crop pixel's centre k lands on k * factor + (factor - 1) / 2 once enlarged.
        draw_skeleton(
            Image.fromarray(_enlarge(to_uint8(crop), factor)),
            joints * factor + (factor - 1) / 2.0,
            colour,
            width=line,
        )
        for crop, joints, colour in panels
    ]
    height, width = height * factor, width * factor
    grid = Image.new("RGB", (width * len(images), height))
    for i, image in enumerate(images):
        grid.paste(image, (i * width, 0))
    return np.asarray(grid)


def colour_layers(masks):
    """Soft layer masks `(H, W, 11)` (background, then the limbs) as one uint8 RGB image,
    each pixel the mask-weighted mix of `LAYER_COLOURS`.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.reporting import colour_layers
    >>> masks = np.zeros((2, 2, 11)); masks[..., 1] = 1.0  # all head
    >>> colour_layers(masks)[0, 0].tolist()
    [255, 215, 0]
    """
    masks = np.asarray(masks, np.float32)
    mixed = np.einsum("hwl,lc->hwc", masks[..., : len(LAYER_COLOURS)], LAYER_COLOURS)
    return np.uint8(np.clip(mixed, 0, 255).round())


def limb_grid(limbs, columns=5, gap=2):
    """The warped limb layers `(H, W, 3 * L)` (in [-1, 1], premultiplied by their masks:
    grey where a layer is empty) as one uint8 image, L tiles in rows of `columns`, limb
    order of `posegan_zoo.pose.LIMB_NAMES`, separated by `gap` black pixels."""
    limbs = np.asarray(limbs, np.float32)
    height, width = limbs.shape[:2]
    count = limbs.shape[-1] // 3
    rows = math.ceil(count / columns)
    canvas = np.zeros(
        (rows * height + (rows - 1) * gap, columns * width + (columns - 1) * gap, 3), np.uint8
    )
    for k in range(count):
        row, column = divmod(k, columns)
        top, left = row * (height + gap), column * (width + gap)
        canvas[top : top + height, left : left + width] = to_uint8(limbs[..., 3 * k : 3 * k + 3])
    return canvas


def intermediate_images(result):
    """The generator's intermediates in `result` as uint8 images, by name, at the model's
    resolution: "source_masks" coloured by limb (`colour_layers`), "warped_limbs" as a
    grid of tiles (`limb_grid`), one-channel masks in [0, 1] ("foreground_mask", "hole")
    as grey, and three-channel images ("foreground", "background", "warped_background",
    ...) as RGB.

    Raises `InvalidConfigError` when the result holds none (the generator returns no
    intermediates: only `PoseWarpGenerator`, `WarpOnlyGenerator` and
    `RefinedWarpGenerator` do).
    """
    if not result.intermediates:
        raise InvalidConfigError(
            "this result holds no intermediates: its generator returns none (the "
            "PoseWarpGenerator, WarpOnlyGenerator and RefinedWarpGenerator do)."
        )
    images = {}
    for name, value in result.intermediates.items():
        value = np.asarray(value, np.float32)
        if name == "source_masks":
            images[name] = colour_layers(value)
        elif name == "warped_limbs":
            images[name] = limb_grid(value)
        elif value.ndim == 3 and value.shape[-1] == 1:
            images[name] = np.uint8(np.clip(value[..., 0] * 255.0, 0, 255).round())
        elif value.ndim == 3 and value.shape[-1] == 3:
            images[name] = to_uint8(value)
    return images


def write_intermediates(result, out_dir):
    """Writes `intermediates/<name>.png` under `out_dir` for each of `intermediate_images`;
    returns the paths."""
    folder = pathlib.Path(out_dir) / INTERMEDIATES_FOLDER
    return [
        save_png(image, folder / f"{name}.png")
        for name, image in intermediate_images(result).items()
    ]


def write_regeneration(result, out_dir, intermediates=False):
    """Writes fake.png, recovered.png, comparison.png and metrics.json (and, with
    `intermediates`, `write_intermediates`' PNGs); returns the paths."""
    out_dir = pathlib.Path(out_dir)
    extra = intermediate_images(result) if intermediates else {}  # fails before any write
    paths = [
        save_png(result.fake, out_dir / "fake.png"),
        save_png(result.recovered, out_dir / "recovered.png"),
        save_png(comparison_grid(result), out_dir / "comparison.png"),
    ]
    record = {"original_vs_recovered": result.metrics, "fake_vs_real_target": result.fake_metrics}
    with atomic_path(out_dir / "metrics.json") as tmp:
        tmp.write_text(json.dumps(record, indent=2))
    folder = out_dir / INTERMEDIATES_FOLDER
    extra = [save_png(image, folder / f"{name}.png") for name, image in extra.items()]
    return [*paths, out_dir / "metrics.json", *extra]


def detection_record(image_path, people, json_folder):
    """The keypoint-JSON record of detected `people` (our format, `posewarp14` layout).

    A joint's third value is its visibility, 0 where it is missing (below the detector's
    `min_visibility`), so `read_keypoints_json` reads back the detector's own `.pose`; each
    person also carries its `score` and `box`, and `blazepose33` holds the 33 landmarks.
    """
    image_path = pathlib.Path(image_path)
    try:
        image = os.path.relpath(image_path.resolve(), pathlib.Path(json_folder).resolve())
    except ValueError:  # another drive on Windows
        image = str(image_path.resolve())
    records = []
    for person in people:
        confidence = np.where(person.visible, person.visibility, 0.0)
        keypoints = np.concatenate([person.joints, confidence[:, None]], axis=1)
        records.append(
            {
                "keypoints": np.round(keypoints, 3).tolist(),
                "box": np.round(person.box, 2).tolist(),
                "score": round(float(person.score), 4),
                "blazepose33": np.round(person.landmarks, 3).tolist(),
            }
        )
    return {"image": pathlib.Path(image).as_posix(), "layout": "posewarp14", "people": records}


def write_detections(image, people, out_dir, name=None):
    """Writes `<name>.json` (see `detection_record`) and `<name>.png` (the photo with every
    person's skeleton) for the photo at path `image`; returns both paths. `name` defaults
    to the photo's file name without its suffix."""
    from posegan_zoo.images import load_image

    out_dir = pathlib.Path(out_dir)
    name = name or pathlib.Path(image).stem
    json_path, png_path = out_dir / f"{name}.json", out_dir / f"{name}.png"
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(detection_record(image, people, out_dir), indent=1))
    picture = Image.fromarray(load_image(image))
    width = max(2, round(max(picture.size) / 300))
    for person in people:
        draw_skeleton(picture, person.pose.to_array(), TARGET_COLOUR, width=width)
    save_png(np.asarray(picture), png_path)
    return json_path, png_path


def format_table(rows):
    """A Markdown table of rows (dicts with the same keys): floats to 4 decimals, None n/a.

    Example:

    >>> from posegan_zoo.reporting import format_table
    >>> print(format_table([{"method": "m", "ssim": 0.51234, "recovered_ssim": None}]))
    | method | ssim | recovered_ssim |
    |---|---|---|
    | m | 0.5123 | n/a |
    """

    def cell(value):
        if value is None:
            return "n/a"
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(cell(row[c]) for c in columns) + " |")
    return "\n".join(lines)
