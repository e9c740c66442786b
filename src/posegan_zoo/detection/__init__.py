"""Offline 2D pose detection: the bundled BlazePose models, run with LiteRT.

Example:

>>> import numpy as np
>>> from posegan_zoo.detection import detect_poses
>>> detect_poses(np.zeros((32, 32, 3), np.uint8))
[]
"""

from posegan_zoo.detection.detector import (
    PersonDetection,
    PoseDetector,
    detect_pose,
    detect_poses,
)
from posegan_zoo.detection.geometry import RotatedRect

__all__ = ["PersonDetection", "PoseDetector", "RotatedRect", "detect_pose", "detect_poses"]
