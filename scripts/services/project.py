"""A team's project in a run: its `prepare` commands once, and a verify step per server
(also for an app already running, `--target`).

Verify (as TechEmpower does before any load): each flavor's path is requested once on
the server's first fresh instance. A wrong status fails that flavor's cells on that
server, with the answer's first lines: a measurement of 404s or of a login redirect
would be fast and worthless. loadlab's own stories are checked by their locustfiles'
answer checks instead (under the `faults` profile a 502 is a right answer).
"""

from __future__ import annotations

import http.client
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..config.project import Project
from ..errors import ConfigError, PrepareFailed
from ..proc import supervise
from ..stories import Scenario
from .servers import project_env

TIMEOUT_S = 30.0  # one request of a view that may touch a cold database
HEAD_LINES = 5
HEAD_CHARS = 400


# Runs in a child with the project's environment: settings, then each application.
_IMPORTS = """
import importlib, sys
step = "settings"
try:
    import django
    django.setup()
    for arg in sys.argv[1:]:
        step, _, app = arg.partition("=")
        module, _, attr = app.partition(":")
        getattr(importlib.import_module(module), attr)
except BaseException:
    sys.stdout.write(step)
    raise
"""


def check_imports(project: Project, timeout_s: float = 60.0) -> None:
    """Before anything starts: the project's settings load and its applications import,
    in a child with its environment (its settings never load into loadlab). ConfigError
    names the file, the key and the child's last error line."""
    apps = [f"{kind}={app}" for kind, app in project.applications.items()]
    try:
        done = subprocess.run([sys.executable, "-c", _IMPORTS, *apps], cwd=project.root,
                              env=supervise.child_env(project_env(project)),
                              capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{project.file}: project.settings: {project.settings} did not"
                          f" load within {timeout_s:g}s") from None
    if done.returncode == 0:
        return
    step = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "settings"
    what = project.settings if step == "settings" else project.applications.get(step, step)
    last = next((line.strip() for line in reversed(done.stderr.splitlines())
                 if line.strip()), f"exit {done.returncode}")
    raise ConfigError(f"{project.file}: project.{step}: {what} does not load: {last}")


def prepare(project: Project, log_dir: Path) -> float:
    """Run the project's `prepare` commands in its root, with its environment; "python"
    is the interpreter loadlab runs on (the project's). Returns the seconds it took."""
    start = time.monotonic()
    log = log_dir / "prepare.log"
    for command in project.prepare:
        argv = [sys.executable if command[0] in ("python", "python3") else command[0],
                *command[1:]]
        try:
            code = supervise.run(f"prepare {command[0]}", argv, log_path=log,
                                 env=project_env(project), cwd=project.root,
                                 timeout=600.0)
        except FileNotFoundError:
            raise PrepareFailed(f"prepare: {command[0]}: no such command") from None
        if code != 0:
            tail = _tail(log)
            raise PrepareFailed(f"prepare: {' '.join(command)} failed (exit {code}); see"
                                f" {log}" + (f":\n{tail}" if tail else ""))
    return time.monotonic() - start


def _tail(log: Path, lines: int = 10) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass(frozen=True)
class Verified:
    """What one server answered on each flavor's path: the problems, and the time."""

    problems: dict[tuple[str, str], str]  # (scenario, flavor) -> why its cells fail
    seconds: float

    def problem(self, scenario: str, flavor: str) -> str | None:
        return self.problems.get((scenario, flavor))

    def summary(self, server: str, paths: int) -> str:
        wrong = f", {len(self.problems)} wrong" if self.problems else ""
        return f"{server}: verified {paths} path(s) in {self.seconds * 1000:.0f} ms{wrong}"


def verify(base_url: str, scenarios: list[tuple[Scenario, str]]) -> Verified:
    """GET each (scenario, flavor)'s path once (with the story's query); a status other
    than the scenario's expected one (or no answer) is a problem for that flavor."""
    start = time.monotonic()
    problems: dict[tuple[str, str], str] = {}
    for scenario, flavor in scenarios:
        path = scenario.flavor(flavor).path
        query = f"?{scenario.query}" if scenario.query else ""
        problem = _check(base_url, path + query, scenario.expect_status)
        if problem:
            problems[(scenario.name, flavor)] = f"verify: GET {path} {problem}"
    return Verified(problems, time.monotonic() - start)


def _check(base_url: str, path: str, expected: int) -> str | None:
    parts = urlsplit(base_url)
    kind = (http.client.HTTPSConnection if parts.scheme == "https"
            else http.client.HTTPConnection)
    conn = kind(parts.hostname or "", parts.port, timeout=TIMEOUT_S)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException) as exc:
        return f"got no answer ({type(exc).__name__}: {exc})"
    finally:
        conn.close()
    if response.status == expected:
        return None
    text = body.decode("utf-8", "replace")[:HEAD_CHARS]
    head = "\n".join(text.splitlines()[:HEAD_LINES])
    where = f" (Location: {response.getheader('Location')})" if response.getheader(
        "Location") else ""
    return (f"answered {response.status} {response.reason}{where}, expected {expected}"
            + (f"; the answer begins:\n{head}" if head.strip() else ""))
