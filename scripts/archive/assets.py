"""Shared assets of a run folder: one copy of each script, not one per page.

Locust's HTML report inlines its ~950 KB web-UI bundle in every cell's page, and
plotly.js is 4.6 MB: a quick run folder was 74 MB, nearly all of it copies. Each
cell's report now loads the bundle from the run's `assets/` folder (named by its
hash, so two Locust versions never overwrite each other), and report.html loads
plotly from there. Everything still opens offline from the disk, as long as the run
folder is kept whole (a copied report.html needs its assets/ beside it).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

ASSETS = "assets"
# Locust 2.x writes its bundle as one inline module script in <head>.
_INLINE_BUNDLE = re.compile(r'<script type="module" crossorigin>(.*?)</script>', re.S)


def share_locust_bundle(report: Path, run_dir: Path) -> bool:
    """Move the inline bundle of `report` into run_dir/assets (once per bundle) and
    load it from there; False (the page left as it is) if the page has no bundle.

    The bundle needs no module features (no import, export or import.meta), and a
    module script from a file:// URL is refused by browsers (its origin is null): it
    is loaded as a classic deferred script, which runs when a module script would,
    after the page's data script.
    """
    try:
        page = report.read_text()
    except OSError:
        return False
    found = _INLINE_BUNDLE.search(page)
    if found is None or "import.meta" in found.group(1):
        return False
    bundle = found.group(1)
    name = f"locust-report-{hashlib.sha256(bundle.encode()).hexdigest()[:12]}.js"
    target = run_dir / ASSETS / name
    if not target.exists():
        target.parent.mkdir(exist_ok=True)
        target.write_text(bundle)
    src = Path(*[".."] * len(report.parent.relative_to(run_dir).parts), ASSETS, name)
    tag = f'<script defer src="{src.as_posix()}"></script>'
    report.write_text(page[:found.start()] + tag + page[found.end():])
    return True


def plotly_script(run_dir: Path) -> str:
    """plotly.js in run_dir/assets (written once per version); its path from the run
    folder, for report.html's script tag."""
    import plotly
    from plotly.offline import get_plotlyjs

    name = f"plotly-{plotly.__version__}.min.js"
    target = run_dir / ASSETS / name
    if not target.exists():
        target.parent.mkdir(exist_ok=True)
        target.write_text(get_plotlyjs())
    return f"{ASSETS}/{name}"
