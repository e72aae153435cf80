"""config/project.py: a team's loadlab.toml -> Project, and one ConfigError line per problem.

Each bad file is the minimal valid one with one thing wrong (the control: the minimal
file loads), so a case fails for its own reason. The CLI's view of the same errors
(exit 2, nothing started) is in e2e/test_project.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.config.project import BUILTIN, load_project
from scripts.errors import ConfigError

MINIMAL = """\
[project]
settings = "shop.settings"
wsgi = "shop.wsgi:application"
asgi = "shop.asgi:application"

[scenarios.orders]
flavors = { sync = "/orders/", async = "/orders/async/" }
"""


def write(folder: Path, text: str) -> Path:
    (folder / "loadlab.toml").write_text(text)
    return folder / "loadlab.toml"


def test_the_minimal_file_loads_with_defaults(tmp_path: Path) -> None:
    """The folder or the file itself; root defaults to the file's folder, the name to
    the root's, sync is the first flavor and 200 the expected status."""
    file = write(tmp_path, MINIMAL)
    for given in (tmp_path, file):
        project = load_project(given)
        assert (project.file, project.root, project.name) == (file, tmp_path, tmp_path.name)
        assert not project.builtin
        (orders,) = project.scenarios
        assert [(f.name, f.path) for f in orders.flavors] == [
            ("sync", "/orders/"), ("async", "/orders/async/")]
        assert orders.expect_status == 200 and orders.slo_p95_ms is None
        assert project.application("wsgi") == "shop.wsgi:application"
        assert project.describe()["scenarios"]["orders"]["locustfile"] is None


def test_every_key(tmp_path: Path) -> None:
    """prepare, env, name, expect_status, slo, typical latency and a team's locustfile."""
    (tmp_path / "src").mkdir()
    (tmp_path / "load.py").write_text("")
    project = load_project(write(tmp_path, """\
[project]
name = "shop"
root = "src"
settings = "shop.settings"
asgi = "shop.asgi:application"
prepare = [["python", "manage.py", "migrate", "--noinput"]]
env = { SHOP_DB = "/tmp/x.sqlite3" }

[scenarios.orders]
summary = "order list"
flavors = { sync = "/orders/", async-fast = "/orders/async/" }
expect_status = 201
slo_p95_ms = 80
typical_ms = 12
locustfile = "../load.py"
"""))
    assert project.root == tmp_path / "src" and project.name == "shop"
    assert project.applications == {"asgi": "shop.asgi:application"}
    assert project.application("wsgi") is None
    assert project.prepare == (("python", "manage.py", "migrate", "--noinput"),)
    assert project.env == {"SHOP_DB": "/tmp/x.sqlite3"}
    (orders,) = project.scenarios
    assert (orders.summary, orders.expect_status, orders.slo_p95_ms, orders.typical_ms) == (
        "order list", 201, 80, 12.0)
    assert orders.flavor_names == ("sync", "async-fast")
    assert project.locustfiles == {"orders": tmp_path / "load.py"}


def test_no_project_is_loadlabs_own_app() -> None:
    assert load_project(None) is BUILTIN
    assert BUILTIN.builtin and BUILTIN.application("asgi") == "app.asgi:application"
    assert "weather" in {s.name for s in BUILTIN.scenarios}


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t.replace('settings = "shop.settings"\n', ""), "project.settings: missing"),
    (lambda t: t.replace('"shop.settings"', '"shop settings"'),
     "project.settings: must be a dotted module name"),
    (lambda t: t.replace('"shop.wsgi:application"', '"shop.wsgi"'),
     'project.wsgi: must be "module:callable"'),
    (lambda t: t.replace('wsgi = "shop.wsgi:application"\nasgi = "shop.asgi:application"\n',
                         ""), "project.wsgi: name the project's wsgi or asgi application"),
    (lambda t: t.replace("[project]\n", "[project]\nroot = 'nowhere'\n"),
     "project.root: .* is not a folder"),
    (lambda t: t.replace("[project]\n", "[project]\nprepare = 'migrate'\n"),
     "project.prepare: must be a list of commands"),
    (lambda t: t.replace("[project]\n", "[project]\nenv = { N = 1 }\n"),
     "project.env: must be a table of strings"),
    (lambda t: t.replace("[project]\n", "[project]\nsetings = 'x'\n"),
     "project.setings: unknown key"),
    (lambda t: t.split("[scenarios.orders]")[0], "scenarios: missing"),
    (lambda t: t.replace('"/orders/async/"', '"orders/async/"'),
     "scenarios.orders.flavors.async: must be a URL path starting with /"),
    (lambda t: t.replace("flavors = {", "flavours = {"), "scenarios.orders.flavors: missing"),
    (lambda t: t + "expect = 200\n", "scenarios.orders.expect: unknown key"),
    (lambda t: t + "expect_status = 700\n", "scenarios.orders.expect_status: must be <= 599"),
    (lambda t: t + "locustfile = 'nope.py'\n", "scenarios.orders.locustfile: .* is not a file"),
    (lambda t: t.replace("[scenarios.orders]", "[scenarios.Orders]"),
     "scenarios.Orders: a scenario's name is lowercase"),
    (lambda t: t + "[other]\n", "other: unknown key"),
    (lambda t: t + "[[", "invalid TOML"),
])
def test_one_line_naming_file_and_key(tmp_path: Path, change, message: str) -> None:
    file = write(tmp_path, change(MINIMAL))
    with pytest.raises(ConfigError, match=f"^{file}: .*{message}|^{file}: {message}") as error:
        load_project(tmp_path)
    assert "\n" not in str(error.value)


def test_a_missing_file_says_how_to_write_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"{tmp_path}/loadlab.toml: no such project file"
                                          f" \\(loadlab init {tmp_path} writes one\\)"):
        load_project(tmp_path)


def test_the_run_records_env_without_secrets(tmp_path: Path) -> None:
    """A manifest is shared: secret-looking keys and URL passwords are hidden there,
    while the servers get the real values."""
    project = load_project(write(tmp_path, MINIMAL.replace("[project]\n", """[project]
env = { DATABASE_URL = "postgres://shop:hunter2@127.0.0.1/shop", API_TOKEN = "t", FLAG = "1" }
""")))
    assert project.env["DATABASE_URL"].endswith(":hunter2@127.0.0.1/shop")
    assert project.recorded_env() == {"DATABASE_URL": "postgres://shop:***@127.0.0.1/shop",
                                      "API_TOKEN": "***", "FLAG": "1"}
    assert "hunter2" not in str(project.describe())
