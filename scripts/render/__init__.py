"""Renderers: comparison data (scripts.compare) in, text or HTML out. No statistics here."""

from scripts.render import html, json, md, table

__all__ = ["html", "json", "md", "table"]
