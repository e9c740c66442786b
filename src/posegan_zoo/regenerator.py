"""`PoseRegenerator`: move a person to a new pose, regenerate the original, and compare.

The facade composes loadable parts: a generator (any model taking the PoseWarp input dict:
`PoseWarpGenerator`, `UNetBaseline`, `WarpOnlyGenerator`), the paper's person crop, and
`posegan_zoo.metrics`.
"""

import dataclasses
import inspect
import pathlib

import numpy as np
from PIL import Image

from posegan_zoo.errors import InvalidConfigError, InvalidImageError, InvalidPoseError
from posegan_zoo.images import load_image
from posegan_zoo.metrics import image_metrics
from posegan_zoo.models.posewarp.inputs import posewarp_inputs
from posegan_zoo.models.posewarp.warp_only import reads_person_mask
from posegan_zoo.pose import Pose, crop_matrix, crop_scale, mask_log_prior, person_scale
from posegan_zoo.pose.crop import warp_image
from posegan_zoo.presets import load_generator, load_preset, registry
from posegan_zoo.presets.mixin import PresetMixin

# A pixel belongs to the person when the prior gives the background less than this.
_FOREGROUND_THRESHOLD = 0.5


@dataclasses.dataclass
class RegenerationResult:
    """What `PoseRegenerator` returns for one image.

    Attributes:
        fake: the full frame with the person moved to the target pose, uint8 `(H, W, 3)`.
        recovered: the full frame regenerated back into the original pose from `fake`.
        source_crop, fake_crop, recovered_crop: the person crops the model saw and made,
            float32 in [-1, 1] at the model's size.
        target_crop: the real target image's crop when one was given, else None.
        intermediates: the generator's intermediates on the way there (empty for models
            that have none).
        metrics: original vs recovered crop: "ssim", "masked_ssim" (on the person),
            "psnr", "l1".
        fake_metrics: fake vs the real target crop (same keys) when a target image was
            given, else None.
        crop: the 2x3 matrix from frame pixels to crop pixels.
        source_pose, target_pose: the poses in crop pixels.
        people_found: how many people the detector saw, by image ("source", "target"),
            for the images whose pose was detected; empty when every pose was given.
    """

    fake: np.ndarray
    recovered: np.ndarray
    source_crop: np.ndarray
    fake_crop: np.ndarray
    recovered_crop: np.ndarray
    target_crop: np.ndarray | None
    intermediates: dict
    metrics: dict
    fake_metrics: dict | None
    crop: np.ndarray
    source_pose: Pose
    target_pose: Pose
    people_found: dict = dataclasses.field(default_factory=dict)


