"""seed_catalog: products 1..N, the same every time, whatever ran before."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from app.catalog.models import CATEGORIES, Product


def test_seed_is_idempotent_and_grows(db):
    call_command("seed_catalog", rows=30, verbosity=0)
    first = list(Product.objects.values())
    call_command("seed_catalog", rows=30, verbosity=0)
    assert list(Product.objects.values()) == first
    call_command("seed_catalog", rows=45, verbosity=0)
    assert list(Product.objects.values_list("id", flat=True)) == list(range(1, 46))
    assert list(Product.objects.values()[:30]) == first
    assert set(Product.objects.values_list("category", flat=True)) == set(CATEGORIES)


def test_seed_reset_and_report(db, capsys):
    call_command("seed_catalog", rows=10)
    call_command("seed_catalog", rows=3, reset=True)
    assert Product.objects.count() == 3
    assert "3 created, 3 products" in capsys.readouterr().out


def test_seed_rejects_negative_rows(db):
    with pytest.raises(CommandError, match="negative"):
        call_command("seed_catalog", rows=-1)
