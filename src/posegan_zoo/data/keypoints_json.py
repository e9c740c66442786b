"""Readers for keypoint JSON files: our own per-image format, and COCO person keypoints.

Both readers return `PersonFrame`s (one person in one image, converted to our 14 joints
with `to_posewarp_pose`); `clips_from_people` groups them into `Clip`s by person id.

Our format (`read_keypoints_json`). A file holds one image record, or a JSON list of them::

    {
      "image": "frames/0001.jpg",
      "layout": "coco17",
      "people": [
        {"id": "alice", "keypoints": [[x, y, c], ...], "box": [x, y, w, h]}
      ]
    }

- `image` (string, required): the image file; a relative path is relative to the JSON
  file's folder.
- `layout` (string, required): a name from `LAYOUTS` (coco17, openpose18, openpose25,
  blazepose33, lsp14, posewarp14); it fixes the number of keypoints K.
- `people` (list, required, may be empty), each with:
  - `keypoints` (required): K entries `[x, y]` or `[x, y, c]` in pixels (c a confidence
    or COCO visibility flag), or a flat list of 3K numbers `x, y, c, x, y, c, ...` as COCO
    and OpenPose write them. A joint is missing when c is 0 or less (or below
    `min_confidence`), or when x or y is `null`.
  - `id` (string or integer, optional): the person's identity across images; frames with
    the same id become one `Clip`. Ids must be unique within an image. Without an id the
    person is a clip of its own, named `<image>#<index in people>`.
  - `box` (optional): `[x, y, w, h]` with w, h >= 0. Without it, the box is the tight box
    around the person's present joints in our 14-joint layout (the way the PoseWarp data's
    boxes were made).

COCO (`read_coco_keypoints`): a person-keypoints annotation file (`images` with `id` and
`file_name`; `annotations` with `image_id`, `keypoints` as 17 flat `x, y, v` triples,
`bbox` and `iscrowd`). Crowd annotations are skipped, and so are people with fewer than
`min_keypoints` labelled keypoints (v > 0). COCO has no identity across images: each
annotation is its own person, its id being the annotation's `id`.

Errors name the file and the JSON path of the bad field, e.g.
`annotations[3].keypoints: expected 51 numbers (17 x, y, v triples), got 50`.
"""

import collections
import dataclasses
import math
import pathlib
import re

import numpy as np

from posegan_zoo._json import read_json
from posegan_zoo.data.clip import Clip
from posegan_zoo.errors import DataFormatError, InvalidConfigError, InvalidPoseError
from posegan_zoo.pose import Pose
from posegan_zoo.pose.layouts import LAYOUTS, to_posewarp_pose

DEFAULT_MIN_COCO_KEYPOINTS = 10
_BOX_CHOICES = ("file", "joints")


@dataclasses.dataclass(frozen=True)
class PersonFrame:
    """One person in one image: the image file, an id, the `Pose` (14 joints) and a box.

    Attributes:
        image: the image file (`pathlib.Path`).
        person_id: the person's id (a string), or None when the file gave none.
        pose: an unbatched `Pose` in the image's pixel coordinates.
        box: `(4,)` float64 person box as (x, y, width, height).
        source: where the person was read, e.g. `'people.json: people[1]'`.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.data import PersonFrame
    >>> from posegan_zoo.pose import Pose
    >>> person = PersonFrame("a.jpg", "alice", Pose(np.zeros((14, 2))), [0, 0, 10, 20])
    >>> person.image.name, person.box.tolist()
    ('a.jpg', [0.0, 0.0, 10.0, 20.0])
    """

    image: pathlib.Path
    person_id: str | None
    pose: Pose
    box: np.ndarray
    source: str = ""

    def __post_init__(self):
        object.__setattr__(self, "image", pathlib.Path(self.image))
        if self.person_id is not None:
            object.__setattr__(self, "person_id", str(self.person_id))
        box = np.asarray(self.box, dtype=np.float64)
        if box.shape != (4,):
            raise InvalidPoseError(f"`box` must be (x, y, w, h), got shape {box.shape}.")
        object.__setattr__(self, "box", box)
        if not isinstance(self.pose, Pose) or self.pose.batch_shape != ():
            raise InvalidPoseError(f"`pose` must be a single (unbatched) Pose, got {self.pose!r}.")


