"""`feedback-nlp models promote` warns when the deployed topic model was fitted on another encoder
(it reads the topic model's typed manifest, TopicManifest)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import feedback_nlp.storage.bundle
from feedback_nlp.cli.models import _warn_topics
from feedback_nlp.settings import get_settings
from feedback_nlp.topics.embeddings import encoder_fingerprint

BUNDLE = {"encoder": {"sha256": "abc", "max_seq_length": 128}, "files": {}}


@pytest.fixture
def topics_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    folder = tmp_path / "topics"
    folder.mkdir()
    monkeypatch.setenv("FEEDBACK_NLP_TOPIC_MODEL_DIR", str(folder))
    monkeypatch.setattr(feedback_nlp.storage.bundle, "read_manifest", lambda _path: BUNDLE)
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


def _deploy(folder: Path, manifest: object) -> None:
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


@pytest.mark.parametrize(
    ("manifest", "warns"),
    [
        ({"format": 1, "encoder": "another-encoder", "files": {"a": "b"}}, True),
        ({"format": 1, "encoder": encoder_fingerprint(BUNDLE), "files": {"a": "b"}}, False),
        ({"format": 1, "files": {"a": "b"}}, False),  # no encoder recorded: nothing to compare
        ({"format": 1, "encoder": ["not", "a", "fingerprint"]}, False),  # unreadable: no warning
        (["not", "an", "object"], False),
    ],
)
def test_warns_only_for_another_encoder(
    topics_dir: Path, manifest: object, warns: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    _deploy(topics_dir, manifest)
    _warn_topics(Path("bundle"))
    assert ("fitted on another encoder" in capsys.readouterr().err) is warns
