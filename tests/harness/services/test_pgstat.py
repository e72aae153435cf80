"""pgstat.py's arithmetic: what the cell keeps from the connection samples (the
sampling itself runs against a real PostgreSQL in e2e/test_postgres.py)."""

from __future__ import annotations

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
