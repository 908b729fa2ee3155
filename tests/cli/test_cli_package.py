"""The command-line package's shared parts: the error wrapper, the input options, the entry points."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from typer.testing import CliRunner

from feedback_nlp.cli import app
from feedback_nlp.cli.errors import EXIT_REFUSED, CommandError, reports_errors
from feedback_nlp.cli.options import InputOptions, require_one_source, with_input_options
from feedback_nlp.errors import InputError

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def _app(*commands) -> typer.Typer:  # noqa: ANN002
    probe = typer.Typer()
    for command in commands:
        probe.command()(command)
    probe.command("noop")(lambda: None)  # two commands, so each is addressed by name
    return probe


@reports_errors
def bad_input() -> None:
    raise InputError("Expected a CSV file, got notes.txt; convert it to CSV.")


@reports_errors
def refused() -> None:
    raise CommandError("candidate is worse than the live model", EXIT_REFUSED)


@reports_errors
def closed_pipe() -> None:
    raise BrokenPipeError


@reports_errors
def bug() -> None:
    raise ValueError("a bug keeps its traceback")


@pytest.mark.parametrize(
    ("command", "code", "stderr"),
    [
        ("bad-input", 1, "error: Expected a CSV file, got notes.txt; convert it to CSV.\n"),
        ("refused", EXIT_REFUSED, "error: candidate is worse than the live model\n"),
        ("closed-pipe", 0, ""),
    ],
)
def test_reports_errors_turns_expected_errors_into_a_message_and_a_status(command: str, code: int, stderr: str) -> None:
    result = runner.invoke(_app(bad_input, refused, closed_pipe), [command])
    assert result.exit_code == code
    assert result.stderr == stderr
    assert result.stdout == ""


def test_reports_errors_lets_bugs_through() -> None:
    result = runner.invoke(_app(bug), ["bug"])
    assert isinstance(result.exception, ValueError)


def test_reports_errors_keeps_the_command_signature() -> None:
    @reports_errors
    def greet(name: Annotated[str, typer.Option(help="Who.")] = "you") -> None:
        """Say hello."""
        typer.echo(f"hello {name}")

    result = runner.invoke(_app(greet), ["greet", "--name", "Ada"])
    assert result.exit_code == 0 and result.stdout == "hello Ada\n"
    assert "Say hello." in runner.invoke(_app(greet), ["greet", "--help"]).stdout


def test_with_input_options_replaces_inputs_with_the_input_options() -> None:
    seen: list[InputOptions] = []

    @with_input_options
    def read(
        path: Annotated[str, typer.Argument()], *, inputs: InputOptions, limit: Annotated[int, typer.Option()] = 5
    ) -> None:
        seen.append(inputs)
        typer.echo(f"{path} {limit}")

    result = runner.invoke(
        _app(read),
        [
            "read",
            "survey.csv",
            "--skip-rows",
            "2",
            "--text-column",
            "Q2",
            "--nps-column",
            "Q1",
            "--kind",
            "survey",
            "--on-bad-date",
            "null",
            "--channel",
            "chat",
            "--turns-column",
            "original",
            "--limit",
            "7",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "survey.csv 7\n"
    assert seen == [
        InputOptions(
            kind="survey",
            text_column="Q2",
            nps_column="Q1",
            skip_rows=2,
            on_bad_date="null",
            channel="chat",
            turns_column="original",
        )
    ]
    kwargs = seen[0].read_kwargs()
    assert kwargs["columns"] == {"nps": "Q1", "turns": "original"} and kwargs["channel"] == "chat"

    runner.invoke(_app(read), ["read", "x.jsonl"])
    assert seen[-1] == InputOptions()  # the defaults are InputOptions' own

    bad = runner.invoke(_app(read), ["read", "x.csv", "--on-bad-date", "skip"])
    assert bad.exit_code == 2  # a choice typer checks before the command runs


def test_with_input_options_needs_an_inputs_parameter() -> None:
    def no_inputs(path: str) -> None: ...

    with pytest.raises(TypeError, match="inputs: InputOptions"):
        with_input_options(no_inputs)


@pytest.mark.parametrize(("input", "from_db"), [(None, False), ("feedback.csv", True)])
def test_require_one_source_wants_a_file_or_the_database(input: str | None, from_db: bool) -> None:
    with pytest.raises(CommandError, match="either an INPUT file or --from-db"):
        require_one_source(input, from_db)
    require_one_source("feedback.csv", False)
    require_one_source(None, True)


def _commands(command: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if hasattr(command, "commands"):  # a group (typer's own click types)
        for name, sub in command.commands.items():
            yield from _commands(sub, f"{path} {name}".strip())
    else:
        yield path, command


def test_every_command_fails_through_reports_errors() -> None:
    wrapper_code = reports_errors(lambda: None).__code__
    unwrapped = []
    for name, command in _commands(typer.main.get_command(app)):
        function, chain = command.callback, []
        while function is not None:
            chain.append(getattr(function, "__code__", None))
            function = getattr(function, "__wrapped__", None)
        if wrapper_code not in chain:
            unwrapped.append(name)
    assert unwrapped == []


def test_card_with_an_unreadable_baselines_file_says_which(tmp_path: Path) -> None:
    result = runner.invoke(app, ["card", "--model", str(tmp_path), "--baselines", str(tmp_path / "absent.json")])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot read the baselines report {tmp_path / 'absent.json'}: ")


def test_python_dash_m_and_the_console_script_run_the_same_app() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "feedback_nlp", "--help"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Usage: feedback-nlp" in done.stdout and "classify" in done.stdout
    [script] = entry_points(group="console_scripts", name="feedback-nlp")
    assert script.load() is app
