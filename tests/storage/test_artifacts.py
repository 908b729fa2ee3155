"""atomic_dir publishes a folder whole or not at all; the hashes match hashlib; manifests are
typed and round-trip; read_table reads the three table formats."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from feedback_nlp.errors import BundleError, DataError, InputError
from feedback_nlp.storage.artifacts import (
    BUNDLE_FORMAT,
    MANIFEST,
    BundleManifest,
    Manifest,
    atomic_dir,
    hash_folder,
    read_table,
    sha256_file,
    sha256_text,
    write_manifest,
)


def test_atomic_dir_replaces_the_old_folder_and_leaves_no_staging(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with atomic_dir(target) as staging:
        (staging / "new.txt").write_text("new")
        assert not (target / "new.txt").exists()
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_atomic_dir_failure_keeps_the_old_folder(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(target) as staging:
        (staging / "half.txt").write_text("half")
        raise RuntimeError("crash")
    assert sorted(p.name for p in target.iterdir()) == ["old.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_atomic_dir_without_replace_refuses_an_existing_folder(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(FileExistsError), atomic_dir(target, replace=False) as staging:
        (staging / "x").write_text("x")
    assert list(target.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_sha256_file(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 3_000_000)
    assert sha256_file(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_sha256_text_matches_hashlib_utf8_and_takes_lone_surrogates() -> None:
    for text in ["", "café ✓", "a|b|c"]:
        assert sha256_text(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert len(sha256_text("broken \ud800 pair")) == 64  # strict UTF-8 would refuse it


# --------------------------------------------------------------------------- manifests

SHIPPED = Path(__file__).resolve().parents[2] / "models"


@pytest.mark.parametrize("name", ["default", "finetune-mapped"])
def test_bundle_manifest_reads_the_shipped_bundles_unchanged(name: str) -> None:
    folder = SHIPPED / name
    if not (folder / MANIFEST).is_file():
        pytest.skip(f"{folder} is not in this checkout")
    raw = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    manifest = BundleManifest.read(folder, verify=False)
    assert manifest.to_json() == raw  # every key kept, nothing added
    assert manifest.ref == f"{raw['name']}:{raw['version']}"
    assert manifest.taxonomy.fingerprint == raw["taxonomy"]["fingerprint"]
    assert manifest.encoder.sha256 == raw["encoder"]["sha256"]
    assert manifest.labels.touchpoints == raw["labels"]["touchpoints"]


def _manifest(**changes: object) -> BundleManifest:
    data: dict = {
        "name": "m",
        "version": "v1",
        "taxonomy": {"name": "t", "version": 1, "fingerprint": "f"},
        "labels": {"sentiment": ["negative", "positive"], "journey_stage": ["usage"], "touchpoints": ["web"]},
        "encoder": {"sha256": "abc", "max_seq_length": 128},
        "metrics": {"ece": float("nan")},
        "something_new": {"kept": True},
    }
    data.update(changes)
    return BundleManifest.model_validate(data)


def test_bundle_manifest_write_then_read_round_trips(tmp_path: Path) -> None:
    (tmp_path / "heads.json").write_text("{}", encoding="utf-8")
    manifest = _manifest()
    manifest.model_copy(update={"files": {"heads.json": sha256_file(tmp_path / "heads.json")}}).write(tmp_path)
    text = (tmp_path / MANIFEST).read_text(encoding="utf-8")
    assert '"ece": NaN' in text  # as json.dumps writes it, not null
    back = BundleManifest.read(tmp_path)
    assert back.something_new == {"kept": True}  # type: ignore[attr-defined]
    assert back.format == BUNDLE_FORMAT and back.files == {"heads.json": sha256_file(tmp_path / "heads.json")}
    assert "retrained_from" not in json.loads(text)  # keys never given are not written as null


def test_bundle_manifest_missing_key_says_where_and_what_to_do(tmp_path: Path) -> None:
    data = _manifest().to_json()
    del data["labels"]["touchpoints"]
    data["taxonomy"]["version"] = "one"
    write_manifest(tmp_path, {**data, "files": {"x": "0"}})
    with pytest.raises(BundleError) as info:
        BundleManifest.read(tmp_path, verify=False)
    message = str(info.value)
    assert "labels.touchpoints: field required" in message
    assert "taxonomy.version" in message and "'one'" in message
    assert "feedback-nlp train" in message


def test_bundle_manifest_refuses_a_custom_classifier_folder(tmp_path: Path) -> None:
    write_manifest(tmp_path, {**_manifest().to_json(), "kind": "custom-classifier", "files": {"x": "0"}})
    with pytest.raises(BundleError, match="'custom-classifier' folder, not a model bundle"):
        BundleManifest.read(tmp_path, verify=False)


@pytest.mark.parametrize("fmt", [None, 2, "1", True])
def test_manifest_other_format_refused(tmp_path: Path, fmt: object) -> None:
    write_manifest(tmp_path, {**_manifest().to_json(), "format": fmt, "files": {"x": "0"}})
    with pytest.raises(BundleError, match="bundle format"):
        Manifest.read(tmp_path, verify=False)


def test_manifest_verify_refuses_a_changed_file(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a", encoding="utf-8")
    write_manifest(tmp_path, {"format": BUNDLE_FORMAT, "files": hash_folder(tmp_path)})
    assert Manifest.read(tmp_path).files == {"a.txt": sha256_file(tmp_path / "a.txt")}
    (tmp_path / "a.txt").write_text("b", encoding="utf-8")
    with pytest.raises(BundleError, match="changed or truncated"):
        Manifest.read(tmp_path)


# --------------------------------------------------------------------------- tables


def test_read_table_csv_jsonl_parquet(tmp_path: Path) -> None:
    frame = pd.DataFrame({"text": ["a", "b"], "label": ["x", ""]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    (tmp_path / "t.jsonl").write_text('{"text": "a", "tags": ["x"]}\n{"text": "b", "tags": null}\n', encoding="utf-8")
    frame.to_parquet(tmp_path / "t.parquet")
    csv = read_table(tmp_path / "t.csv")
    assert csv["label"].tolist() == ["x", ""]  # empty cells stay "" (not NaN)
    jsonl = read_table(tmp_path / "t.jsonl")
    assert jsonl["tags"][0] == ["x"] and pd.isna(jsonl["tags"][1])  # lists stay lists
    assert read_table(tmp_path / "t.parquet").equals(frame)


def test_read_table_errors_name_the_file_and_use_the_callers_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_table(tmp_path / "missing.csv")
    (tmp_path / "t.txt").write_text("x", encoding="utf-8")
    with pytest.raises(DataError, match=r"Labelled file .*t\.txt: expected a \.csv, \.jsonl or \.parquet file"):
        read_table(tmp_path / "t.txt", what="Labelled file", error=DataError)
    (tmp_path / "bad.parquet").write_text("not parquet", encoding="utf-8")
    with pytest.raises(InputError, match="Cannot read"):
        read_table(tmp_path / "bad.parquet")
