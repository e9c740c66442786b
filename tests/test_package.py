"""Packaging: public API, README commands, lint."""

import pathlib
import subprocess
import sys

import posegan_zoo

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_public_api_is_explicit_and_importable():
    for name in posegan_zoo.__all__:
        assert hasattr(posegan_zoo, name), name
    assert posegan_zoo.__version__


def test_readme_first_code_block_holds_the_two_newcomer_commands():
    text = (ROOT / "README.md").read_text()
    block = text.split("```", 2)[1].splitlines()[1:]
    assert len(block) == 2
    install_and_run, install_and_test = block
    assert install_and_run.startswith("pip install . && posegan-zoo regenerate ")
    for quoted in install_and_run.split('"')[1::2]:
        assert (ROOT / quoted).is_file(), quoted
    for word in install_and_run.split():
        if word.endswith(".json"):
            assert (ROOT / word).is_file(), word
    assert install_and_test.startswith('pip install -e ".[test]" && ')
    assert "pytest" in install_and_test


def test_ruff_is_clean():
    # ruff comes with the test extras, next to this interpreter.
    ruff = str(pathlib.Path(sys.executable).parent / "ruff")
    result = subprocess.run([ruff, "check", str(ROOT)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:]
