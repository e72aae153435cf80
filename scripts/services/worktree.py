"""A team's project at a git ref: the repository it lives in, a ref checked, and a
worktree of that ref in a scratch folder, removed afterwards.

`loadlab ab` measures two versions of one project on one machine and one virtualenv:
the servers import the project from whichever tree they are given (its root first on
PYTHONPATH), so a version is a folder. A worktree shares the repository's objects: no
clone, no network. Every problem with the input is one line and exit 2 (UsageError).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError

GIT_TIMEOUT_S = 120.0
WORKING_TREE = "working tree"


@dataclass(frozen=True)
class Repository:
    """The git repository a project's folder belongs to."""

    top: Path  # the working tree's top folder

    @classmethod
    def of(cls, folder: Path) -> Repository:
        """The repository holding `folder`; UsageError when there is none."""
        done = _git(folder, "rev-parse", "--show-toplevel", check=False)
        if done.returncode != 0:
            raise UsageError(f"{folder} is not in a git repository: ab compares two"
                             " commits of a project (git init, commit, then a branch)")
        return cls(Path(done.stdout.strip()).resolve())

    def commit(self, ref: str) -> str:
        """The commit `ref` names; UsageError naming the ref when it names none."""
        done = _git(self.top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}",
                    check=False)
        if done.returncode != 0 or not done.stdout.strip():
            raise UsageError(f"no commit {ref!r} in {self.top} (a branch, tag or commit:"
                             " git branch -a lists them)")
        return done.stdout.strip()

    def head(self) -> str | None:
        """The checked-out commit (None in a repository with no commit yet)."""
        done = _git(self.top, "rev-parse", "--verify", "--quiet", "HEAD", check=False)
        return done.stdout.strip() or None

    def dirty(self) -> bool:
        """Uncommitted changes to tracked files (untracked ones are not the code)."""
        done = _git(self.top, "status", "--porcelain", "--untracked-files=no")
        return bool(done.stdout.strip())

    def tracked(self, commit: str, path: Path) -> bool:
        """Whether `path` (inside the working tree) exists in `commit`."""
        rel = path.resolve().relative_to(self.top).as_posix()
        done = _git(self.top, "cat-file", "-e", f"{commit}:{rel}", check=False)
        return done.returncode == 0


class Worktrees:
    """Worktrees of one repository in one scratch folder; `close` removes them all
    (`git worktree remove --force`, then prune), whatever happened meanwhile."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self.scratch = Path(tempfile.mkdtemp(prefix="loadlab-ab-"))
        self.trees: list[Path] = []

    def add(self, name: str, commit: str) -> Path:
        """A detached worktree of `commit` at <scratch>/<name>/<top's name>: the same
        folder name as the original, so a project named after its folder keeps its name."""
        tree = self.scratch / name / self.repo.top.name
        tree.parent.mkdir(parents=True)
        _git(self.repo.top, "worktree", "add", "--quiet", "--detach", str(tree), commit)
        self.trees.append(tree)
        return tree

    def close(self) -> None:
        for tree in reversed(self.trees):
            _git(self.repo.top, "worktree", "remove", "--force", str(tree), check=False)
        self.trees.clear()
        _git(self.repo.top, "worktree", "prune", check=False)
        shutil.rmtree(self.scratch, ignore_errors=True)

    def __enter__(self) -> Worktrees:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True,
                              text=True, timeout=GIT_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise UsageError("git is not installed: ab needs it for its worktrees") from None
    if check and done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise UsageError(f"git {' '.join(args[:2])} in {cwd} failed: {last}")
    return done
