"""Preset handles: an embedded preset name, a local folder, or `hf://owner/name[@revision]`.

Parsing is pure (no file system or network access beyond telling a bare name from a path),
so that a malformed handle fails early with an error that says what is wrong with it.
"""

import dataclasses
import os
import pathlib
import re

from posegan_zoo.errors import PresetError

HUB_SCHEME = "hf://"

# Embedded preset names: a letter or digit, then letters, digits, "-", "_" or ".".
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
# One part of a Hub repo id ("owner" or "name"), the Hub's own rules: ASCII letters, digits,
# "-", "_", "."; neither starting nor ending with "-" or "."; no "--" nor "..".
_REPO_PART = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?")
_REVISION_CHARS = re.compile(r"[A-Za-z0-9._/+-]{1,255}")


@dataclasses.dataclass(frozen=True)
class PresetHandle:
    """A parsed preset handle.

    `kind` is "embedded" (`name` set), "local" (`path` set) or "hub" (`repo_id` set, and
    `revision` when the handle pinned one).

    Example:

    >>> from posegan_zoo.presets import parse_handle
    >>> parse_handle("hf://alice/posewarp-tennis@v1.0")
    PresetHandle(kind='hub', name=None, path=None, repo_id='alice/posewarp-tennis', revision='v1.0')
    >>> parse_handle("posewarp-tennis-64").kind
    'embedded'
    >>> parse_handle("./my_preset").kind
    'local'
    """

    kind: str
    name: str | None = None
    path: pathlib.Path | None = None
    repo_id: str | None = None
    revision: str | None = None

    def __str__(self):
        if self.kind == "hub":
            suffix = f"@{self.revision}" if self.revision else ""
            return f"{HUB_SCHEME}{self.repo_id}{suffix}"
        if self.kind == "embedded":
            return self.name
        return str(self.path)


def parse_handle(handle):
    """Parses a preset handle into a `PresetHandle`.

    - `hf://owner/name` or `hf://owner/name@revision` (branch, tag or commit hash): the Hub;
    - a `pathlib.Path`, or a string with a path separator or starting with "." or "~": a
      local folder;
    - a bare name (letters, digits, "-", "_", "."): an embedded preset. Write `./name` to mean
      a folder of that name in the working directory.

    Raises `PresetError` for an empty handle, an unknown scheme, a malformed repo id, an
    empty or unsafe revision, or a bare name with other characters.

    Example:

    >>> from posegan_zoo.presets import parse_handle
    >>> parse_handle("hf://bad")
    Traceback (most recent call last):
    ...
    posegan_zoo.errors.PresetError: preset handle 'hf://bad': the Hub repo id must be \
'owner/name', got 'bad'.
    """
    if isinstance(handle, PresetHandle):
        return handle
    if isinstance(handle, os.PathLike):
        return PresetHandle("local", path=pathlib.Path(handle))
    if not isinstance(handle, str):
        raise PresetError(
            f"a preset handle must be a string or a path, got {type(handle).__name__} {handle!r}."
        )
    if not handle.strip():
        raise PresetError("the preset handle is empty: pass a preset name, folder or hf:// URL.")
    if handle.startswith(HUB_SCHEME):
        repo_id, revision = _split_revision(handle)
        return PresetHandle("hub", repo_id=check_repo_id(repo_id, handle), revision=revision)
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", handle)
    if scheme:
        raise PresetError(
            f"preset handle {handle!r}: unknown scheme '{scheme.group(1)}://'; use hf:// for "
            "the Hugging Face Hub, a folder path, or an embedded preset name."
        )
    if _looks_like_path(handle):
        return PresetHandle("local", path=pathlib.Path(handle).expanduser())
    return PresetHandle("embedded", name=check_preset_name(handle))


def check_preset_name(name):
    """Returns `name` if it is a valid embedded preset name, else raises `PresetError`.

    Names never hold a path separator nor "..", so that a name cannot reach outside the
    folder of embedded presets.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise PresetError(
            f"{name!r} is not a valid preset name: use letters, digits, '-', '_' and '.' "
            "(starting with a letter or digit, no '..'); to load a folder, pass its path "
            "(e.g. './my_preset')."
        )
    return name


def check_repo_id(repo_id, handle=None):
    """Returns `repo_id` if it is a valid Hub model repo id `owner/name`, else raises
    `PresetError`."""
    where = f"preset handle {handle!r}" if handle else f"Hub repo id {repo_id!r}"
    if not isinstance(repo_id, str):
        raise PresetError(f"{where}: the repo id must be a string 'owner/name'.")
    parts = repo_id.split("/")
    if len(parts) != 2:
        raise PresetError(f"{where}: the Hub repo id must be 'owner/name', got {repo_id!r}.")
    for part in parts:
        if not _REPO_PART.fullmatch(part) or "--" in part or ".." in part:
            raise PresetError(
                f"{where}: {part!r} is not a valid Hub owner or repo name (letters, digits, "
                "'-', '_', '.'; no leading or trailing '-' or '.', no '--' or '..')."
            )
    return repo_id


def check_revision(revision, handle=None):
    """Returns `revision` (a branch, tag or commit hash) if it is well formed, else raises
    `PresetError`. Revisions become cache paths, so "..", "//", a leading or trailing "/" and
    other characters than letters, digits, ".", "_", "-", "+", "/" are refused."""
    where = f"preset handle {handle!r}" if handle else "`revision`"
    if not isinstance(revision, str) or not revision:
        raise PresetError(f"{where}: the revision is empty; write hf://owner/name@<revision>.")
    if (
        not _REVISION_CHARS.fullmatch(revision)
        or ".." in revision
        or "//" in revision
        or revision.startswith("/")
        or revision.endswith("/")
    ):
        raise PresetError(
            f"{where}: {revision!r} is not a valid revision (a branch, tag or commit hash of "
            "letters, digits, '.', '_', '-', '+', '/'; no '..')."
        )
    return revision


def _split_revision(handle):
    rest = handle[len(HUB_SCHEME) :]
    if "@" not in rest:
        return rest, None
    repo_id, revision = rest.split("@", 1)
    return repo_id, check_revision(revision, handle)


def _looks_like_path(handle):
    separators = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    return any(sep in handle for sep in separators) or handle.startswith((".", "~"))
