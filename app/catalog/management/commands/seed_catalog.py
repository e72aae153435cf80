"""`manage.py seed_catalog --rows N`: make products 1..N exist, each with fixed fields.

Idempotent: rows already there are left alone, missing ones are inserted, in batches.
Rows beyond N are kept (use --reset to start from an empty table).
"""

from django.core.management.base import BaseCommand, CommandError
from django.core.management.color import no_style
from django.db import connection, transaction

from app.catalog.models import Product

BATCH = 1000


class Command(BaseCommand):
    help = "Seed the catalog with products 1..N (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=1000, help="products to have (1000)")
        parser.add_argument("--reset", action="store_true", help="delete every product first")

    def handle(self, *args, rows: int, reset: bool, verbosity: int = 1, **options):
        if rows < 0:
            raise CommandError("--rows must not be negative")
        with transaction.atomic():
            if reset:
                Product.objects.all().delete()
            created = 0
            for start in range(1, rows + 1, BATCH):
                numbers = range(start, min(start + BATCH, rows + 1))
                existing = set(Product.objects.filter(pk__in=numbers).values_list("pk", flat=True))
                missing = [Product.seeded(n) for n in numbers if n not in existing]
                Product.objects.bulk_create(missing)
                created += len(missing)
            # Explicit ids leave PostgreSQL's id sequence behind: move it past them.
            for sql in connection.ops.sequence_reset_sql(no_style(), [Product]):
                with connection.cursor() as cursor:
                    cursor.execute(sql)
        if verbosity:
            total = Product.objects.count()
            self.stdout.write(f"seed_catalog: {created} created, {total} products in the catalog")
