"""From what Locust and the sampler saw to one CellRecord, with the run's flag rules.

`bench` and the web UI archive cells through this, so a cell is recorded and
flagged the same way however it was driven.
"""

from __future__ import annotations

from pathlib import Path

from ..analysis.bounds import beats
from ..analysis.search import held_schedule
from ..archive.folder import write_json
from ..archive.records import CellRecord
from ..cells import CellKey
from ..config import Rules, ServerSpec
from ..proc import machine
from ..proc.sampler import STOLEN, Sampler
from ..services import serverlog
from ..stories import SCENARIOS_BY_NAME
from .loadgen import Measurement
from .transport import Transport


def new_record(key: CellKey, server: ServerSpec, trial: int,
               users: int | None = None) -> CellRecord:
    """An empty record for the cell `key`, trial `trial` (status ok until it fails);
    `users` is the open model's concurrency cap (the key's users otherwise)."""
    return CellRecord(server=key.server, interface=server.interface, model=server.model,
                      scenario=key.scenario,
                      flavor=key.flavor, client=key.client,
                      users=key.users if users is None else users, trial=trial,
                      path=key.path(trial), rate=key.rate, middleware=key.middleware,
                      connections=key.connections, neighbours=key.neighbours)


def fill(record: CellRecord, m: Measurement, cell_dir: Path, rules: Rules,
         sampler: Sampler | None = None, processes: int = 1) -> None:
    """Numbers, resources and flags into `record`; latency.json into `cell_dir`.
    `processes`: how many cores the generator's processes can fill (generator-hot)."""
    record.requests = m.requests + m.failures
    record.failures = m.failures
    record.rps = round(m.requests / m.duration_s, 2) if m.duration_s else 0.0
    record.latency_ms = m.latency_ms
    record.rps_per_second = m.rps_per_second
    record.latency_ms_per_second = m.latency_ms_per_second
    record.duration_s = m.duration_s
    record.stable = m.stable
    if m.stable is False:
        record.warnings.append("unstable")
    write_json(cell_dir / "latency.json", m.to_json())
    if sampler is not None:
        _resources(record, sampler, m.window, rules, processes)
    if m.open is not None:
        _open(record, m, rules)
    if record.requests and record.failure_ratio > rules.high_failure_ratio:
        record.warnings.append("high-failure-ratio")
    if record.requests < rules.min_requests:
        record.warnings.append("few-requests")
    found = serverlog.exceptions(cell_dir / "server.log", top=None)
    record.server_errors = [[line, n] for line, n in found[:serverlog.TOP]]
    record.db_connection_errors = serverlog.connection_errors(found)


def stack(record: CellRecord, server: ServerSpec, seen: Transport) -> None:
    """The server's stack and its transport check into the record; `nagle` when the
    check saw the delayed-ACK stall. The loop only as the running server reported it
    (None if the check failed): a declared loop is not a measured one."""
    record.loop = seen.loop
    record.http = server.http
    record.transport_p50_ms = seen.p50_ms
    if seen.nagle:
        record.warnings.append("nagle")


def _open(record: CellRecord, m: Measurement, rules: Rules) -> None:
    """Corrected latency becomes the cell's latency; a missed schedule is flagged, and
    blamed on the generator when its CPU was hot, else on the server."""
    assert m.open is not None
    record.latency_raw_ms = record.latency_ms
    record.latency_ms = m.latency_corrected_ms
    record.latency = "corrected"
    record.arrival = m.open.arrival
    record.achieved_rps = round(m.achieved_rps, 2)
    record.late, record.unsent = m.open.late, m.open.unsent
    record.start_lag_p99_ms = m.open.start_lag_p99_ms
    record.offered_per_second = m.open.offered_per_second
    if not held_schedule(record, rules.min_achieved_ratio, rules.max_start_lag_ms):
        record.warnings.append("generator-behind" if "generator-hot" in record.warnings
                               else "overloaded")


def _resources(record: CellRecord, sampler: Sampler, window: tuple[float, float],
               rules: Rules, processes: int) -> None:
    server = sampler.summary("server", *window)
    generator = sampler.summary("generator", *window)
    upstream = sampler.summary("upstream", *window)
    if server:
        record.server_cpu_pct = server["cpu_pct"]
        record.server_rss_mb = server["rss_mb"]
        record.server_threads = int(server["threads"])
    if generator:
        record.generator_cpu_pct = generator["cpu_pct"]
    if upstream and _calls_upstream(record.scenario):
        record.upstream_cpu_pct = upstream["cpu_pct"]
    stolen = sampler.summary(STOLEN, *window)
    if stolen:
        record.steal_pct = round(stolen["cpu_pct"] / machine.cores(), 1)
        if record.steal_pct >= rules.stolen_pct:
            record.warnings.append("stolen")
    record.warnings += resource_flags(generator, upstream, record.scenario, rules, processes)


def resource_flags(generator: dict[str, float] | None, upstream: dict[str, float] | None,
                   scenario: str, rules: Rules, processes: int = 1) -> list[str]:
    """The flags the sampled CPU alone raises (a cell's, or the web UI's live second):
    `generator-hot` past `hot_cpu_pct` per core its processes can fill, `upstream-hot`
    when the stand-in a story calls is that busy."""
    flags = []
    if generator and generator["cpu_pct"] >= rules.hot_cpu_pct * processes:
        flags.append("generator-hot")
    if upstream and _calls_upstream(scenario) and upstream["cpu_pct"] >= rules.hot_cpu_pct:
        flags.append("upstream-hot")
    return flags


def _calls_upstream(scenario: str) -> bool:
    story = SCENARIOS_BY_NAME.get(scenario)  # None: a team's scenario
    return story is not None and story.uses_upstream


def bounds(record: CellRecord, unloaded_ms: float | None, service_ms: float | None,
           concurrency: int | None, rules: Rules) -> None:
    """The closed-loop cell's asymptotic bounds, and `load-bound` when it sat at
    users / R0 with its server's CPU to spare (its rps is then users / latency);
    `bound-beaten` when the measured rps passed either bound beyond noise."""
    if record.rate is not None or not unloaded_ms:
        return
    record.unloaded_ms = unloaded_ms
    record.bound_users_rps = round(record.users / (unloaded_ms / 1000), 1)
    if concurrency and service_ms:
        record.service_ms = service_ms
        record.bound_concurrency_rps = round(concurrency / (service_ms / 1000), 1)
    users_bound = record.bound_users_rps
    server_binds = (record.bound_concurrency_rps is not None  # then it is saturated
                    and record.bound_concurrency_rps <= users_bound / rules.load_bound_ratio)
    if (record.status == "ok" and not server_binds
            and record.rps >= rules.load_bound_ratio * record.bound_users_rps
            and record.server_cpu_pct is not None  # unknown (a --target): no call
            and record.server_cpu_pct < rules.load_bound_cpu_pct):
        record.warnings.append("load-bound")
    beaten = beats(record.rps, record.bound_users_rps, record.users, record.duration_s)
    if record.bound_concurrency_rps is not None and concurrency:
        beaten = beaten or beats(record.rps, record.bound_concurrency_rps,
                                 min(concurrency, record.users), record.duration_s)
    if record.status == "ok" and beaten:
        record.warnings.append("bound-beaten")
