"""home: a page from promotions + recommendations; a degraded page counts as a failure."""

from locustfiles.base import ScenarioUser

DEGRADED_MARK = 'data-degraded="'


class HomeUser(ScenarioUser):
    abstract = True
    scenario = "home"

    def check(self, response):
        text = response.text or ""
        if "</html>" not in text:
            return "not a whole HTML page"
        if DEGRADED_MARK in text:
            part = text.split(DEGRADED_MARK, 1)[1].split('"', 1)[0]
            return f"degraded: {part}"
        return None


class Sync(HomeUser):
    flavor = "sync"


class AsyncSequential(HomeUser):
    flavor = "async-sequential"


class Async(HomeUser):
    flavor = "async"
