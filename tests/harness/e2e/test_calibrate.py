"""`loadlab calibrate` for real: three runs (A, A, A with a slower upstream), the
floors in calibration.json, and compare using them."""

from __future__ import annotations

from ..conftest import loadlab, read_json


def test_calibrate_writes_floors_that_compare_then_uses(results):
    done = loadlab("calibrate", "--profile", "smoke", "--servers", "uvicorn",
                   "--scenarios", "weather", "--flavors", "sync", "--duration", "4",
                   "--warmup", "0.3", "--slowdown", "40", "--results", str(results),
                   "--quiet", timeout=300)
    assert done.code == 0, done.err + done.out
    runs = sorted(p for p in results.iterdir() if p.is_dir())
    assert [p.name.split("-", 2)[-1] for p in runs] == ["calib-a", "calib-a2", "calib-slow"]
    manifests = [read_json(p / "manifest.json") for p in runs]
    assert [m["upstream"]["latency_ms"] for m in manifests] == [50, 50, 70]
    data = read_json(results / "calibration.json")
    assert set(data["floors"]) == {"rps", "p50", "p95", "p99"}
    assert all(0.02 <= v < 1 for v in data["floors"].values()), data["floors"]
    assert data["profile"] == "smoke" and data["slowdown_pct"] == 40
    # weather calls the upstream five times: +40 % on each call moves its latency
    assert data["detected"]["p50"] == {"called": 1, "of": 1}, data
    assert "minimum detectable effect" in done.out and "calibration.json" in done.out

    compared = loadlab("compare", str(runs[0]), str(runs[2]))
    assert compared.code == 0, compared.err
    assert "measured by loadlab calibrate" in compared.out, compared.out


def test_calibrate_needs_a_scenario_that_calls_the_upstream(results):
    done = loadlab("calibrate", "--profile", "smoke", "--scenarios", "hello",
                   "--results", str(results), timeout=60)
    assert done.code == 2 and len(done.err.splitlines()) == 1, done.err
    assert "upstream" in done.err and list(results.iterdir()) == []
