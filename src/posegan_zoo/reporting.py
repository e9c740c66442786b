"""Files and tables for people: regeneration outputs and evaluation tables."""

import json
import os
import pathlib

import numpy as np
from PIL import Image

from posegan_zoo.metrics import image_metrics
from posegan_zoo.training.checkpoints import atomic_path
from posegan_zoo.visualize import SOURCE_COLOUR, TARGET_COLOUR, draw_skeleton, to_uint8


def _save_png(array, path):
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
        _save_png(result.fake, out_dir / "fake.png"),
        _save_png(result.recovered, out_dir / "recovered.png"),
        _save_png(comparison_grid(result), out_dir / "comparison.png"),
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
    _save_png(np.asarray(picture), png_path)
    return json_path, png_path


def evaluate_generator(generator, clips, pairs, batch_size=4):
    """Mean metrics of `generator` and of the identity baseline over `pairs` of `clips`.

    Each pair's source frame goes through the generator towards the target frame's pose,
    and the result is compared with the real target frame (crops at the generator's size);
    "masked_ssim" scores the target person only. The identity baseline is the source crop
    itself. Returns `{"model": {...}, "identity": {...}}`.
    """
    from posegan_zoo.data import pair_dataset

    dataset = pair_dataset(
        clips,
        generator.image_size,
        batch_size=batch_size,
        augmentation=None,
        pairs=pairs,
        drop_remainder=False,
        reverse_inputs=True,
    )
    totals = {"model": [], "identity": []}
    weights = []
    for inputs, target in dataset:
        target = np.asarray(target)
        person = np.exp(np.asarray(inputs["target_mask_prior"])[..., 0]) < 0.5
        fake = np.asarray(generator(inputs))
        totals["model"].append(image_metrics(target, fake, person))
        totals["identity"].append(image_metrics(target, np.asarray(inputs["source_image"]), person))
        weights.append(len(target))
    return {
        name: {key: float(np.average([r[key] for r in rows], weights=weights)) for key in rows[0]}
        for name, rows in totals.items()
    }


def evaluate_preset(data, preset, holdout_fraction=0.25, **hub_kwargs):
    """`evaluate_generator` for a preset on a dataset folder; returns table rows."""
    from posegan_zoo.data import holdout_split, read_posewarp_dataset
    from posegan_zoo.presets import load_preset, resolve

    generator = load_preset(resolve(preset, **hub_kwargs))
    clips = read_posewarp_dataset(data)
    _, pairs = holdout_split(clips, holdout_fraction)
    results = evaluate_generator(generator, clips, pairs)
    size = "x".join(str(s) for s in generator.image_size)
    return [
        {"model": preset, "size": size, "pairs": len(pairs), **results["model"]},
        {
            "model": "identity (source image)",
            "size": size,
            "pairs": len(pairs),
            **results["identity"],
        },
    ]


def format_table(rows):
    """A Markdown table of evaluation rows."""
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [f"{row[c]:.4f}" if isinstance(row[c], float) else str(row[c]) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
