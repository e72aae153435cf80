"""mixed: blocking code called directly, through sync_to_async, or fire-and-forget."""

from locustfiles.base import ScenarioUser, json_body


class MixedUser(ScenarioUser):
    abstract = True
    scenario = "mixed"

    def check(self, response):
        body, problem = json_body(response)
        return problem or (None if isinstance(body, dict) else "body is not a JSON object")


class Sync(MixedUser):
    flavor = "sync"


class Async(MixedUser):
    flavor = "async"


class AsyncBackground(MixedUser):
    flavor = "async-background"