def read_keypoints_json(source, min_confidence=0.0, boxes="file"):
    """Reads our keypoint JSON format (see the module docstring) into `PersonFrame`s.

    `source` is a JSON file, a folder (every `*.json` in it, in natural order: 2 before 10),
    or a list of files. People come out in file order. `min_confidence` drops joints with a
    lower confidence; `boxes="joints"` ignores the files' boxes and always uses the tight
    box around the present joints. Raises `DataFormatError` naming the file and the JSON
    path of a malformed field.

    Example:

    >>> import json, pathlib, tempfile
    >>> from posegan_zoo.data import read_keypoints_json
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> lsp = [[10.0 + k, 20.0 + 3 * k] for k in range(14)]
    >>> record = {"image": "1.jpg", "layout": "lsp14", "people": [{"id": 7, "keypoints": lsp}]}
    >>> _ = (folder / "1.json").write_text(json.dumps(record))
    >>> [person] = read_keypoints_json(folder)
    >>> person.person_id, person.pose.joints[0].tolist(), person.box.tolist()
    ('7', [23.0, 59.0], [10.0, 20.0, 13.0, 39.0])
    """
    _check_boxes_choice(boxes)
    people = []
    for path in _json_files(source):
        document = _load_json(path)
        if isinstance(document, list):
            records = [(f"[{i}]", record) for i, record in enumerate(document)]
        else:
            records = [("", document)]
        for where, record in records:
            people.extend(_read_record(path, where, record, min_confidence, boxes))
    return people


def read_coco_keypoints(
    path,
    image_root=None,
    min_keypoints=DEFAULT_MIN_COCO_KEYPOINTS,
    min_confidence=0.0,
    boxes="file",
):
    """Reads a COCO person-keypoints annotation file into `PersonFrame`s.

    Images are `image_root / file_name` (`image_root` defaults to the JSON file's folder;
    the images are not opened). Crowd annotations (`iscrowd` 1) are skipped, and so are
    people with fewer than `min_keypoints` labelled keypoints (v > 0); joints with v = 0
    are missing. `min_confidence=2` keeps only joints labelled visible (v = 2). Each
    person's id is the annotation's `id`; its box is the annotation's `bbox` (the tight box
    around the present joints when `bbox` is absent, or always with `boxes="joints"`).
    People come out in the file's annotation order.

    Example:

    >>> import json, pathlib, tempfile
    >>> from posegan_zoo.data import read_coco_keypoints
    >>> keypoints = [0, 0, 0] * 5 + [60, 40, 2, 40, 40, 2] + [50, 90, 2] * 10
    >>> coco = {"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [
    ...     {"id": 5, "image_id": 1, "keypoints": keypoints, "bbox": [30, 30, 40, 70]},
    ...     {"id": 6, "image_id": 1, "keypoints": [0] * 51, "iscrowd": 1}]}
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "person_keypoints.json"
    >>> _ = path.write_text(json.dumps(coco))
    >>> [person] = read_coco_keypoints(path)
    >>> person.person_id, person.pose.joints[1].tolist(), bool(person.pose.visible[0])
    ('5', [50.0, 40.0], False)
    """
    _check_boxes_choice(boxes)
    if isinstance(min_keypoints, bool) or not isinstance(min_keypoints, int) or min_keypoints < 0:
        raise InvalidConfigError(
            f"`min_keypoints` must be a non-negative integer, got {min_keypoints!r}."
        )
    path = pathlib.Path(path)
    image_root = path.parent if image_root is None else pathlib.Path(image_root)
    document = _load_json(path)
    if not isinstance(document, dict):
        raise DataFormatError(
            f"{path}: a COCO annotation file must hold a JSON object with `images` and "
            f"`annotations`, got {_json_type(document)}."
        )
    images = {}
    for i, image in enumerate(_field(path, document, "images", list, "")):
        where = f"images[{i}]"
        _expect(path, image, dict, where)
        image_id = _field(path, image, "id", (int, str), where)
        file_name = _field(path, image, "file_name", str, where)
        images[image_id] = image_root / file_name

    layout = LAYOUTS["coco17"]
    size = 3 * layout.num_joints
    people = []
    for i, annotation in enumerate(_field(path, document, "annotations", list, "")):
        where = f"annotations[{i}]"
        _expect(path, annotation, dict, where)
        crowd = annotation.get("iscrowd", 0)
        if isinstance(crowd, bool) or crowd not in (0, 1):
            raise DataFormatError(f"{path}: {where}.iscrowd: expected 0 or 1, got {crowd!r}.")
        flat = _numbers(
            path, _field(path, annotation, "keypoints", list, where), f"{where}.keypoints"
        )
        if len(flat) != size:
            raise DataFormatError(
                f"{path}: {where}.keypoints: expected {size} numbers "
                f"({layout.num_joints} x, y, v triples), got {len(flat)}."
            )
        if crowd:
            continue
        keypoints = np.array(flat, dtype=np.float64).reshape(layout.num_joints, 3)
        if int((keypoints[:, 2] > 0).sum()) < min_keypoints:
            continue
        image_id = _field(path, annotation, "image_id", (int, str), where)
        if image_id not in images:
            raise DataFormatError(
                f"{path}: {where}.image_id: {image_id!r} is not the id of any entry in `images`."
            )
        box = None
        if "bbox" in annotation and boxes == "file":
            box = _box(path, annotation["bbox"], f"{where}.bbox")
        pose = _convert(path, keypoints, layout.name, min_confidence, f"{where}.keypoints")
        person_id = str(annotation.get("id", i))
        people.append(_person(path, where, images[image_id], person_id, pose, box))
    return people


