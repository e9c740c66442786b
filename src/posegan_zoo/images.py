"""Reading user images: any path, PIL image or array becomes an RGB uint8 array.

Pillow decodes the file; what `Image.convert("RGB")` gets wrong is handled here: 16-bit
and 32-bit grey images are rescaled from their own range (a plain conversion clips every
value above 255 to white), CMYK and palette images are converted to RGB, and EXIF
orientation is applied so a phone photo is upright.
"""

import pathlib

import numpy as np
from PIL import Image, ImageOps

from posegan_zoo.errors import InvalidImageError

MIN_IMAGE_SIZE = 8

# Pillow's modes of more than 8 bits per sample, and the largest value each can hold.
_WIDE_MODES = {"I;16": 65535, "I;16L": 65535, "I;16B": 65535, "I;16N": 65535, "I": 65535}


def _from_pil(opened):
    opened = ImageOps.exif_transpose(opened)
    if opened.mode in _WIDE_MODES or opened.mode == "F":
        values = np.asarray(opened, dtype=np.float64)
        if opened.mode == "F":
            top = 1.0 if values.max(initial=0.0) <= 1.0 else 255.0
        else:
            # A 16-bit PNG uses 0..65535; a 32-bit "I" image that stays within 0..255 is an
            # 8-bit image stored wide.
            top = 255.0 if values.max(initial=0.0) <= 255 else _WIDE_MODES[opened.mode]
        grey = np.uint8(np.clip(np.round(values / top * 255.0), 0, 255))
        return np.repeat(grey[..., None], 3, axis=-1)
    return np.asarray(opened.convert("RGB"))


def load_image(image, name="image"):
    """An RGB uint8 `(H, W, 3)` array from a path, a PIL image or an array.

    Arrays may be uint8, or float in [0, 1]; `(H, W)` grey and `(H, W, 4)` RGBA are
    accepted. Images smaller than 8 x 8 pixels, unreadable, truncated or oversized
    (decompression-bomb) files raise `InvalidImageError` naming `name` and the file.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.images import load_image
    >>> load_image(np.zeros((16, 12), np.float32)).shape
    (16, 12, 3)
    """
    if isinstance(image, (str, pathlib.Path)):
        try:
            with Image.open(image) as opened:
                opened.load()
                array = _from_pil(opened)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
            raise InvalidImageError(f"`{name}`: cannot read {image}: {error}") from None
        return _check_size(array, name, f" ({image})")
    if isinstance(image, Image.Image):
        return _check_size(_from_pil(image), name, "")
    if isinstance(image, (bytes, bytearray, memoryview)):
        raise InvalidImageError(
            f"`{name}` must be a file path, a PIL image or an array, got "
            f"{type(image).__name__}; wrap encoded bytes with PIL.Image.open(io.BytesIO(...))."
        )
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=-1)
    if array.ndim != 3 or array.shape[-1] not in (3, 4):
        raise InvalidImageError(
            f"`{name}` must be (H, W, 3) RGB, (H, W, 4) RGBA or (H, W) grey, got shape "
            f"{array.shape}."
        )
    _check_size(array, name, "")
    array = array[..., :3]
    if array.dtype == np.uint8:
        return array
    if not np.issubdtype(array.dtype, np.floating):
        raise InvalidImageError(f"`{name}` must be uint8 or float in [0, 1], got {array.dtype}.")
    if not np.isfinite(array).all():
        raise InvalidImageError(
            f"`{name}`: float images must be finite; this one holds NaN or inf."
        )
    if array.min() < 0 or array.max() > 1:
        raise InvalidImageError(
            f"`{name}`: float images must be in [0, 1], got values in "
            f"[{array.min():.3g}, {array.max():.3g}]."
        )
    return np.uint8(np.round(array * 255))


def _check_size(array, name, where):
    if min(array.shape[:2]) < MIN_IMAGE_SIZE:
        raise InvalidImageError(
            f"`{name}`{where} must be at least {MIN_IMAGE_SIZE} x {MIN_IMAGE_SIZE} pixels, got "
            f"{array.shape[1]} x {array.shape[0]}."
        )
    return array
