"""Serve the real app in a real uvicorn process, with the tiny bundle and the fake encoder.

For tests and benchmarks that need a server process (load, SIGKILL mid-ingest, log scanning)
without loading the real encoder: everything but the model is what ``feedback-nlp serve``
runs (settings from ``FEEDBACK_NLP_*`` and ``DATABASE_URL``, JSON logs on stderr, migrations
at start-up). Binds 127.0.0.1 only.

    python tests/fake_server.py --port 8765 [--bundle DIR]

Without ``--bundle`` it fits the tiny bundle into a temporary folder first (about a second).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from factories import FakeEncoder, build_tiny_bundle, fake_settings  # noqa: E402


def _slow_committing_engine(database_url: str | None, seconds: float) -> Any:
    """The migrated engine, sleeping ``seconds`` before each COMMIT is sent (in the worker thread)."""
    from sqlalchemy import event

    from feedback_nlp.storage.db import init_db

    engine = init_db(database_url)

    @event.listens_for(engine, "commit")
    def _before_commit(_connection: Any) -> None:
        time.sleep(seconds)

    return engine


def main() -> None:
    """Parse the arguments, load the tiny bundle and serve until stopped."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bundle", type=Path, default=None, help="a tiny bundle (built when absent)")
    parser.add_argument("--log-level", default="INFO", help="root log level (DEBUG shows the most)")
    parser.add_argument(
        "--commit-delay-ms",
        type=float,
        default=0.0,
        help="sleep this long before every database commit (widens the window a crash test kills in)",
    )
    args = parser.parse_args()

    import uvicorn

    from feedback_nlp.logs import configure_logging
    from feedback_nlp.settings import Settings
    from feedback_nlp.storage.loading import load_bundle
    from feedback_nlp_api.main import create_app

    configure_logging(args.log_level)
    bundle = args.bundle or build_tiny_bundle(Path(tempfile.mkdtemp(prefix="fake-server-")) / "tiny")
    pipeline = load_bundle(bundle, fake_settings(), encoder=FakeEncoder())
    settings = Settings()
    engine = (
        _slow_committing_engine(settings.database_url, args.commit_delay_ms / 1000)
        if args.commit_delay_ms > 0
        else None
    )
    app = create_app(settings, pipeline=pipeline, engine=engine)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
