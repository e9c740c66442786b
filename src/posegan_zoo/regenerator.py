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

from posegan_zoo.errors import InvalidImageError, InvalidPoseError
from posegan_zoo.images import load_image
from posegan_zoo.metrics import image_metrics
from posegan_zoo.models.posewarp.inputs import posewarp_inputs
from posegan_zoo.pose import Pose, crop_matrix, crop_scale, mask_log_prior, person_scale
from posegan_zoo.pose.crop import warp_image
from posegan_zoo.presets import load_preset, registry
from posegan_zoo.presets.mixin import PresetMixin
from posegan_zoo.training.checkpoints import atomic_path

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


def _person_centre(pose):
    joints = pose.joints[pose.visible]
    return (joints.min(axis=0) + joints.max(axis=0)) / 2.0


def _foreground(pose, size):
    prior = np.exp(mask_log_prior(pose, size))
    return (prior[..., 0] < _FOREGROUND_THRESHOLD).astype(np.float32)


def _paste(frame, crop, matrix):
    """`frame` with `crop` (in [-1, 1]) warped back into it, feathered at the crop's edge."""
    inverse = np.vstack([matrix, [0, 0, 1]])
    inverse = np.linalg.inv(inverse)[:2]
    height, width = frame.shape[:2]
    crop = np.asarray(crop, np.float32)
    alpha = np.ones((*crop.shape[:2], 1), np.float32)
    alpha[:2], alpha[-2:], alpha[:, :2], alpha[:, -2:] = 0.0, 0.0, 0.0, 0.0
    pasted = warp_image(np.concatenate([(crop + 1) * 127.5, alpha], -1), inverse, (height, width))
    colour, weight = pasted[..., :3], np.clip(pasted[..., 3:], 0, 1)
    blended = weight * colour + (1 - weight) * frame.astype(np.float32)
    return np.uint8(np.clip(blended, 0, 255).round())