def load_pose(pose, name="pose"):
    """A single `Pose` from a `Pose`, a `(14, 2)` / `(14, 3)` array, or a keypoint JSON file.

    A JSON file is read with `posegan_zoo.data.read_keypoints_json` (any supported layout);
    it must hold exactly one person. In a `(14, 3)` array the third column is a confidence:
    0 or less marks a missing joint.
    """
    if isinstance(pose, Pose):
        result = pose
    elif isinstance(pose, (str, pathlib.Path)):
        from posegan_zoo.data import read_keypoints_json

        people = read_keypoints_json(pose)
        if len(people) != 1:
            raise InvalidPoseError(
                f"`{name}`: {pose} holds {len(people)} people; give a file with exactly one."
            )
        result = people[0].pose
    else:
        try:
            array = np.asarray(pose, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidPoseError(
                f"`{name}` must be a Pose, numeric (14, 2) / (14, 3) joints or a keypoint JSON "
                f"file, got {type(pose).__name__}."
            ) from None
        if array.shape == (14, 3):
            array = np.where(array[:, 2:] > 0, array[:, :2], np.nan)
        try:
            result = Pose(array)
        except InvalidPoseError as error:
            raise InvalidPoseError(f"`{name}`: {error}") from None
    if result.batch_shape != ():
        raise InvalidPoseError(f"`{name}` must be one pose, got batch shape {result.batch_shape}.")
    if not result.visible.any():
        raise InvalidPoseError(f"`{name}` has no visible joint.")
    return result


_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def _is_image(value):
    """Whether a target given where a pose is expected is a photo rather than joints."""
    if isinstance(value, Image.Image):
        return True
    if isinstance(value, (str, pathlib.Path)):
        return pathlib.Path(value).suffix.lower() in _IMAGE_SUFFIXES
    return isinstance(value, np.ndarray) and value.ndim == 3 and value.shape[-1] in (3, 4)


@dataclasses.dataclass
class _Framing:
    """One photo framed for the generator: a batch row, and what its result keeps."""

    frame: np.ndarray
    matrix: np.ndarray
    source_crop: np.ndarray
    source: Pose
    target: Pose
    source_mask: np.ndarray | None
    target_image: object = None
    found: dict = dataclasses.field(default_factory=dict)


def _check_batch_size(batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise InvalidConfigError(f"`batch_size` must be a positive int, got {batch_size!r}.")
    if batch_size < 1:
        raise InvalidConfigError(f"`batch_size` must be a positive int, got {batch_size}.")
    return int(batch_size)


@dataclasses.dataclass
class _Person:
    """A person to frame: the pose, with the detector's box and mask when it found them."""

    pose: Pose
    box: np.ndarray | None = None
    mask: np.ndarray | None = None

    @property
    def centre(self):
        """The point the crop is framed on: the box's centre, as the training pipeline and
        evaluation frame a dataset's frames (whose boxes `prepare` takes from the detector);
        without a box, the middle of the visible joints' extent."""
        if self.box is not None:
            box = np.asarray(self.box, np.float64)
            return box[:2] + box[2:] / 2.0
        joints = self.pose.joints[self.pose.visible]
        return (joints.min(axis=0) + joints.max(axis=0)) / 2.0


def _foreground(pose, size):
    prior = np.exp(mask_log_prior(pose, size))
    return (prior[..., 0] < _FOREGROUND_THRESHOLD).astype(np.float32)


def _footprint(matrix, size, bounds):
    """The window `(x0, y0, x1, y1)` of a `bounds` (height, width) image that the `size`
    (height, width) image's pixels land in under the 2x3 `matrix` (with a 2-pixel margin
    for bilinear neighbours), clipped to the image; None when it misses the image."""
    height, width = size
    corners = np.array([[-1, -1, 1], [width, -1, 1], [-1, height, 1], [width, height, 1]], float)
    points = corners @ np.asarray(matrix, np.float64).T
    low = np.floor(points.min(axis=0)).astype(int) - 2
    high = np.ceil(points.max(axis=0)).astype(int) + 3
    x0, y0 = max(low[0], 0), max(low[1], 0)
    x1, y1 = min(high[0], bounds[1]), min(high[1], bounds[0])
    return None if x1 <= x0 or y1 <= y0 else (x0, y0, x1, y1)


def _shifted(matrix, dx, dy):
    """`matrix` (2x3) for input pixels counted from (dx, dy): `matrix @ (p + (dx, dy))`."""
    matrix = np.array(matrix, np.float64)
    matrix[:, 2] += matrix[:, :2] @ np.array([dx, dy], np.float64)
    return matrix


def _crop(frame, matrix, size):
    """`warp_image(frame, matrix, size)`, reading only the window of the frame the crop
    samples (a person's crop is a small part of a large photo)."""
    inverse = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2]
    window = _footprint(inverse, size, frame.shape[:2])
    if window is None:
        return np.zeros((*size, frame.shape[-1]), np.float32)
    x0, y0, x1, y1 = window
    return warp_image(frame[y0:y1, x0:x1], _shifted(matrix, x0, y0), size)


def _paste(frame, crop, matrix):
    """`frame` with `crop` (in [-1, 1]) warped back into it, feathered at the crop's edge.

    Only the window of the frame that the crop covers is resampled and blended."""
    inverse = np.vstack([matrix, [0, 0, 1]])
    inverse = np.linalg.inv(inverse)[:2]
    crop = np.asarray(crop, np.float32)
    result = np.array(frame, np.uint8)
    window = _footprint(inverse, crop.shape[:2], frame.shape[:2])
    if window is None:
        return result
    x0, y0, x1, y1 = window
    alpha = np.ones((*crop.shape[:2], 1), np.float32)
    alpha[:2], alpha[-2:], alpha[:, :2], alpha[:, -2:] = 0.0, 0.0, 0.0, 0.0
    # Window pixel q is frame pixel q + (x0, y0): shift the map's output by -(x0, y0).
    to_window = inverse - np.array([[0, 0, x0], [0, 0, y0]], np.float64)
    pasted = warp_image(
        np.concatenate([(crop + 1) * 127.5, alpha], -1), to_window, (y1 - y0, x1 - x0)
    )
    colour, weight = pasted[..., :3], np.clip(pasted[..., 3:], 0, 1)
    under = result[y0:y1, x0:x1].astype(np.float32)
    blended = weight * colour + (1 - weight) * under
    result[y0:y1, x0:x1] = np.uint8(np.clip(blended, 0, 255).round())
    return result


class PoseRegenerator(PresetMixin):
    """Fake generation, original recovery and comparison, for images of any size.

    Calling it with an image, its pose and a target pose crops the person with the paper's
    recipe (both poses framed alike) at the generator's size, makes the fake (the person
    in the target pose), regenerates the original pose from the fake, pastes both back
    into the full frame, and measures how close the recovered crop is to the original.

    `PoseRegenerator.from_preset(handle)` loads any generator handle (an embedded name such
    as "warp-only", a preset folder, `hf://owner/name[@revision]`, a training run folder or a
    `.keras` file); `save_to_preset` and `push_to_hub` save its generator.

    Poses may be left out: the bundled pose detector then finds the person in the image
    (the largest one, or `person=K`), and the target can be a photo of someone in the
    target pose. A detected source person's segmentation, cropped like the image, goes to
    generators that read the optional input `"source_mask"` (`WarpOnlyGenerator`); on the
    way back their own person alpha of the fake does. Poses given as joints bring no mask.

    The generator runs compiled (one `tf.function` per kind of call), on batches of up to
    `batch_size` images: a list of images, or the target poses of `generate_frames` (an
    animation), go through it one batch per call. A single image is a batch of one on the
    same path, so it gives the same numbers as the same image inside a batch.

    Args:
        generator: a model taking the PoseWarp input dict (`PoseWarpGenerator`,
            `UNetBaseline`, `WarpOnlyGenerator`, ...).
        detector: the `PoseDetector` used when a pose is not given (default: one made on
            first use).
        batch_size: images per generator call (default 8); the attribute can be changed.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo import PoseRegenerator, WarpOnlyGenerator
    >>> regenerator = PoseRegenerator(WarpOnlyGenerator(64))
    >>> rng = np.random.default_rng(0)
    >>> frame = rng.integers(0, 255, (120, 90, 3), dtype=np.uint8)
    >>> source = rng.uniform(20, 80, (14, 2)); target = source + 3.0
    >>> result = regenerator(frame, source, target)
    >>> result.fake.shape, sorted(result.metrics)
    ((120, 90, 3), ['l1', 'masked_ssim', 'psnr', 'ssim'])
    """

    def __init__(self, generator, detector=None, batch_size=8):
        self.generator = generator
        self.detector = detector
        self.batch_size = _check_batch_size(batch_size)
        self.image_size = tuple(generator.image_size)
        # The compiled calls of `generator`, by whether they return the intermediates.
        self._compiled = {}
        self._compiled_for = None
        self._has_intermediates = (
            "return_intermediates" in inspect.signature(generator.call).parameters
        )
        # Generators that read the person's mask (`WarpOnlyGenerator`) get the detector's.
        self._takes_mask = reads_person_mask(generator)

    @classmethod
    def from_preset(cls, handle, dtype=None, **hub_kwargs):
        """A regenerator around the generator of any generator handle.

        The handle is an embedded preset name, a preset folder, `hf://owner/name[@revision]`,
        a training run folder or a `.keras` file (see `posegan_zoo.presets.load_generator`);
        `dtype` runs the generator under another dtype policy (`"bf16"` for
        `"mixed_bfloat16"`, `"fp16"` for `"mixed_float16"`); `hub_kwargs` (`revision`,
        `cache_dir`, `local_files_only`, `token`, `endpoint`) apply to Hub handles.
        """
        return cls(load_generator(handle, dtype, **hub_kwargs))

    @classmethod
    def _from_preset_folder(cls, folder):
        return cls(load_preset(folder))

    def _preset_model(self):
        return self.generator

    @classmethod
    def list_presets(cls):
        """The embedded presets: every generator preset works with the regenerator."""
        return registry.list_presets()

    def _function(self, intermediates):
        """The compiled call of the generator (with or without its intermediates)."""
        if self._compiled_for is not self.generator:
            self._compiled, self._compiled_for = {}, self.generator
        intermediates = bool(intermediates and self._has_intermediates)
        function = self._compiled.get(intermediates)
        if function is None:
            import tensorflow as tf

            generator = self.generator
            if intermediates:

                def forward(inputs):
                    return generator(inputs, return_intermediates=True)
            else:

                def forward(inputs):
                    return generator(inputs)

            # One trace per input structure; a partial last batch generalizes the batch axis.
            function = tf.function(forward, reduce_retracing=True)
            self._compiled[intermediates] = function
        return function

    def _generate(self, images, sources, targets, masks=None, intermediates=False):
        """One compiled generator call on a batch: `(images, intermediates)` as numpy.

        `images` is `(batch, H, W, 3)` in [-1, 1], `sources` and `targets` lists of `Pose`
        in crop pixels, `masks` None or a `(batch, H, W, 1)` person mask (kept only for
        generators that read one). The intermediates are `{}` unless asked for and given.
        """
        if not self._takes_mask:
            masks = None
        inputs = posewarp_inputs(
            images, Pose.stack(sources), Pose.stack(targets), source_mask=masks
        )
        out = self._function(intermediates)(inputs)
        if isinstance(out, dict):
            out = {key: np.asarray(value) for key, value in out.items()}
            return out.pop("image"), out
        return np.asarray(out), {}

    def _batches(self, items, batch_size=None):
        """`items` (`_Framing`s) in batches of up to `batch_size`, in order; a batch never
        mixes items with and without a person mask."""
        batch_size = self.batch_size if batch_size is None else _check_batch_size(batch_size)
        batch = []
        for item in items:
            if batch and (
                len(batch) == batch_size
                or (batch[0].source_mask is None) != (item.source_mask is None)
            ):
                yield batch
                batch = []
            batch.append(item)
        if batch:
            yield batch

    @staticmethod
    def _masks(batch):
        if batch[0].source_mask is None:
            return None
        return np.stack([item.source_mask for item in batch])

    def __call__(self, image, source_pose=None, target_pose=None, target_image=None, person=0):
        """Regenerates one image (or lists of images and poses: returns a list).

        Lists go through the generator in batches of `batch_size`.

        Args:
            image: the photo (a path, PIL image or array).
            source_pose: the person's joints in `image` (a `Pose`, `(14, 2)` / `(14, 3)`
                array or keypoint JSON file); None detects them.
            target_pose: the pose to move the person to: joints as above, or a photo of
                someone in that pose (then it is also the real target for `fake_metrics`).
                None takes the pose of the person in `target_image`.
            target_image: a real photo in the target pose, for `fake_metrics`.
            person: which detected person to use when detecting (0 is the largest).
        """
        if isinstance(image, (list, tuple)):
            count = len(image)
            sources = [None] * count if source_pose is None else source_pose
            targets = [None] * count if target_pose is None else target_pose
            real = [None] * count if target_image is None else target_image
            if not (count == len(sources) == len(targets) == len(real)):
                raise InvalidImageError(
                    "a batch needs as many source poses, target poses (and target images) as "
                    "images."
                )
            items = [
                self._prepare(*args, person=person)
                for args in zip(image, sources, targets, real, strict=True)
            ]
            return self._regenerate(items)
        return self._regenerate(
            [self._prepare(image, source_pose, target_pose, target_image, person)]
        )[0]

    def _prepare(self, image, source_pose, target_pose, target_image, person):
        """Loads, detects and frames one image: a `_Framing`."""
        if _is_image(target_pose):
            if target_image is None:
                target_image = target_pose
            target_pose, target_people = None, target_pose
        else:
            target_people = target_image
        if target_pose is None and target_people is None:
            raise InvalidPoseError(
                "give `target_pose` (joints, a keypoint JSON file or a photo in that pose) or "
                "`target_image` (a photo whose person's pose is the target)."
            )
        frame, source, found = self._source(image, source_pose, person)
        if target_pose is None:
            target_frame = load_image(target_people, "target_image")
            detection, found["target"] = self._detect(
                target_frame, person, "target_image", target_people
            )
            target = _Person(detection.pose, detection.box)
        else:
            # Given joints are placed in the source photo, so they are checked against it.
            target = _Person(
                load_pose(target_pose, "target_pose").check_in_frame(
                    *frame.shape[:2], "target_pose"
                )
            )
        item = self._frame(frame, source, target)
        item.target_image, item.found = target_image, found
        return item

    def _source(self, image, source_pose, person):
        """`(frame, source _Person, people found)` for the source photo.

        A detected person keeps the detector's box, and its segmentation for generators
        that read a person mask."""
        frame = load_image(image)
        found = {}
        if source_pose is None:
            detection, found["source"] = self._detect(frame, person, "image", image)
            mask = detection.mask if self._takes_mask else None
            source = _Person(detection.pose, detection.box, mask)
        else:
            source = _Person(
                load_pose(source_pose, "source_pose").check_in_frame(
                    *frame.shape[:2], "source_pose"
                )
            )
        return frame, source, found

    def _frame(self, frame, source, target):
        """Both `_Person`s framed alike (the paper's crop, centred between the two as the
        training pipeline does) at the generator's size: a `_Framing`."""
        try:
            scales = [person_scale(source.pose), person_scale(target.pose)]
        except InvalidPoseError as error:
            raise InvalidPoseError(f"cannot frame the person: {error}") from None
        scale = crop_scale(scales, self.image_size)
        matrix = crop_matrix((source.centre + target.centre) / 2.0, scale, self.image_size)
        source_crop = _crop(frame, matrix, self.image_size) / 127.5 - 1.0
        source_mask = None
        if source.mask is not None:
            source_mask = _crop(source.mask[..., None], matrix, self.image_size)
            source_mask = np.clip(source_mask, 0.0, 1.0)
        return _Framing(
            frame=frame,
            matrix=matrix,
            source_crop=source_crop.astype(np.float32),
            source=source.pose.transform(matrix),
            target=target.pose.transform(matrix),
            source_mask=source_mask,
        )

    def _regenerate(self, items):
        """Fake, way back and metrics for every `_Framing`, a batch per generator call."""
        results = []
        for batch in self._batches(items):
            images = np.stack([item.source_crop for item in batch])
            sources = [item.source for item in batch]
            targets = [item.target for item in batch]
            masks = self._masks(batch)
            fakes, intermediates = self._generate(
                images, sources, targets, masks, intermediates=True
            )
            # The way back: the fake's person is where the forward pass laid it.
            fake_masks = None if masks is None else intermediates["foreground_mask"]
            recovered, _ = self._generate(fakes, targets, sources, fake_masks)
            for k, item in enumerate(batch):
                mine = {key: np.array(value[k]) for key, value in intermediates.items()}
                results.append(self._result(item, fakes[k], recovered[k], mine))
        return results

    def _result(self, item, fake, recovered, intermediates):
        source_crop, source_c, target_c = item.source_crop, item.source, item.target
        metrics = image_metrics(
            source_crop[None], recovered[None], _foreground(source_c, self.image_size)[None]
        )
        target_crop, fake_metrics = None, None
        if item.target_image is not None:
            target_frame = load_image(item.target_image, "target_image")
            target_crop = _crop(target_frame, item.matrix, self.image_size) / 127.5 - 1.0
            target_crop = target_crop.astype(np.float32)
            fake_metrics = image_metrics(
                target_crop[None], fake[None], _foreground(target_c, self.image_size)[None]
            )
        return RegenerationResult(
            fake=_paste(item.frame, fake, item.matrix),
            recovered=_paste(item.frame, recovered, item.matrix),
            source_crop=source_crop,
            fake_crop=np.array(fake),
            recovered_crop=np.array(recovered),
            target_crop=target_crop,
            intermediates=intermediates,
            metrics=metrics,
            fake_metrics=fake_metrics,
            crop=item.matrix,
            source_pose=source_c,
            target_pose=target_c,
            people_found=item.found,
        )

    def generate_frames(self, image, target_poses, source_pose=None, person=0, batch_size=None):
        """Yields, for each pose of `target_poses`, the full frame (uint8 `(H, W, 3)`, the
        photo's size) with the person moved to that pose: an animation's frames.

        The source person is read (or detected) once; the fakes are made in batches of
        `batch_size` target poses (default: the regenerator's), one compiled generator call
        per batch, with no way back. Frame k is `self(image, source_pose, target_poses[k])
        .fake`. `target_poses` is an iterable of poses (as for `target_pose`, in the photo's
        pixels) or a batched `Pose`; it is read lazily, one batch ahead.

        Example:

        >>> import numpy as np
        >>> from posegan_zoo import PoseRegenerator, WarpOnlyGenerator
        >>> regenerator = PoseRegenerator(WarpOnlyGenerator(64), batch_size=2)
        >>> rng = np.random.default_rng(0)
        >>> frame = rng.integers(0, 255, (120, 90, 3), dtype=np.uint8)
        >>> source = rng.uniform(20, 80, (14, 2))
        >>> frames = regenerator.generate_frames(frame, [source + k for k in range(3)], source)
        >>> [f.shape for f in frames]
        [(120, 90, 3), (120, 90, 3), (120, 90, 3)]
        """
        batch_size = self.batch_size if batch_size is None else _check_batch_size(batch_size)
        frame, source, _ = self._source(image, source_pose, person)
        return self._frames_from(frame, source, target_poses, batch_size)

    def _frames_from(self, frame, source, target_poses, batch_size=None):
        """`generate_frames` for a loaded photo and its source `_Person`."""
        if isinstance(target_poses, Pose):
            if target_poses.batch_shape == ():
                target_poses = [target_poses]
            elif len(target_poses.batch_shape) != 1:
                raise InvalidPoseError(
                    f"`target_poses` must be a sequence of poses, got batch shape "
                    f"{target_poses.batch_shape}."
                )
        items = (
            self._frame(frame, source, _Person(load_pose(target, f"target_poses[{k}]")))
            for k, target in enumerate(target_poses)
        )
        for batch in self._batches(items, batch_size):
            fakes, _ = self._generate(
                np.stack([item.source_crop for item in batch]),
                [item.source for item in batch],
                [item.target for item in batch],
                self._masks(batch),
            )
            for item, fake in zip(batch, fakes, strict=True):
                yield _paste(item.frame, fake, item.matrix)

    def _detect(self, frame, person, name, given):
        """The `person`-th largest person in `frame` (a `PersonDetection`), and how many
        people were found."""
        from posegan_zoo.detection import PoseDetector
        from posegan_zoo.detection.detector import pick_person

        if self.detector is None:
            self.detector = PoseDetector()
        people = self.detector.detect(frame)
        return pick_person(people, person, name, given), len(people)

    def animate(self, image, poses, out=None, **options):
        """Writes a video (`.mp4` or `.gif`) of the person in `image` following `poses`.

        `poses` is a pose sequence: a keypoint JSON folder, a prepared dataset, a video
        whose person the detector follows, or poses in memory. Keyword options
        (`source_pose`, `fps`, `frames_dir`, `batch_size`, `align`, ...) and the returned
        `Animation` are those of `posegan_zoo.animation.animate`.
        """
        from posegan_zoo.animation import animate

        return animate(self, image, poses, out, **options)

    @property
    def has_intermediates(self):
        """Whether the generator returns intermediates (source masks, warped limbs, ...)."""
        return self._has_intermediates

    def fine_tune(
        self,
        data,
        steps=500,
        batch_size=4,
        learning_rate=1e-4,
        reconstruction_loss="l1",
        seed=0,
        verbose=0,
    ):
        """Fine-tunes the generator on `data` (a dataset folder or a list of `Clip`s).

        Uses `PoseWarpTrainer` (stage 1) on `pair_dataset` crops at the generator's size
        with the paper's augmentation; returns the Keras history dict.
        """
        import keras

        from posegan_zoo.data import pair_dataset, read_posewarp_dataset
        from posegan_zoo.models import PoseWarpTrainer

        clips = read_posewarp_dataset(data) if isinstance(data, (str, pathlib.Path)) else data
        dataset = pair_dataset(clips, self.image_size, batch_size=batch_size, seed=seed)
        trainer = PoseWarpTrainer(self.generator)
        trainer.compile(
            generator_optimizer=keras.optimizers.Adam(learning_rate),
            reconstruction_loss=reconstruction_loss,
        )
        return trainer.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=verbose).history
