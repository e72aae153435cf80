"""config/thresholds.py: `[scenarios.X.thresholds]` in a team's loadlab.toml and in
matrix.toml -> Thresholds, and one ConfigError line naming the file and key for each
problem (the control: the same file with good values loads)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.config import load_matrix
from scripts.config.project import load_project
from scripts.config.thresholds import Thresholds, merged, recorded
from scripts.errors import EXIT_USAGE, ConfigError

from .test_project import MINIMAL as PROJECT
from .test_reader import MINIMAL as MATRIX

GOOD = "p95_ms = 250\nfailure_ratio = 0.01\nmin_capacity_rps = 40\nmax_regression_pct = 10\n"


def project_with(tmp_path: Path, body: str) -> Path:
    (tmp_path / "loadlab.toml").write_text(
        PROJECT + "\n[scenarios.orders.thresholds]\n" + body)
    return tmp_path / "loadlab.toml"


def matrix_with(tmp_path: Path, body: str, scenario: str = "weather") -> Path:
    (tmp_path / "matrix.toml").write_text(
        MATRIX + f"\n[scenarios.{scenario}.thresholds]\n" + body)
    return tmp_path / "matrix.toml"


def test_every_key_is_read_into_one_typed_thresholds(tmp_path: Path) -> None:
    want = Thresholds(p95_ms=250.0, failure_ratio=0.01, min_capacity_rps=40.0,
                      max_regression_pct=10.0)
    assert load_project(project_with(tmp_path, GOOD)).thresholds == {"orders": want}
    assert load_matrix(matrix_with(tmp_path, GOOD)).thresholds == {"weather": want}
    # what a run records of a project, and reads back from summary.json
    described = load_project(tmp_path).describe()["scenarios"]["orders"]["thresholds"]
    assert described == want.describe() and Thresholds.from_dict(described) == want


def test_none_set_is_none_gated(tmp_path: Path) -> None:
    (tmp_path / "loadlab.toml").write_text(PROJECT)
    assert load_project(tmp_path).thresholds == {}
    assert load_matrix(matrix_with(tmp_path, "")).thresholds == {"weather": Thresholds()}
    assert not Thresholds() and Thresholds(p95_ms=1.0)


@pytest.mark.parametrize("body,key,problem", [
    ("p99_ms = 100\n", "p99_ms", "unknown key"),
    ('p95_ms = "fast"\n', "p95_ms", "must be a number, not a string"),
    ("p95_ms = -1\n", "p95_ms", "must be >= 0"),
    ("failure_ratio = 1.5\n", "failure_ratio", "must be <= 1"),
    ("min_capacity_rps = -0.5\n", "min_capacity_rps", "must be >= 0"),
    ("max_regression_pct = true\n", "max_regression_pct", "must be a number"),
])
def test_a_bad_key_is_one_line_naming_file_and_key(tmp_path: Path, body: str, key: str,
                                                   problem: str) -> None:
    for file, load, where in ((project_with(tmp_path, body), load_project, "orders"),
                              (matrix_with(tmp_path, body), load_matrix, "weather")):
        with pytest.raises(ConfigError) as caught:
            load(file)
        text = str(caught.value)
        assert text.startswith(f"{file}: scenarios.{where}.thresholds.{key}: "), text
        assert problem in text and "\n" not in text
        assert caught.value.exit_code == EXIT_USAGE


def test_the_matrix_names_known_scenarios_and_only_their_thresholds(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"scenarios\.orders: unknown scenario"):
        load_matrix(matrix_with(tmp_path, GOOD, scenario="orders"))
    (tmp_path / "matrix.toml").write_text(MATRIX + "\n[scenarios.weather]\nslo = 3\n")
    with pytest.raises(ConfigError, match=r"scenarios\.weather\.slo: unknown key"):
        load_matrix(tmp_path / "matrix.toml")


def test_a_project_s_keys_override_the_matrix_s_scenario_by_scenario() -> None:
    matrix = {"weather": Thresholds(p95_ms=300.0, failure_ratio=0.01),
              "home": Thresholds(p95_ms=50.0)}
    project = {"weather": Thresholds(p95_ms=200.0), "orders": Thresholds()}
    assert merged(matrix, project) == {
        "weather": Thresholds(p95_ms=200.0, failure_ratio=0.01),
        "home": Thresholds(p95_ms=50.0)}  # an empty table gates nothing


def test_what_a_run_recorded_reads_back() -> None:
    judged = {"set": {"weather": {"p95_ms": 250, "max_regression_pct": 5}}, "checks": []}
    assert recorded(judged) == {"weather": Thresholds(p95_ms=250.0, max_regression_pct=5.0)}
    assert recorded(None) == {}
