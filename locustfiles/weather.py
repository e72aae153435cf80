"""weather: five cities from upstream, one after another (sync) or gathered (async)."""

from locustfiles.base import ScenarioUser, json_body

CITIES = ["Portland", "Berlin", "Chicago", "Madrid", "Sidney"]


class WeatherUser(ScenarioUser):
    abstract = True
    scenario = "weather"

    def check(self, response):
        body, problem = json_body(response)
        if problem:
            return problem
        try:
            cities = [r["location"]["city"] for r in body["responses"]]
        except (KeyError, TypeError):
            return "no responses[].location.city in body"
        return None if cities == CITIES else f"wrong cities: {cities}"


class Sync(WeatherUser):
    flavor = "sync"


class Async(WeatherUser):
    flavor = "async"


class AsyncTaskgroup(WeatherUser):
    flavor = "async-taskgroup"
