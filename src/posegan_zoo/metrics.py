"""Image similarity metrics for images in [-1, 1]: SSIM, foreground-masked SSIM, PSNR, L1.

Each takes batches `(batch, H, W, C)` (or single images `(H, W, C)`) and returns one value
per image as a numpy array (a scalar for a single image).
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from posegan_zoo.errors import InvalidImageError

_RANGE = 2.0  # images live in [-1, 1]
_FILTER_SIZE, _FILTER_SIGMA = 11, 1.5
_K1, _K2 = 0.01, 0.03


def _pair(a, b):
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    if a.shape != b.shape or a.ndim not in (3, 4):
        raise InvalidImageError(
            f"metrics need two images or batches of the same shape (H, W, C) or "
            f"(batch, H, W, C), got {a.shape} and {b.shape}."
        )
    single = a.ndim == 3
    return (a[None], b[None], single) if single else (a, b, single)


def _finish(values, single):
    values = np.asarray(keras.ops.convert_to_numpy(values), dtype=np.float64)
    return values[0] if single else values


def ssim(a, b):
    """Structural similarity (11x11 Gaussian window, sigma 1.5), 1 for identical images.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.metrics import ssim
    >>> image = np.random.default_rng(0).uniform(-1, 1, (32, 32, 3))
    >>> float(ssim(image, image)), bool(ssim(image, np.zeros_like(image)) < 0.1)
    (1.0, True)
    """
    a, b, single = _pair(a, b)
    return _finish(tf.image.ssim(a, b, max_val=_RANGE), single)


def ssim_map(a, b):
    """Per-pixel SSIM `(batch, H, W)` (mean over channels), with 'same' padding."""
    a, b, _ = _pair(a, b)
    kernel, sigma = (_FILTER_SIZE, _FILTER_SIZE), (_FILTER_SIGMA, _FILTER_SIGMA)

    def blur(x):
        return ops.image.gaussian_blur(x, kernel_size=kernel, sigma=sigma)

    mean_a, mean_b = blur(a), blur(b)
    var_a = blur(a * a) - mean_a**2
    var_b = blur(b * b) - mean_b**2
    covariance = blur(a * b) - mean_a * mean_b
    c1, c2 = (_K1 * _RANGE) ** 2, (_K2 * _RANGE) ** 2
    value = ((2 * mean_a * mean_b + c1) * (2 * covariance + c2)) / (
        (mean_a**2 + mean_b**2 + c1) * (var_a + var_b + c2)
    )
    return ops.mean(value, axis=-1)


def masked_ssim(a, b, mask):
    """SSIM averaged over the pixels where `mask` (`(…, H, W)` or `(…, H, W, 1)`) is set.

    Use it with the person's mask to score the foreground alone. A mask that is empty for
    an image gives NaN for that image.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.metrics import masked_ssim
    >>> image = np.random.default_rng(0).uniform(-1, 1, (32, 32, 3))
    >>> other = image.copy(); other[:, 16:] = 0  # the right half differs
    >>> mask = np.zeros((32, 32)); mask[:, :8] = 1
    >>> round(float(masked_ssim(image, other, mask)), 3)
    1.0
    """
    a, b, single = _pair(a, b)
    weights = np.asarray(mask, dtype=np.float32)
    if weights.ndim == a.ndim:
        weights = weights[..., 0]
    weights = np.broadcast_to(weights, a.shape[:3]) if weights.ndim >= 2 else None
    if weights is None:
        raise InvalidImageError(f"`mask` must have shape (…, H, W), got {np.shape(mask)}.")
    values = ops.convert_to_numpy(ssim_map(a, b))
    total = weights.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        result = (values * weights).sum(axis=(1, 2)) / total
    return _finish(result, single)


def psnr(a, b):
    """Peak signal-to-noise ratio in dB (inf for identical images).

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.metrics import psnr
    >>> round(float(psnr(np.zeros((8, 8, 3)), np.full((8, 8, 3), 0.2))), 2)  # 20 log10(2/0.2)
    20.0
    """
    a, b, single = _pair(a, b)
    return _finish(tf.image.psnr(a, b, max_val=_RANGE), single)


def l1(a, b):
    """Mean absolute difference.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.metrics import l1
    >>> float(l1(np.zeros((4, 4, 3)), np.full((4, 4, 3), 0.5)))
    0.5
    """
    a, b, single = _pair(a, b)
    return _finish(np.abs(a - b).mean(axis=(1, 2, 3)), single)


def image_metrics(reference, image, foreground=None):
    """The standard set as a dict of floats (batch means): ssim, psnr, l1, masked_ssim."""
    values = {
        "ssim": ssim(reference, image),
        "psnr": psnr(reference, image),
        "l1": l1(reference, image),
    }
    if foreground is not None:
        values["masked_ssim"] = masked_ssim(reference, image, foreground)
    return {key: float(np.mean(value)) for key, value in values.items()}
