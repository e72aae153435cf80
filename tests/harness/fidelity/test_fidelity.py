"""`loadlab fidelity`: loadlab's peak throughput against wrk's on the same pinned setup.

The wrk parser runs on captured output; the check itself runs for real (short) when
wrk is installed. When it is not, it skips with the reason, or fails under CI (the CI
environment variable set): CI must not go green without it.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from scripts.fidelity import WRK_INSTALL, WrkOutputError, parse_wrk

from ..conftest import loadlab, require

# wrk 4.1.0 (Debian), `wrk -t1 -c8 -d3s --latency` against gunicorn sync hello.
WRK_SAMPLE = """\
Running 3s test @ http://127.0.0.1:41235/hello/sync/
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.87ms  513.27us  12.04ms   91.02%
    Req/Sec     4.31k   201.55     4.61k    80.00%
  Latency Distribution
     50%    1.79ms
     75%    1.98ms
     90%    2.24ms
     99%    3.71ms
  12873 requests in 3.00s, 2.85MB read
Requests/sec:   4290.63
Transfer/sec:      0.95MB
"""

WRK_ERRORS = """\
Running 2s test @ http://127.0.0.1:8000/hello/sync/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    77.59ms   26.44ms    1.02s    78.22%
    Req/Sec   814.30    277.84     1.55k    73.33%
  1638 requests in 2.01s, 380.00KB read
  Socket errors: connect 0, read 12, write 0, timeout 3
  Non-2xx or 3xx responses: 5
Requests/sec:    814.93
Transfer/sec:    189.05KB
"""


@pytest.fixture
def wrk() -> str:
    """wrk's path. Without it the real check skips locally and fails under CI."""
    path = shutil.which("wrk")
    require(path is not None, "wrk is not installed (apt-get install wrk); loadlab's"
            " throughput was not checked against it")
    return path  # type: ignore[return-value]


def test_parse_wrk_reads_throughput_and_latency():
    result = parse_wrk(WRK_SAMPLE)
    assert result.rps == 4290.63
    assert result.requests == 12873
    assert result.duration_s == 3.0
    assert result.errors == 0
    assert result.latency_ms == {"mean": 1.87, "max": 12.04, "p50": 1.79, "p75": 1.98,
                                 "p90": 2.24, "p99": 3.71}


def test_parse_wrk_counts_socket_errors_and_bad_statuses():
    result = parse_wrk(WRK_ERRORS)
    assert result.rps == 814.93
    assert result.socket_errors == {"connect": 0, "read": 12, "write": 0, "timeout": 3}
    assert result.non_2xx == 5
    assert result.errors == 20
    assert result.latency_ms["max"] == 1020.0  # "1.02s"
    assert "p50" not in result.latency_ms  # no --latency distribution printed


def test_parse_wrk_without_throughput_is_an_error():
    with pytest.raises(WrkOutputError):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_missing_wrk_is_one_line_and_exit_2(tmp_path):
    done = loadlab("fidelity", "--duration", "1", env={"PATH": str(tmp_path)})
    assert done.code == 2
    assert done.err.strip() == f"loadlab fidelity: {WRK_INSTALL}"
    assert done.out == ""


def test_bad_usage_is_one_line_and_exit_2():
    done = loadlab("fidelity", "--servers", "nope")
    assert done.code == 2
    assert len(done.err.strip().splitlines()) == 1 and "nope" in done.err


def test_fidelity_runs_both_tools_on_both_servers(tmp_path, wrk):
    out = tmp_path / "fidelity.json"
    done = loadlab("fidelity", "--duration", "2", "--warmup", "0.5", "--users", "8",
                   "--connections", "8", "-o", str(out), "--keep", str(tmp_path / "work"),
                   timeout=120)
    assert done.code == 0, done.err + done.out
    # The table a person reads: both servers, a ratio, a verdict.
    for text in ("gunicorn-sync", "uvicorn", "ratio", "verdict:", "overhead"):
        assert text in done.out, done.out
    data = json.loads(out.read_text())
    by_name = {s["server"]: s for s in data["servers"]}
    assert set(by_name) == {"gunicorn-sync", "uvicorn"}
    assert {s["interface"] for s in data["servers"]} == {"wsgi", "asgi"}
    for server in by_name.values():
        assert server["loadlab_rps"] > 0 and server["wrk_rps"] > 0, server
        assert server["ratio"] == pytest.approx(
            server["loadlab_rps"] / server["wrk_rps"], abs=0.001)
        assert {p["tool"] for p in server["points"]} == {"loadlab", "wrk"}
        assert all(p["ready_s"] and p["ready_s"] > 0 for p in server["points"])
    overhead = data["loadlab_cell_overhead_s"]
    assert overhead["ready_s"] > 0 and overhead["total_s"] > 0
    # loadlab's cells are real bench cells, kept with --keep.
    assert list((tmp_path / "work" / "loadlab").glob("*/cells/*/hello-sync-u8-t1"))
    assert os.listdir(tmp_path / "work" / "wrk")
