"""Small argument checks shared by the package (each raises a typed, named error)."""

from posegan_zoo.errors import InvalidConfigError

# The largest image side any model accepts: above it a config is a typo, and building the
# model would only fail later for want of memory.
MAX_IMAGE_SIDE = 4096
# The most channels of any one layer.
MAX_WIDTH = 8192


def as_image_size(value, name="image_size", multiple_of=1):
    """Returns `value` (an int or a (height, width) pair) as a tuple of two positive ints."""
    if isinstance(value, int) and not isinstance(value, bool):
        size = (value, value)
    else:
        try:
            size = tuple(int(v) for v in value)
        except (TypeError, ValueError):
            raise InvalidConfigError(
                f"`{name}` must be an int or a (height, width) pair, got {value!r}."
            ) from None
        if len(size) != 2 or any(float(v) != s for v, s in zip(value, size, strict=True)):
            raise InvalidConfigError(
                f"`{name}` must be an int or a (height, width) pair of ints, got {value!r}."
            )
    if min(size) <= 0 or size[0] % multiple_of or size[1] % multiple_of:
        raise InvalidConfigError(
            f"`{name}` must be positive and divisible by {multiple_of}, got {size}."
        )
    if max(size) > MAX_IMAGE_SIDE:
        raise InvalidConfigError(
            f"`{name}` must be at most {MAX_IMAGE_SIDE} pixels a side, got {size}."
        )
    return size


def as_widths(value, name, length):
    """Returns `value` as a tuple of `length` positive ints."""
    try:
        widths = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise InvalidConfigError(f"`{name}` must be a sequence of ints, got {value!r}.") from None
    if len(widths) != length or min(widths) <= 0 or max(widths) > MAX_WIDTH:
        raise InvalidConfigError(
            f"`{name}` must hold {length} ints in [1, {MAX_WIDTH}], got {list(widths)}."
        )
    return widths
