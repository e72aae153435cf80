"""mixed: blocking code called directly, through sync_to_async, or fire-and-forget."""

from locustfiles.base import ScenarioUser, json_object


class MixedUser(ScenarioUser):
    abstract = True
    scenario = "mixed"

    def check(self, response):
        return json_object(response)


class Sync(MixedUser):
    flavor = "sync"


class Async(MixedUser):
    flavor = "async"


class AsyncBackground(MixedUser):
    flavor = "async-background"
