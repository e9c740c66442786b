"""`PoseDetector`: offline 2D pose detection with the bundled BlazePose models (LiteRT).

Two stages, as in MediaPipe's BlazePose: a person detector on the whole (letterboxed)
frame, then the landmark model on each person's upright, rotated region of interest. The
landmark model gives 33 landmarks (x, y, z, visibility, presence), a person presence flag
and a person segmentation mask; `track` feeds each frame's landmarks forward as the next
frame's region, and detects again when the person is lost.
"""

import dataclasses
import importlib.resources
import os

import numpy as np

from posegan_zoo.detection import geometry
from posegan_zoo.errors import InvalidConfigError, NoPersonError, WeightsUnavailableError
from posegan_zoo.images import load_image
from posegan_zoo.pose import JOINT_NAMES, NUM_JOINTS, Pose
from posegan_zoo.pose.layouts import LAYOUTS, to_posewarp_pose

NUM_LANDMARKS = 33
# Landmarks 33 and 34 (of 39) are the model's own body-centre and body-rim points: the
# region of interest of the next frame when tracking.
_TRACK_CENTRE, _TRACK_RIM = 33, 34

# Our joints' visibility comes from the BlazePose landmark of the same name; the neck and
# head are derived (see `posegan_zoo.pose.layouts`): the neck from both shoulders, the head
# from the face.
_BLAZEPOSE = LAYOUTS["blazepose33"]
_FACE = [
    _BLAZEPOSE.index(name) for name in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
]
_SHOULDERS = [_BLAZEPOSE.index(name) for name in ("left_shoulder", "right_shoulder")]


@dataclasses.dataclass
class PersonDetection:
    """One person found by `PoseDetector`, in the frame's pixels (pixel centres at integers).

    Attributes:
        pose: a `Pose` of the 14 joints; joints whose visibility is below the detector's
            `min_visibility` are missing (NaN).
        joints: `(14, 2)` (x, y) of every joint, visible or not.
        visibility: `(14,)` the model's probability that each joint is visible, in [0, 1].
        visible: `(14,)` bool, `visibility >= min_visibility`.
        score: the person's presence probability from the landmark model.
        box: `(4,)` (x, y, width, height) around the landmarks and joints.
        mask: `(H, W)` float32 person segmentation in [0, 1], the frame's size; mapped
            back from the model's crop when first read (it is the costliest step of a
            tracked frame, and many callers never read it).
        landmarks: `(33, 5)` BlazePose landmarks: x, y (pixels), z (pixels, relative to the
            hips; smaller is nearer), visibility and presence probabilities.
        region: the `RotatedRect` the landmark model saw (continuous pixel coordinates).
        next_region: the region the landmarks place the person in, the next video frame's
            region of interest when tracking.

    Example:

    >>> from posegan_zoo.detection import PoseDetector
    >>> photo = "examples/data/posewarp_tennis/frames/Flavia Pennetta in 4k/3.jpg"
    >>> person = PoseDetector().detect(photo)[0]
    >>> person.joints.shape, person.mask.shape, int(person.visible.sum())
    ((14, 2), (676, 1280), 14)
    """

    pose: Pose
    joints: np.ndarray
    visibility: np.ndarray
    visible: np.ndarray
    score: float
    box: np.ndarray
    landmarks: np.ndarray
    region: geometry.RotatedRect
    next_region: geometry.RotatedRect = dataclasses.field(default=None, repr=False)
    # The model's 256 x 256 segmentation on `region`, and the frame's (height, width).
    segmentation: np.ndarray = dataclasses.field(default=None, repr=False)
    frame_shape: tuple = dataclasses.field(default=None, repr=False)
    _mask: np.ndarray = dataclasses.field(default=None, init=False, repr=False, compare=False)

    @property
    def mask(self):
        if self._mask is None:
            self._mask = geometry.uncrop_mask(self.segmentation, self.region, *self.frame_shape)
        return self._mask


def _model_path(name):
    return importlib.resources.files("posegan_zoo.detection") / "models" / name


def _interpreter(name, num_threads):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as error:
        raise WeightsUnavailableError(
            f"pose detection needs LiteRT: `pip install ai-edge-litert` ({error})."
        ) from None
    path = _model_path(name)
    if not path.is_file():
        raise WeightsUnavailableError(f"the bundled BlazePose model {path} is missing.")
    interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
    interpreter.allocate_tensors()
    return interpreter


