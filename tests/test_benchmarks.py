"""The torch-free benchmark scripts run end to end at a tiny size.

Timings are not checked (speed is never asserted in tests); what is checked is that each
script still runs against the current package, including the agreement checks it makes
before timing (package and reference compute the same geometry, warps and crops).
"""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_benchmark(script, *args):
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_geometry_benchmark_prints_both_comparisons():
    out = run_benchmark("bench_geometry.py", "--batch", "2", "--size", "64", "--repeats", "1")
    assert "| (a) geometry | package, one call per batch |" in out
    assert '| (b) warp | package SpatialTransformer("reference") | tf.function |' in out
    assert "(a), first call of each turn (right after the other side):" in out
    assert "batch 2 targets: (a) >= 10x:" in out


@pytest.mark.parametrize("train_sizes", ["", "32"])
def test_training_benchmark_prints_the_pipeline_and_train_step_tables(train_sizes):
    args = ["--size", "64", "--examples", "4", "--package-examples", "8", "--repeats", "1"]
    out = run_benchmark("bench_training.py", *args, "--train-sizes", train_sizes)
    assert "| package pair_dataset, warm steady state |" in out
    assert "package / reference, examples/s (target >= 10x)" in out
    assert ("## 2. Train step" in out) == bool(train_sizes)


def test_detection_benchmark_prints_its_stage_and_tracking_tables():
    args = ["--repeats", "1", "--detect-frames", "1", "--track-frames", "3"]
    args += ["--track-repeats", "1", "--invoke-repeats", "1", "--conv-seconds", "0.2"]
    out = run_benchmark("bench_detection.py", *args)
    assert "mask back-projection" in out and "frames/s" in out and "GFLOP/s" in out


def test_detection_accuracy_prints_pck_on_the_bundled_clip():
    out = run_benchmark("detection_accuracy.py", "--skip", "raga,coco,squats")
    assert "tennis" in out and "PCK" in out
