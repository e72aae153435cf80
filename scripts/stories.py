"""The one seam between the harness and the app it measures: the stories as data.

Everything the harness knows of loadlab's own app comes through here: the scenario
catalog (app/scenarios.py: names, flavors, paths, objectives, the literature's order),
the middleware stacks a run can switch, the upstream stand-in's fault settings and
the database URL schemes. All of it is plain data: reading it loads no Django settings
and starts nothing. No other module of scripts/ imports `app`.
"""

from __future__ import annotations

from app.dburl import POSTGRES_SCHEMES
from app.middleware import BASELINE, STACKS
from app.scenarios import (
    RUNTIME_PATH,
    SCENARIOS,
    SCENARIOS_BY_NAME,
    Flavor,
    Scenario,
    class_name,
    get,
    story_rank,
    sync_counterpart,
)
from app.upstream import MAX_MS as UPSTREAM_MAX_MS
from app.upstream import Faults

__all__ = [
    "BASELINE", "POSTGRES_SCHEMES", "RUNTIME_PATH", "SCENARIOS", "SCENARIOS_BY_NAME",
    "STACKS", "UPSTREAM_MAX_MS", "Faults", "Flavor", "Scenario", "class_name", "get",
    "story_rank", "sync_counterpart",
]