class _Model:
    """A LiteRT interpreter with its input index and output indices by tensor name."""

    def __init__(self, name, num_threads):
        self.interpreter = _interpreter(name, num_threads)
        self.input_index = self.interpreter.get_input_details()[0]["index"]
        self.outputs = {d["name"]: d["index"] for d in self.interpreter.get_output_details()}

    def __call__(self, tensor):
        self.interpreter.set_tensor(self.input_index, tensor[None].astype(np.float32))
        self.interpreter.invoke()
        return {name: self.interpreter.get_tensor(index)[0] for name, index in self.outputs.items()}


def _sigmoid(values):
    return 1.0 / (1.0 + np.exp(-np.clip(values, -80.0, 80.0)))


class PoseDetector:
    """Finds people and their 14 joints in photos and videos, offline (BlazePose, LiteRT).

    The models are MediaPipe's BlazePose person detector and "full" landmark model,
    bundled with the package (Apache-2.0). `detect` returns every person, most prominent
    (largest) first; `track` follows one person through video frames.

    Args:
        min_detection_score: the person detector's score a detection needs (0..1).
        min_presence: the landmark model's person presence a detection needs (0..1).
        min_visibility: a joint with a lower visibility probability is missing in `.pose`.
        max_people: at most this many people per image in `detect`.
        num_threads: CPU threads of each interpreter (default: all cores, at most 4).

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.detection import PoseDetector
    >>> detector = PoseDetector()
    >>> detector.detect(np.zeros((64, 48, 3), np.uint8))  # nobody in a black image
    []
    """

    def __init__(
        self,
        min_detection_score=0.5,
        min_presence=0.5,
        min_visibility=0.5,
        max_people=8,
        num_threads=None,
    ):
        for name, value in (
            ("min_detection_score", min_detection_score),
            ("min_presence", min_presence),
            ("min_visibility", min_visibility),
        ):
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise InvalidConfigError(f"`{name}` must be a number in [0, 1], got {value!r}.")
        if not isinstance(max_people, int) or max_people < 1:
            raise InvalidConfigError(f"`max_people` must be an integer >= 1, got {max_people!r}.")
        if num_threads is None:
            num_threads = min(4, len(os.sched_getaffinity(0)))
        self.min_detection_score = float(min_detection_score)
        self.min_presence = float(min_presence)
        self.min_visibility = float(min_visibility)
        self.max_people = max_people
        self._detector = _Model("pose_detection.tflite", num_threads)
        self._landmarker = _Model("pose_landmark_full.tflite", num_threads)
        self._anchors = geometry.detector_anchors()

    def regions(self, image):
        """The landmark model's regions of interest of every person the detector finds."""
        height, width = image.shape[:2]
        letterbox = geometry.frame_rect(height, width)
        tensor = geometry.crop(image, letterbox, geometry.DETECTOR_SIZE) / 127.5 - 1.0
        out = self._detector(tensor)
        scores, boxes, keypoints = geometry.decode_detections(
            out["Identity"], out["Identity_1"], self._anchors, self.min_detection_score
        )
        scores, boxes, keypoints = geometry.weighted_nms(scores, boxes, keypoints)
        return [
            geometry.rect_from_keypoints(*letterbox.to_frame(points[:2]))
            for points in keypoints[: self.max_people]
        ]

    def landmarks(self, image, region):
        """Runs the landmark model on `region`: a `PersonDetection`, or None if nobody is there."""
        height, width = image.shape[:2]
        tensor = geometry.crop(image, region, geometry.LANDMARK_SIZE) / 255.0
        out = self._landmarker(tensor)
        presence = float(np.asarray(out["Identity_1"]).reshape(-1)[0])
        if not presence >= self.min_presence:
            return None
        raw = out["Identity"].reshape(-1, 5).astype(np.float64)
        points = geometry.refine_from_heatmaps(
            raw[:, :2] / geometry.LANDMARK_SIZE, out["Identity_3"]
        )
        frame_points = region.to_frame(points) - 0.5  # continuous -> pixel centres at integers
        landmarks = np.concatenate(
            [
                frame_points,
                raw[:, 2:3] * region.side / geometry.LANDMARK_SIZE,
                _sigmoid(raw[:, 3:5]),
            ],
            axis=1,
        )
        segmentation = _sigmoid(out["Identity_2"][..., 0]).astype(np.float32)
        person = self._person(landmarks, presence, region)
        person.segmentation, person.frame_shape = segmentation, (height, width)
        person.next_region = geometry.rect_from_keypoints(
            *region.to_frame(points[[_TRACK_CENTRE, _TRACK_RIM]])
        )
        return person

    def _person(self, landmarks, presence, region):
        body = landmarks[:NUM_LANDMARKS]
        pose_all = to_posewarp_pose(body[:, :2], "blazepose33")
        visibility = np.zeros(NUM_JOINTS)
        for joint, name in enumerate(JOINT_NAMES):
            if name in _BLAZEPOSE.joint_names:
                visibility[joint] = body[_BLAZEPOSE.index(name), 3]
        visibility[JOINT_NAMES.index("neck")] = body[_SHOULDERS, 3].min()
        visibility[JOINT_NAMES.index("head")] = body[_FACE, 3].max()
        visible = visibility >= self.min_visibility
        joints = pose_all.joints
        points = np.concatenate([body[:, :2], joints])
        top_left, bottom_right = points.min(axis=0), points.max(axis=0)
        return PersonDetection(
            pose=Pose(np.where(visible[:, None], joints, np.nan)),
            joints=joints,
            visibility=visibility,
            visible=visible,
            score=presence,
            box=np.concatenate([top_left, bottom_right - top_left]),
            landmarks=body,
            region=region,
        )

    def detect(self, image):
        """Every person in `image` (a path, PIL image or array), the largest first."""
        frame = load_image(image)
        people = [self.landmarks(frame, region) for region in self.regions(frame)]
        people = [person for person in people if person is not None]
        people.sort(key=lambda person: -float(np.prod(person.box[2:])))
        return people

    def track(self, frames):
        """Follows the most prominent person through `frames`; yields a detection or None.

        Each frame's region of interest comes from the previous frame's body-centre and
        body-rim landmarks (MediaPipe's tracking); when the person is lost, or on the first
        frame, the detector looks for people again.
        """
        region = None
        for frame in frames:
            frame = load_image(frame, "frame")
            person = self.landmarks(frame, region) if region is not None else None
            if person is None:
                found = self.detect(frame)
                person = found[0] if found else None
            region = None if person is None else person.next_region
            yield person


