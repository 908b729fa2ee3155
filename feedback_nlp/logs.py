"""JSON log lines with the request id, for the service and the CLI's ``serve``.

Shared by :mod:`feedback_nlp_api.observability` (which re-exports it) and :mod:`feedback_nlp.cli`, so the
library never imports the ``feedback_nlp_api`` package. Feedback text never reaches a log line from here:
exception messages (which may quote the input) are left out, and extra fields named like
text (``text``, ``records``, ``body``...) are redacted.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import IO, Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def get_request_id() -> str | None:
    """The id of the request being served, or ``None`` outside a request."""
    return request_id_var.get()


# -- logging ---------------------------------------------------------------------------------

# Attributes every LogRecord has; anything else on a record came in through ``extra=``.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
# Extra fields that would carry feedback text; their values are never written.
REDACTED_FIELDS = frozenset(
    {"text", "texts", "body", "content", "records", "record", "turns", "segments", "comment", "query", "payload"}
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id and extra fields.

    An exception adds ``exc_type`` and ``stack`` (the frames), but not the exception's message,
    which may quote the input (pydantic errors do).
    """

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a single line of JSON."""
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        for key, value in vars(record).items():
            if key in _RECORD_ATTRS or key in payload:
                continue
            payload[key] = "[redacted]" if key.lower() in REDACTED_FIELDS else value
        if record.exc_info and record.exc_info[0] is not None:
            payload["exc_type"] = record.exc_info[0].__name__
            payload["stack"] = "".join(traceback.format_tb(record.exc_info[2])).rstrip()
        if record.stack_info:
            payload["stack_info"] = record.stack_info
        return json.dumps(payload, default=str, ensure_ascii=False)


def configure_logging(level: int | str = "INFO", *, stream: IO[str] | None = None) -> None:
    """Send every log record to ``stream`` (stderr) as JSON lines; safe to call twice.

    Uvicorn's own loggers are routed through the same handler and its access log is turned off,
    as it prints the raw path and query string; :class:`RequestContextMiddleware` writes the
    access lines instead. Run uvicorn with ``log_config=None`` so it keeps this set-up.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers.clear()
    uvicorn_access.propagate = False
    uvicorn_access.disabled = True
