"""catalog: ORM reads on seeded rows; get vs aget by id, a list vs async for."""

import os
import random

from locustfiles.base import ScenarioUser, json_body

ROWS = int(os.environ.get("LOADLAB_CATALOG_ROWS", "1000"))


class ProductUser(ScenarioUser):
    abstract = True
    scenario = "catalog"

    def request_url(self):
        self.product_id = random.randint(1, ROWS)
        return f"{self.url}{'&' if '?' in self.url else '?'}id={self.product_id}"

    def check(self, response):
        body, problem = json_body(response)
        if problem:
            return problem
        got = body.get("id") if isinstance(body, dict) else None
        return None if got == self.product_id else f"asked for id {self.product_id}, got {got}"


class ListUser(ScenarioUser):
    abstract = True
    scenario = "catalog"

    def check(self, response):
        body, problem = json_body(response)
        if problem:
            return problem
        products = body.get("products") if isinstance(body, dict) else None
        return None if isinstance(products, list) and products else "no products in body"


class Sync(ProductUser):
    flavor = "sync"


class Async(ProductUser):
    flavor = "async"


class SyncList(ListUser):
    flavor = "sync-list"


class AsyncList(ListUser):
    flavor = "async-list"
