"""The registry of scenarios: the one place that names every story, flavor and URL path.

`app/urls.py` builds its routes from it, the locustfiles read their paths from it and
the harness plans its cells from it. Nothing else spells a scenario path. It is plain
data (no Django import), so the harness can read it without configuring Django.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True)
class Flavor:
    """One way to write the same view: sync, async, or a variant of either."""

    name: str
    path: str
    view: str  # dotted path of the view callable
    shows: str

    @property
    def is_async(self) -> bool:
        return self.name.startswith("async")


@dataclass(frozen=True)
class Scenario:
    """One user story from the Django async literature, in every flavor it has."""

    name: str
    summary: str
    flavors: tuple[Flavor, ...]
    uses_upstream: bool = False
    uses_db: bool = False
    query: str = ""  # default query string the load generator sends
    # The latency objective a capacity search holds (p95, ms), from the story (upstream
    # stories at the default upstream latency of 50 ms); the matrix and the command line
    # may override it. None: no objective, no capacity search.
    slo_p95_ms: float | None = None
    # Unloaded latency of the slowest flavor (ms): sizes the open model's user cap.
    typical_ms: float = 10.0
    expect_status: int = 200  # what a right answer's status is
    # How a request holds its connection: "request" (answer and go), or long-lived:
    # "stream" (Server-Sent Events), "websocket", "upload" (a slow client's body).
    connection: str = "request"
    interfaces: tuple[str, ...] = ("wsgi", "asgi")  # the server interfaces that serve it

    def flavor(self, name: str) -> Flavor:
        for flavor in self.flavors:
            if flavor.name == name:
                return flavor
        raise KeyError(name)

    @property
    def flavor_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.flavors)


def _flavors(scenario: str, module: str, *specs: tuple[str, str, str]) -> tuple[Flavor, ...]:
    """Flavor `x-y` of scenario `s` lives at `/s/x-y/` and is view `module.s_x_y`."""
    return tuple(
        Flavor(
            name=name,
            path=f"/{scenario}/{name}/",
            view=f"{module}.{view}",
            shows=shows,
        )
        for name, view, shows in specs
    )


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="hello",
        summary="No I/O: async costs a little under ASGI and more under WSGI.",
        flavors=_flavors(
            "hello",
            "app.stories.hello",
            ("sync", "hello_sync", "plain sync view returning JSON"),
            ("async", "hello_async", "the same view declared async def"),
        ),
        slo_p95_ms=25.0,  # a no-I/O view: a few ms of queueing at most
        typical_ms=2.0,
    ),
    Scenario(
        name="sleep",
        summary="The release-notes sleep example: blocking time.sleep vs awaiting asyncio.sleep.",
        flavors=_flavors(
            "sleep",
            "app.stories.sleep",
            ("sync", "sleep_sync", "time.sleep(ms) holds the worker"),
            ("async", "sleep_async", "await asyncio.sleep(ms) frees the loop"),
        ),
        query="ms=50",
        slo_p95_ms=150.0,  # three times the 50 ms sleep
        typical_ms=55.0,
    ),
    Scenario(
        name="weather",
        summary="A round trip through five cities: sequential calls vs asyncio.gather.",
        flavors=_flavors(
            "weather",
            "app.stories.weather",
            ("sync", "weather_sync", "five upstream calls one after another"),
            ("async", "weather_async", "five upstream calls at once with asyncio.gather"),
            (
                "async-taskgroup",
                "weather_async_taskgroup",
                "the same with a TaskGroup: a failure cancels the other calls",
            ),
        ),
        uses_upstream=True,
        slo_p95_ms=750.0,  # three times five sequential 50 ms calls
        typical_ms=260.0,
    ),
    Scenario(
        name="home",
        summary="A home page from promotions + recommendations services, rendered from a template.",
        flavors=_flavors(
            "home",
            "app.stories.home",
            ("sync", "home_sync", "two upstream calls one after another"),
            (
                "async-sequential",
                "home_async_sequential",
                "awaits one call, then the other: async with no gain",
            ),
            ("async", "home_async", "both calls at once with asyncio.gather"),
        ),
        uses_upstream=True,
        slo_p95_ms=300.0,  # three times two sequential 50 ms calls
        typical_ms=110.0,
    ),
    Scenario(
        name="catalog",
        summary="ORM reads on seeded products: get vs aget, a filtered list vs async for.",
        flavors=_flavors(
            "catalog",
            "app.catalog.views",
            ("sync", "catalog_sync", "Product.objects.get by id"),
            ("async", "catalog_async", "await Product.objects.aget by id"),
            ("sync-list", "catalog_sync_list", "a filtered list, iterated"),
            ("async-list", "catalog_async_list", "the same list with async for"),
        ),
        uses_db=True,
        slo_p95_ms=50.0,  # a primary-key read: tens of ms is already slow
        typical_ms=3.0,
    ),
    Scenario(
        name="queries",
        summary="The parallel-ORM trap: three independent 50 ms queries, gathered or not.",
        flavors=_flavors(
            "queries",
            "app.catalog.queries",
            ("sync", "queries_sync", "three queries one after another"),
            (
                "async",
                "queries_async",
                "asyncio.gather over the async ORM: still one after another",
            ),
            (
                "async-threads",
                "queries_async_threads",
                "one thread and connection per query: really parallel",
            ),
        ),
        uses_db=True,
        query="ms=50",
        slo_p95_ms=450.0,  # three times three sequential 50 ms queries
        typical_ms=160.0,
    ),
    Scenario(
        name="held",
        summary="A connection held across a slow await: one query, then a slow call.",
        flavors=_flavors(
            "held",
            "app.catalog.held",
            ("sync", "held_sync", "the query's connection held through the slow call"),
            ("sync-release", "held_sync_release", "the connection given back first"),
            ("async", "held_async", "aget, then an awaited slow call: still held"),
            ("async-release", "held_async_release", "the connection given back first"),
        ),
        uses_db=True,
        uses_upstream=True,
        query="ms=200",
        slo_p95_ms=600.0,  # three times the 200 ms call
        typical_ms=210.0,
    ),
    Scenario(
        name="mixed",
        summary="Async views around blocking code: sync_to_async and fire-and-forget work.",
        flavors=_flavors(
            "mixed",
            "app.stories.mixed",
            ("sync", "mixed_sync", "calls the blocking function directly"),
            ("async", "mixed_async", "awaits the blocking function through sync_to_async"),
            (
                "async-background",
                "mixed_async_background",
                "schedules the blocking work fire-and-forget and answers at once",
            ),
        ),
        query="ms=20",
        slo_p95_ms=100.0,  # four times the 20 ms blocking call
        typical_ms=25.0,
    ),
    Scenario(
        name="cpu",
        summary="CPU-bound work: async cannot help, and under WSGI it costs.",
        flavors=_flavors(
            "cpu",
            "app.stories.cpu",
            ("sync", "cpu_sync", "CPU work of size n in a sync view"),
            ("async", "cpu_async", "the same work in an async view, blocking the loop"),
        ),
        query="n=20000",
        slo_p95_ms=200.0,  # CPU work of a few ms, generous queueing
        typical_ms=10.0,
    ),
    Scenario(
        name="stream",
        summary="Server-Sent Events: N events every I ms, from a generator or relayed from"
                " upstream.",
        flavors=_flavors(
            "stream",
            "app.stories.stream",
            ("sync", "stream_sync",
             "a sync generator (time.sleep): holds a worker under WSGI, buffered whole under"
             " ASGI"),
            ("async", "stream_async",
             "an async generator (asyncio.sleep): on time under ASGI, buffered whole under"
             " WSGI"),
            ("sync-relay", "stream_sync_relay",
             "relays upstream tokens through httpx.Client.stream in a sync generator"),
            ("async-relay", "stream_async_relay",
             "the same through httpx.AsyncClient.stream in an async generator"),
        ),
        uses_upstream=True,  # the relays; the plain generators ignore the client
        query="events=20&interval_ms=250",
        slo_p95_ms=750.0,  # on the time to the first event: three intervals
        typical_ms=5000.0,  # one whole stream: 20 events x 250 ms
        connection="stream",
    ),
    Scenario(
        name="websocket",
        summary="Django Channels consumers: an echo and a push, on a thread or the event loop.",
        flavors=tuple(
            Flavor(name=name, path=path, view=f"app.stories.ws.{consumer}", shows=shows)
            for name, path, consumer, shows in (
                ("sync", "/ws/echo/sync/", "EchoConsumer",
                 "WebsocketConsumer echoes each message (its handlers run on a thread)"),
                ("async", "/ws/echo/async/", "AsyncEchoConsumer",
                 "AsyncWebsocketConsumer echoes each message on the event loop"),
                ("sync-push", "/ws/push/sync/", "PushConsumer",
                 "pushes a message every interval with time.sleep: holds the sync thread"),
                ("async-push", "/ws/push/async/", "AsyncPushConsumer",
                 "pushes a message every interval with asyncio.sleep"),
            )
        ),
        # echo: the client sends `messages`, one every interval_ms; push: the server does
        query="messages=20&interval_ms=250",
        slo_p95_ms=50.0,  # an echo round trip on loopback: tens of ms is already slow
        typical_ms=5000.0,  # one session: 20 messages x 250 ms
        connection="websocket",  # a Channels consumer (app/routing.py), not an HTTP view
        interfaces=("asgi",),  # WSGI has no websockets
    ),
    Scenario(
        name="upload",
        summary="A slow client posting size_kb KiB at rate_kbps KiB/s: who is held while"
                " it sends.",
        flavors=_flavors(
            "upload",
            "app.stories.upload",
            ("sync", "upload_sync",
             "reads the body in 64 KiB chunks: under WSGI the worker waits for every byte"),
            ("async", "upload_async",
             "the same, async: under ASGI Django spooled the body before the view runs"),
        ),
        query="size_kb=256&rate_kbps=128",
        slo_p95_ms=6000.0,  # three times the upload's nominal 2 s (256 KiB at 128 KiB/s)
        typical_ms=2000.0,
        connection="upload",
    ),
)

def sync_counterpart(flavor: str, flavors: Collection[str]) -> str | None:
    """The sync flavor an async flavor is measured against, among `flavors`.

    Its twin by name where there is one (async-list -> sync-list), else plain sync;
    None for a sync flavor, or when no sync flavor is there.
    """
    if not flavor.startswith("async"):
        return None
    twin = "sync" + flavor.removeprefix("async")
    if twin in flavors:
        return twin
    return "sync" if "sync" in flavors else None


def class_name(flavor: str) -> str:
    """A flavor's Locust user class: `async-sequential` -> AsyncSequential (the
    locustfiles define them so; the harness picks them by this name)."""
    return "".join(part.capitalize() for part in flavor.replace("_", "-").split("-"))


SCENARIOS_BY_NAME: dict[str, Scenario] = {s.name: s for s in SCENARIOS}

# Not a scenario: the app's report of the event loop it runs on (app/urls.py), which the
# harness's transport check asks every ASGI server for.
RUNTIME_PATH = "/_loadlab/runtime"

# The order a reader meets the stories in the literature (the weather round trip first,
# hello last): every table and report lists scenarios so, not alphabetically.
STORY_ORDER = ("weather", "home", "catalog", "queries", "held", "mixed", "sleep", "cpu",
               "stream", "websocket", "upload", "hello")


def story_rank(name: str) -> int:
    """Where a scenario comes in STORY_ORDER; an unknown name goes last."""
    return STORY_ORDER.index(name) if name in STORY_ORDER else len(STORY_ORDER)


def get(name: str) -> Scenario:
    """The scenario called `name`; KeyError names the known ones."""
    try:
        return SCENARIOS_BY_NAME[name]
    except KeyError:
        known = ", ".join(SCENARIOS_BY_NAME)
        raise KeyError(f"unknown scenario {name!r} (known: {known})") from None
