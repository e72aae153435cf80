"""A team's own Django project (tests/shop, made with startproject) measured for real:
its loadlab.toml, `prepare` (its migrations seed it), one WSGI and one ASGI server
serving *its* applications, the generic GET users and the team's own locustfile beside
loadlab's recorder, the verify step failing a wrong path, the manifest naming the
project's commit, `compare` on its run, `serve`, and every bad input as one line."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from scripts.archive.folder import load_run
from scripts.proc.supervise import free_port

from ..conftest import commit_shop, copy_shop, loadlab, only_run, read_json, shop_toml
from ..procs import assert_all_gone, assert_loopback_only, running, snapshot, wait_for

# The project's two other scenarios: the team's own locustfile, and a wrong path.
SCENARIOS = """
[scenarios.own]
summary = "the same list, driven by the team's own locustfile"
flavors = { sync = "/orders/" }
locustfile = "loadtests/own.py"

[scenarios.missing]
summary = "a path the project does not have"
flavors = { sync = "/nope/" }
"""
# The team's own user class: its own request name, no loadlab import at all.
OWN_LOCUSTFILE = """\
from locust import FastHttpUser, constant, task


class Sync(FastHttpUser):
    wait_time = constant(0)

    @task
    def orders(self):
        self.client.get("/orders/", name="order list")
