"""A TOML table being read: typed getters that name the file and key in every error,
and a check that no key was left unread (a typo). The matrix reader's one tool."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ConfigError


class Table:
    """A TOML table being read: every key is taken once; leftovers are typos."""

    def __init__(self, data: Any, where: str, file: Path) -> None:
        self.file = file
        self.where = where
        if not isinstance(data, dict):
            self.fail("", f"must be a table, not {kind(data)}")
        self.data = dict(data)
        self.seen: set[str] = set()

    def fail(self, key: str, problem: str) -> None:
        name = f"{self.where}.{key}" if key and self.where else (key or self.where)
        raise ConfigError(f"{self.file}: {name}: {problem}")

    def has(self, key: str) -> bool:
        return key in self.data

    def _take(self, key: str, default: Any) -> Any:
        self.seen.add(key)
        if key not in self.data:
            if default is REQUIRED:
                self.fail(key, "missing")
            return default
        return self.data[key]

    def str(self, key: str, default: Any = None, choices: tuple[str, ...] = ()) -> Any:
        value = self._take(key, default)
        if value is None or value is default:
            return value
        if not isinstance(value, str):
            self.fail(key, f"must be a string, not {kind(value)}")
        if choices and value not in choices:
            self.fail(key, f"must be one of {', '.join(choices)}, not {value!r}")
        return value

    def bool(self, key: str, default: Any = None) -> Any:
        value = self._take(key, default)
        if value is not default and not isinstance(value, bool):
            self.fail(key, f"must be true or false, not {kind(value)}")
        return value

    def number(self, key: str, default: Any = None, *, lo: float | None = None,
               hi: float | None = None, integer: bool = False) -> Any:
        value = self._take(key, default)
        if value is None or value is default:
            return value
        ok = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok:
            self.fail(key, f"must be {'a whole number' if integer else 'a number'},"
                           f" not {kind(value)}")
        check_range(value, lo, hi, lambda p: self.fail(key, p))
        return value

    def str_list(self, key: str, default: Any = None) -> Any:
        value = self._take(key, default)
        if value is None or value is default:
            return value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, "must be a list of strings")
        return tuple(value)

    def int_list(self, key: str, default: Any = None, *, lo: int = 0) -> Any:
        value = self._take(key, default)
        if value is None or value is default:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            value = [value]
        if (not isinstance(value, list) or not value
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
            self.fail(key, "must be a whole number or a non-empty list of them")
        for v in value:
            check_range(v, lo, None, lambda p: self.fail(key, p))
        return tuple(value)

    def selection(self, key: str, known: dict[str, Any] | tuple[str, ...]) -> Any:
        """`"all"` (None) or a list of known names."""
        value = self._take(key, "all")
        if value == "all":
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, 'must be "all" or a list of names')
        for name in value:
            if name not in known:
                self.fail(key, f"unknown name {name!r} (known: {', '.join(known)})")
        return tuple(value)

    def table(self, key: str, default: Any = None) -> Any:
        value = self._take(key, default)
        return value

    def done(self) -> None:
        extra = sorted(set(self.data) - self.seen)
        if extra:
            self.fail(extra[0], "unknown key (a typo?)")


REQUIRED = object()


def check_range(value: float, lo: float | None, hi: float | None,
                 fail: Callable[[str], None]) -> None:
    if value != value:  # NaN (TOML allows it) compares false with every bound
        fail("must be a number, not nan")
    if lo is not None and value < lo:
        fail(f"must be >= {lo:g}, not {value!r}")
    if hi is not None and value > hi:
        fail(f"must be <= {hi:g}, not {value!r}")


def kind(value: Any) -> str:
    return {str: "a string", bool: "a boolean", int: "a number", float: "a number",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)
