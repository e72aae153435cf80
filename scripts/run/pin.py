"""`python -m scripts.run.pin 0,1 -- cmd ...`: run `cmd` bound to the given CPUs.

Affinity is set before exec, so every process the command forks inherits it.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "--":
        sys.stderr.write("usage: python -m scripts.run.pin CPU[,CPU...] -- command [args...]\n")
        raise SystemExit(2)
    cpus = {int(c) for c in argv[0].split(",") if c.strip()}
    os.sched_setaffinity(0, cpus)
    os.execvp(argv[2], argv[2:])


if __name__ == "__main__":
    main(sys.argv[1:])