def clips_from_people(people, ids=None):
    """Groups `PersonFrame`s into `Clip`s, one per person id, in order of first appearance.

    A person's clip is named by `ids` when given (a mapping or a function from the person's
    own id to a clip name; a person the mapping lacks keeps its own id), else by its own id.
    A person without an id is a clip of its own, named `<image>#<index in the input>`.
    Frames keep the input order.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.data import PersonFrame, clips_from_people
    >>> from posegan_zoo.pose import Pose
    >>> pose, box = Pose(np.zeros((14, 2))), [0, 0, 1, 1]
    >>> people = [PersonFrame(f"{k}.jpg", str(k), pose, box) for k in range(4)]
    >>> clips = clips_from_people(people, ids={"0": "ann", "2": "ann"})
    >>> [(clip.name, len(clip)) for clip in clips]
    [('ann', 2), ('1', 1), ('3', 1)]
    """
    if ids is None:

        def name_of(person_id):
            return person_id
    elif callable(ids):
        name_of = ids
    else:
        mapping = dict(ids)

        def name_of(person_id):
            return mapping.get(person_id, person_id)

    groups = collections.OrderedDict()
    for index, person in enumerate(people):
        if not isinstance(person, PersonFrame):
            raise InvalidConfigError(
                f"`people[{index}]` must be a PersonFrame, got {type(person).__name__}."
            )
        if person.person_id is None:
            key = f"{person.image}#{index}"
        else:
            key = str(name_of(person.person_id))
        groups.setdefault(key, []).append(person)
    return [
        Clip(
            name,
            [person.image for person in members],
            Pose.stack([person.pose for person in members]),
            np.stack([person.box for person in members]),
        )
        for name, members in groups.items()
    ]


def _read_record(path, prefix, record, min_confidence, boxes):
    where = prefix or "the top level"
    _expect(path, record, dict, where)
    dot = f"{prefix}." if prefix else ""
    image = _field(path, record, "image", str, prefix)
    layout_name = _field(path, record, "layout", str, prefix)
    if layout_name not in LAYOUTS:
        raise DataFormatError(
            f"{path}: {dot}layout: unknown layout {layout_name!r}; known layouts: "
            f"{', '.join(LAYOUTS)}."
        )
    layout = LAYOUTS[layout_name]
    image_path = path.parent / image
    seen_ids = {}
    people = []
    for i, entry in enumerate(_field(path, record, "people", list, prefix)):
        where = f"{dot}people[{i}]"
        _expect(path, entry, dict, where)
        keypoints = _keypoints(path, _field(path, entry, "keypoints", list, where), layout, where)
        person_id = entry.get("id")
        if person_id is not None:
            if isinstance(person_id, bool) or not isinstance(person_id, (str, int)):
                raise DataFormatError(
                    f"{path}: {where}.id: expected a string or an integer, got "
                    f"{_json_type(person_id)}."
                )
            person_id = str(person_id)
            if person_id in seen_ids:
                raise DataFormatError(
                    f"{path}: {where}.id: {person_id!r} already used by "
                    f"{dot}people[{seen_ids[person_id]}] in the same image; ids must be unique "
                    f"within an image."
                )
            seen_ids[person_id] = i
        box = None
        if entry.get("box") is not None and boxes == "file":
            box = _box(path, entry["box"], f"{where}.box")
        pose = _convert(path, keypoints, layout.name, min_confidence, f"{where}.keypoints")
        people.append(_person(path, where, image_path, person_id, pose, box))
    return people


