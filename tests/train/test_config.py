"""Training configs: defaults, TOML files and dotted overrides, all validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedback_nlp.errors import ConfigError
from feedback_nlp.settings import PROJECT_ROOT
from feedback_nlp.train.config import TrainingConfig, load_config


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_config_defaults() -> None:
    cfg = load_config(None)
    assert cfg == TrainingConfig()
    assert cfg.name == "default" and cfg.seed == 42
    assert cfg.paths.output == Path("models/default")
    assert cfg.paths.data_dir is None and cfg.paths.taxonomy is None
    assert cfg.data.max_per_source == 6000
    assert cfg.data.exclude_gold is True
    assert len(cfg.data.sources) == 8
    assert cfg.finetune.layers == 3 and cfg.finetune.epochs == 1.0
    assert cfg.heads.keyword_features is True


def test_load_config_toml_file(tmp_path: Path) -> None:
    path = _toml(
        tmp_path,
        """
name = "small"
seed = 7

[paths]
output = "out/small"

[data]
sources = ["mams", "banking77"]
max_per_source = 500

[finetune]
epochs = 0

[heads]
C_stage = 2.5
keyword_features = false
""",
    )
    cfg = load_config(path)
    assert cfg.name == "small" and cfg.seed == 7
    assert cfg.paths.output == Path("out/small")
    assert cfg.data.sources == ["mams", "banking77"]
    assert cfg.data.max_per_source == 500
    assert cfg.finetune.epochs == 0.0
    assert cfg.finetune.layers == 3  # untouched keys keep their defaults
    assert cfg.heads.C_stage == 2.5
    assert cfg.heads.keyword_features is False


@pytest.mark.parametrize(
    ("override", "attribute", "expected"),
    [
        ("seed=3", ("seed",), 3),
        ("finetune.epochs=0", ("finetune", "epochs"), 0.0),
        ("finetune.learning_rate=1e-4", ("finetune", "learning_rate"), 1e-4),
        ("heads.C_touchpoints=0.5", ("heads", "C_touchpoints"), 0.5),
        ("name=my-run", ("name",), "my-run"),  # a bare string
        ('name="quoted run"', ("name",), "quoted run"),
        ("paths.output=models/other", ("paths", "output"), Path("models/other")),
        ("heads.keyword_features=false", ("heads", "keyword_features"), False),
        ("data.exclude_gold=true", ("data", "exclude_gold"), True),
        ('data.sources=["mams"]', ("data", "sources"), ["mams"]),
        ("  data.max_per_source =1000", ("data", "max_per_source"), 1000),
    ],
)
def test_load_config_dotted_override(override: str, attribute: tuple[str, ...], expected: object) -> None:
    value: object = load_config(None, [override])
    for part in attribute:
        value = getattr(value, part)
    assert value == expected
    assert type(value) is type(expected)


def test_load_config_override_beats_file(tmp_path: Path) -> None:
    path = _toml(tmp_path, "[data]\nmax_per_source = 500\neval_fraction = 0.3\n")
    cfg = load_config(path, ["data.max_per_source=800"])
    assert cfg.data.max_per_source == 800
    assert cfg.data.eval_fraction == 0.3


def test_load_config_later_override_wins() -> None:
    assert load_config(None, ["seed=1", "seed=2"]).seed == 2


@pytest.mark.parametrize(
    "override",
    ["heads.C=2.0", "finetune.epoch=1", "nosuchsection.key=1", "colour=blue"],
)
def test_load_config_unknown_key_raises_config_error(override: str) -> None:
    with pytest.raises(ConfigError, match="Invalid training config"):
        load_config(None, [override])


@pytest.mark.parametrize(
    "override",
    [
        "data.max_per_source=10",  # below the minimum of 100
        "data.eval_fraction=0.9",
        "finetune.layers=7",
        "finetune.learning_rate=0",
        "heads.C_sentiment=-1",
        "seed=abc",
        "finetune.epochs=fast",
        "data.sources=mams",  # a string, not a list
    ],
)
def test_load_config_bad_value_raises_config_error(override: str) -> None:
    with pytest.raises(ConfigError):
        load_config(None, [override])


def test_load_config_override_without_equals_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="section.key=value"):
        load_config(None, ["finetune.epochs"])


def test_load_config_unknown_key_in_file_raises_config_error(tmp_path: Path) -> None:
    path = _toml(tmp_path, "[heads]\nC = 2.0\n")
    with pytest.raises(ConfigError, match="C"):
        load_config(path)


def test_load_config_missing_file_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "absent.toml")


def test_load_config_invalid_toml_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_toml(tmp_path, "[data\nmax_per_source = 1\n"))


@pytest.mark.parametrize("path", sorted((PROJECT_ROOT / "training" / "configs").glob("*.toml")), ids=lambda p: p.name)
def test_shipped_training_configs_are_valid(path: Path) -> None:
    load_config(path)


def test_threshold_folds_are_off_or_at_least_two() -> None:
    assert load_config(None, ["heads.threshold_folds=0"]).heads.threshold_folds == 0
    assert load_config(None, ["heads.threshold_folds=5"]).heads.threshold_folds == 5
    with pytest.raises(ConfigError, match="at least 2"):
        load_config(None, ["heads.threshold_folds=1"])