class PoseRegenerator(PresetMixin):
    """Fake generation, original recovery and comparison, for images of any size.

    Calling it with an image, its pose and a target pose crops the person with the paper's
    recipe (both poses framed alike) at the generator's size, makes the fake (the person
    in the target pose), regenerates the original pose from the fake, pastes both back
    into the full frame, and measures how close the recovered crop is to the original.

    `PoseRegenerator.from_preset(handle)` loads any generator preset (an embedded name such
    as "warp-only", a local folder, or `hf://owner/name[@revision]`); `save_to_preset` and
    `push_to_hub` save its generator.

    Poses may be left out: the bundled pose detector then finds the person in the image
    (the largest one, or `person=K`), and the target can be a photo of someone in the
    target pose. A detected source person's segmentation, cropped like the image, goes to
    generators that read the optional input `"source_mask"` (`WarpOnlyGenerator`); on the
    way back their own person alpha of the fake does. Poses given as joints bring no mask.

    Args:
        generator: a model taking the PoseWarp input dict (`PoseWarpGenerator`,
            `UNetBaseline`, `WarpOnlyGenerator`, ...).
        detector: the `PoseDetector` used when a pose is not given (default: one made on
            first use).

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

    def __init__(self, generator, detector=None):
        self.generator = generator
        self.detector = detector
        self.image_size = tuple(generator.image_size)
        self._has_intermediates = (
            "return_intermediates" in inspect.signature(generator.call).parameters
        )
        # Generators that read the person's mask (`WarpOnlyGenerator`) get the detector's.
        self._takes_mask = self._has_intermediates and "source_mask" in getattr(
            generator, "optional_input_keys", ()
        )

    @classmethod
    def _from_preset_folder(cls, folder):
        return cls(load_preset(folder))

    def _preset_model(self):
        return self.generator

    @classmethod
    def list_presets(cls):
        """The embedded presets: every generator preset works with the regenerator."""
        return registry.list_presets()

    def _generate(self, image, source, target, source_mask=None):
        if not self._takes_mask:
            source_mask = None
        inputs = posewarp_inputs(image, source, target, source_mask=source_mask)
        if self._has_intermediates:
            out = self.generator(inputs, return_intermediates=True)
            out = {key: np.asarray(value) for key, value in out.items()}
            return out.pop("image"), out
        return np.asarray(self.generator(inputs)), {}

    def __call__(self, image, source_pose=None, target_pose=None, target_image=None, person=0):
        """Regenerates one image (or lists of images and poses: returns a list).

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
            return [
                self(*args, person=person)
                for args in zip(image, sources, targets, real, strict=True)
            ]
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
        frame = load_image(image)
        found = {}
        # The person's segmentation, when the detector found the source person.
        person_mask = None
        if source_pose is None:
            detection, found["source"] = self._detect(frame, person, "image", image)
            source = detection.pose
            if self._takes_mask:
                person_mask = detection.mask
        else:
            source = load_pose(source_pose, "source_pose")
        if target_pose is None:
            target_frame = load_image(target_people, "target_image")
            detection, found["target"] = self._detect(
                target_frame, person, "target_image", target_people
            )
            target = detection.pose
        else:
            target = load_pose(target_pose, "target_pose")
        try:
            scale = crop_scale([person_scale(source), person_scale(target)], self.image_size)
        except InvalidPoseError as error:
            raise InvalidPoseError(f"cannot frame the person: {error}") from None
        centre = (_person_centre(source) + _person_centre(target)) / 2.0
        matrix = crop_matrix(centre, scale, self.image_size)
        source_crop = warp_image(frame, matrix, self.image_size) / 127.5 - 1.0
        source_c, target_c = source.transform(matrix), target.transform(matrix)

        source_mask = None
        if person_mask is not None:
            source_mask = warp_image(person_mask[..., None], matrix, self.image_size)
            source_mask = np.clip(source_mask, 0.0, 1.0)
        fake, intermediates = self._generate(source_crop, source_c, target_c, source_mask)
        # The way back: the fake's person is where the forward pass laid it.
        fake_mask = None if source_mask is None else intermediates["foreground_mask"][0]
        recovered, _ = self._generate(fake[0], target_c, source_c, fake_mask)
        fake, recovered = fake[0], recovered[0]
        metrics = image_metrics(
            source_crop[None], recovered[None], _foreground(source_c, self.image_size)[None]
        )
        target_crop, fake_metrics = None, None
        if target_image is not None:
            target_frame = load_image(target_image, "target_image")
            target_crop = warp_image(target_frame, matrix, self.image_size) / 127.5 - 1.0
            fake_metrics = image_metrics(
                target_crop[None], fake[None], _foreground(target_c, self.image_size)[None]
            )
        return RegenerationResult(
            fake=_paste(frame, fake, matrix),
            recovered=_paste(frame, recovered, matrix),
            source_crop=source_crop.astype(np.float32),
            fake_crop=fake,
            recovered_crop=recovered,
            target_crop=None if target_crop is None else target_crop.astype(np.float32),
            intermediates={k: v[0] for k, v in intermediates.items()},
            metrics=metrics,
            fake_metrics=fake_metrics,
            crop=matrix,
            source_pose=source_c,
            target_pose=target_c,
            people_found=found,
        )

    def _detect(self, frame, person, name, given):
        """The `person`-th largest person in `frame` (a `PersonDetection`), and how many
        people were found."""
        from posegan_zoo.detection import PoseDetector
        from posegan_zoo.detection.detector import pick_person

        if self.detector is None:
            self.detector = PoseDetector()
        people = self.detector.detect(frame)
        return pick_person(people, person, name, given), len(people)

    def animate(self, image, pose, pose_sequence, out_dir, fps=8):
        """Renders the person in every pose of `pose_sequence`; writes PNG frames and a GIF.

        Returns the GIF's path. Frames are `frame-<k>.png`, the GIF `animation.gif`.
        """
        out_dir = pathlib.Path(out_dir)
        frames = []
        for k, target in enumerate(pose_sequence):
            fake = self(image, pose, target).fake
            frames.append(Image.fromarray(fake))
            with atomic_path(out_dir / f"frame-{k:04d}.png") as tmp:
                frames[-1].save(tmp, format="PNG")
        if not frames:
            raise InvalidPoseError("`pose_sequence` is empty.")
        path = out_dir / "animation.gif"
        with atomic_path(path) as tmp:
            frames[0].save(
                tmp,
                format="GIF",
                save_all=True,
                append_images=frames[1:],
                duration=int(1000 / fps),
                loop=0,
            )
        return path

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
