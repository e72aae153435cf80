"""held: a connection held across a slow await, or given back before it."""

from locustfiles.base import ScenarioUser, json_body


class HeldUser(ScenarioUser):
    abstract = True
    scenario = "held"

    def check(self, response):
        body, problem = json_body(response)
        if problem:
            return problem
        ok = isinstance(body, dict) and "product" in body and "promotions" in body
        return None if ok else f"expected a product and promotions, got {body!r:.80}"


class Sync(HeldUser):
    flavor = "sync"


class SyncRelease(HeldUser):
    flavor = "sync-release"


class Async(HeldUser):
    flavor = "async"


class AsyncRelease(HeldUser):
    flavor = "async-release"
