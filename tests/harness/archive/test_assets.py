"""One copy of Locust's page bundle per run folder (archive/assets.py)."""

from __future__ import annotations

from pathlib import Path

from scripts.archive.assets import ASSETS, share_locust_bundle

BUNDLE = "var e=Object.create;window.rendered=(window.templateArgs||{}).locustfile;"


def page(bundle: str = BUNDLE) -> str:
    return ("<html><head><title>Locust</title>"
            f'<script type="module" crossorigin>{bundle}</script></head>'
            '<body><div id="root"></div><script>window.templateArgs = {"locustfile":'
            ' "home.py"};</script></body></html>')


def test_cells_share_one_bundle_loaded_as_a_deferred_classic_script(tmp_path: Path) -> None:
    run = tmp_path / "run"
    reports = [run / "cells" / server / "home-sync-u20-t1" / "locust_report.html"
               for server in ("uvicorn", "gunicorn-gthread")]
    for report in reports:
        report.parent.mkdir(parents=True)
        report.write_text(page())
        assert share_locust_bundle(report, run)
    (bundle,) = (run / ASSETS).iterdir()
    assert bundle.read_text() == BUNDLE and bundle.name.startswith("locust-report-")
    for report in reports:
        text = report.read_text()
        assert BUNDLE not in text and 'type="module"' not in text
        assert f'<script defer src="../../../{ASSETS}/{bundle.name}"></script>' in text
        assert (report.parent / f"../../../{ASSETS}/{bundle.name}").resolve() == bundle
        assert 'window.templateArgs = {"locustfile": "home.py"}' in text  # the data stays


def test_a_page_without_the_bundle_or_needing_modules_is_left_alone(tmp_path: Path) -> None:
    plain = tmp_path / "cells" / "a" / "b" / "locust_report.html"
    plain.parent.mkdir(parents=True)
    plain.write_text("<html><body>no script</body></html>")
    assert not share_locust_bundle(plain, tmp_path)
    modular = plain.with_name("modular.html")
    modular.write_text(page("console.log(import.meta.url)"))
    assert not share_locust_bundle(modular, tmp_path)
    assert modular.read_text() == page("console.log(import.meta.url)")
    assert not share_locust_bundle(tmp_path / "missing.html", tmp_path)
    assert not (tmp_path / ASSETS).exists()
