"""A Griffe extension (loaded by mkdocs.yml) so that docstring examples render as code.

The package's docstrings write their doctests the way `pytest --doctest-modules` reads them:
an `Example:` line (sometimes `Example (what it shows):`), a blank line, then `>>>` lines at
the docstring's own indentation. Griffe's Google-style parser only knows an indented
`Examples:` section, so without this the `>>>` lines reach Markdown as text and render as
nested blockquotes with the code run together. This rewrites each docstring before it is
parsed: the `Example` header and what follows it become an indented `Examples:` section
(Griffe turns its `>>>` runs into highlighted `pycon` code blocks), and a doctest run with no
header is fenced as `pycon`. The source files stay as they are.
"""

import re

import griffe

_HEADER = re.compile(r"^Examples?(?:\s*\((?P<title>.*)\))?\s*:\s*$")
# A column-0 Google-style section header that would end an example section.
_SECTION = re.compile(
    r"^(Args|Arguments|Attributes|Keyword Args|Methods|Note|Notes|Parameters|Raises|"
    r"Returns|See Also|Todo|Warning|Warnings|Warns|Yields)\s*:\s*$"
)


def rewrite(text):
    """`text` (a docstring's value, dedented) with its examples in a form Griffe renders."""
    lines = text.split("\n")
    out = []
    index = 0
    in_fence = False
    while index < len(lines):
        line = lines[index]
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        if in_fence or line.lstrip().startswith("```"):
            out.append(line)
            index += 1
            continue
        header = _HEADER.match(line)
        if header and (index == 0 or not lines[index - 1].strip()):
            end = index + 1
            while end < len(lines) and not (
                _SECTION.match(lines[end]) and not lines[end - 1].strip()
            ):
                end += 1
            body = lines[index + 1 : end]
            while body and not body[0].strip():
                body.pop(0)
            while body and not body[-1].strip():
                body.pop()
            if body and not body[0].startswith(" "):
                # "Example (what it shows):" keeps its words as the section's title.
                title = line.strip().rstrip(":").strip() if header.group("title") else None
                out.append(f"Examples: {title}" if title else "Examples:")
                out.extend(f"    {body_line}" if body_line.strip() else "" for body_line in body)
                if end < len(lines):
                    out.append("")
                index = end
                continue
        if line.startswith(">>>"):
            end = index
            while end < len(lines) and lines[end].strip():
                end += 1
            out.extend(["```pycon", *lines[index:end], "```"])
            index = end
            continue
        out.append(line)
        index += 1
    return "\n".join(out)


class DoctestExamples(griffe.Extension):
    """Rewrites every object's docstring with `rewrite` before Griffe parses it."""

    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = rewrite(obj.docstring.value)
