"""How every command fails: ``error: MESSAGE`` in red on stderr and an exit status.

Commands raise; they do not print and exit themselves. :func:`reports_errors` wraps each command
and turns the errors a user can act on into that one line:

- :class:`~feedback_nlp.errors.FeedbackNLPError` (an unreadable input, a missing bundle, a bad
  config...): its message, exit status 1;
- :class:`CommandError`: a command's own refusal (wrong combination of options, a promotion the
  gold set refuses): its message and its status;
- :class:`BrokenPipeError`: whoever read stdout went away (``... | head``): exit status 0, quietly.

Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer

from feedback_nlp.errors import FeedbackNLPError

__all__ = ["EXIT_FAILED", "EXIT_REFUSED", "EXIT_ROWS_FAILED", "CommandError", "reports_errors"]

#: The command did nothing useful: bad input, missing bundle, wrong options.
EXIT_FAILED = 1
#: Some input rows could not be classified (the others were written).
EXIT_ROWS_FAILED = 3
#: ``models promote`` refused a model worse than the live one.
EXIT_REFUSED = 4

P = ParamSpec("P")
R = TypeVar("R")


class CommandError(Exception):
    """A command refuses to go on; the message says what to do instead."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _exit(message: str, code: int) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Wrap a typer command so the expected errors end it with a message, not a traceback.

    Put it under ``@app.command()``; the signature (and so the options) stays the command's own.
    """

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except CommandError as exc:
            raise _exit(str(exc), exc.exit_code) from None
        except FeedbackNLPError as exc:
            raise _exit(str(exc), EXIT_FAILED) from None
        except BrokenPipeError:
            raise typer.Exit(0) from None

    return run
