"""``feedback-nlp models``: register, list, show, compare, promote (refused, forced) and log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from registry_factories import build_good_bundle, build_worse_bundle, load_fake, write_tiny_gold
from typer.testing import CliRunner

import feedback_nlp.model_registry.evaluation
from feedback_nlp.cli import app
from feedback_nlp.cli.models import EXIT_REFUSED
from feedback_nlp.settings import get_settings

runner = CliRunner()


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bundles")
    return {"good": build_good_bundle(root / "good"), "worse": build_worse_bundle(root / "worse")}


@pytest.fixture
def env(tmp_path: Path, bundles: dict[str, Path], monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """The good bundle is the configured model; bundles load with the fake encoder."""
    monkeypatch.setattr(feedback_nlp.model_registry.evaluation, "load_for_evaluation", load_fake)
    monkeypatch.setenv("FEEDBACK_NLP_MODEL_DIR", str(bundles["good"]))
    monkeypatch.setenv("FEEDBACK_NLP_REGISTRY_DIR", str(tmp_path / "registry"))
    monkeypatch.setenv("FEEDBACK_NLP_DATA_DIR", str(tmp_path / "no-data"))
    monkeypatch.setenv("FEEDBACK_NLP_TOPIC_MODEL_DIR", str(tmp_path / "no-topics"))
    monkeypatch.setenv("LOGNAME", "carol")
    get_settings.cache_clear()
    yield {"registry": tmp_path / "registry", "gold": write_tiny_gold(tmp_path / "gold.jsonl"), **bundles}
    get_settings.cache_clear()


def _invoke(*args: str):  # noqa: ANN202
    return runner.invoke(app, ["models", *args])


def test_register_list_show(env: dict[str, Path]) -> None:
    result = _invoke("register", str(env["good"]), "--version", "v1")
    assert result.exit_code == 0, result.output
    assert "registered tiny:v1" in result.output and "(4 files verified)" in result.output
    assert _invoke("register", str(env["worse"]), "--version", "v2", "--by", "dave").exit_code == 0
    again = _invoke("register", str(env["good"]), "--version", "v1")
    assert again.exit_code == 0 and "already registered" in again.output

    listed = _invoke("list")
    lines = listed.output.splitlines()
    assert [line.split()[0] for line in lines] == ["tiny:v1", "tiny:v2"]
    assert "carol" in lines[0] and "dave" in lines[1] and lines[1].rstrip().endswith("latest")
    rows = json.loads(_invoke("list", "--json").output)
    assert [(r["ref"], r["latest"], r["live"]) for r in rows] == [("tiny:v1", False, False), ("tiny:v2", True, False)]

    shown = _invoke("show", "tiny")  # no version: the latest
    assert shown.exit_code == 0 and shown.output.startswith("tiny:v2")
    assert "by dave" in shown.output and "trained as tiny:worse" in shown.output
    info = json.loads(_invoke("show", "tiny:v1", "--json").output)
    assert info["ref"] == "tiny:v1" and info["taxonomy"]["version"] == 1 and info["promotions"] == []


def test_register_and_show_errors_exit_1(env: dict[str, Path], tmp_path: Path) -> None:
    missing = _invoke("register", str(tmp_path / "nothing"))
    assert missing.exit_code == 1 and "found none" in missing.output
    unknown = _invoke("show", "tiny:v9")
    assert unknown.exit_code == 1 and "No model named 'tiny'" in unknown.output
    assert _invoke("list").output.strip().startswith("no models registered")


def test_compare_prints_both_models_and_the_deltas(env: dict[str, Path]) -> None:
    _invoke("register", str(env["good"]), "--version", "v1")
    _invoke("register", str(env["worse"]), "--version", "v2")
    result = _invoke("compare", "tiny:v1", "tiny:v2", "--gold", str(env["gold"]))
    assert result.exit_code == 0, result.output
    assert "A = tiny:v1" in result.output and "B = tiny:v2" in result.output and "(12 texts)" in result.output
    sentiment = next(line for line in result.output.splitlines() if "sentiment_macro_f1" in line)
    a, b, delta, flag = sentiment.split()[1:5]
    assert float(delta) == pytest.approx(float(b) - float(a), abs=0.0015) and float(delta) < -0.3 and flag == "worse"
    report = json.loads(_invoke("compare", "live", str(env["worse"]), "--gold", str(env["gold"]), "--json").output)
    assert report["a"] == "tiny:good" and report["headline"]["sentiment_macro_f1"]["delta"] < -0.3
    no_gold = _invoke("compare", "tiny:v1", "tiny:v2")  # the data folder has no gold set
    assert no_gold.exit_code == 1 and "--gold" in no_gold.output


def test_promote_refuses_then_force_overrides_and_both_are_logged(env: dict[str, Path]) -> None:
    _invoke("register", str(env["worse"]), "--version", "v2")
    refused = _invoke("promote", "tiny:v2", "--reason", "new head", "--gold", str(env["gold"]))
    assert refused.exit_code == EXIT_REFUSED
    assert "Refused: tiny:v2 is worse than the live model tiny:good" in refused.output
    assert "sentiment_macro_f1" in refused.output and "--force" in refused.output
    assert json.loads(_invoke("list", "--json").output)[0]["live"] is False

    forced = _invoke(
        "promote", "tiny:v2", "--reason", "accept the drop", "--gold", str(env["gold"]), "--force", "--by", "erin"
    )
    assert forced.exit_code == 0, forced.output
    assert "promoted tiny:v2 (was tiny:good from model_dir) (forced over: sentiment_macro_f1)" in forced.output
    assert json.loads(_invoke("list", "--json").output)[0]["live"] is True

    records = [json.loads(line) for line in (env["registry"] / "promotions.jsonl").read_text().splitlines()]
    assert [(r["outcome"], r["forced"], r["by"], r["reason"]) for r in records] == [
        ("refused", False, "carol", "new head"),  # the login name from the environment
        ("promoted", True, "erin", "accept the drop"),
    ]
    log = _invoke("log")
    assert "#1" in log.output and "refused" in log.output and "promoted forced tiny:v2" in log.output
    shown = _invoke("show", "tiny:v2")
    assert "(live)" in shown.output and "#2 promoted (forced)" in shown.output
    assert "(12 texts): sentiment_macro_f1 0.296" in shown.output  # the cached evaluation


def test_promote_with_a_loose_tolerance_passes(env: dict[str, Path]) -> None:
    _invoke("register", str(env["worse"]), "--version", "v2")
    result = _invoke("promote", "tiny:v2", "--reason", "r", "--gold", str(env["gold"]), "--tolerance", "1.0")
    assert result.exit_code == 0, result.output
    assert json.loads((env["registry"] / "promotions.jsonl").read_text())["rule"]["tolerance"] == 1.0


@pytest.mark.parametrize("command", ["classify", "evaluate"])
def test_classify_and_evaluate_use_the_promoted_model(
    command: str, env: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import feedback_nlp.storage.loading
    from feedback_nlp.errors import BundleError

    loaded: list[Path | None] = []

    def spy(model: Path | None = None, **_: object) -> None:
        loaded.append(model)
        raise BundleError("spy: not loading")

    monkeypatch.setattr(feedback_nlp.storage.loading, "load_pipeline", spy)
    records = tmp_path / "in.jsonl"
    records.write_text('{"kind": "review", "text": "Fine."}\n', encoding="utf-8")
    args = [command, str(records)] if command == "classify" else [command, "--gold", str(env["gold"])]

    def run(*extra: str) -> Path | None:
        result = runner.invoke(app, [*args, *extra])
        assert result.exit_code == 1 and "spy: not loading" in result.output, result.output
        return loaded[-1]

    assert run() is None  # nothing promoted: load_pipeline's default, the model_dir setting
    _invoke("register", str(env["worse"]), "--version", "v2")
    forced = _invoke("promote", "tiny:v2", "--reason", "r", "--gold", str(env["gold"]), "--force")
    assert forced.exit_code == 0, forced.output
    live = run()
    assert live is not None and live.resolve().is_relative_to(env["registry"].resolve())
    assert json.loads((live / "manifest.json").read_text())["version"] == "v2"  # the registered copy
    assert run("--model", str(env["good"])) == env["good"]  # --model still wins
