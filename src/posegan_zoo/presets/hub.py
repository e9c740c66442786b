"""Presets on the Hugging Face Hub: download into the Hugging Face cache, verify, upload.

Downloads use `huggingface_hub.snapshot_download` restricted to the preset's files, so they
share the standard cache (`cache_dir`, default `HF_HUB_CACHE`), pin revisions (branch, tag or
commit hash), and work offline from the cache (`local_files_only=True` or `HF_HUB_OFFLINE=1`).

Every download is checked with `validate_preset` (files, JSON, metadata schema, sha256 of
the weights) before its folder is returned. A check that fails deletes the snapshot's preset
files and the cache blobs they point to, so the next call downloads them again instead of
finding a corrupted copy that looks complete. Interrupted transfers never reach the cache:
huggingface_hub writes each file to a temporary name and renames it only when complete.

The Hub endpoint is the `endpoint` argument, else the `HF_ENDPOINT` environment variable read
at call time (huggingface_hub itself reads it once, at import), else huggingface_hub's
default. `HF_HUB_OFFLINE` is likewise read at call time.
"""

import os
import pathlib
import tempfile

from posegan_zoo.errors import PresetError, PresetNotFoundError, PresetUnavailableError
from posegan_zoo.presets import format as preset_format
from posegan_zoo.presets.handles import HUB_SCHEME, PresetHandle, check_repo_id, check_revision
from posegan_zoo.presets.handles import parse_handle as _parse_handle

LIBRARY_NAME = "posegan-zoo"
_TRUE = {"1", "ON", "YES", "TRUE"}


