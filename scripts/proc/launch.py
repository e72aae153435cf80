"""`python -m scripts.proc.launch --parent PID [--cpus 0,1] [--user NAME] -- cmd ...`: how
every child of loadlab starts.

Before exec, in the child itself:
- with `--user`, it takes that user's identity (PostgreSQL refuses to run as root);
  first, because a change of credentials clears the parent-death signal below.
- it asks the kernel for SIGTERM when its parent dies (Linux `PR_SET_PDEATHSIG`), so a
  server, the upstream or Locust stops even when loadlab is killed with SIGKILL or by
  the OOM killer and cannot clean up; gunicorn's master and uvicorn then stop their
  own workers. The setting survives exec. If loadlab died before the request was made,
  the child sees another parent and exits at once (the race the kernel cannot close).
- it binds itself to the given CPUs, so every process it forks inherits them (setting
  affinity after start would race with gunicorn forking its workers).
- it raises its soft limit on open files to the hard one: a server or Locust holding
  hundreds of long-lived connections needs a descriptor each (the soft limit is often
  1024); the hard limit, which only root may raise, stays the ceiling.

Why a launcher and not `preexec_fn`: preexec_fn runs between fork and exec in a
process that may hold other threads' locks (the resource sampler runs meanwhile), which
Python's docs warn can deadlock; an exec'd launcher has no such state.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import resource
import signal
import sys

PR_SET_PDEATHSIG = 1
USAGE = ("usage: python -m scripts.proc.launch --parent PID [--cpus CPU[,CPU...]] [--user NAME]"
         " -- cmd [args...]")


def die_with_parent(parent: int) -> bool:
    """Ask for SIGTERM when our parent dies; False if it is already gone."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    return os.getppid() == parent


def become(user: str) -> None:
    """Take `user`'s uid, gid and groups (we must be root to do so)."""
    entry = pwd.getpwnam(user)
    os.setgroups(os.getgrouplist(user, entry.pw_gid))
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    os.environ["HOME"] = entry.pw_dir
    os.environ["USER"] = os.environ["LOGNAME"] = user


def parse(argv: list[str]) -> tuple[int, set[int] | None, str | None, list[str]]:
    """(parent pid, cpus or None, user or None, command); SystemExit(2) with the usage
    on bad input."""
    try:
        split = argv.index("--")
    except ValueError:
        raise SystemExit(USAGE) from None
    opts, command = iter(argv[:split]), argv[split + 1:]
    parent, cpus, user = None, None, None
    for flag in opts:
        value = next(opts, None)
        if flag == "--parent" and value is not None and value.isdigit():
            parent = int(value)
        elif flag == "--cpus" and value:
            cpus = {int(c) for c in value.split(",") if c.strip()}
        elif flag == "--user" and value:
            user = value
        else:
            raise SystemExit(USAGE)
    if parent is None or not command:
        raise SystemExit(USAGE)
    return parent, cpus, user, command


def main(argv: list[str]) -> None:
    parent, cpus, user, command = parse(argv)
    if user:
        become(user)
    if not die_with_parent(parent):
        raise SystemExit(0)  # loadlab is gone already: start nothing
    if cpus:
        os.sched_setaffinity(0, cpus)
    open_files()
    os.execvp(command[0], command)


def open_files() -> int:
    """The soft RLIMIT_NOFILE raised to the hard one (inherited across exec and
    fork); the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft


if __name__ == "__main__":
    main(sys.argv[1:])
