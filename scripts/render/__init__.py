"""Renderers: data from analysis/ and archive/ in, text or HTML out. No statistics here.

Imported only by the CLI, which hands observers from here (progress, outputs) to the
run; run/, analysis/ and archive/ never import it.
"""
