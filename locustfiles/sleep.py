"""sleep: the release-notes example; time.sleep holds a worker, asyncio.sleep does not."""

from locustfiles.base import ScenarioUser, json_object


class SleepUser(ScenarioUser):
    abstract = True
    scenario = "sleep"

    def check(self, response):
        return json_object(response)


class Sync(SleepUser):
    flavor = "sync"


class Async(SleepUser):
    flavor = "async"
