"""A product catalog small enough to seed in a second, indexed like a real one."""

from django.db import models

CATEGORIES = ("tea", "teaware", "books", "snacks", "gifts")


class Product(models.Model):
    sku = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=32, db_index=True)
    price_cents = models.PositiveIntegerField()
    stock = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "sku": self.sku,
            "name": self.name,
            "category": self.category,
            "price_cents": self.price_cents,
            "stock": self.stock,
        }

    @classmethod
    def seeded(cls, number: int) -> "Product":
        """Product `number` of the seed set: the same fields every time (idempotent)."""
        category = CATEGORIES[number % len(CATEGORIES)]
        return cls(
            id=number,
            sku=f"SKU-{number:07d}",
            name=f"{category.title()} item {number}",
            category=category,
            price_cents=100 + (number * 37) % 9900,
            stock=(number * 13) % 200,
        )
