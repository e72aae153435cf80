"""A team's own scenario (its loadlab.toml): each flavor's path, requested with GET.

The harness passes the scenario in LOADLAB_PROJECT_SCENARIO; one user class per flavor
is made from it, named as the harness picks them (app.scenarios.class_name). A right
answer is the expected status; the body is the team's business.
"""

import json
import os

from app.scenarios import class_name
from locustfiles.base import ScenarioUser

_SPEC = json.loads(os.environ.get("LOADLAB_PROJECT_SCENARIO") or '{"flavors": {}}')

for _flavor, _path in _SPEC["flavors"].items():
    globals()[class_name(_flavor)] = type(class_name(_flavor), (ScenarioUser,), {
        "scenario": _SPEC["name"], "flavor": _flavor, "path": _path,
        "expect_status": _SPEC["expect_status"], "__module__": __name__,
    })
