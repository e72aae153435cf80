"""Locust as the load generator: its command lines and the cell's measurement
(loadgen), the measurement file its recorder writes and loadgen reads (latencyfile), the
generator process and its workers, the 1-user probe, the transport check, and collect,
which turns a measured window into a cell's record. Never imports the verbs in run/."""