"""


def make_shop(folder: Path) -> Path:
    """A private copy of tests/shop with its loadlab.toml, committed in a git repo."""
    copy_shop(folder, shop_toml(db=folder / "shop.sqlite3", scenarios=SCENARIOS))
    (folder / "loadtests").mkdir()
    (folder / "loadtests" / "own.py").write_text(OWN_LOCUSTFILE)
    return commit_shop(folder)


@pytest.fixture(scope="module")
def shop_run(tmp_path_factory):
    shop = make_shop(tmp_path_factory.mktemp("team") / "shop")
    results = tmp_path_factory.mktemp("results")
    done = loadlab("bench", "--project", str(shop), "--servers", "gunicorn-gthread,uvicorn",
                   "--users", "1", "--warmup", "0.5", "--duration", "1",
                   "--label", "e2e", "--results", str(results))
    return shop, done, only_run(results)


def test_the_project_is_measured_under_wsgi_and_asgi(shop_run):
    """Every right path measured on both servers: the project's own applications
    answered (loadlab's app has no /orders/), through the generic users and the team's."""
    _, done, run_dir = shop_run
    assert done.code == 1, done.err + done.out  # `missing` failed: the run is partial
    assert run_dir.name.endswith("-shop-e2e")
    cells = {(c.server, c.scenario, c.flavor): c for c in load_run(run_dir).cells}
    assert len(cells) == 2 * 4
    for server in ("gunicorn-gthread", "uvicorn"):
        for scenario, flavor in (("orders", "sync"), ("orders", "async"), ("own", "sync")):
            cell = cells[(server, scenario, flavor)]
            assert cell.status == "ok", cell.error
            assert cell.requests > 0 and cell.failures == 0, cell.label
            assert cell.latency_ms["p50"] > 0
    assert "gunicorn-gthread: verified 4 path(s)" in done.err + done.out


def test_a_wrong_path_fails_its_cells_with_the_answer(shop_run):
    """The verify step: /nope/ answers 404 on each server, and that flavor's cells fail
    with the status and the answer's first lines; no load is sent to it."""
    _, _, run_dir = shop_run
    for cell in load_run(run_dir).cells:
        if cell.scenario != "missing":
            continue
        assert cell.status == "failed"
        assert cell.error.startswith("verify: GET /nope/ answered 404 Not Found, expected 200")
        assert "Not Found" in cell.error.split("the answer begins:", 1)[1]
        assert not (run_dir / cell.path / "latency.json").exists()


def test_the_manifest_names_the_project_and_its_commit(shop_run):
    shop, _, run_dir = shop_run
    manifest = read_json(run_dir / "manifest.json")
    project = manifest["project"]
    head = subprocess.run(["git", "-C", str(shop), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()
    assert project["name"] == "shop" and not project["builtin"]
    assert project["file"] == str(shop / "loadlab.toml")
    assert project["settings"] == "shop.settings"
    assert project["git"]["commit"] == head and project["git"]["dirty"] is False
    assert project["prepare_s"] > 0
    assert project["scenarios"]["own"]["locustfile"] == str(shop / "loadtests" / "own.py")
    assert manifest["app"]["env"]["DJANGO_SETTINGS_MODULE"] == "shop.settings"
    assert manifest["app"]["env"]["PYTHONPATH"].startswith(f"{shop}:")
    assert (shop / "shop.sqlite3").is_file()  # prepare ran the project's migrations


def test_compare_reads_the_projects_run(shop_run, tmp_path):
    """compare works on a project's run, `--project` checks whose run it is."""
    shop, _, run_dir = shop_run
    done = loadlab("compare", str(run_dir), "--format", "json", "--project", str(shop))
    assert done.code == 0, done.err
    assert "orders" in done.out and "async" in done.out
    other = tmp_path / "other"
    other.mkdir()
    (other / "loadlab.toml").write_text(shop_toml(db="x", scenarios=SCENARIOS).replace(
        "[project]\n", '[project]\nname = "other"\n').replace(
        'locustfile = "loadtests/own.py"\n', ""))
    done = loadlab("compare", str(run_dir), "--project", str(other))
    assert done.code == 2 and "measured project 'shop', not 'other'" in done.err


def test_serve_serves_the_project_on_loopback(tmp_path):
    shop = make_shop(tmp_path / "shop")
    port = free_port()
    with running(tmp_path, "serve", "--project", str(shop), "--server", "uvicorn",
                 "--port", str(port)) as lab:
        wait_for(lambda: "serving project shop at" in lab.out, 60, "the serving line",
                 interval=0.1, proc=lab.popen)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/orders/async/") as answer:
            assert len(json.loads(answer.read())["orders"]) == 20
        snap = snapshot(lab.pid)
        assert_loopback_only(snap.sockets)
        lab.signal(signal.SIGINT)
        assert lab.wait(30) == 130, lab.err
        assert_all_gone(snap)


def test_ui_drives_the_projects_users_and_archives_them(tmp_path):
    """Locust's web UI with the project's user classes (one per flavor); the session is
    archived as the project's run, with the flavor driven as its cell."""
    shop = make_shop(tmp_path / "shop")
    results, web_port = tmp_path / "results", free_port()
    with running(tmp_path, "ui", "--no-probe", "--project", str(shop), "--server", "uvicorn",
                 "--web-port", str(web_port), "--results", str(results)) as lab:
        wait_for(lambda: f"http://127.0.0.1:{web_port}/" in lab.out, 60, "the web UI line",
                 interval=0.1, proc=lab.popen)
        assert "user classes: Sync, Async" in lab.out
        fields = urllib.parse.urlencode([("user_count", "2"), ("spawn_rate", "10"),
                                         ("user_classes", "Async")]).encode()
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/swarm", fields) as answer:
            assert json.loads(answer.read())["success"]
        wait_for(lambda: any(s["name"] == "async" and s["num_requests"] > 20 for s in json.loads(
            urllib.request.urlopen(f"http://127.0.0.1:{web_port}/stats/requests").read())[
            "stats"]), 30, "requests to /orders/async/")
        time.sleep(2)  # whole seconds in the test's window
        snap = snapshot(lab.pid)
        lab.signal(signal.SIGINT)
        assert lab.wait(60) == 130, lab.err
        assert_all_gone(snap)
    run_dir = only_run(results)
    assert "-shop-ui-uvicorn-orders" in run_dir.name
    (cell,) = load_run(run_dir).cells
    assert (cell.scenario, cell.flavor, cell.status) == ("orders", "async", "ok")
    assert cell.requests > 0 and cell.failures == 0


@pytest.mark.parametrize(("edit", "message"), [
    (lambda f: f.unlink(), "no such project file"),
    (lambda f: f.write_text(f.read_text().replace('"shop.settings"', '"shop.nosuch"')),
     "project.settings: shop.nosuch does not load: ModuleNotFoundError: No module named"
     " 'shop.nosuch'"),
    (lambda f: f.write_text(f.read_text().replace('"shop.asgi:application"',
                                                  '"shop.asgi:app"')),
     "project.asgi: shop.asgi:app does not load: AttributeError"),
    (lambda f: f.write_text(f.read_text().split("[scenarios.orders]")[0]),
     "scenarios: missing"),
    (lambda f: f.write_text(f.read_text().replace('"/orders/async/"', '"orders/async/"')),
     "scenarios.orders.flavors.async: must be a URL path starting with /"),
    (lambda f: f.write_text(f.read_text().replace("[project]\n", "[project]\nwgsi = 1\n")),
     "project.wgsi: unknown key"),
])
def test_bad_project_input_is_one_line_and_exit_2(tmp_path, edit, message):
    """Nothing starts, no run folder is written: one line naming the file and key."""
    shop = copy_shop(tmp_path / "shop", shop_toml(db=tmp_path / "db.sqlite3",
                                                  scenarios=SCENARIOS).replace(
        'locustfile = "loadtests/own.py"\n', ""))
    file = shop / "loadlab.toml"
    edit(file)
    results = tmp_path / "results"
    done = loadlab("bench", "--project", str(shop), "--results", str(results))
    assert done.code == 2, done.err + done.out
    lines = done.err.strip().splitlines()
    assert len(lines) == 1 and str(file) in lines[0] and message in lines[0], done.err
    assert not results.exists()
