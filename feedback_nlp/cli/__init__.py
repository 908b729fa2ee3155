"""The ``feedback-nlp`` command line: one typer app, one module per command group.

Every command is registered here, in the order ``--help`` lists them. Each module under
``feedback_nlp/cli/`` holds one group's commands; they fail through
:func:`feedback_nlp.cli.errors.reports_errors` and read feedback files with the options of
:mod:`feedback_nlp.cli.options`. Library code never imports this package (an import contract in
``pyproject.toml``).
"""

from __future__ import annotations

import typer

from feedback_nlp.cli import classify, score, service, train
from feedback_nlp.cli.errors import EXIT_REFUSED, EXIT_ROWS_FAILED
from feedback_nlp.cli.keys import keys_app
from feedback_nlp.cli.label import label_app
from feedback_nlp.cli.models import models_app
from feedback_nlp.cli.report import report_app
from feedback_nlp.cli.spark import spark_app
from feedback_nlp.cli.taxonomy import taxonomy_app
from feedback_nlp.cli.topics import topics_app

__all__ = ["EXIT_REFUSED", "EXIT_ROWS_FAILED", "app", "main"]

app = typer.Typer(
    name="feedback-nlp",
    help="Sentiment, journey stage and touchpoints for customer-experience feedback.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

app.command()(train.train)
app.command()(train.evaluate)
app.command()(classify.classify)
app.command()(train.card)
app.add_typer(topics_app, name="topics")
app.add_typer(report_app, name="report")
app.add_typer(models_app, name="models")
app.command("score")(score.score)
app.command("alerts")(score.alerts)
app.add_typer(spark_app, name="spark")
app.add_typer(taxonomy_app, name="taxonomy")
app.add_typer(label_app, name="label")
app.add_typer(keys_app, name="keys")
app.command()(service.serve)
app.command()(service.info)


def main() -> None:  # pragma: no cover - console entry
    """Entry point for ``python -m feedback_nlp`` and the ``feedback-nlp`` script."""
    app(prog_name="feedback-nlp")
