"""A process exits cleanly while an iterator of a package pipeline is still alive.

TensorFlow destroys such an iterator during interpreter shutdown and waits for its
`numpy_function` calls in flight, which then cannot take the GIL. Without the drain at
exit (`posegan_zoo._exit_safe_callbacks`) the scripts below hung in 2 to 6 runs of 6.
"""

import subprocess
import sys
import textwrap
import threading
import time

import pytest

from posegan_zoo import _exit_safe_callbacks


def exit_code_of(script, runs=2):
    """Runs `script` `runs` times; each must end by itself with the same exit code."""
    codes = set()
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(script)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        codes.add(result.returncode)
    assert len(codes) == 1, (codes, result.stderr[-2000:])
    return codes.pop()


def test_pair_dataset_iterator_alive_at_exit(tennis_dir):
    script = f"""
        from posegan_zoo.data import pair_dataset, read_posewarp_dataset

        clips = read_posewarp_dataset({str(tennis_dir)!r})
        iterator = iter(pair_dataset(clips, 64, batch_size=2))
        for _ in range(5):
            next(iterator)
        raise SystemExit(3)
    """
    assert exit_code_of(script) == 3


def test_unpaired_image_dataset_iterator_alive_at_exit(tmp_path):
    script = f"""
        import pathlib
        from PIL import Image
        from posegan_zoo.models.cyclegan import unpaired_image_dataset

        root = pathlib.Path({str(tmp_path)!r})
        for name, colour in (("a", (255, 0, 0)), ("b", (0, 255, 0))):
            (root / name).mkdir(exist_ok=True)
            for k in range(4):
                Image.new("RGB", (300, 200), colour).save(root / name / f"{{k}}.png")
        iterator = iter(unpaired_image_dataset(root / "a", root / "b", 64, batch_size=2))
        for _ in range(5):
            next(iterator)
        raise SystemExit(3)
    """
    assert exit_code_of(script) == 3


def test_the_wait_ends_when_calls_stop_or_at_the_time_limit():
    # Lower bounds are exact; upper bounds leave room for a loaded machine.
    calls = _exit_safe_callbacks._CallsInFlight()
    start = time.monotonic()
    calls.wait_until_idle(quiet_seconds=5.0)
    assert time.monotonic() - start < 2.0  # nothing ever ran: no quiet period to wait out

    release = threading.Event()

    def slow_call():
        with calls:
            release.wait()

    worker = threading.Thread(target=slow_call)
    worker.start()
    start = time.monotonic()
    calls.wait_until_idle(quiet_seconds=0.1, timeout_seconds=0.3)
    assert time.monotonic() - start >= 0.3  # a call still runs: only the limit ends it
    release.set()
    worker.join()
    start = time.monotonic()
    calls.wait_until_idle(quiet_seconds=0.2, timeout_seconds=30.0)
    ended = time.monotonic()
    assert ended - calls._last_end > 0.2  # the quiet period since the call ended ...
    assert ended - start < 10.0  # ... and not the time limit


def test_a_wrapped_callback_keeps_its_result_and_errors():
    wrapped = _exit_safe_callbacks.exit_safe(lambda x: x + 1)
    assert wrapped(1) == 2

    def fail():
        raise ValueError("named failure")

    with pytest.raises(ValueError, match="named failure"):
        _exit_safe_callbacks.exit_safe(fail)()
    assert _exit_safe_callbacks._CALLS_IN_FLIGHT._active == 0