_DEFAULT_DETECTOR = None


def _default_detector():
    global _DEFAULT_DETECTOR
    if _DEFAULT_DETECTOR is None:
        _DEFAULT_DETECTOR = PoseDetector()
    return _DEFAULT_DETECTOR


def detect_poses(image):
    """Every person in `image`, the largest first (a list of `PersonDetection`).

    Example:

    >>> import numpy as np
    >>> from posegan_zoo import detect_poses
    >>> detect_poses(np.zeros((64, 64, 3), np.uint8))
    []
    """
    return _default_detector().detect(image)


def detect_pose(image, person=0, name="image"):
    """The most prominent person in `image` (or the `person`-th largest): a `PersonDetection`.

    Raises `NoPersonError` naming the image when nobody (or fewer than `person + 1`
    people) is found.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo import detect_pose
    >>> from posegan_zoo.errors import NoPersonError
    >>> try:
    ...     detect_pose(np.zeros((64, 64, 3), np.uint8))
    ... except NoPersonError as error:
    ...     print(type(error).__name__)
    NoPersonError
    """
    return pick_person(detect_poses(image), person, name, image)


def pick_person(people, person, name, image):
    """`people[person]`, or `NoPersonError` naming the argument `name` and `image` (when a
    path) if there are not that many people."""
    where = f" {image}" if isinstance(image, (str, os.PathLike)) else ""
    if not people:
        raise NoPersonError(f"`{name}`{where}: no person found.")
    if person >= len(people):
        raise NoPersonError(
            f"`{name}`{where}: person {person} asked for, but {len(people)} found "
            f"(people are numbered from 0, the largest first)."
        )
    return people[person]