def _keypoints(path, value, layout, where):
    """`value` as a `(K, 3)` array (confidence 1 for [x, y] entries, null -> NaN)."""
    count = layout.num_joints
    field = f"{where}.keypoints"
    if value and not isinstance(value[0], list):
        flat = _numbers(path, value, field, allow_null=True)
        if len(flat) != 3 * count:
            raise DataFormatError(
                f"{path}: {field}: layout {layout.name!r} has K = {count} joints: expected "
                f"{count} [x, y] or [x, y, c] entries or {3 * count} flat numbers, got "
                f"{len(flat)} numbers."
            )
        return np.array(flat, dtype=np.float64).reshape(count, 3)
    if len(value) != count:
        raise DataFormatError(
            f"{path}: {field}: layout {layout.name!r} has K = {count} joints: expected "
            f"{count} [x, y] or [x, y, c] entries, got {len(value)}."
        )
    rows = np.ones((count, 3))
    for k, point in enumerate(value):
        name = f"{field}[{k}]"
        if not isinstance(point, list) or len(point) not in (2, 3):
            raise DataFormatError(
                f"{path}: {name}: expected [x, y] or [x, y, c], got {_json_type(point)}"
                + (f" of length {len(point)}" if isinstance(point, list) else "")
                + "."
            )
        rows[k, : len(point)] = _numbers(path, point, name, allow_null=True)
    return rows


def _numbers(path, values, field, allow_null=False):
    """The JSON numbers in list `values` as floats (null -> NaN when allowed)."""
    out = []
    for k, value in enumerate(values):
        if value is None and allow_null:
            out.append(math.nan)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append(float(value))
        else:
            raise DataFormatError(
                f"{path}: {field}[{k}]: expected a number, got {_json_type(value)} {value!r}."
            )
    return out


def _box(path, value, field):
    _expect(path, value, list, field)
    numbers = _numbers(path, value, field)
    if len(numbers) != 4:
        raise DataFormatError(
            f"{path}: {field}: expected 4 numbers [x, y, w, h], got {len(numbers)}."
        )
    box = np.array(numbers)
    if not np.isfinite(box).all() or (box[2:] < 0).any():
        raise DataFormatError(
            f"{path}: {field}: expected finite [x, y, w, h] with w, h >= 0, got {numbers}."
        )
    return box


def _convert(path, keypoints, layout, min_confidence, field):
    if np.isinf(keypoints).any():
        raise DataFormatError(f"{path}: {field}: holds an infinite value.")
    return to_posewarp_pose(keypoints, layout, min_confidence=min_confidence)


def _person(path, where, image, person_id, pose, box):
    if box is None:
        if not pose.visible.any():
            raise DataFormatError(
                f"{path}: {where}: no box and no present joint to derive one from."
            )
        present = pose.joints[pose.visible]
        low, high = present.min(axis=0), present.max(axis=0)
        box = np.concatenate([low, high - low])
    return PersonFrame(image, person_id, pose, box, source=f"{path}: {where}")


def _json_files(source):
    if isinstance(source, (str, pathlib.Path)):
        source = pathlib.Path(source)
        if source.is_dir():
            files = sorted(
                (p for p in source.iterdir() if p.is_file() and p.suffix.lower() == ".json"),
                key=_natural_key,
            )
            if not files:
                raise DataFormatError(f"keypoint folder {str(source)!r} holds no .json file.")
            return files
        return [source]
    return [pathlib.Path(p) for p in source]


def _natural_key(path):
    return [int(part) if part.isdigit() else part for part in re.split(r"([0-9]+)", path.name)]


def _load_json(path):
    return read_json(path, DataFormatError, what="keypoint file")


def _field(path, mapping, key, kind, where):
    """`mapping[key]`, checked against `kind`, or a DataFormatError naming `where.key`."""
    name = f"{where}.{key}" if where else key
    if key not in mapping:
        raise DataFormatError(f"{path}: {name}: missing (a required field).")
    value = mapping[key]
    _expect(path, value, kind, name)
    return value


def _expect(path, value, kind, name):
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) or not isinstance(value, kinds):
        expected = " or ".join(_JSON_NAMES[k] for k in kinds)
        raise DataFormatError(f"{path}: {name}: expected {expected}, got {_json_type(value)}.")


_JSON_NAMES = {dict: "an object", list: "a list", str: "a string", int: "an integer"}


def _json_type(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return _JSON_NAMES.get(type(value), type(value).__name__)


def _check_boxes_choice(boxes):
    if boxes not in _BOX_CHOICES:
        raise InvalidConfigError(f"`boxes` must be one of {_BOX_CHOICES}, got {boxes!r}.")