def download_preset(
    handle,
    *,
    revision=None,
    cache_dir=None,
    local_files_only=None,
    token=None,
    endpoint=None,
):
    """Downloads a Hub preset into the Hugging Face cache and returns its verified folder.

    Args:
        handle: `hf://owner/name[@revision]`, or a repo id `owner/name`.
        revision: branch, tag or commit hash (default: the handle's, else "main"). Giving one
            here and a different one in the handle raises `PresetError`.
        cache_dir: the Hugging Face cache folder (default: `HF_HUB_CACHE`).
        local_files_only: True to use the cache only, never the network. Default: True when
            the environment variable `HF_HUB_OFFLINE` is set (checked at call time).
        token: a Hub token for private or gated repos (default: huggingface_hub's).
        endpoint: the Hub URL (default: `HF_ENDPOINT` at call time, else huggingface.co).

    Returns:
        The `pathlib.Path` of the snapshot folder in the cache.

    Raises:
        PresetNotFoundError: the repo, revision or a preset file does not exist on the Hub.
        PresetUnavailableError: offline and not cached, the Hub is unreachable, or the
            transfer was interrupted.
        PresetError: the downloaded preset is malformed or fails its sha256 check (its files
            are then removed from the cache).
    """
    repo_id, revision = _hub_target(handle, revision)
    offline = _offline(local_files_only)
    endpoint = _endpoint(endpoint)
    where = f"{HUB_SCHEME}{repo_id}@{revision or 'main'}"
    snapshot = _snapshot_download(
        repo_id,
        revision=revision,
        cache_dir=cache_dir,
        offline=offline,
        token=token,
        endpoint=endpoint,
        where=where,
    )
    folder = pathlib.Path(snapshot)
    missing = [name for name in preset_format.REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        present = sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []
        raise PresetNotFoundError(
            f"{where} is not a posegan_zoo preset: it lacks {', '.join(missing)} (found: "
            f"{', '.join(present) or 'none of the preset files'})."
        )
    try:
        preset_format.validate_preset(folder)
    except PresetError as error:
        removed = _purge_cached_snapshot(folder)
        raise PresetError(
            f"{where}: the downloaded preset is invalid: {error} The {len(removed)} cached "
            "preset file(s) of this snapshot were removed, so a new call downloads them again."
        ) from error
    return folder


def push_to_hub(
    model_or_folder,
    repo_id,
    *,
    revision=None,
    commit_message=None,
    private=None,
    token=None,
    endpoint=None,
    create_repo=True,
    metadata=None,
    model_card=None,
):
    """Uploads a preset to the Hub with `HfApi.upload_folder` and returns its `CommitInfo`.

    Args:
        model_or_folder: a model (saved first with `save_preset` into a temporary folder,
            using `metadata` and `model_card`), or an existing preset folder (validated,
            sha256 included, and uploaded as is).
        repo_id: `owner/name` or `hf://owner/name[@branch]`.
        revision: the branch to commit to (default: the handle's, else the default branch);
            it is created if needed.
        commit_message: default "Upload <class> preset (posegan_zoo <version>)".
        private: visibility of a repo created by this call.
        token, endpoint: as in `download_preset`.
        create_repo: create the repo first if it does not exist (default True).

    Only the preset files are uploaded. Errors of the Hub (authentication, permissions) are
    huggingface_hub's own.
    """
    from huggingface_hub import HfApi

    repo_id, revision = _hub_target(repo_id, revision)
    endpoint = _endpoint(endpoint)
    api = HfApi(endpoint=endpoint, token=token, library_name=LIBRARY_NAME)
    if isinstance(model_or_folder, (str, os.PathLike)):
        if metadata is not None or model_card is not None:
            raise PresetError(
                "`metadata` and `model_card` apply when pushing a model; edit the files of "
                f"the preset folder {model_or_folder} instead."
            )
        folder = pathlib.Path(model_or_folder)
        meta = preset_format.validate_preset(folder)
        return _upload(api, folder, meta, repo_id, revision, commit_message, private, create_repo)
    with tempfile.TemporaryDirectory(prefix="posegan_zoo-push-") as tmp:
        title = repo_id.split("/")[1]
        folder = preset_format.save_preset(
            model_or_folder, pathlib.Path(tmp) / title, metadata=metadata, model_card=model_card
        )
        meta = preset_format.read_metadata(folder)
        if model_card is None:
            card = preset_format.render_model_card(meta, title, handle=f"{HUB_SCHEME}{repo_id}")
            (folder / preset_format.MODEL_CARD_FILE).write_text(card, encoding="utf-8")
        return _upload(api, folder, meta, repo_id, revision, commit_message, private, create_repo)


# -- helpers ------------------------------------------------------------------------------


def _hub_target(handle, revision):
    if isinstance(handle, str) and not handle.startswith(HUB_SCHEME):
        handle = PresetHandle("hub", repo_id=check_repo_id(handle))
    parsed = _parse_handle(handle)
    if parsed.kind != "hub":
        raise PresetError(f"{str(parsed)!r} is not a Hub handle (hf://owner/name[@revision]).")
    if revision is not None:
        check_revision(revision)
        if parsed.revision is not None and parsed.revision != revision:
            raise PresetError(
                f"`revision={revision!r}` contradicts the revision of the handle {str(parsed)!r}."
            )
    return parsed.repo_id, revision if revision is not None else parsed.revision


def _offline(local_files_only):
    if local_files_only is not None:
        return bool(local_files_only)
    if os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in _TRUE:
        return True
    from huggingface_hub import constants

    return bool(constants.is_offline_mode())


def _endpoint(endpoint):
    endpoint = endpoint or os.environ.get("HF_ENDPOINT") or None
    return endpoint.rstrip("/") if endpoint else None


def _package_version():
    return preset_format._package_version()


def _transport_errors():
    errors = []
    for module, name in (("httpx2", "TransportError"), ("httpx", "TransportError")):
        try:
            errors.append(getattr(__import__(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(errors)


def _snapshot_download(repo_id, *, revision, cache_dir, offline, token, endpoint, where):
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    hub = endpoint or constants.ENDPOINT
    cache = cache_dir or constants.HF_HUB_CACHE
    try:
        return snapshot_download(
            repo_id,
            revision=revision,
            cache_dir=cache_dir,
            allow_patterns=list(preset_format.PRESET_FILES),
            local_files_only=offline,
            token=token,
            endpoint=endpoint,
            library_name=LIBRARY_NAME,
            library_version=_package_version(),
        )
    except RevisionNotFoundError as error:
        raise PresetNotFoundError(
            f"{where}: the repository {repo_id} on {hub} has no revision {revision!r}."
        ) from error
    except RepositoryNotFoundError as error:
        raise PresetNotFoundError(
            f"{where}: no repository {repo_id} on {hub} (a private or gated repository needs "
            "`token=`)."
        ) from error
    except LocalEntryNotFoundError as error:
        if offline:
            raise PresetUnavailableError(
                f"{where} is not in the cache {cache} (or only partly) and downloads are "
                "disabled (local_files_only=True or HF_HUB_OFFLINE=1): load it once online."
            ) from error
        raise PresetUnavailableError(
            f"{where}: the Hub {hub} cannot be reached and the cache {cache} has no complete "
            f"copy: {_first_line(error)}"
        ) from error
    except EntryNotFoundError as error:
        raise PresetNotFoundError(
            f"{where}: a preset file is missing on {hub}: {_first_line(error)}"
        ) from error
    except HfHubHTTPError as error:
        raise PresetUnavailableError(
            f"{where}: the Hub {hub} failed: {_first_line(error)}"
        ) from error
    except (OSError, *_transport_errors()) as error:
        raise PresetUnavailableError(
            f"{where}: the download from {hub} was interrupted ({_first_line(error)}); no "
            "partial file was kept in the cache: retry to download what is missing."
        ) from error


def _upload(api, folder, metadata, repo_id, revision, commit_message, private, create_repo):
    if create_repo:
        api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
    if revision is not None:
        api.create_branch(repo_id, branch=revision, repo_type="model", exist_ok=True)
    class_name = metadata["class"].rsplit(">", 1)[-1]
    message = commit_message or (
        f"Upload {class_name} preset (posegan_zoo {metadata['package_version']})"
    )
    return api.upload_folder(
        repo_id=repo_id,
        folder_path=str(folder),
        repo_type="model",
        revision=revision,
        commit_message=message,
        allow_patterns=list(preset_format.PRESET_FILES),
    )


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _purge_cached_snapshot(folder):
    """Removes the preset files of a Hugging Face cache snapshot folder, with their blobs.

    Acts only on a folder laid out as `<cache>/models--<owner>--<name>/snapshots/<commit>`:
    deletes its `PRESET_FILES` entries and the blobs they point to inside the same cached
    repo's `blobs/` folder that no other snapshot points to, nothing else. Returns the
    removed entries' names.
    """
    folder = pathlib.Path(folder)
    if folder.parent.name != "snapshots" or not folder.parent.parent.name.startswith("models--"):
        return []
    blobs = (folder.parent.parent / "blobs").resolve()
    # A blob is shared by every snapshot (revision) holding the same file: keep those that
    # another snapshot still points to, or that revision would fail offline.
    in_use = {
        pathlib.Path(os.path.realpath(entry))
        for snapshot in folder.parent.iterdir()
        if snapshot.resolve() != folder.resolve()
        for entry in snapshot.rglob("*")
        if entry.is_symlink()
    }
    removed = []
    for name in preset_format.PRESET_FILES:
        entry = folder / name
        if not (entry.is_symlink() or entry.exists()):
            continue
        target = pathlib.Path(os.path.realpath(entry))
        entry.unlink(missing_ok=True)
        removed.append(name)
        if target.parent == blobs and target.is_file() and target not in in_use:
            target.unlink(missing_ok=True)
    return removed
