"""The command line's grammar: every verb, its flags and their types.

Building the parser is all this does (and reading it back for docs/cli.md:
cli_reference); cli.py dispatches. A bad argument raises UsageError (one line, exit 2)
instead of argparse's usage dump.
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

from .analysis.compare import GATE_METRICS
from .errors import UsageError
from .options import (
    comma_names,
    number,
    port,
    positive,
    positive_list,
    ratio,
    whole_number,
)
from .paths import default_results
from .render import reference
from .render.outputs import FORMATS


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints usage + error; we want one line
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def with_long_lived(p: argparse.ArgumentParser, neighbour: bool) -> None:
    """The long-lived stories' parameters (ranges checked in config/longlived.py)."""
    g = p.add_argument_group("long-lived stories (stream, websocket, upload)")
    g.add_argument("--events", type=whole_number, metavar="N",
                   help="events per stream, messages per websocket session (1-1000;"
                        " default: the story's, 20)")
    g.add_argument("--interval-ms", type=whole_number, metavar="MS",
                   help="between two events or messages (1-10000; default 250)")
    g.add_argument("--size-kb", type=whole_number, metavar="KB",
                   help="an upload's body in KiB (1-102400; default 256)")
    g.add_argument("--rate-kbps", type=whole_number, metavar="KBPS",
                   help="the uploading client's rate in KiB/s (1-1000000; default 128)")
    g.add_argument("--disconnect", type=number, metavar="SHARE",
                   help="share of connections the client abandons halfway (0-1; default 0)")
    if neighbour:
        g.add_argument("--neighbour-users", type=whole_number, default=0, metavar="K",
                       help="K more users on hello beside the held connections: the"
                            " neighbour's p95 and rps (default 0)")


def with_why(p: argparse.ArgumentParser) -> None:
    p.add_argument("--why", type=positive(int), nargs="?", const=100, default=0,
                   metavar="HZ", help="profile the server in each measured window with"
                   " py-spy at HZ samples/s (default 100): CPU us/request by layer, flame"
                   " graphs and profile.json in each cell")


AB_PLAN_FLAGS = ("profile", "servers", "scenarios", "flavors", "clients", "users", "duration",
                 "warmup", "label", "results", "no_pin", "quiet")  # bench's, that ab takes


