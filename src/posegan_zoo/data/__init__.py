"""Pose data: dataset readers, keypoint layout conversion, and the training-pair pipeline.

Example:

>>> from posegan_zoo.data import LAYOUTS
>>> sorted(LAYOUTS)
['blazepose33', 'coco17', 'lsp14', 'openpose18', 'openpose25', 'posewarp14']
"""

from posegan_zoo.data.augment import Augmentation
from posegan_zoo.data.clip import Clip
from posegan_zoo.data.keypoints_json import (
    PersonFrame,
    clips_from_people,
    read_coco_keypoints,
    read_keypoints_json,
)
from posegan_zoo.data.pipeline import holdout_split, pair_dataset
from posegan_zoo.data.posewarp_format import (
    read_posewarp_dataset,
    read_posewarp_info,
    write_posewarp_info,
)
from posegan_zoo.data.prepare import prepare_videos
from posegan_zoo.pose.layouts import LAYOUTS, Layout, get_layout, to_posewarp_pose

__all__ = [
    "LAYOUTS",
    "Augmentation",
    "Clip",
    "Layout",
    "PersonFrame",
    "clips_from_people",
    "get_layout",
    "holdout_split",
    "pair_dataset",
    "prepare_videos",
    "read_coco_keypoints",
    "read_keypoints_json",
    "read_posewarp_dataset",
    "read_posewarp_info",
    "to_posewarp_pose",
    "write_posewarp_info",
]
