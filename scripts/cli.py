"""`loadlab`: the command line. It only parses arguments into the matrix and the plan,
then hands over; every mistake is one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from app.scenarios import SCENARIOS

from .config import ConfigError, Matrix, ServerSpec, load_matrix
from .plan import Choices, build_plan
from .supervise import ROOT

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad usage: one line, exit 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints usage + error; we want one line
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return names


def _positive_ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers, got {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected numbers >= 1, got {text!r}")
    return values


def _positive(kind: type) -> object:
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


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0..65535, got {value}")
    return value


def build_parser() -> Parser:
    parser = Parser(prog="loadlab", description="Measure whether a Django view should be"
                    " async, and on which server.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    def with_matrix(p: argparse.ArgumentParser) -> None:
        p.add_argument("--matrix", type=Path, default=ROOT / "matrix.toml",
                       help="the matrix file (default: matrix.toml)")

    p = sub.add_parser("list", help="servers, scenarios, clients and profiles")
    with_matrix(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("bench", help="run the plan and archive the run")
    with_matrix(p)
    p.add_argument("--profile", help="load profile (default: the matrix's default)")
    p.add_argument("--servers", type=_names, help="comma-separated server names")
    p.add_argument("--scenarios", type=_names, help="comma-separated scenario names")
    p.add_argument("--flavors", type=_names, help="comma-separated flavors (sync,async,...)")
    p.add_argument("--clients", type=_names, help="comma-separated HTTP clients")
    p.add_argument("--users", type=_positive_ints, help="Locust users (or a list: 10,50)")
    p.add_argument("--duration", type=_positive(float), help="measured seconds per cell")
    p.add_argument("--warmup", type=float, help="warmup seconds per cell (never counted)")
    p.add_argument("--trials", type=_positive(int), help="trials per cell, interleaved")
    p.add_argument("--label", help="a name for the run folder")
    p.add_argument("--results", type=Path, default=ROOT / "results",
                   help="where run folders go (default: results/)")
    p.add_argument("--no-pin", action="store_true", help="do not pin CPUs")
    p.add_argument("--processes", type=_positive(int), default=1,
                   help="Locust processes (a machine with cores to spare)")
    p.add_argument("--port", type=_port, default=0, help="server port (default: a free one)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")

    p = sub.add_parser("serve", help="the app and the upstream stand-in, for manual poking")
    with_matrix(p)
    p.add_argument("--server", required=True, help="a server name from the matrix")
    p.add_argument("--port", type=_port, default=8000)
    p.add_argument("--upstream-port", type=_port, default=9000)
    p.add_argument("--client", help="HTTP client for upstream calls (default: httpx)")

    p = sub.add_parser("ui", help="the Locust web UI against one server; archived on exit")
    with_matrix(p)
    p.add_argument("--server", required=True, help="a server name from the matrix")
    p.add_argument("--scenario", default="weather", help="scenario (default: weather)")
    p.add_argument("--client", help="HTTP client for upstream calls (default: httpx)")
    p.add_argument("--web-port", type=_port, default=8089)
    p.add_argument("--port", type=_port, default=0, help="server port (default: a free one)")
    p.add_argument("--results", type=Path, default=ROOT / "results")
    p.add_argument("--label", help="a name for the run folder")

    p = sub.add_parser("fidelity", help="hello's peak throughput: loadlab vs wrk, per server")
    with_matrix(p)
    p.add_argument("--servers", type=_names, help="comma-separated server names"
                   " (default: gunicorn-sync,uvicorn)")
    p.add_argument("--users", type=_positive_ints, help="Locust user counts to try (8,32)")
    p.add_argument("--connections", type=_positive_ints,
                   help="wrk connection counts to try (default: 8,32)")
    p.add_argument("--duration", type=_positive(float), help="measured seconds each (5)")
    p.add_argument("--warmup", type=float, help="warmup seconds each, never counted (1)")
    p.add_argument("--trials", type=_positive(int), default=1,
                   help="repeat everything, interleaved (default: 1)")
    p.add_argument("--processes", type=_positive(int), default=1, help="Locust processes")
    p.add_argument("--no-pin", action="store_true", help="do not pin CPUs")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("-o", "--output", type=Path, help="also write the JSON to this file")
    p.add_argument("--keep", type=Path, metavar="DIR",
                   help="keep logs and loadlab's run folders here (default: discarded)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")

    p = sub.add_parser("compare", help="compare runs: within one, or B against A")
    p.add_argument("run_a", metavar="RUN_A")
    p.add_argument("run_b", metavar="RUN_B", nargs="?")
    p.add_argument("--format", choices=("table", "md", "json", "html"), default="table")
    p.add_argument("-o", "--output", help="write to this file instead of stdout")
    p.add_argument("--fail-on-regression", type=_positive(float), metavar="PCT",
                   help="exit 1 if some cell is significantly worse by more than PCT %%")
    p.add_argument("--metric", choices=("rps", "p95", "p99"), default="rps",
                   help="the metric the regression gate watches (default: rps)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(args_list)
        if args.command == "compare":
            return cmd_compare(args)
        matrix = load_matrix(args.matrix)
        return {"list": cmd_list, "bench": cmd_bench, "serve": cmd_serve,
                "ui": cmd_ui, "fidelity": cmd_fidelity}[args.command](matrix, args)
    except (UsageError, ConfigError) as exc:
        print(exc if isinstance(exc, UsageError) else f"loadlab: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def cmd_list(matrix: Matrix, args: argparse.Namespace) -> int:
    data = {
        "servers": [s.describe() for s in matrix.servers.values()],
        "scenarios": [
            {"name": s.name, "summary": s.summary, "uses_upstream": s.uses_upstream,
             "uses_db": s.uses_db, "query": s.query,
             "flavors": {f.name: f.path for f in s.flavors},
             "shows": {f.name: f.shows for f in s.flavors}}
            for s in SCENARIOS
        ],
        "clients": [{"name": c.name, "sync": c.sync, "summary": c.summary}
                    for c in matrix.clients.values()],
        "profiles": [p.describe() for p in matrix.profiles.values()],
        "default_profile": matrix.default_profile,
    }
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print("servers:")
    for s in matrix.servers.values():
        state = "" if s.available else f"  (not installed: {', '.join(s.missing)})"
        print(f"  {s.name:<18} {s.interface}  workers={s.workers:<3} {s.summary}{state}")
    print("scenarios:")
    for s in SCENARIOS:
        print(f"  {s.name:<10} {s.summary}")
        for f in s.flavors:
            query = f"?{s.query}" if s.query else ""
            print(f"    {f.name:<18} {f.path + query:<32} {f.shows}")
    print("clients:")
    for c in matrix.clients.values():
        print(f"  {c.name:<16} {c.summary}")
    print("profiles:")
    for p in matrix.profiles.values():
        default = " (default)" if p.name == matrix.default_profile else ""
        print(f"  {p.name:<8} users={','.join(map(str, p.users))} {p.duration_s:g}s x"
              f" {p.trials} trial(s): {p.summary}{default}")
    return 0


def cmd_bench(matrix: Matrix, args: argparse.Namespace) -> int:
    from .bench import Bench, Options
    from .progress import Progress

    if args.warmup is not None and args.warmup < 0:
        raise UsageError("loadlab bench: --warmup must be >= 0")
    plan = build_plan(matrix, Choices(
        profile=args.profile, servers=args.servers, scenarios=args.scenarios,
        flavors=args.flavors, clients=args.clients, users=args.users,
        duration_s=args.duration, warmup_s=args.warmup, trials=args.trials,
        pin=not args.no_pin,
    ))
    _check_results_dir(args.results)
    progress = Progress(quiet=args.quiet)
    progress.plan(len(plan.cells), plan.estimate_s(), plan.skipped)
    bench = Bench(matrix, plan, Options(
        results=args.results, label=args.label, command=["loadlab", "bench", *sys.argv[2:]],
        port=args.port, processes=args.processes, pin=not args.no_pin,
    ), progress)
    return bench.run()


def _check_results_dir(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise UsageError(f"loadlab: {path}: --results must be a folder, not a file")


def cmd_serve(matrix: Matrix, args: argparse.Namespace) -> int:
    from .interactive import serve

    return serve(matrix, _installed(matrix, args.server), _client(matrix, args.client),
                 args.port, args.upstream_port)


def cmd_ui(matrix: Matrix, args: argparse.Namespace) -> int:
    from app.scenarios import get

    from .interactive import ui

    try:
        scenario = get(args.scenario)
    except KeyError as exc:
        raise UsageError(f"loadlab ui: {exc.args[0]}") from None
    _check_results_dir(args.results)
    return ui(matrix, _installed(matrix, args.server), scenario, _client(matrix, args.client),
              args.port, args.web_port, args.results, args.label)


def _installed(matrix: Matrix, name: str) -> ServerSpec:
    """The server, if its packages are importable: else exit 2 before anything starts."""
    spec = matrix.server(name)
    if not spec.available:
        raise ConfigError(f"server {name!r} needs {', '.join(spec.missing)}, which is not"
                          f" installed (pip install {spec.missing[0].replace('_', '-')})")
    return spec


def _client(matrix: Matrix, name: str | None) -> str:
    return matrix.client(name).name if name else "httpx"


def cmd_fidelity(matrix: Matrix, args: argparse.Namespace) -> int:
    from . import fidelity

    if args.warmup is not None and args.warmup < 0:
        raise UsageError("loadlab fidelity: --warmup must be >= 0")
    servers = args.servers or fidelity.DEFAULT_SERVERS
    for name in servers:
        _installed(matrix, name)
    if args.output is not None and args.output.is_dir():
        raise UsageError(f"loadlab fidelity: {args.output}: -o must be a file, not a folder")
    try:
        fidelity.wrk_path()
    except fidelity.WrkMissing as exc:
        raise UsageError(str(exc)) from None
    say = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr))
    try:
        result = fidelity.run_fidelity(
            matrix, servers=servers, users=args.users or fidelity.DEFAULT_USERS,
            connections=args.connections or fidelity.DEFAULT_CONNECTIONS,
            duration_s=args.duration or fidelity.DEFAULT_DURATION_S,
            warmup_s=fidelity.DEFAULT_WARMUP_S if args.warmup is None else args.warmup,
            trials=args.trials, processes=args.processes, pin=not args.no_pin,
            keep=args.keep, note=say)
    except fidelity.Interrupted as exc:
        print(f"loadlab fidelity: interrupted by {exc}; every process stopped",
              file=sys.stderr)
        return 130
    data = result.describe()
    if args.output is not None:
        args.output.write_text(json.dumps(data, indent=2) + "\n")
    print(json.dumps(data, indent=2) if args.json else fidelity.render(result))
    return 1 if result.failed else 0


def cmd_compare(args: argparse.Namespace) -> int:
    from .compare import main_compare

    return main_compare(args.run_a, args.run_b, fmt=args.format, output=args.output,
                        fail_on_regression=args.fail_on_regression, metric=args.metric)


if __name__ == "__main__":
    sys.exit(main())
