"""Per-pose numpy work: spreading it over the CPU cores, matrix products that stay on the
calling thread, scratch buffers, and output arrays that TensorFlow takes over without a copy.

numpy releases the GIL inside its array loops, so threads working on different poses of a
batch run in parallel, each with a working set small enough for its core's cache.
"""

import collections
import concurrent.futures
import contextlib
import os
import queue
import threading

import numpy as np

# Scratch buffers kept for reuse: a fresh multi-megabyte array is a fresh memory mapping,
# and faulting its pages in costs about as much as the work done in it.
_MAX_SPARE_SHAPES = 4
_spare_buffers = collections.OrderedDict()  # (shape, dtype) -> [arrays], least recent first
_spare_lock = threading.Lock()
# TensorFlow's CPU tensors are aligned to 64 bytes (EIGEN_MAX_ALIGN_BYTES).
_TENSOR_ALIGNMENT = 64
# OpenBLAS hands a matrix product above a size threshold to its own threads (2^18
# multiply-adds by default; between 0.85 and 1.6 million in the build numpy 2.4 ships,
# measured), which then spin for a while after it, taking the cores from the threads of
# `split_over_cores` (measured: the prior of a batch of 4 at 256 x 256 took 12.5 ms
# instead of 4.2).
_MAX_PRODUCT_ON_CALLING_THREAD = 2**18
# The helper threads of `split_over_cores`, started on first use and kept: starting and
# joining a thread per call cost about 0.08 ms, a call handed to a waiting one 0.04 ms.
_helpers = None
_helpers_lock = threading.Lock()


def usable_cores():
    """The number of CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def split_over_cores(function, count):
    """Spreads `range(count)` over one thread per core, each calling `function(indices)`.

    The calling thread works alongside helper threads (one per further core) that are
    started on first use and kept for later calls. The threads take indices from one shared
    queue, so each index goes to exactly one thread, whichever is free first: a core slowed
    by another process takes fewer poses (a fixed split waits for the slowed half). Only a
    call from the main thread fans out: a worker thread (a `tf.data` map, a user's thread
    pool) already has parallelism around it, and more threads would only contend. Returns
    when every thread is done; the first exception of any thread is raised here.

    Example:

    >>> from posegan_zoo.pose._parallel import split_over_cores
    >>> seen = []
    >>> split_over_cores(lambda indices: seen.extend(indices), 5)
    >>> sorted(seen)
    [0, 1, 2, 3, 4]
    """
    workers = min(count, usable_cores())
    if workers <= 1 or threading.current_thread() is not threading.main_thread():
        function(range(count))
        return
    errors = []

    def run(indices):
        try:
            function(indices)
        except BaseException as error:  # re-raised in the calling thread below
            errors.append(error)

    pending = queue.SimpleQueue()  # thread-safe by design, with or without a GIL
    for index in range(count):
        pending.put(index)

    def take_pending():
        while True:
            try:
                yield pending.get_nowait()
            except queue.Empty:
                return

    helping = []
    try:
        pool = _helper_pool()
        for _ in range(1, workers):
            helping.append(pool.submit(run, take_pending()))
    except RuntimeError:  # no new threads during interpreter shutdown: this thread does it all
        pass
    run(take_pending())
    concurrent.futures.wait(helping)
    if errors:
        raise errors[0]


def _helper_pool():
    global _helpers
    with _helpers_lock:
        if _helpers is None:
            _helpers = concurrent.futures.ThreadPoolExecutor(
                max_workers=max(1, usable_cores() - 1), thread_name_prefix="posegan_zoo.pose"
            )
        return _helpers


def _forget_helpers():
    # A child process made by fork() has none of its parent's threads: a pool copied from
    # the parent would queue work for threads that do not exist.
    global _helpers, _helpers_lock
    _helpers, _helpers_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_helpers)


def matmul_on_this_thread(a, b, out):
    """`np.matmul(a, b, out=out)`, in blocks of rows of `a` small enough that the BLAS
    library computes each product on the calling thread.

    `a` is `(..., M, K)` and `b` `(..., K, N)`; numpy multiplies a stack one matrix at a
    time, so the bound applies to each `(rows, K) x (K, N)` product.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.pose._parallel import matmul_on_this_thread
    >>> a, b, out = np.ones((2, 300, 3)), np.ones((2, 3, 1000)), np.empty((2, 300, 1000))
    >>> matmul_on_this_thread(a, b, out)
    >>> float(out.min()), float(out.max())
    (3.0, 3.0)
    """
    rows = max(1, _MAX_PRODUCT_ON_CALLING_THREAD // (b.shape[-2] * b.shape[-1]))
    for start in range(0, a.shape[-2], rows):
        block = slice(start, start + rows)
        np.matmul(a[..., block, :], b, out=out[..., block, :])


def aligned_empty(shape, dtype=np.float32):
    """`np.empty(shape, dtype)` whose data starts on a 64-byte boundary.

    TensorFlow wraps such an array as a tensor in place (a `tf.numpy_function` result, for
    instance), but copies a misaligned one; numpy's large arrays start 16 bytes past a page
    boundary, so the geometry of a training batch (15 MB at 256 x 256, batch 4) was copied
    once more on its way into the pipeline.

    Example:

    >>> from posegan_zoo.pose._parallel import aligned_empty
    >>> array = aligned_empty((3, 5))
    >>> array.shape, array.ctypes.data % 64
    ((3, 5), 0)
    """
    dtype = np.dtype(dtype)
    size = int(np.prod(shape)) * dtype.itemsize
    raw = np.empty(size + _TENSOR_ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % _TENSOR_ALIGNMENT
    return raw[start : start + size].view(dtype).reshape(shape)


@contextlib.contextmanager
def scratch_buffer(shape, dtype=np.float32):
    """A reusable `np.empty(shape, dtype)` for the duration of a `with` block.

    Example:

    >>> from posegan_zoo.pose._parallel import scratch_buffer
    >>> with scratch_buffer((2, 3)) as buffer:
    ...     buffer.shape
    (2, 3)
    """
    key = (tuple(shape), np.dtype(dtype).str)
    with _spare_lock:
        spares = _spare_buffers.get(key)
        buffer = spares.pop() if spares else None
    if buffer is None:
        buffer = np.empty(shape, dtype)
    try:
        yield buffer
    finally:
        with _spare_lock:
            spares = _spare_buffers.setdefault(key, [])
            _spare_buffers.move_to_end(key)
            if len(spares) < usable_cores():
                spares.append(buffer)
            while len(_spare_buffers) > _MAX_SPARE_SHAPES:
                _spare_buffers.popitem(last=False)
