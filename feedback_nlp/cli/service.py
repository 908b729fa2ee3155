"""``feedback-nlp serve`` and ``info``: run the HTTP service, show what it would serve."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from feedback_nlp.cli.errors import reports_errors
from feedback_nlp.cli.keys import sessions
from feedback_nlp.settings import get_settings


@reports_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT", help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (each loads the model).")] = 1,
    create_key: Annotated[
        bool, typer.Option("--create-key", help="Create a key with every scope but admin and print it.")
    ] = False,
) -> None:
    """Serve the HTTP API with uvicorn (JSON logs on stderr)."""
    import uvicorn

    from feedback_nlp.logs import configure_logging

    if create_key:
        from feedback_nlp.storage.keys_repo import create_key as make_key

        with sessions()() as session:
            created = make_key(session, "local", "classify,ingest,read")
        typer.echo(f"API key (classify, ingest, read): {created.plaintext}", err=True)
    configure_logging("INFO")
    uvicorn.run("feedback_nlp_api.main:app", host=host, port=port, workers=workers, log_config=None, access_log=False)


@reports_errors
def info() -> None:
    """Show the settings and the loaded bundle's manifest summary."""
    from feedback_nlp.storage.artifacts import BundleManifest

    settings = get_settings()
    shown = json.loads(settings.model_dump_json())
    if settings.database_url:
        shown["database_url"] = masked_url(settings.database_url)
    typer.echo(json.dumps(shown, indent=2))
    manifest = BundleManifest.read(settings.model_dir)
    typer.echo(f"bundle {manifest.ref} taxonomy v{manifest.taxonomy.version}")


def masked_url(url: str) -> str:
    """``url`` with its password shown as ``***`` (``info`` output is pasted into issues and logs)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"
