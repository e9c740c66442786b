"""Files and tables for people: regeneration outputs, detections and Markdown tables.

The evaluation itself is `posegan_zoo.evaluation`.
"""

import json
import os
import pathlib

import numpy as np
from PIL import Image

from posegan_zoo.training.checkpoints import atomic_path
from posegan_zoo.visualize import SOURCE_COLOUR, TARGET_COLOUR, draw_skeleton, to_uint8


def save_png(array, path):
    """Writes the uint8 image `array` as a PNG at `path` (atomically); returns `path`."""
    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format="PNG")
    return path


def comparison_grid(result):
    """Crops side by side: source (source skeleton), fake and real target (target skeleton),
    recovered (source skeleton)."""
    source, target = result.source_pose.to_array(), result.target_pose.to_array()
    panels = [
        (result.source_crop, source, SOURCE_COLOUR),
        (result.fake_crop, target, TARGET_COLOUR),
        (result.recovered_crop, source, SOURCE_COLOUR),
    ]
    if result.target_crop is not None:
        panels.insert(2, (result.target_crop, target, TARGET_COLOUR))
    images = [
        draw_skeleton(Image.fromarray(to_uint8(crop)), joints, colour)
        for crop, joints, colour in panels
    ]
    height, width = result.source_crop.shape[:2]
    grid = Image.new("RGB", (width * len(images), height))
    for i, image in enumerate(images):
        grid.paste(image, (i * width, 0))
    return np.asarray(grid)


def write_regeneration(result, out_dir):
    """Writes fake.png, recovered.png, comparison.png and metrics.json; returns the paths."""
    out_dir = pathlib.Path(out_dir)
    paths = [
        save_png(result.fake, out_dir / "fake.png"),
        save_png(result.recovered, out_dir / "recovered.png"),
        save_png(comparison_grid(result), out_dir / "comparison.png"),
    ]
    record = {"original_vs_recovered": result.metrics, "fake_vs_real_target": result.fake_metrics}
    with atomic_path(out_dir / "metrics.json") as tmp:
        tmp.write_text(json.dumps(record, indent=2))
    return [*paths, out_dir / "metrics.json"]


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
