"""cpu: CPU-bound work of size n; the async flavor does the same work on the loop."""

from locustfiles.base import ScenarioUser, json_body


class CpuUser(ScenarioUser):
    abstract = True
    scenario = "cpu"

    def check(self, response):
        body, problem = json_body(response)
        if problem:
            return problem
        return None if isinstance(body, dict) and "result" in body else "no 'result' in body"


class Sync(CpuUser):
    flavor = "sync"


class Async(CpuUser):
    flavor = "async"
