"""Embedded presets (shipped inside the package) and handle resolution.

Embedded presets live in `posegan_zoo/presets/embedded/<name>/`, one preset folder each.
`resolve` turns any handle (embedded name, local folder, `hf://owner/name[@revision]`) into a
local preset folder, downloading Hub presets through the Hugging Face cache.
"""

import json
import pathlib

from posegan_zoo.errors import PresetError, PresetNotFoundError
from posegan_zoo.presets import format as preset_format
from posegan_zoo.presets.handles import check_preset_name, check_revision, parse_handle

EMBEDDED_ROOT = pathlib.Path(__file__).resolve().parent / "embedded"


def embedded_root():
    """The folder of embedded presets (`EMBEDDED_ROOT`, read at call time)."""
    return pathlib.Path(EMBEDDED_ROOT)


def embedded_preset_path(name):
    """The folder of the embedded preset `name`; raises `PresetNotFoundError` if there is none.

    The name is checked first (letters, digits, "-", "_", "."; no ".."), so that it cannot
    reach outside the embedded presets' folder.
    """
    check_preset_name(name)
    root = embedded_root()
    folder = root / name
    if not (folder / preset_format.METADATA_FILE).is_file():
        available = ", ".join(list_presets()) or "none"
        raise PresetNotFoundError(
            f"no embedded preset named {name!r} (available: {available}); to load a local "
            f"folder, pass its path (e.g. './{name}'), and for the Hub write hf://owner/name."
        )
    return folder


def list_presets(model_class=None):
    """The embedded presets, as a dict of name -> one-line description, sorted by name.

    With `model_class`, only the presets that `model_class.from_preset` can load.

    Example:

    >>> from posegan_zoo.presets import list_presets
    >>> isinstance(list_presets(), dict)
    True
    """
    root = embedded_root()
    if not root.is_dir():
        return {}
    presets = {}
    for folder in sorted(root.iterdir()):
        path = folder / preset_format.METADATA_FILE
        if not path.is_file() or folder.name.startswith((".", "_")):
            continue
        try:
            metadata = json.loads(path.read_text(encoding="utf-8"))
            preset_class = metadata["class"]
            description = str(metadata.get("description") or "")
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if model_class is not None and not preset_format.preset_class_compatible(
            preset_class, model_class
        ):
            continue
        lines = description.strip().splitlines()
        presets[folder.name] = lines[0] if lines else preset_class.rsplit(">", 1)[-1]
    return presets


def resolve(
    handle,
    *,
    revision=None,
    cache_dir=None,
    local_files_only=None,
    token=None,
    endpoint=None,
):
    """The local preset folder of `handle` (see `parse_handle`), downloading Hub presets.

    A bare name is an embedded preset; if there is none of that name, a folder of that name
    in the working directory.

    `revision`, `cache_dir`, `local_files_only`, `token` and `endpoint` apply to Hub handles
    only (see `download_preset`); `revision` with another kind of handle raises `PresetError`.
    A local folder that does not exist raises `PresetNotFoundError`. The folder is returned as
    is: `load_preset` validates it.
    """
    parsed = parse_handle(handle)
    if parsed.kind == "hub":
        from posegan_zoo.presets.hub import download_preset

        return download_preset(
            parsed,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            token=token,
            endpoint=endpoint,
        )
    if revision is not None:
        check_revision(revision)
        raise PresetError(
            f"`revision={revision!r}` applies to Hub presets only, but {str(parsed)!r} is "
            f"{'an embedded preset' if parsed.kind == 'embedded' else 'a local folder'}."
        )
    if parsed.kind == "embedded":
        folder = embedded_root() / parsed.name
        if (folder / preset_format.METADATA_FILE).is_file():
            return folder
        # A bare name that is not embedded may be a folder in the working directory, such as
        # one just written by `save_to_preset("my-preset")`.
        if pathlib.Path(parsed.name).is_dir():
            return pathlib.Path(parsed.name)
        return embedded_preset_path(parsed.name)
    if not parsed.path.is_dir():
        hint = ""
        if len(parsed.path.parts) == 2 and not parsed.path.is_absolute():
            hint = f"; for a Hub repo write hf://{parsed.path.as_posix()}"
        raise PresetNotFoundError(f"preset folder {parsed.path} does not exist{hint}.")
    return parsed.path
