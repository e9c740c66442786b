"""Bilinear sampling of PoseWarp's limb layers, compiled with XLA.

`LayerWarp` reads each of the L limb layers (the image times one soft mask) at its own
affine map. TensorFlow's `ImageProjectiveTransformV3` takes one transform per image, so it
needs the layers laid out as a batch of images (a large transpose on the way in and one on
the way out), and the gradient registered for it warps the output gradient back by the
inverse maps, which is not the adjoint of bilinear sampling. Here the layers are one table
of rows (the padded image times each mask, layer axis before the channels); each output
pixel of each layer gathers the four rows of its 2 x 2 footprint, and the samples come out
in `(batch, H, W, L * C)` order. The gradient is the exact adjoint, a scatter-add with the
same weights, as with the authors' gather sampler.

Three XLA computations: the table, the taps (footprint row and bilinear fractions, once
per output pixel and layer) and the gather. Kept apart on purpose: fused, XLA recomputes
the taps for every channel of every gathered row, which measured slower than writing them.

The table is padded by one pixel on each side, which gives both arithmetics the same index
computation: a sample at (x, y) reads padded position (x + 1, y + 1), clamped to the padded
frame. With zero padding that is "standard" sampling (zero outside the frame, fading to
zero over the one pixel around it); with reflect padding it is the reference's (a
reflect-padded copy, clamped at its border).
"""

import tensorflow as tf

PAD_MODES = {"standard": "CONSTANT", "reference": "REFLECT"}


def layer_table(image, masks, resampling):
    """`(batch, H + 2, W + 2, L, C)` padded layers: the image times each mask.

    Args:
        image: `(batch, H, W, C)`.
        masks: `(batch, H, W, L)`, the masks of the layers to warp.
        resampling: "standard" (zero padding) or "reference" (reflect padding).
    """
    padding = ((0, 0), (1, 1), (1, 1), (0, 0))
    mode = PAD_MODES[resampling]
    # Padding the small inputs first keeps the large product a plain (fast) XLA loop.
    return _masked_layers(tf.pad(image, padding, mode=mode), tf.pad(masks, padding, mode=mode))


@tf.function(jit_compile=True)
def _masked_layers(image, masks):
    return image[:, :, :, None, :] * masks[..., None]


@tf.function(jit_compile=True)
def sampling_taps(transforms, height, width):
    """Where each output pixel of each layer reads the padded table, and how.

    Args:
        transforms: `(batch, 2, 3, L)` float32 maps, output pixel (x, y, 1) -> input pixel.
        height, width: output (and input) size.

    Returns:
        `rows` `(batch, H, W, L)` int32: the top-left row of the 2 x 2 footprint in the
        example's flattened table `((H + 2) * (W + 2) * L, C)`; `fx`, `fy`
        `(batch, H, W, L, 1)` float32: the bilinear fractions along x and y.
    """
    num_layers = transforms.shape[-1]
    xs = tf.range(width, dtype=tf.float32)[None, None, :, None]
    ys = tf.range(height, dtype=tf.float32)[None, :, None, None]

    def padded_coordinate(row, size):
        matrix = transforms[:, row, :, None, None, :]  # (batch, 3, 1, 1, L)
        coordinate = matrix[:, 0] * xs + matrix[:, 1] * ys + matrix[:, 2] + 1.0
        coordinate = tf.clip_by_value(coordinate, 0.0, float(size + 1))
        start = tf.minimum(tf.floor(coordinate), float(size))
        return tf.cast(start, tf.int32), (coordinate - start)[..., None]

    x0, fx = padded_coordinate(0, width)
    y0, fy = padded_coordinate(1, height)
    rows = (y0 * (width + 2) + x0) * num_layers + tf.range(num_layers)
    return rows, fx, fy


def sample_layers(table, rows, fx, fy):
    """Bilinear samples of the padded layer table: `(batch, H, W, L * C)`.

    Differentiable with respect to `table` (the exact adjoint); `rows`, `fx` and `fy`
    come from `sampling_taps` and get no gradient.
    """
    table_shape = tuple(table.shape[1:])

    @tf.custom_gradient
    def sample(table):
        def gradient(upstream):
            # XLA runs a scatter on one thread: the footprint's top and bottom taps are two
            # computations that TensorFlow runs side by side (in a graph).
            top = _scatter_taps(upstream, rows, fx, fy, table_shape, (0, 1))
            bottom = _scatter_taps(upstream, rows, fx, fy, table_shape, (2, 3))
            return top + bottom

        return _gather_taps(table, rows, fx, fy), gradient

    return sample(table)


def _tap_offsets(padded_width, num_layers):
    """Row offsets of the footprint's (top-left, top-right, bottom-left, bottom-right)."""
    return (0, num_layers, padded_width * num_layers, (padded_width + 1) * num_layers)


def _tap_weights(fx, fy):
    """Bilinear weights of the four taps, in `_tap_offsets` order."""
    return ((1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy)


@tf.function(jit_compile=True)
def _gather_taps(table, rows, fx, fy):
    batch, height, width, num_layers = (tf.shape(rows)[0], *rows.shape[1:])
    channels = table.shape[-1]
    flat = tf.reshape(table, (batch, -1, channels))
    fx, fy = tf.cast(fx, table.dtype), tf.cast(fy, table.dtype)
    offsets = _tap_offsets(table.shape[2], num_layers)
    samples = tf.add_n(
        [
            tf.gather(flat, rows + offset, batch_dims=1) * weight
            for offset, weight in zip(offsets, _tap_weights(fx, fy), strict=True)
        ]
    )
    return tf.reshape(samples, (batch, height, width, num_layers * channels))


@tf.function(jit_compile=True)
def _scatter_taps(upstream, rows, fx, fy, table_shape, taps):
    """The part of the table's gradient that the taps `taps` (indices 0-3) carry."""
    batch, height, width, num_layers = (tf.shape(rows)[0], *rows.shape[1:])
    channels = table_shape[-1]
    table_rows = table_shape[0] * table_shape[1] * table_shape[2]
    upstream = tf.reshape(upstream, (batch, height, width, num_layers, channels))
    fx, fy = tf.cast(fx, upstream.dtype), tf.cast(fy, upstream.dtype)
    # Global rows of the batch's table, in int64: a big batch can pass 2**31 rows.
    example_start = tf.range(batch, dtype=tf.int64)[:, None, None, None] * table_rows
    offsets, weights = _tap_offsets(table_shape[1], num_layers), _tap_weights(fx, fy)
    gradient = tf.zeros((batch * table_rows, channels), upstream.dtype)
    for tap in taps:
        index = example_start + tf.cast(rows + offsets[tap], tf.int64)
        gradient = tf.tensor_scatter_nd_add(gradient, index[..., None], upstream * weights[tap])
    return tf.reshape(gradient, (batch, *table_shape))
