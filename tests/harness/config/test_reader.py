"""config/reader.py: matrix.toml -> Matrix, and one ConfigError line per problem.

Each bad matrix here is the minimal valid one with one thing wrong, so a case fails
for its own reason (the control: the minimal matrix itself loads). The CLI's view of
the same errors (exit 2, nothing started) is in e2e/test_usage_errors.py.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from app.scenarios import SCENARIOS_BY_NAME
from scripts.config import (
    DEFAULT_MATRIX,
    AppSettings,
    ConfigError,
    Pinning,
    Rules,
    UpstreamSettings,
    load_matrix,
)

SERVER = """\
[servers.web]
interface = "wsgi"
module = "gunicorn"
args = ["app.wsgi:application", "--bind", "{host}:{port}", "--workers", "{workers}"]
"""
CLIENT = """\
[clients.httpx]
sync = true
"""
PROFILE = """\
[profiles.quick]
users = 4
duration_s = 3
"""
MINIMAL = SERVER + CLIENT + PROFILE


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "matrix.toml"
    path.write_text(text)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_matrix(path)
    message = str(info.value)
    assert "\n" not in message, f"not one line: {message!r}"
    assert message.startswith(f"{path}: "), message
    return message


# --- a valid matrix --------------------------------------------------------------------


def test_a_minimal_matrix_loads_with_the_documented_defaults(tmp_path):
    path = write(tmp_path, MINIMAL)
    m = load_matrix(path)
    assert m.path == path
    assert m.default_profile == "quick"  # [defaults] profile, when absent
    assert list(m.servers) == ["web"] and list(m.clients) == ["httpx"]
    web = m.servers["web"]
    assert (web.interface, web.module, web.workers, web.concurrency) == ("wsgi", "gunicorn",
                                                                          1, 1)
    assert web.threads is None and web.connections is None and not web.optional
    assert web.model == "processes"  # WSGI without a thread pool
    assert web.args == ("app.wsgi:application", "--bind", "{host}:{port}", "--workers",
                        "{workers}")
    quick = m.profile(None)
    assert quick.users == (4,)  # a single number is a list of one
    assert quick.duration_s == 3.0 and quick.trials == 1 and quick.rates == ()
    assert quick.max_duration_s is None  # stability windows are asked for, not assumed
    assert quick.servers is quick.scenarios is quick.clients is quick.flavors is None
    # tables left out take the model's defaults
    assert m.rules == Rules() and m.pinning == Pinning() and m.app == AppSettings()
    assert m.upstream == UpstreamSettings() and m.slo_p95_ms == {}


def test_every_section_is_read(tmp_path):
    path = write(tmp_path, MINIMAL + """\
[defaults]
profile = "long"

[pinning]
enabled = false
server = 1
generator = [0, 1]

[upstream]
latency_ms = 20
error_rate = 0.25

[rules]
hot_cpu_pct = 70
min_requests = 5

[app]
client_timeout_s = 0.5
async_middleware = true

[slo]
weather = 600

[servers.threaded]
interface = "wsgi"
module = "gunicorn"
threads = 8
args = ["--threads", "{threads}"]

