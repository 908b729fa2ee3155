"""The encoder fingerprint keys the embedding cache: its value must not change between versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feedback_nlp.errors import BundleError
from feedback_nlp.storage.artifacts import BundleManifest, sha256_text
from feedback_nlp.topics.embeddings import EncoderManifest, encoder_fingerprint, fingerprint_of

ROOT = Path(__file__).resolve().parents[2]

# Computed with the dict-reading encoder_fingerprint this typed one replaced (same inputs).
PINNED = {
    # models/default as of default:20261206T042451Z (its encoder and fine-tuned layers).
    "1eb2a19b42506d33a0014b9eb72dd55349b495cdff32fa521ee7d0be59bc8d51": {
        "encoder": {
            "sha256": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
            "max_seq_length": 128,
            "fine_tuned_layers": 3,
        },
        "files": {"encoder_layers.safetensors": "57f2d286b9bf7cd11050ad8dc5bf575bd78c0cbd013f2194ab3cd611da80b0c5"},
        "name": "default",
    },
    "49fa51f5bcd8496d522ebf1db9f8036e56f32dc94804cd87f77cdfa1cfc62caa": {
        "encoder": {"sha256": "abc", "max_seq_length": 128},
        "files": {"encoder_layers.safetensors": "f00d"},
    },
    "3c9f9c9cb5c26af220d17f8cee6fbcf6069d93b9cfd4d451480db76efaab7994": {
        "encoder": {"sha256": "abc", "max_seq_length": 128},
        "files": {},
    },
    "b901dead2e5d4ea7b04c3dc6e59af76d81f917ceff56ec12341e5f9b35858a9c": {},
}


@pytest.mark.parametrize("expected", sorted(PINNED))
def test_fingerprint_values_are_unchanged(expected: str) -> None:
    assert encoder_fingerprint(PINNED[expected]) == expected


def test_default_bundle_fingerprint_is_the_same_typed_or_as_json() -> None:
    data = json.loads((ROOT / "models" / "default" / "manifest.json").read_text(encoding="utf-8"))
    # The formula the embedding caches on disk were keyed with, from the raw JSON.
    layers = data["files"].get("encoder_layers.safetensors", "no-fine-tuned-layers")
    expected = sha256_text(f"{data['encoder']['sha256']}|{data['encoder']['max_seq_length']}|{layers}")
    assert encoder_fingerprint(data) == expected
    assert encoder_fingerprint(BundleManifest.parse(data)) == expected
    assert encoder_fingerprint(EncoderManifest.parse(data)) == expected
    encoder = data["encoder"]
    tuned = data["files"].get("encoder_layers.safetensors")
    assert fingerprint_of(encoder["sha256"], encoder["max_seq_length"], tuned) == expected


def test_fingerprint_of_matches_the_manifest_form() -> None:
    assert fingerprint_of("abc", 128, "f00d") == "49fa51f5bcd8496d522ebf1db9f8036e56f32dc94804cd87f77cdfa1cfc62caa"
    assert fingerprint_of("abc", 128, None) == "3c9f9c9cb5c26af220d17f8cee6fbcf6069d93b9cfd4d451480db76efaab7994"


def test_a_malformed_encoder_section_is_refused() -> None:
    with pytest.raises(BundleError, match="encoder"):
        encoder_fingerprint({"encoder": "abc", "files": {}})
