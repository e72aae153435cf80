"""Command-line arguments turned into checked choices: the project, the servers, the
target, the workers, the database. Each problem is one line and exit 2 (UsageError),
found before anything starts."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from .archive.folder import Run
from .config import ConfigError, Matrix, ServerSpec
from .config.longlived import LongLived
from .config.project import Project, load_project
from .config.target import Target, check_target
from .config.thresholds import Thresholds, merged
from .errors import CompareError, UsageError
from .paths import is_loopback
from .plan import Choices, Plan

if TYPE_CHECKING:
    from .run.ab import Request as AbRequest
    from .run.bench import Options
    from .services.database import Database


def project(args: argparse.Namespace) -> Project:
    """--project, read and checked: its settings load and its applications import."""
    chosen = load_project(args.project)
    if not chosen.builtin and not getattr(args, "target", None):  # served by loadlab
        from .services.project import check_imports

        check_imports(chosen)
    return chosen


def long_lived(args: argparse.Namespace) -> LongLived:
    """--events, --interval-ms, --size-kb, --rate-kbps, --disconnect, --neighbour-users:
    the long-lived stories' parameters, each checked against its range."""
    return LongLived(**{name: getattr(args, name) for name in
                        ("events", "interval_ms", "size_kb", "rate_kbps")},
                     disconnect=args.disconnect or 0.0,
                     neighbour_users=getattr(args, "neighbour_users", 0) or 0)


def servable(matrix: Matrix, name: str, project: Project) -> ServerSpec:
    """An installed server that can serve the project (its interface's application)."""
    spec = installed(matrix, name)
    if project.application(spec.interface) is None:
        raise ConfigError(f"project {project.name} names no {spec.interface} application:"
                          f" server {name!r} cannot serve it")
    return spec


def installed(matrix: Matrix, name: str) -> ServerSpec:
    """The server, if its packages are importable: else exit 2 before anything starts."""
    spec = matrix.server(name)
    if not spec.available:
        raise ConfigError(f"server {name!r} needs {', '.join(spec.missing)}, which is not"
                          f" installed (pip install {spec.missing[0].replace('_', '-')})")
    return spec


def client(matrix: Matrix, name: str | None) -> str:
    return matrix.client(name).name if name else "httpx"


def workers(args: argparse.Namespace) -> dict[str, Any]:
    """--workers, --remote-workers and where their masters listen, checked (exit 2)."""
    if (args.workers or args.remote_workers) and getattr(args, "processes", 1) > 1:
        raise UsageError("loadlab: --workers or --processes, not both")
    if args.master_bind != "127.0.0.1" and not args.remote_workers:
        raise UsageError("loadlab: --master-bind is for --remote-workers")
    if not is_loopback(args.master_bind) and not args.allow_remote:
        raise UsageError(f"loadlab: --master-bind {args.master_bind} is not loopback: pass"
                         " --allow-remote to let other hosts' workers join")
    return {"workers": args.workers, "remote_workers": args.remote_workers,
            "master_bind": args.master_bind, "master_port": args.master_port}


def target(args: argparse.Namespace) -> Target | None:
    """--target, checked before anything is sent to it (exit 2)."""
    if args.target is None:
        return None
    if args.db is not None:
        raise UsageError("loadlab: --db and --target: the running app has its own database")
    return check_target(args.target, args.allow_remote)


def database(matrix: Matrix, args: argparse.Namespace) -> Database:
    """The run's database, checked before anything starts (exit 2 if it cannot be)."""
    from .services.database import Database

    return Database.choose(matrix, args.db, args.allow_remote)


def check_connections(plan: Plan, database: Database) -> None:
    """A pooled connection setting on SQLite would be measured as no pool: refuse."""
    pooled = sorted({c.connections.name for c in plan.cells
                     if c.connections is not None and c.connections.pool})
    if pooled and database.engine == "sqlite":
        raise UsageError(f"loadlab: connections {', '.join(pooled)} use Django's psycopg"
                         " pool, which is PostgreSQL's: add --db postgres")


def check_project(project: Project, *runs: Run | None) -> None:
    """`compare --project`: every run must have measured that project."""
    for run in runs:
        if run is not None and run.project != project.name:
            raise CompareError(f"{run.path}: measured project {run.project!r}, not"
                               f" {project.name!r}")


def port_free(port: int, flag: str, verb: str) -> None:
    """A fixed port someone else listens on: one line naming the flag that moves it,
    before anything starts or any folder is written (0: a free one is chosen)."""
    from .proc.supervise import port_is_free

    if port and not port_is_free(port):
        raise UsageError(f"loadlab {verb}: port {port} on 127.0.0.1 is taken; choose"
                         f" another with {flag}")


def thresholds(matrix: Matrix, project: Project, plan: Plan) -> dict[str, Thresholds]:
    """The planned scenarios' [scenarios.X.thresholds]: the project's keys over the
    matrix's, scenario by scenario."""
    planned = {c.scenario.name for c in plan.cells}
    return {name: t for name, t in merged(matrix.thresholds, project.thresholds).items()
            if name in planned}


def ab(args: argparse.Namespace) -> tuple[AbRequest, Choices, Options]:
    """`loadlab ab`'s input checked (exit 2 before anything is created): the request
    against the repository, the plan's choices (one trial: a round is one), the runs'
    options."""
    from .archive.runs import check_results_dir
    from .run.ab import check
    from .run.bench import Options

    request = check(args.project, args.base, args.head, args.rounds, args.warmup)
    check_results_dir(args.results, write=True)  # last: bad input writes nothing
    return request, Choices(
        profile=args.profile, servers=args.servers, scenarios=args.scenarios,
        flavors=args.flavors, clients=args.clients, users=args.users,
        duration_s=args.duration, warmup_s=args.warmup, pin=not args.no_pin), Options(
        results=args.results, label=args.label, command=args.argv, pin=not args.no_pin)


# -- value types: a flag's text into its value (argparse's `type=`); a bad one is
# argparse's one line, which args.Parser turns into UsageError (exit 2)


def comma_names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return names


def positive_list(kind: type) -> object:
    """A comma-separated list of numbers > 0 (--users 10,50; --rate 20,70): whole
    numbers for int, finite numbers for float."""
    noun, least = ("whole numbers", ">= 1") if kind is int else ("numbers", "> 0")

    def parse(text: str) -> tuple[float | int, ...]:
        try:
            values = tuple(kind(v) for v in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None
        if any(not 0 < v < float("inf") for v in values):  # nan fails too
            raise argparse.ArgumentTypeError(f"expected numbers {least}, got {text!r}")
        return values

    parse.__name__ = f"{kind.__name__}s"
    return parse


def positive(kind: type) -> object:
    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


def ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a ratio in [0, 1), got {text!r}")
    return value


def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0..65535, got {value}")
    return value


def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
