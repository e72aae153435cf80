"""Django settings for the app under test: lean, loopback-only and safe by default.

Everything a run varies comes from the environment (docs/DESIGN.md, "Interface
contract"), so the harness can set it per cell and record it:

- LOADLAB_DEBUG=1            DEBUG on (off by default: DEBUG skews every measurement).
- DJANGO_SECRET_KEY          the secret key; the fallback is for local runs only.
- LOADLAB_SQLITE_PATH        SQLite file (default $LOADLAB_STATE_DIR or <repo>/.loadlab,
                             then db.sqlite3).
- DATABASE_URL               postgres://user:pass@host:port/name?sslmode=... (psycopg 3)
                             instead of SQLite.
- LOADLAB_DB_POOL=1          Django's psycopg connection pool (needs psycopg[pool]);
  LOADLAB_DB_POOL_MIN/MAX    its min_size and max_size per process (psycopg_pool's
                             defaults when unset: 4 and min_size).
- LOADLAB_CONN_MAX_AGE       Django's CONN_MAX_AGE in seconds (default 0: a connection
                             per request).
- LOADLAB_UPSTREAM_URL       base URL of the upstream stand-in (app/upstream.py).
- LOADLAB_UPSTREAM_TIMEOUT   seconds before an upstream call gives up (default 2).
- LOADLAB_CLIENT             httpx | httpx-per-call | aiohttp (see app/clients.py).
- LOADLAB_MIDDLEWARE         the stack under test: none | default | default+sync-only;
  LOADLAB_TIMING_MIDDLEWARE, LOADLAB_SYNC_MIDDLEWARE, LOADLAB_ASYNC_MIDDLEWARE:
                             the switches around it (see app/middleware.py).
"""

from __future__ import annotations

import os
from pathlib import Path

from app.dburl import database_from_env
from app.middleware import apps_from_env, middleware_from_env

BASE_DIR = Path(__file__).resolve().parent
REPO_DIR = BASE_DIR.parent


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _pool() -> bool | dict[str, int]:
    if not _flag("LOADLAB_DB_POOL"):
        return False
    sizes = {key: int(os.environ[var]) for key, var in (("min_size", "LOADLAB_DB_POOL_MIN"),
                                                        ("max_size", "LOADLAB_DB_POOL_MAX"))
             if os.environ.get(var)}
    return sizes or True


DEBUG = _flag("LOADLAB_DEBUG")
SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "loadlab-dev-only-insecure-key-never-use-in-production"
)
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]

INSTALLED_APPS = [*apps_from_env(os.environ), "app.catalog"]
MIDDLEWARE = middleware_from_env(os.environ)
ROOT_URLCONF = "app.urls"
WSGI_APPLICATION = "app.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {"context_processors": []},
    }
]

# Scratch state; the test suite moves it out of the checkout (LOADLAB_STATE_DIR).
STATE_DIR = Path(os.environ.get("LOADLAB_STATE_DIR") or REPO_DIR / ".loadlab")

DATABASES = {
    "default": database_from_env(
        os.environ,
        sqlite_default=STATE_DIR / "db.sqlite3",
        pool=_pool(),
    )
    | {"CONN_MAX_AGE": int(os.environ.get("LOADLAB_CONN_MAX_AGE") or 0)}
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False

# The upstream stand-in and the HTTP client axis; app/clients.py reads these lazily,
# per call, so tests can override them.
LOADLAB_UPSTREAM_URL = os.environ.get("LOADLAB_UPSTREAM_URL", "http://127.0.0.1:9000").rstrip("/")
LOADLAB_UPSTREAM_TIMEOUT = float(os.environ.get("LOADLAB_UPSTREAM_TIMEOUT", "2"))
LOADLAB_CLIENT = os.environ.get("LOADLAB_CLIENT", "httpx")
LOADLAB_UPSTREAM_MAX_CONNECTIONS = int(os.environ.get("LOADLAB_UPSTREAM_MAX_CONNECTIONS", "100"))

# Errors reach the server log; 4xx warnings and SQL do not (no query logging, even with
# DEBUG on: django.db.backends stays quiet).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django": {"handlers": ["console"], "level": "ERROR"},
        "django.db.backends": {"level": "WARNING", "propagate": False, "handlers": []},
        "app": {"handlers": ["console"], "level": "WARNING"},
    },
}
