"""The documentation site: it builds with --strict (broken links and docstrings fail), the
docstrings' examples render as code blocks, and the API reference documents every public name.
"""

import html
import importlib
import inspect
import os
import pathlib
import pkgutil
import re
import subprocess
import sys

import pytest

import posegan_zoo

ROOT = pathlib.Path(__file__).resolve().parents[1]
# The command line is documented on the guide pages (and by `posegan-zoo --help`).
NOT_IN_THE_API_REFERENCE = {"posegan_zoo.cli"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site, built once with `mkdocs build --strict` (mkdocs comes with the test extras)."""
    folder = tmp_path_factory.mktemp("docs") / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return folder


def test_mkdocs_site_builds_strictly(site):
    assert (site / "api" / "index.html").is_file()
    assert (site / "objects.inv").is_file()
    assert not list(site.rglob("*.py")), "docs/griffe_examples.py is not part of the site"


def documented_objects(site, page="api"):
    """The Python objects that a page of the site documents (its headings' anchors)."""
    text = (site / page / "index.html").read_text(encoding="utf-8")
    paths = dict.fromkeys(re.findall(r'\bid="(posegan_zoo(?:\.\w+)*)"', text))
    return [found for found in map(resolve, paths) if found is not None]


def resolve(path):
    """The object that the dotted `path` names, or None."""
    parts = path.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for part in parts[split:]:
            if not hasattr(found, part):
                return None
            found = getattr(found, part)
        return found
    return None


def public_modules():
    """`posegan_zoo`, its modules and its packages (and theirs), without `_` names."""
    names = ["posegan_zoo"]
    for info in pkgutil.walk_packages(posegan_zoo.__path__, "posegan_zoo."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        if info.ispkg or info.name.count(".") == 1:
            names.append(info.name)
    return [name for name in names if name not in NOT_IN_THE_API_REFERENCE]


def public_names(module):
    """Its `__all__` (modules and dunders aside), or, without one, the classes and
    functions it defines."""
    if hasattr(module, "__all__"):
        return [
            name
            for name in module.__all__
            if not name.startswith("__") and not inspect.ismodule(getattr(module, name))
        ]
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__ == module.__name__
    ]


def test_public_modules_are_the_expected_ones():
    modules = public_modules()
    for expected in ("models.dcgan", "models.wgan_gp", "models.cyclegan", "data", "evaluation"):
        assert f"posegan_zoo.{expected}" in modules
    assert "posegan_zoo.pose.crop" not in modules  # its public names are the package's


def test_api_reference_documents_every_public_name(site):
    documented = {id(found) for found in documented_objects(site)}
    missing = []
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        names = public_names(module)
        assert names or module_name == "posegan_zoo.models", module_name
        missing += [
            f"{module_name}.{name}" for name in names if id(getattr(module, name)) not in documented
        ]
    assert not missing, f"not in docs/api.md: {missing}"
    for name in ("DCGANGenerator", "WGANGPTrainer", "CycleGANTrainer", "PoseWarpGenerator"):
        assert id(getattr(posegan_zoo.models, name)) in documented, name


def doctest_lines(docstring):
    return [
        re.sub(r"\s*#\s*doctest:.*$", "", line.strip()[4:])
        for line in docstring.splitlines()
        if line.strip().startswith(">>> ")
    ]


def test_docstring_examples_render_as_code_blocks(site):
    page = (site / "api" / "index.html").read_text(encoding="utf-8")
    # Doctests that reach Markdown as text become nested blockquotes, with the code run
    # together; the pages use no blockquotes of their own.
    assert "<blockquote>" not in page
    code = "\n".join(
        html.unescape(re.sub(r"<[^>]+>", "", block))
        for block in re.findall(r"<pre\b.*?</pre>", page, flags=re.DOTALL)
    )
    with_examples = {
        id(found): found
        for found in documented_objects(site)
        if (inspect.isclass(found) or inspect.isroutine(found) or inspect.ismodule(found))
        and doctest_lines(found.__doc__ or "")
    }
    assert len(with_examples) >= 50, len(with_examples)
    not_code = []
    for found in with_examples.values():
        # Every example's longest line shows, whole, inside a <pre> code block.
        longest = max(doctest_lines(found.__doc__), key=len)
        if longest not in code:
            not_code.append((getattr(found, "__qualname__", found), longest))
    assert not not_code, not_code
    assert code.count(">>> ") >= len(with_examples)
