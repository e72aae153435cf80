"""Where loadlab lives and where it may write: the repository root, loopback, state.

Every stage reads these; none of them starts a process or touches the network.
`LOADLAB_STATE_DIR` moves the scratch state (the catalog's SQLite file, `serve`'s
logs) out of the checkout: the test suite points it at a temporary folder so that
tests never write into the repository tree.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
STATE_ENV = "LOADLAB_STATE_DIR"
# A checkout (or an editable install of one) keeps its runs and scratch state in the
# repository; loadlab installed into a team's virtualenv keeps them in the folder it is
# run from, the project's, never in site-packages.
CHECKOUT = (ROOT / "pyproject.toml").is_file()
MATRIX_NAME = "matrix.toml"
PACKAGED_MATRIX = ROOT / "scripts" / "config" / MATRIX_NAME  # travels with the package


def is_loopback(host: str) -> bool:
    """`localhost` or a loopback address (127.0.0.0/8, ::1): this machine only."""
    if host == "localhost":
        return True
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    return False


def home() -> Path:
    """Where runs and scratch state go by default: the checkout, else the current folder."""
    return ROOT if CHECKOUT else Path.cwd()


def default_matrix() -> Path:
    """`./matrix.toml` if the current folder has one, else loadlab's own."""
    here = Path.cwd() / MATRIX_NAME
    if here.is_file():
        return here
    return ROOT / MATRIX_NAME if CHECKOUT else PACKAGED_MATRIX


def default_results() -> Path:
    return home() / "results"


def state_dir() -> Path:
    """Scratch state: `$LOADLAB_STATE_DIR`, else `.loadlab/` in the checkout (or the
    current folder, for an installed loadlab)."""
    value = os.environ.get(STATE_ENV)
    return Path(value) if value else home() / ".loadlab"
