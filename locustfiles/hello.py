"""hello: no I/O at all; what each server and flavor costs by itself."""

from locustfiles.base import ScenarioUser, json_body


class HelloUser(ScenarioUser):
    abstract = True
    scenario = "hello"

    def check(self, response):
        body, problem = json_body(response)
        if problem or not isinstance(body, dict) or "message" not in body:
            return problem or "no 'message' in body"
        return None


class Sync(HelloUser):
    flavor = "sync"


class Async(HelloUser):
    flavor = "async"
