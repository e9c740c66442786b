"""Drawing helpers: images in [-1, 1] to uint8, and skeleton overlays."""

import numpy as np
from PIL import ImageDraw

from posegan_zoo.pose import BONES

SOURCE_COLOUR, TARGET_COLOUR = (64, 160, 255), (255, 64, 64)


def to_uint8(images):
    """Images in [-1, 1] (any shape) as uint8 in [0, 255].

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.visualize import to_uint8
    >>> to_uint8(np.array([-1.0, 0.0, 1.0])).tolist()
    [0, 128, 255]
    """
    return np.uint8(np.clip((np.asarray(images, np.float32) + 1.0) * 127.5, 0, 255).round())


def draw_skeleton(image, keypoints, colour=TARGET_COLOUR, width=2):
    """Draws the bones between present joints of `keypoints` (`(14, 2)`, NaN = missing)
    onto the PIL `image` in place, and returns it.

    Example:

    >>> import numpy as np
    >>> from PIL import Image
    >>> from posegan_zoo.visualize import draw_skeleton
    >>> joints = np.stack([np.full(14, 16.0), np.linspace(2, 30, 14)], axis=-1)
    >>> image = draw_skeleton(Image.new("RGB", (32, 32)), joints)
    >>> image.getpixel((16, 10)) != (0, 0, 0)
    True
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    draw = ImageDraw.Draw(image)
    for a, b in BONES:
        if np.isfinite(keypoints[[a, b]]).all():
            draw.line([tuple(keypoints[a]), tuple(keypoints[b])], fill=colour, width=width)
    return image
