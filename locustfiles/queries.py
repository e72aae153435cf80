"""queries: the parallel-ORM trap; three 50 ms queries per request, in three ways."""

from locustfiles.base import ScenarioUser, json_body


class QueriesUser(ScenarioUser):
    abstract = True
    scenario = "queries"

    def check(self, response):
        body, problem = json_body(response)
        if problem:
            return problem
        ok = isinstance(body, dict) and body.get("queries") == 3
        return None if ok else f"expected 3 queries, got {body!r:.80}"


class Sync(QueriesUser):
    flavor = "sync"


class Async(QueriesUser):
    flavor = "async"


class AsyncThreads(QueriesUser):
    flavor = "async-threads"
