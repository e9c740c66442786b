"""Spreading per-example numpy work over the CPU cores.

numpy releases the GIL inside its array loops, so threads working on different examples of
a batch run in parallel; each keeps its working set small enough for its core's cache.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

_pool = None
_pool_lock = threading.Lock()


def usable_cores():
    """The number of CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def split_over_cores(function, count):
    """Calls `function(indices)` on disjoint slices of `range(count)`, one per core, in parallel.

    Returns when all calls have finished; an exception in any call is raised here.

    Example:

    >>> from posegan_zoo.pose._parallel import split_over_cores
    >>> seen = []
    >>> split_over_cores(lambda indices: seen.extend(indices), 5)
    >>> sorted(seen)
    [0, 1, 2, 3, 4]
    """
    workers = min(count, usable_cores())
    if workers <= 1:
        function(range(count))
        return
    futures = [_executor().submit(function, range(k, count, workers)) for k in range(workers)]
    for future in futures:
        future.result()


def _executor():
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(usable_cores(), thread_name_prefix="posegan-zoo-geometry")
        return _pool


def _forget_pool_after_fork():
    # A forked child has none of the parent's threads: it starts its own pool when needed.
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)
