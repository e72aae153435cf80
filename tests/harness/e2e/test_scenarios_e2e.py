"""The stories no other real bench runs: catalog (ORM reads on the seeded database),
mixed (blocking code behind async views) and cpu, each under real Locust with its
locustfile's answer checks, and a weather cell whose upstream calls go through aiohttp.

One short smoke bench on uvicorn at one user (each cell its own probe), five cells:
catalog's get-by-id (async) and list (sync-list) users, mixed and cpu async, weather
async with aiohttp (aiohttp has no sync API, so no sync weather cell is planned with it).
Every cell must be ok, have requests and no failures: a wrong body is a failure, so the
checks in locustfiles/*.py passed.
"""

from __future__ import annotations

import re

from ..conftest import only_run, read_json
from ..procs import assert_all_gone, cmdline, is_locust, is_server, running, snapshot

EXPECTED = [  # (scenario, flavor, client), in the plan's order
    ("catalog", "async", None),
    ("catalog", "sync-list", None),
    ("mixed", "async", None),
    ("cpu", "async", None),
    ("weather", "async", "aiohttp"),
]


def test_catalog_mixed_cpu_and_weather_through_aiohttp(tmp_path, results):
    args = ("bench", "--profile", "smoke", "--servers", "uvicorn",
            "--scenarios", "catalog,mixed,cpu,weather", "--flavors", "async,sync-list",
            "--clients", "aiohttp", "--users", "1", "--duration", "2", "--warmup", "0",
            "--results", str(results), "--quiet")
    with running(tmp_path, *args) as lab:
        # The last cell's tree, while it runs: after loadlab exits none of it may remain.
        locust = lab.find(lambda p: is_locust(p) and "locustfiles/weather.py" in cmdline(p),
                          120, "the weather cell's Locust")
        # its server is the one on the port Locust aims at (the previous cell's server
        # may still be stopping beside it)
        port = re.search(r"127\.0\.0\.1:(\d+)", cmdline(locust)).group(1)
        on_port = re.compile(rf"[: ]{port}\b")
        lab.find(lambda p: is_server(p) and bool(on_port.search(cmdline(p))), 60,
                 "the weather cell's server")
        last = snapshot(lab.pid)
        servers = [p for p in last.procs if is_server(p) and on_port.search(cmdline(p))]
        # the weather cell's server really calls its upstream through aiohttp
        assert {p.environ().get("LOADLAB_CLIENT") for p in servers} == {"aiohttp"}
        assert lab.wait(120) == 0, lab.err
        assert_all_gone(last)

    run = only_run(results)
    assert read_json(run / "manifest.json")["status"] == "complete"
    cells = read_json(run / "summary.json")["cells"]
    assert [(c["scenario"], c["flavor"], c["client"]) for c in cells] == EXPECTED
    for cell in cells:
        where = f"{cell['scenario']}/{cell['flavor']}"
        assert cell["status"] == "ok", (where, cell["error"])
        assert cell["requests"] > 0, where
        assert cell["duration_s"] == 2, where  # the window starts on a whole second
        assert cell["failures"] == 0, (where, (run / cell["path"] / "locust_failures.csv")
                                       .read_text())
    (weather,) = [c for c in cells if c["scenario"] == "weather"]
    assert weather["client"] == "aiohttp"
    assert "aiohttp" in weather["path"]
