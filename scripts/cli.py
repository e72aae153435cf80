"""`loadlab`: the command line, and the pipeline read top to bottom.

Each `cmd_*` parses its arguments into the matrix and a plan, hands observers from
render/ to the run, and returns an exit code. This is the only place that turns
errors (scripts/errors.py) and run statuses into exit codes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from . import options
from .analysis import compare, thresholds
from .analysis.calibration import floor_for
from .archive.folder import load_run
from .archive.runs import check_results_dir, list_runs
from .args import build_parser
from .config import Matrix, load_matrix
from .config.project import load_project
from .config.thresholds import merged, recorded
from .errors import (
    EXIT_FAILED,
    EXIT_FOR_STATUS,
    EXIT_GATE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    CompareError,
    Interrupted,
    LoadlabError,
    UsageError,
)
from .plan import Choices, build_plan
from .render.capacity import CapacitySummary
from .render.listing import print_listing
from .render.outputs import RunOutputs, emit_comparison
from .render.progress import Progress
from .render.thresholds import said, said_compare


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(args_list)
        # the command as given: recorded in the manifest; nothing below reads sys.argv
        args.argv = ["loadlab", *args_list]
        if args.command == "compare":
            return cmd_compare(args)
        if args.command == "prune":
            return cmd_prune(args)
        if args.command == "history":
            return cmd_history(args)
        if args.command == "init":
            return cmd_init(args)
        if args.command == "worker":
            return cmd_worker(args)
        matrix = load_matrix(args.matrix)
        return {"list": cmd_list, "bench": cmd_bench, "capacity": cmd_capacity, "ab": cmd_ab,
                "calibrate": cmd_calibrate, "serve": cmd_serve,
                "ui": cmd_ui, "fidelity": cmd_fidelity}[args.command](matrix, args)
    except LoadlabError as exc:
        print(_one_line(args_list, exc), file=sys.stderr)
        return exc.exit_code
    except (KeyboardInterrupt, Interrupted):
        return EXIT_INTERRUPTED


def _one_line(argv: list[str], exc: LoadlabError) -> str:
    """`loadlab <verb>: <what and where>`, unless the message already names itself."""
    text = str(exc)
    if text.startswith("loadlab"):
        return text
    verb = argv[0] if argv and argv[0] in {"compare", "fidelity"} else None
    return f"loadlab {verb}: {text}" if verb else f"loadlab: {text}"


def _recover(results: Path) -> None:
    """Seal runs left behind by a loadlab that was killed (one line each)."""
    from .run.recover import recover

    if results.is_dir():
        for done in recover(results, RunOutputs()):
            print(f"loadlab: {done.line}", file=sys.stderr)


def cmd_list(matrix: Matrix, args: argparse.Namespace) -> int:
    check_results_dir(args.results)
    _recover(args.results)
    runs = list_runs(args.results)
    project = load_project(args.project)
    data = {
        "project": project.name,
        "servers": [s.describe() for s in matrix.servers.values()],
        "scenarios": [
            {"name": s.name, "summary": s.summary, "uses_upstream": s.uses_upstream,
             "uses_db": s.uses_db, "query": s.query, "connection": s.connection,
             "interfaces": list(s.interfaces),
             "flavors": {f.name: f.path for f in s.flavors},
             "shows": {f.name: f.shows for f in s.flavors}}
            for s in project.scenarios
        ],
        "clients": [{"name": c.name, "sync": c.sync, "summary": c.summary}
                    for c in matrix.clients.values()],
        "profiles": [p.describe() for p in matrix.profiles.values()],
        "default_profile": matrix.default_profile,
        "runs": [r.describe() for r in runs],
    }
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print_listing(matrix, project, runs, args.results)
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    """Delete runs started more than --older-than days ago (only with --yes)."""
    from .archive.environment import owner_alive

    check_results_dir(args.results)
    cutoff = datetime.now(UTC) - timedelta(days=args.older_than)
    chosen = [r for r in list_runs(args.results)
              if r.started is not None and r.started < cutoff
              and (args.status is None or r.status in args.status)
              and not (r.status == "running" and owner_alive(r.owner))]
    verb = "deleting" if args.yes else "would delete"
    for r in chosen:
        print(f"{verb} {r.path} ({r.status}, {r.cells} cell(s), started"
              f" {r.started:%Y-%m-%d %H:%M})")
        if args.yes:
            shutil.rmtree(r.path)
    if not chosen:
        print(f"nothing to prune in {args.results}")
    elif not args.yes:
        print(f"dry run: {len(chosen)} run folder(s); add --yes to delete them")
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    from .analysis.history import history, read_runs
    from .render.history import emit

    found = read_runs(args.results)
    emit(history(found.runs, args.scenario, args.server), found.skipped, args.results,
         args.output)
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    """Write a starter loadlab.toml for a Django project; never overwrite one."""
    from .init import init_project

    done = init_project(args.folder)
    print(f"wrote {done.path} (settings {done.settings}; wsgi {done.wsgi or 'not found'};"
          f" asgi {done.asgi or 'not found'}; {len(done.routes)} URL pattern(s) listed)")
    print(f"edit its [scenarios], then: loadlab bench --project {done.path.parent}")
    return EXIT_OK


def cmd_bench(matrix: Matrix, args: argparse.Namespace) -> int:
    from .run.bench import Bench, Options

    if args.warmup is not None and args.warmup < 0:
        raise UsageError("loadlab bench: --warmup must be >= 0")
    project = options.project(args)
    plan = build_plan(matrix, Choices(
        profile=args.profile, servers=args.servers, scenarios=args.scenarios,
        flavors=args.flavors, clients=args.clients, users=args.users, rates=args.rate,
        middleware=args.middleware, connections=args.connections,
        arrival=args.arrival,
        duration_s=args.duration, max_duration_s=args.max_duration, warmup_s=args.warmup,
        trials=args.trials, pin=not args.no_pin, target=options.target(args),
        long_lived=options.long_lived(args),
    ), project)
    check_results_dir(args.results)
    database = options.database(matrix, args)
    options.check_connections(plan, database)
    check_results_dir(args.results, write=True)  # last: bad input writes nothing
    _recover(args.results)
    bench = Bench(matrix, plan, Options(
        results=args.results, label=args.label, command=args.argv,
        port=args.port, processes=args.processes, pin=not args.no_pin, database=database,
        why=args.why, thresholds=options.thresholds(matrix, project, plan),
        **options.workers(args),
    ), [Progress(quiet=args.quiet), RunOutputs()])
    return _gated("bench", bench.run(), bench.archive.thresholds)


def cmd_capacity(matrix: Matrix, args: argparse.Namespace) -> int:
    from .analysis.search import Objective
    from .config.longlived import objective_ms
    from .run.bench import Options
    from .run.capacity import CapacityRun

    if args.warmup is not None and args.warmup < 0:
        raise UsageError("loadlab capacity: --warmup must be >= 0")
    project = options.project(args)
    plan = build_plan(matrix, Choices(
        profile=args.profile, servers=args.servers, scenarios=args.scenarios,
        flavors=args.flavors, clients=args.clients, rates=(1.0,), duration_s=args.duration,
        middleware=args.middleware, connections=args.connections,
        warmup_s=args.warmup, trials=1, pin=not args.no_pin, target=options.target(args),
        long_lived=options.long_lived(args)), project)
    objectives = {}
    for scenario in {c.scenario.name: c.scenario for c in plan.cells}.values():
        name = scenario.name
        slo = args.slo_p95_ms or matrix.slo(name, objective_ms(
            scenario.connection, plan.query(scenario), scenario.slo_p95_ms))
        if slo is not None:
            objectives[name] = Objective.of(slo, matrix.rules, args.max_failure_ratio)
    if not objectives:
        raise UsageError("loadlab capacity: no chosen scenario has a latency objective;"
                         " give --slo-p95-ms MS, set [slo] in the matrix, or slo_p95_ms"
                         " in the project's scenario")
    plan = replace(plan, cells=tuple(c for c in plan.cells if c.scenario.name in objectives))
    check_results_dir(args.results)
    database = options.database(matrix, args)
    options.check_connections(plan, database)
    check_results_dir(args.results, write=True)  # last: bad input writes nothing
    _recover(args.results)
    run = CapacityRun(matrix, plan, Options(
        results=args.results, label=args.label or "capacity",
        command=args.argv, port=args.port,
        pin=not args.no_pin, database=database, why=args.why,
        thresholds=options.thresholds(matrix, project, plan), **options.workers(args)),
        objectives,
        [CapacitySummary(), Progress(quiet=args.quiet, verdict=False), RunOutputs()])
    status = run.run()
    if args.json:
        print(json.dumps(run.archive.capacity or [], indent=2))
    return _gated("capacity", status, run.archive.thresholds)


def _gated(verb: str, status: str, judged: dict | None) -> int:
    """The run's exit code, its thresholds said after the seal: 3 when everything was
    measured and a threshold failed (a run that could not measure stays 1)."""
    for line in said(verb, judged):
        print(line, file=sys.stderr)
    code = EXIT_FOR_STATUS[status]
    return EXIT_GATE if thresholds.failures(judged) and code == EXIT_OK else code


def cmd_ab(matrix: Matrix, args: argparse.Namespace) -> int:
    """0 head not called slower, 3 called slower (or a scenario's max_regression_pct
    broken), 1 a round that could not be measured."""
    from .render.ab import report
    from .run import ab

    request, choices, run = options.ab(args)
    _recover(args.results)
    done = ab.run_ab(matrix, request, choices, run,
                     [Progress(quiet=args.quiet, verdict=False)], RunOutputs())
    failing = ab.gate(done, args.fail_on_regression)
    report(done.folder, done.data, failing)
    return EXIT_FAILED if done.comparison is None else EXIT_GATE if failing else EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    """Join cell after cell of a run with --remote-workers; 130 after Ctrl-C."""
    from .load.worker import parse_master, serve_cells

    host, port = parse_master(args.master, args.allow_remote)
    done = serve_cells(host, port, args.idle, args.cells,
                       lambda text: print(f"loadlab worker: {text}", flush=True))
    return EXIT_OK if args.cells is None or done == args.cells else EXIT_FAILED


def cmd_serve(matrix: Matrix, args: argparse.Namespace) -> int:
    from .run.serve import serve

    project = options.project(args)
    spec = options.servable(matrix, args.server, project)
    client = options.client(matrix, args.client)
    options.port_free(args.port, "--port", "serve")
    if project.builtin:
        options.port_free(args.upstream_port, "--upstream-port", "serve")
    status = serve(matrix, spec, client, args.port, args.upstream_port,
                   options.database(matrix, args), project)
    return EXIT_INTERRUPTED if status == "stopped" else EXIT_FAILED


def cmd_ui(matrix: Matrix, args: argparse.Namespace) -> int:
    from .run.ui import UiOptions, ui

    project = options.project(args)
    known = {s.name: s for s in project.scenarios}
    name = args.scenario or ("weather" if project.builtin else project.scenarios[0].name)
    if name not in known:
        raise UsageError(f"loadlab ui: unknown scenario {name!r} (known:"
                         f" {', '.join(known)})")
    scenario = known[name]
    if not 0 <= args.warmup < 3600:
        raise UsageError("loadlab ui: --warmup must be 0 to 3600 seconds")
    check_results_dir(args.results)
    spec = options.servable(matrix, args.server, project)
    client = options.client(matrix, args.client)
    database = options.database(matrix, args)
    options.port_free(args.web_port, "--web-port", "ui")
    options.port_free(args.port, "--port", "ui")
    check_results_dir(args.results, write=True)  # last: bad input writes nothing
    _recover(args.results)
    status = ui(matrix, UiOptions(
        spec=spec, scenario=scenario, client=client, results=args.results,
        command=args.argv, port=args.port, web_port=args.web_port, label=args.label,
        database=database, project=project, warmup_s=args.warmup,
        probe_first=not args.no_probe, why=args.why), RunOutputs())
    return {"stopped": EXIT_INTERRUPTED, "complete": EXIT_OK}.get(status, EXIT_FAILED)


def cmd_calibrate(matrix: Matrix, args: argparse.Namespace) -> int:
    """Three runs, then the floors: exit 0 with calibration.json written."""
    from .render.calibration import print_calibration
    from .run.bench import Options
    from .run.calibrate import plan_for, run_calibration

    if args.warmup is not None and args.warmup < 0:
        raise UsageError("loadlab calibrate: --warmup must be >= 0")
    plan = plan_for(matrix, Choices(
        profile=args.profile, servers=args.servers, scenarios=args.scenarios,
        flavors=args.flavors, duration_s=args.duration, max_duration_s=args.max_duration,
        warmup_s=args.warmup, pin=not args.no_pin))
    options = Options(results=args.results, command=args.argv, pin=not args.no_pin)
    check_results_dir(args.results, write=True)  # last: bad input writes nothing
    _recover(args.results)
    done = run_calibration(matrix, plan, options, args.slowdown,
                           [Progress(quiet=args.quiet, verdict=False), RunOutputs()])
    print_calibration(done.result, done.file)
    return EXIT_OK


def cmd_fidelity(matrix: Matrix, args: argparse.Namespace) -> int:
    from . import fidelity

    if args.warmup is not None and args.warmup < 0:
        raise UsageError("loadlab fidelity: --warmup must be >= 0")
    servers = args.servers or fidelity.DEFAULT_SERVERS
    for name in servers:
        options.installed(matrix, name)
    if args.output is not None and args.output.is_dir():
        raise UsageError(f"loadlab fidelity: {args.output}: -o must be a file, not a folder")
    fidelity.wrk_path()
    say = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr))
    try:
        result = fidelity.run_fidelity(
            matrix, servers=servers, users=args.users or fidelity.DEFAULT_USERS,
            connections=args.connections or fidelity.DEFAULT_CONNECTIONS,
            duration_s=args.duration or fidelity.DEFAULT_DURATION_S,
            warmup_s=fidelity.DEFAULT_WARMUP_S if args.warmup is None else args.warmup,
            trials=args.trials, processes=args.processes, pin=not args.no_pin,
            keep=args.keep, note=say)
    except Interrupted as exc:
        print(f"loadlab fidelity: interrupted by {exc}; every process stopped",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    data = result.describe()
    if args.output is not None:
        args.output.write_text(json.dumps(data, indent=2) + "\n")
    print(json.dumps(data, indent=2) if args.json else fidelity.render(result))
    return EXIT_FAILED if result.failed else EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    """`loadlab compare`: 0 ok, 3 a significant regression beyond the gate (PCT, or a
    scenario's max_regression_pct), 2 bad input. Without `-o`, text goes to stdout and
    html to <RUN>/report.html (one run) or ./compare-<A>--<B>.html (two runs)."""
    ab = Path(args.run_a)
    if args.run_b is None and (ab / "ab.json").is_file():  # `loadlab ab`'s: base vs head
        args.run_a, args.run_b = str(ab / "base"), str(ab / "head")
    if args.fail_on_regression is not None and args.run_b is None:
        raise CompareError("--fail-on-regression needs two runs: RUN_A RUN_B")
    a = load_run(args.run_a)
    effect = floor_for(a)  # measured by `loadlab calibrate`, or the default, said so
    b = load_run(args.run_b) if args.run_b is not None else None
    project = load_project(args.project) if args.project is not None else None
    if project is not None:
        options.check_project(project, a, b)
    comparison = compare.within(a, effect) if b is None else compare.between(a, b, effect)
    try:
        emit_comparison(comparison, a, b, args.format, args.output)
    except OSError as exc:
        raise UsageError(f"{exc.filename or args.output}: {exc.strerror}") from None
    if args.fail_on_regression is None or not isinstance(comparison, compare.Between):
        return EXIT_OK
    pct, metric = args.fail_on_regression, args.metric
    # each scenario's max_regression_pct (--project's loadlab.toml over what B recorded)
    gates = merged(recorded(b.thresholds if b else None), project.thresholds if project else {})
    failing = thresholds.check_between(comparison, gates, metric, default_pct=pct)
    own = any(t.max_regression_pct is not None for t in gates.values())
    print(*said_compare(failing, pct, metric, own, comparison.method), sep="\n",
          file=sys.stderr)
    return EXIT_GATE if failing else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
