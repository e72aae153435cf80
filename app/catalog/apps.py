import time

from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _sqlite_pg_sleep(sender, connection, **kwargs) -> None:
    """SQLite has no pg_sleep: give it one, so the queries story runs on both engines
    (the sleep releases the GIL, as a PostgreSQL server's does not hold ours)."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "pg_sleep", 1, lambda seconds: time.sleep(float(seconds)) or 0)


class CatalogConfig(AppConfig):
    name = "app.catalog"
    label = "catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        connection_created.connect(_sqlite_pg_sleep, dispatch_uid="loadlab-sqlite-pg-sleep")
