"""API keys: ``Authorization: Bearer <key>``, checked against stored hashes, with scopes and
per-key rate limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from feedback_nlp.storage.keys_repo import ApiKeyInfo, hash_key, verify_key

#: How long a verified key is trusted without asking the database again (revocation delay).
CACHE_SECONDS = 10.0


class KeyCache:
    """A small TTL cache of verified keys, by hash, so a busy client does not hit the database
    on every request."""

    def __init__(self, ttl: float = CACHE_SECONDS, max_size: int = 10_000) -> None:
        self.ttl = ttl
        self.max_size = max_size
        self._items: dict[str, tuple[float, ApiKeyInfo]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> ApiKeyInfo | None:
        with self._lock:
            item = self._items.get(digest)
            if item is None or time.monotonic() - item[0] > self.ttl:
                self._items.pop(digest, None)
                return None
            return item[1]

    def put(self, digest: str, info: ApiKeyInfo) -> None:
        with self._lock:
            if len(self._items) >= self.max_size:
                self._items.clear()
            self._items[digest] = (time.monotonic(), info)


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


def _lookup(request: Request, token: str) -> ApiKeyInfo | None:
    cache: KeyCache = request.app.state.key_cache
    digest = hash_key(token)
    info = cache.get(digest)
    if info is None:
        with request.app.state.sessions() as session:
            info = verify_key(session, token)
        if info is not None:
            cache.put(digest, info)
    return info


def require(scope: str) -> Callable[..., object]:
    """A dependency that admits requests whose key holds ``scope`` (or ``admin``)."""

    async def check(request: Request) -> ApiKeyInfo | None:
        if not request.app.state.settings.auth_enabled:
            return None
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorised("Missing API key: send 'Authorization: Bearer <key>'.")
        info = await run_in_threadpool(_lookup, request, token.strip())
        if info is None:
            raise _unauthorised("Unknown or revoked API key.")
        request.state.key_id = info.prefix
        if not info.has_scope(scope):
            raise HTTPException(
                status_code=403,
                detail=f"This key lacks the '{scope}' scope (it has: {', '.join(info.scopes)}).",
            )
        wait = request.app.state.limiter.check(info.prefix)
        if wait is not None:
            raise HTTPException(
                status_code=429,
                detail=f"Rate limit exceeded for this key; retry in {int(wait)} s.",
                headers={"Retry-After": str(int(wait))},
            )
        return info

    return check


ClassifyKey = Annotated[ApiKeyInfo | None, Depends(require("classify"))]
IngestKey = Annotated[ApiKeyInfo | None, Depends(require("ingest"))]
ReadKey = Annotated[ApiKeyInfo | None, Depends(require("read"))]
