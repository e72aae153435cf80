"""sleep: the release-notes example; time.sleep holds a worker, asyncio.sleep does not."""

from locustfiles.base import ScenarioUser, json_body


class SleepUser(ScenarioUser):
    abstract = True
    scenario = "sleep"

    def check(self, response):
        body, problem = json_body(response)
        return problem or (None if isinstance(body, dict) else "body is not a JSON object")


class Sync(SleepUser):
    flavor = "sync"


class Async(SleepUser):
    flavor = "async"
