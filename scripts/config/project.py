"""The Django project under test: loadlab's own `app/`, or a team's, read from its
`loadlab.toml` (`--project PATH`).

A project says what to import (settings, wsgi and asgi applications, an import root),
what to run once before any server (`prepare`), and its scenarios: named URL paths per
flavor, `sync` the baseline. Its scenarios are the same `Scenario` data the built-in
stories are, so planning, measuring and comparing never ask whose they are. Every key
is checked before anything starts: a problem is one line naming the file and the key.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..stories import SCENARIOS, Flavor, Scenario
from .model import BUILTIN_APPLICATIONS
from .table import REQUIRED, Table
from .thresholds import Thresholds, read_thresholds

FILE_NAME = "loadlab.toml"
BUILTIN_NAME = "app"
_DOTTED = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")
_APPLICATION = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_SECRET = re.compile(r"PASS|SECRET|TOKEN|KEY", re.I)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


@dataclass(frozen=True)
class Project:
    """What loadlab serves and which stories it measures there."""

    name: str
    settings: str
    applications: dict[str, str]  # interface -> "module:callable"
    scenarios: tuple[Scenario, ...]
    file: Path | None = None  # None: loadlab's own app
    root: Path | None = None  # put first on the servers' import path
    prepare: tuple[tuple[str, ...], ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    locustfiles: dict[str, Path] = field(default_factory=dict)  # scenario -> the team's
    thresholds: dict[str, Thresholds] = field(default_factory=dict)  # scenario -> its gates

    @property
    def builtin(self) -> bool:
        return self.file is None

    def run_label(self, label: str | None) -> str | None:
        """A team's project names its run folders: `<time>-<project>[-<label>]`."""
        return label if self.builtin else "-".join(filter(None, (self.name, label)))

    def application(self, interface: str) -> str | None:
        """What a server of this interface serves; None: the project has none."""
        return self.applications.get(interface)

    def recorded_env(self) -> dict[str, str]:
        """`env` as a run keeps it: values of secret-looking keys and URL passwords
        hidden (a manifest is shared; a DATABASE_URL's password must not be)."""
        return {k: "***" if _SECRET.search(k) else _URL_PASSWORD.sub(r"\1***@", v)
                for k, v in self.env.items()}

    def describe(self) -> dict[str, Any]:
        """What the run records (the repository's commit is the manifest's to add)."""
        return {
            "name": self.name, "builtin": self.builtin,
            "file": str(self.file) if self.file else None,
            "root": str(self.root) if self.root else None,
            "settings": self.settings, "applications": dict(self.applications),
            "prepare": [list(c) for c in self.prepare], "env": self.recorded_env(),
            "scenarios": {s.name: {"summary": s.summary, "expect_status": s.expect_status,
                                   "flavors": {f.name: f.path for f in s.flavors},
                                   "locustfile": (str(self.locustfiles[s.name])
                                                  if s.name in self.locustfiles else None),
                                   "thresholds": self.thresholds.get(
                                       s.name, Thresholds()).describe()}
                          for s in self.scenarios},
        }


BUILTIN = Project(name=BUILTIN_NAME, settings="app.settings",
                  applications=dict(BUILTIN_APPLICATIONS), scenarios=SCENARIOS)


