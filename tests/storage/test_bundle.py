"""Model bundles: atomic writing, and loading that refuses anything damaged or mismatched."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from factories import FakeEncoder, build_tiny_bundle, fake_settings, fit_tiny_heads, tiny_manifest, write_bundle

from feedback_nlp.errors import BundleError, ConfigError
from feedback_nlp.settings import MINILM_SHA256
from feedback_nlp.storage.artifacts import sha256_file
from feedback_nlp.storage.bundle import BUNDLE_FORMAT, MANIFEST, new_bundle, read_manifest
from feedback_nlp.storage.loading import TAXONOMY_FILE, load_bundle
from feedback_nlp.taxonomy.labels import Taxonomy

EXPECTED_FILES = {"heads.safetensors", "heads.json", "taxonomy.yaml", "README.md"}


@pytest.fixture
def bundle(tiny_bundle: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny bundle, free to damage."""
    return Path(shutil.copytree(tiny_bundle, tmp_path / "bundle"))


def _load(folder: Path, **settings: object):  # noqa: ANN202
    return load_bundle(folder, fake_settings(**settings), encoder=FakeEncoder())


def _rewrite_manifest(folder: Path, **changes: object) -> None:
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    manifest.update(changes)
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def _custom_taxonomy_data() -> dict:
    data = Taxonomy.default().model_dump(mode="json")
    data["name"] = "acme-cx"
    data["version"] = 2
    data["journey_stages"]["repair"] = "getting a broken product fixed"
    return data


# --------------------------------------------------------------------------- loading


def test_load_bundle_tiny_bundle_loads(tiny_bundle: Path) -> None:
    pipeline = _load(tiny_bundle)
    assert pipeline.version == "tiny:20240101T000000Z"
    assert pipeline.taxonomy == Taxonomy.default()
    assert pipeline.manifest["format"] == BUNDLE_FORMAT
    assert set(pipeline.manifest["files"]) == EXPECTED_FILES
    assert pipeline.predict_texts(["I love the app, it is great"])[0].sentiment.label == "positive"


def test_read_manifest_lists_file_hashes(tiny_bundle: Path) -> None:
    manifest = read_manifest(tiny_bundle)
    for name, digest in manifest["files"].items():
        assert digest == sha256_file(tiny_bundle / name)
    assert MANIFEST not in manifest["files"]


@pytest.mark.parametrize("name", sorted(EXPECTED_FILES))
def test_load_bundle_flipped_byte_refused_with_sha256(bundle: Path, name: str) -> None:
    path = bundle / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="sha256") as info:
        _load(bundle)
    assert name in str(info.value)


def test_load_bundle_truncated_file_refused(bundle: Path) -> None:
    path = bundle / "heads.safetensors"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(BundleError, match="changed or truncated"):
        _load(bundle)


@pytest.mark.parametrize("name", sorted(EXPECTED_FILES))
def test_load_bundle_missing_file_refused(bundle: Path, name: str) -> None:
    (bundle / name).unlink()
    with pytest.raises(BundleError, match=f"missing {name}"):
        _load(bundle)


def test_load_bundle_missing_manifest_refused(bundle: Path) -> None:
    (bundle / MANIFEST).unlink()
    with pytest.raises(BundleError, match="found none"):
        _load(bundle)


def test_load_bundle_missing_folder_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="FEEDBACK_NLP_MODEL_DIR"):
        _load(tmp_path / "nowhere")


def test_load_bundle_manifest_not_json_refused(bundle: Path) -> None:
    (bundle / MANIFEST).write_text("{not json", encoding="utf-8")
    with pytest.raises(BundleError, match="not valid JSON"):
        _load(bundle)


@pytest.mark.parametrize("fmt", [None, 0, 2, "1"])
def test_load_bundle_wrong_format_refused(bundle: Path, fmt: object) -> None:
    _rewrite_manifest(bundle, format=fmt)
    with pytest.raises(BundleError, match="bundle format"):
        _load(bundle)


@pytest.mark.parametrize("files", [{}, None, ["heads.json"]])
def test_load_bundle_manifest_without_files_refused(bundle: Path, files: object) -> None:
    _rewrite_manifest(bundle, files=files)
    with pytest.raises(BundleError, match="lists no files"):
        _load(bundle)


def test_load_bundle_edited_taxonomy_refused(bundle: Path) -> None:
    path = bundle / TAXONOMY_FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["journey_stages"]["usage"] = "something else"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(BundleError, match="sha256"):
        _load(bundle)


