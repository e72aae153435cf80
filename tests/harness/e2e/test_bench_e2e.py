"""A real smoke bench: real servers (one WSGI, one ASGI), the real upstream stand-in,
real Locust, two scenarios. The run folder must match docs/DESIGN.md ("A run folder").

The shared smoke run's cells are one user for one second with no warmup: what its tests
read (files, the manifest, latency floors, process counts, sub-ms percentiles) needs no
concurrency and no steady state, and a 1-user cell is its own probe (no extra 1.4 s)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from scripts.archive.folder import load_run

from ..conftest import loadlab, only_run, read_json

LOCUST_FILES = ("locust_stats.csv", "locust_stats_history.csv", "locust_failures.csv",
                "locust_exceptions.csv", "locust_report.html")
CELL_FILES = (*LOCUST_FILES, "latency.json", "resources.csv", "server.log", "locust.log")


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    results = tmp_path_factory.mktemp("results")
    done = loadlab("bench", "--profile", "smoke", "--servers", "gunicorn-sync,uvicorn",
                   "--scenarios", "hello,weather", "--users", "1", "--duration", "1",
                   "--warmup", "0", "--label", "e2e", "--results", str(results))
    return done, results


def test_bench_exits_zero_and_names_its_folder(smoke_run):
    done, results = smoke_run
    assert done.code == 0, done.err + done.out
    run = only_run(results)
    assert run.name.endswith("-e2e")
    assert f"run folder: {run}" in done.out
    assert "verdict" in done.out
    assert "async [httpx]" in done.out  # the client is text in the table, not rich markup
    # piped (a CI log, `| tee`): rich must print at a width that fits, never cut a cell
    assert "…" not in done.out, done.out
    assert "gunicorn-sync" in done.out and "weather" in done.out


def test_every_planned_cell_is_present_with_requests(smoke_run):
    _, results = smoke_run
    run_dir = only_run(results)
    manifest = read_json(run_dir / "manifest.json")
    planned = manifest["plan"]["cells"]
    # 2 servers x (hello: sync, async + weather: sync, async), httpx the smoke client
    assert len(planned) == 8
    run = load_run(run_dir)
    assert [c.path for c in run.cells] == [c["path"] for c in planned]
    for cell in run.cells:
        assert cell.status == "ok", cell.error
        assert cell.requests > 0 and cell.rps > 0, cell.label
        assert cell.failures == 0, cell.label
        assert cell.rps_per_second and all(r > 0 for r in cell.rps_per_second)
        for name in CELL_FILES:
            assert (run_dir / cell.path / name).is_file(), f"{cell.path}/{name}"
        assert set(cell.latency_ms) >= {"p50", "p90", "p95", "p99", "p999", "max", "mean"}


def test_manifest_is_complete(smoke_run):
    _, results = smoke_run
    manifest = read_json(only_run(results) / "manifest.json")
    assert manifest["status"] == "complete"
    assert manifest["schema_version"] == 1
    assert manifest["started"] and manifest["finished"]
    assert manifest["command"][:2] == ["loadlab", "bench"]
    assert manifest["profile"]["name"] == "smoke"
    for key in ("python", "django", "locust", "gunicorn", "uvicorn", "httpx"):
        assert manifest["versions"][key], key
    assert "commit" in manifest["git"] and "dirty" in manifest["git"]
    assert manifest["host"]["cores"] == os.cpu_count() and manifest["host"]["cpu_model"]
    assert manifest["upstream"]["latency_ms"] == 50
    assert manifest["upstream"]["url"].startswith("http://127.0.0.1:")
    assert "enabled" in manifest["pinning"]
    for name in ("summary.json", "summary.md", "report.html"):
        assert (only_run(results) / name).is_file(), name


def test_sub_millisecond_latency_is_resolved(smoke_run):
    """Locust rounds to whole ms below 100 ms; the harness histogram must not."""
    _, results = smoke_run
    run = load_run(only_run(results))
    hello = [c for c in run.cells if c.scenario == "hello"]
    assert hello
    for cell in hello:
        # One percentile may land on a whole ms by chance (a CI run's p50 was 2.000 ms);
        # all of them at once only if the histogram were bucketed to whole ms.
        values = {k: v for k, v in cell.latency_ms.items() if k.startswith("p")}
        assert values and all(v > 0 for v in values.values()), (cell.label, values)
        assert any(v != round(v) for v in values.values()), (
            f"{cell.label}: every percentile is a whole ms, as if bucketed: {values}")


def test_weather_latency_reflects_upstream(smoke_run):
    """Five sequential 50 ms calls take >= 250 ms; gathered, >= 50 ms."""
    _, results = smoke_run
    run = load_run(only_run(results))
    for cell in run.cells:
        if cell.scenario != "weather":
            continue
        floor = 250 if cell.flavor == "sync" else 50
        assert cell.latency_ms["p50"] >= floor * 0.95, cell.label
        assert cell.client == "httpx"


def test_resources_sample_the_real_server_tree(smoke_run):
    _, results = smoke_run
    run_dir = only_run(results)
    run = load_run(run_dir)
    for cell in run.cells:
        with open(run_dir / cell.path / "resources.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        roles = {r["role"] for r in rows}
        assert {"server", "generator", "upstream", "stolen"} <= roles, cell.path
        # the machine's steal time over the window, % of each core: recorded, and the
        # flag agrees with it
        assert cell.steal_pct is not None and cell.steal_pct >= 0, cell.path
        assert ("stolen" in cell.warnings) == (cell.steal_pct >= 5.0), cell.path
        server = [r for r in rows if r["role"] == "server"]
        # gunicorn-sync: a master and 2 workers; uvicorn: one process
        expected = 3 if cell.server == "gunicorn-sync" else 1
        assert max(int(r["processes"]) for r in server) == expected, cell.path
        assert cell.server_cpu_pct is not None and cell.server_cpu_pct > 0
        assert cell.server_rss_mb and cell.server_rss_mb > 10
        assert cell.generator_cpu_pct is not None


def test_compare_reads_the_real_run(smoke_run):
    _, results = smoke_run
    done = loadlab("compare", str(only_run(results)), "--format", "json")
    assert done.code == 0, done.err
    assert done.out.strip().startswith("{")
    piped = loadlab("compare", str(only_run(results)))  # the table, into a pipe
    assert piped.code == 0, piped.err
    assert "…" not in piped.out and "gunicorn-sync" in piped.out, piped.out


def locust_row(cell_dir: Path, name: str) -> dict[str, str]:
    """Locust's own stats for request `name` (its steady state: reset after warmup)."""
    with open(cell_dir / "locust_stats.csv", newline="") as f:
        return next(row for row in csv.DictReader(f) if row["Name"] == name)


