"""Shared pytest fixtures."""

import pathlib

import pytest

REPOSITORY_ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tennis_dir():
    """The real posewarp-format clip in the repository (8 frames of 1280 x 676)."""
    path = REPOSITORY_ROOT / "examples" / "data" / "posewarp_tennis"
    assert path.is_dir(), f"the tennis clip is missing from {path}"
    return path
