"""`--target URL`: an app that is already running, measured instead of servers loadlab
starts. Pure checks: the URL's shape, and loopback unless the user says otherwise.

A target is not loadlab's to restart: every cell meets the same server (no fresh server
per cell), and its CPU, memory and threads are not visible from here. The run says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..errors import UsageError
from ..paths import is_loopback
from .model import ServerSpec

TARGET_SERVER = "target"  # the server axis of a target run has this one name


@dataclass(frozen=True)
class Target:
    url: str  # scheme://host[:port], no trailing slash
    host: str
    remote: bool

    def server(self) -> ServerSpec:
        """The one "server" of a target run: what it is, loadlab cannot know."""
        return ServerSpec(name=TARGET_SERVER, interface="unknown", module="", args=(),
                          workers=0, concurrency=0, model="unknown",
                          summary=f"an app already running at {self.url}")

    def describe(self) -> dict[str, Any]:
        return {"url": self.url, "remote": self.remote, "fresh_server_per_cell": False,
                "server_resources": "unknown: not a process loadlab started"}


def check_target(url: str, allow_remote: bool = False) -> Target:
    """The target's base URL, checked before any request is sent; UsageError (exit 2)
    for a malformed URL, or a host off this machine without --allow-remote."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"loadlab: --target {url}: expected http://HOST[:PORT] or https://...")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise UsageError(f"loadlab: --target {url}: give the app's root URL; the scenarios'"
                         " paths are appended to it")
    try:
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise UsageError(f"loadlab: --target {url}: bad port") from None
    remote = not is_loopback(parts.hostname)
    if remote and not allow_remote:
        raise UsageError(f"loadlab: --target {url}: {parts.hostname} is not this machine;"
                         " pass --allow-remote to send load to it")
    return Target(f"{parts.scheme}://{parts.netloc}", parts.hostname, remote)
