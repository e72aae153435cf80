"""`loadlab serve` and `loadlab ui` for real: they come up on 127.0.0.1 only, answer,
and on Ctrl-C stop every process they started and free their ports; `ui` archives the
session it drove through Locust's own web API."""

from __future__ import annotations

import json
import signal
import socket
import urllib.parse
import urllib.request

import pytest

from scripts.proc.supervise import free_port

from ..conftest import loadlab, only_run, read_json
from ..procs import (
    assert_all_gone,
    assert_loopback_only,
    is_server,
    port_free,
    running,
    snapshot,
    wait_for,
)


def get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read()


def post_form(url: str, fields: list[tuple[str, str]]) -> dict:
    data = urllib.parse.urlencode(fields).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as r:
        return json.loads(r.read())


@pytest.mark.parametrize("server", ["uvicorn", "gunicorn-sync"])
def test_serve_answers_on_loopback_and_stops_clean(tmp_path, server):
    port, upstream_port = free_port(), free_port()
    while upstream_port == port:
        upstream_port = free_port()
    with running(tmp_path, "serve", "--server", server, "--port", str(port),
                 "--upstream-port", str(upstream_port)) as lab:
        wait_for(lambda: f"serving http://127.0.0.1:{port}/" in lab.out, 60,
                 "the serving line", interval=0.1, proc=lab.popen)
        base = f"http://127.0.0.1:{port}"
        status, body = get(base + "/hello/sync/")
        assert status == 200 and json.loads(body)
        status, body = get(base + "/weather/async/")
        assert status == 200
        cities = [r["location"]["city"] for r in json.loads(body)["responses"]]
        assert len(cities) == 5

        snap = snapshot(lab.pid)
        assert {port, upstream_port} <= snap.ports, snap.sockets
        assert_loopback_only(snap.sockets)
        assert any(is_server(p) for p in snap.procs)
        lab.signal(signal.SIGINT)
        assert lab.wait(30) == 130, lab.err
        assert_all_gone(snap)
        assert port_free(port) and port_free(upstream_port)
        assert "stopped" in lab.out


def test_bench_against_a_running_target_leaves_it_running(tmp_path, results):
    """--target: an app loadlab did not start (here `loadlab serve`) is measured as it
    is: verified first, never restarted, its resources unknown, and the run says so."""
    port, upstream_port = free_port(), free_port()
    while upstream_port == port:
        upstream_port = free_port()
    with running(tmp_path, "serve", "--server", "uvicorn", "--port", str(port),
                 "--upstream-port", str(upstream_port)) as lab:
        wait_for(lambda: f"serving http://127.0.0.1:{port}/" in lab.out, 60,
                 "the serving line", interval=0.1, proc=lab.popen)
        served = {p.pid for p in snapshot(lab.pid).procs}
        done = loadlab("bench", "--target", f"http://127.0.0.1:{port}", "--profile", "smoke",
                       "--scenarios", "hello", "--users", "2", "--warmup", "0.5",
                       "--duration", "1", "--results", str(results))
        assert done.code == 0, done.err + done.out
        assert {p.pid for p in snapshot(lab.pid).procs} == served  # nothing restarted
        lab.signal(signal.SIGINT)
        assert lab.wait(30) == 130, lab.err
    assert "an app already running" in done.err + done.out
    assert "target: verified 2 path(s)" in done.err + done.out
    run = only_run(results)
    manifest = read_json(run / "manifest.json")
    assert manifest["plan"]["target"] == {
        "url": f"http://127.0.0.1:{port}", "remote": False, "fresh_server_per_cell": False,
        "server_resources": "unknown: not a process loadlab started"}
    cells = read_json(run / "summary.json")["cells"]
    assert {(c["scenario"], c["flavor"]) for c in cells} == {("hello", "sync"),
                                                             ("hello", "async")}
    for cell in cells:
        assert cell["server"] == "target" and cell["status"] == "ok", cell
        assert cell["requests"] > 0 and cell["server_cpu_pct"] is None, cell
        assert "load-bound" not in cell["warnings"]
    assert "an app already running (--target)" in (run / "summary.md").read_text()


@pytest.mark.parametrize(("args", "message"), [
    (("--target", "http://203.0.113.7:8000"), "203.0.113.7 is not this machine; pass"
                                               " --allow-remote"),
    (("--target", "http://example.com"), "example.com is not this machine"),
    (("--target", "ftp://127.0.0.1:1"), "expected http://HOST[:PORT]"),
    (("--target", "http://127.0.0.1:1/app/"), "give the app's root URL"),
    (("--target", "http://127.0.0.1:1", "--servers", "uvicorn"), "--servers and --target"),
    (("--target", "http://127.0.0.1:1", "--db", "postgres"), "--db and --target"),
])
def test_a_bad_or_remote_target_is_refused_before_any_request(results, args, message):
    done = loadlab("bench", *args, "--results", str(results))
    assert done.code == 2 and message in done.err, done.err
    assert len(done.err.strip().splitlines()) == 1
    assert not any(results.iterdir())


def test_a_ui_session_with_no_test_leaves_no_folder(tmp_path, results):
    web_port = free_port()
    with running(tmp_path, "ui", "--no-probe", "--server", "uvicorn", "--scenario", "hello",
                 "--web-port", str(web_port), "--results", str(results)) as lab:
        wait_for(lambda: f"http://127.0.0.1:{web_port}/" in lab.out, 60, "the web UI line",
                 interval=0.1, proc=lab.popen)
        snap = snapshot(lab.pid)
        lab.signal(signal.SIGINT)
        assert lab.wait(60) == 130, lab.err
        assert_all_gone(snap)
    assert "no test ran in the session: nothing archived" in lab.out
    assert not any(results.iterdir())


def test_a_taken_web_port_is_one_line_naming_the_flag(results):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = loadlab("ui", "--server", "uvicorn", "--web-port", str(port),
                       "--results", str(results))
    assert done.code == 2, done.err
    assert done.err.strip() == (f"loadlab ui: port {port} on 127.0.0.1 is taken; choose"
                                " another with --web-port")
    assert not any(results.iterdir())