def load_project(path: str | Path | None) -> Project:
    """`--project PATH` (a loadlab.toml or its folder) -> a Project; None: the built-in."""
    if path is None:
        return BUILTIN
    file = Path(path).expanduser().resolve()
    if file.is_dir():
        file = file / FILE_NAME
    try:
        raw = tomllib.loads(file.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such project file (loadlab init"
                          f" {file.parent} writes one)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: unreadable project file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: invalid TOML ({exc})") from None
    top = Table(raw, "", file)
    head = Table(top.table("project", REQUIRED), "project", file)
    root = (file.parent / head.str("root", ".")).resolve()
    if not root.is_dir():
        head.fail("root", f"{root} is not a folder")
    settings = _dotted(head, "settings", REQUIRED)
    applications = {i: a for i in ("wsgi", "asgi") if (a := _application(head, i))}
    if not applications:
        head.fail("wsgi", "name the project's wsgi or asgi application (or both)")
    prepare = _commands(head, "prepare")
    env = _env(head, "env")
    name = head.str("name", root.name)
    head.done()
    scenarios, locustfiles, thresholds = _read_scenarios(top, file, root)
    top.done()
    return Project(name=name, settings=settings, applications=applications,
                   scenarios=scenarios, file=file, root=root, prepare=prepare, env=env,
                   locustfiles=locustfiles, thresholds=thresholds)


def _read_scenarios(top: Table, file: Path, root: Path) -> tuple[
        tuple[Scenario, ...], dict[str, Path], dict[str, Thresholds]]:
    table = top.table("scenarios", REQUIRED)
    if not isinstance(table, dict) or not table:
        top.fail("scenarios", "needs at least one [scenarios.<name>] table")
    scenarios, locustfiles, thresholds = [], {}, {}
    for name, data in table.items():
        t = Table(data, f"scenarios.{name}", file)
        if not _NAME.match(name):
            t.fail("", "a scenario's name is lowercase letters, digits, - and _")
        flavors = t.table("flavors", REQUIRED)
        if not isinstance(flavors, dict) or not flavors:
            t.fail("flavors", 'must be a table of flavor = "/path/", e.g. { sync = "/x/" }')
        for flavor, url in flavors.items():
            if not _NAME.match(flavor):
                t.fail(f"flavors.{flavor}", "a flavor's name is lowercase letters, digits,"
                                            " - and _")
            if not isinstance(url, str) or not url.startswith("/"):
                t.fail(f"flavors.{flavor}", f"must be a URL path starting with /, not"
                                            f" {url!r}")
        status = t.number("expect_status", 200, lo=100, hi=599, integer=True)
        locustfile = t.str("locustfile")
        if locustfile is not None:
            path = (root / locustfile).resolve()
            if not path.is_file():
                t.fail("locustfile", f"{path} is not a file")
            locustfiles[name] = path
        if t.has("thresholds"):
            thresholds[name] = read_thresholds(
                Table(t.table("thresholds"), f"scenarios.{name}.thresholds", file))
        scenarios.append(Scenario(
            name=name, summary=t.str("summary", ""), expect_status=status,
            flavors=tuple(Flavor(f, url, view="", shows=url) for f, url in flavors.items()),
            slo_p95_ms=t.number("slo_p95_ms", None, lo=0.001),
            typical_ms=float(t.number("typical_ms", 10.0, lo=0.001))))
        t.done()
    return tuple(scenarios), locustfiles, thresholds


def _dotted(t: Table, key: str, default: Any) -> str:
    value = t.str(key, default)
    if not _DOTTED.match(value):
        t.fail(key, f"must be a dotted module name, not {value!r}")
    return value


def _application(t: Table, key: str) -> str | None:
    value = t.str(key)
    if value is not None and not _APPLICATION.match(value):
        t.fail(key, f'must be "module:callable", e.g. "mysite.{key}:application",'
                    f" not {value!r}")
    return value


def _commands(t: Table, key: str) -> tuple[tuple[str, ...], ...]:
    value = t.table(key, [])
    if not isinstance(value, list) or not all(
            isinstance(c, list) and c and all(isinstance(a, str) for a in c) for c in value):
        t.fail(key, 'must be a list of commands, e.g. [["python", "manage.py", "migrate"]]')
    return tuple(tuple(c) for c in value)


def _env(t: Table, key: str) -> dict[str, str]:
    value = t.table(key, {})
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        t.fail(key, 'must be a table of strings, e.g. { SOME_FLAG = "1" }')
    return dict(value)
