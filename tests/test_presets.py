"""Presets: the folder format, handles, embedded presets, and the Hub through a loopback server.

The Hub tests run the real huggingface_hub client against `hub_server.FakeHub` on 127.0.0.1;
a guard refuses any other host, so nothing here can reach the real Hub.
"""

import hashlib
import json
import pathlib
import shutil
import socket
import urllib.request

import huggingface_hub
import keras
import numpy as np
import pytest
from hub_server import FakeHub
from huggingface_hub import constants as hf_constants
from model_checks import assert_outputs_equal

import posegan_zoo
from posegan_zoo.errors import PresetError, PresetNotFoundError, PresetUnavailableError
from posegan_zoo.models import PoseDiscriminator, PoseWarpGenerator, posewarp_inputs
from posegan_zoo.pose import Pose
from posegan_zoo.presets import (
    PRESET_FILES,
    PresetMixin,
    download_preset,
    list_presets,
    load_preset,
    parse_handle,
    push_to_hub,
    read_metadata,
    registry,
    resolve,
    save_preset,
    validate_preset,
)
from posegan_zoo.presets.registry import embedded_preset_path

REPO = "alice/tiny-disc"
WEIGHTS = "model.weights.h5"


def with_presets(cls):
    """`cls` itself once the package's models carry the mixin; until then, a subclass."""
    return cls if issubclass(cls, PresetMixin) else type(cls.__name__, (cls, PresetMixin), {})


Discriminator = with_presets(PoseDiscriminator)
Generator = with_presets(PoseWarpGenerator)


def tiny_discriminator(seed):
    keras.utils.set_random_seed(seed)
    return PoseDiscriminator(64, conv_widths=[4] * 6, dense_widths=[8, 8])


def assert_same_weights(model, reference):
    for actual, expected in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(actual, expected)


