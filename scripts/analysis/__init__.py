"""Analysis: statistics, the one trial-folding policy, comparisons and the verdict's
rows. Data in, data out: nothing here prints, starts a process or formats text."""
