"""loadlab installed as a package into another virtualenv, run from a team's project
folder: the default matrix ships inside the package, a ./matrix.toml overrides it, and
runs go to ./results, never into site-packages.

The virtualenv gets loadlab's wheel (built from this checkout) and finds the
dependencies through a .pth line to ours, so nothing is downloaded.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from scripts.paths import ROOT

from ..conftest import Done, loadlab
from .test_project import make_shop


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A virtualenv holding loadlab's wheel; its `loadlab` script."""
    tmp = tmp_path_factory.mktemp("installed")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp / "wheel"), str(ROOT)], check=True)
    venv = tmp / "venv"
    subprocess.run([sys.base_prefix + "/bin/python3", "-m", "venv", "--without-pip",
                    str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig;"
                           " print(sysconfig.get_paths()['purelib'])"], check=True,
                          capture_output=True, text=True).stdout.strip()
    (Path(site) / "loadlab-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (wheel,) = (tmp / "wheel").glob("loadlab-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", str(wheel)], check=True)
    return venv / "bin" / "loadlab"


def run(installed: Path, cwd: Path, *args: str) -> Done:
    """The installed `loadlab ARGS` from `cwd`; it must leave no process behind."""
    return loadlab(*args, program=[str(installed)], cwd=cwd)


def test_installed_loadlab_measures_a_project_from_its_folder(installed, tmp_path):
    shop = make_shop(tmp_path / "shop")
    listed = run(installed, shop, "list", "--project", ".")
    assert listed.code == 0, listed.err
    assert "gunicorn-gthread" in listed.out  # the packaged matrix
    assert "scenarios of project shop:" in listed.out
    done = run(installed, shop, "bench", "--project", ".", "--profile", "smoke",
               "--servers", "uvicorn", "--scenarios", "orders", "--flavors", "async",
               "--users", "1", "--warmup", "0.5", "--duration", "1")
    assert done.code == 0, done.err + done.out
    (run_dir,) = (shop / "results").iterdir()
    assert run_dir.name.endswith("-shop") and (run_dir / "summary.json").is_file()
    assert not list((installed.parent.parent / "lib").rglob("results"))


def test_a_matrix_in_the_folder_overrides_the_packaged_one(installed, tmp_path):
    (tmp_path / "matrix.toml").write_text((ROOT / "matrix.toml").read_text() + MINE)
    listed = run(installed, tmp_path, "list")
    assert listed.code == 0, listed.err
    assert "my-gunicorn" in listed.out
    assert "my-gunicorn" not in run(installed, tmp_path.parent, "list").out


MINE = """
[servers.my-gunicorn]
interface = "wsgi"
module = "gunicorn"
workers = 1
args = ["{app}", "--bind", "{host}:{port}"]
"""
