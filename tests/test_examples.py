"""Every script in examples/ runs, at a small size."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_pose_transfer_example_writes_its_grid(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "pose_transfer.py"),
            "--size",
            "64",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "learning-free warp" in result.stdout
    from PIL import Image

    with Image.open(tmp_path / "pose_transfer.png") as grid:
        assert grid.size == (4 * 64, 64)
