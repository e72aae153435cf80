"""Process plumbing with no loadlab domain: start, watch and stop children (supervise,
and the launcher that pins CPUs and ties a child's life to ours), signals, and
resource sampling. It imports nothing of loadlab's but errors and paths."""
