"""API keys: ``Authorization: Bearer <key>``, checked against stored hashes, with scopes and
per-key rate limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from feedback_nlp.storage.keys_repo import ApiKeyInfo, hash_key, verify_key
from feedback_nlp_api.deps import KeyCacheDep, LimiterDep, SessionsDep, SettingsDep
from feedback_nlp_api.keycache import CACHE_SECONDS, KeyCache

__all__ = ["CACHE_SECONDS", "AdminKey", "ClassifyKey", "IngestKey", "KeyCache", "ReadKey", "require"]


#: Declares the scheme in the OpenAPI schema (so Swagger's "Authorize" and generated clients send
#: the key); the header is still read and checked below, with this module's messages.
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from `feedback-nlp keys create`, as `Authorization: Bearer <key>`.",
)


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


def _lookup(cache: KeyCache, sessions: sessionmaker[Session], token: str) -> ApiKeyInfo | None:
    digest = hash_key(token)
    info = cache.get(digest)
    if info is None:
        with sessions() as session:
            info = verify_key(session, token)
        if info is not None:
            cache.put(digest, info)
    return info


def require(scope: str) -> Callable[..., Any]:
    """A dependency that admits requests whose key holds ``scope`` (or ``admin``)."""

    async def check(
        request: Request,
        settings: SettingsDep,
        sessions: SessionsDep,
        cache: KeyCacheDep,
        limiter: LimiterDep,
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],  # for the schema
    ) -> ApiKeyInfo | None:
        if not settings.auth_enabled:
            return None
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorised("Missing API key: send 'Authorization: Bearer <key>'.")
        info = await run_in_threadpool(_lookup, cache, sessions, token.strip())
        if info is None:
            raise _unauthorised("Unknown or revoked API key.")
        request.state.key_id = info.prefix
        if not info.has_scope(scope):
            raise HTTPException(
                status_code=403,
                detail=f"This key lacks the '{scope}' scope (it has: {', '.join(info.scopes)}).",
            )
        wait = limiter.check(info.prefix)
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
AdminKey = Annotated[ApiKeyInfo | None, Depends(require("admin"))]
