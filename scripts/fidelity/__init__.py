"""`loadlab fidelity`: loadlab's generator against wrk on the same pinned setup.

wrk.py (the reference tool), model.py (points, ratios, limits), measure.py (the
interleaved measurements), report.py (the text).
"""

from .measure import run_fidelity
from .model import (
    DEFAULT_CONNECTIONS,
    DEFAULT_DURATION_S,
    DEFAULT_SERVERS,
    DEFAULT_USERS,
    DEFAULT_WARMUP_S,
    TARGET,
    Fidelity,
    Point,
)
from .report import render
from .wrk import WRK_INSTALL, WrkOutputError, parse_wrk, wrk_path

__all__ = [
    "DEFAULT_CONNECTIONS", "DEFAULT_DURATION_S", "DEFAULT_SERVERS", "DEFAULT_USERS",
    "DEFAULT_WARMUP_S", "TARGET", "WRK_INSTALL", "Fidelity", "Point", "WrkOutputError",
    "parse_wrk", "render", "run_fidelity", "wrk_path",
]
