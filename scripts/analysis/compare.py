"""Comparisons of run folders, as data: `within` one run, `between` two runs.

Nothing here prints; the renderers in scripts/render turn these dataclasses into
text, JSON or HTML. Trials are folded by fold.py, the one policy. A flagged or
failed cell never wins silently: its flags travel with its row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..archive.folder import Run
from ..archive.records import CellRecord
from ..cells import CellKey
from ..errors import CompareError
from ..stories import story_rank, sync_counterpart
from . import capacity, stats, trust
from .answer import Answer, answers
from .fold import METRICS, Folded, fold
from .rows import Row, make_row

GATE_METRICS = ("rps", "p95", "p99")

# Manifest entries whose difference can explain a difference in numbers.
SETTINGS = ("versions", "host", "profile", "upstream", "pinning", "git.commit", "git.dirty")


@dataclass
class SyncAsync:
    """One server, one async flavor against the sync flavor (A = sync, B = async)."""

    server: str
    async_flavor: str
    row: Row
    sync_flavor: str = "sync"  # its counterpart: sync-list for async-list

    @property
    def winner(self) -> str | None:
        if self.row.better("rps"):
            return self.async_flavor
        if self.row.worse("rps"):
            return self.sync_flavor
        return None


@dataclass
class ServerRace:
    """One flavor (and client, load) across servers; rows are B = server vs A = best."""

    flavor: str
    client: str | None
    users: int
    best: str | None
    best_side: Folded | None
    rows: list[Row]
    failed: list[str] = field(default_factory=list)
    rate: float | None = None  # the open model's offered rate (users is then 0)
    middleware: str | None = None  # the stack, None for the baseline
    connections: str | None = None  # the connection setting, None for [database]'s

    @property
    def best_flags(self) -> list[str]:
        return self.best_side.flags if self.best_side else []

    @property
    def label(self) -> str:
        return CellKey("", "", self.flavor, self.client, self.users, self.rate,
                       self.middleware, self.connections).variant


@dataclass
class ScenarioWithin:
    scenario: str
    sync_async: list[SyncAsync]
    servers: list[ServerRace]


@dataclass
class Within:
    """Inside one run: sync against async, and servers against each other."""

    run: str
    method: str
    scenarios: list[ScenarioWithin]
    flags: list[str]  # "<cell label>: <flag>" for every flagged or failed cell
    min_effect: stats.Floor = field(default_factory=stats.Floor)
    notes: list[str] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)  # the answer first, per scenario


@dataclass
class SettingDiff:
    setting: str
    a: str
    b: str


@dataclass
class Between:
    """Run B against run A on every cell key they share."""

    run_a: str
    run_b: str
    method: str
    rows: list[Row]
    geomean: dict[str, float | None]  # metric -> geometric mean of B/A ratios
    only_a: list[str]
    only_b: list[str]
    settings: list[SettingDiff]
    min_effect: stats.Floor = field(default_factory=stats.Floor)
    notes: list[str] = field(default_factory=list)
    capacity: list[capacity.CapacityDelta] = field(default_factory=list)  # capacity runs

    @property
    def held(self) -> dict[str, list[str]]:
        """Rows no call was made on, by reason (analysis/trust.py); a moved machine,
        which holds every row, is a note instead."""
        out: dict[str, list[str]] = {}
        for row in self.rows:
            if row.held and row.held not in self.notes:
                out.setdefault(row.held, []).append(row.label)
        return out


def _sort_key(key: CellKey) -> tuple:
    return key.sort_key()


def _scenario_first(key: CellKey) -> tuple:
    """Rows grouped by scenario, then server: how a reader scans a comparison."""
    return key.sort_key(scenario_first=True)


def _cell_flags(run: Run) -> list[str]:
    groups = run.by_key()
    return [
        f"{key.label}: {', '.join(flags)}"
        for key in sorted(groups, key=_scenario_first)
        if (flags := fold(groups[key]).flags)
    ]


# -- inside one run --------------------------------------------------------------


def within(run: Run, min_effect: stats.Floor | float | None = None) -> Within:
    """Per scenario: sync vs each async flavor on each server; servers per flavor. The
    floor defaults to compare's own (this lab's A/A floors), as between's does."""
    min_effect = stats.Floor() if min_effect is None else stats.as_floor(min_effect)
    groups = run.by_key()
    scenarios = sorted({k.scenario for k in groups}, key=lambda s: (story_rank(s), s))
    out = []
    for scenario in scenarios:
        keys = sorted((k for k in groups if k.scenario == scenario), key=_sort_key)
        out.append(ScenarioWithin(
            scenario,
            _sync_async(keys, groups, min_effect),
            _server_races(keys, groups, min_effect),
        ))
    rows = [p.row for sc in out for p in sc.sync_async] + [
        r for sc in out for race in sc.servers for r in race.rows]
    return Within(run.name, stats.describe_method(min_effect), out, _cell_flags(run),
                  min_effect, _notes(rows) + target_notes(run.manifest),
                  answers(run.cells, min_effect))


def target_notes(manifest: dict[str, Any]) -> list[str]:
    """A run against an app already running (--target) measured that app as it was."""
    target = (manifest.get("plan") or {}).get("target")
    if not target:
        return []
    return [f"Measured {target['url']}, an app already running (--target): every cell met"
            " the same server, not a fresh one, and its CPU, memory and threads are unknown,"
            " so no row is flagged load-bound."]


SINGLE_TRIAL_NOTE = (
    "Some rows rest on fewer than {n} trials: per-second samples cannot see run-to-run "
    "noise (10-25% on a shared machine), so treat calls under ~25% there as hints and "
    "repeat with --trials {n} or more."
)


