"""Python callbacks of `tf.data` pipelines that cannot hang the process at exit.

A `tf.data` iterator destroyed while one of its `tf.numpy_function` calls is in flight
waits for that call, which needs the GIL. At interpreter shutdown the thread destroying
the iterator (one kept in a module-level variable, say) holds the GIL, and the process
hangs. An iterator that nobody reads stops calling Python once its buffers are full, so
the package counts its callbacks in flight and, at exit, waits until none has run for a
moment; then nothing is in flight when Python tears the iterators down.
"""

import atexit
import functools
import threading
import time

QUIET_SECONDS = 0.25
MAX_WAIT_SECONDS = 10.0


class _CallsInFlight:
    def __init__(self):
        self._lock = threading.Lock()
        self._active = 0
        self._last_end = float("-inf")

    def __enter__(self):
        with self._lock:
            self._active += 1

    def __exit__(self, *exc_info):
        with self._lock:
            self._active -= 1
            self._last_end = time.monotonic()

    def wait_until_idle(self, quiet_seconds=QUIET_SECONDS, timeout_seconds=MAX_WAIT_SECONDS):
        """Returns once no callback has run for `quiet_seconds`, or after `timeout_seconds`."""
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            with self._lock:
                quiet = time.monotonic() - self._last_end > quiet_seconds
                if self._active == 0 and quiet:
                    return
            time.sleep(0.02)


_CALLS_IN_FLIGHT = _CallsInFlight()
atexit.register(_CALLS_IN_FLIGHT.wait_until_idle)


def exit_safe(function):
    """Wraps a `tf.numpy_function` callback so that the process waits for it at exit.

    Example:

    >>> import tensorflow as tf
    >>> from posegan_zoo._exit_safe_callbacks import exit_safe
    >>> double = exit_safe(lambda x: 2 * x)
    >>> int(tf.numpy_function(double, [tf.constant(3)], tf.int32))
    6
    """

    @functools.wraps(function)
    def counted(*args):
        with _CALLS_IN_FLIGHT:
            return function(*args)

    return counted