def test_load_bundle_edited_taxonomy_with_rehashed_manifest_refused(bundle: Path) -> None:
    # Even with the hash list updated, the taxonomy must match the fingerprint it was trained on.
    path = bundle / TAXONOMY_FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["touchpoints"]["website"]["description"] = "any web page at all"
    path.write_text(json.dumps(data), encoding="utf-8")
    manifest = json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))
    manifest["files"][TAXONOMY_FILE] = sha256_file(path)
    (bundle / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(BundleError, match="fingerprint"):
        _load(bundle)


def test_load_bundle_taxonomy_version_mismatch_refused(bundle: Path) -> None:
    manifest = json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))
    manifest["taxonomy"]["version"] = 7
    (bundle / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(BundleError, match="taxonomy version 7"):
        _load(bundle)


def test_load_bundle_other_configured_taxonomy_refused(tiny_bundle: Path, tmp_path: Path) -> None:
    custom = tmp_path / "acme.yaml"
    custom.write_text(yaml.safe_dump(_custom_taxonomy_data()), encoding="utf-8")
    with pytest.raises(BundleError) as info:
        _load(tiny_bundle, taxonomy_path=custom)
    message = str(info.value)
    assert str(custom) in message
    assert "acme-cx v2" in message and "default-cx v1" in message


def test_load_bundle_same_configured_taxonomy_loads(tiny_bundle: Path, tmp_path: Path) -> None:
    same = tmp_path / "same.yaml"
    same.write_text(yaml.safe_dump(Taxonomy.default().model_dump(mode="json")), encoding="utf-8")
    assert _load(tiny_bundle, taxonomy_path=same).taxonomy == Taxonomy.default()


def test_load_bundle_missing_configured_taxonomy_is_config_error(tiny_bundle: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        _load(tiny_bundle, taxonomy_path=tmp_path / "absent.yaml")


def test_load_bundle_heads_for_other_taxonomy_refused(tmp_path: Path) -> None:
    # A bundle whose heads predict the default stages but whose taxonomy adds one.
    custom = Taxonomy.from_dict(_custom_taxonomy_data())
    encoder = FakeEncoder()

    heads = fit_tiny_heads(encoder, Taxonomy.default())
    write_bundle(tmp_path / "b", heads, custom, tiny_manifest(custom, encoder_sha256=encoder.weights_sha256))
    with pytest.raises(BundleError, match="journey_stage head predicts"):
        load_bundle(tmp_path / "b", fake_settings(), encoder=FakeEncoder())


def test_load_bundle_other_encoder_hash_refused(tiny_bundle: Path) -> None:
    # The tiny bundle records the fake encoder's hash; the default setting is MiniLM's.
    with pytest.raises(BundleError, match="encoder weights"):
        _load(tiny_bundle, encoder_sha256=MINILM_SHA256)


def test_load_bundle_hash_check_off_accepts_any_encoder(tiny_bundle: Path) -> None:
    assert _load(tiny_bundle, encoder_sha256=None).version.startswith("tiny:")


def test_load_bundle_passed_encoder_must_match_manifest(tmp_path: Path) -> None:
    folder = build_tiny_bundle(tmp_path / "minilm", encoder_sha256=MINILM_SHA256)
    with pytest.raises(BundleError, match="encoder"):
        load_bundle(folder, fake_settings(encoder_sha256=MINILM_SHA256), encoder=FakeEncoder())


# --------------------------------------------------------------------------- writing


def test_new_bundle_publishes_with_hashes_and_format(tmp_path: Path) -> None:
    target = tmp_path / "models" / "b"
    with new_bundle(target) as staging:
        assert staging != target and staging.parent == target.parent
        (staging / "a.txt").write_text("a", encoding="utf-8")
        (staging / MANIFEST).write_text(json.dumps({"name": "x"}), encoding="utf-8")
        assert not target.exists()
    manifest = read_manifest(target)
    assert manifest["format"] == BUNDLE_FORMAT
    assert manifest["files"] == {"a.txt": sha256_file(target / "a.txt")}
    assert [p.name for p in target.parent.iterdir()] == ["b"]  # no staging or backup left


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_new_bundle_body_raises_leaves_existing_bundle(tiny_bundle: Path, tmp_path: Path, error: BaseException) -> None:
    target = Path(shutil.copytree(tiny_bundle, tmp_path / "default"))
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    with pytest.raises(type(error)):
        with new_bundle(target) as staging:
            (staging / "heads.safetensors").write_bytes(b"half-written")
            (staging / MANIFEST).write_text("{}", encoding="utf-8")
            raise error
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["default"]
    assert _load(target).version.startswith("tiny:")


def test_new_bundle_without_manifest_leaves_existing_bundle(tiny_bundle: Path, tmp_path: Path) -> None:
    target = Path(shutil.copytree(tiny_bundle, tmp_path / "default"))
    with pytest.raises(FileNotFoundError):
        with new_bundle(target) as staging:
            (staging / "heads.json").write_text("{}", encoding="utf-8")
    assert read_manifest(target)["name"] == "tiny"
    assert [p.name for p in tmp_path.iterdir()] == ["default"]


def test_new_bundle_replaces_existing_bundle(tiny_bundle: Path, tmp_path: Path) -> None:
    target = Path(shutil.copytree(tiny_bundle, tmp_path / "default"))
    with new_bundle(target) as staging:
        (staging / "only.txt").write_text("new", encoding="utf-8")
        (staging / MANIFEST).write_text(json.dumps({"name": "second"}), encoding="utf-8")
    assert sorted(p.name for p in target.iterdir()) == [MANIFEST, "only.txt"]
    assert read_manifest(target)["name"] == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["default"]


def test_new_bundle_failed_publish_restores_existing_bundle(
    tiny_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = Path(shutil.copytree(tiny_bundle, tmp_path / "default"))
    real_rename = Path.rename

    def rename(self: Path, destination: Path) -> Path:
        staging_folder = self.name.startswith(".default.") and not self.name.endswith(".old")
        if Path(destination) == target and staging_folder:  # publishing fails (disk full, ...)
            raise OSError("simulated rename failure")
        return real_rename(self, destination)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(OSError, match="simulated"):
        with new_bundle(target) as staging:
            (staging / MANIFEST).write_text(json.dumps({"name": "second"}), encoding="utf-8")
    monkeypatch.undo()
    assert read_manifest(target)["name"] == "tiny"
