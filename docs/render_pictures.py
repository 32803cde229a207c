"""Renders the pictures the README shows, from the local lab (run as root):

    .venv/bin/python docs/render_pictures.py

They are what notebooks 05 and 03 draw, saved as transparent PNGs (readable on GitHub's light
and dark themes); a notebook's own outputs are never committed.
"""

from __future__ import annotations

from pathlib import Path

import labkit
from labkit import plots, views

DOCS = Path(__file__).resolve().parent


def main() -> None:
    lab = labkit.connect(progress=False)
    views.seed(lab)
    lab.exec("netpod", ["ping", "-c", "1", "-W", "2", lab.pod_ip("webpod1")])
    routes = {n: lab.agent(n).command("ip", "-j", "route") for n in lab.nodes()["name"]}
    pictures = {
        "pod-to-pod-path.png": plots.path_diagram(lab.pods(), lab.nodes(), "netpod", "webpod1",
                                                  routes),
        "node.png": plots.node_diagram(**views.node_tables(lab, views.node_of(lab, "webpod1"))),
    }
    for name, fig in pictures.items():
        (DOCS / name).write_bytes(plots.png(fig))
        print("wrote", DOCS / name)


if __name__ == "__main__":
    main()
