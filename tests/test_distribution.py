"""The distributions, as a user or a packager gets them.

`python -m build` makes the sdist and, from it, the wheel. The sdist holds what its tests
need (MANIFEST.in). The wheel, installed in a fresh virtual environment outside the
repository, runs README's main job from the unpacked sdist, and the sdist's own tests run
there against the installed package.

The fresh environment gets the wheel alone (`--no-deps`, no index): its dependencies
(TensorFlow, ...) come from this environment's site-packages, added to its path with a
`.pth` file, so the test needs no download besides the build backend that `python -m build`
installs in its isolated build environment. This environment's own posegan_zoo (an editable
install) is not on that path: the `.pth` files of a folder added that way are not read.
"""

import os
import pathlib
import shutil
import site
import subprocess
import sys
import sysconfig
import tarfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run(command, **kwargs):
    result = subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        **kwargs,
    )
    assert result.returncode == 0, (result.stdout[-6000:], result.stderr[-3000:])
    return result


@pytest.fixture(scope="module")
def distributions(tmp_path_factory):
    """`(sdist, wheel)` built by `python -m build` (the wheel from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", out, ROOT])
    [sdist] = out.glob("posegan_zoo-*.tar.gz")
    [wheel] = out.glob("posegan_zoo-*.whl")
    return sdist, wheel


@pytest.fixture(scope="module")
def unpacked_sdist(distributions, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sdist")
    with tarfile.open(distributions[0]) as archive:
        archive.extractall(folder, filter="data")
    [root] = folder.iterdir()
    return root


@pytest.fixture(scope="module")
def fresh_env(distributions, tmp_path_factory):
    """A new virtual environment with the wheel installed: its `bin` folder."""
    env = tmp_path_factory.mktemp("env") / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", env])
    python = env / "bin" / "python"
    purelib = run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib"), *site.getsitepackages()}
    (pathlib.Path(purelib.stdout.strip()) / "posegan_zoo_test_deps.pth").write_text(
        "\n".join(sorted(path for path in ours if os.path.isdir(path))) + "\n"
    )
    install = ["install", "--quiet", "--no-deps", "--no-index", distributions[1]]
    run([sys.executable, "-m", "pip", "--python", python, *install])
    return env / "bin"


def clean_env(bindir):
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["COLUMNS"] = "250"  # pytest's summary lines whole in a failure's message
    return env


def test_sdist_holds_what_its_tests_need(distributions):
    with tarfile.open(distributions[0]) as archive:
        members = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    wanted = [
        "README.md",
        "LICENSE",
        "pyproject.toml",
        "mkdocs.yml",
        "docs/griffe_examples.py",
        "examples/data/poses/tennis_1.json",
        "examples/data/posewarp_tennis/info/Flavia Pennetta in 4k.mat",
        "src/posegan_zoo/presets/defaults.py",
    ]
    for folder, pattern in [
        ("tests", "*.py"),
        ("docs", "*.md"),
        ("examples", "*.py"),
        ("benchmarks", "*.py"),
        ("examples/data/posewarp_tennis/frames/Flavia Pennetta in 4k", "*.jpg"),
    ]:
        found = sorted((ROOT / folder).glob(pattern))
        assert found, folder
        wanted += [path.relative_to(ROOT).as_posix() for path in found]
    assert "tests/conftest.py" in wanted and "tests/hub_server.py" in wanted
    missing = [name for name in wanted if name not in members]
    assert not missing, missing
    assert not [name for name in members if "__pycache__" in name or name.endswith(".pyc")]


def test_wheel_in_a_fresh_env_runs_the_readme_main_job(fresh_env, unpacked_sdist, tmp_path):
    env = clean_env(fresh_env)
    where = run(
        [fresh_env / "python", "-c", "import posegan_zoo; print(posegan_zoo.__file__)"],
        cwd=tmp_path,
        env=env,
    )
    installed = pathlib.Path(where.stdout.strip())
    assert fresh_env.parent in installed.parents, installed  # the wheel's copy, not the repo's
    assert shutil.which("posegan-zoo", path=str(fresh_env)) is not None
    # README line 1, run from the unpacked sdist (outside the repository) as written.
    line = (unpacked_sdist / "README.md").read_text().split("```", 2)[1].splitlines()[1]
    install, command = line.split(" && ", 1)
    assert install == "pip install ."
    command = command.replace("outputs/regenerate", str(tmp_path / "out"))
    result = subprocess.run(
        command,
        shell=True,
        cwd=unpacked_sdist,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("fake.png", "recovered.png", "comparison.png", "metrics.json"):
        assert (tmp_path / "out" / name).is_file(), name


def test_sdist_tests_run_against_the_installed_wheel(fresh_env, unpacked_sdist):
    env = clean_env(fresh_env)
    python = fresh_env / "python"
    collected = run(
        [python, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=unpacked_sdist,
        env=env,
    )
    assert "tests collected" in collected.stdout, collected.stdout[-2000:]
    # The docs build (strict) and its checks run from the sdist too.
    run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_docs.py"],
        cwd=unpacked_sdist,
        env=env,
    )
