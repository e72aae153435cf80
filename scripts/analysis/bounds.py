"""The closed loop's asymptotic bounds, made to hold: what R0 and S are, and when a
measured rps has beaten its bound beyond noise (docs/method.md, "Bounds").

A closed loop of N users without think time completes X = N / R(N) requests a second,
R(N) its mean response time; queueing only adds to R(N), so N / R0 bounds X only while
R0 <= R(N): R0 must be the unloaded time with nothing else in it. The same holds for a
server of C slots and a view time S. The probe's mean was not that: a fresh server's
first answer (the upstream client's first connection: weather 301 ms against 259, home
150 against 105) sat in it, warm-up's answers sat in S, and measured rps beat its bound
by 3-14 % (issue 26).
"""

from __future__ import annotations

from hdrh.histogram import HdrHistogram

# R0 and S are this percentile of the probe's warm window (unloaded_ms says why).
UNLOADED_PERCENTILE = 10.0
# How far a cell's rps may pass its bound before the bound is called wrong: R0 is one
# second of one fresh server, and a cell's rps and p50 moved up to 2 % between identical
# runs on rows with CPU to spare (analysis/stats.py, LAB_FLOORS: its rps floor is 5 %).
BOUND_TOLERANCE = 0.05


def unloaded_ms(hist: HdrHistogram | None) -> float | None:
    """The UNLOADED_PERCENTILE of one user's warm times, in ms; None without any.

    The minimum is sound in theory but is one lucky answer. A low percentile sits below
    the mean of a right-skewed latency (sleep 50 ms: 52.1 against a mean of 52.4; weather
    258.4 against 259.5 warm), ignores cold answers while they are under a tenth, and
    leaves room for the machine being a little faster in the cell than in the probe's
    second. With few answers (a 260 ms view gives four a second) it is their minimum."""
    if hist is None or not hist.get_total_count():
        return None
    return round(hist.get_value_at_percentile(UNLOADED_PERCENTILE) / 1000, 3)


def beats(rps: float, bound_rps: float, in_flight: int, seconds: float,
          tolerance: float = BOUND_TOLERANCE) -> bool:
    """Whether `rps` passed `bound_rps` by more than the window's edge and noise allow.

    The window counts the answers that end in it, so each of the `in_flight` requests
    that can be under way at once (a user, or a server's slot) may add one begun before
    it: in_flight / seconds above the bound is the edge, not a beaten bound (4 users over
    a 2 s window: 2 rps). `tolerance` covers the bound's own noise."""
    if not seconds:
        return False
    return rps > bound_rps * (1 + tolerance) + in_flight / seconds
