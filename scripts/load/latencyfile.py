"""latency-<pid>.json, the seconds one Locust process measured: the one module that
writes the file (the recorder in locustfiles/base.py, and a worker's report to its
master, which carries the same `names` map) and reads it (loadgen.read_measurement).
No other module names the file's fields.

Locust's processes import it too, so it imports nothing of the harness but errors.

The file, VERSION 1 (files written before the field existed have none and are the same):
  version             1
  unit                "us": every histogram's values
  significant_digits  3
  phase               where this process's seconds begin past the wall clock's (base.Clock)
  names               request name -> second -> a Slot (below)
  service             the probe only: second -> the view's own times (Server-Timing)
  open                the open model only: rate, arrival, and per second the arrivals
                      offered and those never sent (Arrivals)
A slot: ok, failed, histogram (the successes' times from their actual start; null
without a success); with the open model also corrected (from the intended start; null
without a success), lag (intended -> actual start) and late. Histograms are HdrHistogram
V2 blobs (base64). Seconds are JSON object keys, so strings on disk, ints here.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hdrh.codec import HdrCookieException, HdrHistogramSettingsException, HdrLengthException
from hdrh.histogram import HdrHistogram

from ..errors import MeasurementError

VERSION = 1
UNIT = "us"
HIGHEST_US = 120_000_000  # two minutes: past any client timeout
SIGNIFICANT_DIGITS = 3
# what a damaged file or histogram blob raises while it is read
_BROKEN = (OSError, ValueError, KeyError, TypeError, AttributeError, zlib.error,
           HdrCookieException, HdrLengthException, HdrHistogramSettingsException)


def histogram() -> HdrHistogram:
    """An empty histogram of response times in us, as every slot's."""
    return HdrHistogram(1, HIGHEST_US, SIGNIFICANT_DIGITS)


def _encode(hist: HdrHistogram) -> str:
    return hist.encode().decode()


def _merge(into: HdrHistogram | None, hist: HdrHistogram | None) -> HdrHistogram | None:
    """`hist` added to `into` (a new histogram when there is none yet)."""
    if hist is None:
        return into
    into = into if into is not None else histogram()
    into.add(hist)
    return into


@dataclass(slots=True)
class Slot:
    """One request name's one second: its answers, and with the open model (`lag` is
    set) their times from the intended start, the start lags and the late starts."""

    ok: int = 0
    failed: int = 0
    raw: HdrHistogram | None = None  # the successes' times from their actual start (us)
    corrected: HdrHistogram | None = None  # open model: from the intended start
    lag: HdrHistogram | None = None  # open model: intended -> actual start; None: closed
    late: int = 0  # open model: started more than base.LATE_MS late

    @property
    def requests(self) -> int:
        return self.ok + self.failed

    def record(self, us: int, failed: bool) -> None:
        """One answer, as Locust saw it (a failure's time is not a latency)."""
        if failed:
            self.failed += 1
            return
        if self.raw is None:
            self.raw = histogram()
        self.raw.record_value(us)
        self.ok += 1

    def record_open(self, lag_us: int, late: bool, corrected_us: int | None) -> None:
        """The same answer from its intended start (`corrected_us` None: it failed)."""
        if self.lag is None:
            self.lag = histogram()
        self.lag.record_value(lag_us)
        self.late += late
        if corrected_us is not None:
            if self.corrected is None:
                self.corrected = histogram()
            self.corrected.record_value(corrected_us)

    def add(self, other: Slot) -> None:
        """Another process's (or report's) same second added to this one."""
        self.ok += other.ok
        self.failed += other.failed
        self.raw = _merge(self.raw, other.raw)
        self.corrected = _merge(self.corrected, other.corrected)
        if other.lag is not None:
            self.lag = _merge(self.lag, other.lag)
            self.late += other.late

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ok": self.ok, "failed": self.failed,
            "histogram": _encode(self.raw) if self.ok and self.raw is not None else None,
        }
        if self.lag is not None:
            data["corrected"] = (_encode(self.corrected) if self.corrected is not None
                                 and self.corrected.get_total_count() else None)
            data["lag"] = _encode(self.lag)
            data["late"] = self.late
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Slot:
        """Raises what a damaged slot raises (read turns it into one line)."""
        slot = cls(ok=int(data["ok"]), failed=int(data["failed"]))
        if data["histogram"]:
            slot.raw = HdrHistogram.decode(data["histogram"])
        if "lag" in data:
            slot.lag = HdrHistogram.decode(data["lag"])
            slot.late = int(data["late"])
            if data["corrected"]:
                slot.corrected = HdrHistogram.decode(data["corrected"])
        return slot


