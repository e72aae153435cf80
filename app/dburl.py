"""DATABASES["default"] from the environment: SQLite by default, or DATABASE_URL.

DATABASE_URL is parsed with urllib rather than a dependency: the lab only needs
`postgres://user:password@host:port/name?option=value` (psycopg 3); query options
(sslmode, ...) become connection OPTIONS.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql"}


def database_from_env(
    env: Mapping[str, str], *, sqlite_default: Path, pool: bool | dict[str, int] = False
) -> dict[str, Any]:
    url = env.get("DATABASE_URL", "").strip()
    if url:
        return postgres_from_url(url, pool=pool)
    path = Path(env.get("LOADLAB_SQLITE_PATH") or sqlite_default)
    path.parent.mkdir(parents=True, exist_ok=True)
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}


def postgres_from_url(url: str, *, pool: bool | dict[str, int] = False) -> dict[str, Any]:
    parts = urlsplit(url)
    if parts.scheme not in POSTGRES_SCHEMES:
        raise ImproperlyConfigured(
            f"DATABASE_URL: unsupported scheme {parts.scheme!r} (use postgres://...)"
        )
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ImproperlyConfigured("DATABASE_URL: no database name (postgres://host/NAME)")
    options: dict[str, Any] = dict(parse_qsl(parts.query))
    if pool:
        if importlib.util.find_spec("psycopg_pool") is None:
            raise ImproperlyConfigured(
                "LOADLAB_DB_POOL=1 needs psycopg_pool: pip install 'psycopg[pool]'"
            )
        options["pool"] = pool  # True, or psycopg_pool's arguments (min_size, max_size)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "OPTIONS": options,
    }
