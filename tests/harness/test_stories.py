"""scripts/stories.py is the harness's one seam to the app it measures."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

from scripts import stories
from scripts.paths import ROOT


def test_no_module_of_the_harness_but_the_seam_imports_the_app():
    found = []
    for path in sorted((ROOT / "scripts").rglob("*.py")):
        if path == ROOT / "scripts" / "stories.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom)
                     and not node.level else [])
            found += [f"{path.relative_to(ROOT)}: {n}" for n in names
                      if n == "app" or n.startswith("app.")]
    assert found == [], "import these through scripts/stories.py"


def test_the_seam_holds_every_story_and_loads_no_django_settings():
    assert [s.name for s in stories.SCENARIOS] == list(stories.SCENARIOS_BY_NAME)
    assert stories.get("stream").connection == "stream"
    assert stories.get("websocket").interfaces == ("asgi",)
    probe = ("import os, scripts.stories; from django.conf import settings;"
             " print(settings.configured, 'DJANGO_SETTINGS_MODULE' in os.environ)")
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    assert out.split() == ["False", "False"]
