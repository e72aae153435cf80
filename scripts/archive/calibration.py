"""The calibration file: `<results>/calibration.json`, written by `loadlab calibrate`,
read by `loadlab compare` for runs of the same results folder and profile."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .folder import write_json

FILE = "calibration.json"


def path(results: Path) -> Path:
    return results / FILE


def read(results: Path) -> dict[str, Any] | None:
    """The results folder's calibration, or None (absent or unreadable: the default
    floor then applies, and compare says so)."""
    try:
        data = json.loads(path(results).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("floors"), dict) else None


def write(results: Path, data: dict[str, Any]) -> Path:
    target = path(results)
    write_json(target, data)
    return target
