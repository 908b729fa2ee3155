"""The topic model's manifest is typed (TopicManifest) and written exactly as the dict it replaced."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

import pytest

from feedback_nlp.errors import BundleError
from feedback_nlp.topics.manifest import TOPICS_FORMAT, TopicManifest
from feedback_nlp.topics.model import MANIFEST, TopicModel, _hash_tree
from tests.topics.test_model import FINGERPRINT, Fitted, _fit


@pytest.fixture(scope="module")
def fitted() -> Fitted:
    return _fit(20)


@pytest.fixture(scope="module")
def saved(fitted: Fitted, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fitted.model.save(
        tmp_path_factory.mktemp("topic-manifest") / "model", encoder=FINGERPRINT, extra={"source": "x"}
    )


def _read(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))


def test_saved_manifest_is_the_json_the_dict_version_wrote(fitted: Fitted, saved: Path) -> None:
    on_disk = _read(saved)
    model = fitted.model
    # What TopicModel.save wrote before the manifest was typed, key by key.
    files = _hash_tree(saved, exclude={MANIFEST})
    expected = {
        "corpus": {"n_texts": len(fitted.texts), "fingerprint": on_disk["corpus"]["fingerprint"]},
        "source": "x",
        "format": TOPICS_FORMAT,
        "created_at": on_disk["created_at"],
        "encoder": FINGERPRINT,
        "config": asdict(model.config),
        "min_similarity": model.min_similarity,
        "topics": [asdict(t) for t in model.topics],
        "files": files,
    }
    text = (saved / MANIFEST).read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(json.dumps(expected)), indent=2, sort_keys=True) + "\n"
    assert model.manifest == on_disk, "the model keeps the JSON object it wrote"
    assert TopicManifest.parse(on_disk).to_json() == on_disk


def test_typed_fields_read_back(saved: Path) -> None:
    manifest = TopicManifest.read(saved)
    assert manifest.encoder == FINGERPRINT and manifest.min_similarity is not None
    assert manifest.corpus is not None and manifest.corpus.n_texts > 0
    assert manifest.space is None and manifest.updates == []
    assert manifest.model_extra == {"source": "x"}


def test_unknown_keys_of_older_models_load_and_are_kept(fitted: Fitted, saved: Path, tmp_path: Path) -> None:
    folder = Path(shutil.copytree(saved, tmp_path / "old"))
    data = _read(folder)
    data["written_by"] = {"tool": "feedback-nlp 0.1"}
    (folder / MANIFEST).write_text(json.dumps(data), encoding="utf-8")
    loaded = TopicModel.load(folder, encoder=FINGERPRINT, embed=fitted.encoder.encode)
    assert loaded.manifest["written_by"] == {"tool": "feedback-nlp 0.1"}
    assert loaded.space_name == "pipeline"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"min_similarity": None}, "records no min_similarity"),
        ({"topics": "none"}, "is not the manifest of a topic model: topics"),
        ({"encoder": ["abc"]}, "is not the manifest of a topic model: encoder"),
    ],
)
def test_a_malformed_manifest_is_refused_with_what_was_expected(
    saved: Path, tmp_path: Path, change: dict, message: str
) -> None:
    folder = Path(shutil.copytree(saved, tmp_path / "bad"))
    (folder / MANIFEST).write_text(json.dumps({**_read(folder), **change}), encoding="utf-8")
    with pytest.raises(BundleError, match=message):
        TopicModel.load(folder)
