"""The run's catalog database: chosen (and checked) before anything starts, opened
(started if it is ours, migrated, seeded) before the first server, closed at the end.

SQLite is the embedded default. `--db postgres` (or `[database] engine = "postgres"`)
starts a throwaway PostgreSQL cluster for the run (postgres.py); DATABASE_URL points at
an existing server instead, which is explicit: a loopback one, or any with
--allow-remote. Every server of the run gets the same `env()`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from ..config import ConnectionSettings, DatabaseSettings, Matrix
from ..errors import DatabaseUnavailable, PrepareFailed
from ..paths import state_dir
from ..proc import supervise
from . import postgres


def sqlite_path() -> Path:
    """The catalog's SQLite file, in the state folder (never the test's checkout)."""
    return state_dir() / "bench.sqlite3"


@dataclass
class Database:
    settings: DatabaseSettings
    engine: str  # sqlite | postgres
    catalog_rows: int
    url: str = ""  # PostgreSQL's: DATABASE_URL's, or the cluster's once open
    binaries: postgres.Binaries | None = None  # set when the run starts a cluster
    cluster: postgres.Cluster | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def choose(cls, matrix: Matrix, engine: str | None = None, allow_remote: bool = False,
               environ: dict[str, str] | None = None) -> Database:
        """Which database, checked now: DatabaseUnavailable (exit 2) before anything
        starts when PostgreSQL's binaries are missing or DATABASE_URL is remote or down."""
        environ = dict(os.environ) if environ is None else environ
        url = environ.get("DATABASE_URL", "").strip()
        chosen = engine or ("postgres" if url else matrix.database.engine)
        db = cls(matrix.database, chosen, matrix.app.catalog_rows)
        if chosen == "sqlite":
            if url and engine == "sqlite":
                raise DatabaseUnavailable("--db sqlite, but DATABASE_URL is set: unset it"
                                          " or drop --db sqlite")
            return db
        if url:
            postgres.check_url(url, allow_remote)
            db.url = url
        else:
            db.binaries = postgres.find_binaries(environ)
        return db

    @property
    def name(self) -> str:
        """The app's database name (what pg_stat_activity's datname says)."""
        return unquote(urlsplit(self.url).path.lstrip("/")) if self.url else ""

    @property
    def counted(self) -> bool:
        """Whether cells count this database's connections (PostgreSQL, once open)."""
        return self.engine == "postgres" and bool(self.url)

    @property
    def source(self) -> str:
        if self.engine == "sqlite":
            return "file"
        return "cluster" if self.binaries else "DATABASE_URL"

    def env(self, redact: bool = False,
            connections: ConnectionSettings | None = None) -> dict[str, str]:
        """What every server and manage.py step gets (DATABASE_URL "" means SQLite);
        `redact` hides a password, for what the run folder keeps; `connections` is a
        cell's own connection setting instead of the matrix's [database] one."""
        conn = (connections or self.settings).env()
        if self.engine == "sqlite":  # the pool is PostgreSQL's: off for SQLite
            return {"DATABASE_URL": "", "LOADLAB_SQLITE_PATH": str(sqlite_path()),
                    **conn, "LOADLAB_DB_POOL": "0"}
        url = self.url or "<started with the run>"
        return {"DATABASE_URL": _redacted(url) if redact else url, **conn}

    def open(self, log_dir: Path) -> None:
        """Start our cluster (if it is ours), then migrate and seed the catalog."""
        if self.binaries is not None and self.cluster is None:
            self.cluster = postgres.Cluster(self.binaries, self.settings.cluster_settings(),
                                            log_dir)
            self.url = self.cluster.start()
        if self.engine == "postgres":
            self.facts = postgres.server_facts(self.url)
        env = {**self.env(), "DJANGO_SETTINGS_MODULE": "app.settings"}
        log = log_dir / "prepare.log"
        for step in (["migrate", "--noinput"],
                     ["seed_catalog", "--rows", str(self.catalog_rows)]):
            code = supervise.run(f"django {step[0]}",
                                 supervise.python_module("django", *step),
                                 log_path=log, env=env)
            if code != 0:
                raise PrepareFailed(f"django {step[0]} failed (exit {code}); see {log}")

    def close(self) -> None:
        """Stop and remove our cluster; idempotent (an existing server is left alone)."""
        if self.cluster is not None:
            self.cluster.stop()

    def describe(self) -> dict[str, Any]:
        """The manifest's `database`: engine, where it came from, the settings that
        shape results (and, for PostgreSQL, the server's own version and settings)."""
        out: dict[str, Any] = {**self.settings.describe(), "engine": self.engine,
                               "source": self.source}
        if self.engine == "sqlite":
            out["path"] = str(sqlite_path())
            for key in ("pool", "pool_min_size", "pool_max_size", "max_connections",
                        "shared_buffers"):
                out.pop(key)
        if self.cluster is not None:
            out["cluster"] = self.cluster.describe()
        elif self.binaries is not None:
            out["version"] = self.binaries.version
        if self.source == "DATABASE_URL":
            out["url"] = _redacted(self.url)
        out.update(self.facts)
        return out


def _redacted(url: str) -> str:
    """The URL without its password (postgres://user:***@host/name)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
