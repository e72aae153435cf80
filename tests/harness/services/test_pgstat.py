"""pgstat.py's arithmetic: what the cell keeps from the connection samples (the
sampling itself runs against a real PostgreSQL in e2e/test_postgres.py)."""

from __future__ import annotations

from scripts.services import pgstat
from scripts.services.pgstat import ConnectionSampler, Count


def test_summary_reads_only_the_measured_window(tmp_path):
    s = ConnectionSampler("postgres://unused", "loadlab", tmp_path / "connections.csv")
    s.samples = [Count(9.0, 50, 50, 0, 0, 0),  # warmup: not counted
                 Count(10.0, 4, 3, 1, 0, 0), Count(10.5, 8, 6, 2, 0, 0),
                 Count(11.0, 6, 2, 3, 1, 0),
                 Count(13.0, 40, 0, 40, 0, 0)]  # after the window
    assert s.summary((10.0, 12.0)) == {"db_connections_peak": 8, "db_connections_mean": 6.0,
                                       "db_active_peak": 6}
    assert s.summary((20.0, 21.0))["db_connections_peak"] is None
    s.write()
    lines = (tmp_path / "connections.csv").read_text().splitlines()
    assert lines[0] == "time,total,active,idle,idle_in_transaction,other"
    assert len(lines) == 6


def test_the_after_load_wait_is_five_seconds_unless_the_environment_says(monkeypatch):
    monkeypatch.delenv(pgstat.AFTER_LOAD_ENV, raising=False)
    assert pgstat.after_load_s() == pgstat.AFTER_LOAD_S == 5.0
    monkeypatch.setenv(pgstat.AFTER_LOAD_ENV, "1.5")
    assert pgstat.after_load_s() == 1.5
    monkeypatch.setenv(pgstat.AFTER_LOAD_ENV, "soon")  # not a number: the default
    assert pgstat.after_load_s() == 5.0