[profiles.long]
rates = [10, 20.5]
arrival = "poisson"
duration_s = 30
trials = 3
servers = ["web"]
scenarios = ["hello", "weather"]
flavors = ["sync"]
clients = "all"
[profiles.long.upstream]
hang_rate = 0.1
""")
    m = load_matrix(path)
    assert m.default_profile == "long"
    assert m.pinning == Pinning(enabled=False, server=(1,), generator=(0, 1), upstream=(1,))
    assert m.upstream.latency_ms == 20 and m.upstream.error_rate == 0.25
    assert m.upstream.hang_ms == UpstreamSettings().hang_ms  # untouched fields keep defaults
    assert m.rules.hot_cpu_pct == 70 and m.rules.min_requests == 5
    assert m.rules.high_failure_ratio == Rules().high_failure_ratio
    assert m.app.client_timeout_s == 0.5 and m.app.async_middleware
    assert m.slo("weather", 750.0) == 600.0 and m.slo("hello", 25.0) == 25.0
    assert m.servers["threaded"].resolved_args(port=1) == ["--threads", "8"]
    long = m.profile(None)
    assert long.rates == (10.0, 20.5) and long.users == () and long.arrival == "poisson"
    assert long.servers == ("web",) and long.scenarios == ("hello", "weather")
    assert long.flavors == ("sync",) and long.clients is None and long.trials == 3
    assert long.upstream == {"hang_rate": 0.1}


def test_the_repository_matrix_loads_and_holds_what_the_file_says():
    m = load_matrix()
    assert m.path == DEFAULT_MATRIX
    raw = tomllib.loads(DEFAULT_MATRIX.read_text())  # read independently of the reader
    assert list(m.servers) == list(raw["servers"])
    assert list(m.clients) == list(raw["clients"])
    assert list(m.profiles) == list(raw["profiles"])
    assert m.default_profile == raw["defaults"]["profile"]
    for name, table in raw["servers"].items():
        assert m.servers[name].args == tuple(table["args"])
        assert m.servers[name].interface == table["interface"]
    for name, table in raw["clients"].items():
        assert m.clients[name].sync == table.get("sync", True)


# --- one line per problem --------------------------------------------------------------


@pytest.mark.parametrize(("text", "words"), [
    pytest.param(MINIMAL.replace('module = "gunicorn"', 'module = "gunicorn"\nworkrs = 2'),
                 ("servers.web.workrs", "unknown key"), id="typo-in-a-server"),
    pytest.param(MINIMAL + "[rulez]\nhot_cpu_pct = 50\n", ("rulez", "unknown key"),
                 id="typo-table"),
    pytest.param(MINIMAL + "[rules]\nhot_cpu_pctt = 50\n", ("rules.hot_cpu_pctt", "unknown"),
                 id="typo-in-rules"),
    pytest.param(MINIMAL + "[profiles.quick.upstream]\nlatency = 5\n",
                 ("profiles.quick.upstream.latency", "unknown"), id="typo-in-profile-upstream"),
    pytest.param(MINIMAL.replace("duration_s = 3", "duration_s = 3\nuser = 4"),
                 ("profiles.quick.user", "unknown"), id="typo-in-a-profile"),
])
def test_an_unknown_key_is_a_typo(tmp_path, text, words):
    message = error_of(write(tmp_path, text))
    for word in words:
        assert word in message


@pytest.mark.parametrize(("text", "words"), [
    pytest.param(SERVER.replace('module = "gunicorn"', 'module = "gunicorn"\nworkers = "two"')
                 + CLIENT + PROFILE, ("servers.web.workers", "whole number", "a string"),
                 id="workers-string"),
    pytest.param(SERVER.replace('module = "gunicorn"', 'module = "gunicorn"\nworkers = 2.5')
                 + CLIENT + PROFILE, ("servers.web.workers", "whole number"),
                 id="workers-float"),
    pytest.param(SERVER.replace('module = "gunicorn"', 'module = "gunicorn"\nworkers = true')
                 + CLIENT + PROFILE, ("servers.web.workers", "a boolean"), id="workers-bool"),
    pytest.param(SERVER.replace('interface = "wsgi"', "interface = 1") + CLIENT + PROFILE,
                 ("servers.web.interface", "must be a string"), id="interface-number"),
    pytest.param(SERVER.split("args")[0] + 'args = "app.wsgi:application"\n' + CLIENT
                 + PROFILE, ("servers.web.args", "list of strings"), id="args-string"),
    pytest.param('clients = 3\n' + SERVER + PROFILE, (": clients: ", "at least one"),
                 id="clients-not-tables"),
    pytest.param(SERVER + CLIENT.replace("sync = true", 'sync = "yes"') + PROFILE,
                 ("clients.httpx.sync", "true or false"), id="sync-string"),
    pytest.param(MINIMAL.replace("duration_s = 3", 'duration_s = "3"'),
                 ("profiles.quick.duration_s", "a number"), id="duration-string"),
    pytest.param(MINIMAL.replace("duration_s = 3", "duration_s = 3\nmax_duration_s = 2"),
                 ("profiles.quick.max_duration_s", ">= duration_s"), id="cap-under-duration"),
    pytest.param(MINIMAL.replace("users = 4", "users = [4, 2.5]"),
                 ("profiles.quick.users", "whole number"), id="users-float"),
    pytest.param(MINIMAL.replace("users = 4", "rates = [10, true]"),
                 ("profiles.quick.rates", "number > 0"), id="rates-bool"),
    pytest.param(MINIMAL.replace("duration_s = 3", 'duration_s = 3\nservers = "web"'),
                 ("profiles.quick.servers", '"all" or a list'), id="selection-string"),
    pytest.param(MINIMAL + "[pinning]\nenabled = 1\n", ("pinning.enabled", "true or false"),
                 id="pinning-enabled-number"),
    pytest.param(MINIMAL + "[pinning]\nserver = []\n", ("pinning.server", "non-empty"),
                 id="pinning-empty"),
    pytest.param("upstream = 5\n" + MINIMAL, (": upstream: ", "must be a table"),
                 id="upstream-not-a-table"),
    pytest.param(MINIMAL.replace("duration_s = 3", "duration_s = 3\nupstream = [1]"),
                 ("profiles.quick.upstream", "must be a table"), id="profile-upstream-list"),
    pytest.param(MINIMAL + '[defaults]\nprofile = 3\n', ("defaults.profile", "a string"),
                 id="default-profile-number"),
    pytest.param(MINIMAL.replace('interface = "wsgi"', 'interface = "rsgi"'),
                 ("servers.web.interface", "wsgi, asgi", "'rsgi'"), id="interface-choice"),
    pytest.param(MINIMAL.replace('interface = "wsgi"', 'interface = "wsgi"\nmodel = "fibers"'),
                 ("servers.web.model", "greenlets", "'fibers'"), id="model-choice"),
    pytest.param(MINIMAL.replace("duration_s = 3", 'duration_s = 3\narrival = "burst"'),
                 ("profiles.quick.arrival", "'burst'"), id="arrival-choice"),
])
def test_a_wrong_type_names_the_key(tmp_path, text, words):
    message = error_of(write(tmp_path, text))
    for word in words:
        assert word in message


@pytest.mark.parametrize(("text", "key", "bound"), [
    (MINIMAL.replace('module = "gunicorn"', 'module = "gunicorn"\nworkers = 0'),
     "servers.web.workers", ">= 1"),
    (MINIMAL.replace('module = "gunicorn"', 'module = "gunicorn"\nworkers = 257'),
     "servers.web.workers", "<= 256"),
    (MINIMAL.replace('module = "gunicorn"', 'module = "gunicorn"\nready_timeout_s = 0'),
     "servers.web.ready_timeout_s", ">= 0.1"),
    (MINIMAL.replace("users = 4", "users = [4, 0]"), "profiles.quick.users", ">= 1"),
    (MINIMAL.replace("duration_s = 3", "duration_s = 0.5"), "profiles.quick.duration_s",
     ">= 1"),
    (MINIMAL.replace("duration_s = 3", "duration_s = 3\ntrials = 0"), "profiles.quick.trials",
     ">= 1"),
    (MINIMAL + "[rules]\nhigh_failure_ratio = 1.5\n", "rules.high_failure_ratio", "<= 1"),
    (MINIMAL + "[upstream]\nerror_rate = 2\n", "upstream.error_rate", "<= 1"),
    (MINIMAL + "[upstream]\nlatency_ms = -1\n", "upstream.latency_ms", ">= 0"),
    (MINIMAL + "[profiles.quick.upstream]\ntail_rate = -0.1\n",
     "profiles.quick.upstream.tail_rate", ">= 0"),
    (MINIMAL + "[app]\nclient_timeout_s = 0\n", "app.client_timeout_s", ">= 0.01"),
    (MINIMAL + "[pinning]\ngenerator = [-1]\n", "pinning.generator", ">= 0"),
    (MINIMAL + "[slo]\nhello = 0\n", "slo.hello", ">= 0.001"),
    (MINIMAL.replace("users = 4", "rates = [10, 0]"), "profiles.quick.rates", "> 0"),
])
def test_out_of_range_names_the_key_and_the_bound(tmp_path, text, key, bound):
    message = error_of(write(tmp_path, text))
    assert key in message and bound in message


@pytest.mark.parametrize("text", [
    MINIMAL.replace("duration_s = 3", "duration_s = nan"),
    MINIMAL + "[rules]\nhot_cpu_pct = nan\n",
    MINIMAL + "[upstream]\nlatency_ms = nan\n",
], ids=["duration", "rule", "upstream"])
def test_nan_is_not_a_number_in_range(tmp_path, text):
    error_of(write(tmp_path, text))


@pytest.mark.parametrize(("selection", "name"), [
    ('servers = ["web", "tornado"]', "tornado"),
    ('clients = ["requests"]', "requests"),
    ('scenarios = ["hello", "wether"]', "wether"),
    ('flavors = ["sync", "asink"]', "asink"),
])
def test_a_profile_selection_names_only_known_things(tmp_path, selection, name):
    axis = selection.split()[0]
    message = error_of(write(tmp_path, MINIMAL.replace("duration_s = 3",
                                                       f"duration_s = 3\n{selection}")))
    assert f"profiles.quick.{axis}" in message and repr(name) in message
    assert "known:" in message


@pytest.mark.parametrize(("rule", "words"), [
    ('leave_out = [{ servers = ["tornado"], why = "x" }]', "leave_out[0].servers"),
    ('leave_out = [{ flavors = ["sync"] }]', "leave_out[0].why: missing"),
    ('leave_out = [{ flavors = ["sync"], why = "x", wy = "y" }]', "leave_out[0].wy"),
    ('leave_out = "async"', "leave_out: must be a list"),
    ('middleware = ["default", "startproject"]', "middleware: unknown stack 'startproject'"),
    ('middleware = []', "middleware: must name at least one stack"),
])
def test_a_profile_leave_out_rule_and_middleware_are_checked(tmp_path, rule, words):
    message = error_of(write(tmp_path, MINIMAL.replace("duration_s = 3",
                                                       f"duration_s = 3\n{rule}")))
    assert words in message, message


def test_an_unknown_scenario_in_slo_names_the_known_ones(tmp_path):
    message = error_of(write(tmp_path, MINIMAL + "[slo]\nwether = 100\n"))
    assert "slo.wether" in message
    assert all(name in message for name in SCENARIOS_BY_NAME)


@pytest.mark.parametrize("arg", ["{prot}", "{}", "{0}", "{port", "{port!z}", "{port.real.x}"])
def test_a_bad_placeholder_in_server_args(tmp_path, arg):
    text = MINIMAL.replace('"{workers}"]', f'"{{workers}}", "{arg}"]')
    message = error_of(write(tmp_path, text))
    assert "servers.web.args" in message and "bad placeholder" in message


@pytest.mark.parametrize("placeholder", ["threads", "connections"])
def test_a_placeholder_whose_setting_is_not_set(tmp_path, placeholder):
    text = MINIMAL.replace('"{workers}"]', f'"{{workers}}", "--x", "{{{placeholder}}}"]')
    message = error_of(write(tmp_path, text))
    assert "servers.web.args" in message
    assert f"{{{placeholder}}}" in message and f"{placeholder} is not set" in message
    # the control: with the setting, the same args are fine
    fixed = text.replace('module = "gunicorn"', f'module = "gunicorn"\n{placeholder} = 4')
    spec = load_matrix(write(tmp_path, fixed)).servers["web"]
    assert spec.resolved_args(port=9)[-1] == "4"


@pytest.mark.parametrize(("text", "key"), [
    (SERVER.replace('interface = "wsgi"\n', "") + CLIENT + PROFILE, "servers.web.interface"),
    (SERVER.replace('module = "gunicorn"\n', "") + CLIENT + PROFILE, "servers.web.module"),
    (SERVER.split("args")[0] + CLIENT + PROFILE, "servers.web.args"),
    (MINIMAL.replace("duration_s = 3\n", ""), "profiles.quick.duration_s"),
])
def test_a_missing_required_key(tmp_path, text, key):
    message = error_of(write(tmp_path, text))
    assert f"{key}: missing" in message


@pytest.mark.parametrize(("text", "table"), [
    (CLIENT + PROFILE, "servers"),
    (SERVER + PROFILE, "clients"),
    (SERVER + CLIENT, "profiles"),
    ("", "servers"),
])
def test_a_missing_table(tmp_path, text, table):
    message = error_of(write(tmp_path, text))
    assert f": {table}: " in message


def test_the_default_profile_must_exist(tmp_path):
    message = error_of(write(tmp_path, MINIMAL + '[defaults]\nprofile = "slow"\n'))
    assert "defaults.profile" in message and "'slow'" in message


def test_users_and_rates_are_exclusive(tmp_path):
    message = error_of(write(tmp_path, MINIMAL.replace("users = 4",
                                                       "users = 4\nrates = 10")))
    assert "profiles.quick.rates" in message and "not both" in message


def test_a_server_that_is_not_a_table(tmp_path):
    message = error_of(write(tmp_path, "[servers]\nweb = 3\n" + CLIENT + PROFILE))
    assert "servers.web" in message and "must be a table" in message


# --- files that are not matrices -------------------------------------------------------


def test_invalid_toml(tmp_path):
    message = error_of(write(tmp_path, MINIMAL + "x = [\n"))
    assert "invalid TOML" in message


def test_a_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    assert "no such matrix file" in error_of(path)


def test_a_folder_instead_of_a_file(tmp_path):
    path = tmp_path / "matrix.toml"
    path.mkdir()
    assert "is a folder" in error_of(path)


def test_a_binary_file(tmp_path):
    path = tmp_path / "matrix.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert "not a text file" in error_of(path)


@pytest.mark.parametrize(("extra", "model"), [
    ('interface = "asgi"', "event-loop"),
    ('interface = "wsgi"\nthreads = 8', "threads"),
    ('interface = "wsgi"\nthreads = 1', "processes"),
    ('interface = "wsgi"\nmodel = "greenlets"', "greenlets"),
])
def test_a_servers_model_is_read_or_follows_from_how_it_serves(tmp_path, extra, model):
    m = load_matrix(write(tmp_path, MINIMAL.replace('interface = "wsgi"', extra)))
    assert m.servers["web"].model == model
    assert m.servers["web"].describe()["model"] == model  # the manifest records it


def test_the_database_table(tmp_path):
    m = load_matrix(write(tmp_path, MINIMAL + '[database]\nengine = "postgres"\npool = true\n'
                          'max_connections = 50\nshared_buffers = "64MB"\n'))
    db = m.database
    assert (db.engine, db.pool, db.conn_max_age, db.max_connections) == ("postgres", True,
                                                                          0, 50)
    assert db.cluster_settings()["shared_buffers"] == "64MB"
    assert db.env() == {"LOADLAB_CONN_MAX_AGE": "0", "LOADLAB_DB_POOL": "1",
                        "LOADLAB_DB_POOL_MIN": "4", "LOADLAB_DB_POOL_MAX": "4"}
    assert load_matrix(write(tmp_path, MINIMAL)).database.engine == "sqlite"


@pytest.mark.parametrize(("table", "words"), [
    ('engine = "mysql"', ("database.engine", "sqlite, postgres")),
    ('engine = "postgres"\npool = true\nconn_max_age = 60', ("database.conn_max_age",)),
    ("conn_max_age = -1", ("database.conn_max_age",)),
    ("pool_min_size = 8", ("database.pool_max_size", ">= pool_min_size (8)")),
    ("poool = true", ("database.poool", "unknown")),
])
def test_a_bad_database_table_names_the_key(tmp_path, table, words):
    message = error_of(write(tmp_path, MINIMAL + "[database]\n" + table + "\n"))
    for word in words:
        assert word in message, message
