"""The run folder: records (one per cell), the folder on disk, the manifest, the writer.

Imported by run/ (to write), analysis/ and render/ (to read); imports neither.
"""