def flip_byte(path, offset=-100):
    data = bytearray(pathlib.Path(path).read_bytes())
    data[offset] ^= 0xFF
    pathlib.Path(path).write_bytes(bytes(data))


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """No test reaches a real host; huggingface_hub's environment switches start unset."""
    real_getaddrinfo = socket.getaddrinfo

    def guarded(host, *args, **kwargs):
        if host not in ("127.0.0.1", "localhost", b"127.0.0.1", b"localhost"):
            raise OSError(f"test_presets: network access to {host!r} is not allowed")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    # The user agent of huggingface_hub fetches a registry from the real Hub unless
    # telemetry is off.
    monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_TELEMETRY", True)
    for name in ("HF_HUB_OFFLINE", "HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def hub():
    with FakeHub() as server:
        yield server
    assert not server.unhandled, f"requests the fake Hub does not implement: {server.unhandled}"
    assert not server.errors, f"the fake Hub failed: {server.errors}"


@pytest.fixture(scope="module")
def discriminators():
    return tiny_discriminator(1), tiny_discriminator(2)


@pytest.fixture(scope="module")
def disc_presets(tmp_path_factory, discriminators):
    """Two presets of tiny discriminators with different weights."""
    root = tmp_path_factory.mktemp("presets")
    return tuple(
        save_preset(
            model,
            root / f"disc-{i}",
            metadata={"description": f"Tiny discriminator {i}.\nSecond line.", "license": "mit"},
        )
        for i, model in enumerate(discriminators, start=1)
    )


@pytest.fixture
def disc_preset(disc_presets, tmp_path):
    """A private copy of the first discriminator preset, free to damage."""
    return pathlib.Path(shutil.copytree(disc_presets[0], tmp_path / "disc"))


def hub_kwargs(hub, tmp_path, **kwargs):
    return {"endpoint": hub.url, "cache_dir": tmp_path / "hf-cache", **kwargs}


# -- the folder format ----------------------------------------------------------------------


def test_generator_round_trip_keeps_outputs_and_records_metadata(tmp_path):
    keras.utils.set_random_seed(0)
    generator = PoseWarpGenerator.tiny(64)
    rng = np.random.default_rng(0)
    image = rng.uniform(-1, 1, (64, 64, 3)).astype("float32")
    source, target = Pose(rng.uniform(8, 56, (14, 2))), Pose(rng.uniform(8, 56, (14, 2)))
    inputs = posewarp_inputs(image, source, target)
    user = {
        "description": "Tiny test generator.",
        "training_data": "posewarp_tennis (MIT)",
        "training_steps": 12,
        "license": "mit",
        "metrics": {"ssim": 0.5},
    }
    folder = save_preset(generator, tmp_path / "gen", metadata=user)

    assert sorted(path.name for path in folder.iterdir()) == sorted(PRESET_FILES)
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["class"] == "posegan_zoo>PoseWarpGenerator"
    assert metadata["package_version"] == posegan_zoo.__version__
    assert metadata["parameter_count"] == generator.count_params()
    assert metadata["image_size"] == [64, 64]
    assert metadata["joint_layout"] == "posewarp14"
    assert {key: metadata[key] for key in user} == user
    weights = metadata["weights"][WEIGHTS]
    assert weights["sha256"] == hashlib.sha256((folder / WEIGHTS).read_bytes()).hexdigest()
    assert weights["size"] == (folder / WEIGHTS).stat().st_size
    card = (folder / "README.md").read_text()
    assert "license: mit" in card and "PoseWarpGenerator.from_preset" in card

    restored = Generator.from_preset(folder)
    assert isinstance(restored, PoseWarpGenerator)
    assert restored.get_config() == generator.get_config()
    assert_outputs_equal(restored(inputs), generator(inputs))


def test_save_replaces_a_preset_but_never_another_folder(disc_preset, discriminators, tmp_path):
    save_preset(discriminators[1], disc_preset)  # a preset folder is replaced
    assert_same_weights(load_preset(disc_preset), discriminators[1])
    other = tmp_path / "notes"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(PresetError, match=r"notes\.txt"):
        save_preset(discriminators[0], other)
    assert sorted(path.name for path in other.iterdir()) == ["notes.txt"]
    with pytest.raises(PresetError, match="not a folder"):
        save_preset(discriminators[0], other / "notes.txt")


def test_interrupted_save_leaves_the_previous_preset(disc_preset, discriminators, monkeypatch):
    before = {path.name: path.read_bytes() for path in disc_preset.iterdir()}
    model = tiny_discriminator(3)

    def failing_save_weights(path):
        pathlib.Path(path).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(model, "save_weights", failing_save_weights)
    with pytest.raises(OSError, match="disk full"):
        save_preset(model, disc_preset)
    assert {path.name: path.read_bytes() for path in disc_preset.iterdir()} == before
    assert sorted(path.name for path in disc_preset.parent.iterdir()) == ["disc"]


def test_save_rejects_computed_or_non_json_metadata(discriminators, tmp_path):
    with pytest.raises(PresetError, match="parameter_count"):
        save_preset(discriminators[0], tmp_path / "a", metadata={"parameter_count": 1})
    with pytest.raises(PresetError, match="training_steps"):
        save_preset(discriminators[0], tmp_path / "b", metadata={"training_steps": "many"})
    with pytest.raises(PresetError, match="not a JSON value"):
        save_preset(discriminators[0], tmp_path / "c", metadata={"data": object()})
    assert not list(tmp_path.iterdir())


def test_a_preset_of_another_class_is_refused(disc_preset):
    with pytest.raises(PresetError, match=r"PoseDiscriminator.*PoseWarpGenerator"):
        Generator.from_preset(disc_preset)
    with pytest.raises(PresetError, match=r"PoseDiscriminator.*PoseWarpGenerator"):
        load_preset(disc_preset, expected_class=PoseWarpGenerator)
    assert isinstance(Discriminator.from_preset(disc_preset), PoseDiscriminator)


def test_tampered_weights_fail_the_sha256_check_before_loading(disc_preset, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("weights were loaded before their check")

    monkeypatch.setattr(keras.Model, "load_weights", never)
    monkeypatch.setattr(keras.saving, "deserialize_keras_object", never)
    flip_byte(disc_preset / WEIGHTS)
    with pytest.raises(PresetError, match="sha256"):
        Discriminator.from_preset(disc_preset)
    (disc_preset / WEIGHTS).write_bytes((disc_preset / WEIGHTS).read_bytes()[:-10])
    with pytest.raises(PresetError, match="truncated"):
        load_preset(disc_preset)


@pytest.mark.parametrize(
    ("name", "edit", "message"),
    [
        ("config.json", lambda text: text[:-20], r"config\.json: not valid JSON"),
        ("config.json", lambda text: "[1, 2]", r"config\.json is not a Keras-serialized"),
        ("metadata.json", lambda text: "{oops", r"metadata\.json: not valid JSON"),
        ("metadata.json", lambda text: text.replace('"weights"', '"w"'), "missing field"),
        ("metadata.json", lambda text: text.replace('"sha256": "', '"sha256": "x'), "sha256"),
        ("metadata.json", lambda text: text.replace('"format_version": 1', '"format_version": 9'),
         "upgrade posegan_zoo"),
        ("metadata.json", lambda text: text.replace("posegan_zoo>PoseDiscriminator",
         "posegan_zoo>PoseWarpGenerator"), "names the class"),
    ],
)  # fmt: skip
def test_malformed_files_are_named(disc_preset, name, edit, message):
    path = disc_preset / name
    path.write_text(edit(path.read_text()))
    with pytest.raises(PresetError, match=message):
        Discriminator.from_preset(disc_preset)


def test_missing_files_are_named(disc_preset, tmp_path):
    (disc_preset / "README.md").unlink()  # the model card is not needed to load
    assert isinstance(load_preset(disc_preset), PoseDiscriminator)
    for name in ("config.json", "metadata.json", WEIGHTS):
        broken = pathlib.Path(shutil.copytree(disc_preset, tmp_path / f"without-{name}"))
        (broken / name).unlink()
        with pytest.raises(PresetError, match=name.replace(".", r"\.")):
            validate_preset(broken)
    with pytest.raises(PresetNotFoundError, match="does not exist"):
        Discriminator.from_preset(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("handle", "message"),
    [
        ("", "empty"),
        ("hf://bad", "must be 'owner/name'"),
        ("hf://a/b/c", "must be 'owner/name'"),
        ("hf://a/b@", "revision is empty"),
        ("hf://alice/../etc", "must be 'owner/name'"),
        ("hf://alice/..", "not a valid Hub owner or repo name"),
        ("hf://-alice/model", "not a valid Hub owner or repo name"),
        ("hf://alice/model@../../refs", "not a valid revision"),
        ("hf://alice/model@main branch", "not a valid revision"),
        ("s3://bucket/preset", "unknown scheme"),
        ("name with spaces", "not a valid preset name"),
        (42, "must be a string or a path"),
    ],
)
def test_malformed_handles_are_refused(handle, message):
    with pytest.raises(PresetError, match=message):
        parse_handle(handle)


def test_handles_parse_to_their_kind():
    hub = parse_handle("hf://alice/posewarp.v2@refs/pr/1")
    assert (hub.kind, hub.repo_id, hub.revision) == ("hub", "alice/posewarp.v2", "refs/pr/1")
    assert parse_handle("hf://alice/posewarp").revision is None
    assert parse_handle("posewarp-tennis_64.v1").name == "posewarp-tennis_64.v1"
    assert parse_handle("./folder").kind == parse_handle(pathlib.Path("x")).kind == "local"
    for name in ("../outside", "a/b", "..", "x..y"):
        with pytest.raises(PresetError, match="not a valid preset name"):
            embedded_preset_path(name)


def test_embedded_presets_are_listed_and_resolved(disc_presets, tmp_path, monkeypatch):
    root = tmp_path / "embedded"
    shutil.copytree(disc_presets[0], root / "tiny-disc")
    (root / "not-a-preset").mkdir()
    monkeypatch.setattr(registry, "EMBEDDED_ROOT", root)
    assert list_presets() == {"tiny-disc": "Tiny discriminator 1."}
    assert list_presets(model_class=PoseDiscriminator) == {"tiny-disc": "Tiny discriminator 1."}
    assert list_presets(model_class=PoseWarpGenerator) == {}
    assert Discriminator.list_presets() == {"tiny-disc": "Tiny discriminator 1."}
    assert resolve("tiny-disc") == root / "tiny-disc"
    assert isinstance(Discriminator.from_preset("tiny-disc"), PoseDiscriminator)
    with pytest.raises(PresetNotFoundError, match="available: tiny-disc"):
        Discriminator.from_preset("tiny-gen")
    with pytest.raises(PresetError, match="applies to Hub presets only"):
        resolve("tiny-disc", revision="v1")
    # A bare name that is not embedded may be a folder of the working directory.
    monkeypatch.chdir(tmp_path)
    save_preset(tiny_discriminator(4), "my-disc")
    assert resolve("my-disc") == pathlib.Path("my-disc")
    monkeypatch.setattr(registry, "EMBEDDED_ROOT", tmp_path / "missing")
    assert list_presets() == {}


# -- the Hub (loopback server) ---------------------------------------------------------------


def test_hub_download_loads_the_preset_and_reuses_the_cache(
    hub, disc_presets, discriminators, tmp_path
):
    sha = hub.add_folder(REPO, disc_presets[0])
    kwargs = hub_kwargs(hub, tmp_path)
    model = Discriminator.from_preset(f"hf://{REPO}", **kwargs)
    assert isinstance(model, PoseDiscriminator)
    assert_same_weights(model, discriminators[0])
    folder = download_preset(f"hf://{REPO}", **kwargs)
    assert folder.is_relative_to(kwargs["cache_dir"]) and folder.name == sha
    assert hub.download_count(WEIGHTS) == 1  # the second call found the blob in the cache
    assert read_metadata(folder)["description"].startswith("Tiny discriminator 1.")


def test_revisions_are_pinned(hub, disc_presets, discriminators, tmp_path):
    first = hub.add_folder(REPO, disc_presets[0], revision="v1")
    hub.add_folder(REPO, disc_presets[1], revision="main")
    kwargs = hub_kwargs(hub, tmp_path)
    assert_same_weights(Discriminator.from_preset(f"hf://{REPO}@v1", **kwargs), discriminators[0])
    assert_same_weights(Discriminator.from_preset(f"hf://{REPO}", **kwargs), discriminators[1])
    pinned = Discriminator.from_preset(f"hf://{REPO}", revision=first, **kwargs)
    assert_same_weights(pinned, discriminators[0])
    with pytest.raises(PresetError, match="contradicts"):
        Discriminator.from_preset(f"hf://{REPO}@v1", revision="main", **kwargs)


def test_missing_repo_revision_and_file_are_named(hub, disc_presets, tmp_path):
    kwargs = hub_kwargs(hub, tmp_path)
    hub.add_folder(REPO, disc_presets[0])
    hub.add_folder("alice/no-weights", disc_presets[0], skip={WEIGHTS})
    with pytest.raises(PresetNotFoundError, match="no repository alice/nothing"):
        Discriminator.from_preset("hf://alice/nothing", **kwargs)
    with pytest.raises(PresetNotFoundError, match="has no revision 'v9'"):
        Discriminator.from_preset(f"hf://{REPO}@v9", **kwargs)
    with pytest.raises(PresetNotFoundError, match=r"lacks model\.weights\.h5"):
        Discriminator.from_preset("hf://alice/no-weights", **kwargs)


def test_corrupted_weights_are_refused_and_removed_from_the_cache(hub, disc_presets, tmp_path):
    hub.add_folder(REPO, disc_presets[0])
    hub.corrupt(REPO, WEIGHTS)
    kwargs = hub_kwargs(hub, tmp_path)
    with pytest.raises(PresetError, match="sha256") as raised:
        Discriminator.from_preset(f"hf://{REPO}", **kwargs)
    assert "removed" in str(raised.value)
    cached = kwargs["cache_dir"] / "models--alice--tiny-disc"
    assert not list(cached.glob(f"snapshots/*/{WEIGHTS}"))
    good = (disc_presets[0] / WEIGHTS).read_bytes()
    assert all(blob.stat().st_size != len(good) for blob in cached.glob("blobs/*"))
    # Offline, the cache does not pass for complete; online, the files come again.
    with pytest.raises(PresetUnavailableError, match="not in the cache"):
        Discriminator.from_preset(f"hf://{REPO}", local_files_only=True, **kwargs)
    hub.heal()
    assert isinstance(Discriminator.from_preset(f"hf://{REPO}", **kwargs), PoseDiscriminator)
    assert hub.download_count(WEIGHTS) == 2


def test_a_transfer_cut_once_is_resumed(hub, disc_presets, discriminators, tmp_path):
    hub.add_folder(REPO, disc_presets[0])
    hub.truncate(REPO, WEIGHTS, keep=1000, times=1)
    model = Discriminator.from_preset(f"hf://{REPO}", **hub_kwargs(hub, tmp_path))
    assert_same_weights(model, discriminators[0])
    assert hub.download_count(WEIGHTS) == 2


def test_the_fake_hub_answers_ranges_with_206(hub):
    sha = hub.add_revision("alice/bytes", {"data.bin": bytes(range(100))})
    url = f"{hub.url}/alice/bytes/resolve/{sha}/data.bin"
    request = urllib.request.Request(url, headers={"Range": "bytes=90-"})
    with urllib.request.urlopen(request) as response:
        assert response.status == 206
        assert response.headers["Content-Range"] == "bytes 90-99/100"
        assert response.read() == bytes(range(90, 100))


def test_a_transfer_that_keeps_failing_leaves_no_partial_file(hub, disc_presets, tmp_path):
    hub.add_folder(REPO, disc_presets[0])
    hub.truncate(REPO, WEIGHTS, keep=1000)
    kwargs = hub_kwargs(hub, tmp_path)
    with pytest.raises(PresetUnavailableError, match="interrupted"):
        Discriminator.from_preset(f"hf://{REPO}", **kwargs)
    cached = kwargs["cache_dir"] / "models--alice--tiny-disc"
    assert not list(cached.rglob("*.incomplete"))
    assert not list(cached.glob(f"snapshots/*/{WEIGHTS}"))
    hub.heal()
    assert isinstance(Discriminator.from_preset(f"hf://{REPO}", **kwargs), PoseDiscriminator)


def test_offline_loads_from_a_warm_cache_without_any_request(
    hub, disc_presets, tmp_path, monkeypatch
):
    hub.add_folder(REPO, disc_presets[0])
    kwargs = hub_kwargs(hub, tmp_path)
    Discriminator.from_preset(f"hf://{REPO}", **kwargs)
    served = len(hub.requests)
    assert isinstance(
        Discriminator.from_preset(f"hf://{REPO}", local_files_only=True, **kwargs),
        PoseDiscriminator,
    )
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert isinstance(Discriminator.from_preset(f"hf://{REPO}", **kwargs), PoseDiscriminator)
    assert len(hub.requests) == served


def test_offline_with_an_empty_cache_says_so(hub, disc_presets, tmp_path, monkeypatch):
    hub.add_folder(REPO, disc_presets[0])
    kwargs = hub_kwargs(hub, tmp_path)
    with pytest.raises(PresetUnavailableError, match=r"not in the cache .*local_files_only"):
        Discriminator.from_preset(f"hf://{REPO}", local_files_only=True, **kwargs)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(PresetUnavailableError, match="HF_HUB_OFFLINE"):
        Discriminator.from_preset(f"hf://{REPO}", **kwargs)
    assert hub.requests == []


def test_hf_endpoint_is_read_at_call_time(hub, disc_presets, tmp_path, monkeypatch):
    hub.add_folder(REPO, disc_presets[0])
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    folder = download_preset(REPO, cache_dir=tmp_path / "hf-cache")
    assert validate_preset(folder)["class"] == "posegan_zoo>PoseDiscriminator"


@pytest.fixture
def fake_upload(monkeypatch):
    """Records the Hub calls of `push_to_hub`, keeping a copy of the uploaded folder."""
    calls = []

    def create_repo(self, repo_id, **kwargs):
        calls.append(("create_repo", repo_id, kwargs))

    def create_branch(self, repo_id, **kwargs):
        calls.append(("create_branch", repo_id, kwargs))

    def upload_folder(self, *, repo_id, folder_path, **kwargs):
        files = {path.name: path.read_bytes() for path in pathlib.Path(folder_path).iterdir()}
        calls.append(("upload_folder", repo_id, {"folder_path": folder_path, **kwargs}, files))
        return "commit-info"

    monkeypatch.setattr(huggingface_hub.HfApi, "create_repo", create_repo)
    monkeypatch.setattr(huggingface_hub.HfApi, "create_branch", create_branch)
    monkeypatch.setattr(huggingface_hub.HfApi, "upload_folder", upload_folder)
    return calls


def test_push_to_hub_uploads_a_preset_folder(fake_upload, disc_preset, tmp_path):
    model = Discriminator(64, conv_widths=[4] * 6, dense_widths=[8, 8])
    assert model.push_to_hub("alice/new-disc", metadata={"license": "mit"}) == "commit-info"
    (_, repo, create), (_, _, upload, files) = fake_upload
    assert repo == "alice/new-disc" and create["exist_ok"] is True
    assert upload["allow_patterns"] == list(PRESET_FILES) and sorted(files) == sorted(PRESET_FILES)
    assert 'from_preset("hf://alice/new-disc")' in files["README.md"].decode()
    uploaded = tmp_path / "uploaded"
    uploaded.mkdir()
    for name, data in files.items():
        (uploaded / name).write_bytes(data)
    assert_same_weights(Discriminator.from_preset(uploaded), model)

    fake_upload.clear()
    push_to_hub(disc_preset, "hf://alice/tiny-disc@dev", commit_message="v2")
    assert [call[0] for call in fake_upload] == ["create_repo", "create_branch", "upload_folder"]
    assert fake_upload[1][2]["branch"] == "dev"
    assert fake_upload[2][2]["folder_path"] == str(disc_preset)
    assert fake_upload[2][2]["revision"] == "dev" and fake_upload[2][2]["commit_message"] == "v2"

    fake_upload.clear()
    flip_byte(disc_preset / WEIGHTS)
    with pytest.raises(PresetError, match="sha256"):
        push_to_hub(disc_preset, "alice/tiny-disc")
    assert fake_upload == []


class Facade(PresetMixin):
    """A non-Keras object wrapping a model, like `PoseRegenerator`."""

    def __init__(self, model):
        self.model = model

    @classmethod
    def _from_preset_folder(cls, folder):
        return cls(load_preset(folder))

    def _preset_model(self):
        return self.model


def test_a_facade_saves_and_loads_its_model(discriminators, tmp_path):
    folder = Facade(discriminators[0]).save_to_preset(tmp_path / "facade")
    assert read_metadata(folder)["class"] == "posegan_zoo>PoseDiscriminator"
    restored = Facade.from_preset(folder)
    assert_same_weights(restored.model, discriminators[0])
