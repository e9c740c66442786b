"""`Clip`: frames of one person with their poses, the unit that pair sampling draws from."""

import dataclasses
import pathlib

import numpy as np

from posegan_zoo.errors import DataFormatError, InvalidPoseError
from posegan_zoo.pose import Pose


@dataclasses.dataclass(frozen=True)
class Clip:
    """Frames showing one person (a video, or every photo of one person id).

    Attributes:
        name: the video name or person id.
        frame_paths: one image file per frame, in order.
        poses: a `Pose` of batch shape `(num_frames,)`, in the frames' pixel coordinates.
        boxes: `(num_frames, 4)` float64 person boxes as (x, y, width, height).
        mask_paths: None, or one person-mask image per frame (8-bit grey, 255 = person),
            in the order of `frame_paths`.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.data import Clip
    >>> from posegan_zoo.pose import Pose
    >>> clip = Clip("demo", ["a.jpg", "b.jpg"], Pose(np.zeros((2, 14, 2))), np.ones((2, 4)))
    >>> len(clip), clip.box_centres().tolist()
    (2, [[1.5, 1.5], [1.5, 1.5]])
    >>> clip.mask_paths is None
    True
    """

    name: str
    frame_paths: tuple
    poses: Pose
    boxes: np.ndarray
    mask_paths: tuple | None = None

    def __post_init__(self):
        object.__setattr__(self, "frame_paths", tuple(pathlib.Path(p) for p in self.frame_paths))
        boxes = np.asarray(self.boxes, dtype=np.float64)
        object.__setattr__(self, "boxes", boxes)
        count = len(self.frame_paths)
        if not isinstance(self.poses, Pose) or self.poses.batch_shape != (count,):
            shape = self.poses.batch_shape if isinstance(self.poses, Pose) else type(self.poses)
            raise InvalidPoseError(
                f"clip {self.name!r}: `poses` must be a Pose of batch shape ({count},), one per "
                f"frame, got {shape}."
            )
        if boxes.shape != (count, 4):
            raise InvalidPoseError(
                f"clip {self.name!r}: `boxes` must have shape ({count}, 4) as (x, y, w, h), "
                f"got {boxes.shape}."
            )
        if self.mask_paths is not None:
            masks = tuple(pathlib.Path(p) for p in self.mask_paths)
            object.__setattr__(self, "mask_paths", masks)
            if len(masks) != count:
                raise DataFormatError(
                    f"clip {self.name!r}: `mask_paths` must hold one mask per frame ({count}), "
                    f"got {len(masks)}."
                )

    def __len__(self):
        return len(self.frame_paths)

    def box_centres(self):
        """`(num_frames, 2)` box centres (x, y)."""
        return self.boxes[:, :2] + self.boxes[:, 2:] / 2.0