def test_percentiles_match_a_known_latency(results):
    """sleep?ms=50 on a threaded server with 4 users: every response takes 50 ms plus a
    little. The harness percentiles must say so at sub-ms resolution, agree with Locust's
    own median (whole ms), and with the throughput: a closed loop with no think time
    keeps `users` requests in flight, so users = rps x mean latency (Little's law)."""
    users = 4
    done = loadlab("bench", "--profile", "smoke", "--servers", "gunicorn-gthread",
                   "--scenarios", "sleep", "--users", str(users), "--results", str(results))
    assert done.code == 0, done.err + done.out
    run_dir = only_run(results)
    run = load_run(run_dir)
    assert {c.flavor for c in run.cells} == {"sync", "async"}
    for cell in run.cells:
        lat = cell.latency_ms
        assert lat["p50"] >= 50.0, (cell.label, lat)  # by construction: the view sleeps
        assert lat["p50"] <= lat["p90"] <= lat["p95"] <= lat["p99"] <= lat["p999"]
        assert lat["p999"] <= lat["max"], (cell.label, lat)
        locust_median = float(locust_row(run_dir / cell.path, cell.flavor)
                              ["Median Response Time"])
        assert abs(lat["p50"] - locust_median) <= 1.0, (cell.label, lat, locust_median)
        in_flight = cell.rps * lat["mean"] / 1000
        assert 0.8 * users <= in_flight <= 1.05 * users, (cell.label, cell.rps, lat)
        # by construction: each user finishes at most one request per 50 ms
        assert cell.rps <= 1.05 * users * 1000 / 50, (cell.label, cell.rps)


@pytest.mark.parametrize(("processes", "users"), [(1, 1), (2, 4)])
def test_every_second_of_the_duration_counts(results, processes, users):
    """The harness keeps whole seconds only. One Locust process starts its seconds where
    the window does; a master with workers waits for the next wall-clock second. Either
    way a 2 s window holds 2 seconds, and the processes' requests add up to Locust's.
    One process needs one user (its own probe); two workers get users to share."""
    done = loadlab("bench", "--profile", "smoke", "--servers", "uvicorn", "--scenarios",
                   "hello", "--flavors", "sync", "--users", str(users), "--duration", "2",
                   "--warmup", "0.5", "--processes", str(processes), "--results", str(results),
                   "--quiet")
    assert done.code == 0, done.err
    run = only_run(results)
    (cell,) = read_json(run / "summary.json")["cells"]
    assert cell["duration_s"] == 2 and len(cell["rps_per_second"]) == 2, cell
    assert cell["requests"] > 0 and all(r > 0 for r in cell["rps_per_second"])
    window = read_json(run / cell["path"] / "window.json")
    assert window["end"] - window["start"] >= 2.0
    if processes > 1:
        assert window["phase"] == 0 and window["start"] == int(window["start"])


def test_stability_windows_measure_on_until_the_seconds_agree(results):
    """--max-duration: after --duration, the cell measures on a second at a time until
    its last 3 seconds agree (throughput and p95 within 10 %), at most to the cap.
    sleep's async view at 4 users is as steady as a cell gets (at most 4 / 50 ms = 80
    rps): it settles as soon as 3 whole seconds exist, or soon after."""
    done = loadlab("bench", "--profile", "smoke", "--servers", "uvicorn", "--scenarios",
                   "sleep", "--flavors", "async", "--users", "4", "--warmup", "0.5",
                   "--duration", "2", "--max-duration", "6", "--results", str(results),
                   "--quiet")
    assert done.code == 0, done.err
    (cell,) = read_json(only_run(results) / "summary.json")["cells"]
    assert cell["stable"] is True and "unstable" not in cell["warnings"], cell
    assert 3 <= cell["duration_s"] <= 6 and len(cell["rps_per_second"]) == cell["duration_s"]
    last = cell["rps_per_second"][-3:]  # what it judged: within 10 % of their mean
    mean = sum(last) / 3
    assert all(abs(v - mean) <= 0.1 * mean for v in last), cell["rps_per_second"]
    assert max(cell["rps_per_second"]) <= 80 * 1.05  # physics: 4 users / 50 ms


def test_without_a_cap_a_cell_measures_exactly_its_duration(smoke_run):
    _, results = smoke_run
    for cell in read_json(only_run(results) / "summary.json")["cells"]:
        assert cell["stable"] is None and "unstable" not in cell["warnings"], cell