Seconds = dict[tuple[str, int], Slot]  # (request name, second) -> its slot
Keep = Callable[[str, int], bool]  # which (name, second) to decode


def encode(seconds: Seconds) -> dict[str, dict[str, Any]]:
    """The `names` map: name -> second -> slot, by name then second (a worker's report
    to its master carries the same map)."""
    names: dict[str, dict[str, Any]] = {}
    for name, second in sorted(seconds):
        names.setdefault(name, {})[str(second)] = seconds[name, second].to_json()
    return names


def decode(names: dict[str, dict[str, Any]], keep: Keep | None = None) -> Seconds:
    """The `names` map back into slots; `keep` skips the others undecoded. Raises what a
    damaged map raises."""
    seconds: Seconds = {}
    for name, slots in names.items():
        for second, slot in slots.items():
            key = (name, int(second))
            if keep is None or keep(*key):
                seconds[key] = Slot.from_json(slot)
    return seconds


def absorb(into: Seconds, seconds: Seconds) -> int:
    """`seconds` added to `into`, slot by slot; the requests they hold."""
    count = 0
    for key, slot in seconds.items():
        into.setdefault(key, Slot()).add(slot)
        count += slot.requests
    return count


@dataclass
class Arrivals:
    """The open model's schedule as one process (or a master, for its workers) saw it."""

    rate: float  # this process's offered requests/s
    arrival: str  # uniform or poisson
    offered: dict[int, int] = field(default_factory=dict)  # second -> arrivals due
    unsent: dict[int, int] = field(default_factory=dict)  # second -> never started


@dataclass
class LatencyFile:
    """One latency-<pid>.json."""

    phase: float = 0.0
    seconds: Seconds = field(default_factory=dict)
    service: dict[int, HdrHistogram] = field(default_factory=dict)  # the probe only
    arrivals: Arrivals | None = None  # the open model only
    names: list[str] = field(default_factory=list)  # every request name, read or not

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"version": VERSION, "unit": UNIT,
                                "significant_digits": SIGNIFICANT_DIGITS,
                                "phase": self.phase, "names": encode(self.seconds)}
        if self.service:
            data["service"] = {str(s): _encode(h) for s, h in sorted(self.service.items())}
        if self.arrivals is not None:
            a = self.arrivals
            data["open"] = {"rate": a.rate, "arrival": a.arrival,
                            "offered": {str(k): v for k, v in sorted(a.offered.items())},
                            "unsent": {str(k): v for k, v in sorted(a.unsent.items())}}
        return data

    @classmethod
    def from_json(cls, data: Any, keep: Keep | None = None) -> LatencyFile:
        """Raises what a damaged file raises (read turns it into one line)."""
        file = cls(phase=float(data.get("phase", 0.0)),
                   seconds=decode(data["names"], keep), names=sorted(data["names"]),
                   service={int(s): HdrHistogram.decode(h)
                            for s, h in data.get("service", {}).items()})
        if "open" in data:
            o = data["open"]
            file.arrivals = Arrivals(
                rate=float(o["rate"]), arrival=o["arrival"],
                offered={int(k): int(v) for k, v in o["offered"].items()},
                unsent={int(k): int(v) for k, v in o["unsent"].items()})
        return file


def write(path: str | Path, file: LatencyFile) -> None:
    with open(path, "w") as f:
        json.dump(file.to_json(), f)


def read(path: Path, keep: Keep | None = None) -> LatencyFile:
    """One file; only the slots `keep` accepts are decoded. A file this version cannot
    read is a MeasurementError naming it, in one line."""
    try:
        data = json.loads(path.read_text())
        version = data.get("version", VERSION)
        unit = data.get("unit", UNIT)
    except (OSError, ValueError, AttributeError):
        raise MeasurementError(f"{path.name} is unreadable") from None
    if version != VERSION or unit != UNIT:
        raise MeasurementError(
            f"{path.name} is latency format {version!r} in {unit!r}; this loadlab reads"
            f" format {VERSION} in {UNIT!r} (measure again with this version)")
    try:
        return LatencyFile.from_json(data, keep)
    except _BROKEN:
        raise MeasurementError(f"{path.name} is unreadable") from None