def _notes(rows: Sequence[Row]) -> list[str]:
    """Cautions the reader needs before trusting the calls."""
    if any(r.verdicts["rps"].level == stats.LEVEL_SECONDS for r in rows):
        return [SINGLE_TRIAL_NOTE.format(n=stats.MIN_TRIALS)]
    return []


def _sync_async(keys: list[CellKey], groups: dict[CellKey, list[CellRecord]],
                min_effect: stats.Floor) -> list[SyncAsync]:
    out = []
    for key in keys:
        twin = sync_counterpart(key.flavor, {k.flavor for k in keys
                                             if k.server == key.server})
        if twin is None:
            continue
        sync_key = key.with_flavor(twin)
        note = ""
        if sync_key not in groups:
            others = [k for k in keys if k.server == key.server and k.flavor == twin
                      and k.setting == key.setting]
            if not others:
                continue
            sync_key = others[0]
            note = f"no {twin} cell with client {key.client}; {twin} uses {sync_key.client}"
        label = (f"{key.server} {key.flavor} vs {twin}{key.client_part}{key.stack_part}"
                 f" {key.load}")
        row = make_row(label, key, groups[sync_key], groups[key], min_effect, note)
        out.append(SyncAsync(key.server, key.flavor, row, twin))
    return out


def _server_races(keys: list[CellKey], groups: dict[CellKey, list[CellRecord]],
                  min_effect: stats.Floor) -> list[ServerRace]:
    by_flavor: dict[CellKey, list[CellKey]] = {}
    for key in keys:
        by_flavor.setdefault(replace(key, server=""), []).append(key)
    out = []
    for ident, fkeys in sorted(by_flavor.items(), key=lambda i: i[0].sort_key()):
        race = (ident.flavor, ident.client, ident.users)
        more = {"rate": ident.rate, "middleware": ident.middleware,
                "connections": ident.connections}
        sides = {k: fold(groups[k]) for k in fkeys}
        alive = [k for k in fkeys if not sides[k].failed and sides[k].values["rps"] is not None]
        failed = [k.server for k in fkeys if k not in alive]
        if not alive:
            out.append(ServerRace(*race, None, None, [], failed, **more))
            continue
        best = max(alive, key=lambda k: sides[k].values["rps"] or 0.0)
        rows = [
            make_row(k.server, k, groups[best], groups[k], min_effect)
            for k in sorted(alive, key=lambda k: -(sides[k].values["rps"] or 0.0))
            if k != best
        ]
        out.append(ServerRace(*race, best.server, sides[best], rows, failed, **more))
    return out


# -- two runs --------------------------------------------------------------------


def between(run_a: Run, run_b: Run,
            min_effect: stats.Floor | float | None = None) -> Between:
    """B against A on every shared cell key; raises CompareError if none is shared.
    The floor defaults to compare's own (this lab's A/A floors)."""
    min_effect = stats.Floor() if min_effect is None else stats.as_floor(min_effect)
    ga, gb = run_a.by_key(), run_b.by_key()
    shared = sorted(set(ga) & set(gb), key=_scenario_first)
    if not shared:
        raise CompareError(
            f"{run_a.path} and {run_b.path}: no cell in common"
            f" ({len(ga)} vs {len(gb)} cells; different servers, scenarios, clients or users?)"
        )
    moved = trust.machine_moved(run_a.manifest, run_b.manifest)
    rows = [trust.guard(make_row(k.label, k, ga[k], gb[k], min_effect), min_effect, moved)
            for k in shared]
    geomean = {
        m: stats.geometric_mean(
            [r.verdicts[m].ratio for r in rows if not r.a.failed and not r.b.failed]
        )
        for m in METRICS
    }
    return Between(
        run_a=run_a.name,
        run_b=run_b.name,
        method=stats.describe_method(min_effect) + " " + trust.RUN_LEVEL_METHOD,
        rows=rows,
        geomean=geomean,
        only_a=[k.label for k in sorted(set(ga) - set(gb), key=_sort_key)],
        only_b=[k.label for k in sorted(set(gb) - set(ga), key=_sort_key)],
        settings=setting_diffs(run_a.manifest, run_b.manifest),
        min_effect=min_effect,
        notes=_notes(rows) + ([moved] if moved else []),
        capacity=capacity.between(run_a.capacity or [], run_b.capacity or []),
    )


def _flatten(prefix: str, value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for k, v in value.items():
            out.update(_flatten(f"{prefix}.{k}", v))
        return out
    return {prefix: "" if value is None else str(value)}


def setting_diffs(manifest_a: dict[str, Any], manifest_b: dict[str, Any]) -> list[SettingDiff]:
    """The manifest settings that differ and could explain a difference in numbers."""
    def pick(manifest: dict[str, Any]) -> dict[str, str]:
        out: dict[str, str] = {}
        for name in SETTINGS:
            value: Any = manifest
            for part in name.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if value is not None:
                out.update(_flatten(name, value))
        return out

    fa, fb = pick(manifest_a), pick(manifest_b)
    return [
        SettingDiff(k, fa.get(k, "-"), fb.get(k, "-"))
        for k in sorted(set(fa) | set(fb))
        if fa.get(k) != fb.get(k)
    ]


def regressions(comparison: Between, pct: float, metric: str = "rps") -> list[Row]:
    """Rows where B is significantly worse than A by more than `pct` percent,
    or where B failed a cell that A ran. This is what a CI gate fails on."""
    if metric not in GATE_METRICS:
        raise ValueError(f"metric must be one of {', '.join(GATE_METRICS)}, not {metric!r}")
    out = []
    for row in comparison.rows:
        if row.b.failed and not row.a.failed:
            out.append(row)
            continue
        delta = row.delta(metric)
        if row.worse(metric) and delta is not None and abs(delta) > pct:
            out.append(row)
    return out
