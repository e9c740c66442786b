"""Every Python block in README.md and docs/*.md runs as written, or says why it does not.

A block that is not run is preceded by an HTML comment giving the reason (Markdown renders
nothing for it), for example:

    <!-- not run: trains for days; examples/train_dcgan.py runs the same at a tiny size -->
    ```python
    ...
    ```

The others run in a fresh namespace, in order, from an empty folder in which `examples`
points to the repository's `examples/` (so they read the bundled data, and what they write
does not land in the repository).
"""

import doctest
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<info>[^\s`]*)")
NOT_RUN = re.compile(r"^\s*<!--\s*not run:(?P<reason>.*?)-->\s*$")
PYTHON = {"python", "py", "python3"}
PYCON = {"pycon"}


def code_blocks(path):
    """`(line, info, code, not_run_reason)` for each fenced block of a Markdown file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        indent, fence = match["indent"], match["fence"]
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        code = "\n".join(line[len(indent) :] for line in lines[index + 1 : end])
        previous = next((line for line in reversed(lines[:index]) if line.strip()), "")
        marker = NOT_RUN.match(previous)
        reason = marker["reason"].strip() if marker else None
        blocks.append((index + 1, match["info"].lower(), code, reason))
        index = end + 1
    return blocks


def python_blocks():
    """`(where, info, code, not_run_reason)` for each Python block of the pages."""
    for path in PAGES:
        for line, info, code, reason in code_blocks(path):
            if info in PYTHON | PYCON:
                yield f"{path.relative_to(ROOT).as_posix()}:{line}", info, code, reason


BLOCKS = list(python_blocks())
TO_RUN = [block for block in BLOCKS if block[3] is None]


def test_there_are_python_blocks_to_run():
    assert len(TO_RUN) >= 5, [where for where, *_ in TO_RUN]


def test_every_code_block_names_its_language():
    # An untagged block could hold Python that nobody runs: say `text` for the others.
    untagged = [
        f"{path.relative_to(ROOT).as_posix()}:{line}"
        for path in PAGES
        for line, info, _, _ in code_blocks(path)
        if not info
    ]
    assert not untagged, untagged


def test_blocks_not_run_say_why():
    for where, _, _, reason in BLOCKS:
        if reason is not None:
            assert len(reason.split()) >= 3, f"{where}: say why the block is not run"


@pytest.mark.parametrize(
    ("where", "info", "code"), [block[:3] for block in TO_RUN], ids=[b[0] for b in TO_RUN]
)
def test_python_block_runs(where, info, code, tmp_path, monkeypatch):
    (tmp_path / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    if info in PYCON:
        test = doctest.DocTestParser().get_doctest(code, {}, where, where, 0)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        assert runner.run(test).failed == 0, where
    else:
        exec(compile(code, where, "exec"), {"__name__": "__docs__"})