def build_parser() -> Parser:
    parser = Parser(prog="loadlab", description="Measure whether a Django view should be"
                    " async, and on which server.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    def with_matrix(p: argparse.ArgumentParser) -> None:
        p.add_argument("--matrix", type=Path, default=None,
                       help="the matrix file (default: ./matrix.toml if there is one, else"
                            " loadlab's own)")

    def with_project(p: argparse.ArgumentParser) -> None:
        p.add_argument("--project", type=Path, metavar="PATH",
                       help="a team's Django project: its loadlab.toml, or the folder that"
                            " holds it (default: loadlab's own app)")

    def with_database(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", choices=("sqlite", "postgres"),
                       help="the catalog's database: SQLite, or a PostgreSQL cluster started"
                            " for the run (default: the matrix's [database] engine; with"
                            " DATABASE_URL set, that server)")
        p.add_argument("--allow-remote", action="store_true",
                       help="let DATABASE_URL (or --target) point at a host other than"
                            " loopback")

    def with_workers(p: argparse.ArgumentParser) -> None:
        p.add_argument("--workers", type=positive(int), default=0, metavar="N",
                       help="Locust as a master and N worker processes, each pinned and in"
                            " its own folder; their histograms reach the master in its"
                            " messages (instead of --processes)")
        p.add_argument("--remote-workers", type=positive(int), default=0, metavar="M",
                       help="also wait for M workers from other hosts in every cell"
                            " (`loadlab worker --master HOST:PORT` there)")
        p.add_argument("--master-bind", default="127.0.0.1", metavar="HOST",
                       help="where each cell's master listens for remote workers (default:"
                            " 127.0.0.1; another address needs --allow-remote)")
        p.add_argument("--master-port", type=port, default=5557,
                       help="the masters' port for remote workers (default: 5557)")

    def with_target(p: argparse.ArgumentParser) -> None:
        p.add_argument("--target", metavar="URL",
                       help="measure an app already running at URL (e.g. staging) instead"
                            " of starting servers; loopback only unless --allow-remote")

    p = sub.add_parser("list", help="servers, scenarios, clients, profiles, and the runs")
    with_matrix(p)
    with_project(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--results", type=Path, default=default_results(),
                   help="where run folders are (default: results/)")

    p = sub.add_parser("prune", help="delete old run folders (shows what it would delete"
                       " unless --yes)")
    p.add_argument("--older-than", type=positive(float), required=True, metavar="DAYS",
                   help="runs started more than DAYS days ago")
    p.add_argument("--status", type=comma_names, metavar="S[,S]",
                   help="only runs with these statuses (e.g. abandoned,failed)")
    p.add_argument("--results", type=Path, default=default_results(),
                   help="where run folders are (default: results/)")
    p.add_argument("--yes", action="store_true", help="really delete (default: dry run)")

    p = sub.add_parser("history", help="capacity, rps and p95 per configuration across the"
                       " runs, by time and commit: a table and an offline chart page")
    p.add_argument("--results", type=Path, default=default_results(),
                   help="where run folders are (default: results/)")
    p.add_argument("--scenario", metavar="NAME", help="only this scenario")
    p.add_argument("--server", metavar="NAME", help="only this server")
    p.add_argument("-o", "--output", type=Path, help="the page (default: <results>/history.html)")

    p = sub.add_parser("bench", help="run the plan and archive the run")
    with_matrix(p)
    with_project(p)
    with_database(p)
    with_target(p)
    p.add_argument("--profile", help="load profile (default: the matrix's default)")
    p.add_argument("--servers", type=comma_names, help="comma-separated server names")
    p.add_argument("--scenarios", type=comma_names, help="comma-separated scenario names")
    p.add_argument("--flavors", type=comma_names, help="comma-separated flavors (sync,async,...)")
    p.add_argument("--clients", type=comma_names, help="comma-separated HTTP clients")
    p.add_argument("--middleware", type=comma_names, metavar="STACK[,STACK]",
                   help="middleware stacks: none (default), default (startproject's),"
                        " default+sync-only")
    p.add_argument("--connections", type=comma_names, metavar="NAME[,NAME]",
                   help="connection settings from the matrix's [connections.*] (database"
                        " scenarios; default: [database]'s own)")
    p.add_argument("--users", type=positive_list(int), help="Locust users (or a list: 10,50)")
    p.add_argument("--rate", type=positive_list(float), metavar="R[,R2]",
                   help="open model: offered requests/s (or a list), instead of --users")
    p.add_argument("--arrival", choices=("uniform", "poisson"),
                   help="the open model's schedule (default: the profile's, uniform)")
    p.add_argument("--duration", type=positive(float),
                   help="measured seconds per cell, exactly (a profile's stability"
                        " windows go with its own duration; --max-duration asks)")
    p.add_argument("--max-duration", type=positive(float), metavar="S",
                   help="stability windows: after --duration, measure on until the last"
                        " 3 seconds agree within 10%%, at most S seconds")
    p.add_argument("--warmup", type=float, help="warmup seconds per cell (never counted)")
    p.add_argument("--trials", type=positive(int), help="trials per cell, interleaved")
    p.add_argument("--label", help="a name for the run folder")
    p.add_argument("--results", type=Path, default=default_results(),
                   help="where run folders go (default: results/)")
    p.add_argument("--no-pin", action="store_true", help="do not pin CPUs")
    p.add_argument("--processes", type=positive(int), default=1,
                   help="Locust processes (a machine with cores to spare)")
    with_workers(p)
    p.add_argument("--port", type=port, default=0, help="server port (default: a free one)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    with_why(p)
    with_long_lived(p, neighbour=True)

    p = sub.add_parser("ab", help="is head slower than base? two git refs of a project,"
                       " alternating rounds, compared round by round")
    with_matrix(p)
    p.add_argument("--project", type=Path, metavar="PATH", default=Path(),
                   help="its loadlab.toml or folder, in a git repository (default: here)")
    p.add_argument("--base", default="main", metavar="REF", help="a committed ref")
    p.add_argument("--head", metavar="REF", help="a ref (default: the working tree as is)")
    p.add_argument("--rounds", type=whole_number, default=6, metavar="N", help="ABBA rounds, >= 2")
    p.add_argument("--fail-on-regression", type=positive(float), metavar="PCT",
                   help="exit 3 only beyond PCT %% (default: any slowdown called)")
    for action in sub.choices["bench"]._actions:  # bench's plan flags: one definition
        if action.dest in AB_PLAN_FLAGS:
            p._add_action(action)

    p = sub.add_parser("calibrate", help="measure this machine's noise floor: A, A again,"
                       " and A with a slower upstream; compare then uses the floor")
    with_matrix(p)
    p.add_argument("--profile", help="load profile (default: the matrix's default)")
    p.add_argument("--servers", type=comma_names,
                   help="comma-separated server names (default: gunicorn-gthread,uvicorn)")
    p.add_argument("--scenarios", type=comma_names,
                   help="comma-separated scenario names (default: weather,home,sleep)")
    p.add_argument("--flavors", type=comma_names, help="comma-separated flavors (sync,async,...)")
    p.add_argument("--slowdown", type=positive(float), default=20.0, metavar="PCT",
                   help="how much slower the upstream is in the third run (default: 20)")
    p.add_argument("--duration", type=positive(float),
                   help="measured seconds per cell, exactly (a profile's stability"
                        " windows go with its own duration; --max-duration asks)")
    p.add_argument("--max-duration", type=positive(float), metavar="S",
                   help="stability windows' cap (see bench --max-duration)")
    p.add_argument("--warmup", type=float, help="warmup seconds per cell (never counted)")
    p.add_argument("--results", type=Path, default=default_results(),
                   help="where the runs and calibration.json go (default: results/)")
    p.add_argument("--no-pin", action="store_true", help="do not pin CPUs")
    p.add_argument("--quiet", action="store_true", help="no progress lines")

    p = sub.add_parser("capacity", help="the highest offered rate each configuration"
                       " holds within its latency objective")
    with_matrix(p)
    with_project(p)
    with_database(p)
    with_target(p)
    p.add_argument("--profile", default="capacity",
                   help="which servers, scenarios and clients, and the step length"
                        " (default: capacity)")
    p.add_argument("--servers", type=comma_names, help="comma-separated server names")
    p.add_argument("--scenarios", type=comma_names, help="comma-separated scenario names")
    p.add_argument("--flavors", type=comma_names, help="comma-separated flavors (sync,async,...)")
    p.add_argument("--clients", type=comma_names, help="comma-separated HTTP clients")
    p.add_argument("--middleware", type=comma_names, metavar="STACK[,STACK]",
                   help="middleware stacks: none (default), default (startproject's),"
                        " default+sync-only")
    p.add_argument("--connections", type=comma_names, metavar="NAME[,NAME]",
                   help="connection settings from the matrix's [connections.*] (database"
                        " scenarios; default: [database]'s own)")
    p.add_argument("--slo-p95-ms", type=positive(float), metavar="MS",
                   help="the p95 objective for every scenario (default: each story's own,"
                        " or the matrix's [slo])")
    p.add_argument("--max-failure-ratio", type=ratio, metavar="F",
                   help="failures allowed at a step (default: the rules' 0.01)")
    p.add_argument("--duration", type=positive(float), help="measured seconds per step")
    p.add_argument("--warmup", type=float, help="warmup seconds per step (never counted)")
    p.add_argument("--label", help="a name for the run folder")
    p.add_argument("--results", type=Path, default=default_results(),
                   help="where run folders go (default: results/)")
    p.add_argument("--no-pin", action="store_true", help="do not pin CPUs")
    p.add_argument("--port", type=port, default=0, help="server port (default: a free one)")
    p.add_argument("--json", action="store_true", help="print the capacity records as JSON")
    with_workers(p)
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    with_why(p)
    with_long_lived(p, neighbour=False)

    p = sub.add_parser("serve", help="the app and the upstream stand-in, for manual poking")
    with_matrix(p)
    with_project(p)
    with_database(p)
    p.add_argument("--server", required=True, help="a server name from the matrix")
    p.add_argument("--port", type=port, default=8000)
    p.add_argument("--upstream-port", type=port, default=9000)
    p.add_argument("--client", help="HTTP client for upstream calls (default: httpx)")

    p = sub.add_parser("ui", help="the Locust web UI against one server; archived on exit")
    with_matrix(p)
    with_project(p)
    with_database(p)
    p.add_argument("--server", required=True, help="a server name from the matrix")
    p.add_argument("--scenario", help="scenario (default: weather, or the project's first)")
    p.add_argument("--client", help="HTTP client for upstream calls (default: httpx)")
    p.add_argument("--web-port", type=port, default=8089)
    p.add_argument("--port", type=port, default=0, help="server port (default: a free one)")
    p.add_argument("--warmup", type=float, default=0.0, metavar="S",
                   help="seconds after each test's users are spawned that its cell does"
                   " not count (default: 0)")
    p.add_argument("--no-probe", action="store_true",
                   help="skip the one-user probe of each flavor (a faster start; the cells"
                   " then have no bounds and no load-bound flag)")
    p.add_argument("--results", type=Path, default=default_results())
    p.add_argument("--label", help="a name for the run folder")
    with_why(p)

    p = sub.add_parser("fidelity", help="hello's peak throughput: loadlab vs wrk, per server")
    with_matrix(p)
    p.add_argument("--servers", type=comma_names, help="comma-separated server names"
                   " (default: gunicorn-sync,uvicorn)")
    p.add_argument("--users", type=positive_list(int), help="Locust user counts to try (8,32)")
    p.add_argument("--connections", type=positive_list(int),
                   help="wrk connection counts to try (default: 8,32)")
    p.add_argument("--duration", type=positive(float), help="measured seconds each (5)")
    p.add_argument("--warmup", type=float, help="warmup seconds each, never counted (1)")
    p.add_argument("--trials", type=positive(int), default=1,
                   help="repeat everything, interleaved (default: 1)")
    p.add_argument("--processes", type=positive(int), default=1, help="Locust processes")
    p.add_argument("--no-pin", action="store_true", help="do not pin CPUs")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("-o", "--output", type=Path, help="also write the JSON to this file")
    p.add_argument("--keep", type=Path, metavar="DIR",
                   help="keep logs and loadlab's run folders here (default: discarded)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")

    p = sub.add_parser("worker", help="a load host: join each cell of a run started with"
                       " --remote-workers, until Ctrl-C")
    p.add_argument("--master", required=True, metavar="HOST[:PORT]",
                   help="the host running `loadlab bench --remote-workers` (port 5557)")
    p.add_argument("--allow-remote", action="store_true",
                   help="a master that is not on this machine")
    p.add_argument("--idle", type=positive(float), default=600.0, metavar="S",
                   help="stop when no cell's master has come for S seconds (default: 600)")
    p.add_argument("--cells", type=positive(int), metavar="N",
                   help="stop after N cells (default: until Ctrl-C or --idle)")

    p = sub.add_parser("init", help="write a starter loadlab.toml for a Django project"
                       " (never overwrites one)")
    p.add_argument("folder", metavar="DIR", type=Path, nargs="?", default=Path(),
                   help="the project's folder, where manage.py is (default: here)")

    p = sub.add_parser("compare", help="compare runs: within one, or B against A")
    with_project(p)
    p.add_argument("run_a", metavar="RUN_A")
    p.add_argument("run_b", metavar="RUN_B", nargs="?")
    p.add_argument("--format", choices=FORMATS, default="table")
    p.add_argument("-o", "--output", help="write to this file instead of stdout")
    p.add_argument("--fail-on-regression", type=positive(float), metavar="PCT",
                   help="exit 3 if a cell is significantly worse by more than PCT %%"
                        " (a scenario's max_regression_pct wins)")
    p.add_argument("--metric", choices=GATE_METRICS, default="rps",
                   help="the metric the regression gate watches (default: rps)")
    return parser


# -- docs/cli.md: the parser read into render/reference.py's records (`make docs`) --
REFERENCE_WIDTH = 100  # usage lines wrap here, whatever the terminal's width


def verbs(parser: Parser | None = None) -> dict[str, tuple[Parser, str]]:
    """Each verb's parser and one-line help, in the order `loadlab --help` lists them."""
    parser = parser or build_parser()
    # argparse lists its sub-parsers only in private fields
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help or "" for a in sub._choices_actions}
    return {name: (p, helps.get(name, "")) for name, p in sub.choices.items()}


def _argument(action: argparse.Action, prog: str) -> reference.Argument:
    flag, given = bool(action.option_strings), action.default
    shown = given not in (None, False, argparse.SUPPRESS) and not isinstance(given, Path)
    return reference.Argument(
        names=tuple(action.option_strings) or (action.metavar or action.dest,),
        value="" if action.nargs == 0 or not flag else action.metavar or (
            "|".join(map(str, action.choices)) if action.choices else action.dest.upper()),
        help=(action.help or "") % {**vars(action), "prog": prog},
        default=(f"{given:g}" if isinstance(given, float) else str(given)) if shown else None,
        required=flag and action.required, optional=not flag and action.nargs == "?")


def cli_reference() -> str:
    """Every verb's usage and arguments as Markdown, from build_parser(): docs/cli.md."""
    parser, found = build_parser(), []
    for name, (p, text) in verbs(parser).items():
        p.formatter_class = functools.partial(argparse.HelpFormatter, width=REFERENCE_WIDTH)
        groups = ((g.title, tuple(_argument(a, p.prog) for a in g._group_actions
                   if a.help is not argparse.SUPPRESS
                   and not isinstance(a, argparse._HelpAction))) for g in p._action_groups)
        found.append(reference.Verb(name, text, p.format_usage().strip(),
                                    tuple((t, args) for t, args in groups if args)))
    return reference.markdown(parser.description or "", found)
