"""`loadlab init [DIR]`: a starter `loadlab.toml` for a team's own Django project.

Writing the file by hand means finding the settings module, the wsgi/asgi applications
and the URL paths worth measuring; init finds them (the paths from Django's own resolver,
in a child process so the project's settings never load into loadlab) and writes them as
a file to edit. It never overwrites one: the file is the team's once it exists.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

FILE_NAME = "loadlab.toml"
_SETTINGS = re.compile(r"""os\.environ\.setdefault\(\s*(['"])DJANGO_SETTINGS_MODULE\1\s*,"""
                       r"""\s*(['"])([A-Za-z_][\w.]*)\2""")
_MARKER = "--- loadlab init: url patterns ---"
# Runs in the child: load the settings, walk the resolver, print the patterns as JSON.
_CODE = f"""
import json, sys
import django
django.setup()
from django.urls import URLPattern, URLResolver, get_resolver

def walk(patterns, prefix):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)

sys.stdout.write("\\n{_MARKER}\\n" + json.dumps(list(walk(get_resolver().url_patterns, ""))))
"""


@dataclass(frozen=True)
class Initialized:
    path: Path  # the loadlab.toml written
    settings: str  # e.g. "shop.settings"
    wsgi: str | None  # e.g. "shop.wsgi:application"; None: the project has no wsgi module
    asgi: str | None
    routes: tuple[str, ...]  # URL patterns found, e.g. ("/orders/", "/orders/async/")


def init_project(folder: Path, python: str = sys.executable,
                 timeout_s: float = 60.0) -> Initialized:
    """Write `folder/loadlab.toml` for the Django project there; ConfigError if it cannot."""
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such folder")
    manage = folder / "manage.py"
    if not manage.is_file():
        raise ConfigError(f"{folder}: no manage.py there; is it a Django project's folder?")
    found = _SETTINGS.search(manage.read_text(encoding="utf-8", errors="replace"))
    if not found:
        raise ConfigError(f"{manage}: no os.environ.setdefault(\"DJANGO_SETTINGS_MODULE\","
                          f" ...) naming the settings module")
    settings = found.group(3)
    target = folder / FILE_NAME
    if target.exists():
        raise ConfigError(f"{target} already exists; loadlab init never overwrites it")
    wsgi, asgi = (_application(folder, settings, kind) for kind in ("wsgi", "asgi"))
    routes = _routes(folder, settings, python, timeout_s)
    _write_new(target, _render(settings, wsgi, asgi, routes))
    return Initialized(target, settings, wsgi, asgi, routes)


def _application(folder: Path, settings: str, kind: str) -> str | None:
    """`<pkg>.wsgi:application` for the nearest package (the settings' own first) with a
    `wsgi.py` (or `asgi.py`): `config.settings.prod` finds `config/wsgi.py` too."""
    parts = settings.split(".")[:-1]
    for n in range(len(parts), -1, -1):
        if folder.joinpath(*parts[:n], f"{kind}.py").is_file():
            return ".".join([*parts[:n], kind]) + ":application"
    return None


def _routes(folder: Path, settings: str, python: str, timeout_s: float) -> tuple[str, ...]:
    """The project's URL patterns, each with a leading "/", from a child's resolver."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE=settings)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(folder), env.get("PYTHONPATH")) if p)
    failed = f"{folder}: settings {settings} do not load"
    try:
        child = subprocess.run([python, "-c", _CODE], cwd=folder, env=env, text=True,
                               errors="replace", capture_output=True,
                               stdin=subprocess.DEVNULL, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{failed} within {timeout_s:g}s") from None
    except OSError as exc:
        raise ConfigError(f"{failed}: cannot run {python} ({exc})") from None
    last = next((ln.strip() for ln in reversed(child.stderr.splitlines()) if ln.strip()),
                f"the child exited with {child.returncode}")
    _, marker, listed = child.stdout.rpartition(f"\n{_MARKER}\n")
    if child.returncode != 0 or not marker:
        raise ConfigError(f"{failed}: {last}")
    try:
        patterns = json.loads(listed)
    except ValueError:
        raise ConfigError(f"{failed}: unreadable URL patterns {listed[:80]!r}") from None
    return tuple(dict.fromkeys("/" + p.lstrip("/") for p in patterns))


def _render(settings: str, wsgi: str | None, asgi: str | None, routes: tuple[str, ...]) -> str:
    pkg = settings.rpartition(".")[0]
    apps = [f"{kind} = {_str(app)}" if app else
            f'# {kind} = "{pkg + "." if pkg else ""}{kind}:application"   # not found: name yours'
            for kind, app in (("wsgi", wsgi), ("asgi", asgi))]
    sync = routes[0] if routes else "/"
    async_ = next((r for r in routes if "async" in r), None)
    flavors = f"sync = {_str(sync)}" + (f", async = {_str(async_)}" if async_ else "")
    lines = [
        "# loadlab.toml: what loadlab measures in this project"
        " (written by `loadlab init`; edit it).",
        "# `loadlab bench --project .` serves it under every server in loadlab's matrix.",
        "", "[project]", 'root = "."', f"settings = {_str(settings)}", *apps,
        '# prepare = [["python", "manage.py", "migrate", "--noinput"]]'
        "   # run once per run, before any server",
        '# env = { SOME_FLAG = "1" }', "",
        "# One scenario: the same page as a sync and an async view. Flavor names are free;",
        "# `sync` is the baseline the others are compared with.",
        "[scenarios.first]", 'summary = "replace with what this page does"',
        f"flavors = {{ {flavors} }}",
        *([] if async_ else ['# add the async flavor\'s path: async = "/your/async/view/"']),
        "# expect_status = 200",
        '# locustfile = "loadtests/first.py"   # optional: your own user classes, one per flavor',
        "", "# URL patterns of this project (from Django's resolver), as suggestions:",
        *[f"#   {_printable(r)}" for r in routes or ["(none found)"]],
    ]
    return "\n".join(lines) + "\n"


def _printable(text: str) -> str:
    """Control characters (which TOML forbids raw, even in comments) as \\uXXXX."""
    return re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\u{ord(m.group()):04x}", text)


def _str(text: str) -> str:
    """A TOML basic string."""
    return '"' + _printable(text.replace("\\", "\\\\").replace('"', '\\"')) + '"'


def _write_new(target: Path, text: str) -> None:
    """Write `target` whole or not at all, and never over a file that exists (even one
    made since the check): a temporary file in the same folder, hard-linked into place."""
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        with temp.open("x", encoding="utf-8") as out:
            out.write(text)
        try:
            os.link(temp, target)
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links: exclusive creation still holds
            with target.open("x", encoding="utf-8") as out:
                out.write(text)
    except FileExistsError:
        raise ConfigError(f"{target} already exists; loadlab init never overwrites it") from None
    finally:
        temp.unlink(missing_ok=True)
