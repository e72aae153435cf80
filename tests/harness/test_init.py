"""scripts/init.py: `loadlab init` on a copy of the real Django project in tests/shop.

Every test runs the real child process that loads the project's settings and walks its
resolver; the project is copied to tmp_path first, so nothing is written into the repo.
"""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import pytest

from scripts.config.project import load_project
from scripts.errors import ConfigError
from scripts.init import init_project

SHOP = Path(__file__).resolve().parent.parent / "shop"


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A private copy of tests/shop."""
    copy = tmp_path / "shop"
    shutil.copytree(SHOP, copy, ignore=shutil.ignore_patterns("__pycache__", "db.sqlite3"))
    return copy


def test_init_writes_a_starter_file_that_loadlab_reads(shop: Path) -> None:
    """init finds the settings, both applications and both routes, writes them as TOML
    with the header, and `--project` (load_project) accepts the file as written."""
    done = init_project(shop)
    assert done.path == shop / "loadlab.toml"
    assert (done.settings, done.wsgi, done.asgi) == (
        "shop.settings", "shop.wsgi:application", "shop.asgi:application")
    assert done.routes == ("/orders/", "/orders/async/")
    text = done.path.read_text()
    assert text.startswith("# loadlab.toml: ") and "`loadlab bench --project .`" in text
    assert "#   /orders/\n#   /orders/async/\n" in text
    data = tomllib.loads(text)
    assert data["project"] == {"root": ".", "settings": "shop.settings",
                               "wsgi": "shop.wsgi:application",
                               "asgi": "shop.asgi:application"}
    assert data["scenarios"]["first"]["flavors"] == {"sync": "/orders/",
                                                    "async": "/orders/async/"}
    project = load_project(shop)
    assert project.applications == {"wsgi": "shop.wsgi:application",
                                     "asgi": "shop.asgi:application"}
    assert [f.path for f in project.scenarios[0].flavors] == ["/orders/", "/orders/async/"]


def test_a_second_init_never_overwrites(shop: Path) -> None:
    """An existing loadlab.toml is refused with one line, and left byte-identical."""
    path = init_project(shop).path
    path.write_text(path.read_text() + "# the team's edit\n")
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="already exists; loadlab init never overwrites it"):
        init_project(shop)
    assert path.read_bytes() == before
    assert sorted(p.name for p in shop.iterdir() if "loadlab" in p.name) == ["loadlab.toml"]


def test_a_folder_that_is_not_a_django_project(tmp_path: Path) -> None:
    """No folder, no manage.py, or a manage.py naming no settings: ConfigError naming it."""
    with pytest.raises(ConfigError, match="no such folder"):
        init_project(tmp_path / "missing")
    with pytest.raises(ConfigError, match=re.escape(f"{tmp_path}: no manage.py")):
        init_project(tmp_path)
    (tmp_path / "manage.py").write_text("print('hello')\n")
    with pytest.raises(ConfigError, match="DJANGO_SETTINGS_MODULE"):
        init_project(tmp_path)
    assert not (tmp_path / "loadlab.toml").exists()


def test_settings_that_do_not_load(shop: Path) -> None:
    """A settings module that does not import: the child's last error line is the
    message, and no file is written."""
    manage = shop / "manage.py"
    manage.write_text(manage.read_text().replace("'shop.settings'", '"shop.nosuch"'))
    with pytest.raises(ConfigError) as error:
        init_project(shop)
    assert str(error.value) == (f"{shop}: settings shop.nosuch do not load: ModuleNotFoundError:"
                                " No module named 'shop.nosuch'")
    assert not (shop / "loadlab.toml").exists()


def test_no_async_route_gives_a_sync_flavor_only(shop: Path) -> None:
    """Without an "async" route only `sync` is written (with a hint to add the async one);
    settings that print to stdout do not confuse the reading of the routes."""
    urls = shop / "shop" / "urls.py"
    urls.write_text(urls.read_text().replace('path("orders/async/"', 'path("orders/fast/"'))
    settings = shop / "shop" / "settings.py"
    settings.write_text(settings.read_text() + '\nprint("[1, 2]", end="")\n')
    done = init_project(shop)
    assert done.routes == ("/orders/", "/orders/fast/")
    text = done.path.read_text()
    assert tomllib.loads(text)["scenarios"]["first"]["flavors"] == {"sync": "/orders/"}
    assert "# add the async flavor's path" in text
