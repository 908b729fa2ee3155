"""``feedback-nlp keys``: API keys for the service, stored as hashes in its database."""

from __future__ import annotations

from typing import Annotated

import typer

from feedback_nlp.cli.errors import reports_errors
from feedback_nlp.settings import get_settings

keys_app = typer.Typer(help="Manage API keys (stored as hashes in the service database).", no_args_is_help=True)


def sessions():  # noqa: ANN201
    """A session factory on the service database (the ``database_url`` setting)."""
    from feedback_nlp.storage.db import init_db, make_session_factory

    return make_session_factory(init_db(get_settings().database_url))


@keys_app.command("create")
@reports_errors
def keys_create(
    name: Annotated[str, typer.Option(help="Who uses the key, e.g. survey-tool.")],
    scopes: Annotated[str, typer.Option(help="Comma-separated: classify, ingest, read, admin.")] = "classify",
) -> None:
    """Create a key and print it once; only its hash is stored."""
    from feedback_nlp.storage.keys_repo import create_key

    with sessions()() as session:
        created = create_key(session, name, scopes)
    typer.echo(created.plaintext)
    typer.echo(
        f"key {created.info.id} ({created.info.prefix}...) scopes {','.join(created.info.scopes)}: "
        "store it now, it cannot be shown again",
        err=True,
    )


@keys_app.command("list")
@reports_errors
def keys_list() -> None:
    """List keys (id, prefix, name, scopes, state); never the keys themselves."""
    from feedback_nlp.storage.keys_repo import list_keys

    with sessions()() as session:
        for key in list_keys(session):
            state = "active" if key.active else f"revoked {key.revoked_at:%Y-%m-%d}"
            typer.echo(f"{key.id}\t{key.prefix}...\t{key.name}\t{','.join(key.scopes)}\t{state}")


@keys_app.command("revoke")
@reports_errors
def keys_revoke(key_id: Annotated[int, typer.Argument(help="The key's id (see `keys list`).")]) -> None:
    """Revoke a key; the service refuses it within seconds."""
    from feedback_nlp.storage.keys_repo import revoke_key

    with sessions()() as session:
        key = revoke_key(session, key_id)
    typer.echo(f"revoked key {key.id} ({key.prefix}...)")
