"""A flame graph as one SVG file from folded stacks: opens offline in any browser, from
the cell's folder (no script, no CDN); each frame's tooltip gives its samples and layer,
its colour its layer. Workers and threads are merged: the same code path is one tower.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from ..analysis import layers

WIDTH, ROW, FONT = 1200, 16, 11
MIN_WIDTH = 0.5  # px: narrower frames are left out (their samples stay in their parent)
COLOURS = {"server": "#e8a33d", "event loop": "#d9d24a", "django request handling": "#5fa8d3",
           "middleware": "#8fb8de", "thread hops": "#e4572e", "view code": "#76b041",
           "ORM": "#a06cd5", "database driver": "#6c4ab6", "templates": "#c9a0dc",
           "HTTP client": "#2ec4b6", "other": "#b0b0b0"}


class Node:
    __slots__ = ("children", "count", "layer")

    def __init__(self) -> None:
        self.count = 0
        self.layer = layers.OTHER
        self.children: dict[str, Node] = {}


def tree(samples: Sequence[layers.Sample], table: layers.Table) -> Node:
    """The merged call tree; each frame coloured by the layer of the stack up to it."""
    root = Node()
    for s in samples:
        root.count += s.count
        node = root
        frames = s.frames or (layers.NO_FRAME,)
        for depth, frame in enumerate(frames):
            child = node.children.get(frame)
            if child is None:  # its layer: the stack's up to this frame, once
                child = node.children[frame] = Node()
                child.layer = table.layer(layers.Sample(s.frames[:depth + 1], s.thread,
                                                        s.pid, 1))
            node = child
            node.count += s.count
    return root


def svg(samples: Sequence[layers.Sample], title: str, table: layers.Table) -> str:
    root = tree(samples, table)
    rects: list[str] = []
    depth_max = [0]
    scale = WIDTH / root.count if root.count else 0.0

    def walk(node: Node, name: str, x: float, depth: int) -> None:
        w = node.count * scale
        if w < MIN_WIDTH:
            return
        depth_max[0] = max(depth_max[0], depth)
        share = node.count / root.count
        tip = html.escape(f"{name} — {node.count} samples ({share:.1%}) — {node.layer}")
        label = html.escape(name[: int(w / (FONT * 0.6))]) if w > 3 * FONT else ""
        rects.append(f'<g><title>{tip}</title><rect x="{x:.1f}" y="{{y{depth}}}" '
                     f'width="{w:.1f}" height="{ROW - 1}" fill="{COLOURS[node.layer]}"/>'
                     f'<text x="{x + 3:.1f}" y="{{t{depth}}}">{label}</text></g>')
        for child_name, child in sorted(node.children.items()):
            walk(child, child_name, x, depth + 1)
            x += child.count * scale

    walk(root, f"all ({root.count} samples)", 0.0, 0)
    height = (depth_max[0] + 1) * ROW + 40
    body = "\n".join(rects)
    for d in range(depth_max[0] + 1):  # the root at the bottom: a flame, not an icicle
        y = height - (d + 1) * ROW - 4
        body = body.replace(f"{{y{d}}}", str(y)).replace(f"{{t{d}}}", str(y + ROW - 4))
    legend = " ".join(f'<tspan fill="{c}">■</tspan> {html.escape(k)}'
                      for k, c in COLOURS.items())
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'font-family="monospace" font-size="{FONT}">\n'
            f'<text x="4" y="14" font-size="13">{html.escape(title)}</text>\n'
            f'<text x="4" y="30">{legend}</text>\n{body}\n</svg>\n')


def write_cell(cell_dir: Path, table: layers.Table, label: str) -> list[Path]:
    """flame-cpu.svg and flame-wall.svg beside a profiled cell's samples."""
    written = []
    for name, what in (("cpu", "on-CPU (holding the GIL)"), ("wall", "wall clock, idle too")):
        path = cell_dir / f"samples-{name}.folded"
        if not path.exists():
            continue
        samples = layers.parse(path.read_text().splitlines())
        if not samples:
            continue
        out = cell_dir / f"flame-{name}.svg"
        out.write_text(svg(samples, f"{label}: {what}", table))
        written.append(out)
    return written
