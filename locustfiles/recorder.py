"""loadlab's recorder beside a team's own locustfile (`locustfile` in loadlab.toml).

Locust loads this file first (`-f recorder.py,theirs.py`): importing the shared base
registers its listeners, so the team's user classes are measured exactly like the
built-in stories (per-second HdrHistograms, the window, the go file). It defines no
user class of its own.
"""

import locustfiles.base  # noqa: F401  (registers the recorder's listeners)
