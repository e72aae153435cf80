"""Where loadlab lives and where it may write: the repository root, loopback, state.

Every stage reads these; none of them starts a process or touches the network.
`LOADLAB_STATE_DIR` moves the scratch state (the catalog's SQLite file, `serve`'s
logs) out of the checkout: the test suite points it at a temporary folder so that
tests never write into the repository tree.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
STATE_ENV = "LOADLAB_STATE_DIR"


def state_dir() -> Path:
    """Scratch state: `$LOADLAB_STATE_DIR`, else `.loadlab/` in the checkout."""
    value = os.environ.get(STATE_ENV)
    return Path(value) if value else ROOT / ".loadlab"
