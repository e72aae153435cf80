"""JSON: the comparison for machines (CI, notebooks); stable keys, no formatting."""

from __future__ import annotations

import dataclasses
import json as _json
import math
from typing import Any

from ..analysis.compare import Between, Row, ServerRace, SyncAsync, Within
from ..analysis.fold import Folded
from ..analysis.stats import Verdict
from ..cells import CellKey

FORMAT_VERSION = 1
# A folded side as format 1 has it (its request counts are for the verdict only).
_FOLDED_FIELDS = ("values", "trials", "failed_trials", "flags", "cpu_pct", "error")

# Properties a reader would otherwise have to recompute.
_DERIVED: dict[type, tuple[str, ...]] = {
    Verdict: ("marker",),
    Row: ("flags",),
    SyncAsync: ("winner",),
    ServerRace: ("label", "best_flags"),
}


def to_plain(obj: Any) -> Any:
    """Dataclasses to dicts, with the derived fields a reader needs (marker, flags);
    a cell key stays the list it has always been in this format."""
    if isinstance(obj, CellKey):
        return obj.as_list()
    if isinstance(obj, Folded):
        return {f: to_plain(getattr(obj, f)) for f in _FOLDED_FIELDS}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        for name in _DERIVED.get(type(obj), ()):
            out[name] = to_plain(getattr(obj, name))
        return out
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_plain(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def render_json(comparison: Within | Between) -> str:
    kind = "between" if isinstance(comparison, Between) else "within"
    data = {"format_version": FORMAT_VERSION, "kind": kind, **to_plain(comparison)}
    return _json.dumps(data, indent=2) + "\n"
