"""The fidelity check as text: one line per point while it runs, and the closing table."""

from __future__ import annotations

from .model import FLAVOR, Fidelity, Point


def describe_point(p: Point) -> str:
    what = "users" if p.tool == "loadlab" else "connections"
    head = f"{p.tool:<7} {p.server} {what}={p.concurrency} t{p.trial}:"
    if p.status != "ok":
        return f"{head} FAILED {p.error}"
    cpu = (f" server {p.server_cpu_pct or 0:.0f}% CPU, generator"
           f" {p.generator_cpu_pct or 0:.0f}%, others {p.other_cpu_pct or 0:.0f}%")
    flags = f" [{', '.join(p.warnings)}]" if p.warnings else ""
    return f"{head} {p.rps:,.0f} rps ({cpu.strip()}){flags}"


def render(fid: Fidelity) -> str:
    st = fid.settings
    lines = [
        f"fidelity: hello/{FLAVOR} peak throughput, loadlab (Locust FastHttpUser) vs wrk,"
        f" pinned {'server ' + ','.join(map(str, st['pinning']['server'])) + ' / generator '
                   + ','.join(map(str, st['pinning']['generator']))
                   if st['pinning']['enabled'] else 'off'}",
        f"best of users {','.join(map(str, st['users']))} vs connections"
        f" {','.join(map(str, st['connections']))}; {st['duration_s']:g} s each after"
        f" {st['warmup_s']:g} s warmup; {st['trials']} trial(s); a fresh server each",
        "",
        f"{'server':<16} {'loadlab rps':>11} {'users':>5} {'gen cpu':>7}"
        f" {'ceiling':>8} {'wrk rps':>9} {'conns':>5} {'ratio':>6} {'others':>6}  limit",
    ]
    for s in fid.servers:
        a, b = s.best("loadlab"), s.best("wrk")
        ratio = f"{s.ratio:.2f}" if s.ratio is not None else "-"
        gen = f"{a.generator_cpu_pct:.0f}%" if a and a.generator_cpu_pct is not None else "-"
        others = [p.other_cpu_pct for p in (a, b) if p and p.other_cpu_pct is not None]
        other = f"{max(others):.0f}%" if others else "-"
        lines.append(
            f"{s.server:<16} {_rps(a):>11} {_n(a):>5} {gen:>7}"
            f" {f'{s.ceiling():,.0f}' if s.ceiling() else '-':>8} {_rps(b):>9} {_n(b):>5}"
            f" {ratio:>6} {other:>6}  {s.limit() or ''}".rstrip())
    o = fid.overhead()
    lines.append("(gen cpu: Locust's CPU % at its best point, 100 = one core; ceiling: the rps"
                 " Locust's CPU share allows at its measured CPU cost per request;"
                 " others: CPU % used meanwhile by processes not ours)")
    lines.append("")
    lines.append("loadlab cell overhead beyond warmup + duration (median s): "
                 + ", ".join(f"{k.removesuffix('_s').replace('_', ' ')} {_s(v)}"
                             for k, v in o.items()))
    lines.append(f"verdict: {fid.verdict()}")
    return "\n".join(lines)


def _rps(p: Point | None) -> str:
    return f"{p.rps:,.0f}" if p else "-"


def _n(p: Point | None) -> str:
    return str(p.concurrency) if p else "-"


def _s(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"
